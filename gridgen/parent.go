package gridgen

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// Processing one parent area: covering it with cells, giving households
// to pieces, partitioning, and building each grid's geometry.

// parentOut is everything processParent learned about one parent.
type parentOut struct {
	pc         *parentCells
	labels     []int32 // piece → grid index within the parent
	grids      []gridOut
	parts      int
	cut        int
	areaM2     float64
	planar     float64 // planar area in degrees²
	m2PerDeg   float64 // m² per degree² at the parent's latitude
	top        float64 // northernmost latitude, for code bands
	warnings   []string
	moved      int
	baseCodes  []string        // per piece, in a redraw
	unitPieces map[int][]int32 // unit index → the pieces it overlaps
	unitFaces  map[int][]int32 // unit index → the pieces of drawn in it
	unitWhy    map[int]string  // unit index → why it is split (unitfaces.go)
	unitAlong  map[int]bool    // larger units split only along streets
	frozen     []bool          // grids a redraw locked (snap.go lockedLabels)
	meanGridM2 float64
	target     float64
	innerM     float64 // boundary between grids, metres
	innerNearM float64 // of which within NearStreetM of a street
	drawn      drawn   // what the grid polygons are drawn from (snap.go)
}

// gridOut is one grid before codes are given.
type gridOut struct {
	pieces      []int32
	hh          int
	work        int // workload units, workload.go
	geom        orb.MultiPolygon
	areaM2      float64
	perimM      float64
	planar      float64 // planar area in degrees², for the exact coverage sums
	c           orb.Point
	components  int
	heavy       bool
	constrained bool
	baseCode    string // inherited code in a redraw, "" if new
}

// processParent draws the grids of parent pi, one worker's share of
// Generate: parents are independent (grids nest in them), so each is done
// whole here and only assemble looks across them. areaM2 is the parent's
// area, already measured to order the workers. A parent whose grid
// boundaries do not close is a warning in the report, not an error: the
// rest of the plan is still good.
func (r *run) processParent(ctx context.Context, pi int, areaM2 float64, bisectSem chan struct{}) (*parentOut, error) {
	a := r.in.Parents[pi]
	pc, err := buildCells(ctx, a.Geometry, r.res, r.stageProgress(pi, stageCover))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, data.Wrap(data.EINTERNAL, err, "covering parent %q with H3 cells", a.Code)
	}
	out := &parentOut{pc: pc, areaM2: areaM2, top: a.Geometry.Bound().Max[1]}
	for _, rg := range normRings(a.Geometry) {
		out.planar += signedArea2(rg) / 2
	}
	kx, ky := spatial.EquatorMetresPerDegree(a.Geometry.Bound().Center()[1])
	out.m2PerDeg = kx * ky
	if pc.unmatched > 0 {
		out.warnings = append(out.warnings, fmt.Sprintf("parent %s: %d cell edges without a neighbour cell (possible gaps)", a.Code, pc.unmatched))
	}
	r.assignHouseholds(pi, pc)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	out.unitPieces = r.unitPieces(pc)
	if r.workload {
		r.assignWork(pc, out.unitPieces, out.m2PerDeg)
	}
	target := float64(r.in.Target)
	if k, ok := r.in.Grids[a.Code]; ok {
		total := 0
		for i := range pc.pieces {
			total += r.weightOf(&pc.pieces[i])
		}
		target = math.Max(1, float64(total)/float64(k))
	} else if r.workload {
		// As many grids as households call for, each an equal share of
		// the parent's workload.
		hh, work := 0, 0
		for _, p := range pc.pieces {
			hh += p.hh
			work += p.work
		}
		target *= workScale
		if hh > 0 {
			target *= float64(work) / float64(hh*workScale)
		}
	}
	if r.base != nil {
		out.baseCodes = r.base.pieceCodes(a.Code, pc)
	}
	want := r.in.Grids[a.Code] // 0: as many grids as the target calls for
	out.meanGridM2 = r.meanGridArea(areaM2, pc, target)
	out.target = target
	ctr := unitContraction{pieces: out.unitPieces, meanGridM2: out.meanGridM2}
	labels, constrained, parts := r.partitionParent(ctx, pc, out.baseCodes, target, want, ctr, bisectSem, r.stageProgress(pi, stagePartition))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ng := 0
	for _, l := range labels {
		ng = max(ng, int(l)+1)
	}
	out.frozen = r.lockedLabels(labels, out.baseCodes, ng)
	r.alignStreets(pc, labels, out.frozen, target)
	out.labels, out.parts = labels, parts

	out.grids = make([]gridOut, ng)
	for p, l := range labels {
		out.grids[l].pieces = append(out.grids[l].pieces, int32(p))
		out.grids[l].hh += pc.pieces[p].hh
		out.grids[l].work += pc.pieces[p].work
	}
	for l, c := range constrained {
		out.grids[l].constrained = c
	}
	for p := range pc.pieces {
		if float64(r.weightOf(&pc.pieces[p])) > target {
			out.grids[labels[p]].heavy = true
		}
	}
	for p, t := range pcEdges(pc) {
		if t > int32(p) && labels[t] != labels[p] {
			out.cut++
		}
	}
	d := r.snapToStreets(pi, out)
	out.innerM, out.innerNearM = r.innerBoundary(d.pc, d.labels)
	var gerr error
	var mu sync.Mutex
	var built atomic.Int32
	geomProg := r.stageProgress(pi, stageGeometry)
	chunked(ng, 16, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			if err := gridGeometry(d.pc, d.labels, int32(g), d.members[g], &out.grids[g]); err != nil {
				mu.Lock()
				gerr = err
				mu.Unlock()
			}
			report(geomProg, float64(built.Add(1))/float64(ng))
		}
	})
	if gerr != nil {
		out.warnings = append(out.warnings, fmt.Sprintf("parent %s: %v", a.Code, gerr))
	}
	if r.base != nil {
		r.inheritCodes(out.baseCodes, out)
	}
	report(geomProg, 1)
	return out, nil
}

