package gpkg

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// column is a stored attribute as OGC API Features shows it.
type column struct {
	name string
	kind byte // 's' text, 'i' integer, 'f' real
}

// columns lists, per layer, the attributes served as feature properties in
// this order. Grid cells are left out: they are for gridgen, not for maps.
var columns = map[data.Layer][]column{
	data.LayerAreas:      {{"code", 's'}, {"name", 's'}, {"name_en", 's'}, {"level", 'i'}, {"admin_level", 'i'}, {"parent_code", 's'}, {"osm_id", 's'}},
	data.LayerGrids:      {{"plan_id", 'i'}, {"code", 's'}, {"parent_code", 's'}, {"name", 's'}, {"households", 'i'}, {"area_m2", 'f'}, {"worker", 's'}},
	data.LayerHazards:    {{"source_id", 's'}, {"category", 's'}, {"severity", 'i'}, {"status", 's'}, {"reported_at", 's'}},
	data.LayerCameras:    {{"source_id", 's'}, {"azimuth", 'f'}, {"fov", 'f'}, {"range_m", 'f'}, {"status", 's'}},
	data.LayerHouseholds: {{"source_id", 's'}, {"households", 'i'}},
}

// Columns returns the property names of a layer's features, in order.
func Columns(layer data.Layer) []string {
	var names []string
	for _, c := range columns[layer] {
		names = append(names, c.name)
	}
	return names
}

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
	keys := make([]string, 0, len(q.Filter))
	for k := range q.Filter {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(data.Filterable[layer], k) {
			return "", nil, data.Errorf(data.EINVALID, "%s cannot be filtered by %q (filterable: %s)", layer, k, strings.Join(data.Filterable[layer], ", "))
		}
		conds = append(conds, k+" = ?")
		args = append(args, q.Filter[k])
	}
	if col := data.TimeProperty[layer]; col != "" && q.Time != nil {
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
	if _, ok := columns[layer]; !ok {
		return data.Page{}, data.Errorf(data.ENOTFOUND, "unknown layer %q", layer)
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
	query := fmt.Sprintf(`SELECT fid, geom, %s FROM %s%s ORDER BY fid LIMIT ? OFFSET ?`, strings.Join(Columns(layer), ", "), layer, w)
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
	if _, ok := columns[layer]; !ok {
		return data.Feature{}, data.Errorf(data.ENOTFOUND, "unknown layer %q", layer)
	}
	w, args, _ := where(layer, data.Query{})
	if w == "" {
		w = " WHERE fid = ?"
	} else {
		w += " AND fid = ?"
	}
	query := fmt.Sprintf(`SELECT fid, geom, %s FROM %s%s`, strings.Join(Columns(layer), ", "), layer, w)
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

func scanFeature(rows *sql.Rows, layer data.Layer) (data.Feature, error) {
	cols := columns[layer]
	var f data.Feature
	var blob []byte
	dest := []any{&f.FID, &blob}
	vals := make([]any, len(cols))
	for i, c := range cols {
		switch c.kind {
		case 'i':
			vals[i] = new(sql.NullInt64)
		case 'f':
			vals[i] = new(sql.NullFloat64)
		default:
			vals[i] = new(sql.NullString)
		}
		dest = append(dest, vals[i])
	}
	if err := rows.Scan(dest...); err != nil {
		return data.Feature{}, mapErr(err, "scan %s", layer)
	}
	g, err := decodeGeom(blob)
	if err != nil {
		return data.Feature{}, fmt.Errorf("gpkg: %s fid %d: %w", layer, f.FID, err)
	}
	f.Geometry = g
	f.Properties = make(map[string]any, len(cols))
	for i, c := range cols {
		switch v := vals[i].(type) {
		case *sql.NullInt64:
			if v.Valid {
				f.Properties[c.name] = v.Int64
			} else {
				f.Properties[c.name] = nil
			}
		case *sql.NullFloat64:
			if v.Valid {
				f.Properties[c.name] = v.Float64
			} else {
				f.Properties[c.name] = nil
			}
		case *sql.NullString:
			if v.Valid {
				f.Properties[c.name] = v.String
			} else {
				f.Properties[c.name] = nil
			}
		}
	}
	return f, nil
}

// Count returns the number of features in a layer (published grids only).
func (s *Store) Count(ctx context.Context, layer data.Layer) (int, error) {
	if _, ok := columns[layer]; !ok {
		return 0, data.Errorf(data.ENOTFOUND, "unknown layer %q", layer)
	}
	w, args, _ := where(layer, data.Query{})
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+string(layer)+w, args...).Scan(&n)
	return n, mapErr(err, "count %s", layer)
}

// Extent returns the bound of a layer as recorded in gpkg_contents.
func (s *Store) Extent(ctx context.Context, layer data.Layer) (orb.Bound, bool, error) {
	if _, ok := columns[layer]; !ok {
		return orb.Bound{}, false, data.Errorf(data.ENOTFOUND, "unknown layer %q", layer)
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
	rows, err := s.db.QueryContext(ctx, `SELECT fid, geom, code, name, name_en, level, coalesce(admin_level, 0), coalesce(parent_code, ''), coalesce(osm_id, '') FROM areas ORDER BY level, code`)
	if err != nil {
		return nil, mapErr(err, "read areas")
	}
	defer rows.Close()
	var out []data.Area
	for rows.Next() {
		var a data.Area
		var blob []byte
		if err := rows.Scan(&a.FID, &blob, &a.Code, &a.Name, &a.NameEn, &a.Level, &a.AdminLevel, &a.ParentCode, &a.OSMID); err != nil {
			return nil, mapErr(err, "read areas")
		}
		if a.Geometry, err = decodeMultiPolygon(blob); err != nil {
			return nil, fmt.Errorf("gpkg: area %s: %w", a.Code, err)
		}
		out = append(out, a)
	}
	return out, mapErr(rows.Err(), "read areas")
}

func decodeMultiPolygon(blob []byte) (orb.MultiPolygon, error) {
	g, err := decodeGeom(blob)
	if err != nil {
		return nil, err
	}
	switch g := g.(type) {
	case orb.MultiPolygon:
		return g, nil
	case orb.Polygon:
		return orb.MultiPolygon{g}, nil
	}
	return nil, fmt.Errorf("gpkg: expected a polygon, found %s", g.GeoJSONType())
}

func decodePoint(blob []byte) (orb.Point, error) {
	g, err := decodeGeom(blob)
	if err != nil {
		return orb.Point{}, err
	}
	p, ok := g.(orb.Point)
	if !ok {
		return orb.Point{}, fmt.Errorf("gpkg: expected a point, found %s", g.GeoJSONType())
	}
	return p, nil
}

// Hazard returns one hazard.
func (s *Store) Hazard(ctx context.Context, fid int64) (data.Hazard, error) {
	hz, err := hazards(ctx, s.db, ` WHERE fid = ?`, fid)
	if err != nil {
		return data.Hazard{}, err
	}
	if len(hz) == 0 {
		return data.Hazard{}, data.Errorf(data.ENOTFOUND, "no hazard %d", fid)
	}
	return hz[0], nil
}

// Hazards returns every hazard by fid.
func (s *Store) Hazards(ctx context.Context) ([]data.Hazard, error) { return hazards(ctx, s.db, "") }

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func hazards(ctx context.Context, db querier, where string, args ...any) ([]data.Hazard, error) {
	rows, err := db.QueryContext(ctx, `SELECT fid, geom, source_id, category, severity, status, reported_at FROM hazards`+where+` ORDER BY fid`, args...)
	if err != nil {
		return nil, mapErr(err, "read hazards")
	}
	defer rows.Close()
	var out []data.Hazard
	for rows.Next() {
		var h data.Hazard
		var blob []byte
		var at string
		if err := rows.Scan(&h.FID, &blob, &h.ID, &h.Category, &h.Severity, &h.Status, &at); err != nil {
			return nil, mapErr(err, "read hazards")
		}
		if h.Point, err = decodePoint(blob); err != nil {
			return nil, fmt.Errorf("gpkg: hazard %d: %w", h.FID, err)
		}
		if h.ReportedAt, err = time.Parse(time.RFC3339, at); err != nil {
			return nil, fmt.Errorf("gpkg: hazard %d: reported_at: %w", h.FID, err)
		}
		out = append(out, h)
	}
	return out, mapErr(rows.Err(), "read hazards")
}

// Camera returns one camera.
func (s *Store) Camera(ctx context.Context, fid int64) (data.Camera, error) {
	cs, err := cameras(ctx, s.db, ` WHERE fid = ?`, fid)
	if err != nil {
		return data.Camera{}, err
	}
	if len(cs) == 0 {
		return data.Camera{}, data.Errorf(data.ENOTFOUND, "no camera %d", fid)
	}
	return cs[0], nil
}

// Cameras returns every camera by fid.
func (s *Store) Cameras(ctx context.Context) ([]data.Camera, error) { return cameras(ctx, s.db, "") }

func cameras(ctx context.Context, db querier, where string, args ...any) ([]data.Camera, error) {
	rows, err := db.QueryContext(ctx, `SELECT fid, geom, source_id, azimuth, fov, range_m, status FROM cameras`+where+` ORDER BY fid`, args...)
	if err != nil {
		return nil, mapErr(err, "read cameras")
	}
	defer rows.Close()
	var out []data.Camera
	for rows.Next() {
		var c data.Camera
		var blob []byte
		if err := rows.Scan(&c.FID, &blob, &c.ID, &c.Azimuth, &c.FOV, &c.RangeM, &c.Status); err != nil {
			return nil, mapErr(err, "read cameras")
		}
		if c.Point, err = decodePoint(blob); err != nil {
			return nil, fmt.Errorf("gpkg: camera %d: %w", c.FID, err)
		}
		out = append(out, c)
	}
	return out, mapErr(rows.Err(), "read cameras")
}

// EachHousehold streams every household point by fid.
func (s *Store) EachHousehold(ctx context.Context, fn func(data.Household) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT fid, geom, source_id, households FROM households ORDER BY fid`)
	if err != nil {
		return mapErr(err, "read households")
	}
	defer rows.Close()
	for rows.Next() {
		var h data.Household
		var blob []byte
		if err := rows.Scan(&h.FID, &blob, &h.ID, &h.Households); err != nil {
			return mapErr(err, "read households")
		}
		if h.Point, err = decodePoint(blob); err != nil {
			return fmt.Errorf("gpkg: household %d: %w", h.FID, err)
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), "read households")
}

// SQLite hands DATETIME columns back as RFC 3339 text through the driver,
// whatever the stored precision; time.RFC3339 parsing accepts the fraction.

// Plans lists plans without grids, newest first.
func (s *Store) Plans(ctx context.Context) ([]data.Plan, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, created_at, target, resolution, coalesce(base_id, 0), published, report FROM plans ORDER BY id DESC`)
	if err != nil {
		return nil, mapErr(err, "read plans")
	}
	defer rows.Close()
	var out []data.Plan
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, mapErr(rows.Err(), "read plans")
}

func scanPlan(rows *sql.Rows) (data.Plan, error) {
	var p data.Plan
	var created, report string
	if err := rows.Scan(&p.ID, &created, &p.Target, &p.Resolution, &p.BaseID, &p.Published, &report); err != nil {
		return p, mapErr(err, "read plan")
	}
	var err error
	if p.CreatedAt, err = time.Parse(time.RFC3339, created); err != nil {
		return p, fmt.Errorf("gpkg: plan %d created_at: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(report), &p.Report); err != nil {
		return p, fmt.Errorf("gpkg: plan %d report: %w", p.ID, err)
	}
	return p, nil
}

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
	rows, err := tx.QueryContext(ctx, `SELECT id, created_at, target, resolution, coalesce(base_id, 0), published, report FROM plans WHERE `+cond, args...)
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
	p, err := scanPlan(rows)
	rows.Close()
	if err != nil {
		return data.Plan{}, err
	}
	grows, err := tx.QueryContext(ctx, `SELECT fid, geom, code, parent_code, name, households, area_m2, worker, cells FROM grids WHERE plan_id = ? ORDER BY code`, p.ID)
	if err != nil {
		return data.Plan{}, mapErr(err, "read grids")
	}
	defer grows.Close()
	for grows.Next() {
		g := data.Grid{PlanID: p.ID}
		var blob []byte
		var cells string
		if err := grows.Scan(&g.FID, &blob, &g.Code, &g.ParentCode, &g.Name, &g.Households, &g.AreaM2, &g.Worker, &cells); err != nil {
			return data.Plan{}, mapErr(err, "read grids")
		}
		if g.Geometry, err = decodeMultiPolygon(blob); err != nil {
			return data.Plan{}, fmt.Errorf("gpkg: grid %s: %w", g.Code, err)
		}
		if g.Cells, err = decodeCells(cells); err != nil {
			return data.Plan{}, fmt.Errorf("gpkg: grid %s: %w", g.Code, err)
		}
		p.Grids = append(p.Grids, g)
	}
	return p, mapErr(grows.Err(), "read grids")
}
