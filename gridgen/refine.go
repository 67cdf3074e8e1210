package gridgen

import (
	"context"
	"math"
	"slices"
)

// partResult is the partition of one part graph.
type partResult struct {
	labels []int32 // grid label of every vertex, 0..grids-1
	grids  int
	heavy  []int32 // vertices heavier than the target, each a grid of its own
	bounds []bounds
	fixed  []bool // per grid: never changed by refinement (heavy cells, locked grids)
}

// boundsFor returns the acceptable grid weights for a component of weight w
// split into k grids: ±10 % of the target where the mean allows it,
// otherwise a band of the same width around the mean, which is the best any
// partition can do.
func boundsFor(w float64, k int, target float64) bounds {
	m := w / float64(k)
	if m >= 0.9*target && m <= 1.1*target {
		return bounds{0.9 * target, 1.1 * target}
	}
	return bounds{math.Max(0, m-0.1*target), m + 0.1*target}
}

// partitionPart splits a connected part graph into grids of about target
// households each.
// prog, if set, is told the fraction done.
func partitionPart(ctx context.Context, g *graph, target float64, sem chan struct{}, prog func(float64)) partResult {
	n := g.n()
	res := partResult{labels: make([]int32, n)}
	for i := range res.labels {
		res.labels[i] = -1
	}
	// A cell heavier than the target cannot share a grid without breaking
	// balance for its partner, so it is a grid of its own.
	for v := 0; v < n; v++ {
		if float64(g.w[v]) > target {
			res.labels[v] = int32(res.grids)
			res.grids++
			res.heavy = append(res.heavy, int32(v))
			res.bounds = append(res.bounds, bounds{0, math.Inf(1)})
			res.fixed = append(res.fixed, true)
		}
	}
	heavyW := make([]int, res.grids)
	for i, v := range res.heavy {
		heavyW[i] = g.w[v]
	}
	// Components of the rest.
	comp := make([]int32, n)
	for i := range comp {
		comp[i] = -1
	}
	var stack []int32
	doneV := 0
	for s := 0; s < n; s++ {
		if res.labels[s] >= 0 || comp[s] >= 0 {
			continue
		}
		var vs []int32
		W := 0
		comp[s] = int32(s)
		stack = append(stack[:0], int32(s))
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			vs = append(vs, v)
			W += g.w[v]
			for _, u := range g.nbrs(v) {
				if comp[u] < 0 && res.labels[u] < 0 {
					comp[u] = int32(s)
					stack = append(stack, u)
				}
			}
		}
		k := int(math.Round(float64(W) / target))
		if k == 0 && len(res.heavy) > 0 {
			// Too few households for a grid of its own: join the lightest
			// heavy cell it touches (it touches one, the part is connected).
			best := int32(-1)
			for _, v := range vs {
				for _, u := range g.nbrs(v) {
					if l := res.labels[u]; l >= 0 && res.fixed[l] && (best < 0 || heavyW[l] < heavyW[best]) {
						best = l
					}
				}
			}
			if best >= 0 {
				for _, v := range vs {
					res.labels[v] = best
				}
				heavyW[best] += W
				continue
			}
		}
		k = max(1, k)
		b := boundsFor(float64(W), k, target)
		var cp func(float64)
		if prog != nil {
			// Components in turn, each by its share of the vertices; the
			// last tenth is the final refinement.
			lo, span := 0.9*float64(doneV)/float64(n), 0.9*float64(len(vs))/float64(n)
			cp = func(f float64) { prog(lo + span*f) }
		}
		doneV += len(vs)
		lab, grids := splitComponent(ctx, g, vs, k, b, target, sem, cp)
		base := int32(res.grids)
		for i, v := range vs {
			res.labels[v] = base + lab[i]
		}
		for range grids {
			res.bounds = append(res.bounds, b)
			res.fixed = append(res.fixed, false)
		}
		res.grids += grids
	}
	if ctx.Err() != nil {
		return res
	}
	report(prog, 0.9)
	refine(g, res.labels, res.grids, res.bounds, res.fixed, 12, false)
	slide(g, res.labels, res.grids, res.bounds, res.fixed, slideRounds)
	// slide ends in a local optimum of single moves; a few rounds of
	// reshaping shake the boundaries out of it and slide again finds
	// savings the first could not reach (docs/BENCHMARKS.md, "Cut vs
	// gpmetis, third round").
	lloyd(g, res.labels, res.grids, res.bounds, res.fixed, shakeIters)
	slide(g, res.labels, res.grids, res.bounds, res.fixed, shakeRounds)
	report(prog, 1)
	return res
}

