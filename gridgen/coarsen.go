package gridgen

import (
	"math/rand/v2"
)

// Multilevel partitioning: the part graph is coarsened by merging matched
// neighbours until it is small, the coarsest graph is split by recursive
// bisection, and the labels are carried back level by level with boundary
// refinement at each. Refinement on a coarse graph moves whole clumps of
// cells at once, which straightens boundaries at a scale that moves of
// single cells cannot reach, and lloyd.go rounds the grids off level by
// level. Bisecting a coarse graph is also much cheaper than the cell graph.
//
// A coarse vertex is a connected set of cells (it is built from matched
// neighbours), so a grid connected in a coarse graph is connected in every
// finer one: contiguity survives projection without another search. Weights
// survive it exactly, so does balance.

// level is one coarsening step: the coarser graph and the map from the
// vertices of the finer graph to it.
type level struct {
	g    *graph
	cmap []int32
}

// coarsen returns the levels from g down to a graph of about stopAt
// vertices, then up to extra levels that merge only empty vertices. No
// coarse vertex weighs more than maxW, so that the coarsest graph can still
// be split within balance; coarsening stops early when matching no longer
// shrinks the graph. It returns the levels and how many of them are extra.
func coarsen(g *graph, maxW int, stopAt int, extra int) ([]level, int) {
	var levels []level
	cur := g
	// A fixed seed: plans must be reproducible.
	rng := rand.New(rand.NewPCG(0x9E3779B97F4A7C15, uint64(g.n())))
	for cur.n() > stopAt {
		cmap, cn := match(cur, maxW, rng)
		if cn > cur.n()*19/20 {
			break
		}
		next := contract(cur, cmap, cn)
		levels = append(levels, level{g: next, cmap: cmap})
		cur = next
	}
	regular := len(levels)
	for range extra {
		// maxW 0: only vertices without households pair up.
		cmap, cn := match(cur, 0, rng)
		if cn > cur.n()*99/100 {
			break
		}
		next := contract(cur, cmap, cn)
		levels = append(levels, level{g: next, cmap: cmap})
		cur = next
	}
	return levels, len(levels) - regular
}

// match pairs every vertex with an unmatched neighbour, preferring the
// heaviest shared edge (a long shared boundary keeps coarse vertices
// compact), then the smallest partner (keeps them of similar size). It
// returns the coarse vertex of every vertex and the coarse vertex count.
func match(g *graph, maxW int, rng *rand.Rand) ([]int32, int) {
	n := g.n()
	mate := make([]int32, n)
	for i := range mate {
		mate[i] = -1
	}
	// Visit in random order: a sweep in index order would match along rows
	// and make stripes.
	perm := rng.Perm(n)
	for _, vi := range perm {
		v := int32(vi)
		if mate[v] >= 0 {
			continue
		}
		best, bestE, bestS := int32(-1), int32(-1), int32(1<<30)
		lo, hi := g.xadj[v], g.xadj[v+1]
		for j := lo; j < hi; j++ {
			u := g.adj[j]
			if mate[u] >= 0 || g.w[v]+g.w[u] > maxW {
				continue
			}
			e := g.ewAt(j)
			s := g.sizeOf(u)
			if e > bestE || (e == bestE && s < bestS) {
				best, bestE, bestS = u, e, s
			}
		}
		if best < 0 {
			mate[v] = v
			continue
		}
		mate[v], mate[best] = best, v
	}
	cmap := make([]int32, n)
	for i := range cmap {
		cmap[i] = -1
	}
	cn := int32(0)
	for v := int32(0); v < int32(n); v++ {
		if cmap[v] >= 0 {
			continue
		}
		cmap[v] = cn
		cmap[mate[v]] = cn
		cn++
	}
	return cmap, int(cn)
}

// contract builds the coarse graph of cmap: weights and sizes add up,
// positions are size-weighted means, parallel edges merge into one whose
// weight is the number of cell edges they stand for.
func contract(g *graph, cmap []int32, cn int) *graph {
	n := g.n()
	c := &graph{
		xadj: make([]int32, cn+1),
		adj:  make([]int32, 0, len(g.adj)/2),
		ew:   make([]int32, 0, len(g.adj)/2),
		w:    make([]int, cn),
		x:    make([]float64, cn),
		y:    make([]float64, cn),
		size: make([]int32, cn),
	}
	// members[first[cv]:first[cv+1]] are the fine vertices of cv.
	first := make([]int32, cn+1)
	for v := 0; v < n; v++ {
		first[cmap[v]+1]++
	}
	for i := 1; i <= cn; i++ {
		first[i] += first[i-1]
	}
	members := make([]int32, n)
	fill := make([]int32, cn)
	for v := int32(0); v < int32(n); v++ {
		cv := cmap[v]
		members[first[cv]+fill[cv]] = v
		fill[cv]++
		s := g.sizeOf(v)
		c.w[cv] += g.w[v]
		c.size[cv] += s
		c.x[cv] += g.x[v] * float64(s)
		c.y[cv] += g.y[v] * float64(s)
	}
	if g.ec != nil {
		c.ec = make([]int32, 0, len(g.adj)/2)
	}
	pos := fill // reuse: position of a neighbour in adj, valid when ≥ start
	for i := range pos {
		pos[i] = -1
	}
	for cv := int32(0); cv < int32(cn); cv++ {
		c.x[cv] /= float64(c.size[cv])
		c.y[cv] /= float64(c.size[cv])
		start := int32(len(c.adj))
		for _, v := range members[first[cv]:first[cv+1]] {
			for j := g.xadj[v]; j < g.xadj[v+1]; j++ {
				cu := cmap[g.adj[j]]
				if cu == cv {
					continue
				}
				if p := pos[cu]; p >= start {
					c.ew[p] += g.ewAt(j)
					if c.ec != nil {
						c.ec[p] += g.ec[j]
					}
					continue
				}
				pos[cu] = int32(len(c.adj))
				c.adj = append(c.adj, cu)
				c.ew = append(c.ew, g.ewAt(j))
				if c.ec != nil {
					c.ec = append(c.ec, g.ec[j])
				}
			}
		}
		c.xadj[cv+1] = int32(len(c.adj))
	}
	return c
}

// project carries coarse labels to the finer graph of a level.
func project(cmap []int32, coarse []int32) []int32 {
	out := make([]int32, len(cmap))
	for v, c := range cmap {
		out[v] = coarse[c]
	}
	return out
}
