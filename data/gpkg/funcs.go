package gpkg

import (
	"github.com/mattn/go-sqlite3"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/planar"

	"github.com/wangge/wangge/data/cql2"
)

// registerFuncs adds to a connection the SQL functions the GeoPackage R-tree
// triggers call (GeoPackage 1.3 Annex F.3), and wangge's exact spatial
// tests: of a bbox, and of a CQL2 geometry literal.
// GDAL registers the same ST_ names, so files stay editable in QGIS.
func registerFuncs(c *sqlite3.SQLiteConn) error {
	env := func(pick func(orb.Bound) float64) func(any) any {
		return func(v any) any {
			b, ok := v.([]byte)
			if !ok {
				return nil
			}
			bound, ok, err := envelope(b)
			if err != nil || !ok {
				return nil
			}
			return pick(bound)
		}
	}
	funcs := map[string]any{
		"ST_MinX": env(func(b orb.Bound) float64 { return b.Min[0] }),
		"ST_MaxX": env(func(b orb.Bound) float64 { return b.Max[0] }),
		"ST_MinY": env(func(b orb.Bound) float64 { return b.Min[1] }),
		"ST_MaxY": env(func(b orb.Bound) float64 { return b.Max[1] }),
		"ST_IsEmpty": func(v any) any {
			b, ok := v.([]byte)
			if !ok {
				return nil
			}
			h, err := parseHeader(b)
			if err != nil {
				return nil
			}
			return h.empty
		},
		"wg_intersects": func(v any, minx, miny, maxx, maxy float64) bool {
			b, ok := v.([]byte)
			if !ok {
				return false
			}
			g, err := decodeGeom(b)
			if err != nil {
				return false
			}
			return intersectsBound(g, orb.Bound{Min: orb.Point{minx, miny}, Max: orb.Point{maxx, maxy}})
		},
		// S_INTERSECTS of a CQL2 filter with a geometry other than a BBOX,
		// which data/cql2 binds as WKB (filter.go).
		"wg_intersects_wkb": func(v, lit any) bool {
			b, ok := v.([]byte)
			w, ok2 := lit.([]byte)
			if !ok || !ok2 {
				return false
			}
			g, err := decodeGeom(b)
			if err != nil {
				return false
			}
			h, err := wkb.Unmarshal(w)
			if err != nil {
				return false
			}
			return cql2.Intersects(g, h)
		},
	}
	for name, f := range funcs {
		if err := c.RegisterFunc(name, f, true); err != nil {
			return err
		}
	}
	return nil
}

// intersectsBound reports whether g and the box b share at least one point,
// as OGC API Features' bbox parameter asks: a polygon that surrounds the box,
// or an edge that crosses it, both count.
func intersectsBound(g orb.Geometry, b orb.Bound) bool {
	if !g.Bound().Intersects(b) {
		return false
	}
	switch g := g.(type) {
	case orb.Point:
		return b.Contains(g)
	case orb.MultiPoint:
		for _, p := range g {
			if b.Contains(p) {
				return true
			}
		}
		return false
	case orb.Polygon:
		return polygonIntersectsBound(g, b)
	case orb.MultiPolygon:
		for _, p := range g {
			if polygonIntersectsBound(p, b) {
				return true
			}
		}
		return false
	}
	return true // other types: the envelope test above is the best we claim
}

func polygonIntersectsBound(p orb.Polygon, b orb.Bound) bool {
	if len(p) == 0 || !p.Bound().Intersects(b) {
		return false
	}
	// A vertex of the outer ring in the box.
	for _, pt := range p[0] {
		if b.Contains(pt) {
			return true
		}
	}
	// An edge of any ring crossing the box.
	for _, r := range p {
		for i := 1; i < len(r); i++ {
			if segmentIntersectsBound(r[i-1], r[i], b) {
				return true
			}
		}
	}
	// The box wholly inside the polygon (and not inside a hole): test a corner.
	return planar.PolygonContains(p, b.Min)
}

// segmentIntersectsBound clips the segment a–b to the box (Liang–Barsky).
func segmentIntersectsBound(a, c orb.Point, b orb.Bound) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := c[0]-a[0], c[1]-a[1]
	clip := func(p, q float64) bool {
		if p == 0 {
			return q >= 0
		}
		r := q / p
		if p < 0 {
			if r > t1 {
				return false
			}
			if r > t0 {
				t0 = r
			}
		} else {
			if r < t0 {
				return false
			}
			if r < t1 {
				t1 = r
			}
		}
		return true
	}
	return clip(-dx, a[0]-b.Min[0]) && clip(dx, b.Max[0]-a[0]) &&
		clip(-dy, a[1]-b.Min[1]) && clip(dy, b.Max[1]-a[1])
}