// splitComponent partitions the connected vertices vs of g into k grids
// within b, multilevel (coarsen.go): it returns the grid of vs[i] and the
// number of grids. prog, if set, is told the fraction done.
func splitComponent(ctx context.Context, g *graph, vs []int32, k int, b bounds, target float64, sem chan struct{}, prog func(float64)) ([]int32, int) {
	if k <= 1 {
		return make([]int32, len(vs)), 1
	}
	// When the component is the whole graph (the common case), work on g
	// itself and read the labels through vs at the end, instead of copying
	// the graph.
	sub, whole := g, len(vs) == g.n()
	if !whole {
		sub = induced(g, vs)
	}
	// A coarse vertex may weigh an eighth of a grid: heavier ones would
	// make the bounds of the bisection hard to meet. On a large graph
	// coarsening goes on until that cap stops matching from shrinking it,
	// as far as METIS goes (see bisectFloor).
	maxW := max(1, int(target/8))
	levels, extra := coarsen(sub, maxW, min(bisectPerGrid*k, max(k, bisectFloor)), emptyLevels)
	top := sub
	if len(levels) > 0 {
		top = levels[len(levels)-1].g
	}
	bsr := newBisector(ctx, top, sem)
	// Bisection is about a third of the work, the levels the rest.
	if prog != nil {
		bsr.prog = func(done int) { prog(0.3 * float64(done) / float64(k)) }
	}
	bsr.run(identity(top.n()), k, b)
	grids := int(bsr.next.Load())
	lab := bsr.labels
	bs := make([]bounds, grids)
	for i := range bs {
		bs[i] = b
	}
	var levelProg func(float64)
	if prog != nil {
		levelProg = func(f float64) { prog(0.3 + 0.7*f) }
	}
	// The two halves of the first split are reshaped and refined
	// independently, in parallel when a core is free: each sees the other's
	// grids as fixed, and works on its own copy of the labels, so neither
	// reads what the other writes. The cut between the halves is left to
	// the final refinement of partitionPart.
	k1 := int32(k / 2)
	// Distances to households, per level, for moveEmptyClumps (which runs
	// from level 2 up): computed once for both halves.
	dists := make([][]int32, len(levels)+1)
	for i := 2; i <= len(levels); i++ {
		dists[i] = householdDistance(levels[i-1].g)
	}
	inOrder := func(lab []int32) []int32 {
		if !whole {
			return lab
		}
		out := make([]int32, len(vs))
		for i, v := range vs {
			out[i] = lab[v]
		}
		return out
	}
	if grids < k || len(levels) == 0 {
		return inOrder(uncoarsen(ctx, sub, levels, extra, dists, lab, bs, make([]bool, grids), levelProg)), grids
	}
	fixedA, fixedB := make([]bool, grids), make([]bool, grids)
	for l := range grids {
		fixedA[l] = int32(l) >= k1
		fixedB[l] = int32(l) < k1
	}
	var labB []int32
	labA := slices.Clone(lab)
	done := make(chan struct{})
	select {
	case sem <- struct{}{}:
		go func() {
			defer close(done)
			defer func() { <-sem }()
			labB = uncoarsen(ctx, sub, levels, extra, dists, lab, bs, fixedB, nil)
		}()
	default:
		labB = uncoarsen(ctx, sub, levels, extra, dists, lab, bs, fixedB, nil)
		close(done)
	}
	labA = uncoarsen(ctx, sub, levels, extra, dists, labA, bs, fixedA, levelProg)
	<-done
	for v, l := range labB {
		if l >= k1 {
			labA[v] = l
		}
	}
	return inOrder(labA), grids
}

