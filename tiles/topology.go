package tiles

import (
	"math"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/simplify"
	"github.com/tidwall/rtree"
)

// Polygons that tile a region (the grids of a plan, the areas of one level)
// must stay a tiling at every zoom. Simplifying each polygon on its own
// removes different vertices on the two sides of a shared edge and opens
// slivers and gaps between neighbours. So polygons are first cut into arcs:
// maximal chains of edges between nodes, a node being a vertex where
// anything other than exactly two edges meet. An edge shared by two
// polygons lies in one arc, which both use (one of them reversed). Each arc
// is simplified once per zoom with its end points fixed, so neighbours keep
// drawing the very same line.

// mpt is a point in normalised Web Mercator: x and y in [0, 1], y down.
type mpt = orb.Point

// PolygonFeature is a polygon feature of a layer, in lon/lat.
type PolygonFeature struct {
	ID    uint64
	Geom  orb.MultiPolygon
	Props []Prop
}

// arcRef points at an arc: index i forward, ^i (negative) reversed.
type arcRef int32

// topoFeature is a feature as rings of arcs.
type topoFeature struct {
	id    uint64
	props []Prop
	bound orb.Bound // in mercator
	polys [][][]arcRef
}

// polySet is a polygon layer cut into shared arcs, with its arcs simplified
// lazily, once per zoom.
type polySet struct {
	feats []topoFeature
	arcs  [][]mpt
	index rtree.RTreeG[int32]
	zooms [MaxZoom + 1]struct {
		once sync.Once
		arcs [][]mpt
	}
}

type edgeKey [4]float64

func undirected(a, b mpt) edgeKey {
	if a[0] < b[0] || (a[0] == b[0] && a[1] < b[1]) {
		return edgeKey{a[0], a[1], b[0], b[1]}
	}
	return edgeKey{b[0], b[1], a[0], a[1]}
}

func less(a, b mpt) bool { return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1]) }

// newPolySet builds the arcs of feats. Geometry is projected to mercator
// first: equal lon/lat gives equal mercator, so sharing survives.
func newPolySet(feats []PolygonFeature) *polySet {
	ps := &polySet{}
	// Project rings: open (no repeated first point), no repeated points.
	rings := make([][][][]mpt, len(feats))
	edges := map[edgeKey]struct{}{}
	for fi, f := range feats {
		for _, poly := range f.Geom {
			var pr [][]mpt
			for _, r := range poly {
				ring := make([]mpt, 0, len(r))
				for _, p := range r {
					q := project(p)
					if len(ring) > 0 && ring[len(ring)-1] == q {
						continue
					}
					ring = append(ring, q)
				}
				for len(ring) > 1 && ring[0] == ring[len(ring)-1] {
					ring = ring[:len(ring)-1]
				}
				if len(ring) < 3 {
					continue
				}
				for i := range ring {
					edges[undirected(ring[i], ring[(i+1)%len(ring)])] = struct{}{}
				}
				pr = append(pr, ring)
			}
			if len(pr) > 0 {
				rings[fi] = append(rings[fi], pr)
			}
		}
	}
	degree := make(map[mpt]int32, len(edges))
	for e := range edges {
		degree[mpt{e[0], e[1]}]++
		degree[mpt{e[2], e[3]}]++
	}
	clear(edges)

	byFirstEdge := map[edgeKey]int32{} // directed first edge of each arc → arc
	addArc := func(chain []mpt) arcRef {
		n := len(chain)
		// The length and far end are checked too, so that input whose
		// neighbours do not share vertices exactly still draws what it says.
		if i, ok := byFirstEdge[edgeKey{chain[0][0], chain[0][1], chain[1][0], chain[1][1]}]; ok {
			if a := ps.arcs[i]; len(a) == n && a[n-1] == chain[n-1] {
				return arcRef(i)
			}
		}
		if i, ok := byFirstEdge[edgeKey{chain[n-1][0], chain[n-1][1], chain[n-2][0], chain[n-2][1]}]; ok {
			if a := ps.arcs[i]; len(a) == n && a[n-1] == chain[0] {
				return ^arcRef(i)
			}
		}
		i := int32(len(ps.arcs))
		ps.arcs = append(ps.arcs, chain)
		if _, taken := byFirstEdge[edgeKey{chain[0][0], chain[0][1], chain[1][0], chain[1][1]}]; taken {
			return arcRef(i)
		}
		byFirstEdge[edgeKey{chain[0][0], chain[0][1], chain[1][0], chain[1][1]}] = i
		return arcRef(i)
	}

	ps.feats = make([]topoFeature, len(feats))
	for fi, f := range feats {
		tf := topoFeature{id: f.ID, props: f.Props, bound: orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}}
		for _, poly := range rings[fi] {
			var tp [][]arcRef
			for _, ring := range poly {
				for _, p := range ring {
					tf.bound = tf.bound.Extend(p)
				}
				var refs []arcRef
				for _, chain := range splitRing(ring, degree) {
					refs = append(refs, addArc(chain))
				}
				tp = append(tp, refs)
			}
			tf.polys = append(tf.polys, tp)
		}
		if len(tf.polys) > 0 {
			ps.index.Insert(tf.bound.Min, tf.bound.Max, int32(fi))
		}
		ps.feats[fi] = tf
	}
	return ps
}

