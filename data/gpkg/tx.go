package gpkg

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// timeFormat is the GeoPackage DATETIME form (ISO 8601, UTC, milliseconds).
const timeFormat = "2006-01-02T15:04:05.000Z"

// Tx is a write transaction on the GeoPackage.
type Tx struct {
	s       *Store
	tx      *sql.Tx
	stmts   map[string]*sql.Stmt
	touched map[string]bool
	bulk    map[string]bool // tables whose R-tree insert trigger is dropped
	rows    map[string]int  // rows inserted per table
	done    bool

	// grow is the bound of the geometries written per table, by which
	// Commit extends the table's extent; full marks tables whose extent
	// Commit recomputes instead (Clear, bulk imports).
	grow map[string]orb.Bound
	full map[string]bool

	// deferred is the table whose inserts the feed trigger leaves to
	// flushFeed (changes.go), and deferFrom–deferTo the fids inserted since.
	deferred           string
	deferFrom, deferTo int64

	// rosterReplaced is set by ClearWorkers: Commit checkpoints, as after
	// any import.
	rosterReplaced bool

	// load is the packed build of the deferred table's R-tree, when the
	// bulk path found it empty (rtree_load.go); flushFeed finishes it.
	load *rtreeLoad
	// broken is set when the R-tree build failed: Commit refuses then,
	// whatever the caller did with the error.
	broken error
}

var _ data.Tx = (*Tx)(nil)

