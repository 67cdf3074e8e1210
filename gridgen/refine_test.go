package gridgen

import (
	"slices"
	"testing"
)

// hexLattice is a rows×cols rectangle of a hexagonal grid (odd rows
// shifted half a cell: six neighbours), one household a vertex, as H3
// cells of even density are.
func hexLattice(rows, cols int) *graph {
	g := &graph{xadj: []int32{0}}
	for r := range rows {
		for c := range cols {
			s := r & 1 // the column shift of the rows above and below
			for _, d := range [][2]int{{0, -1}, {0, 1}, {-1, s - 1}, {-1, s}, {1, s - 1}, {1, s}} {
				rr, cc := r+d[0], c+d[1]
				if rr >= 0 && rr < rows && cc >= 0 && cc < cols {
					g.adj = append(g.adj, int32(rr*cols+cc))
				}
			}
			g.xadj = append(g.xadj, int32(len(g.adj)))
			g.w = append(g.w, 1)
			g.x = append(g.x, float64(c)+float64(r&1)/2)
			g.y = append(g.y, float64(r)*0.866)
		}
	}
	return g
}

// TestSlide: two grids of a hexagonal patch split by a boundary that
// wanders in steps of one to three cells from row to row. refine
// straightens it as far as moves that save at once go (93 to 57 cut
// edges); slide must shorten it further (a straight boundary cuts 47), keep
// every grid within its bounds and connected, leave a fixed grid alone,
// and do the same on a second run.
func TestSlide(t *testing.T) {
	const rows, cols, k = 24, 24, 2
	g := hexLattice(rows, cols)
	start := make([]int32, g.n())
	for v := range start {
		r, c := v/cols, v%cols
		if c >= 12+[]int{0, 1, 3, 2, 0, -1, -3, -2}[r%8] {
			start[v] = 1
		}
	}
	target := float64(rows*cols) / k
	bs := slices.Repeat([]bounds{{0.9 * target, 1.1 * target}}, k)
	fixed := make([]bool, k)
	weights := func(labels []int32) []float64 {
		wg := make([]float64, k)
		for v, l := range labels {
			wg[l] += float64(g.w[v])
		}
		return wg
	}
	for l, w := range weights(start) {
		if penalty(w, bs[l]) > 0 {
			t.Fatalf("start: grid %d weighs %v, outside %v", l, w, bs[l])
		}
	}
	refined := slices.Clone(start)
	refine(g, refined, k, bs, fixed, 12, false)
	slid := slices.Clone(refined)
	saved := slide(g, slid, k, bs, fixed, 16)
	c0, c1, c2 := cutOf(g, start), cutOf(g, refined), cutOf(g, slid)
	t.Logf("cut: start %d, refine %d, slide %d", c0, c1, c2)
	if c2 >= c1 {
		t.Errorf("slide left the cut at %d (refine: %d)", c2, c1)
	}
	if saved != c1-c2 {
		t.Errorf("slide reported %d saved, the cut fell by %d", saved, c1-c2)
	}
	for l, w := range weights(slid) {
		if penalty(w, bs[l]) > 0 {
			t.Errorf("grid %d weighs %v, outside %v", l, w, bs[l])
		}
	}
	for l := range int32(k) {
		if !connectedLabel(g, slid, l) {
			t.Errorf("grid %d is no longer connected", l)
		}
	}
	again := slices.Clone(refined)
	slide(g, again, k, bs, fixed, 16)
	if !slices.Equal(again, slid) {
		t.Error("two runs of slide on the same partition differ")
	}
	// A fixed grid keeps every vertex.
	fixed[0] = true
	kept := slices.Clone(refined)
	slide(g, kept, k, bs, fixed, 16)
	for v := range kept {
		if (refined[v] == 0) != (kept[v] == 0) {
			t.Fatalf("vertex %d moved into or out of the fixed grid 0", v)
		}
	}
}
