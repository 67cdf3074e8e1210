package postgis

import (
	"context"
	"fmt"
	"hash/maphash"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// This file holds how a transaction adds records: the rows it buffers and
// sends with COPY, the ids it checks for duplicates and the fids it
// reserves.

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
	data.LayerStreets: {"source_id", []string{"fid", "geom", "source_id", "kind", "class", "name", "osm_id"}},
	data.LayerUnits:   {"source_id", []string{"fid", "geom", "source_id", "kind", "name"}},
}

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
