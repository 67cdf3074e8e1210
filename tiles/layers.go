package tiles

import (
	"math"
	"slices"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"

	"github.com/wangge/wangge/data"
)

// Polygons is a polygon layer prepared for tiling: cut into shared arcs,
// indexed, simplified lazily per zoom. It is immutable once built and safe
// for concurrent use; build it once per change of its data.
type Polygons struct {
	ps *polySet
	// extra holds properties drawn after each feature's own, by feature
	// index (WithExtra); nil for none.
	extra [][]Prop
}

// NewPolygons prepares polygon features for tiling.
func NewPolygons(feats []PolygonFeature) *Polygons { return &Polygons{ps: newPolySet(feats)} }

// WithExtra returns the layer with extra[i] drawn after the properties of
// feature i (the features' order as given to NewPolygons), in place of any
// extra properties p had: the grids' risk level, which changes with events
// while their shapes stay. The geometry, its arcs and index are shared, so
// it costs nothing but the slice.
func (p *Polygons) WithExtra(extra [][]Prop) *Polygons {
	if p == nil {
		return nil
	}
	return &Polygons{ps: p.ps, extra: extra}
}

// Len returns the number of features.
func (p *Polygons) Len() int {
	if p == nil {
		return 0
	}
	return len(p.ps.feats)
}

// Arcs returns the number of shared arcs the features were cut into.
func (p *Polygons) Arcs() int { return len(p.ps.arcs) }

// Bound returns the lon/lat bound of the features; false when there are none.
func (p *Polygons) Bound() (orb.Bound, bool) {
	if p.Len() == 0 {
		return orb.Bound{}, false
	}
	var b orb.Bound
	for i, f := range p.ps.feats {
		if len(f.polys) == 0 {
			continue
		}
		fb := orb.Bound{Min: unproject(mpt{f.bound.Min[0], f.bound.Max[1]}), Max: unproject(mpt{f.bound.Max[0], f.bound.Min[1]})}
		if i == 0 {
			b = fb
		}
		b = b.Union(fb)
	}
	return b, true
}

// GridFeatures returns the grids of a plan as polygon features. Deviation
// is from the plan's target, in percent.
func GridFeatures(p data.Plan) []PolygonFeature {
	out := make([]PolygonFeature, 0, len(p.Grids))
	for i, g := range p.Grids {
		id := uint64(g.FID)
		if g.FID <= 0 {
			id = uint64(i + 1)
		}
		props := []Prop{{"code", String(g.Code)}, {"name", String(g.Name)}, {"parent_code", String(g.ParentCode)},
			{"households", Int(int64(g.Households))}}
		if p.Target > 0 {
			dev := 100 * float64(g.Households-p.Target) / float64(p.Target)
			props = append(props, Prop{"deviation_pct", Double(math.Round(dev*10) / 10)})
		}
		props = append(props, Prop{"area_km2", Double(math.Round(g.AreaM2/1e3) / 1e3)})
		if g.Worker != "" {
			props = append(props, Prop{"worker", String(g.Worker)})
		}
		out = append(out, PolygonFeature{ID: id, Geom: g.Geometry, Props: props})
	}
	return out
}

// AreaFeatures returns administrative areas as polygon features.
func AreaFeatures(areas []data.Area) []PolygonFeature {
	out := make([]PolygonFeature, 0, len(areas))
	for i, a := range areas {
		id := uint64(a.FID)
		if a.FID <= 0 {
			id = uint64(i + 1)
		}
		props := []Prop{{"code", String(a.Code)}, {"name", String(a.Name)}, {"level", Int(int64(a.Level))}}
		if a.NameEn != "" {
			props = append(props, Prop{"name_en", String(a.NameEn)})
		}
		if a.ParentCode != "" {
			props = append(props, Prop{"parent_code", String(a.ParentCode)})
		}
		out = append(out, PolygonFeature{ID: id, Geom: a.Geometry, Props: props})
	}
	return out
}