// Begin starts a write transaction. SQLite has one writer at a time: a second
// Begin waits for the first to finish (up to the busy timeout).
func (s *Store) Begin(ctx context.Context) (data.Tx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapErr(err, "begin")
	}
	// The connection's copy of the schema is brought up to date before
	// anything else, now that the write lock keeps it from changing.
	// Another connection's schema change (the bulk path's R-tree trigger
	// drop and restore, in this process or another) leaves it stale, and
	// SQLite (3.53.4) mishandles a stale schema while it connects an R-tree
	// virtual table, which it does the first time the connection compiles
	// a layer's R-tree trigger: the connect's own statement fails with
	// SQLITE_SCHEMA 50 times (the schema reset is deferred while a virtual
	// table connects), and the retry of the INSERT then compiles against an
	// emptied schema still marked valid (DBFLAG_SchemaKnownOk), failing
	// with "no such table: hazards". This statement checks the schema
	// cookie when it runs (OP_Transaction) and, if it differs, has SQLite
	// reload the schema outside any virtual table connect; then the
	// triggers compile against the current schema. It reads no row.
	// TestWriteAfterAnotherConnectionChangedTheSchema.
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM sqlite_schema LIMIT 0`); err != nil {
		tx.Rollback()
		return nil, mapErr(err, "begin")
	}
	return &Tx{s: s, tx: tx, stmts: map[string]*sql.Stmt{}, touched: map[string]bool{}, bulk: map[string]bool{}, rows: map[string]int{}}, nil
}

func (t *Tx) exec(ctx context.Context, table, query string, args ...any) (sql.Result, error) {
	st, ok := t.stmts[query]
	if !ok {
		var err error
		if st, err = t.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		t.stmts[query] = st
	}
	if table != "" { // "" is a table that is not a layer: no extent to keep
		t.touched[table] = true
	}
	return st.ExecContext(ctx, args...)
}

// insert adds a row and its R-tree entry. Past bulkAfter rows of a table,
// the R-tree insert trigger, which calls back into Go four times a row, is
// dropped for the transaction and the entry written directly from the
// envelope we already have (measured: 42 µs a row with the trigger, 15 µs
// without, on 200,000 points). Commit restores the trigger; a rollback
// undoes the drop with everything else, as SQLite's DDL is transactional.
// When the R-tree was empty (a new layer, --replace), the entries are not
// inserted one by one either but built into a packed tree once the rows
// are in (rtree_load.go): SQLite's insert cost about 11 µs an entry.
// (Feeding SQLite's insert in Z-order at commit was tried before: no less
// CPU on a million random points, as each insert still rewrites a node.)
//
// The same rows go into the change feed through flushFeed rather than the
// feed's trigger, for the same reason (changes.go).
func (t *Tx) insert(ctx context.Context, table string, what dupKey, g orb.Geometry, query string, args ...any) (int64, error) {
	// The caller's cancellation is checked here, once a row, and the
	// statements run without it: the driver (mattn/go-sqlite3) watches a
	// cancellable context with a goroutine of its own for every statement,
	// and starting and waking those took a quarter of the CPU time of a
	// `wangge import` (perf, 100,000 rows). A row's statements take
	// microseconds; nothing long is left uncancellable.
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	ctx = context.WithoutCancel(ctx)
	blob, err := encodeGeom(g)
	if err != nil {
		return 0, data.Wrap(data.EINVALID, err, "%s: geometry cannot be encoded", what.String())
	}
	if t.rows[table]++; !t.bulk[table] && t.rows[table] > bulkAfter {
		if _, err := t.tx.ExecContext(ctx, fmt.Sprintf(`DROP TRIGGER rtree_%s_geom_insert`, table)); err != nil {
			return 0, mapErr(err, "prepare %s for writing", table)
		}
		t.bulk[table] = true
		if err := t.flushFeed(ctx); err != nil {
			return 0, err
		}
		if t.load, err = t.startLoad(ctx, table); err != nil {
			return 0, err
		}
		if err := t.deferFeed(ctx, table); err != nil {
			return 0, err
		}
	}
	if t.deferred != table {
		if err := t.flushFeed(ctx); err != nil {
			return 0, err
		}
		if t.bulk[table] {
			if err := t.deferFeed(ctx, table); err != nil {
				return 0, err
			}
		}
	}
	res, err := t.exec(ctx, table, query, append([]any{blob}, args...)...)
	if err != nil {
		return 0, data.OnKey(mapErr(err, "%s", what.String()), data.Layer(table))
	}
	t.extend(table, g)
	fid, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if t.deferred == table {
		if t.deferFrom == 0 {
			t.deferFrom = fid
		}
		t.deferTo = fid
		if t.deferTo-t.deferFrom+1 >= recordEvery {
			if err := t.recordDeferred(ctx); err != nil {
				return 0, err
			}
		}
	}
	if !t.bulk[table] {
		return fid, nil // the trigger wrote the entry
	}
	b := g.Bound()
	if t.load != nil && t.load.table == table {
		return fid, t.load.add(fid, b)
	}
	if _, err := t.exec(ctx, table, fmt.Sprintf(`INSERT INTO rtree_%s_geom VALUES (?, ?, ?, ?, ?)`, table), fid, b.Min[0], b.Max[0], b.Min[1], b.Max[1]); err != nil {
		return 0, mapErr(err, "index %s", what.String())
	}
	return fid, nil
}

// dupKey is what a row's key clashing with another's would be called in
// the error: built only when there is an error, as insert runs a million
// times an import.
type dupKey struct {
	layer  data.Layer
	format string // for keys other than a layer's (a plan's grid codes)
	key    string
}

func (k dupKey) String() string {
	if k.format != "" {
		return fmt.Sprintf(k.format, k.key)
	}
	return data.DuplicateKey(k.layer, k.key)
}

// bulkAfter is how many rows of a table a transaction inserts through the
// R-tree trigger before it drops it. Dropping and restoring the trigger
// changes the schema, and every schema change makes the readers on other
// connections prepare their statements again: under a stream of one-row
// writes (the API's hazard reports) a reader's prepare can then fail with
// "database schema has changed" (bench/load.sh found it). Small writes keep
// the schema as it is; imports and plans drop the trigger once.
const bulkAfter = 64

// restoreTriggers puts back the R-tree insert triggers dropped by insert.
func (t *Tx) restoreTriggers(ctx context.Context) error {
	for table := range t.bulk {
		if _, err := t.tx.ExecContext(ctx, rtreeStatements(table, "geom", "fid")[2]); err != nil {
			return mapErr(err, "restore the R-tree trigger of %s", table)
		}
	}
	return nil
}

// AddHousehold stores a household point; ECONFLICT if its id exists.
func (t *Tx) AddHousehold(ctx context.Context, h data.Household) (int64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	return t.insert(ctx, "households", dupKey{layer: data.LayerHouseholds, key: h.ID}, h.Point,
		`INSERT INTO households (geom, source_id, households) VALUES (?, ?, ?)`, h.ID, h.Households)
}

// AddHazard stores a hazard; ECONFLICT if its id exists.
func (t *Tx) AddHazard(ctx context.Context, h data.Hazard) (int64, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	return t.insert(ctx, "hazards", dupKey{layer: data.LayerHazards, key: h.ID}, h.Point,
		`INSERT INTO hazards (geom, source_id, category, severity, status, reported_at, note, assignee, resp_code, resp_level,
			due_at, resolved_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, h.Category, h.Severity, string(h.Status), sqlTime(h.ReportedAt), h.Note, h.Assignee, h.RespCode, h.RespLevel,
		data.NullTime(h.DueAt, sqlTime), data.NullTime(h.ResolvedAt, sqlTime), data.NullTime(h.ClosedAt, sqlTime))
}

