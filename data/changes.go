package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"
)

// The change feed. Every committed insert, update and delete of a row of a
// layer table, of plans and of API keys is recorded in the store's
// wangge_changes table, by triggers in plain SQL, in the same transaction as
// the change: whoever made it (this process, another replica, the CLI, GDAL
// or QGIS on the GeoPackage, psql on PostGIS). Replicas follow the feed to
// keep their in-memory views equal to the store.
//
// Sequence numbers grow with commit order: an entry with a higher Seq was
// committed after every entry with a lower one, so a follower that has read
// everything up to Seq n never meets an entry ≤ n later. (PostgreSQL
// sequences alone do not promise that; the PostGIS store serialises the
// writers of the feed to keep it.)

// Feed names of the tables that are not layers.
const (
	FeedPlans   = "plans"
	FeedKeys    = "keys"
	FeedWorkers = "workers"
)

// Operations of the change feed.
const (
	OpInsert = "insert"
	OpUpdate = "update"
	OpDelete = "delete"
)

// Change is one entry of the change feed.
type Change struct {
	Seq   int64
	Layer string // a Layer name, FeedPlans or FeedKeys
	FID   int64  // the row's fid (plans: the plan id; keys: 0)
	Op    string // OpInsert, OpUpdate or OpDelete
	At    time.Time
}

// ChangeQuery selects entries of the change feed.
type ChangeQuery struct {
	After int64 // entries with Seq > After
	UpTo  int64 // and Seq ≤ UpTo; 0 means no upper bound
	// Layers keeps entries of these layers only; empty keeps all.
	Layers []string
	Limit  int // at most this many, in Seq order; > 0
}

// Feed is the change feed of a store.
type Feed interface {
	// Changes returns entries of the feed in Seq order.
	Changes(ctx context.Context, q ChangeQuery) ([]Change, error)
	// FeedBounds returns the lowest and highest Seq still in the feed; both
	// 0 when nothing was ever recorded. After pruning, first-1 is the
	// newest Seq a follower may have read and still catch up from.
	FeedBounds(ctx context.Context) (first, last int64, err error)
	// PruneChanges deletes all but the newest keep entries and returns how
	// many it deleted. The newest entry is always kept, so that last never
	// goes back. On a read-only store it does nothing.
	PruneChanges(ctx context.Context, keep int) (int, error)
}

// Notifier is implemented by stores that can tell a follower that a change
// was committed sooner than its next poll (PostgreSQL LISTEN/NOTIFY).
type Notifier interface {
	// Listen calls wake after each committed transaction that changed the
	// feed, until ctx is done or the connection is lost; it returns the
	// error that stopped it. Notifications may be merged or lost: followers
	// poll as well.
	Listen(ctx context.Context, wake func()) error
}

// ETag returns the entity tag of a hazard: a hash of every stored field,
// the same on every replica that holds the same row.
func (h Hazard) ETag() string {
	return etag(fmt.Sprintf("h|%d|%s|%v|%v|%s|%d|%s|%d|%q|%s|%s|%d|%d|%d|%d", h.FID, h.ID, bits(h.Point[0]), bits(h.Point[1]),
		h.Category, h.Severity, h.Status, h.ReportedAt.UnixMilli(), h.Note, h.Assignee, h.RespCode, h.RespLevel,
		milli(h.DueAt), milli(h.ResolvedAt), milli(h.ClosedAt)))
}

// ETag returns the entity tag of a camera (see Hazard.ETag).
func (c Camera) ETag() string {
	return etag(fmt.Sprintf("c|%d|%s|%v|%v|%v|%v|%v|%s", c.FID, c.ID, bits(c.Point[0]), bits(c.Point[1]),
		bits(c.Azimuth), bits(c.FOV), bits(c.RangeM), c.Status))
}

// ETagOf returns an entity tag for a record of kind made of fields, for
// records other than features (workers).
func ETagOf(kind string, fields ...string) string {
	return etag(fmt.Sprintf("%s|%q", kind, fields))
}

func bits(f float64) uint64 { return math.Float64bits(f) }

// milli is a time to the millisecond (what the GeoPackage keeps), 0 for
// the zero time.
func milli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func etag(s string) string {
	sum := sha256.Sum256([]byte(s))
	return `"` + hex.EncodeToString(sum[:10]) + `"`
}

// JobLocker is implemented by stores that several replicas share
// (PostgreSQL): a job that must run once across all of them, such as plan
// generation, takes the lock first.
type JobLocker interface {
	// TryLockJob takes the lock called name and returns its release; ok is
	// false when another process holds it. The lock is also released when
	// the process dies, so a crashed job never keeps others out.
	TryLockJob(ctx context.Context, name string) (release func(), ok bool, err error)
}
