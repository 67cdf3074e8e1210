package postgis

import (
	"context"
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
	keys, err := data.FilterKeys(layer, q.Filter)
	if err != nil {
		return "", nil, err
	}
	for _, k := range keys {
		v := q.Filter[k]
		if p, _ := data.PropertyOf(layer, k); p.Kind == data.KindInteger {
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
	if col := data.TimeProperty(layer); col != "" && q.Time != nil {
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
	if err := data.CheckLayer(layer); err != nil {
		return data.Page{}, err
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
	b.Queue(fmt.Sprintf(`SELECT %s FROM %s%s ORDER BY fid LIMIT $%d OFFSET $%d`, data.FeatureColumns(layer), layer, w, n+1, n+2),
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
	if err := data.CheckLayer(layer); err != nil {
		return data.Feature{}, err
	}
	cond := `fid = $1`
	if layer == data.LayerGrids {
		cond += ` AND ` + publishedOnly
	}
	rows, err := db.Query(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE %s`, data.FeatureColumns(layer), layer, cond), fid)
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

// scanFeature reads a row of data.FeatureColumns(layer): property values are
// int64, float64, string or nil, as data/gpkg gives them.
func scanFeature(rows pgx.Rows, layer data.Layer) (data.Feature, error) {
	return data.ScanFeature(layer, rows.Scan, decodeGeom, false)
}

// Count returns the number of features in a layer (published grids only).
func (s *Store) Count(ctx context.Context, layer data.Layer) (int, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) (int, error) { return countOn(ctx, db, layer) })
}

func countOn(ctx context.Context, db *pgxpool.Pool, layer data.Layer) (int, error) {
	if err := data.CheckLayer(layer); err != nil {
		return 0, err
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
	if err := data.CheckLayer(layer); err != nil {
		return orb.Bound{}, false, err
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

// geom decodes the EWKB PostGIS sends.
var geom = data.GeomDecoder(decodeGeom)

// scanFunc is a row's Scan.
type scanFunc = func(dest ...any) error

// scanner is rows.Scan with its errors mapped as reading what says.
func scanner(ctx context.Context, rows pgx.Rows, what string) scanFunc {
	return func(dest ...any) error { return mapErr(ctx, rows.Scan(dest...), "%s", what) }
}

// collect runs a query and reads each of its rows with scan; errors are
// mapped as reading what says.
func collect[T any](ctx context.Context, db querier, what string, scan func(scanFunc) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(ctx, err, "%s", what)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(scanner(ctx, rows, what))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, mapErr(ctx, rows.Err(), "%s", what)
}

// utc is the time PostgreSQL sent, in UTC as data/gpkg gives it.
func utc(t time.Time) (time.Time, error) { return t.UTC(), nil }

// decodeCells reads H3 cells from their bigint array: H3 ids use 63 bits,
// the sign bit is always 0.
func decodeCells(cells []int64) ([]uint64, error) {
	if len(cells) == 0 {
		return nil, nil
	}
	out := make([]uint64, len(cells))
	for i, c := range cells {
		out[i] = uint64(c)
	}
	return out, nil
}

// Areas returns every area, by level then code.
func (s *Store) Areas(ctx context.Context) ([]data.Area, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Area, error) { return areasOn(ctx, db) })
}

func areasOn(ctx context.Context, db *pgxpool.Pool) ([]data.Area, error) {
	return collect(ctx, db, "read areas", func(scan scanFunc) (data.Area, error) { return data.ScanArea(scan, geom) },
		`SELECT `+data.AreaColumns+` FROM areas ORDER BY level, code COLLATE "C"`)
}

// Hazard returns one hazard.
func (s *Store) Hazard(ctx context.Context, fid int64) (data.Hazard, error) {
	hz, err := readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Hazard, error) { return readHazards(ctx, db, ` WHERE fid = $1`, fid) })
	return data.One(hz, err, "no hazard %d", fid)
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
	return collect(ctx, q, "read hazards", func(scan scanFunc) (data.Hazard, error) { return data.ScanHazard(scan, geom, utc) },
		`SELECT `+data.HazardColumns+` FROM hazards`+tail, args...)
}

// Camera returns one camera.
func (s *Store) Camera(ctx context.Context, fid int64) (data.Camera, error) {
	cs, err := readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Camera, error) { return readCameras(ctx, db, ` WHERE fid = $1`, fid) })
	return data.One(cs, err, "no camera %d", fid)
}

// Cameras returns every camera by fid.
func (s *Store) Cameras(ctx context.Context) ([]data.Camera, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Camera, error) { return readCameras(ctx, db, ` ORDER BY fid`) })
}

// readCameras reads cameras, as readHazards.
func readCameras(ctx context.Context, q querier, tail string, args ...any) ([]data.Camera, error) {
	return collect(ctx, q, "read cameras", func(scan scanFunc) (data.Camera, error) { return data.ScanCamera(scan, geom) },
		`SELECT `+data.CameraColumns+` FROM cameras`+tail, args...)
}

// EachHousehold streams every household point by fid; the rows come from
// the server as they are read, so memory stays flat.
func (s *Store) EachHousehold(ctx context.Context, fn func(data.Household) error) error {
	// Not readOn: rows already handed to fn cannot be taken back, so a
	// failure part way is the caller's to retry.
	db, _ := s.reader(ctx)
	rows, err := db.Query(ctx, `SELECT `+data.HouseholdColumns+` FROM households ORDER BY fid`)
	if err != nil {
		return mapErr(ctx, err, "read households")
	}
	defer rows.Close()
	for rows.Next() {
		h, err := data.ScanHousehold(scanner(ctx, rows, "read households"), geom)
		if err != nil {
			return err
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return mapErr(ctx, rows.Err(), "read households")
}

// HouseholdPoints returns every household point by fid without its ids,
// what gridgen reads: the coordinates come as two numbers, and no id
// string is made for each of a province's millions of rows. One query, so
// one snapshot.
func (s *Store) HouseholdPoints(ctx context.Context) ([]data.HouseholdPoint, error) {
	db, _ := s.reader(ctx)
	rows, err := db.Query(ctx, `SELECT ST_X(geom), ST_Y(geom), households FROM households ORDER BY fid`)
	if err != nil {
		return nil, mapErr(ctx, err, "read households")
	}
	defer rows.Close()
	var out []data.HouseholdPoint
	for rows.Next() {
		var h data.HouseholdPoint
		if err := rows.Scan(&h.Point[0], &h.Point[1], &h.Households); err != nil {
			return nil, mapErr(ctx, err, "read households")
		}
		out = append(out, h)
	}
	return out, mapErr(ctx, rows.Err(), "read households")
}

func scanPlan(scan scanFunc) (data.Plan, error) { return data.ScanPlan(scan, utc) }

// Plans lists plans without grids, newest first.
func (s *Store) Plans(ctx context.Context) ([]data.Plan, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Plan, error) { return plansOn(ctx, db) })
}

func plansOn(ctx context.Context, db *pgxpool.Pool) ([]data.Plan, error) {
	return collect(ctx, db, "read plans", scanPlan, `SELECT `+data.PlanColumns+` FROM plans ORDER BY id DESC`)
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
	p, err := scanPlan(tx.QueryRow(ctx, `SELECT `+data.PlanColumns+` FROM plans WHERE `+cond, args...).Scan)
	if errors.Is(err, pgx.ErrNoRows) {
		if len(args) > 0 {
			return data.Plan{}, data.Errorf(data.ENOTFOUND, "no plan %v", args[0])
		}
		return data.Plan{}, data.Errorf(data.ENOTFOUND, "no plan is published")
	}
	if err != nil {
		return data.Plan{}, mapErr(ctx, err, "read plan")
	}
	rows, err := tx.Query(ctx, `SELECT `+data.GridColumns+` FROM grids WHERE plan_id = $1 ORDER BY code COLLATE "C"`, p.ID)
	if err != nil {
		return data.Plan{}, mapErr(ctx, err, "read grids")
	}
	defer rows.Close()
	for rows.Next() {
		g, err := data.ScanGrid(scanner(ctx, rows, "read grids"), p.ID, geom, decodeCells)
		if err != nil {
			return data.Plan{}, err
		}
		p.Grids = append(p.Grids, g)
	}
	return p, mapErr(ctx, rows.Err(), "read grids")
}