// uncoarsen carries the labels of the coarsest level down to sub, reshaping
// (lloyd), consolidating empty land (moveEmptyClumps) and refining at every
// level; the last refinement of sub is left to the caller. Grids marked in
// fixed are not touched. It returns the labels of sub.
func uncoarsen(ctx context.Context, sub *graph, levels []level, extra int, dists [][]int32, lab []int32, bs []bounds, fixed []bool, prog func(float64)) []int32 {
	grids := len(bs)
	// Each level is about twice the work of the one above it.
	levelWork, work := 0.0, 0.0
	for i := 0; i <= len(levels); i++ {
		work += float64(int(1) << i)
	}
	for i := len(levels); i >= 0; i-- {
		if ctx.Err() != nil {
			break
		}
		lg := sub
		if i > 0 {
			lg = levels[i-1].g
		}
		if i < len(levels) {
			lab = project(levels[i].cmap, lab)
		}
		// The levels that merged only empty land change little between
		// them: a few rounds of reshaping do.
		it := lloydIters
		if i > len(levels)-extra {
			it = lloydItersEmpty
		}
		lloyd(lg, lab, grids, bs, fixed, it)
		// On the finest two levels the clumps are the fringes the coarser
		// levels left, and moving them gained nothing measurable.
		if i >= 2 {
			moveEmptyClumps(lg, lab, grids, fixed, emptyRounds, emptyDepth, dists[i])
		}
		// On the levels that merged only empty land, the pairs of grids
		// also share their empty vertices along the cheapest cut
		// (emptycut.go). On every level and on the cells too it saved
		// little more on Montevideo for much more CPU (docs/BENCHMARKS.md,
		// "gridgen").
		if i >= 1 && i > len(levels)-extra {
			recutEmpty(lg, lab, grids, fixed, recutRounds, recutReach)
		}
		if i > 0 {
			refine(lg, lab, grids, bs, fixed, coarsePasses, false)
		}
		levelWork += float64(int(1) << (len(levels) - i))
		report(prog, levelWork/work)
	}
	return lab
}

// Multilevel tuning, measured on Montevideo at res 10 and 11: coarsening
// stops at bisectPerGrid vertices per grid, or at bisectFloor vertices
// where that is fewer, or earlier where the weight cap stops matching
// from shrinking the graph (at Montevideo's size it does, at about 7,400
// vertices at both resolutions). Large graphs are coarsened as far as
// METIS goes: at res 10 Montevideo has 57 cells a grid, so 100 per grid
// alone left it no level of inhabited cells, and since slide finishes it
// cut 1–2 % more so; res 11 cuts about as much either way, for less CPU
// coarser. Small parts stop at 100 per grid as before: Liechtenstein's
// municipalities (a few dozen grids each) cut more at res 11 coarsened
// to 1,024 or 2,048 vertices (4,706 and 4,672 edges against 4,612), at
// 4,096 it cost a third more CPU for 14 edges less, and coarsened to 256
// the redraw of Vaduz (TestRedrawLiechtenstein) could no longer repair
// the balance of the plan drawn so. Then up to
// emptyLevels more levels merge only empty vertices, so that the sea and
// the fields become a few large vertices the bisection and the clump moves
// can hand over whole; every level gets lloydIters rounds of reshaping,
// emptyRounds of clump moves (of empty land more than emptyDepth hops from
// households) and coarsePasses of refinement, and the empty-only levels
// recutRounds of minimum cuts of the empty vertices within recutReach hops
// of each boundary (more rounds gave the same cut; of reaches 0–6, 3 cut
// least on Montevideo, and the reach keeps the flow networks small). The
// cells get slideRounds of slide, then shakeIters of lloyd and
// shakeRounds of slide again: at res 10 slide alone stops saving after
// about 25 rounds, and the shake saves another 35–90 edges (0.3–0.7 %).
const (
	bisectPerGrid   = 100
	bisectFloor     = 4096
	emptyLevels     = 8
	lloydIters      = 10
	lloydItersEmpty = 3
	emptyRounds     = 3
	emptyDepth      = 1
	coarsePasses    = 6
	recutRounds     = 1
	recutReach      = 3
	slideRounds     = 32
	shakeIters      = 3
	shakeRounds     = 16
)

