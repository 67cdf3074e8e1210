package gridgen

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// graph is the adjacency graph of the pieces of one parent part, in CSR
// form, with vertex weights (households) and planar positions in metres.
// Coarse graphs (coarsen.go) also carry edge weights (the cell edges an
// edge stands for) and vertex sizes (the cells a vertex stands for); on the
// cell graph both are nil and mean 1.
type graph struct {
	xadj []int32
	adj  []int32
	ew   []int32
	// ec is set only where ew holds street weights (streets.go): the
	// number of cell edges each edge stands for, the weight it would have
	// without streets, for the bisection's fallback.
	ec   []int32
	w    []int
	x, y []float64
	size []int32
}

func (g *graph) n() int { return len(g.w) }

// ewAt is the weight of the edge at adj index j.
func (g *graph) ewAt(j int32) int32 {
	if g.ew == nil {
		return 1
	}
	return g.ew[j]
}

// ecAt is the number of cell edges the edge at adj index j stands for.
func (g *graph) ecAt(j int32) int32 {
	if g.ec == nil {
		return g.ewAt(j)
	}
	return g.ec[j]
}

func (g *graph) sizeOf(v int32) int32 {
	if g.size == nil {
		return 1
	}
	return g.size[v]
}

func (g *graph) nbrs(v int32) []int32 { return g.adj[g.xadj[v]:g.xadj[v+1]] }

// bounds are the acceptable households of one grid.
type bounds struct{ lo, hi float64 }

// sweepDirs are the directions of the sweeps tried at every split, in
// radians; each is swept both ways.
var sweepDirs = [...]float64{0, math.Pi / 4, math.Pi / 2, 3 * math.Pi / 4}

// bisector splits one connected part graph into k connected grids by
// recursive bisection. Each region of the recursion keeps its vertices
// sorted along every sweep direction, so a split is a linear scan, and the
// sorted lists of the two halves are filtered from the parent's.
//
// Regions are split concurrently. region[v] is read for neighbours that
// may belong to a region another goroutine is relabelling, so it is
// accessed atomically; a region's new ids are fresh, so a stale read can
// never make a foreign vertex look like a member. stamp and comp are only
// touched for the vertices of the caller's own region.
type bisector struct {
	ctx    context.Context
	g      *graph
	region []int32
	stamp  []int32
	comp   []int32
	labels []int32
	ids    atomic.Int32 // fresh region, stamp and component ids
	next   atomic.Int32 // grid labels
	sem    chan struct{}
	prog   func(grids int) // if set, told the grids finished so far (from any goroutine)
}

func newBisector(ctx context.Context, g *graph, sem chan struct{}) *bisector {
	n := g.n()
	return &bisector{ctx: ctx, g: g, region: make([]int32, n), stamp: make([]int32, n), comp: make([]int32, n), labels: make([]int32, n), sem: sem}
}

// run partitions vertices vs (connected) into k grids within b.
func (bs *bisector) run(vs []int32, k int, b bounds) {
	id := bs.ids.Add(1)
	for _, v := range vs {
		atomic.StoreInt32(&bs.region[v], id)
	}
	var orders [len(sweepDirs)][]int32
	var wg sync.WaitGroup
	for d, th := range sweepDirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, s := math.Cos(th), math.Sin(th)
			proj := make([]float64, bs.g.n())
			o := slices.Clone(vs)
			for _, v := range o {
				proj[v] = bs.g.x[v]*c + bs.g.y[v]*s
			}
			slices.SortFunc(o, func(a, b int32) int {
				pa, pb := proj[a], proj[b]
				switch {
				case pa < pb:
					return -1
				case pa > pb:
					return 1
				}
				return int(a - b)
			})
			orders[d] = o
		}()
	}
	wg.Wait()
	bs.split(id, orders, k, b, 0)
	if int(bs.next.Load()) < k {
		// A split that found no cut left fewer grids than asked: number
		// the grids densely.
		m := make([]int32, k)
		for _, v := range vs {
			m[bs.labels[v]] = 1
		}
		next := int32(0)
		for l := range m {
			if m[l] > 0 {
				m[l] = next
				next++
			}
		}
		for _, v := range vs {
			bs.labels[v] = m[bs.labels[v]]
		}
	}
}

