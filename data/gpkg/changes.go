package gpkg

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wangge/wangge/data"
)

// The change feed (data/changes.go) lives in wangge_changes (schema version
// 3), kept by triggers on every table it covers. The triggers are plain SQL,
// no Go function and no ST_ function, so a write made by GDAL, QGIS or the
// sqlite3 shell is recorded exactly like ours; a file opened by a tool that
// does not know wangge stays writable. Like wangge_meta the table is not in
// gpkg_contents: it is not a layer.
//
// A trigger costs a big import dearly. Recording each row from the insert
// trigger made an import of 200,000 households take 1.8 times the CPU of
// one without the feed: the trigger program, a feed row and an index entry
// between two households, and a statement journal (a copy of every page
// the INSERT changes), which SQLite keeps for any statement that fires a
// trigger with a function call in it (strftime, for the time).
// So the bulk path of Tx.insert defers its own inserts instead: it writes a
// flag row into wangge_meta, which the layers' insert triggers test
// (WHEN NOT EXISTS …), and records the deferred rows itself with an
// INSERT … SELECT over their fid range every recordEvery rows and before
// the transaction does anything else (flushFeed). The flag is never
// committed: it lives and dies inside the transaction, so every other
// connection, wangge's or GDAL's, sees the triggers record every row, and a
// crash or rollback takes it away with the rest. The feed triggers are
// never dropped, unlike the R-tree insert trigger. What is left is the
// trigger's presence (its program runs to test the flag, and the statement
// journal stays): 1.2 times the CPU of an import without the feed.

// feedTables maps each table the feed covers to its feed name, the column
// recorded as fid, and the schema version that put it in the feed.
var feedTables = []struct {
	table, layer, fid string
	since             int
}{
	{"areas", string(data.LayerAreas), "fid", 3},
	{"grids", string(data.LayerGrids), "fid", 3},
	{"hazards", string(data.LayerHazards), "fid", 3},
	{"cameras", string(data.LayerCameras), "fid", 3},
	{"households", string(data.LayerHouseholds), "fid", 3},
	{"plans", data.FeedPlans, "id", 3},
	{"wangge_keys", data.FeedKeys, "0", 3}, // keys have text ids: the feed says only that keys changed
	{"workers", data.FeedWorkers, "fid", 4},
	{"streets", string(data.LayerStreets), "fid", 6},
	{"units", string(data.LayerUnits), "fid", 6},
}

// deferredKey is the wangge_meta key of the flag row that says a
// transaction records the inserts into table itself (see above). One key a
// table, so the trigger's test reads the key's index alone.
func deferredKey(table string) string { return "feed_deferred:" + table }

// nowSQL is the GeoPackage DATETIME of the moment, in plain SQL.
const nowSQL = `strftime('%Y-%m-%dT%H:%M:%fZ','now')`

