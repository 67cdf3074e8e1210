package postgis

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// Batching: rows are buffered and sent with COPY when the buffer holds
// batchRows rows or batchBytes bytes of geometry, before any other statement
// (update, delete, plans, keys, commit) and before a row of another layer
// is buffered. Rows thus reach the table, and the change feed, in the order
// they were added, among the other writes of the transaction.
const (
	batchRows  = 8192
	batchBytes = 8 << 20
	// reserveMax caps how many fids one round trip reserves. Reservations
	// start at 1 and double, so a one-record write wastes no ids and an
	// import needs few round trips.
	reserveMax = 4096
	// probeAdds is how many records a transaction checks for duplicates one
	// query each before it loads the layer's ids once: an API write checks
	// one id, an import checks a million.
	probeAdds = 64
	// loadLimit caps the ids loaded from a layer; beyond it every record is
	// checked with a query, so a huge table does not fill the memory.
	loadLimit = 2_000_000
	// analyzeAdds is the import size from which Commit refreshes the
	// layer's planner statistics.
	analyzeAdds = 10_000
)

// table describes a layer written through Add: its unique key column and
// the columns COPY fills, fid and geom first.
type table struct {
	key  string
	cols []string
}

var tables = map[data.Layer]table{
	data.LayerHouseholds: {"source_id", []string{"fid", "geom", "source_id", "households"}},
	data.LayerHazards: {"source_id", []string{"fid", "geom", "source_id", "category", "severity", "status", "reported_at",
		"note", "assignee", "resp_code", "resp_level", "due_at", "resolved_at", "closed_at"}},
	data.LayerCameras: {"source_id", []string{"fid", "geom", "source_id", "azimuth", "fov", "range_m", "status"}},
	data.LayerAreas:   {"code", []string{"fid", "geom", "code", "name", "name_en", "level", "admin_level", "parent_code", "osm_id"}},
}

// Tx is a write transaction. Add methods validate in Go, check the record's
// id against the ids this transaction added and those already stored, then
// buffer the row, so that a bad record is refused alone (EINVALID,
// ECONFLICT) and leaves the transaction usable, while good rows reach the
// server in COPY batches. A failed statement, by contrast, aborts a
// PostgreSQL transaction: after one, every call returns that error.
type Tx struct {
	s     *Store
	tx    pgx.Tx
	bufs  map[data.Layer]*buffer
	keys  map[data.Layer]*keySet
	ids   map[data.Layer]*fids
	err   error // the statement failure that spoiled the transaction
	cause error // its pgx error
	done  bool

	// buffered is the layer whose rows are buffered, if any: one layer's
	// at a time, to keep the order of the writes.
	buffered data.Layer
}

var _ data.Tx = (*Tx)(nil)

// buffer holds rows not yet sent.
type buffer struct {
	rows  [][]any
	bytes int
}

// keySet tracks the ids of one layer as hashes (8 bytes each, not the
// strings). A key whose hash is absent is new if the set is exact; a hash
// that is present may be a true duplicate or a collision, which one query
// settles.
type keySet struct {
	seen   map[uint64]struct{}
	exact  bool // every id stored in the table is in seen
	loaded bool // the table's ids were loaded (or the layer cleared)
	adds   int
}

// fids are fids reserved from the layer's sequence, in ascending order.
type fids struct {
	free []int64
	next int // size of the next reservation
}

// Begin starts a write transaction. Readers keep seeing the last committed
// state until Commit.
//
// It first takes the change feed's advisory lock (see
// migrations/0003_changes.sql), which the feed's triggers take too and which
// is held until Commit or Rollback: writers commit one at a time, so the
// feed's seqs grow in commit order, and every row lock of a transaction is
// taken after the advisory lock, never before, so writers cannot deadlock
// on the pair. The wait is bounded by the statement (or lock) timeout.
//
// Writers of one Store first wait for each other in the process, so that
// only one of them holds a pooled connection while it waits for the lock
// and waiting writers cannot starve the readers of connections. That wait
// is bounded like the lock's, by the statement or lock timeout.
func (s *Store) Begin(ctx context.Context) (data.Tx, error) {
	if err := s.acquireWriter(ctx); err != nil {
		return nil, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		s.releaseWriter()
		return nil, mapErr(ctx, err, "begin")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.feed.key); err != nil {
		tx.Rollback(context.Background())
		s.releaseWriter()
		return nil, mapErr(ctx, err, "begin: wait for the other writers")
	}
	return &Tx{s: s, tx: tx, bufs: map[data.Layer]*buffer{}, keys: map[data.Layer]*keySet{}, ids: map[data.Layer]*fids{}}, nil
}

