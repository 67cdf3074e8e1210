package gridgen

import (
	"context"
	"math"
	"slices"
	"sync"
)

// graph is the adjacency graph of the pieces of one parent part, in CSR
// form, with vertex weights (households) and planar positions in metres.
type graph struct {
	xadj []int32
	adj  []int32
	w    []int
	x, y []float64
}

func (g *graph) n() int { return len(g.w) }

func (g *graph) nbrs(v int32) []int32 { return g.adj[g.xadj[v]:g.xadj[v+1]] }

// sub returns the subgraph induced by vs (in that order) and nothing else.
func (g *graph) sub(vs []int32, local []int32) *graph {
	for i, v := range vs {
		local[v] = int32(i)
	}
	s := &graph{
		xadj: make([]int32, len(vs)+1),
		w:    make([]int, len(vs)),
		x:    make([]float64, len(vs)),
		y:    make([]float64, len(vs)),
	}
	for i, v := range vs {
		s.w[i], s.x[i], s.y[i] = g.w[v], g.x[v], g.y[v]
		for _, u := range g.nbrs(v) {
			if l := local[u]; l >= 0 && int(l) < len(vs) && vs[l] == u {
				s.adj = append(s.adj, l)
			}
		}
		s.xadj[i+1] = int32(len(s.adj))
	}
	return s
}

// bounds are the acceptable households of one grid.
type bounds struct{ lo, hi float64 }

// partitioner splits one connected part graph into k connected grids.
type partitioner struct {
	ctx    context.Context
	g      *graph
	labels []int32
	sem    chan struct{} // bounds the goroutines of recursive bisection
	mu     sync.Mutex
	nextID int32
}

// bisectAll recursively bisects g (connected) into k grids whose weights lie
// within b where possible, writing grid labels for the vertices orig (the
// ids of g's vertices in the part graph).
//
// Each split is chosen among sweeps in several directions: the region grows
// from the extreme vertex in the sweep direction, always through a graph
// neighbour, so the grown side is connected; the prefix with the fewest cut
// edges whose weight lets both sides be split further within bounds wins.
// Pockets the sweep cuts off from the other side are handed to the grown
// side, so both sides stay connected.
func (pt *partitioner) bisectAll(g *graph, orig []int32, k int, b bounds) {
	if pt.ctx.Err() != nil {
		return
	}
	if k <= 1 || g.n() <= 1 {
		pt.mu.Lock()
		id := pt.nextID
		pt.nextID++
		pt.mu.Unlock()
		for _, v := range orig {
			pt.labels[v] = id
		}
		return
	}
	k1 := k / 2
	k2 := k - k1
	W := 0.0
	for _, w := range g.w {
		W += float64(w)
	}
	aLo := math.Max(float64(k1)*b.lo, W-float64(k2)*b.hi)
	aHi := math.Min(float64(k1)*b.hi, W-float64(k2)*b.lo)
	ideal := W * float64(k1) / float64(k)
	if aLo > aHi {
		aLo, aHi = ideal, ideal
	}
	inA := bestSplit(g, aLo, aHi, ideal)
	var va, vb, oa, ob []int32
	for i := range g.w {
		if inA[i] {
			va = append(va, int32(i))
			oa = append(oa, orig[i])
		} else {
			vb = append(vb, int32(i))
			ob = append(ob, orig[i])
		}
	}
	if len(va) == 0 || len(vb) == 0 {
		// Nothing to split (a single heavy vertex and empty ones): one grid.
		pt.bisectAll(g, orig, 1, b)
		return
	}
	local := make([]int32, g.n())
	for i := range local {
		local[i] = -1
	}
	ga := g.sub(va, local)
	gb := g.sub(vb, local)
	run := func() { pt.bisectAll(gb, ob, k2, b) }
	if g.n() > 2000 {
		select {
		case pt.sem <- struct{}{}:
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-pt.sem }()
				run()
			}()
			pt.bisectAll(ga, oa, k1, b)
			wg.Wait()
			return
		default:
		}
	}
	pt.bisectAll(ga, oa, k1, b)
	run()
}

// sweepDirs are the sweep directions tried at every split, in radians.
var sweepDirs = [...]float64{0, math.Pi / 4, math.Pi / 2, 3 * math.Pi / 4}

