package gridgen

import (
	"context"
	"math"
	"slices"
	"sort"

	"github.com/wangge/wangge/spatial"
)

// The parts of a parent (the connected components of its piece graph)
// and the partition of each: a grid never spans two parts.

// partsOf labels the connected components of the piece graph.
func partsOf(pc *parentCells) ([]int32, int) {
	part := make([]int32, len(pc.pieces))
	for i := range part {
		part[i] = -1
	}
	n := int32(0)
	var stack []int32
	for s := range pc.pieces {
		if part[s] >= 0 {
			continue
		}
		part[s] = n
		stack = append(stack[:0], int32(s))
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, rg := range pc.pieces[v].poly {
				for _, t := range rg.tags {
					if t >= 0 && part[t] < 0 {
						part[t] = n
						stack = append(stack, t)
					}
				}
			}
		}
		n++
	}
	return part, int(n)
}

// piecesByPart lists the pieces of each part of the parent, in piece
// order: what partitionParent partitions and CellGraphs exports, so that
// both see the same parts.
func piecesByPart(pc *parentCells) [][]int32 {
	part, nparts := partsOf(pc)
	byPart := make([][]int32, nparts)
	for p, k := range part {
		byPart[k] = append(byPart[k], int32(p))
	}
	return byPart
}

// partGraph builds the graph of the pieces vs (one part).
func partGraph(pc *parentCells, vs []int32, local []int32) *graph {
	for i, v := range vs {
		local[v] = int32(i)
	}
	// Positions in metres, so that sweeps and distances treat north and
	// east alike, in gridgen's one flat frame (spatial.EquatorMetresPerDegree).
	kx, ky := spatial.EquatorMetresPerDegree(pc.pieces[vs[0]].c[1])
	g := &graph{xadj: make([]int32, len(vs)+1), w: make([]int, len(vs)), x: make([]float64, len(vs)), y: make([]float64, len(vs))}
	for i, v := range vs {
		p := &pc.pieces[v]
		g.w[i] = p.hh
		g.x[i], g.y[i] = p.c[0]*kx, p.c[1]*ky
		start := len(g.adj)
		for _, rg := range p.poly {
			for _, t := range rg.tags {
				if t < 0 {
					continue
				}
				l := local[t]
				// Two pieces may share several segments (a cell edge split
				// by the boundary); keep one graph edge.
				if !slices.Contains(g.adj[start:], l) {
					g.adj = append(g.adj, l)
				}
			}
		}
		g.xadj[i+1] = int32(len(g.adj))
	}
	return g
}

// partitionParent partitions every part of a parent and returns the grid
// label of every piece (numbered across the parent), whether each grid is
// constrained (cannot be within ±10 % of the target) and the number of
// parts.
func (r *run) partitionParent(ctx context.Context, pc *parentCells, baseCodes []string, target float64, want int, ctr unitContraction, sem chan struct{}, prog func(float64)) ([]int32, []bool, int) {
	byPart := piecesByPart(pc)
	targets := partTargets(pc, byPart, target, want, r.weightOf)
	labels := make([]int32, len(pc.pieces))
	local := make([]int32, len(pc.pieces))
	next := int32(0)
	var constrained []bool
	// Each part's share of the stage is its share of the pieces.
	doneV := 0
	for pi, vs := range byPart {
		if ctx.Err() != nil {
			return nil, nil, 0
		}
		target := targets[pi]
		g := partGraph(pc, vs, local)
		if r.workload {
			for i, v := range vs {
				g.w[i] = pc.pieces[v].work
			}
		}
		r.setStreetWeights(pc, vs, g)
		var pp func(float64)
		if prog != nil {
			lo, span := float64(doneV)/float64(len(pc.pieces)), float64(len(vs))/float64(len(pc.pieces))
			pp = func(f float64) { prog(lo + span*f) }
		}
		doneV += len(vs)
		var res partResult
		if r.base != nil {
			res = r.redrawPart(ctx, baseCodes, vs, g, target, sem, pp)
		} else {
			res = r.partitionFresh(ctx, g, vs, local, ctr, target, sem, pp)
		}
		for i, v := range vs {
			labels[v] = next + res.labels[i]
		}
		for _, b := range res.bounds {
			constrained = append(constrained, b.lo != 0.9*target || b.hi != 1.1*target)
		}
		next += int32(res.grids)
	}
	return labels, constrained, len(byPart)
}