// feedSchema creates the change feed and the triggers of the tables of
// schema version 3. IF NOT EXISTS everywhere, so that it can run on a file
// that already has some of it.
func feedSchema() []string {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS wangge_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, layer TEXT NOT NULL,
			fid INTEGER NOT NULL, op TEXT NOT NULL, at DATETIME NOT NULL)`,
		// Followers of a few layers read the feed by layer from where they
		// stopped: (layer, seq) answers that without reading the others.
		`CREATE INDEX IF NOT EXISTS wangge_changes_layer ON wangge_changes(layer, seq)`,
	}
	return append(stmts, feedTriggers(3)...)
}

// feedTriggers creates the feed's triggers on the tables that schema
// version since put in the feed; each step of the schema adds those of its
// own tables, once they exist.
func feedTriggers(since int) []string {
	var stmts []string
	for _, f := range feedTables {
		if f.since != since {
			continue
		}
		ins := func(fid, op string) string {
			return fmt.Sprintf(`INSERT INTO wangge_changes (layer, fid, op, at) VALUES ('%s', %s, %s, %s);`, f.layer, fid, op, nowSQL)
		}
		oldFID, newFID := "OLD."+f.fid, "NEW."+f.fid
		if f.fid == "0" {
			oldFID, newFID = "0", "0"
		}
		when := ""
		if _, err := data.ParseLayer(f.table); err == nil { // a layer: its inserts may be deferred (Tx.deferFeed)
			when = fmt.Sprintf(`WHEN NOT EXISTS (SELECT 1 FROM wangge_meta WHERE key = '%s') `, deferredKey(f.table))
		}
		stmts = append(stmts,
			fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS wangge_changes_%s_insert AFTER INSERT ON %s %sBEGIN %s END`,
				f.table, f.table, when, ins(newFID, `'`+data.OpInsert+`'`)),
			fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS wangge_changes_%s_delete AFTER DELETE ON %s BEGIN %s END`,
				f.table, f.table, ins(oldFID, `'`+data.OpDelete+`'`)),
		)
		if f.fid == "0" {
			stmts = append(stmts, fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS wangge_changes_%s_update AFTER UPDATE ON %s BEGIN %s END`,
				f.table, f.table, ins("0", `'`+data.OpUpdate+`'`)))
			continue
		}
		// An UPDATE that changes the fid itself (possible in SQL, never
		// done by wangge) is a delete of the old fid and an insert of the new.
		stmts = append(stmts, fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS wangge_changes_%[1]s_update AFTER UPDATE ON %[1]s BEGIN
			INSERT INTO wangge_changes (layer, fid, op, at) SELECT '%[2]s', %[3]s, '%[5]s', %[7]s WHERE %[3]s IS NOT %[4]s;
			INSERT INTO wangge_changes (layer, fid, op, at) VALUES ('%[2]s', %[4]s, CASE WHEN %[3]s IS %[4]s THEN '%[6]s' ELSE '%[8]s' END, %[7]s);
			END`, f.table, f.layer, oldFID, newFID, data.OpDelete, data.OpUpdate, nowSQL, data.OpInsert))
	}
	return stmts
}

// Changes returns entries of the feed in seq order.
func (s *Store) Changes(ctx context.Context, q data.ChangeQuery) ([]data.Change, error) {
	if q.Limit <= 0 {
		return nil, data.Errorf(data.EINVALID, "change feed limit must be positive, got %d", q.Limit)
	}
	query, args := changesQuery(q)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err, "read the change feed")
	}
	defer rows.Close()
	out := []data.Change{}
	for rows.Next() {
		var c data.Change
		var at string
		if err := rows.Scan(&c.Seq, &c.Layer, &c.FID, &c.Op, &at); err != nil {
			return nil, mapErr(err, "read the change feed")
		}
		if c.At, err = time.Parse(time.RFC3339, at); err != nil {
			return nil, fmt.Errorf("gpkg: change %d: at: %w", c.Seq, err)
		}
		out = append(out, c)
	}
	return out, mapErr(rows.Err(), "read the change feed")
}

// changesQuery is the SELECT that answers q.
func changesQuery(q data.ChangeQuery) (string, []any) {
	upTo := q.UpTo
	if upTo <= 0 {
		upTo = math.MaxInt64
	}
	const cols = `SELECT seq, layer, fid, op, at FROM wangge_changes`
	layers := slices.Compact(slices.Sorted(slices.Values(q.Layers)))
	if len(layers) == 0 {
		return cols + ` WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, []any{q.After, upTo, q.Limit}
	}
	// One arm a layer, each walking the (layer, seq) index from After and
	// stopping at Limit, merged by seq: fast however many entries the other
	// layers have. (With layer IN (…) SQLite sorts every match before the
	// LIMIT.) One statement, so one snapshot: a commit between two queries
	// could slip an entry in between them.
	arms := make([]string, len(layers))
	var args []any
	for i, l := range layers {
		arms[i] = `SELECT * FROM (` + cols + ` WHERE layer = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?)`
		args = append(args, l, q.After, upTo, q.Limit)
	}
	return strings.Join(arms, " UNION ALL ") + ` ORDER BY seq LIMIT ?`, append(args, q.Limit)
}

// FeedBounds returns the lowest and highest seq in the feed, 0 and 0 when
// it is empty.
func (s *Store) FeedBounds(ctx context.Context) (first, last int64, err error) {
	// Two subqueries: SQLite reads min or max alone from the end of the
	// primary key, but both in one query scan the whole feed.
	err = s.db.QueryRowContext(ctx, `SELECT coalesce((SELECT min(seq) FROM wangge_changes), 0), coalesce((SELECT max(seq) FROM wangge_changes), 0)`).Scan(&first, &last)
	return first, last, mapErr(err, "read the change feed's bounds")
}

// PruneChanges deletes all but the newest keep entries (at least the newest
// one stays) and returns how many it deleted; when ctx ends after some
// were deleted, it returns those and no error, and the next prune goes on.
func (s *Store) PruneChanges(ctx context.Context, keep int) (int, error) {
	keep = max(keep, 1)
	total := 0
	for {
		// A batch a statement: one DELETE of the millions of entries a
		// province's import leaves held the write lock past the writers'
		// busy timeout and failed, every minute (16× Montevideo: 4.3M
		// entries). Each statement takes the write lock before it reads,
		// so it waits for a writer instead of failing, and computes its
		// bound again under it. A webhook that is not paused still has to
		// deliver the entries after its cursor: they stay
		// (data/webhooks.go).
		res, err := s.db.ExecContext(ctx, `DELETE FROM wangge_changes WHERE seq IN (SELECT seq FROM wangge_changes WHERE seq < min(
			(SELECT seq FROM wangge_changes ORDER BY seq DESC LIMIT 1 OFFSET ?),
			coalesce((SELECT min(cursor) + 1 FROM wangge_webhooks WHERE paused = 0), 9223372036854775807)) ORDER BY seq LIMIT ?)`, keep-1, pruneBatch)
		if err != nil {
			if ctx.Err() != nil && total > 0 {
				return total, nil // cut short: the rest goes next time
			}
			return total, mapErr(err, "prune the change feed")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, mapErr(err, "prune the change feed")
		}
		total += int(n)
		if n < pruneBatch {
			return total, nil
		}
	}
}

