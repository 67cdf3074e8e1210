package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"

	"github.com/wangge/wangge/data"
)

// column is a stored attribute as OGC API Features shows it.
type column struct {
	name string
	kind byte // 's' text, 'i' integer, 'f' double, 't' timestamp (shown as RFC 3339 text)
}

// columns lists, per layer, the attributes served as feature properties, in
// the order and with the value types of data/gpkg. Grid cells are left out:
// they are for gridgen, not for maps.
var columns = map[data.Layer][]column{
	data.LayerAreas:      {{"code", 's'}, {"name", 's'}, {"name_en", 's'}, {"level", 'i'}, {"admin_level", 'i'}, {"parent_code", 's'}, {"osm_id", 's'}},
	data.LayerGrids:      {{"plan_id", 'i'}, {"code", 's'}, {"parent_code", 's'}, {"name", 's'}, {"households", 'i'}, {"area_m2", 'f'}, {"worker", 's'}},
	data.LayerHazards:    {{"source_id", 's'}, {"category", 's'}, {"severity", 'i'}, {"status", 's'}, {"reported_at", 't'}},
	data.LayerCameras:    {{"source_id", 's'}, {"azimuth", 'f'}, {"fov", 'f'}, {"range_m", 'f'}, {"status", 's'}},
	data.LayerHouseholds: {{"source_id", 's'}, {"households", 'i'}},
}

// selectList is "fid, geom, <properties>" for a layer.
func selectList(layer data.Layer) string {
	names := []string{"fid", "geom"}
	for _, c := range columns[layer] {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

// publishedOnly restricts the grids table to the published plan's grids.
const publishedOnly = `plan_id = (SELECT id FROM plans WHERE published)`

// where builds the WHERE clause of a query on a layer. Arguments are
// numbered from $1.
func where(layer data.Layer, q data.Query) (string, []any, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if layer == data.LayerGrids {
		conds = append(conds, publishedOnly)
	}
	if b := q.BBox; b != nil {
		// && narrows by the GiST index, ST_Intersects makes it exact (and
		// counts a polygon that surrounds the box, as OGC API asks). A box2d
		// cast to geometry stays valid when the box is a line or a point,
		// where ST_MakeEnvelope's degenerate polygon would intersect nothing.
		env := fmt.Sprintf(`ST_SetSRID(ST_MakeBox2D(ST_MakePoint(%s, %s), ST_MakePoint(%s, %s))::geometry, 4326)`,
			arg(b.Min[0]), arg(b.Min[1]), arg(b.Max[0]), arg(b.Max[1]))
		conds = append(conds, `geom && `+env, `ST_Intersects(geom, `+env+`)`)
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
		v := q.Filter[k]
		if kindOf(layer, k) == 'i' {
			// As in SQLite, a value that is not a whole number matches nothing
			// rather than failing the query.
			n, ok := wholeNumber(v)
			if !ok {
				conds = append(conds, "false")
				continue
			}
			conds = append(conds, k+" = "+arg(n))
			continue
		}
		conds = append(conds, k+" = "+arg(v))
	}
	if col := data.TimeProperty[layer]; col != "" && q.Time != nil {
		// timestamptz keeps microseconds and pgx sends a time.Time cut to
		// them: a start between two rounds up, so the bound stays exact.
		if t := q.Time.Start; !t.IsZero() {
			if us := t.Truncate(time.Microsecond); !us.Equal(t) {
				t = us.Add(time.Microsecond)
			}
			conds = append(conds, col+" >= "+arg(t))
		}
		if t := q.Time.End; !t.IsZero() {
			conds = append(conds, col+" <= "+arg(t.Truncate(time.Microsecond)))
		}
	}
	if q.Where != nil {
		// A CQL2 filter (filter.go): every literal a bound argument.
		cond, err := filterSQL(layer, q.Where, arg)
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, cond)
	}
	if q.AfterFID > 0 {
		conds = append(conds, "fid > "+arg(q.AfterFID))
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

func kindOf(layer data.Layer, name string) byte {
	for _, c := range columns[layer] {
		if c.name == name {
			return c.kind
		}
	}
	return 's'
}

// wholeNumber parses an integer filter value ("3", "3.0", " 3").
func wholeNumber(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// Items returns one page of a layer, ordered by fid, and the number of
// matching features; both statements go in one round trip.
func (s *Store) Items(ctx context.Context, layer data.Layer, q data.Query) (data.Page, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) (data.Page, error) { return itemsOn(ctx, db, layer, q) })
}

func itemsOn(ctx context.Context, db *pgxpool.Pool, layer data.Layer, q data.Query) (data.Page, error) {
	if _, ok := columns[layer]; !ok {
		return data.Page{}, data.Errorf(data.ENOTFOUND, "unknown layer %q", layer)
	}
	w, args, err := where(layer, q)
	if err != nil {
		return data.Page{}, err
	}
	var limit any // NULL: no limit
	if q.Limit > 0 {
		limit = q.Limit
	}
	n := len(args)
	b := &pgx.Batch{}
	if q.NoCount {
		b.Queue(`SELECT -1`)
	} else {
		b.Queue(`SELECT count(*) FROM `+string(layer)+w, args...)
	}
	b.Queue(fmt.Sprintf(`SELECT %s FROM %s%s ORDER BY fid LIMIT $%d OFFSET $%d`, selectList(layer), layer, w, n+1, n+2),
		append(slices.Clip(args), limit, max(q.Offset, 0))...)
	br := db.SendBatch(ctx, b)
	defer br.Close()
	var page data.Page
	if err := br.QueryRow().Scan(&page.Matched); err != nil {
		return data.Page{}, mapErr(ctx, err, "count %s", layer)
	}
	rows, err := br.Query()
	if err != nil {
		return data.Page{}, mapErr(ctx, err, "query %s", layer)
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scanFeature(rows, layer)
		if err != nil {
			return data.Page{}, mapErr(ctx, err, "read %s", layer)
		}
		page.Features = append(page.Features, f)
	}
	if err := rows.Err(); err != nil {
		return data.Page{}, mapErr(ctx, err, "query %s", layer)
	}
	return page, nil
}

// Item returns one feature by fid (for grids, only of the published plan).
func (s *Store) Item(ctx context.Context, layer data.Layer, fid int64) (data.Feature, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) (data.Feature, error) { return itemOn(ctx, db, layer, fid) })
}