// acquireWriter waits until no other transaction of this Store is open.
func (s *Store) acquireWriter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var timeout <-chan time.Time
	if s.writeWait > 0 {
		t := time.NewTimer(s.writeWait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case s.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timeout:
		return data.Errorf(data.EUNAVAILABLE, "another write has kept the store busy for %v; retry later", s.writeWait)
	}
}

func (s *Store) releaseWriter() { <-s.writer }

// usable returns why the transaction cannot take more work, or nil.
func (t *Tx) usable() error {
	if t.done {
		return data.Errorf(data.EINTERNAL, "transaction already finished")
	}
	return t.err
}

// fail records a statement failure, which aborts the PostgreSQL
// transaction. The error it returns never has a record-level code
// (EINVALID, ECONFLICT): callers that skip bad records must stop here.
func (t *Tx) fail(ctx context.Context, err error, format string, args ...any) error {
	e := mapErr(ctx, err, format, args...)
	switch data.ErrorCode(e) {
	case data.ECONFLICT:
		// Our own checks passed, so another transaction committed the same
		// id since: the whole write must be retried.
		e = data.Wrap(data.EUNAVAILABLE, err, "a concurrent write stored the same id; nothing was written, retry")
	case data.EINVALID:
		e = fmt.Errorf("postgis: "+format+": %w", append(args, err)...)
	}
	t.err, t.cause = e, err
	return e
}

