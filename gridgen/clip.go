package gridgen

import (
	"math"
	"sort"

	"github.com/paulmach/orb"
)

// This file holds the planar geometry gridgen needs: clipping a convex cell
// against a parent polygon and linking directed segments into rings. All of
// it works in lon/lat degrees treated as a plane; at cell scale (tens of
// metres) the difference to great-circle edges is far below the precision of
// the source data, and using one metric everywhere is what makes shared edges
// match exactly.
//
// Exactness rule: a point that two cells (or two grids) share must be the
// same float64 pair in both, so that unions can cancel shared segments by
// equality instead of by tolerance. Cell vertices come from one canonical
// table (see vertexTable) and every split point is computed by segIntersect,
// which orders its operands canonically so both sides get identical bits.

// seg is a directed segment.
type seg struct{ a, b orb.Point }

// lessPt orders points lexicographically by lon, then lat.
func lessPt(p, q orb.Point) bool {
	if p[0] != q[0] {
		return p[0] < q[0]
	}
	return p[1] < q[1]
}

func cross(ox, oy, ax, ay, bx, by float64) float64 {
	return (ax-ox)*(by-oy) - (ay-oy)*(bx-ox)
}

// segIntersect returns the point where segments p and q cross in their
// interiors. Touching at endpoints and collinear overlaps are not reported:
// cell vertices are irrational numbers and source coordinates are rounded
// decimals, so exact coincidences do not occur in real input.
//
// The operands are put in a canonical order first, so the result does not
// depend on which cell or which direction the caller looks from.
func segIntersect(p1, p2, q1, q2 orb.Point) (orb.Point, bool) {
	if lessPt(p2, p1) {
		p1, p2 = p2, p1
	}
	if lessPt(q2, q1) {
		q1, q2 = q2, q1
	}
	if lessPt(q1, p1) || (q1 == p1 && lessPt(q2, p2)) {
		p1, p2, q1, q2 = q1, q2, p1, p2
	}
	// Quick bbox rejection.
	if math.Max(p1[0], p2[0]) < math.Min(q1[0], q2[0]) || math.Max(q1[0], q2[0]) < math.Min(p1[0], p2[0]) ||
		math.Max(p1[1], p2[1]) < math.Min(q1[1], q2[1]) || math.Max(q1[1], q2[1]) < math.Min(p1[1], p2[1]) {
		return orb.Point{}, false
	}
	rx, ry := p2[0]-p1[0], p2[1]-p1[1]
	sx, sy := q2[0]-q1[0], q2[1]-q1[1]
	d := rx*sy - ry*sx
	if d == 0 {
		return orb.Point{}, false
	}
	qpx, qpy := q1[0]-p1[0], q1[1]-p1[1]
	t := (qpx*sy - qpy*sx) / d
	u := (qpx*ry - qpy*rx) / d
	if !(t > 0 && t < 1 && u > 0 && u < 1) {
		return orb.Point{}, false
	}
	return orb.Point{p1[0] + t*rx, p1[1] + t*ry}, true
}

// insideConvex reports whether p lies strictly inside the convex
// counter-clockwise ring r (open: no repeated last point).
func insideConvex(r []orb.Point, p orb.Point) bool {
	n := len(r)
	for i := 0; i < n; i++ {
		a, b := r[i], r[(i+1)%n]
		if cross(a[0], a[1], b[0], b[1], p[0], p[1]) <= 0 {
			return false
		}
	}
	return true
}

// pointInRings is the even-odd test of p against open rings.
func pointInRings(rings [][]orb.Point, p orb.Point) bool {
	in := false
	for _, r := range rings {
		n := len(r)
		for i, j := 0, n-1; i < n; j, i = i, i+1 {
			a, b := r[i], r[j]
			if (a[1] > p[1]) != (b[1] > p[1]) {
				x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
				if p[0] < x {
					in = !in
				}
			}
		}
	}
	return in
}

// signedArea2 is twice the planar signed area of an open ring; positive for
// counter-clockwise rings.
// Coordinates are taken relative to the first point: absolute lon/lat
// products would drown the area of a sliver in rounding noise.
func signedArea2(r []orb.Point) float64 {
	if len(r) < 3 {
		return 0
	}
	s := 0.0
	n := len(r)
	o := r[0]
	for i := 1; i < n-1; i++ {
		a, b := r[i], r[i+1]
		s += (a[0]-o[0])*(b[1]-o[1]) - (b[0]-o[0])*(a[1]-o[1])
	}
	return s
}