// split labels the region's grids base, base+1, …: by position in the
// recursion, not by which goroutine finishes first, so labels (and every
// tie broken by them later) do not depend on scheduling.
func (bs *bisector) split(id int32, orders [len(sweepDirs)][]int32, k int, b bounds, base int32) {
	if bs.ctx.Err() != nil {
		return
	}
	g := bs.g
	all := orders[0]
	if k <= 1 || len(all) <= 1 {
		done := bs.next.Add(1)
		for _, v := range all {
			bs.labels[v] = base
		}
		if bs.prog != nil {
			bs.prog(int(done))
		}
		return
	}
	k1 := k / 2
	k2 := k - k1
	W := 0.0
	for _, v := range all {
		W += float64(g.w[v])
	}
	aLo := math.Max(float64(k1)*b.lo, W-float64(k2)*b.hi)
	aHi := math.Min(float64(k1)*b.hi, W-float64(k2)*b.lo)
	ideal := W * float64(k1) / float64(k)
	if aLo > aHi {
		aLo, aHi = ideal, ideal
	}
	if k > 2 {
		// Halves at the extremes of the window leave their own splits no
		// slack; keep them nearer the ideal so the last splits, where one
		// cell is a large share of a grid, can still land within bounds.
		aLo = ideal - 0.3*(ideal-aLo)
		aHi = ideal + 0.3*(aHi-ideal)
	}
	type cand struct {
		d     int
		rev   bool
		m     int
		score float64
	}
	stampPrefix := func(c cand, st int32) {
		o := orders[c.d]
		for i := 0; i < c.m; i++ {
			v := o[i]
			if c.rev {
				v = o[len(o)-1-i]
			}
			bs.stamp[v] = st
		}
	}
	aStamp := int32(0)
	bestDev := math.Inf(1)
	var best cand
	// With street weights (streets.go) the cheapest cut may be ragged
	// enough that handing pockets to the other side (connectSides) takes
	// every candidate out of the window; then the sweeps run again
	// counting cell edges (ec), as without streets: balance first.
	for _, plain := range []bool{false, true} {
		if plain && (g.ec == nil || aStamp != 0) {
			break
		}
		var cands [2 * len(sweepDirs)]cand
		for d := range sweepDirs {
			for r := 0; r < 2; r++ {
				m, score := bs.sweep(id, orders[d], r == 1, aLo, aHi, ideal, W, plain)
				cands[2*d+r] = cand{d, r == 1, m, score}
			}
		}
		slices.SortStableFunc(cands[:], func(a, b cand) int {
			switch {
			case a.score < b.score:
				return -1
			case a.score > b.score:
				return 1
			}
			return 0
		})
		if !plain {
			best = cands[0]
		}
		for _, c := range cands {
			st := bs.ids.Add(1)
			stampPrefix(c, st)
			wa := bs.connectSides(id, all, st)
			if wa >= aLo-1e-9 && wa <= aHi+1e-9 {
				aStamp = st
				break
			}
			if dev := math.Max(aLo-wa, wa-aHi); dev < bestDev {
				bestDev, best = dev, c
			}
		}
	}
	if aStamp == 0 {
		// No sweep met the window: take the closest and leave the rest to
		// refinement.
		aStamp = bs.ids.Add(1)
		stampPrefix(best, aStamp)
		bs.connectSides(id, all, aStamp)
	}
	var oa, ob [len(sweepDirs)][]int32
	for d := range orders {
		for _, v := range orders[d] {
			if bs.stamp[v] == aStamp {
				oa[d] = append(oa[d], v)
			} else {
				ob[d] = append(ob[d], v)
			}
		}
	}
	if len(oa[0]) == 0 || len(ob[0]) == 0 {
		bs.split(id, orders, 1, b, base)
		return
	}
	ida, idb := bs.ids.Add(1), bs.ids.Add(1)
	for _, v := range oa[0] {
		atomic.StoreInt32(&bs.region[v], ida)
	}
	for _, v := range ob[0] {
		atomic.StoreInt32(&bs.region[v], idb)
	}
	if len(all) > 4000 {
		select {
		case bs.sem <- struct{}{}:
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-bs.sem }()
				bs.split(idb, ob, k2, b, base+int32(k1))
			}()
			bs.split(ida, oa, k1, b, base)
			wg.Wait()
			return
		default:
		}
	}
	bs.split(ida, oa, k1, b, base)
	bs.split(idb, ob, k2, b, base+int32(k1))
}