// checkText refuses text PostgreSQL cannot store, which SQLite would:
// fields are name, value pairs.
func checkText(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if err := data.CheckText(fields[i], fields[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// AddHousehold buffers a household point; ECONFLICT if its id exists.
func (t *Tx) AddHousehold(ctx context.Context, h data.Household) (int64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	if err := errors.Join(checkText("source_id", h.ID), data.CheckInt32("households", h.Households)); err != nil {
		return 0, firstErr(err)
	}
	return t.add(ctx, data.LayerHouseholds, h.ID, h.Point, h.ID, int32(h.Households))
}

// AddHazard buffers a hazard; ECONFLICT if its id exists.
func (t *Tx) AddHazard(ctx context.Context, h data.Hazard) (int64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	if err := checkHazard(h); err != nil {
		return 0, err
	}
	return t.add(ctx, data.LayerHazards, h.ID, h.Point, hazardValues(h)...)
}

// checkHazard refuses what PostgreSQL cannot store of a valid hazard.
func checkHazard(h data.Hazard) error {
	return firstErr(errors.Join(checkText("source_id", h.ID, "category", h.Category, "status", string(h.Status),
		"note", h.Note, "assignee", h.Assignee, "resp_code", h.RespCode), data.CheckInt32("resp_level", h.RespLevel)))
}

// hazardValues are the values of h's columns after fid and geom, in the
// order of tables[data.LayerHazards]; unset times are NULL.
func hazardValues(h data.Hazard) []any {
	return []any{h.ID, h.Category, int16(h.Severity), string(h.Status), h.ReportedAt, h.Note, h.Assignee, h.RespCode, int32(h.RespLevel),
		data.NullTime(h.DueAt, timeArg), data.NullTime(h.ResolvedAt, timeArg), data.NullTime(h.ClosedAt, timeArg)}
}

// timeArg is a time as pgx sends it.
func timeArg(t time.Time) any { return t }

// AddCamera buffers a camera; ECONFLICT if its id exists.
func (t *Tx) AddCamera(ctx context.Context, c data.Camera) (int64, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	if err := checkText("source_id", c.ID, "status", c.Status); err != nil {
		return 0, err
	}
	return t.add(ctx, data.LayerCameras, c.ID, c.Point,
		c.ID, c.Azimuth, c.FOV, c.RangeM, c.Status)
}

// AddArea buffers an area; ECONFLICT if its code exists.
func (t *Tx) AddArea(ctx context.Context, a data.Area) (int64, error) {
	if err := a.ValidateStored(); err != nil {
		return 0, err
	}
	if err := errors.Join(checkText("code", a.Code, "name", a.Name, "name_en", a.NameEn, "parent_code", a.ParentCode, "osm_id", a.OSMID),
		data.CheckInt32("level", a.Level), data.CheckInt32("admin_level", a.AdminLevel)); err != nil {
		return 0, firstErr(err)
	}
	var parent, adminLevel any // NULL when absent, as data/gpkg stores them
	if a.ParentCode != "" {
		parent = a.ParentCode
	}
	if a.AdminLevel != 0 {
		adminLevel = int32(a.AdminLevel)
	}
	return t.add(ctx, data.LayerAreas, a.Code, a.Geometry,
		a.Code, a.Name, a.NameEn, int32(a.Level), adminLevel, parent, a.OSMID)
}

// firstErr returns the first error of an errors.Join.
func firstErr(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()[0]
	}
	return err
}

// add checks a record's key, reserves its fid and buffers its row.
func (t *Tx) add(ctx context.Context, layer data.Layer, key string, g orb.Geometry, vals ...any) (int64, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	geom, err := encodeGeom(g)
	if err != nil {
		return 0, data.Wrap(data.EINVALID, err, "%s: geometry cannot be encoded", key)
	}
	ks, err := t.keySet(ctx, layer)
	if err != nil {
		return 0, err
	}
	h := maphash.String(t.s.seed, key)
	if err := t.checkKey(ctx, layer, ks, h, key); err != nil {
		return 0, err
	}
	fid, err := t.reserve(ctx, layer)
	if err != nil {
		return 0, err
	}
	ks.seen[h] = struct{}{}
	ks.adds++
	if t.buffered != "" && t.buffered != layer {
		if err := t.flush(ctx, t.buffered); err != nil {
			return 0, err
		}
	}
	t.buffered = layer
	b := t.bufs[layer]
	if b == nil {
		b = &buffer{}
		t.bufs[layer] = b
	}
	b.rows = append(b.rows, append([]any{fid, geom}, vals...))
	b.bytes += len(geom)
	if len(b.rows) >= batchRows || b.bytes >= batchBytes {
		if err := t.flush(ctx, layer); err != nil {
			return 0, err
		}
	}
	return fid, nil
}

// keySet returns the id set of a layer, loading the stored ids once the
// transaction has added probeAdds records to it.
func (t *Tx) keySet(ctx context.Context, layer data.Layer) (*keySet, error) {
	ks := t.keys[layer]
	if ks == nil {
		ks = &keySet{seen: map[uint64]struct{}{}}
		t.keys[layer] = ks
	}
	if ks.loaded || ks.adds < probeAdds {
		return ks, nil
	}
	ks.loaded = true
	rows, err := t.tx.Query(ctx, fmt.Sprintf(`SELECT %s FROM %s LIMIT $1`, tables[layer].key, layer), loadLimit+1)
	if err != nil {
		return nil, t.fail(ctx, err, "read the ids of %s", layer)
	}
	n := 0
	for rows.Next() {
		// The raw text bytes hash like the string (maphash guarantees it),
		// without allocating a string per row.
		ks.seen[maphash.Bytes(t.s.seed, rows.RawValues()[0])] = struct{}{}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, t.fail(ctx, err, "read the ids of %s", layer)
	}
	ks.exact = n <= loadLimit
	return ks, nil
}

// checkKey returns ECONFLICT if key is stored or buffered already.
func (t *Tx) checkKey(ctx context.Context, layer data.Layer, ks *keySet, h uint64, key string) error {
	_, hit := ks.seen[h]
	if !hit && ks.exact {
		return nil
	}
	if hit {
		// Maybe one of ours still in the buffer: send it so the query sees it.
		if err := t.flush(ctx, layer); err != nil {
			return err
		}
	}
	var exists bool
	q := fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %s WHERE %s = $1)`, layer, tables[layer].key)
	if err := t.tx.QueryRow(ctx, q, key).Scan(&exists); err != nil {
		return t.fail(ctx, err, "look up %s in %s", key, layer)
	}
	if exists {
		return data.FieldError(data.ECONFLICT, data.KeyField(layer), "%s", data.DuplicateKey(layer, key))
	}
	return nil
}

// reserve returns the next fid for a layer from its identity sequence.
// Sequences are not transactional: a rolled-back import leaves a gap in the
// fids, as PostgreSQL's own serial columns do.
func (t *Tx) reserve(ctx context.Context, layer data.Layer) (int64, error) {
	r := t.ids[layer]
	if r == nil {
		r = &fids{next: 1}
		t.ids[layer] = r
	}
	if len(r.free) == 0 {
		rows, err := t.tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence($1, 'fid')) FROM generate_series(1, $2)`, string(layer), r.next)
		if err != nil {
			return 0, t.fail(ctx, err, "reserve ids for %s", layer)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return 0, t.fail(ctx, err, "reserve ids for %s", layer)
		}
		r.free = ids
		r.next = min(2*r.next, reserveMax)
	}
	fid := r.free[0]
	r.free = r.free[1:]
	return fid, nil
}