// edgeIndex is a bucket grid over the edges of one parent polygon, for the
// two questions clipping asks: which edges come near a cell, and is a point
// inside the parent. It is read-only once built and safe for concurrent use
// through per-goroutine queriers.
type edgeIndex struct {
	segs       []seg
	minX, minY float64
	cw, ch     float64 // bucket size
	nx, ny     int
	start      []int32 // CSR: bucket b holds items[start[b]:start[b+1]]
	items      []int32
	bound      orb.Bound
}

func newEdgeIndex(rings [][]orb.Point) *edgeIndex {
	ix := &edgeIndex{}
	b := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	for _, r := range rings {
		for i := range r {
			a, c := r[i], r[(i+1)%len(r)]
			ix.segs = append(ix.segs, seg{a, c})
			b = b.Extend(a)
		}
	}
	ix.bound = b
	n := len(ix.segs)
	// About two edges per bucket on average keeps both lookups short.
	w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	if w <= 0 {
		w = 1e-9
	}
	if h <= 0 {
		h = 1e-9
	}
	cells := math.Max(1, float64(n)/2)
	side := math.Sqrt(w * h / cells)
	ix.nx = max(1, min(1024, int(math.Ceil(w/side))))
	ix.ny = max(1, min(1024, int(math.Ceil(h/side))))
	ix.minX, ix.minY = b.Min[0], b.Min[1]
	ix.cw, ix.ch = w/float64(ix.nx), h/float64(ix.ny)
	counts := make([]int32, ix.nx*ix.ny+1)
	ix.eachBucket(func(bk int, _ int) { counts[bk+1]++ })
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	ix.start = counts
	ix.items = make([]int32, counts[len(counts)-1])
	fill := make([]int32, ix.nx*ix.ny)
	ix.eachBucket(func(bk int, s int) {
		ix.items[ix.start[bk]+fill[bk]] = int32(s)
		fill[bk]++
	})
	return ix
}

func (ix *edgeIndex) bx(x float64) int {
	return max(0, min(ix.nx-1, int((x-ix.minX)/ix.cw)))
}

func (ix *edgeIndex) by(y float64) int {
	return max(0, min(ix.ny-1, int((y-ix.minY)/ix.ch)))
}

func (ix *edgeIndex) eachBucket(fn func(bucket, seg int)) {
	for s, e := range ix.segs {
		x0, x1 := ix.bx(math.Min(e.a[0], e.b[0])), ix.bx(math.Max(e.a[0], e.b[0]))
		y0, y1 := ix.by(math.Min(e.a[1], e.b[1])), ix.by(math.Max(e.a[1], e.b[1]))
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				fn(y*ix.nx+x, s)
			}
		}
	}
}

// querier carries the per-goroutine scratch state for an edgeIndex.
type querier struct {
	ix    *edgeIndex
	stamp []uint32
	cur   uint32
	out   []int32
}

func (ix *edgeIndex) querier() *querier {
	return &querier{ix: ix, stamp: make([]uint32, len(ix.segs))}
}

// near returns the edges whose bounding boxes meet b. The slice is reused by
// the next call.
func (q *querier) near(b orb.Bound) []int32 {
	ix := q.ix
	q.out = q.out[:0]
	if b.Max[0] < ix.bound.Min[0] || b.Min[0] > ix.bound.Max[0] || b.Max[1] < ix.bound.Min[1] || b.Min[1] > ix.bound.Max[1] {
		return q.out
	}
	q.cur++
	if q.cur == 0 {
		clear(q.stamp)
		q.cur = 1
	}
	x0, x1 := ix.bx(b.Min[0]), ix.bx(b.Max[0])
	y0, y1 := ix.by(b.Min[1]), ix.by(b.Max[1])
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			bk := y*ix.nx + x
			for _, s := range ix.items[ix.start[bk]:ix.start[bk+1]] {
				if q.stamp[s] == q.cur {
					continue
				}
				q.stamp[s] = q.cur
				e := ix.segs[s]
				if math.Max(e.a[0], e.b[0]) < b.Min[0] || math.Min(e.a[0], e.b[0]) > b.Max[0] ||
					math.Max(e.a[1], e.b[1]) < b.Min[1] || math.Min(e.a[1], e.b[1]) > b.Max[1] {
					continue
				}
				q.out = append(q.out, s)
			}
		}
	}
	return q.out
}