// partTargets gives each part of a parent its target. By default every
// part has the parent's. When the planner asked for want grids in the
// parent, they are shared among the inhabited parts in proportion to their
// households (largest remainder, at least one each), and each part's
// target is its households over its share, so the parent gets exactly want
// grids, plus one for each uninhabited part (land still needs a grid) and
// any cell heavier than its target. With fewer grids asked for than
// inhabited parts, each inhabited part gets one: a grid cannot span parts.
func partTargets(pc *parentCells, byPart [][]int32, target float64, want int, weightOf func(*piece) int) []float64 {
	targets := make([]float64, len(byPart))
	for i := range targets {
		targets[i] = target
	}
	if want <= 0 {
		return targets
	}
	hh := make([]int, len(byPart))
	var inhabited []int
	total := 0
	for i, vs := range byPart {
		for _, v := range vs {
			hh[i] += weightOf(&pc.pieces[v])
		}
		if hh[i] > 0 {
			inhabited = append(inhabited, i)
			total += hh[i]
		}
	}
	if len(inhabited) == 0 {
		return targets
	}
	share := make(map[int]int, len(inhabited))
	left := want
	if want <= len(inhabited) {
		for _, i := range inhabited {
			share[i] = 1
		}
	} else {
		type rem struct {
			part int
			frac float64
		}
		var rems []rem
		for _, i := range inhabited {
			exact := float64(want-len(inhabited)) * float64(hh[i]) / float64(total)
			share[i] = 1 + int(exact)
			left -= share[i]
			rems = append(rems, rem{i, exact - math.Floor(exact)})
		}
		sort.SliceStable(rems, func(a, b int) bool { return rems[a].frac > rems[b].frac })
		for k := 0; k < left; k++ {
			share[rems[k%len(rems)].part]++
		}
	}
	for _, i := range inhabited {
		// A hair above the mean, so that rounding households / target
		// gives the share and not one more.
		targets[i] = float64(hh[i]) / float64(share[i]) * (1 + 1e-9)
	}
	return targets
}

// imbalance is how far the grids of res that refinement may change lie
// outside their bounds, in households, summed.
func imbalance(g *graph, res partResult) float64 {
	wg := make([]float64, res.grids)
	for v, l := range res.labels {
		wg[l] += float64(g.w[v])
	}
	s := 0.0
	for l, w := range wg {
		if !res.fixed[l] {
			s += penalty(w, res.bounds[l])
		}
	}
	return s
}

// unitContraction is what partitionFresh needs to keep units whole.
type unitContraction struct {
	pieces     map[int][]int32 // unit index → pieces of the parent
	meanGridM2 float64
}

// partitionFresh partitions one part graph g (of pieces vs) from scratch:
// units small enough are contracted first (units.go), and the street
// weights give way to balance.
func (r *run) partitionFresh(ctx context.Context, g *graph, vs, local []int32, ctr unitContraction, target float64, sem chan struct{}, prog func(float64)) partResult {
	var best partResult
	bestImb := math.Inf(1)
	for _, share := range unitShares {
		var cmap []int32
		cn := 0
		if share > 0 {
			if cmap, cn = contractUnits(g, vs, local, r.units, ctr.pieces, ctr.meanGridM2, share*target); cmap == nil {
				continue
			}
		}
		var res partResult
		if cmap != nil {
			cg := contract(g, cmap, cn)
			res = r.partitionWeighted(ctx, cg, target, sem, prog)
			res.labels = project(cmap, res.labels)
		} else {
			res = r.partitionWeighted(ctx, g, target, sem, prog)
		}
		prog = nil // one progress pass; the retries are extra
		imb := imbalance(g, res)
		if imb < bestImb {
			best, bestImb = res, imb
		}
		if imb == 0 {
			break
		}
	}
	return best
}

// partitionWeighted is partitionPart, and with street weights the
// fallback to the street-free partition: street weights are a preference
// and balance is the rule, so where the partition that follows the
// streets leaves a grid out of bounds, the street-free one is drawn too
// and the better balanced one kept.
func (r *run) partitionWeighted(ctx context.Context, g *graph, target float64, sem chan struct{}, prog func(float64)) partResult {
	res := partitionPart(ctx, g, target, sem, prog)
	if g.ec != nil && imbalance(g, res) > 0 {
		plain := *g
		plain.ew, plain.ec = g.ec, nil
		if alt := partitionPart(ctx, &plain, target, sem, nil); imbalance(g, alt) < imbalance(g, res) {
			res = alt
		}
	}
	return res
}
