package tiles

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// Polygons is a polygon layer prepared for tiling: cut into shared arcs,
// indexed, simplified lazily per zoom. It is immutable once built and safe
// for concurrent use; build it once per change of its data.
type Polygons struct{ ps *polySet }

// NewPolygons prepares polygon features for tiling.
func NewPolygons(feats []PolygonFeature) *Polygons { return &Polygons{ps: newPolySet(feats)} }

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
		lw.AddPolygon(tf.id, sc.ringPts, tf.props)
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

// pointItem is a point of a point layer, projected.
type pointItem struct {
	m   mpt
	idx int32 // into the layer's records
}

// Points is a point layer (hazards or cameras) prepared for tiling: sorted
// by mercator x, so a tile reads one slice of it. Immutable once built.
type Points struct {
	items   []pointItem
	hazards []data.Hazard
	cameras []data.Camera
	sectors [][]mpt // cameras' coverage sectors, projected, open rings
	reach   float64 // how far the farthest sector point lies from its camera, in mercator
}

// HazardPoints prepares hazards for tiling.
func HazardPoints(hz []data.Hazard) *Points {
	p := &Points{hazards: hz}
	p.items = make([]pointItem, len(hz))
	for i, h := range hz {
		p.items[i] = pointItem{m: project(h.Point), idx: int32(i)}
	}
	p.sort()
	return p
}

// CameraPoints prepares cameras, and their coverage sectors, for tiling.
func CameraPoints(cs []data.Camera) *Points {
	p := &Points{cameras: cs, sectors: make([][]mpt, len(cs))}
	p.items = make([]pointItem, len(cs))
	for i, c := range cs {
		p.items[i] = pointItem{m: project(c.Point), idx: int32(i)}
		if sec := spatial.Sector(c.Point, c.Azimuth, c.FOV, c.RangeM, max(4, int(c.FOV/10))); len(sec) > 0 {
			r := sec[0]
			ring := make([]mpt, 0, len(r))
			for _, q := range r[:len(r)-1] {
				m := project(q)
				ring = append(ring, m)
				p.reach = math.Max(p.reach, math.Max(math.Abs(m[0]-p.items[i].m[0]), math.Abs(m[1]-p.items[i].m[1])))
			}
			p.sectors[i] = ring
		}
	}
	p.sort()
	return p
}

