package gridgen

import (
	"context"
	"math"
	"slices"

	"github.com/paulmach/orb/planar"
	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
)

// baseIndex is the base plan of a redraw, indexed by parent and cell.
type baseIndex struct {
	plan   *data.Plan
	grids  map[baseKey][]int // (parent, cell) → base grids holding the cell
	locked map[string]bool
	hh     map[string]int // households of each base grid, by code
}

type baseKey struct {
	parent string
	cell   h3.Cell
}

func newBaseIndex(p *data.Plan, locked []string) *baseIndex {
	b := &baseIndex{plan: p, grids: make(map[baseKey][]int), locked: make(map[string]bool), hh: make(map[string]int, len(p.Grids))}
	for _, c := range locked {
		b.locked[c] = true
	}
	for gi, g := range p.Grids {
		b.hh[g.Code] = g.Households
		for _, c := range g.Cells {
			k := baseKey{g.ParentCode, h3.Cell(c)}
			b.grids[k] = append(b.grids[k], gi)
		}
	}
	return b
}

// pieceCodes returns the base grid code of every piece of a parent, "" for
// pieces of cells the base plan did not have. A cell whose pieces lay in
// different base grids (split by the boundary) is resolved by which base
// grid polygon holds the piece's centroid.
func (b *baseIndex) pieceCodes(parent string, pc *parentCells) []string {
	out := make([]string, len(pc.pieces))
	for i := range pc.pieces {
		p := &pc.pieces[i]
		gs := b.grids[baseKey{parent, p.cell}]
		switch len(gs) {
		case 0:
		case 1:
			out[i] = b.plan.Grids[gs[0]].Code
		default:
			out[i] = b.plan.Grids[gs[0]].Code
			for _, gi := range gs {
				if planar.MultiPolygonContains(b.plan.Grids[gi].Geometry, p.c) {
					out[i] = b.plan.Grids[gi].Code
					break
				}
			}
		}
	}
	return out
}

