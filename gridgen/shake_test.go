package gridgen

import (
	"context"
	"slices"
	"testing"
)

// unevenLattice is a hexagonal patch whose households thin out from a
// dense corner to an empty strip along one edge, as a city does towards
// its fields: cells weigh 0 to 9 households.
func unevenLattice(rows, cols int) *graph {
	g := hexLattice(rows, cols)
	for v := range g.w {
		r, c := v/cols, v%cols
		g.w[v] = max(0, 9-(r+c)/6)
		if c >= cols-3 {
			g.w[v] = 0
		}
	}
	return g
}

// TestShake: the cells' last steps (slide, then lloyd and slide again)
// on a patch of uneven density must leave every grid connected and within
// its bounds, save cut weight, and give the same partition twice.
func TestShake(t *testing.T) {
	g := unevenLattice(40, 40)
	total := 0
	for _, w := range g.w {
		total += w
	}
	const target = 300.0
	k := int(float64(total)/target + 0.5)
	res := partitionPart(context.Background(), g, target, make(chan struct{}), nil)
	if res.grids != k {
		t.Fatalf("%d grids, want %d", res.grids, k)
	}
	check := func(name string, labels []int32) {
		t.Helper()
		wg := make([]float64, res.grids)
		for v, l := range labels {
			wg[l] += float64(g.w[v])
		}
		for l := range res.grids {
			if p := penalty(wg[l], res.bounds[l]); p > 0 {
				t.Errorf("%s: grid %d weighs %v, outside %v", name, l, wg[l], res.bounds[l])
			}
			if !connectedLabel(g, labels, int32(l)) {
				t.Errorf("%s: grid %d is not connected", name, l)
			}
		}
	}
	check("partitionPart", res.labels)
	again := partitionPart(context.Background(), g, target, make(chan struct{}), nil)
	if !slices.Equal(again.labels, res.labels) {
		t.Error("two partitions of the same graph differ")
	}

	// The shake alone, from a partition refine left: every step keeps
	// the rules, and together they shorten the cut.
	start := slices.Clone(res.labels)
	lloyd(g, start, res.grids, res.bounds, res.fixed, 20) // a rounder, longer start
	check("start", start)
	shaken := slices.Clone(start)
	slide(g, shaken, res.grids, res.bounds, res.fixed, slideRounds)
	check("slide", shaken)
	lloyd(g, shaken, res.grids, res.bounds, res.fixed, shakeIters)
	check("lloyd", shaken)
	slide(g, shaken, res.grids, res.bounds, res.fixed, shakeRounds)
	check("slide again", shaken)
	if c0, c1 := cutOf(g, start), cutOf(g, shaken); c1 > c0 {
		t.Errorf("the shake lengthened the cut: %d → %d", c0, c1)
	}
}

// TestSlideEdgeWeights: slide keeps each vertex's edge weight into other
// grids as it moves vertices; with every edge weighing 1 spelled out it
// must make exactly the moves it makes on the unweighted graph, and with
// uneven weights still keep grids connected and within bounds.
func TestSlideEdgeWeights(t *testing.T) {
	const rows, cols, k = 24, 24, 3
	g := hexLattice(rows, cols)
	start := make([]int32, g.n())
	for v := range start {
		r, c := v/cols, v%cols
		start[v] = int32(min(k-1, (c+[]int{0, 1, 3, 2, 0, -1, -3, -2}[r%8]+1)*k/cols))
	}
	target := float64(rows*cols) / k
	bs := slices.Repeat([]bounds{{0.9 * target, 1.1 * target}}, k)
	fixed := make([]bool, k)
	plain := slices.Clone(start)
	slide(g, plain, k, bs, fixed, 16)

	ones := *g
	ones.ew = slices.Repeat([]int32{1}, len(g.adj))
	spelled := slices.Clone(start)
	slide(&ones, spelled, k, bs, fixed, 16)
	if !slices.Equal(plain, spelled) {
		t.Error("slide moved differently with every edge weight 1 given")
	}

	// Heavier edges along every third row: a street grid.
	heavy := *g
	heavy.ew = make([]int32, len(g.adj))
	for v := int32(0); v < int32(g.n()); v++ {
		for j := g.xadj[v]; j < g.xadj[v+1]; j++ {
			heavy.ew[j] = 1
			if u := g.adj[j]; int(u)/cols == int(v)/cols && (int(v)/cols)%3 == 0 {
				heavy.ew[j] = 4
			}
		}
	}
	weighted := slices.Clone(start)
	saved := slide(&heavy, weighted, k, bs, fixed, 200)
	if saved <= 0 {
		t.Errorf("slide saved %d with edge weights", saved)
	}
	wg := make([]float64, k)
	for v, l := range weighted {
		wg[l] += float64(g.w[v])
	}
	// Run to the end, slide leaves no move that saves and that balance
	// and contiguity allow: none of them was skipped for want of edge
	// weight into other grids.
	lc := newLeaveCheck(g.n())
	for v := int32(0); v < int32(g.n()); v++ {
		a := weighted[v]
		own, nl := gridEdges(&heavy, weighted, v, nil)
		w := float64(g.w[v])
		for _, c := range nl {
			b := c.l
			dPen := penalty(wg[a]-w, bs[a]) + penalty(wg[b]+w, bs[b]) - penalty(wg[a], bs[a]) - penalty(wg[b], bs[b])
			if c.e > own && dPen <= 1e-9 && canLeave(&heavy, weighted, v, lc) {
				t.Errorf("vertex %d could still move from %d to %d saving %d", v, a, b, c.e-own)
			}
		}
	}
	for l := range int32(k) {
		if penalty(wg[l], bs[l]) > 0 {
			t.Errorf("grid %d weighs %v, outside %v", l, wg[l], bs[l])
		}
		if !connectedLabel(g, weighted, l) {
			t.Errorf("grid %d is not connected", l)
		}
	}
}
