package gridgen

import "testing"

// lattice is a rows×cols 4-neighbour grid graph with households(r, c) at
// vertex r*cols+c.
func lattice(rows, cols int, households func(r, c int) int) *graph {
	g := &graph{xadj: []int32{0}}
	for r := range rows {
		for c := range cols {
			for _, d := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
				rr, cc := r+d[0], c+d[1]
				if rr >= 0 && rr < rows && cc >= 0 && cc < cols {
					g.adj = append(g.adj, int32(rr*cols+cc))
				}
			}
			g.xadj = append(g.xadj, int32(len(g.adj)))
			g.w = append(g.w, households(r, c))
			g.x = append(g.x, float64(c))
			g.y = append(g.y, float64(r))
		}
	}
	return g
}

func cutOf(g *graph, labels []int32) int {
	cut := 0
	for v := int32(0); v < int32(g.n()); v++ {
		for _, u := range g.nbrs(v) {
			if u > v && labels[u] != labels[v] {
				cut++
			}
		}
	}
	return cut
}

func TestRecutEmpty(t *testing.T) {
	const rows, cols = 6, 10
	// Households in the first and last column only; between them empty
	// land.
	hh := func(r, c int) int {
		if c == 0 || c == cols-1 {
			return 10
		}
		return 0
	}
	for _, tc := range []struct {
		name    string
		reach   int
		edge    func(r int) int // first column of grid 1 in row r
		wantCut int
	}{
		// A zig-zag boundary through the empty land straightens.
		{"zigzag", 8, func(r int) int { return 3 + 3*(r%2) }, rows},
		// Rows already straight: nothing to gain.
		{"straight", 8, func(int) int { return 5 }, rows},
		// With reach 0 only the vertices on the boundary are free: the
		// cut must not grow and the saving must be reported right.
		{"zigzag, reach 0", 0, func(r int) int { return 3 + 3*(r%2) }, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := lattice(rows, cols, hh)
			labels := make([]int32, g.n())
			for r := range rows {
				for c := range cols {
					if c >= tc.edge(r) {
						labels[r*cols+c] = 1
					}
				}
			}
			before := cutOf(g, labels)
			saved := recutEmpty(g, labels, 2, []bool{false, false}, 3, tc.reach)
			after := cutOf(g, labels)
			if before-after != saved {
				t.Errorf("saved %d, but the cut went from %d to %d", saved, before, after)
			}
			if tc.wantCut >= 0 && after != tc.wantCut {
				t.Errorf("cut %d, want %d", after, tc.wantCut)
			}
			if after > before {
				t.Errorf("cut grew from %d to %d", before, after)
			}
			for r := range rows {
				if labels[r*cols] != 0 || labels[r*cols+cols-1] != 1 {
					t.Fatalf("row %d: households changed grid", r)
				}
			}
			for l := int32(0); l < 2; l++ {
				if !connectedLabel(g, labels, l) {
					t.Errorf("grid %d not connected", l)
				}
			}
		})
	}
}

// TestRecutEmptyKeepsConnected: handing grid 0's empty corridor to grid 1
// would cut 7 edges instead of 15, but it is grid 0's only link between
// its two households.
func TestRecutEmptyKeepsConnected(t *testing.T) {
	// 5 rows × 8 columns: grid 0 is row 2 from column 0 to 6, households
	// at both ends; grid 1 is the rest, households in the first and last
	// row and the last column.
	const rows, cols = 5, 8
	hh := func(r, c int) int {
		if c == cols-1 || r == 0 || r == rows-1 || r == 2 && (c == 0 || c == cols-2) {
			return 10
		}
		return 0
	}
	g := lattice(rows, cols, hh)
	labels := make([]int32, g.n())
	for r := range rows {
		for c := range cols {
			if r != 2 || c == cols-1 {
				labels[r*cols+c] = 1
			}
		}
	}
	before := cutOf(g, labels)
	if saved := recutEmpty(g, labels, 2, []bool{false, false}, 3, 8); saved != 0 {
		t.Errorf("saved %d, want 0", saved)
	}
	if after := cutOf(g, labels); after != before {
		t.Errorf("cut went from %d to %d", before, after)
	}
	for l := int32(0); l < 2; l++ {
		if !connectedLabel(g, labels, l) {
			t.Errorf("grid %d not connected", l)
		}
	}
}

func connectedLabel(g *graph, labels []int32, l int32) bool {
	start, total := int32(-1), 0
	for v, x := range labels {
		if x == l {
			total++
			start = int32(v)
		}
	}
	if start < 0 {
		return true
	}
	seen := map[int32]bool{start: true}
	queue := []int32{start}
	for i := 0; i < len(queue); i++ {
		for _, u := range g.nbrs(queue[i]) {
			if labels[u] == l && !seen[u] {
				seen[u] = true
				queue = append(queue, u)
			}
		}
	}
	return len(queue) == total
}