// redrawPart partitions one part starting from the base plan: cells keep
// their base grid, new cells join a neighbouring grid, then grids are split
// or merged until the part has the number of grids its households call
// for, and boundary cells move between neighbouring grids until every grid
// is within bounds. Locked grids take no part in any of it. If that leaves
// grids out of bounds while a fresh partition would not, the fresh one
// wins: balance ranks above stability.
func (r *run) redrawPart(ctx context.Context, baseCodes []string, vs []int32, g *graph, target float64, sem chan struct{}, prog func(float64)) partResult {
	n := g.n()
	labels := make([]int32, n)
	codeLabel := map[string]int32{}
	var codes []string
	for i, v := range vs {
		c := baseCodes[v]
		if c == "" {
			labels[i] = -1
			continue
		}
		l, ok := codeLabel[c]
		if !ok {
			l = int32(len(codes))
			codeLabel[c] = l
			codes = append(codes, c)
		}
		labels[i] = l
	}
	if len(codes) == 0 {
		return partitionPart(ctx, g, target, sem, prog)
	}
	// New cells (the parent grew, or the resolution of the base differs
	// locally) join the grid they reach first.
	queue := make([]int32, 0, n)
	for v := range n {
		if labels[v] >= 0 {
			queue = append(queue, int32(v))
		}
	}
	for i := 0; i < len(queue); i++ {
		v := queue[i]
		for _, u := range g.nbrs(v) {
			if labels[u] < 0 {
				labels[u] = labels[v]
				queue = append(queue, u)
			}
		}
	}
	k := len(codes)
	// Locked grids stay, and so do grids holding a heavy cell: those are
	// as balanced as they can be.
	fixed := make([]bool, k)
	for l, c := range codes {
		fixed[l] = r.base.locked[c]
	}
	for v := range n {
		if float64(g.w[v]) > target {
			fixed[labels[v]] = true
		}
	}
	wg := make([]float64, k)
	for v := range n {
		wg[labels[v]] += float64(g.w[v])
	}
	freeW := 0.0
	free := 0
	for l := range k {
		if !fixed[l] {
			freeW += wg[l]
			free++
		}
	}
	want := max(1, int(math.Round(freeW/target)))
	if free == 0 {
		want = 0
	}
	b := boundsFor(freeW, max(1, want), target)
	// baseW is a grid's households in the base plan, or -1 once a split or
	// merge made it a new grid. A grid the base left outside the bounds (a
	// part that cannot be balanced, say) was accepted then; holding it to
	// the bounds now would move households in an unchanged area.
	baseW := make([]float64, k)
	for l, c := range codes {
		baseW[l] = float64(r.base.hh[c])
	}
	// Split the heaviest free grid until there are enough.
	for free > 0 && free < want {
		h := -1
		for l := range k {
			if !fixed[l] && (h < 0 || wg[l] > wg[h]) {
				h = l
			}
		}
		var hv []int32
		for v := range n {
			if labels[v] == int32(h) {
				hv = append(hv, int32(v))
			}
		}
		bsr := newBisector(ctx, g, sem)
		bsr.run(hv, 2, boundsFor(wg[h], 2, target))
		nl := int32(k)
		k++
		fixed = append(fixed, false)
		wg = append(wg, 0)
		baseW[h] = -1
		baseW = append(baseW, -1)
		for _, v := range hv {
			if bsr.labels[v] == 1 {
				labels[v] = nl
				wg[h] -= float64(g.w[v])
				wg[nl] += float64(g.w[v])
			}
		}
		free++
	}
	// Merge the lightest free grid into its lightest free neighbour until
	// there are not too many.
	for free > want && free > 1 {
		lightest := -1
		for l := range k {
			if !fixed[l] && wg[l] >= 0 && (lightest < 0 || wg[l] < wg[lightest]) {
				lightest = l
			}
		}
		nb := -1
		for v := range n {
			if labels[v] != int32(lightest) {
				continue
			}
			for _, u := range g.nbrs(int32(v)) {
				if l := int(labels[u]); l != lightest && !fixed[l] && (nb < 0 || wg[l] < wg[nb]) {
					nb = l
				}
			}
		}
		if nb < 0 {
			break // it touches only locked grids: keep it
		}
		for v := range n {
			if labels[v] == int32(lightest) {
				labels[v] = int32(nb)
			}
		}
		wg[nb] += wg[lightest]
		wg[lightest] = -1 // gone
		baseW[nb] = -1
		free--
	}
	oldLabels := slices.Clone(labels)
	labels, k, fixed = compact(labels, fixed)
	bs := make([]bounds, k)
	for v, l := range labels {
		bs[l] = b
		if bw := baseW[oldLabels[v]]; bw >= 0 {
			bs[l] = bounds{math.Min(b.lo, bw), math.Max(b.hi, bw)}
		}
	}
	for l := range bs {
		if fixed[l] {
			bs[l] = bounds{0, math.Inf(1)}
		}
	}
	// Repair only what is out of bounds: a grid within them keeps its cells
	// (and an unchanged base moves nothing).
	if outOfBounds(g, labels, k, bs, fixed) > 0 {
		refine(g, labels, k, bs, fixed, 12, true)
	}
	if bad := badGrids(g, labels, k, bs, fixed); len(bad) > 0 {
		// Push weight through chains of grids: aim the grids out of bounds
		// and those up to two grids away at the mean for a while, then
		// relax back to the bounds. Grids further away keep their bounds,
		// so households far from the change stay put.
		m := freeW / float64(max(1, want))
		near := gridsNear(g, labels, k, bad, 2)
		tight := slices.Clone(bs)
		for l := range tight {
			if near[l] && !fixed[l] {
				tight[l] = bounds{0.98 * m, 1.02 * m}
			}
		}
		refine(g, labels, k, tight, fixed, 30, true)
		refine(g, labels, k, bs, fixed, 12, true)
	}
	report(prog, 1)
	res := partResult{labels: labels, grids: k, bounds: bs, fixed: fixed}
	if bad := outOfBounds(g, labels, k, bs, fixed); bad > 0 && !slices.Contains(fixed, true) {
		fresh := partitionPart(ctx, g, target, sem, nil)
		if outOfBounds(g, fresh.labels, fresh.grids, fresh.bounds, fresh.fixed) < bad {
			return fresh
		}
	}
	return res
}