func (p *Points) sort() {
	slices.SortFunc(p.items, func(a, b pointItem) int {
		if c := cmp.Compare(a.m[0], b.m[0]); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
}

// Len returns the number of points.
func (p *Points) Len() int {
	if p == nil {
		return 0
	}
	return len(p.items)
}

// Bound returns the lon/lat bound of the points; false when there are none.
func (p *Points) Bound() (orb.Bound, bool) {
	if p.Len() == 0 {
		return orb.Bound{}, false
	}
	b := orb.Bound{Min: p.items[0].m, Max: p.items[0].m}
	for _, it := range p.items {
		b = b.Extend(it.m)
	}
	return orb.Bound{Min: unproject(mpt{b.Min[0], b.Max[1]}), Max: unproject(mpt{b.Max[0], b.Min[1]})}, true
}

// within calls fn for each point in the mercator box, in x order.
func (p *Points) within(b orb.Bound, fn func(it pointItem)) {
	i, _ := slices.BinarySearchFunc(p.items, b.Min[0], func(it pointItem, x float64) int { return cmp.Compare(it.m[0], x) })
	for ; i < len(p.items) && p.items[i].m[0] <= b.Max[0]; i++ {
		if y := p.items[i].m[1]; y >= b.Min[1] && y <= b.Max[1] {
			fn(p.items[i])
		}
	}
}

func (p *Points) props(dst []Prop, idx int32) []Prop {
	if p.hazards != nil {
		h := &p.hazards[idx]
		return append(dst, Prop{"id", String(h.ID)}, Prop{"category", String(h.Category)}, Prop{"severity", Int(int64(h.Severity))},
			Prop{"status", String(h.Status)}, Prop{"reported_at", String(h.ReportedAt.UTC().Format(time.RFC3339))})
	}
	c := &p.cameras[idx]
	return append(dst, Prop{"id", String(c.ID)}, Prop{"azimuth", Double(c.Azimuth)}, Prop{"fov", Double(c.FOV)},
		Prop{"range_m", Double(c.RangeM)}, Prop{"status", String(c.Status)})
}

func (p *Points) fid(idx int32) uint64 {
	var fid int64
	if p.hazards != nil {
		fid = p.hazards[idx].FID
	} else {
		fid = p.cameras[idx].FID
	}
	if fid <= 0 {
		return uint64(idx) + 1
	}
	return uint64(fid)
}

// render draws the points of the frame into lw: each point from
// ClusterBelow up (with camera sectors from SectorZoom), clusters below.
func (p *Points) render(lw *LayerWriter, f frame, z int, sc *scratch) {
	if p.Len() == 0 {
		return
	}
	if z < ClusterBelow {
		p.renderClusters(lw, f, sc)
		return
	}
	if p.cameras != nil && z >= SectorZoom {
		// Sectors reach beyond their camera: search wider.
		pad := p.reach
		wide := orb.Bound{Min: orb.Point{f.bound.Min[0] - pad, f.bound.Min[1] - pad}, Max: orb.Point{f.bound.Max[0] + pad, f.bound.Max[1] + pad}}
		p.within(wide, func(it pointItem) {
			sec := p.sectors[it.idx]
			if sec == nil {
				return
			}
			sc.ring = sc.ring[:0]
			for _, m := range sec {
				sc.ring = append(sc.ring, f.tile(m))
			}
			sc.ring = append(sc.ring, sc.ring[0])
			ring := clip.Ring(orb.Bound{Min: orb.Point{-Buffer, -Buffer}, Max: orb.Point{Extent + Buffer, Extent + Buffer}}, sc.ring)
			if len(ring) < 4 {
				return
			}
			sc.pts = sc.pts[:0]
			for _, q := range ring[:len(ring)-1] {
				sc.pts = appendDistinct(sc.pts, 0, f.quantize(q))
			}
			for len(sc.pts) > 1 && sc.pts[0] == sc.pts[len(sc.pts)-1] {
				sc.pts = sc.pts[:len(sc.pts)-1]
			}
			a := area2(sc.pts)
			if a == 0 {
				return
			}
			if a < 0 {
				slices.Reverse(sc.pts)
			}
			sc.props = p.props(sc.props[:0], it.idx)
			lw.AddPolygon(p.fid(it.idx), [][]Point{sc.pts}, sc.props)
		})
	}
	p.within(f.bound, func(it pointItem) {
		q := f.quantize(f.tile(it.m))
		if !inside(q) {
			return
		}
		sc.one[0] = q
		sc.props = p.props(sc.props[:0], it.idx)
		lw.AddPoints(p.fid(it.idx), sc.one[:], sc.props)
	})
}

// cluster accumulates the points of one bin.
type cluster struct {
	sx, sy   float64
	n        int
	open     int // hazards open, cameras online
	maxSev   int
	category [8]int
}

// renderClusters draws one point per non-empty bin at the mean position of
// its points. Bins are clusterBins to a tile side, aligned to the tile, so
// the bins of the buffer are whole bins of the neighbours and agree with
// them.
func (p *Points) renderClusters(lw *LayerWriter, f frame, sc *scratch) {
	const bin = Extent / clusterBins
	const side = clusterBins + 2 // one bin of buffer each side
	var bins [side * side]cluster
	wide := orb.Bound{
		Min: orb.Point{(f.x0 - bin) / f.scale, (f.y0 - bin) / f.scale},
		Max: orb.Point{(f.x0 + Extent + bin) / f.scale, (f.y0 + Extent + bin) / f.scale},
	}
	p.within(wide, func(it pointItem) {
		t := f.tile(it.m)
		bx, by := int(math.Floor(t[0]/bin))+1, int(math.Floor(t[1]/bin))+1
		if bx < 0 || by < 0 || bx >= side || by >= side {
			return
		}
		c := &bins[by*side+bx]
		c.sx += t[0]
		c.sy += t[1]
		c.n++
		if p.hazards != nil {
			h := &p.hazards[it.idx]
			if h.Status == "open" {
				c.open++
			}
			c.maxSev = max(c.maxSev, h.Severity)
			c.category[categoryIndex(h.Category)]++
		} else if p.cameras[it.idx].Status == "online" {
			c.open++
		}
	})
	for i := range bins {
		c := &bins[i]
		if c.n == 0 {
			continue
		}
		q := Point{int32(math.Round(c.sx / float64(c.n))), int32(math.Round(c.sy / float64(c.n)))}
		if !inside(q) {
			continue
		}
		sc.one[0] = q
		sc.props = append(sc.props[:0], Prop{"count", Int(int64(c.n))})
		if p.hazards != nil {
			best := 0
			for k := range c.category {
				if c.category[k] > c.category[best] {
					best = k
				}
			}
			sc.props = append(sc.props, Prop{"open", Int(int64(c.open))}, Prop{"max_severity", Int(int64(c.maxSev))},
				Prop{"category", String(categoryName(best))})
		} else {
			sc.props = append(sc.props, Prop{"online", Int(int64(c.open))})
		}
		lw.AddPoints(0, sc.one[:], sc.props)
	}
}

func categoryIndex(c string) int {
	if i := slices.Index(data.HazardCategories, c); i >= 0 && i < 7 {
		return i
	}
	return 7
}

func categoryName(i int) string {
	if i < len(data.HazardCategories) && i < 7 {
		return data.HazardCategories[i]
	}
	return "other"
}

// fmtCell formats an H3 cell as H3's usual lower-case hex string.
func fmtCell(c uint64) string { return strconv.FormatUint(c, 16) }