// induced returns the subgraph of g on vs, vertex i of it being vs[i].
func induced(g *graph, vs []int32) *graph {
	if len(vs) == g.n() {
		ok := true
		for i, v := range vs {
			if v != int32(i) {
				ok = false
				break
			}
		}
		if ok {
			return g
		}
	}
	local := make([]int32, g.n())
	for i := range local {
		local[i] = -1
	}
	for i, v := range vs {
		local[v] = int32(i)
	}
	s := &graph{xadj: make([]int32, len(vs)+1), w: make([]int, len(vs)), x: make([]float64, len(vs)), y: make([]float64, len(vs))}
	if g.ew != nil {
		s.ew = make([]int32, 0, len(vs)*6)
	}
	if g.ec != nil {
		s.ec = make([]int32, 0, len(vs)*6)
	}
	if g.size != nil {
		s.size = make([]int32, len(vs))
	}
	s.adj = make([]int32, 0, len(vs)*6)
	for i, v := range vs {
		s.w[i], s.x[i], s.y[i] = g.w[v], g.x[v], g.y[v]
		if g.size != nil {
			s.size[i] = g.size[v]
		}
		for j := g.xadj[v]; j < g.xadj[v+1]; j++ {
			if l := local[g.adj[j]]; l >= 0 {
				s.adj = append(s.adj, l)
				if g.ew != nil {
					s.ew = append(s.ew, g.ew[j])
				}
				if g.ec != nil {
					s.ec = append(s.ec, g.ec[j])
				}
			}
		}
		s.xadj[i+1] = int32(len(s.adj))
	}
	return s
}