// contains is the even-odd point-in-parent test. It casts a ray to the east
// and counts a crossing only in the bucket that holds the crossing point, so
// an edge spanning several buckets is counted once.
func (ix *edgeIndex) contains(p orb.Point) bool {
	if p[1] < ix.bound.Min[1] || p[1] > ix.bound.Max[1] || p[0] > ix.bound.Max[0] {
		return false
	}
	y := ix.by(p[1])
	in := false
	for x := ix.bx(p[0]); x < ix.nx; x++ {
		bk := y*ix.nx + x
		lo := ix.minX + float64(x)*ix.cw
		hi := lo + ix.cw
		if x == ix.nx-1 {
			hi = math.Inf(1)
		}
		if x == 0 {
			lo = math.Inf(-1)
		}
		for _, s := range ix.items[ix.start[bk]:ix.start[bk+1]] {
			e := ix.segs[s]
			if (e.a[1] > p[1]) == (e.b[1] > p[1]) {
				continue
			}
			cx := e.a[0] + (p[1]-e.a[1])*(e.b[0]-e.a[0])/(e.b[1]-e.a[1])
			if cx > p[0] && cx >= lo && cx < hi {
				in = !in
			}
		}
	}
	return in
}

// tseg is a directed segment with a tag: for cell pieces the index of the
// cell edge it lies on, or -1 on the parent boundary; for grid unions the
// neighbouring piece.
type tseg struct {
	a, b orb.Point
	tag  int32
}

// ring is an open ring of points with one tag per segment (segment i runs
// from pts[i] to pts[(i+1)%len]). Rings of cell pieces also carry the
// canonical vertex id of each point (-1 for crossings with the parent
// boundary), for link; vid is nil elsewhere.
type ring struct {
	pts  []orb.Point
	tags []int32
	vid  []int32
}

// poly is an outer counter-clockwise ring and its clockwise holes.
type poly []ring

// linkRings joins directed segments into closed rings and groups them into
// polygons (outer rings counter-clockwise, holes clockwise). Where several
// segments leave one point (two pieces touching at a vertex), it takes the
// one turning most sharply, which keeps pieces that only touch at a point
// apart. ok is false if some segment could not be closed into a ring.
func linkRings(segs []tseg) (polys []poly, ok bool) {
	ok = true
	if len(segs) == 0 {
		return nil, true
	}
	out := make(map[orb.Point][]int32, len(segs))
	for i, s := range segs {
		out[s.a] = append(out[s.a], int32(i))
	}
	used := make([]bool, len(segs))
	var rings []ring
	for i := range segs {
		if used[i] {
			continue
		}
		var r ring
		cur := int32(i)
		start := segs[i].a
		for {
			used[cur] = true
			s := segs[cur]
			r.pts = append(r.pts, s.a)
			r.tags = append(r.tags, s.tag)
			if s.b == start {
				break
			}
			next := int32(-1)
			cands := out[s.b]
			if len(cands) == 1 {
				if !used[cands[0]] {
					next = cands[0]
				}
			} else {
				back := math.Atan2(s.a[1]-s.b[1], s.a[0]-s.b[0])
				best := -1.0
				for _, c := range cands {
					if used[c] {
						continue
					}
					o := segs[c]
					ang := math.Atan2(o.b[1]-o.a[1], o.b[0]-o.a[0]) - back
					for ang < 0 {
						ang += 2 * math.Pi
					}
					for ang >= 2*math.Pi {
						ang -= 2 * math.Pi
					}
					if ang > best {
						best, next = ang, c
					}
				}
			}
			if next < 0 {
				ok = false
				r.pts = nil
				break
			}
			cur = next
		}
		if len(r.pts) >= 3 {
			rings = append(rings, r)
		}
	}
	var holes []ring
	for _, r := range rings {
		if signedArea2(r.pts) > 0 {
			polys = append(polys, poly{r})
		} else {
			holes = append(holes, r)
		}
	}
	if len(polys) == 0 {
		return nil, len(holes) == 0 && ok
	}
	for _, h := range holes {
		owner := 0
		if len(polys) > 1 {
			// A hole may touch its outer ring at a vertex, so test the
			// midpoint of its first segment, which cannot lie on another ring.
			m := orb.Point{(h.pts[0][0] + h.pts[1][0]) / 2, (h.pts[0][1] + h.pts[1][1]) / 2}
			owner = -1
			bestA := math.Inf(1)
			for pi, p := range polys {
				// The ring with the hole's first segment reversed is
				// the face inside the hole (a closed street or unit
				// outline loose inside a cell), never its owner; the
				// midpoint lies on it, so the test below cannot tell.
				if ringHasSeg(p[0].pts, h.pts[1], h.pts[0]) {
					continue
				}
				if pointInRings([][]orb.Point{p[0].pts}, m) {
					if a := signedArea2(p[0].pts); a < bestA {
						bestA, owner = a, pi
					}
				}
			}
			if owner < 0 {
				ok = false
				continue
			}
		}
		polys[owner] = append(polys[owner], h)
	}
	return polys, ok
}