// splitRing cuts an open ring into chains between nodes. Each chain starts
// and ends at a node and holds at least two points. Cuts depend only on the
// points and their degrees, never on where a ring starts or which way it
// runs, so the two rings on either side of an edge cut it alike.
func splitRing(ring []mpt, degree map[mpt]int32) [][]mpt {
	n := len(ring)
	var cuts []int
	for i, p := range ring {
		if degree[p] != 2 {
			cuts = append(cuts, i)
		}
	}
	if len(cuts) == 0 {
		// A ring touching nothing else (an island, a hole and the island
		// filling it): cut at its least point.
		least := 0
		for i, p := range ring {
			if less(p, ring[least]) {
				least = i
			}
		}
		cuts = []int{least}
	}
	var chains [][]mpt
	for k, start := range cuts {
		end := cuts[(k+1)%len(cuts)]
		if end <= start {
			end += n
		}
		chain := make([]mpt, 0, end-start+1)
		for i := start; i <= end; i++ {
			chain = append(chain, ring[i%n])
		}
		chains = append(chains, splitLoop(chain)...)
	}
	return chains
}

// splitLoop cuts a chain that ends where it starts at its point farthest
// from that end (the least such point on a tie): a loop simplified with
// both ends fixed would collapse to nothing. The cut point is found the
// same way from either direction.
func splitLoop(chain []mpt) [][]mpt {
	n := len(chain)
	if chain[0] != chain[n-1] {
		return [][]mpt{chain}
	}
	far, best := 1, -1.0
	for i := 1; i < n-1; i++ {
		d := sqDist(chain[0], chain[i])
		if d > best || (d == best && less(chain[i], chain[far])) {
			far, best = i, d
		}
	}
	return [][]mpt{chain[:far+1], chain[far:]}
}

func sqDist(a, b mpt) float64 {
	dx, dy := a[0]-b[0], a[1]-b[1]
	return dx*dx + dy*dy
}

// arcsAt returns the arcs simplified for zoom z: Douglas–Peucker with a
// tolerance of SimplifyTolerance tile units at that zoom, end points kept.
func (ps *polySet) arcsAt(z int) [][]mpt {
	if z > MaxZoom {
		z = MaxZoom
	}
	zs := &ps.zooms[z]
	zs.once.Do(func() {
		tol := SimplifyTolerance / (math.Exp2(float64(z)) * Extent)
		dp := simplify.DouglasPeucker(tol)
		zs.arcs = make([][]mpt, len(ps.arcs))
		for i, a := range ps.arcs {
			if len(a) <= 2 {
				zs.arcs[i] = a
				continue
			}
			// DouglasPeucker works in place: give it a copy.
			zs.arcs[i] = dp.LineString(append(orb.LineString(nil), a...))
		}
	})
	return zs.arcs
}

// ringAt appends the points of a ring of arcs at zoom arcs to dst, open.
func ringAt(dst []mpt, refs []arcRef, arcs [][]mpt) []mpt {
	for _, r := range refs {
		if r >= 0 {
			a := arcs[r]
			dst = append(dst, a[:len(a)-1]...)
			continue
		}
		a := arcs[^r]
		for i := len(a) - 1; i > 0; i-- {
			dst = append(dst, a[i])
		}
	}
	return dst
}