// render draws the features that reach into the frame into lw.
func (p *Polygons) render(lw *LayerWriter, f frame, z int, sc *scratch) {
	if p.Len() == 0 {
		return
	}
	ps := p.ps
	arcs := ps.arcsAt(z)
	sc.hits = sc.hits[:0]
	ps.index.Search(f.bound.Min, f.bound.Max, func(_, _ [2]float64, i int32) bool {
		sc.hits = append(sc.hits, i)
		return true
	})
	slices.Sort(sc.hits) // the same tile always encodes the same bytes
	for _, fi := range sc.hits {
		tf := &ps.feats[fi]
		lo, hi := f.tile(tf.bound.Min), f.tile(tf.bound.Max)
		if f.shifted() {
			// A converted feature's corners bound its converted vertices
			// only to the slope of the offset (under 2.5%) times its size.
			s := 0.05*math.Max(hi[0]-lo[0], hi[1]-lo[1]) + 1
			lo, hi = orb.Point{lo[0] - s, lo[1] - s}, orb.Point{hi[0] + s, hi[1] + s}
		}
		needClip := lo[0] < -Buffer || lo[1] < -Buffer || hi[0] > Extent+Buffer || hi[1] > Extent+Buffer
		sc.rings = sc.rings[:0]
		sc.pts = sc.pts[:0]
		for _, poly := range tf.polys {
			for ri, refs := range poly {
				start := len(sc.pts)
				sc.merc = ringAt(sc.merc[:0], refs, arcs)
				if needClip {
					ring := sc.ring[:0]
					for _, m := range sc.merc {
						ring = append(ring, f.tile(m))
					}
					ring = append(ring, ring[0])
					ring = clip.Ring(orb.Bound{Min: orb.Point{-Buffer, -Buffer}, Max: orb.Point{Extent + Buffer, Extent + Buffer}}, ring)
					sc.ring = ring[:0]
					if len(ring) > 0 {
						ring = ring[:len(ring)-1]
					}
					for _, q := range ring {
						sc.pts = appendDistinct(sc.pts, start, f.quantize(q))
					}
				} else {
					for _, m := range sc.merc {
						sc.pts = appendDistinct(sc.pts, start, f.quantize(f.tile(m)))
					}
				}
				// Drop the closing duplicate the quantising may have made.
				for len(sc.pts)-start > 1 && sc.pts[start] == sc.pts[len(sc.pts)-1] {
					sc.pts = sc.pts[:len(sc.pts)-1]
				}
				a := area2(sc.pts[start:])
				if a == 0 {
					sc.pts = sc.pts[:start]
					if ri == 0 {
						break // no exterior, no holes
					}
					continue
				}
				// Exterior rings positive, holes negative (spec 4.3.4.4).
				if (ri == 0) != (a > 0) {
					slices.Reverse(sc.pts[start:])
				}
				sc.rings = append(sc.rings, [2]int{start, len(sc.pts)})
			}
		}
		if len(sc.rings) == 0 {
			continue
		}
		sc.ringPts = sc.ringPts[:0]
		for _, r := range sc.rings {
			sc.ringPts = append(sc.ringPts, sc.pts[r[0]:r[1]])
		}
		props := tf.props
		if int(fi) < len(p.extra) && len(p.extra[fi]) > 0 {
			sc.props = append(append(sc.props[:0], tf.props...), p.extra[fi]...)
			props = sc.props
		}
		lw.AddPolygon(tf.id, sc.ringPts, props)
	}
}

func appendDistinct(pts []Point, start int, p Point) []Point {
	if len(pts) > start && pts[len(pts)-1] == p {
		return pts
	}
	return append(pts, p)
}

// area2 is twice the signed area of an open ring by the surveyor's formula.
func area2(r []Point) int64 {
	if len(r) < 3 {
		return 0
	}
	var s int64
	prev := r[len(r)-1]
	for _, p := range r {
		s += int64(prev.X)*int64(p.Y) - int64(p.X)*int64(prev.Y)
		prev = p
	}
	return s
}

// scratch is per-render reusable memory.
type scratch struct {
	hits    []int32
	merc    []mpt
	ring    orb.Ring
	pts     []Point
	rings   [][2]int
	ringPts [][]Point
	props   []Prop
	one     [1]Point
}

// fmtCell formats an H3 cell as H3's usual lower-case hex string.
func fmtCell(c uint64) string { return strconv.FormatUint(c, 16) }