// ringHasSeg reports whether the closed ring pts has the segment a–b.
func ringHasSeg(pts []orb.Point, a, b orb.Point) bool {
	for i := range pts {
		if pts[i] == a && pts[(i+1)%len(pts)] == b {
			return true
		}
	}
	return false
}

// split holds the crossing points found on one segment.
type split struct {
	t float64 // position along the segment, for sorting
	p orb.Point
}

// clipCell intersects the convex counter-clockwise cell ring hex with the
// parent indexed by q. near must be q's edges near the cell. It returns the
// pieces of the cell inside the parent, with segment tags: the index of the
// cell edge (0..len(hex)-1) or -1 for parent boundary.
func clipCell(hex []orb.Point, q *querier, near []int32) []poly {
	ix := q.ix
	n := len(hex)
	hexSplits := make([][]split, n)
	parSplits := make(map[int32][]split, len(near))
	for i := 0; i < n; i++ {
		a, b := hex[i], hex[(i+1)%n]
		dx, dy := b[0]-a[0], b[1]-a[1]
		for _, s := range near {
			e := ix.segs[s]
			x, ok := segIntersect(a, b, e.a, e.b)
			if !ok {
				continue
			}
			hexSplits[i] = append(hexSplits[i], split{(x[0]-a[0])*dx + (x[1]-a[1])*dy, x})
			ex, ey := e.b[0]-e.a[0], e.b[1]-e.a[1]
			parSplits[s] = append(parSplits[s], split{(x[0]-e.a[0])*ex + (x[1]-e.a[1])*ey, x})
		}
	}
	var segs []tseg
	in := ix.contains(hex[0])
	for i := 0; i < n; i++ {
		a, b := hex[i], hex[(i+1)%n]
		sp := hexSplits[i]
		sort.Slice(sp, func(x, y int) bool { return sp[x].t < sp[y].t })
		prev := a
		for _, s := range sp {
			if in {
				segs = append(segs, tseg{prev, s.p, int32(i)})
			}
			in = !in
			prev = s.p
		}
		if in {
			segs = append(segs, tseg{prev, b, int32(i)})
		}
	}
	for _, s := range near {
		e := ix.segs[s]
		sp := parSplits[s]
		sort.Slice(sp, func(x, y int) bool { return sp[x].t < sp[y].t })
		prev := e.a
		emit := func(p orb.Point) {
			m := orb.Point{(prev[0] + p[0]) / 2, (prev[1] + p[1]) / 2}
			if insideConvex(hex, m) {
				segs = append(segs, tseg{prev, p, -1})
			}
			prev = p
		}
		for _, x := range sp {
			emit(x.p)
		}
		emit(e.b)
	}
	polys, _ := linkRings(cancelOpposite(segs))
	return polys
}

// cancelOpposite removes pairs of equal segments running in opposite
// directions: parent parts that share an edge, seen from inside one cell.
func cancelOpposite(segs []tseg) []tseg {
	if len(segs) < 2 {
		return segs
	}
	type key struct{ a, b orb.Point }
	idx := make(map[key]int, len(segs))
	dead := make([]bool, len(segs))
	any := false
	for i, s := range segs {
		if j, ok := idx[key{s.b, s.a}]; ok && !dead[j] {
			dead[i], dead[j] = true, true
			delete(idx, key{s.b, s.a})
			any = true
			continue
		}
		idx[key{s.a, s.b}] = i
	}
	if !any {
		return segs
	}
	out := segs[:0:0]
	for i, s := range segs {
		if !dead[i] {
			out = append(out, s)
		}
	}
	return out
}