// pcEdges yields (piece, neighbour) for every shared segment.
func pcEdges(pc *parentCells) func(func(int, int32) bool) {
	return func(yield func(int, int32) bool) {
		for p := range pc.pieces {
			for _, rg := range pc.pieces[p].poly {
				for _, t := range rg.tags {
					if t >= 0 && !yield(p, t) {
						return
					}
				}
			}
		}
	}
}

// assignHouseholds gives each household in the parent's cells to the piece
// containing it. Households in a cell wholly inside the parent need no test.
func (r *run) assignHouseholds(pi int, pc *parentCells) {
	ix := newEdgeIndex(normRings(r.in.Parents[pi].Geometry))
	for i0 := 0; i0 < len(pc.pieces); {
		// The pieces of one cell are consecutive.
		c := pc.pieces[i0].cell
		i1 := i0 + 1
		for i1 < len(pc.pieces) && pc.pieces[i1].cell == c {
			i1++
		}
		lo, hi1 := int32(i0), int32(i1)
		i0 = i1
		for _, hi := range r.householdsIn(c) {
			pt := r.hh[hi].Point
			best := int32(-1)
			if hi1-lo == 1 && pc.pieces[lo].full {
				best = lo
			} else {
				for id := lo; id < hi1; id++ {
					if pointInPoly(pc.pieces[id].poly, pt) {
						best = id
						break
					}
				}
				if best < 0 && ix.contains(pt) {
					// H3 put the point in this cell but the planar cell edge
					// runs a hair to the other side of it: take the nearest
					// piece.
					d := math.Inf(1)
					for id := lo; id < hi1; id++ {
						c := pc.pieces[id].c
						if dd := math.Hypot(c[0]-pt[0], c[1]-pt[1]); dd < d {
							d, best = dd, id
						}
					}
				}
			}
			if best < 0 {
				continue
			}
			if atomic.CompareAndSwapInt32(&r.owner[hi], -1, int32(pi)) {
				pc.pieces[best].hh += int(r.hh[hi].Households)
			}
		}
	}
}

// pointInPoly reports whether pt lies in a piece's polygon: the even-odd
// test of pointInRings on the rings' points, which is all a point test
// needs of a piece (its segment tags are for adjacency).
func pointInPoly(p poly, pt orb.Point) bool {
	rs := make([][]orb.Point, len(p))
	for i, rg := range p {
		rs[i] = rg.pts
	}
	return pointInRings(rs, pt)
}
