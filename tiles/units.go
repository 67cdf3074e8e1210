package tiles

import (
	"slices"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"

	"github.com/wangge/wangge/data"
)

// UnitMinZoom is the zoom from which units are drawn: a school or a
// factory is a block of 100–300 m, a few pixels at zoom 12 and nothing
// a map can show below it.
const UnitMinZoom = 12

// Units is the units layer prepared for tiling: the units with an area as
// polygons (Polygons), those with a position only as points. Immutable
// once built and safe for concurrent use.
type Units struct {
	polys *Polygons
	pts   []unitPoint
	index rtree.RTreeG[int32]
}

type unitPoint struct {
	id    uint64
	m     mpt
	props []Prop
}

// NewUnits prepares units for tiling (id, kind, name); a unit whose
// geometry is neither a Point nor a (Multi)Polygon is left out.
func NewUnits(units []data.Unit) *Units {
	u := &Units{}
	var polys []PolygonFeature
	for i, x := range units {
		id := uint64(x.FID)
		if x.FID <= 0 {
			id = uint64(i + 1)
		}
		props := []Prop{{"id", String(x.ID)}, {"kind", String(x.Kind)}}
		if x.Name != "" {
			props = append(props, Prop{"name", String(x.Name)})
		}
		switch g := x.Geometry.(type) {
		case orb.Point:
			m := project(g)
			u.index.Insert(m, m, int32(len(u.pts)))
			u.pts = append(u.pts, unitPoint{id: id, m: m, props: props})
		case orb.MultiPolygon:
			polys = append(polys, PolygonFeature{ID: id, Geom: g, Props: props})
		case orb.Polygon:
			polys = append(polys, PolygonFeature{ID: id, Geom: orb.MultiPolygon{g}, Props: props})
		}
	}
	u.polys = NewPolygons(polys)
	return u
}

// Len returns the number of units.
func (u *Units) Len() int {
	if u == nil {
		return 0
	}
	return u.polys.Len() + len(u.pts)
}

// Bound returns the lon/lat bound of the units; false when there are none.
func (u *Units) Bound() (orb.Bound, bool) {
	if u.Len() == 0 {
		return orb.Bound{}, false
	}
	b, ok := u.polys.Bound()
	for _, p := range u.pts {
		ll := unproject(p.m)
		if !ok {
			b, ok = ll.Bound(), true
		}
		b = b.Extend(ll)
	}
	return b, ok
}

// render draws the units that reach into the frame, from UnitMinZoom up:
// polygons first, then points.
func (u *Units) render(lw *LayerWriter, f frame, z int, sc *scratch) {
	if u.Len() == 0 || z < UnitMinZoom {
		return
	}
	u.polys.render(lw, f, z, sc)
	sc.hits = sc.hits[:0]
	u.index.Search(f.bound.Min, f.bound.Max, func(_, _ [2]float64, i int32) bool {
		sc.hits = append(sc.hits, i)
		return true
	})
	slices.Sort(sc.hits)
	for _, i := range sc.hits {
		p := f.quantize(f.tile(u.pts[i].m))
		if !inside(p) {
			continue
		}
		sc.one[0] = p
		lw.AddPoints(u.pts[i].id, sc.one[:], u.pts[i].props)
	}
}