// flush sends a layer's buffered rows with COPY.
func (t *Tx) flush(ctx context.Context, layer data.Layer) error {
	b := t.bufs[layer]
	if b == nil || len(b.rows) == 0 {
		return nil
	}
	_, err := t.tx.CopyFrom(ctx, pgx.Identifier{string(layer)}, tables[layer].cols, pgx.CopyFromRows(b.rows))
	clear(b.rows)
	b.rows, b.bytes = b.rows[:0], 0
	if err != nil {
		return t.fail(ctx, err, "write %s", layer)
	}
	return nil
}

// flushAll sends what is buffered.
func (t *Tx) flushAll(ctx context.Context) error {
	for _, l := range data.Layers() {
		if err := t.flush(ctx, l); err != nil {
			return err
		}
	}
	return nil
}

// update runs one UPDATE by fid inside a savepoint, so that a duplicate id
// is refused (ECONFLICT) without aborting the transaction.
func (t *Tx) update(ctx context.Context, layer data.Layer, fid int64, key string, g orb.Geometry, set string, vals ...any) error {
	if err := t.usable(); err != nil {
		return err
	}
	geom, err := encodeGeom(g)
	if err != nil {
		return data.Wrap(data.EINVALID, err, "%s: geometry cannot be encoded", key)
	}
	if err := t.flushAll(ctx); err != nil {
		return err
	}
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return t.fail(ctx, err, "savepoint")
	}
	args := append([]any{geom}, vals...)
	args = append(args, fid)
	tag, err := sp.Exec(ctx, fmt.Sprintf(`UPDATE %s SET geom = $1, %s WHERE fid = $%d`, layer, set, len(args)), args...)
	if err != nil {
		e := data.OnKey(mapErr(ctx, err, "%s", data.DuplicateKey(layer, key)), layer)
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return t.fail(ctx, rbErr, "roll back to savepoint")
		}
		if c := data.ErrorCode(e); c == data.ECONFLICT || c == data.EINVALID {
			return e
		}
		return t.fail(ctx, err, "update %s %d", layer, fid)
	}
	if err := sp.Commit(ctx); err != nil {
		return t.fail(ctx, err, "release savepoint")
	}
	if tag.RowsAffected() == 0 {
		return data.Errorf(data.ENOTFOUND, "no %s %d", strings.TrimSuffix(string(layer), "s"), fid)
	}
	// The new id is stored now; the old one stays in the set, where a hit
	// only costs a query.
	if ks := t.keys[layer]; ks != nil {
		ks.seen[maphash.String(t.s.seed, key)] = struct{}{}
	}
	return nil
}

// HazardForUpdate reads a hazard and locks its row until the transaction
// ends (SELECT … FOR UPDATE); rows still buffered are sent first.
func (t *Tx) HazardForUpdate(ctx context.Context, fid int64) (data.Hazard, error) {
	if err := t.usable(); err != nil {
		return data.Hazard{}, err
	}
	if err := t.flushAll(ctx); err != nil {
		return data.Hazard{}, err
	}
	hz, err := readHazards(ctx, t.tx, ` WHERE fid = $1 FOR UPDATE`, fid)
	if err != nil {
		return data.Hazard{}, t.fail(ctx, err, "read hazard %d", fid)
	}
	if len(hz) == 0 {
		return data.Hazard{}, data.Errorf(data.ENOTFOUND, "no hazard %d", fid)
	}
	return hz[0], nil
}