// bestSplit returns the vertex set of the grown side A.
func bestSplit(g *graph, aLo, aHi, ideal float64) []bool {
	n := g.n()
	type cand struct {
		order []int32
		m     int // prefix length
		score float64
	}
	var cands []cand
	for _, th := range sweepDirs {
		for _, dir := range [...]float64{1, -1} {
			c, s := math.Cos(th)*dir, math.Sin(th)*dir
			order, m, score := sweep(g, c, s, aLo, aHi, ideal)
			cands = append(cands, cand{order, m, score})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return 0
	})
	var fallback []bool
	fallbackDev := math.Inf(1)
	for _, c := range cands {
		inA := make([]bool, n)
		for _, v := range c.order[:c.m] {
			inA[v] = true
		}
		wa := absorbPockets(g, inA)
		if wa >= aLo-1e-9 && wa <= aHi+1e-9 {
			return inA
		}
		dev := math.Max(aLo-wa, wa-aHi)
		if dev < fallbackDev {
			fallback, fallbackDev = inA, dev
		}
	}
	return fallback
}

// sweep grows a region from the vertex with the lowest projection on (c, s),
// always taking the frontier vertex with the lowest projection, and returns
// the growth order, the best prefix length and its score (cut edges, plus a
// heavy penalty for missing the weight window).
func sweep(g *graph, c, s, aLo, aHi, ideal float64) ([]int32, int, float64) {
	n := g.n()
	proj := make([]float64, n)
	start := 0
	for i := 0; i < n; i++ {
		proj[i] = g.x[i]*c + g.y[i]*s
		if proj[i] < proj[start] {
			start = i
		}
	}
	state := make([]uint8, n) // 0 unseen, 1 in heap, 2 taken
	h := vheap{key: proj}
	h.push(int32(start))
	state[start] = 1
	order := make([]int32, 0, n)
	wa := 0.0
	cut := 0
	bestM, bestScore := 1, math.Inf(1)
	total := 0.0
	for _, w := range g.w {
		total += float64(w)
	}
	for len(h.items) > 0 {
		v := h.pop()
		state[v] = 2
		order = append(order, v)
		wa += float64(g.w[v])
		for _, u := range g.nbrs(v) {
			if state[u] == 2 {
				cut--
			} else {
				cut++
				if state[u] == 0 {
					state[u] = 1
					h.push(u)
				}
			}
		}
		if len(order) == n {
			break
		}
		var score float64
		if wa >= aLo-1e-9 && wa <= aHi+1e-9 {
			// Within the window prefer short cuts, then nearness to ideal.
			score = float64(cut) + math.Abs(wa-ideal)/(total+1)
		} else {
			score = 1e9 + math.Max(aLo-wa, wa-aHi)
		}
		if score < bestScore {
			bestScore, bestM = score, len(order)
		}
		if wa > aHi && len(order) > 1 && bestScore < 1e9 {
			break
		}
	}
	return order, bestM, bestScore
}

// absorbPockets moves every component of the complement of inA except the
// heaviest (largest on ties) into A, so that both sides are connected, and
// returns A's weight.
func absorbPockets(g *graph, inA []bool) float64 {
	n := g.n()
	comp := make([]int32, n)
	for i := range comp {
		comp[i] = -1
	}
	var cw []float64
	var cs []int
	queue := make([]int32, 0, 64)
	for i := 0; i < n; i++ {
		if inA[i] || comp[i] >= 0 {
			continue
		}
		id := int32(len(cw))
		cw = append(cw, 0)
		cs = append(cs, 0)
		comp[i] = id
		queue = append(queue[:0], int32(i))
		for len(queue) > 0 {
			v := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			cw[id] += float64(g.w[v])
			cs[id]++
			for _, u := range g.nbrs(v) {
				if !inA[u] && comp[u] < 0 {
					comp[u] = id
					queue = append(queue, u)
				}
			}
		}
	}
	if len(cw) > 1 {
		keep := 0
		for i := range cw {
			if cw[i] > cw[keep] || (cw[i] == cw[keep] && cs[i] > cs[keep]) {
				keep = i
			}
		}
		for i := 0; i < n; i++ {
			if !inA[i] && comp[i] != int32(keep) {
				inA[i] = true
			}
		}
	}
	wa := 0.0
	for i := 0; i < n; i++ {
		if inA[i] {
			wa += float64(g.w[i])
		}
	}
	return wa
}

// vheap is a binary min-heap of vertices keyed by key[v].
type vheap struct {
	items []int32
	key   []float64
}

func (h *vheap) push(v int32) {
	h.items = append(h.items, v)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h.key[h.items[p]] <= h.key[h.items[i]] {
			break
		}
		h.items[p], h.items[i] = h.items[i], h.items[p]
		i = p
	}
}

func (h *vheap) pop() int32 {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= last {
			break
		}
		m := l
		if r := l + 1; r < last && h.key[h.items[r]] < h.key[h.items[l]] {
			m = r
		}
		if h.key[h.items[i]] <= h.key[h.items[m]] {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
	return top
}
