package gpkg

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// where builds the WHERE clause of a query on a layer.
func where(layer data.Layer, q data.Query) (string, []any, error) {
	var conds []string
	var args []any
	if layer == data.LayerGrids {
		conds = append(conds, `plan_id = (SELECT id FROM plans WHERE published = 1)`)
	}
	join := ""
	if b := q.BBox; b != nil {
		// The R-tree narrows to envelopes. Its boxes are float32, rounded
		// outwards, so a box wholly inside the query box holds a geometry
		// that intersects it; only the candidates on the border need the
		// exact test, a call back into Go, which is what costs (measured:
		// 4.8 ms for a box of 1,022 of 50,000 points with the test on
		// every candidate).
		join = fmt.Sprintf(` JOIN rtree_%[1]s_geom r ON r.id = %[1]s.fid`, layer)
		conds = append(conds, `r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?`,
			`((r.minx >= ? AND r.maxx <= ? AND r.miny >= ? AND r.maxy <= ?) OR wg_intersects(geom, ?, ?, ?, ?))`)
		args = append(args, b.Max[0], b.Min[0], b.Max[1], b.Min[1],
			b.Min[0], b.Max[0], b.Min[1], b.Max[1],
			b.Min[0], b.Min[1], b.Max[0], b.Max[1])
	}
	keys, err := data.FilterKeys(layer, q.Filter)
	if err != nil {
		return "", nil, err
	}
	for _, k := range keys {
		conds = append(conds, k+" = ?")
		args = append(args, q.Filter[k])
	}
	if col := data.TimeProperty(layer); col != "" && q.Time != nil {
		// strftime gives any SQLite time text (GDAL's, QGIS's, an offset)
		// in timeFormat, wangge's own, whose text order is time order for
		// the years 0000–9999 SQLite knows; a value it cannot read is NULL
		// and matches nothing. Stored times have milliseconds: a start
		// between two rounds up, an end down.
		norm := `strftime('%Y-%m-%dT%H:%M:%fZ', ` + col + `)`
		first, past := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		switch t := q.Time.Start; {
		case t.IsZero() || t.Before(first):
		case !t.Before(past):
			conds = append(conds, "0")
		default:
			if ms := t.Truncate(time.Millisecond); !ms.Equal(t) {
				t = ms.Add(time.Millisecond)
			}
			conds = append(conds, norm+" >= ?")
			args = append(args, t.UTC().Format(timeFormat))
		}
		switch t := q.Time.End; {
		case t.IsZero() || !t.Before(past):
		case t.Before(first):
			conds = append(conds, "0")
		default:
			conds = append(conds, norm+" <= ?")
			args = append(args, t.UTC().Truncate(time.Millisecond).Format(timeFormat))
		}
	}
	if q.Where != nil {
		// A CQL2 filter (filter.go): every literal a bound argument.
		cond, err := filterSQL(layer, q.Where, func(v any) string {
			args = append(args, v)
			return "?"
		})
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, cond)
	}
	if q.AfterFID > 0 {
		conds = append(conds, "fid > ?")
		args = append(args, q.AfterFID)
	}
	if len(conds) == 0 {
		return join, nil, nil
	}
	return join + " WHERE " + strings.Join(conds, " AND "), args, nil
}

// Items returns one page of a layer, ordered by fid.
func (s *Store) Items(ctx context.Context, layer data.Layer, q data.Query) (data.Page, error) {
	if err := data.CheckLayer(layer); err != nil {
		return data.Page{}, err
	}
	w, args, err := where(layer, q)
	if err != nil {
		return data.Page{}, err
	}
	page := data.Page{Matched: -1}
	if !q.NoCount {
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+string(layer)+w, args...).Scan(&page.Matched); err != nil {
			return data.Page{}, mapErr(err, "count %s", layer)
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	query := fmt.Sprintf(`SELECT %s FROM %s%s ORDER BY fid LIMIT ? OFFSET ?`, data.FeatureColumns(layer), layer, w)
	rows, err := s.db.QueryContext(ctx, query, append(args, limit, q.Offset)...)
	if err != nil {
		return data.Page{}, mapErr(err, "query %s", layer)
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scanFeature(rows, layer)
		if err != nil {
			return data.Page{}, err
		}
		page.Features = append(page.Features, f)
	}
	return page, mapErr(rows.Err(), "query %s", layer)
}

// Item returns one feature by fid.
func (s *Store) Item(ctx context.Context, layer data.Layer, fid int64) (data.Feature, error) {
	if err := data.CheckLayer(layer); err != nil {
		return data.Feature{}, err
	}
	w, args, _ := where(layer, data.Query{})
	if w == "" {
		w = " WHERE fid = ?"
	} else {
		w += " AND fid = ?"
	}
	query := fmt.Sprintf(`SELECT %s FROM %s%s`, data.FeatureColumns(layer), layer, w)
	rows, err := s.db.QueryContext(ctx, query, append(args, fid)...)
	if err != nil {
		return data.Feature{}, mapErr(err, "query %s", layer)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return data.Feature{}, mapErr(err, "query %s", layer)
		}
		return data.Feature{}, data.Errorf(data.ENOTFOUND, "no feature %d in %s", fid, layer)
	}
	return scanFeature(rows, layer)
}