// CameraForUpdate reads a camera and locks its row, as HazardForUpdate.
func (t *Tx) CameraForUpdate(ctx context.Context, fid int64) (data.Camera, error) {
	if err := t.usable(); err != nil {
		return data.Camera{}, err
	}
	if err := t.flushAll(ctx); err != nil {
		return data.Camera{}, err
	}
	cs, err := readCameras(ctx, t.tx, ` WHERE fid = $1 FOR UPDATE`, fid)
	if err != nil {
		return data.Camera{}, t.fail(ctx, err, "read camera %d", fid)
	}
	if len(cs) == 0 {
		return data.Camera{}, data.Errorf(data.ENOTFOUND, "no camera %d", fid)
	}
	return cs[0], nil
}

// Seq returns the highest seq of the change feed this transaction sees,
// after sending its buffered rows. The transaction holds the feed's lock
// (Begin), so no other writer's change can come between: once committed,
// its last change has this seq.
func (t *Tx) Seq(ctx context.Context) (int64, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	if err := t.flushAll(ctx); err != nil {
		return 0, err
	}
	var seq int64
	if err := t.tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM wangge_changes`).Scan(&seq); err != nil {
		return 0, t.fail(ctx, err, "read the feed's last seq")
	}
	return seq, nil
}

// UpdateHazard replaces the hazard with h.FID.
func (t *Tx) UpdateHazard(ctx context.Context, h data.Hazard) error {
	if err := h.Validate(); err != nil {
		return err
	}
	if err := checkHazard(h); err != nil {
		return err
	}
	return t.update(ctx, data.LayerHazards, h.FID, h.ID, h.Point,
		`source_id = $2, category = $3, severity = $4, status = $5, reported_at = $6, note = $7, assignee = $8,
		resp_code = $9, resp_level = $10, due_at = $11, resolved_at = $12, closed_at = $13`,
		hazardValues(h)...)
}

// UpdateCamera replaces the camera with c.FID.
func (t *Tx) UpdateCamera(ctx context.Context, c data.Camera) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := checkText("source_id", c.ID, "status", c.Status); err != nil {
		return err
	}
	return t.update(ctx, data.LayerCameras, c.FID, c.ID, c.Point,
		`source_id = $2, azimuth = $3, fov = $4, range_m = $5, status = $6`,
		c.ID, c.Azimuth, c.FOV, c.RangeM, c.Status)
}

// Delete removes one feature.
func (t *Tx) Delete(ctx context.Context, layer data.Layer, fid int64) error {
	if _, err := data.ParseLayer(string(layer)); err != nil {
		return err
	}
	if err := t.usable(); err != nil {
		return err
	}
	if err := t.flushAll(ctx); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `DELETE FROM `+string(layer)+` WHERE fid = $1`, fid)
	if err != nil {
		return t.fail(ctx, err, "delete %s %d", layer, fid)
	}
	if tag.RowsAffected() == 0 {
		return data.Errorf(data.ENOTFOUND, "no feature %d in %s", fid, layer)
	}
	return nil
}

// Clear deletes every feature of a layer; clearing grids deletes every plan.
// DELETE rather than TRUNCATE: TRUNCATE would lock readers out until commit.
func (t *Tx) Clear(ctx context.Context, layer data.Layer) error {
	if _, err := data.ParseLayer(string(layer)); err != nil {
		return err
	}
	if err := t.usable(); err != nil {
		return err
	}
	if b := t.bufs[layer]; b != nil {
		clear(b.rows)
		b.rows, b.bytes = b.rows[:0], 0
	}
	if err := t.flushAll(ctx); err != nil {
		return err
	}
	if layer == data.LayerGrids {
		if _, err := t.tx.Exec(ctx, `DELETE FROM plans`); err != nil {
			return t.fail(ctx, err, "clear plans")
		}
	}
	if _, err := t.tx.Exec(ctx, `DELETE FROM `+string(layer)); err != nil {
		return t.fail(ctx, err, "clear %s", layer)
	}
	t.keys[layer] = &keySet{seen: map[uint64]struct{}{}, exact: true, loaded: true}
	return nil
}

// SavePlan stores a plan with its grids; the plan is not published.
func (t *Tx) SavePlan(ctx context.Context, p data.Plan) (int64, error) {
	// Everything is checked before anything is written, so that a bad
	// plan is refused whole and the transaction stays usable.
	if err := p.Validate(); err != nil {
		return 0, err
	}
	if err := t.usable(); err != nil {
		return 0, err
	}
	row, err := p.Row()
	if err != nil {
		return 0, fmt.Errorf("postgis: %w", err)
	}
	if err := t.flushAll(ctx); err != nil {
		return 0, err
	}
	var id int64
	err = t.tx.QueryRow(ctx, `INSERT INTO plans (created_at, target, resolution, base_id, published, report) VALUES ($1, $2, $3, $4, false, $5) RETURNING id`,
		row.CreatedAt, int32(p.Target), int32(p.Resolution), row.BaseID, row.Report).Scan(&id)
	if err != nil {
		return 0, t.fail(ctx, err, "save plan")
	}
	rows := make([][]any, 0, len(p.Grids))
	for _, g := range p.Grids {
		geom, err := encodeGeom(g.Geometry)
		if err != nil {
			return 0, t.fail(ctx, err, "encode grid %s", g.Code)
		}
		cells := make([]int64, len(g.Cells))
		for i, c := range g.Cells {
			cells[i] = int64(c)
		}
		rows = append(rows, []any{geom, id, g.Code, g.ParentCode, g.Name, int32(g.Households), g.AreaM2, g.Worker, cells})
	}
	_, err = t.tx.CopyFrom(ctx, pgx.Identifier{"grids"},
		[]string{"geom", "plan_id", "code", "parent_code", "name", "households", "area_m2", "worker", "cells"}, pgx.CopyFromRows(rows))
	if err != nil {
		return 0, t.fail(ctx, err, "save the grids of plan %d", id)
	}
	return id, nil
}

// PublishPlan makes plan id the only published plan.
//
// The transaction holds the change feed's lock from Begin, so publishes
// take turns: each one sees the plan the one before it published and
// unpublishes it.
func (t *Tx) PublishPlan(ctx context.Context, id int64) error {
	if err := t.usable(); err != nil {
		return err
	}
	if err := t.flushAll(ctx); err != nil {
		return err
	}
	var exists bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM plans WHERE id = $1)`, id).Scan(&exists); err != nil {
		return t.fail(ctx, err, "publish plan %d", id)
	}
	if !exists {
		return data.Errorf(data.ENOTFOUND, "no plan %d", id)
	}
	// Two statements, unpublish first: the one-published index is checked
	// row by row, so a single UPDATE could meet two published rows midway.
	if _, err := t.tx.Exec(ctx, `UPDATE plans SET published = false WHERE published AND id <> $1`, id); err != nil {
		return t.fail(ctx, err, "publish plan %d", id)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE plans SET published = true WHERE id = $1`, id); err != nil {
		return t.fail(ctx, err, "publish plan %d", id)
	}
	return nil
}

// Commit sends what is buffered and commits. A spoiled transaction is
// rolled back and its error returned.
func (t *Tx) Commit() error {
	if err := t.usable(); err != nil {
		t.Rollback()
		return err
	}
	// The commit itself must not be half-cancelled by a caller's context.
	ctx := context.Background()
	if err := t.flushAll(ctx); err != nil {
		t.Rollback()
		// At commit a duplicate from a concurrent writer is a plain conflict.
		return mapErr(ctx, t.cause, "commit")
	}
	t.done = true
	err := t.tx.Commit(ctx)
	t.s.releaseWriter()
	if err != nil {
		return mapErr(ctx, err, "commit")
	}
	// After a bulk import the planner's statistics still describe the
	// table before it; refresh them now rather than when autovacuum
	// notices, so bbox and filter queries get good plans at once. Best
	// effort: the data is committed whatever happens here.
	for l, ks := range t.keys {
		if ks.adds >= analyzeAdds {
			actx, cancel := context.WithTimeout(ctx, time.Minute)
			t.s.pool.Exec(actx, `ANALYZE `+string(l))
			cancel()
		}
	}
	return nil
}

// Rollback abandons the transaction; after Commit it does nothing.
func (t *Tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	err := t.tx.Rollback(context.Background())
	t.s.releaseWriter()
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return mapErr(context.Background(), err, "rollback")
}