// AddCamera stores a camera; ECONFLICT if its id exists.
func (t *Tx) AddCamera(ctx context.Context, c data.Camera) (int64, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	return t.insert(ctx, "cameras", dupKey{layer: data.LayerCameras, key: c.ID}, c.Point,
		`INSERT INTO cameras (geom, source_id, azimuth, fov, range_m, status) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Azimuth, c.FOV, c.RangeM, c.Status)
}

// AddArea stores an area; ECONFLICT if its code exists.
func (t *Tx) AddArea(ctx context.Context, a data.Area) (int64, error) {
	if err := a.ValidateStored(); err != nil {
		return 0, err
	}
	var parent, adminLevel any
	if a.ParentCode != "" {
		parent = a.ParentCode
	}
	if a.AdminLevel != 0 {
		adminLevel = a.AdminLevel
	}
	return t.insert(ctx, "areas", dupKey{layer: data.LayerAreas, key: a.Code}, a.Geometry,
		`INSERT INTO areas (geom, code, name, name_en, level, admin_level, parent_code, osm_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.Code, a.Name, a.NameEn, a.Level, adminLevel, parent, a.OSMID)
}

// update runs an UPDATE by fid and reports ENOTFOUND when no row matched.
// The R-tree follows through the update triggers, which stay in place.
func (t *Tx) update(ctx context.Context, table string, what dupKey, fid int64, g orb.Geometry, query string, args ...any) error {
	blob, err := encodeGeom(g)
	if err != nil {
		return data.Wrap(data.EINVALID, err, "%s: geometry cannot be encoded", what.String())
	}
	if err := t.flushFeed(ctx); err != nil {
		return err
	}
	res, err := t.exec(ctx, table, query, append(append([]any{blob}, args...), fid)...)
	if err == nil {
		t.extend(table, g)
	}
	if err != nil {
		return data.OnKey(mapErr(err, "%s", what.String()), data.Layer(table))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return data.Errorf(data.ENOTFOUND, "no %s %d", strings.TrimSuffix(table, "s"), fid)
	}
	return nil
}

// UpdateHazard replaces the hazard with h.FID.
func (t *Tx) UpdateHazard(ctx context.Context, h data.Hazard) error {
	if err := h.Validate(); err != nil {
		return err
	}
	return t.update(ctx, "hazards", dupKey{layer: data.LayerHazards, key: h.ID}, h.FID, h.Point,
		`UPDATE hazards SET geom = ?, source_id = ?, category = ?, severity = ?, status = ?, reported_at = ?, note = ?, assignee = ?,
			resp_code = ?, resp_level = ?, due_at = ?, resolved_at = ?, closed_at = ? WHERE fid = ?`,
		h.ID, h.Category, h.Severity, string(h.Status), sqlTime(h.ReportedAt), h.Note, h.Assignee, h.RespCode, h.RespLevel,
		data.NullTime(h.DueAt, sqlTime), data.NullTime(h.ResolvedAt, sqlTime), data.NullTime(h.ClosedAt, sqlTime))
}

// UpdateCamera replaces the camera with c.FID.
func (t *Tx) UpdateCamera(ctx context.Context, c data.Camera) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return t.update(ctx, "cameras", dupKey{layer: data.LayerCameras, key: c.ID}, c.FID, c.Point,
		`UPDATE cameras SET geom = ?, source_id = ?, azimuth = ?, fov = ?, range_m = ?, status = ? WHERE fid = ?`,
		c.ID, c.Azimuth, c.FOV, c.RangeM, c.Status)
}