func itemOn(ctx context.Context, db *pgxpool.Pool, layer data.Layer, fid int64) (data.Feature, error) {
	if _, ok := columns[layer]; !ok {
		return data.Feature{}, data.Errorf(data.ENOTFOUND, "unknown layer %q", layer)
	}
	cond := `fid = $1`
	if layer == data.LayerGrids {
		cond += ` AND ` + publishedOnly
	}
	rows, err := db.Query(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE %s`, selectList(layer), layer, cond), fid)
	if err != nil {
		return data.Feature{}, mapErr(ctx, err, "query %s", layer)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return data.Feature{}, mapErr(ctx, err, "query %s", layer)
		}
		return data.Feature{}, data.Errorf(data.ENOTFOUND, "no feature %d in %s", fid, layer)
	}
	f, err := scanFeature(rows, layer)
	if err != nil {
		return data.Feature{}, mapErr(ctx, err, "read %s", layer)
	}
	rows.Close()
	return f, mapErr(ctx, rows.Err(), "query %s", layer)
}

// scanFeature reads "fid, geom, <properties>" into a feature whose property
// values are int64, float64, string or nil, as data/gpkg gives them.
func scanFeature(rows pgx.Rows, layer data.Layer) (data.Feature, error) {
	cols := columns[layer]
	var f data.Feature
	var blob []byte
	dest := make([]any, 2, 2+len(cols))
	dest[0], dest[1] = &f.FID, &blob
	for _, c := range cols {
		switch c.kind {
		case 'i':
			dest = append(dest, new(*int64))
		case 'f':
			dest = append(dest, new(*float64))
		case 't':
			dest = append(dest, new(*time.Time))
		default:
			dest = append(dest, new(*string))
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return data.Feature{}, err
	}
	g, err := decodeGeom(blob)
	if err != nil {
		return data.Feature{}, fmt.Errorf("%s fid %d: %w", layer, f.FID, err)
	}
	f.Geometry = g
	f.Properties = make(map[string]any, len(cols))
	for i, c := range cols {
		var v any
		switch p := dest[2+i].(type) {
		case **int64:
			if *p != nil {
				v = **p
			}
		case **float64:
			if *p != nil {
				v = **p
			}
		case **time.Time:
			if *p != nil {
				v = (*p).UTC().Format(time.RFC3339Nano)
			}
		case **string:
			if *p != nil {
				v = **p
			}
		}
		f.Properties[c.name] = v
	}
	return f, nil
}

// Count returns the number of features in a layer (published grids only).
func (s *Store) Count(ctx context.Context, layer data.Layer) (int, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) (int, error) { return countOn(ctx, db, layer) })
}

func countOn(ctx context.Context, db *pgxpool.Pool, layer data.Layer) (int, error) {
	if _, ok := columns[layer]; !ok {
		return 0, data.Errorf(data.ENOTFOUND, "unknown layer %q", layer)
	}
	q := `SELECT count(*) FROM ` + string(layer)
	if layer == data.LayerGrids {
		q += ` WHERE ` + publishedOnly
	}
	var n int
	err := db.QueryRow(ctx, q).Scan(&n)
	return n, mapErr(ctx, err, "count %s", layer)
}

// Extent returns the bound of a layer's features (for grids, of the
// published plan, as Items serves them); false when there are none.
func (s *Store) Extent(ctx context.Context, layer data.Layer) (orb.Bound, bool, error) {
	type extent struct {
		b  orb.Bound
		ok bool
	}
	e, err := readOn(ctx, s, func(db *pgxpool.Pool) (extent, error) {
		b, ok, err := extentOn(ctx, db, layer)
		return extent{b, ok}, err
	})
	return e.b, e.ok, err
}

func extentOn(ctx context.Context, db *pgxpool.Pool, layer data.Layer) (orb.Bound, bool, error) {
	if _, ok := columns[layer]; !ok {
		return orb.Bound{}, false, data.Errorf(data.ENOTFOUND, "unknown layer %q", layer)
	}
	q := `SELECT ST_Extent(geom)::geometry FROM ` + string(layer)
	if layer == data.LayerGrids {
		q += ` WHERE ` + publishedOnly
	}
	q = `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (` + q + `) AS x(e)`
	var minx, miny, maxx, maxy *float64
	if err := db.QueryRow(ctx, q).Scan(&minx, &miny, &maxx, &maxy); err != nil {
		return orb.Bound{}, false, mapErr(ctx, err, "extent of %s", layer)
	}
	if minx == nil {
		return orb.Bound{}, false, nil
	}
	return orb.Bound{Min: orb.Point{*minx, *miny}, Max: orb.Point{*maxx, *maxy}}, true, nil
}

// decodeGeom parses the EWKB PostGIS sends.
func decodeGeom(b []byte) (orb.Geometry, error) {
	g, _, err := ewkb.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("decode geometry: %w", err)
	}
	return g, nil
}

// encodeGeom returns the EWKB of g in SRID 4326.
func encodeGeom(g orb.Geometry) ([]byte, error) {
	return ewkb.Marshal(g, 4326)
}

func decodeMultiPolygon(b []byte) (orb.MultiPolygon, error) {
	g, err := decodeGeom(b)
	if err != nil {
		return nil, err
	}
	switch g := g.(type) {
	case orb.MultiPolygon:
		return g, nil
	case orb.Polygon:
		return orb.MultiPolygon{g}, nil
	}
	return nil, fmt.Errorf("expected a polygon, found %s", g.GeoJSONType())
}

func decodePoint(b []byte) (orb.Point, error) {
	g, err := decodeGeom(b)
	if err != nil {
		return orb.Point{}, err
	}
	p, ok := g.(orb.Point)
	if !ok {
		return orb.Point{}, fmt.Errorf("expected a point, found %s", g.GeoJSONType())
	}
	return p, nil
}

// Areas returns every area, by level then code.
func (s *Store) Areas(ctx context.Context) ([]data.Area, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Area, error) { return areasOn(ctx, db) })
}

func areasOn(ctx context.Context, db *pgxpool.Pool) ([]data.Area, error) {
	rows, err := db.Query(ctx, `SELECT fid, geom, code, name, name_en, level, coalesce(admin_level, 0), coalesce(parent_code, ''), coalesce(osm_id, '')
		FROM areas ORDER BY level, code COLLATE "C"`)
	if err != nil {
		return nil, mapErr(ctx, err, "read areas")
	}
	defer rows.Close()
	var out []data.Area
	for rows.Next() {
		var a data.Area
		var blob []byte
		if err := rows.Scan(&a.FID, &blob, &a.Code, &a.Name, &a.NameEn, &a.Level, &a.AdminLevel, &a.ParentCode, &a.OSMID); err != nil {
			return nil, mapErr(ctx, err, "read areas")
		}
		if a.Geometry, err = decodeMultiPolygon(blob); err != nil {
			return nil, fmt.Errorf("postgis: area %s: %w", a.Code, err)
		}
		out = append(out, a)
	}
	return out, mapErr(ctx, rows.Err(), "read areas")
}

// Hazard returns one hazard.
func (s *Store) Hazard(ctx context.Context, fid int64) (data.Hazard, error) {
	hz, err := readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Hazard, error) { return readHazards(ctx, db, ` WHERE fid = $1`, fid) })
	if err != nil {
		return data.Hazard{}, err
	}
	if len(hz) == 0 {
		return data.Hazard{}, data.Errorf(data.ENOTFOUND, "no hazard %d", fid)
	}
	return hz[0], nil
}

// Hazards returns every hazard by fid.
func (s *Store) Hazards(ctx context.Context) ([]data.Hazard, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Hazard, error) { return readHazards(ctx, db, ` ORDER BY fid`) })
}

// querier is the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readHazards reads hazards; tail is the rest of the statement after
// FROM hazards (WHERE, ORDER BY, FOR UPDATE).
func readHazards(ctx context.Context, q querier, tail string, args ...any) ([]data.Hazard, error) {
	rows, err := q.Query(ctx, `SELECT fid, geom, source_id, category, severity, status, reported_at FROM hazards`+tail, args...)
	if err != nil {
		return nil, mapErr(ctx, err, "read hazards")
	}
	defer rows.Close()
	var out []data.Hazard
	for rows.Next() {
		var h data.Hazard
		var blob []byte
		if err := rows.Scan(&h.FID, &blob, &h.ID, &h.Category, &h.Severity, &h.Status, &h.ReportedAt); err != nil {
			return nil, mapErr(ctx, err, "read hazards")
		}
		h.ReportedAt = h.ReportedAt.UTC()
		if h.Point, err = decodePoint(blob); err != nil {
			return nil, fmt.Errorf("postgis: hazard %d: %w", h.FID, err)
		}
		out = append(out, h)
	}
	return out, mapErr(ctx, rows.Err(), "read hazards")
}

// Camera returns one camera.
func (s *Store) Camera(ctx context.Context, fid int64) (data.Camera, error) {
	cs, err := readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Camera, error) { return readCameras(ctx, db, ` WHERE fid = $1`, fid) })
	if err != nil {
		return data.Camera{}, err
	}
	if len(cs) == 0 {
		return data.Camera{}, data.Errorf(data.ENOTFOUND, "no camera %d", fid)
	}
	return cs[0], nil
}

// Cameras returns every camera by fid.
func (s *Store) Cameras(ctx context.Context) ([]data.Camera, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Camera, error) { return readCameras(ctx, db, ` ORDER BY fid`) })
}

// readCameras reads cameras, as readHazards.
func readCameras(ctx context.Context, q querier, tail string, args ...any) ([]data.Camera, error) {
	rows, err := q.Query(ctx, `SELECT fid, geom, source_id, azimuth, fov, range_m, status FROM cameras`+tail, args...)
	if err != nil {
		return nil, mapErr(ctx, err, "read cameras")
	}
	defer rows.Close()
	var out []data.Camera
	for rows.Next() {
		var c data.Camera
		var blob []byte
		if err := rows.Scan(&c.FID, &blob, &c.ID, &c.Azimuth, &c.FOV, &c.RangeM, &c.Status); err != nil {
			return nil, mapErr(ctx, err, "read cameras")
		}
		if c.Point, err = decodePoint(blob); err != nil {
			return nil, fmt.Errorf("postgis: camera %d: %w", c.FID, err)
		}
		out = append(out, c)
	}
	return out, mapErr(ctx, rows.Err(), "read cameras")
}

// EachHousehold streams every household point by fid; the rows come from
// the server as they are read, so memory stays flat.
func (s *Store) EachHousehold(ctx context.Context, fn func(data.Household) error) error {
	// Not readOn: rows already handed to fn cannot be taken back, so a
	// failure part way is the caller's to retry.
	db, _ := s.reader(ctx)
	rows, err := db.Query(ctx, `SELECT fid, geom, source_id, households FROM households ORDER BY fid`)
	if err != nil {
		return mapErr(ctx, err, "read households")
	}
	defer rows.Close()
	for rows.Next() {
		var h data.Household
		var blob []byte
		if err := rows.Scan(&h.FID, &blob, &h.ID, &h.Households); err != nil {
			return mapErr(ctx, err, "read households")
		}
		if h.Point, err = decodePoint(blob); err != nil {
			return fmt.Errorf("postgis: household %d: %w", h.FID, err)
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return mapErr(ctx, rows.Err(), "read households")
}

const planColumns = `id, created_at, target, resolution, coalesce(base_id, 0), published, report`

func scanPlan(row pgx.Row) (data.Plan, error) {
	var p data.Plan
	var report []byte
	if err := row.Scan(&p.ID, &p.CreatedAt, &p.Target, &p.Resolution, &p.BaseID, &p.Published, &report); err != nil {
		return p, err
	}
	p.CreatedAt = p.CreatedAt.UTC()
	if err := json.Unmarshal(report, &p.Report); err != nil {
		return p, fmt.Errorf("postgis: plan %d report: %w", p.ID, err)
	}
	return p, nil
}

// Plans lists plans without grids, newest first.
func (s *Store) Plans(ctx context.Context) ([]data.Plan, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Plan, error) { return plansOn(ctx, db) })
}

func plansOn(ctx context.Context, db *pgxpool.Pool) ([]data.Plan, error) {
	rows, err := db.Query(ctx, `SELECT `+planColumns+` FROM plans ORDER BY id DESC`)
	if err != nil {
		return nil, mapErr(ctx, err, "read plans")
	}
	defer rows.Close()
	var out []data.Plan
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, mapErr(ctx, err, "read plans")
		}
		out = append(out, p)
	}
	return out, mapErr(ctx, rows.Err(), "read plans")
}

// Plan returns a plan with its grids.
func (s *Store) Plan(ctx context.Context, id int64) (data.Plan, error) {
	return s.plan(ctx, `id = $1`, id)
}

// PublishedPlan returns the published plan with its grids.
func (s *Store) PublishedPlan(ctx context.Context) (data.Plan, error) {
	return s.plan(ctx, `published`)
}

func (s *Store) plan(ctx context.Context, cond string, args ...any) (data.Plan, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) (data.Plan, error) { return planOn(ctx, db, cond, args...) })
}

func planOn(ctx context.Context, db *pgxpool.Pool, cond string, args ...any) (data.Plan, error) {
	// One snapshot, so the plan and its grids are of the same moment even if
	// a publish commits in between.
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return data.Plan{}, mapErr(ctx, err, "read plan")
	}
	defer tx.Rollback(context.Background())
	p, err := scanPlan(tx.QueryRow(ctx, `SELECT `+planColumns+` FROM plans WHERE `+cond, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		if len(args) > 0 {
			return data.Plan{}, data.Errorf(data.ENOTFOUND, "no plan %v", args[0])
		}
		return data.Plan{}, data.Errorf(data.ENOTFOUND, "no plan is published")
	}
	if err != nil {
		return data.Plan{}, mapErr(ctx, err, "read plan")
	}
	rows, err := tx.Query(ctx, `SELECT fid, geom, code, parent_code, name, households, area_m2, worker, cells FROM grids WHERE plan_id = $1 ORDER BY code COLLATE "C"`, p.ID)
	if err != nil {
		return data.Plan{}, mapErr(ctx, err, "read grids")
	}
	defer rows.Close()
	for rows.Next() {
		g := data.Grid{PlanID: p.ID}
		var blob []byte
		var cells []int64
		if err := rows.Scan(&g.FID, &blob, &g.Code, &g.ParentCode, &g.Name, &g.Households, &g.AreaM2, &g.Worker, &cells); err != nil {
			return data.Plan{}, mapErr(ctx, err, "read grids")
		}
		if g.Geometry, err = decodeMultiPolygon(blob); err != nil {
			return data.Plan{}, fmt.Errorf("postgis: grid %s: %w", g.Code, err)
		}
		if len(cells) > 0 {
			g.Cells = make([]uint64, len(cells))
			for i, c := range cells {
				g.Cells[i] = uint64(c) // H3 ids use 63 bits: the sign bit is always 0
			}
		}
		p.Grids = append(p.Grids, g)
	}
	return p, mapErr(ctx, rows.Err(), "read grids")
}