// sweep scans vertices in projection order and returns the prefix length
// with the best score: fewest cut edges among prefixes whose weight lies in
// [aLo, aHi] (ties: nearest the ideal weight), or, when none does, a heavy
// penalty plus the distance to the window.
// plain counts cell edges (ecAt), not street weights.
func (bs *bisector) sweep(id int32, o []int32, rev bool, aLo, aHi, ideal, W float64, plain bool) (int, float64) {
	g := bs.g
	st := bs.ids.Add(1)
	wa := 0.0
	cut := 0
	bestM, bestScore := 1, math.Inf(1)
	n := len(o)
	for i := 0; i < n-1; i++ {
		v := o[i]
		if rev {
			v = o[n-1-i]
		}
		bs.stamp[v] = st
		wa += float64(g.w[v])
		for j := g.xadj[v]; j < g.xadj[v+1]; j++ {
			u := g.adj[j]
			if atomic.LoadInt32(&bs.region[u]) != id {
				continue
			}
			e := int(g.ewAt(j))
			if plain {
				e = int(g.ecAt(j))
			}
			if bs.stamp[u] == st {
				cut -= e
			} else {
				cut += e
			}
		}
		var score float64
		if wa >= aLo-1e-9 && wa <= aHi+1e-9 {
			score = float64(cut) + math.Abs(wa-ideal)/(W+1)
		} else {
			score = 1e9 + math.Max(aLo-wa, wa-aHi)
		}
		if score < bestScore {
			bestScore, bestM = score, i+1
		}
		if wa > aHi && bestScore < 1e9 {
			break
		}
	}
	return bestM, bestScore
}

// connectSides makes both sides of a split connected: components of A
// other than its heaviest go to B, then components of B other than its
// heaviest go to A (each such pocket touches A, since the region is
// connected). It returns A's weight. A is the set stamped st.
func (bs *bisector) connectSides(id int32, all []int32, st int32) float64 {
	g := bs.g
	for pass := 0; pass < 2; pass++ {
		inSide := func(v int32) bool { return (bs.stamp[v] == st) == (pass == 0) }
		base := bs.ids.Load()
		var heads []int32
		var weights []float64
		var stack []int32
		for _, s := range all {
			if !inSide(s) || bs.comp[s] > base {
				continue
			}
			c := bs.ids.Add(1)
			heads = append(heads, c)
			w := 0.0
			bs.comp[s] = c
			stack = append(stack[:0], s)
			for len(stack) > 0 {
				v := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				w += float64(g.w[v])
				for _, u := range g.nbrs(v) {
					if atomic.LoadInt32(&bs.region[u]) == id && inSide(u) && bs.comp[u] <= base {
						bs.comp[u] = c
						stack = append(stack, u)
					}
				}
			}
			weights = append(weights, w)
		}
		if len(heads) <= 1 {
			continue
		}
		keep := 0
		for i := range weights {
			if weights[i] > weights[keep] {
				keep = i
			}
		}
		for _, v := range all {
			if inSide(v) && bs.comp[v] != heads[keep] {
				if pass == 0 {
					bs.stamp[v] = 0
				} else {
					bs.stamp[v] = st
				}
			}
		}
	}
	wa := 0.0
	for _, v := range all {
		if bs.stamp[v] == st {
			wa += float64(g.w[v])
		}
	}
	return wa
}
