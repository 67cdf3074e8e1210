package gridgen

import (
	"math"
	"slices"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"
	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
)

// Units (issue 16, 单位覆盖): every unit belongs to one grid. A unit is
// drawn by the pieces it overlaps: the piece holding a point unit; for a
// polygon, the pieces whose centre lies in it, those holding one of its
// vertices and those its outline crosses. The faces of those pieces inside
// its outline are the unit (unitfaces.go).
//
// Before a part is partitioned from scratch, the connected pieces of each
// unit smaller than the part's mean grid (its area over the grids it will
// have) are contracted into one vertex (contract, as the coarsening
// does), so that no later step can split it: a merged vertex is a
// connected set of pieces and moves whole. Contraction stops where a
// merged vertex would weigh more than a share of the target (unitShares),
// so that balance can still be met. This is a first step: a unit it
// leaves split is made whole afterwards by the faces inside its outline
// (unitfaces.go), and the report names every unit still split. A redraw
// keeps pieces in their base grids and does not contract.

// unitInfo is a unit prepared for lookups.
type unitInfo struct {
	u      data.Unit
	mp     orb.MultiPolygon // nil for a point unit
	bound  orb.Bound
	areaM2 float64
}

func prepareUnits(units []data.Unit) []unitInfo {
	out := make([]unitInfo, 0, len(units))
	for _, u := range units {
		ui := unitInfo{u: u, bound: u.Geometry.Bound()}
		if mp, ok := u.Geometry.(orb.MultiPolygon); ok {
			ui.mp = mp
			ui.areaM2 = geo.Area(mp)
		}
		out = append(out, ui)
	}
	return out
}

// unitPieces returns, for every unit that overlaps a piece of pc, the
// pieces it overlaps, sorted; keyed by unit index.
func (r *run) unitPieces(pc *parentCells) map[int][]int32 {
	if len(r.units) == 0 || len(pc.pieces) == 0 {
		return nil
	}
	// The pieces of one cell are consecutive.
	first := map[h3.Cell]int32{}
	var pb orb.Bound
	for i := range pc.pieces {
		p := &pc.pieces[i]
		if _, ok := first[p.cell]; !ok {
			first[p.cell] = int32(i)
		}
		if i == 0 {
			pb = p.c.Bound()
		}
		pb = pb.Extend(p.c)
	}
	pb = pb.Pad(0.01)
	pbs := make([]orb.Bound, len(pc.pieces))
	for i := range pc.pieces {
		pbs[i] = orb.MultiPoint(pc.pieces[i].poly[0].pts).Bound()
	}
	pieceAt := func(pt orb.Point) int32 {
		c, err := h3.LatLngToCell(h3.LatLng{Lat: pt[1], Lng: pt[0]}, r.res)
		if err != nil {
			return -1
		}
		i, ok := first[c]
		if !ok {
			return -1
		}
		var only int32 = -1
		for j := i; j < int32(len(pc.pieces)) && pc.pieces[j].cell == c; j++ {
			if only == -1 {
				only = j
			} else {
				only = -2
			}
			if pointInPoly(pc.pieces[j].poly, pt) {
				return j
			}
		}
		if only >= 0 && pc.pieces[only].full {
			return only
		}
		return -1
	}
	out := map[int][]int32{}
	for ui := range r.units {
		u := &r.units[ui]
		if !u.bound.Intersects(pb) {
			continue
		}
		var ps []int32
		if u.mp == nil {
			if p := pieceAt(u.u.Geometry.(orb.Point)); p >= 0 {
				ps = append(ps, p)
			}
		} else {
			for i := range pc.pieces {
				if !u.bound.Intersects(pbs[i]) {
					continue
				}
				c := pc.pieces[i].c
				if u.bound.Contains(c) && planar.MultiPolygonContains(u.mp, c) || crossesOutline(&pc.pieces[i], pbs[i], u.mp) {
					ps = append(ps, int32(i))
				}
			}
			for _, poly := range u.mp {
				for _, pt := range poly[0] {
					if p := pieceAt(pt); p >= 0 {
						ps = append(ps, p)
					}
				}
			}
		}
		if len(ps) == 0 {
			continue
		}
		slices.Sort(ps)
		out[ui] = slices.Compact(ps)
	}
	return out
}

