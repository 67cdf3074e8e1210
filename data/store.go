package data

import (
	"context"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data/cql2"
)

// Store is where wangge keeps its data: the source of truth from which every
// in-memory index and tile cache is derived. Implementations: data/gpkg (an
// OGC GeoPackage file) and data/postgis.
type Store interface {
	// Begin starts a write transaction. Everything written through it becomes
	// visible at Commit, or not at all.
	Begin(ctx context.Context) (Tx, error)

	// Areas returns every area, ordered by level then code.
	Areas(ctx context.Context) ([]Area, error)
	// Hazards returns every hazard, ordered by FID.
	Hazards(ctx context.Context) ([]Hazard, error)
	// Cameras returns every camera, ordered by FID.
	Cameras(ctx context.Context) ([]Camera, error)
	// Streets returns every street, river and railway line, ordered by FID.
	Streets(ctx context.Context) ([]Street, error)
	// Units returns every unit, ordered by FID.
	Units(ctx context.Context) ([]Unit, error)
	// Hazard and Camera return one record by FID; ENOTFOUND if there is none.
	Hazard(ctx context.Context, fid int64) (Hazard, error)
	Camera(ctx context.Context, fid int64) (Camera, error)
	// EachHousehold calls fn for every household point, in FID order, without
	// holding them all in memory. An error from fn stops the walk and is returned.
	EachHousehold(ctx context.Context, fn func(Household) error) error

	// Items returns one page of a layer as features, for OGC API Features.
	// The grids layer holds only the published plan's grids.
	Items(ctx context.Context, layer Layer, q Query) (Page, error)
	// Item returns one feature of a layer by FID; ENOTFOUND if there is none.
	Item(ctx context.Context, layer Layer, fid int64) (Feature, error)
	// Count returns the number of features in a layer.
	Count(ctx context.Context, layer Layer) (int, error)
	// Extent returns the bound of a layer; false when it is empty.
	Extent(ctx context.Context, layer Layer) (orb.Bound, bool, error)

	// Plan returns a stored plan with its grids; ENOTFOUND if there is none.
	Plan(ctx context.Context, id int64) (Plan, error)
	// Plans lists stored plans without their grids, newest first.
	Plans(ctx context.Context) ([]Plan, error)
	// PublishedPlan returns the published plan with its grids; ENOTFOUND if
	// no plan is published.
	PublishedPlan(ctx context.Context) (Plan, error)

	// Key returns an API key by id; ENOTFOUND if there is none.
	Key(ctx context.Context, id string) (Key, error)
	// Keys lists every API key, revoked ones too, oldest first.
	Keys(ctx context.Context) ([]Key, error)
	// AuditLog returns one page of the audit log, newest first, and the
	// number of entries matching in all.
	AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, int, error)

	// Workers returns the roster, ordered by id.
	Workers(ctx context.Context) ([]Worker, error)
	// Worker returns one worker by id; ENOTFOUND if there is none.
	Worker(ctx context.Context, id string) (Worker, error)
	// EventHistory returns the steps of event (hazard) fid, oldest first;
	// none for an event without history (one written by another tool).
	EventHistory(ctx context.Context, fid int64) ([]EventStep, error)

	// Webhooks returns the subscriptions, ordered by id; Webhook one of
	// them, ENOTFOUND if there is none (webhooks.go).
	Webhooks(ctx context.Context) ([]Webhook, error)
	Webhook(ctx context.Context, id string) (Webhook, error)
	// Idempotency returns the record of a write made with key by scope;
	// ENOTFOUND if there is none younger than IdempotencyTTL.
	Idempotency(ctx context.Context, scope, key string) (Idempotency, error)
	// PruneIdempotency deletes the records created before and returns
	// how many; on a read-only store it does nothing.
	PruneIdempotency(ctx context.Context, before time.Time) (int, error)

	// Feed is the store's change feed (changes.go). Its PruneChanges
	// keeps every entry after the lowest cursor of a webhook that is not
	// paused.
	Feed

	// Ping reports whether the store can be read: on a store with
	// standbys, a standby or the primary answers.
	Ping(ctx context.Context) error
	// PingWrite reports whether the store takes writes now: on a store
	// with standbys, the primary answers and is not in recovery.
	PingWrite(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Tx is a write transaction. Add methods validate what they are given and
// return an EINVALID or ECONFLICT *Error for a record that cannot be stored;
// such an error does not spoil the transaction, so an import may skip the
// record and go on. Any other error does, and the caller must Rollback.
type Tx interface {
	AddHousehold(ctx context.Context, h Household) (int64, error)
	AddArea(ctx context.Context, a Area) (int64, error)
	AddHazard(ctx context.Context, h Hazard) (int64, error)
	AddCamera(ctx context.Context, c Camera) (int64, error)
	// AddStreet and AddUnit store a street line or a unit; ECONFLICT if
	// its source id exists.
	AddStreet(ctx context.Context, s Street) (int64, error)
	AddUnit(ctx context.Context, u Unit) (int64, error)
	// HazardForUpdate and CameraForUpdate read one record inside the
	// transaction and keep others from changing it until Commit, so that a
	// read-merge-write cannot lose a concurrent update; ENOTFOUND if there
	// is none.
	HazardForUpdate(ctx context.Context, fid int64) (Hazard, error)
	CameraForUpdate(ctx context.Context, fid int64) (Camera, error)
	// UpdateHazard replaces the hazard with h.FID; ENOTFOUND if there is none.
	UpdateHazard(ctx context.Context, h Hazard) error
	// UpdateCamera replaces the camera with c.FID; ENOTFOUND if there is none.
	UpdateCamera(ctx context.Context, c Camera) error
	// Delete removes one feature of a layer; ENOTFOUND if there is none.
	Delete(ctx context.Context, layer Layer, fid int64) error
	// Clear deletes every feature of a layer (for imports that replace it).
	Clear(ctx context.Context, layer Layer) error

	// SavePlan stores a plan and its grids and returns its id.
	SavePlan(ctx context.Context, p Plan) (int64, error)
	// PublishPlan makes plan id the published one and unpublishes the others.
	PublishPlan(ctx context.Context, id int64) error

	// AddWorker stores a worker; ECONFLICT if its id exists.
	AddWorker(ctx context.Context, w Worker) error
	// WorkerForUpdate reads one worker inside the transaction and holds it
	// as HazardForUpdate does; ENOTFOUND if there is none.
	WorkerForUpdate(ctx context.Context, id string) (Worker, error)
	// UpdateWorker replaces the worker with w.ID; ENOTFOUND if there is none.
	UpdateWorker(ctx context.Context, w Worker) error
	// DeleteWorker removes a worker; ENOTFOUND if there is none.
	DeleteWorker(ctx context.Context, id string) error
	// ClearWorkers empties the roster (for imports that replace it).
	ClearWorkers(ctx context.Context) error
	// AddEventStep appends a step to an event's history and returns its id.
	AddEventStep(ctx context.Context, s EventStep) (int64, error)

	// AddWebhook stores a subscription; ECONFLICT if its id exists.
	AddWebhook(ctx context.Context, w Webhook) error
	// WebhookForUpdate reads a subscription and holds it until Commit, as
	// HazardForUpdate; ENOTFOUND if there is none.
	WebhookForUpdate(ctx context.Context, id string) (Webhook, error)
	// UpdateWebhook replaces the subscription with w.ID; ENOTFOUND if
	// there is none.
	UpdateWebhook(ctx context.Context, w Webhook) error
	// DeleteWebhook removes a subscription; ENOTFOUND if there is none.
	DeleteWebhook(ctx context.Context, id string) error
	// ClaimIdempotency records c (without its answer) unless a record of
	// c.Scope and c.Key younger than IdempotencyTTL exists: false then,
	// and the transaction is not spoiled. An older one is replaced.
	ClaimIdempotency(ctx context.Context, c Idempotency) (bool, error)
	// SaveIdempotency records the target and answer of c (Target,
	// Status, Header, Body; an empty Target keeps the one recorded),
	// inserting the record if no write claimed it.
	SaveIdempotency(ctx context.Context, c Idempotency) error

	// AddKey stores a new API key; ECONFLICT if its id exists.
	AddKey(ctx context.Context, k Key) error
	// RevokeKey marks a key revoked; ENOTFOUND if there is none.
	RevokeKey(ctx context.Context, id string, at time.Time) error
	// Audit appends an entry to the audit log, in the same transaction as
	// the write it records.
	Audit(ctx context.Context, e AuditEntry) error

	// Seq returns the highest change-feed Seq this transaction sees: after
	// its own writes, the Seq its last change will have once committed.
	Seq(ctx context.Context) (int64, error)

	Commit() error
	// Rollback abandons the transaction; after Commit it does nothing.
	Rollback() error
}

// Query selects features of a layer for one page.
type Query struct {
	BBox   *orb.Bound        // features intersecting it, or all
	Filter map[string]string // property = value, on the layer's filterable properties
	Limit  int               // page size, > 0
	Offset int
	// AfterFID keeps features with a greater FID only: keyset paging,
	// where a page goes on from the last FID of the one before, so that
	// rows deleted or added in between neither shift nor repeat features.
	AfterFID int64
	// NoCount skips counting the matching features (Page.Matched is then
	// -1): the count is a second scan, needless for a page's later chunks.
	NoCount bool
	// Time keeps the features whose temporal property (TimeProperty) lies
	// in the range; nil keeps all. A layer without a temporal property
	// ignores it: OGC API Features matches every feature that has no time
	// (/req/core/fc-time-response C).
	Time *TimeRange
	// Where keeps the features a CQL2 filter (OGC API Features Part 3)
	// holds for; nil keeps all. The store checks it against the layer's
	// queryables: an unknown property or a value of the wrong type is
	// EINVALID.
	Where *cql2.Expr
}

// TimeRange is a closed interval of time, both ends included; a zero end is
// open. Start after End matches nothing. Stores compare at the precision
// they keep (milliseconds in the GeoPackage, microseconds in PostGIS).
type TimeRange struct {
	Start, End time.Time
}

// Page is one page of features and the number of features matching in all.
type Page struct {
	Features []Feature
	Matched  int
}

// Feature is a stored feature as OGC API Features shows it.
type Feature struct {
	FID        int64
	Geometry   orb.Geometry
	Properties map[string]any
}

// TimeProperty names a layer's temporal property, the one Query.Time
// selects on; "" for a layer that has none.
func TimeProperty(layer Layer) string {
	if layer == LayerHazards {
		return "reported_at"
	}
	return ""
}