// compact renumbers labels densely, dropping labels no vertex has.
func compact(labels []int32, fixed []bool) ([]int32, int, []bool) {
	m := make([]int32, len(fixed))
	for i := range m {
		m[i] = -1
	}
	var nf []bool
	for i, l := range labels {
		if m[l] < 0 {
			m[l] = int32(len(nf))
			nf = append(nf, fixed[l])
		}
		labels[i] = m[l]
	}
	return labels, len(nf), nf
}

// outOfBounds counts the free grids whose households are out of bounds.
func outOfBounds(g *graph, labels []int32, k int, bs []bounds, fixed []bool) int {
	return len(badGrids(g, labels, k, bs, fixed))
}

// badGrids lists the free grids whose households are out of bounds.
func badGrids(g *graph, labels []int32, k int, bs []bounds, fixed []bool) []int32 {
	w := make([]float64, k)
	for v, l := range labels {
		w[l] += float64(g.w[v])
	}
	var out []int32
	for l := range k {
		if !fixed[l] && penalty(w[l], bs[l]) > 0 {
			out = append(out, int32(l))
		}
	}
	return out
}

// gridsNear marks the grids within hops grid adjacencies of the seeds.
func gridsNear(g *graph, labels []int32, k int, seeds []int32, hops int) []bool {
	near := make([]bool, k)
	for _, l := range seeds {
		near[l] = true
	}
	for range hops {
		next := slices.Clone(near)
		for v := int32(0); v < int32(g.n()); v++ {
			if !near[labels[v]] {
				continue
			}
			for _, u := range g.nbrs(v) {
				next[labels[u]] = true
			}
		}
		near = next
	}
	return near
}

// inheritCodes gives grids of a redraw the code of the base grid they
// mostly are: pairs (new grid, base code) are taken by decreasing shared
// households (shared pieces for empty grids), each code once, and only when
// the shared part is more than half of the new grid. Locked grids share
// everything with their base grid, so they always keep their code.
func (r *run) inheritCodes(baseCodes []string, o *parentOut) {
	type pair struct {
		g      int
		code   string
		hh, pc int
	}
	share := map[[2]any]*pair{}
	for p, l := range o.labels {
		pc := &o.pc.pieces[p]
		c := baseCodes[p]
		if c == "" {
			continue
		}
		k := [2]any{int(l), c}
		s := share[k]
		if s == nil {
			s = &pair{g: int(l), code: c}
			share[k] = s
		}
		s.hh += pc.hh
		s.pc++
	}
	pairs := make([]*pair, 0, len(share))
	for _, s := range share {
		pairs = append(pairs, s)
	}
	slices.SortFunc(pairs, func(a, b *pair) int {
		if a.hh != b.hh {
			return b.hh - a.hh
		}
		if a.pc != b.pc {
			return b.pc - a.pc
		}
		if a.g != b.g {
			return a.g - b.g
		}
		if a.code < b.code {
			return -1
		}
		return 1
	})
	taken := map[string]bool{}
	for _, s := range pairs {
		g := &o.grids[s.g]
		if g.baseCode != "" || taken[s.code] {
			continue
		}
		if 2*s.hh > g.hh || (g.hh == 0 && 2*s.pc > len(g.pieces)) {
			g.baseCode = s.code
			taken[s.code] = true
		}
	}
}