// crossesOutline reports whether an edge of unit polygon mp crosses an
// edge of piece p (bound pb) properly: the unit covers part of the piece
// though neither its centre nor a vertex of the unit lies in it (a long
// side of a unit across a row of cells).
func crossesOutline(p *piece, pb orb.Bound, mp orb.MultiPolygon) bool {
	for _, poly := range mp {
		for _, rg := range poly {
			for i := 0; i+1 < len(rg); i++ {
				a, b := rg[i], rg[i+1]
				if !pb.Intersects(orb.Bound{Min: orb.Point{math.Min(a[0], b[0]), math.Min(a[1], b[1])}, Max: orb.Point{math.Max(a[0], b[0]), math.Max(a[1], b[1])}}) {
					continue
				}
				for _, prg := range p.poly {
					n := len(prg.pts)
					for j := range n {
						if segsCrossProperly(a, b, prg.pts[j], prg.pts[(j+1)%n]) {
							return true
						}
					}
				}
			}
		}
	}
	return false
}

// segsCrossProperly reports whether segments p–q and a–b cross at a point
// inside both (touching or overlapping does not count).
func segsCrossProperly(p, q, a, b orb.Point) bool {
	d1 := cross(a[0], a[1], b[0], b[1], p[0], p[1])
	d2 := cross(a[0], a[1], b[0], b[1], q[0], q[1])
	d3 := cross(p[0], p[1], q[0], q[1], a[0], a[1])
	d4 := cross(p[0], p[1], q[0], q[1], b[0], b[1])
	return (d1 > 0 && d2 < 0 || d1 < 0 && d2 > 0) && (d3 > 0 && d4 < 0 || d3 < 0 && d4 > 0)
}

// contractUnits returns the map from the vertices of g (the pieces vs of
// one part) to the vertices of a graph where each unit small enough to
// keep whole (see above) is one vertex, and that vertex count; nil when
// nothing merges. local maps pieces to vertices of g (partGraph's).
func contractUnits(g *graph, vs []int32, local []int32, units []unitInfo, unitPieces map[int][]int32, meanGridM2, limit float64) ([]int32, int) {
	if len(unitPieces) == 0 {
		return nil, 0
	}
	inPart := map[int32]bool{}
	for _, v := range vs {
		inPart[v] = true
	}
	// Smallest units first: a small unit inside a large one is kept whole
	// before the large one's merge is refused for weight.
	ids := make([]int, 0, len(unitPieces))
	for ui, ps := range unitPieces {
		if units[ui].mp != nil && units[ui].areaM2 < meanGridM2 && len(ps) > 1 {
			ids = append(ids, ui)
		}
	}
	sort.Slice(ids, func(a, b int) bool {
		if units[ids[a]].areaM2 != units[ids[b]].areaM2 {
			return units[ids[a]].areaM2 < units[ids[b]].areaM2
		}
		return ids[a] < ids[b]
	})
	n := g.n()
	parent := make([]int32, n)
	weight := make([]int, n)
	for i := range parent {
		parent[i] = int32(i)
		weight[i] = g.w[i]
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	merged := false
	member := map[int32]bool{}
	var order []int32
	for _, ui := range ids {
		clear(member)
		order = order[:0]
		for _, p := range unitPieces[ui] {
			if inPart[p] && !member[local[p]] {
				member[local[p]] = true
				order = append(order, local[p])
			}
		}
		for _, v := range order {
			for _, u := range g.nbrs(v) {
				if !member[u] {
					continue
				}
				a, b := find(v), find(u)
				if a == b || float64(weight[a]+weight[b]) > limit {
					continue
				}
				parent[b] = a
				weight[a] += weight[b]
				merged = true
			}
		}
	}
	if !merged {
		return nil, 0
	}
	cmap := make([]int32, n)
	ids32 := make(map[int32]int32, n)
	cn := int32(0)
	for v := int32(0); v < int32(n); v++ {
		root := find(v)
		c, ok := ids32[root]
		if !ok {
			c = cn
			ids32[root] = c
			cn++
		}
		cmap[v] = c
	}
	return cmap, int(cn)
}

// unitShares are the largest shares of the target a unit kept whole may
// weigh, tried in turn: a heavy merged vertex can leave the grid around it
// too little room for balance, and balance ranks first, so a part whose
// grids miss their bounds is drawn again with lighter units kept whole,
// and last with none. It starts at 0.4, not higher: heavier merged
// vertices bend the partition away from the streets (Liechtenstein, res
// 11: 74.2 % of the inner boundary along streets from 0.75, 76.9 % from
// 0.4), and the outlines keep those units whole anyway.
var unitShares = []float64{0.4, 0.2, 0.1, 0}

// meanGridArea is the area of a parent's average grid: its area over the
// grids its households call for.
func (r *run) meanGridArea(areaM2 float64, pc *parentCells, target float64) float64 {
	hh := 0
	for i := range pc.pieces {
		hh += r.weightOf(&pc.pieces[i])
	}
	return areaM2 / math.Max(1, math.Round(float64(hh)/target))
}