// scanFeature reads a row of data.FeatureColumns(layer). Times are the
// text the file holds: GDAL and QGIS may write them in other forms than
// wangge's.
func scanFeature(rows *sql.Rows, layer data.Layer) (data.Feature, error) {
	scan := func(dest ...any) error { return mapErr(rows.Scan(dest...), "scan %s", layer) }
	return data.ScanFeature(layer, scan, decodeGeom, true)
}

// Count returns the number of features in a layer (published grids only).
func (s *Store) Count(ctx context.Context, layer data.Layer) (int, error) {
	if err := data.CheckLayer(layer); err != nil {
		return 0, err
	}
	w, args, _ := where(layer, data.Query{})
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+string(layer)+w, args...).Scan(&n)
	return n, mapErr(err, "count %s", layer)
}

// Extent returns the bound of a layer as recorded in gpkg_contents.
func (s *Store) Extent(ctx context.Context, layer data.Layer) (orb.Bound, bool, error) {
	if err := data.CheckLayer(layer); err != nil {
		return orb.Bound{}, false, err
	}
	var minx, miny, maxx, maxy sql.NullFloat64
	query, args := `SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?`, []any{string(layer)}
	if layer == data.LayerGrids {
		// gpkg_contents holds the extent of every stored plan's grids,
		// which is what GDAL should see; the grids collection is the
		// published plan's alone.
		query, args = `SELECT min(r.minx), min(r.miny), max(r.maxx), max(r.maxy) FROM rtree_grids_geom r JOIN grids g ON g.fid = r.id
			WHERE g.plan_id = (SELECT id FROM plans WHERE published = 1)`, nil
	}
	err := s.db.QueryRowContext(ctx, query, args...).Scan(&minx, &miny, &maxx, &maxy)
	if err != nil {
		return orb.Bound{}, false, mapErr(err, "extent of %s", layer)
	}
	if !minx.Valid {
		return orb.Bound{}, false, nil
	}
	return orb.Bound{Min: orb.Point{minx.Float64, miny.Float64}, Max: orb.Point{maxx.Float64, maxy.Float64}}, true, nil
}

// Areas returns every area, by level then code.
func (s *Store) Areas(ctx context.Context) ([]data.Area, error) {
	return collect(ctx, s.db, "read areas", func(scan scanFunc) (data.Area, error) { return data.ScanArea(scan, geom) },
		`SELECT `+data.AreaColumns+` FROM areas ORDER BY level, code`)
}

// Hazard returns one hazard.
func (s *Store) Hazard(ctx context.Context, fid int64) (data.Hazard, error) {
	hz, err := hazards(ctx, s.db, ` WHERE fid = ?`, fid)
	return data.One(hz, err, "no hazard %d", fid)
}