// pruneBatch is how many feed entries one statement of PruneChanges
// deletes.
const pruneBatch = 20_000

// Seq returns the highest seq of the feed as this transaction sees it: its
// own last change's once committed, as SQLite has one writer at a time and
// Begin takes the write lock.
func (t *Tx) Seq(ctx context.Context) (int64, error) {
	if err := t.flushFeed(ctx); err != nil {
		return 0, err
	}
	var seq int64
	err := t.tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM wangge_changes`).Scan(&seq)
	return seq, mapErr(err, "read the change feed's last seq")
}

// HazardForUpdate reads a hazard inside the transaction. Begin took the
// file's write lock (BEGIN IMMEDIATE), so no one, in this process or
// another, can change the hazard before Commit.
func (t *Tx) HazardForUpdate(ctx context.Context, fid int64) (data.Hazard, error) {
	hz, err := hazards(ctx, t.tx, ` WHERE fid = ?`, fid)
	if err != nil {
		return data.Hazard{}, err
	}
	if len(hz) == 0 {
		return data.Hazard{}, data.Errorf(data.ENOTFOUND, "no hazard %d", fid)
	}
	return hz[0], nil
}

// CameraForUpdate reads a camera inside the transaction (see
// HazardForUpdate).
func (t *Tx) CameraForUpdate(ctx context.Context, fid int64) (data.Camera, error) {
	cs, err := cameras(ctx, t.tx, ` WHERE fid = ?`, fid)
	if err != nil {
		return data.Camera{}, err
	}
	if len(cs) == 0 {
		return data.Camera{}, data.Errorf(data.ENOTFOUND, "no camera %d", fid)
	}
	return cs[0], nil
}

// deferFeed makes the inserts into table that follow, up to the next
// flushFeed, go unrecorded by the trigger; insert notes their fids and
// flushFeed records them. Nothing may be deferred when it is called.
func (t *Tx) deferFeed(ctx context.Context, table string) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO wangge_meta (key, value) VALUES (?, '')`, deferredKey(table)); err != nil {
		return mapErr(err, "defer the change feed of %s", table)
	}
	t.deferred, t.deferFrom, t.deferTo = table, 0, 0
	return nil
}

// clearDeferralFlags deletes committed deferral flags. Tx never commits one
// (Commit flushes first), but one committed by hand or by a bug would keep
// the triggers from recording any insert into its layer, by anyone.
func (s *Store) clearDeferralFlags(ctx context.Context) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM wangge_meta WHERE key LIKE 'feed_deferred:%'`).Scan(&n); err != nil || n == 0 {
		return mapErr(err, "read %s", s.path)
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM wangge_meta WHERE key LIKE 'feed_deferred:%'`)
	return mapErr(err, "clear the change feed's flags in %s", s.path)
}

// flushFeed records the rows inserted since deferFeed, in fid order, which
// is the order they were inserted in, and lets the trigger record again.
// Every Tx method but an insert into the deferred table calls it first, so
// the feed's order is the order of the writes. The deferred rows are exactly
// the fid range noted: fids only grow (AUTOINCREMENT), no other connection
// writes while the transaction holds the lock, and a delete flushes first.
func (t *Tx) flushFeed(ctx context.Context) error {
	if t.load != nil {
		// Any write but the next insert into the table may read or
		// change its R-tree: it is built first.
		l := t.load
		t.load = nil
		if err := l.finish(ctx, t); err != nil {
			t.broken = err // a half-written R-tree must never be committed
			return err
		}
	}
	if t.deferred == "" {
		return nil
	}
	if err := t.recordDeferred(ctx); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM wangge_meta WHERE key = ?`, deferredKey(t.deferred)); err != nil {
		return mapErr(err, "record the inserts into %s in the change feed", t.deferred)
	}
	t.deferred = ""
	return nil
}

// recordDeferred writes the feed entries of the deferred rows noted so far.
// insert calls it every recordEvery rows, while the rows it reads back are
// still in the page cache.
func (t *Tx) recordDeferred(ctx context.Context) error {
	if t.deferFrom == 0 {
		return nil
	}
	// OR FAIL and the time as a parameter: a statement that may abort
	// halfway (a constraint with the default ABORT, or any SQL function
	// call) and writes several rows needs a statement journal, a copy of
	// every page it changes, spilled to a temporary file past 64 KiB. This
	// one cannot fail halfway, and so needs none.
	_, err := t.exec(ctx, "", fmt.Sprintf(`INSERT OR FAIL INTO wangge_changes (layer, fid, op, at)
		SELECT '%s', fid, '%s', ? FROM %s WHERE fid BETWEEN ? AND ? ORDER BY fid`, t.deferred, data.OpInsert, t.deferred),
		time.Now().UTC().Format(timeFormat), t.deferFrom, t.deferTo)
	if err != nil {
		return mapErr(err, "record the inserts into %s in the change feed", t.deferred)
	}
	t.deferFrom, t.deferTo = 0, 0
	return nil
}

// recordEvery is how many deferred rows insert lets pass before it records
// them (see recordDeferred).
const recordEvery = 4096