func identity(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

// penalty is how far w lies outside b. (Plain comparisons: math.Max is
// not inlined and this runs for every candidate move.)
func penalty(w float64, b bounds) float64 {
	if w < b.lo {
		return b.lo - w
	}
	if w > b.hi {
		return w - b.hi
	}
	return 0
}

// refine moves boundary vertices between neighbouring grids to repair
// balance first and shorten the cut second. A vertex only leaves its grid if
// its neighbours in that grid stay connected among themselves, which keeps
// every grid connected without a global search. With stable set (a redraw)
// households only move to repair balance; empty cells may still move to
// shorten the cut.
func refine(g *graph, labels []int32, k int, bs []bounds, fixed []bool, passes int, stable bool) {
	n := g.n()
	if n == 0 {
		return
	}
	wg := make([]float64, k)
	for v := 0; v < n; v++ {
		wg[labels[v]] += float64(g.w[v])
	}
	var nl []labelEdges
	lc := newLeaveCheck(n)
	// Only boundary vertices can move; most vertices are interior, so the
	// passes look at the boundary mask and skip the neighbour scan for the
	// rest.
	bd := boundaryMask(g, labels)
	// After the first pass, a vertex's cut gain can only have changed if a
	// neighbour moved, so while every grid is within bounds (no balance
	// move is pending anywhere) only the neighbourhoods of the last pass's
	// moves are looked at again.
	active := bd
	touched := make([]bool, n)
	for pass := 0; pass < passes; pass++ {
		moved := 0
		for v := int32(0); v < int32(n); v++ {
			if !active[v] || !bd[v] {
				continue
			}
			a := labels[v]
			if fixed[a] {
				continue
			}
			var own32 int32
			own32, nl = gridEdges(g, labels, v, nl)
			own := int(own32)
			if len(nl) == 0 || own == 0 {
				continue
			}
			w := float64(g.w[v])
			bestL, bestGain, bestDPen := int32(-1), 0, 0.0
			for _, c := range nl {
				b := c.l
				if fixed[b] {
					continue
				}
				dPen := penalty(wg[a]-w, bs[a]) + penalty(wg[b]+w, bs[b]) - penalty(wg[a], bs[a]) - penalty(wg[b], bs[b])
				gain := int(c.e) - own
				better := false
				switch {
				case dPen < -1e-9:
					better = bestL < 0 || dPen < bestDPen-1e-9 || (math.Abs(dPen-bestDPen) <= 1e-9 && gain > bestGain)
				case dPen <= 1e-9 && gain > 0 && (!stable || w == 0):
					better = bestL < 0 || (bestDPen > -1e-9 && gain > bestGain)
				}
				if better {
					bestL, bestGain, bestDPen = b, gain, dPen
				}
			}
			if bestL < 0 {
				continue
			}
			if !canLeave(g, labels, v, lc) {
				continue
			}
			labels[v] = bestL
			wg[a] -= w
			wg[bestL] += w
			updateBoundary(g, labels, bd, v)
			touched[v] = true
			for _, u := range g.nbrs(v) {
				touched[u] = true
			}
			moved++
		}
		if moved == 0 {
			break
		}
		inBounds := true
		for l := range k {
			if !fixed[l] && penalty(wg[l], bs[l]) > 0 {
				inBounds = false
				break
			}
		}
		if inBounds {
			if &active[0] == &bd[0] {
				active = make([]bool, n)
			}
			active, touched = touched, active
			clear(touched)
		} else {
			for v := range touched {
				touched[v] = false
			}
			active = bd
		}
	}
}

// gridEdges returns the weight of v's edges into its own grid, and in nl
// (reused) the weight of its edges into each other grid, each grid once: a
// vertex has few neighbouring grids, so a list beats a map.
func gridEdges(g *graph, labels []int32, v int32, nl []labelEdges) (int32, []labelEdges) {
	a := labels[v]
	nl = nl[:0]
	own := int32(0)
	lo, hi := g.xadj[v], g.xadj[v+1]
	if g.ew == nil {
		// The cell graph without streets: every edge weighs 1. This
		// runs for every boundary vertex in every round of lloyd, refine
		// and slide, so the loop is kept free of the weight lookup.
		for _, u := range g.adj[lo:hi] {
			l := labels[u]
			if l == a {
				own++
				continue
			}
			found := false
			for i := range nl {
				if nl[i].l == l {
					nl[i].e++
					found = true
					break
				}
			}
			if !found {
				nl = append(nl, labelEdges{l, 1})
			}
		}
		return own, nl
	}
	for j := lo; j < hi; j++ {
		l := labels[g.adj[j]]
		e := g.ew[j]
		if l == a {
			own += e
			continue
		}
		found := false
		for i := range nl {
			if nl[i].l == l {
				nl[i].e += e
				found = true
				break
			}
		}
		if !found {
			nl = append(nl, labelEdges{l, e})
		}
	}
	return own, nl
}

// boundaryMask marks the vertices with a neighbour in another grid.
func boundaryMask(g *graph, labels []int32) []bool {
	bd := make([]bool, g.n())
	for v := int32(0); v < int32(g.n()); v++ {
		for _, u := range g.nbrs(v) {
			if labels[u] != labels[v] {
				bd[v] = true
				break
			}
		}
	}
	return bd
}

// updateBoundary refreshes the boundary mask around v after v moved.
func updateBoundary(g *graph, labels []int32, bd []bool, v int32) {
	bd[v] = true
	for _, u := range g.nbrs(v) {
		if labels[u] != labels[v] {
			bd[u] = true
			continue
		}
		b := false
		for _, t := range g.nbrs(u) {
			if labels[t] != labels[u] {
				b = true
				break
			}
		}
		bd[u] = b
	}
}

// leaveCheck is canLeave's scratch space, one per refinement: slot[u] is
// 1 + u's index among the neighbours being checked while a check runs, 0
// otherwise, so that the search among them finds a member by one lookup
// instead of a scan of the list (the check runs for every move tried).
type leaveCheck struct {
	same  []int32
	queue []int
	slot  []uint8
}

func newLeaveCheck(n int) *leaveCheck { return &leaveCheck{slot: make([]uint8, n)} }

// canLeave reports whether v can leave its grid without disconnecting it:
// true when v's neighbours in the grid are connected to each other through
// vertices that are themselves neighbours of v. This is sufficient (any path
// through v can go around it) and cheap; it may refuse a few safe moves.
func canLeave(g *graph, labels []int32, v int32, lc *leaveCheck) bool {
	a := labels[v]
	same := lc.same[:0]
	for _, u := range g.nbrs(v) {
		if labels[u] == a {
			same = append(same, u)
		}
	}
	lc.same = same
	if len(same) <= 1 {
		return len(same) == 1
	}
	// Small search inside same; reached marks via a bitmask (degree ≤ 64
	// in practice; larger neighbourhoods are refused).
	if len(same) > 64 {
		return false
	}
	for j, s := range same {
		lc.slot[s] = uint8(j + 1)
	}
	var reached uint64 = 1
	queue := append(lc.queue[:0], 0)
	for len(queue) > 0 {
		i := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, u := range g.nbrs(same[i]) {
			if j := int(lc.slot[u]) - 1; j >= 0 && reached&(1<<j) == 0 {
				reached |= 1 << j
				queue = append(queue, j)
			}
		}
	}
	lc.queue = queue
	for _, s := range same {
		lc.slot[s] = 0
	}
	return reached == (uint64(1)<<len(same))-1
}

// slide shortens the cut by rounds of greedy moves in order of gain (the
// cut weight a move saves), METIS's k-way refinement: every boundary
// vertex is queued with its best move, the best queued move is made, and
// the neighbours of a moved vertex are queued again with their new gains.
// Moves that save nothing are made too, so boundaries slide along
// plateaus of equal cut until a saving turns up; each vertex moves at most
// once a round, which ends the slide. refine moves only what saves at
// once, and stops at the staircases and bulges of a boundary on the
// hexagonal grid, where every single move saves nothing or costs.
//
// A move must not worsen balance (the penalty of both grids together) and
// must leave its grid connected (canLeave), so the partition stays
// balanced and contiguous after every move. Of equal moves, the one to
// the lighter grid is made, as in METIS. It returns the cut weight saved.
func slide(g *graph, labels []int32, k int, bs []bounds, fixed []bool, rounds int) int {
	n := g.n()
	if n == 0 || k < 2 {
		return 0
	}
	wg := make([]float64, k)
	for v := 0; v < n; v++ {
		wg[labels[v]] += float64(g.w[v])
	}
	moved := make([]int32, n) // the round v last moved in
	var nl []labelEdges
	lc := newLeaveCheck(n)
	// bestMove is v's best move now: the grid and the gain; ok is false
	// when v cannot move (interior, in a fixed grid, alone in its grid, or
	// no neighbouring grid takes it within balance).
	bestMove := func(v int32) (to int32, gain int32, ok bool) {
		a := labels[v]
		if fixed[a] {
			return 0, 0, false
		}
		var own int32
		own, nl = gridEdges(g, labels, v, nl)
		if len(nl) == 0 || own == 0 {
			return 0, 0, false
		}
		w := float64(g.w[v])
		best, bestE := int32(-1), int32(0)
		for _, c := range nl {
			b := c.l
			if fixed[b] || c.e < own {
				continue
			}
			dPen := penalty(wg[a]-w, bs[a]) + penalty(wg[b]+w, bs[b]) - penalty(wg[a], bs[a]) - penalty(wg[b], bs[b])
			if dPen > 1e-9 {
				continue
			}
			if best < 0 || c.e > bestE || (c.e == bestE && wg[b] < wg[best]) {
				best, bestE = b, c.e
			}
		}
		if best < 0 {
			return 0, 0, false
		}
		return best, bestE - own, true
	}
	var h gainHeap
	saved := 0
	// A vertex can move only if its edges into some other grid weigh at
	// least its edges into its own, so at least half its edge weight
	// leaves its grid: ext (the weight of v's edges into other grids) and
	// deg (of all its edges) tell, without the neighbour scan of
	// bestMove, which vertices may move at all. A round moves a few per
	// cent of the vertices, so ext is kept up to date move by move (a move
	// changes only its own and its neighbours' ext).
	ext := make([]int32, n)
	deg := make([]int32, n)
	for v := int32(0); v < int32(n); v++ {
		for j := g.xadj[v]; j < g.xadj[v+1]; j++ {
			e := g.ewAt(j)
			deg[v] += e
			if labels[g.adj[j]] != labels[v] {
				ext[v] += e
			}
		}
	}
	mayMove := func(v int32) bool { return ext[v] > 0 && 2*ext[v] >= deg[v] }
	for round := int32(1); round <= int32(rounds); round++ {
		h = h[:0]
		for v := int32(0); v < int32(n); v++ {
			if !mayMove(v) {
				continue
			}
			if _, gain, ok := bestMove(v); ok {
				h = append(h, gainEntry{gain, v})
			}
		}
		h.init()
		roundSaved := 0
		for len(h) > 0 {
			e := h.pop()
			v := e.v
			if moved[v] == round || !mayMove(v) {
				continue
			}
			b, gain, ok := bestMove(v)
			if !ok {
				continue
			}
			if gain != e.gain {
				// Stale: a neighbour moved since v was queued.
				h.push(gainEntry{gain, v})
				continue
			}
			if !canLeave(g, labels, v, lc) {
				continue
			}
			a := labels[v]
			w := float64(g.w[v])
			labels[v] = b
			wg[a] -= w
			wg[b] += w
			moved[v] = round
			roundSaved += int(gain)
			ext[v] = 0
			for j := g.xadj[v]; j < g.xadj[v+1]; j++ {
				u, e := g.adj[j], g.ewAt(j)
				switch labels[u] {
				case a:
					ext[u] += e
					ext[v] += e
				case b:
					ext[u] -= e
				default:
					ext[v] += e
				}
			}
			for _, u := range g.nbrs(v) {
				if moved[u] == round || !mayMove(u) {
					continue
				}
				if _, gu, ok := bestMove(u); ok {
					h.push(gainEntry{gu, u})
				}
			}
		}
		saved += roundSaved
		if roundSaved == 0 {
			break
		}
	}
	return saved
}

// gainEntry is a queued move of v with the gain it had when queued.
type gainEntry struct {
	gain int32
	v    int32
}

// gainHeap is a max-heap of moves by gain, ties to the lower vertex, so
// that passes are deterministic.
type gainHeap []gainEntry

func (h gainEntry) before(o gainEntry) bool {
	return h.gain > o.gain || (h.gain == o.gain && h.v < o.v)
}

func (h *gainHeap) push(e gainEntry) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].before(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

// init orders entries appended without push into a heap (the same
// order of pops as pushing them one by one: before is a total order).
func (h gainHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *gainHeap) pop() gainEntry {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	s.down(0)
	*h = s
	return top
}

// down moves the entry at i down to its place.
func (h gainHeap) down(i int) {
	s := h
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s[l].before(s[m]) {
			m = l
		}
		if r < len(s) && s[r].before(s[m]) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}