// Delete removes one feature.
func (t *Tx) Delete(ctx context.Context, layer data.Layer, fid int64) error {
	if _, err := data.ParseLayer(string(layer)); err != nil {
		return err
	}
	if err := t.flushFeed(ctx); err != nil {
		return err
	}
	res, err := t.exec(ctx, string(layer), `DELETE FROM `+string(layer)+` WHERE fid = ?`, fid)
	if err != nil {
		return mapErr(err, "delete %s %d", layer, fid)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return data.Errorf(data.ENOTFOUND, "no feature %d in %s", fid, layer)
	}
	return nil
}

// Clear deletes every feature of a layer. Clearing grids deletes every plan.
func (t *Tx) Clear(ctx context.Context, layer data.Layer) error {
	table := string(layer)
	if _, err := data.ParseLayer(table); err != nil {
		return err
	}
	if err := t.flushFeed(ctx); err != nil {
		return err
	}
	if layer == data.LayerGrids {
		if _, err := t.exec(ctx, "grids", `DELETE FROM plans`); err != nil {
			return mapErr(err, "clear plans")
		}
	}
	if _, err := t.exec(ctx, table, `DELETE FROM `+table); err != nil {
		return mapErr(err, "clear %s", table)
	}
	t.markFull(table)
	return nil
}