// Hazards returns every hazard by fid.
func (s *Store) Hazards(ctx context.Context) ([]data.Hazard, error) { return hazards(ctx, s.db, "") }

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func hazards(ctx context.Context, db querier, where string, args ...any) ([]data.Hazard, error) {
	var out []data.Hazard
	if where == "" {
		// Every hazard: the list is made its size at once. Grown by
		// append, a million hazards were copied twice over on the way and
		// left their smaller lists behind for the collector. The count is
		// a hint: rows written meanwhile are appended all the same.
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM hazards`).Scan(&n); err != nil {
			return nil, mapErr(err, "read hazards")
		}
		out = make([]data.Hazard, 0, n)
	}
	var in interner
	return collectInto(ctx, db, "read hazards", out, func(scan scanFunc) (data.Hazard, error) {
		h, err := data.ScanHazard(scan, geom, storedTime)
		// A province's million hazards share a few dozen categories,
		// states and units: one string each, not one a row.
		h.Category, h.Status, h.Assignee, h.RespCode = in.of(h.Category), data.Status(in.of(string(h.Status))), in.of(h.Assignee), in.of(h.RespCode)
		return h, err
	}, `SELECT `+hazardColumns+` FROM hazards`+where+` ORDER BY fid`, args...)
}

// hazardColumns is data.HazardColumns with the time columns read as the
// values the file holds (storedTime): named bare, the driver would turn
// their text into a time by trying one layout after another, and
// database/sql would turn that back into text for ScanHazard, a third of
// the time of reading a province's hazards.
var hazardColumns = rawTimes(data.HazardColumns, "reported_at", "due_at", "resolved_at", "closed_at")

// rawTimes writes each of the named columns of cols as an expression
// (unary +, which changes no value), which has no declared type for the
// driver to convert by.
func rawTimes(cols string, names ...string) string {
	list := strings.Split(cols, ", ")
	for i, c := range list {
		if slices.Contains(names, c) {
			list[i] = "+" + c
		}
	}
	return strings.Join(list, ", ")
}

// storedTime reads a time column's value as the driver reads a DATETIME
// column (sqlite3.SQLiteTimestampFormats, Unix seconds or milliseconds),
// with wangge's own text (timeFormat) read directly: text in none of the
// layouts is the zero time, as the driver makes it; other values
// (REAL, BLOB) are an error, as they were when the driver's value went
// through parseTime.
func storedTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case string:
		if t, ok := parseOwnTime(v); ok {
			return t, nil
		}
		s := strings.TrimSuffix(v, "Z")
		for _, layout := range sqlite3.SQLiteTimestampFormats {
			if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
				return t, nil
			}
		}
		return time.Time{}, nil
	case int64:
		if v > 1e12 || v < -1e12 {
			return time.Unix(0, v*int64(time.Millisecond)).UTC(), nil
		}
		return time.Unix(v, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("not a time: %v (%T)", v, v)
}

// parseOwnTime reads timeFormat ("2006-01-02T15:04:05.000Z") digit by
// digit; false for any other text, and for a date or time out of range,
// which the layouts then judge.
func parseOwnTime(s string) (time.Time, bool) {
	if len(s) != len(timeFormat) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec, ms := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2), num(20, 3)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ms*int(time.Millisecond), time.UTC)
	if t.Day() != d { // 31 April and the like: time.Date would roll over
		return time.Time{}, false
	}
	return t, true
}

// interner hands out one string for equal texts, up to a few thousand
// distinct ones (beyond, texts are kept as they come).
type interner map[string]string

func (in *interner) of(s string) string {
	if s == "" {
		return s
	}
	if v, ok := (*in)[s]; ok {
		return v
	}
	if *in == nil {
		*in = interner{}
	}
	if len(*in) < 4096 {
		(*in)[s] = s
	}
	return s
}

// Camera returns one camera.
func (s *Store) Camera(ctx context.Context, fid int64) (data.Camera, error) {
	cs, err := cameras(ctx, s.db, ` WHERE fid = ?`, fid)
	return data.One(cs, err, "no camera %d", fid)
}

// Cameras returns every camera by fid.
func (s *Store) Cameras(ctx context.Context) ([]data.Camera, error) { return cameras(ctx, s.db, "") }

func cameras(ctx context.Context, db querier, where string, args ...any) ([]data.Camera, error) {
	return collect(ctx, db, "read cameras", func(scan scanFunc) (data.Camera, error) { return data.ScanCamera(scan, geom) },
		`SELECT `+data.CameraColumns+` FROM cameras`+where+` ORDER BY fid`, args...)
}

// EachHousehold streams every household point by fid.
func (s *Store) EachHousehold(ctx context.Context, fn func(data.Household) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+data.HouseholdColumns+` FROM households ORDER BY fid`)
	if err != nil {
		return mapErr(err, "read households")
	}
	defer rows.Close()
	for rows.Next() {
		h, err := data.ScanHousehold(scanner(rows, "read households"), geom)
		if err != nil {
			return err
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), "read households")
}

// geom decodes GeoPackage geometry blobs.
var geom = data.GeomDecoder(decodeGeom)

// scanFunc is a row's Scan.
type scanFunc = func(dest ...any) error

// scanner is rows.Scan with its errors mapped as reading what says.
func scanner(rows *sql.Rows, what string) scanFunc {
	return func(dest ...any) error { return mapErr(rows.Scan(dest...), "%s", what) }
}

// collect runs a query and reads each of its rows with scan; errors are
// mapped as reading what says.
func collect[T any](ctx context.Context, db querier, what string, scan func(scanFunc) (T, error), query string, args ...any) ([]T, error) {
	return collectInto(ctx, db, what, nil, scan, query, args...)
}

// collectInto is collect appending to out.
func collectInto[T any](ctx context.Context, db querier, what string, out []T, scan func(scanFunc) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err, "%s", what)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(scanner(rows, what))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err(), "%s", what)
}

// parseTime reads the time text of a DATETIME column.
func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }

// SQLite hands DATETIME columns back as RFC 3339 text through the driver,
// whatever the stored precision; time.RFC3339 parsing accepts the fraction.

// Plans lists plans without grids, newest first.
func (s *Store) Plans(ctx context.Context) ([]data.Plan, error) {
	return collect(ctx, s.db, "read plans", scanPlan, `SELECT `+data.PlanColumns+` FROM plans ORDER BY id DESC`)
}

func scanPlan(scan scanFunc) (data.Plan, error) { return data.ScanPlan(scan, parseTime) }

// Plan returns a plan with its grids.
func (s *Store) Plan(ctx context.Context, id int64) (data.Plan, error) {
	return s.plan(ctx, `id = ?`, id)
}

// PublishedPlan returns the published plan with its grids.
func (s *Store) PublishedPlan(ctx context.Context) (data.Plan, error) {
	return s.plan(ctx, `published = 1`)
}

// readTx starts a read transaction, for reads that must see one moment (a
// plan and its grids), and returns the connection it runs on and the
// function that ends it. Not db.BeginTx: the connections begin with BEGIN
// IMMEDIATE, which takes the write lock, and a reader must not wait for a
// writer (an import holds the lock for minutes). A plain BEGIN takes no
// lock until the first read, and then only a WAL snapshot.
func (s *Store) readTx(ctx context.Context) (*sql.Conn, func(), error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, `BEGIN DEFERRED`); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, func() {
		if _, err := conn.ExecContext(context.Background(), `ROLLBACK`); err != nil {
			// Never hand the pool a connection still in a transaction.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}

func (s *Store) plan(ctx context.Context, cond string, args ...any) (data.Plan, error) {
	tx, done, err := s.readTx(ctx)
	if err != nil {
		return data.Plan{}, mapErr(err, "read plan")
	}
	defer done()
	rows, err := tx.QueryContext(ctx, `SELECT `+data.PlanColumns+` FROM plans WHERE `+cond, args...)
	if err != nil {
		return data.Plan{}, mapErr(err, "read plan")
	}
	if !rows.Next() {
		rows.Close()
		if len(args) > 0 {
			return data.Plan{}, data.Errorf(data.ENOTFOUND, "no plan %v", args[0])
		}
		return data.Plan{}, data.Errorf(data.ENOTFOUND, "no plan is published")
	}
	p, err := scanPlan(scanner(rows, "read plan"))
	rows.Close()
	if err != nil {
		return data.Plan{}, err
	}
	grows, err := tx.QueryContext(ctx, `SELECT `+data.GridColumns+` FROM grids WHERE plan_id = ? ORDER BY code`, p.ID)
	if err != nil {
		return data.Plan{}, mapErr(err, "read grids")
	}
	defer grows.Close()
	for grows.Next() {
		g, err := data.ScanGrid(scanner(grows, "read grids"), p.ID, geom, decodeCells)
		if err != nil {
			return data.Plan{}, err
		}
		p.Grids = append(p.Grids, g)
	}
	return p, mapErr(grows.Err(), "read grids")
}