// SavePlan stores a plan with its grids; the plan is not published.
func (t *Tx) SavePlan(ctx context.Context, p data.Plan) (int64, error) {
	// Every grid is checked before anything is written: a refused plan
	// must leave no plan row or grids behind in a transaction that goes on.
	if err := p.Validate(); err != nil {
		return 0, err
	}
	row, err := p.Row()
	if err != nil {
		return 0, fmt.Errorf("gpkg: %w", err)
	}
	if err := t.flushFeed(ctx); err != nil {
		return 0, err
	}
	res, err := t.exec(ctx, "plans", `INSERT INTO plans (created_at, target, resolution, base_id, published, report) VALUES (?, ?, ?, ?, 0, ?)`,
		row.CreatedAt.UTC().Format(timeFormat), p.Target, p.Resolution, row.BaseID, string(row.Report))
	if err != nil {
		return 0, mapErr(err, "save plan")
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	for _, g := range p.Grids {
		_, err := t.insert(ctx, "grids", dupKey{format: "duplicate grid code %q in plan", key: g.Code}, g.Geometry,
			`INSERT INTO grids (geom, plan_id, code, parent_code, name, households, area_m2, worker, cells) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, g.Code, g.ParentCode, g.Name, g.Households, g.AreaM2, g.Worker, encodeCells(g.Cells))
		if err != nil {
			return 0, err
		}
	}
	return id, nil
}

// PublishPlan makes plan id the only published plan.
func (t *Tx) PublishPlan(ctx context.Context, id int64) error {
	var n int
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM plans WHERE id = ?`, id).Scan(&n); err != nil {
		return mapErr(err, "publish plan %d", id)
	}
	if n == 0 {
		return data.Errorf(data.ENOTFOUND, "no plan %d", id)
	}
	if err := t.flushFeed(ctx); err != nil {
		return err
	}
	if _, err := t.exec(ctx, "plans", `UPDATE plans SET published = 0 WHERE published = 1 AND id != ?`, id); err != nil {
		return mapErr(err, "publish plan %d", id)
	}
	if _, err := t.exec(ctx, "plans", `UPDATE plans SET published = 1 WHERE id = ?`, id); err != nil {
		return mapErr(err, "publish plan %d", id)
	}
	t.touched["grids"] = true
	return nil
}

// Commit updates the extents and change times in gpkg_contents of the
// layers written, then commits.
func (t *Tx) Commit() error {
	if t.done {
		return data.Errorf(data.EINTERNAL, "transaction already finished")
	}
	ctx := context.Background() // the commit itself must not be half-cancelled
	if t.broken != nil {
		t.Rollback()
		return t.broken
	}
	if err := t.flushFeed(ctx); err != nil {
		t.Rollback()
		return err
	}
	if err := t.restoreTriggers(ctx); err != nil {
		t.Rollback()
		return err
	}
	for table := range t.touched {
		if table == "plans" {
			continue
		}
		var err error
		b, grew := t.grow[table]
		switch {
		case t.full[table] || t.bulk[table]:
			// A layer replaced or imported: its extent is read from the
			// R-tree, a scan of the layer once an import.
			r := fmt.Sprintf("rtree_%s_geom", table)
			_, err = t.tx.ExecContext(ctx, fmt.Sprintf(`UPDATE gpkg_contents SET last_change = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ','now'),
				min_x = (SELECT min(minx) FROM %[1]s), max_x = (SELECT max(maxx) FROM %[1]s),
				min_y = (SELECT min(miny) FROM %[1]s), max_y = (SELECT max(maxy) FROM %[1]s) WHERE table_name = ?`, r), table)
		case grew:
			// A few features written: the extent grows to hold them, in
			// constant time (a scan here cost 0.9 s a write at 960,000
			// hazards). Deletes leave it as it was: it still holds every
			// feature, as gpkg_contents asks, if not tightly.
			_, err = t.tx.ExecContext(ctx, `UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now'),
				min_x = min(coalesce(min_x, ?1), ?1), min_y = min(coalesce(min_y, ?2), ?2),
				max_x = max(coalesce(max_x, ?3), ?3), max_y = max(coalesce(max_y, ?4), ?4) WHERE table_name = ?5`,
				b.Min[0], b.Min[1], b.Max[0], b.Max[1], table)
		default:
			_, err = t.tx.ExecContext(ctx, `UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?`, table)
		}
		if err != nil {
			t.Rollback()
			return mapErr(err, "update extent of %s", table)
		}
	}
	t.done = true
	t.closeStmts()
	if err := t.tx.Commit(); err != nil {
		return mapErr(err, "commit")
	}
	if t.bulkWrite() {
		// The file alone must hold an import or a plan as soon as it is
		// committed: a CLI import's process ends next, and GDAL or a copy
		// of the file may come right after. The commit stands whatever the
		// checkpoint does (the pages are in the WAL), so its error is not
		// the caller's; the store's ticker tries again.
		t.s.Checkpoint(ctx)
	}
	return nil
}

// bulkWrite reports whether the transaction was more than an API write of
// a few rows: an import (past bulkAfter rows of a table), a layer or the
// roster cleared, a plan saved or published.
func (t *Tx) bulkWrite() bool {
	return len(t.bulk) > 0 || len(t.full) > 0 || t.touched["plans"] || t.rosterReplaced
}

// extend records that g was written to table, for its extent.
func (t *Tx) extend(table string, g orb.Geometry) {
	if t.grow == nil {
		t.grow = map[string]orb.Bound{}
	}
	if b, ok := t.grow[table]; ok {
		t.grow[table] = b.Union(g.Bound())
	} else {
		t.grow[table] = g.Bound()
	}
}

// markFull makes Commit recompute table's extent.
func (t *Tx) markFull(table string) {
	if t.full == nil {
		t.full = map[string]bool{}
	}
	t.full[table] = true
}

// Rollback abandons the transaction; after Commit it does nothing.
func (t *Tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	if t.load != nil {
		t.load.close()
		t.load = nil
	}
	t.closeStmts()
	return t.tx.Rollback()
}

func (t *Tx) closeStmts() {
	for _, st := range t.stmts {
		st.Close()
	}
}

// encodeCells stores H3 cells as their hex strings, space separated: readable
// in QGIS and stable across languages.
func encodeCells(cells []uint64) string {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(c, 16))
	}
	return b.String()
}

// decodeCells parses encodeCells' text: hexadecimal cells separated by
// white space. By hand rather than strings.Fields and ParseUint: a plan's
// hundred thousand cells are parsed on every replica each time it is
// published, and this is the larger part of reading it.
func decodeCells(s string) ([]uint64, error) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) && (i == 0 || isSpace(s[i-1])) {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	cells := make([]uint64, 0, n)
	for i := 0; i < len(s); {
		if isSpace(s[i]) {
			i++
			continue
		}
		start := i
		var c uint64
		for ; i < len(s) && !isSpace(s[i]); i++ {
			d, ok := hexDigit(s[i])
			if !ok || i-start >= 16 {
				for i < len(s) && !isSpace(s[i]) {
					i++
				}
				return nil, fmt.Errorf("gpkg: bad cell %q: not a 64-bit hexadecimal number", s[start:i])
			}
			c = c<<4 | uint64(d)
		}
		cells = append(cells, c)
	}
	return cells, nil
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

func hexDigit(b byte) (byte, bool) {
	switch {
	case '0' <= b && b <= '9':
		return b - '0', true
	case 'a' <= b && b <= 'f':
		return b - 'a' + 10, true
	case 'A' <= b && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}
