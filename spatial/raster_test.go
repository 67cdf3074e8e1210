package spatial

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// Marking a disc and a quarter of another measures their areas to within
// the raster's cell, counts a cell once however often it is covered, and
// leaves Marked true inside and false outside.
func TestRasterSector(t *testing.T) {
	c := orb.Point{116.4, 39.9}
	b := orb.Bound{Min: orb.Point{116.39, 39.89}, Max: orb.Point{116.41, 39.91}}
	r := NewRaster(b, 5, 1<<28)
	if r.CellM() != 5 {
		t.Fatalf("cell %v m, want 5", r.CellM())
	}
	// sum marks the cells s covers, as coverage does, and returns the area
	// of those it newly marked.
	sum := func(s PreparedSector) (m2 float64) {
		c0, c1, r0, r1 := r.Cells(s.Bound())
		for row := r0; row <= r1; row++ {
			for col := c0; col <= c1; col++ {
				if !r.CellMarked(col, row) && s.ContainsXY(r.CellCentre(col, row)) {
					r.MarkCell(col, row)
					m2 += r.CellM2(row)
				}
			}
		}
		return m2
	}
	near(t, "disc", sum(PrepareSector(c, 0, 360, 100)), math.Pi*1e4, 0.03)
	if again := sum(PrepareSector(c, 90, 90, 100)); again != 0 {
		t.Errorf("a quarter of a marked disc added %v m²", again)
	}
	if !r.Marked(c) || r.Marked(orb.Point{c[0] + 0.005, c[1]}) || r.Marked(orb.Point{0, 0}) {
		t.Error("Marked: wrong inside the disc, beside it or off the raster")
	}
	// A coarse limit coarsens the cells by factors of 1.25.
	if got := NewRaster(b, 5, 1000).CellM(); got <= 5 || math.Abs(math.Log(got/5)/math.Log(1.25)-math.Round(math.Log(got/5)/math.Log(1.25))) > 1e-9 {
		t.Errorf("cell under a limit of 1000 cells: %v m", got)
	}
}

// Search finds every point in a box exactly once, points beyond the
// raster included.
func TestBucketsSearch(t *testing.T) {
	b := orb.Bound{Min: orb.Point{9.47, 47.04}, Max: orb.Point{9.64, 47.27}}
	r := NewRaster(b, 5, 1<<28)
	rng := rand.New(rand.NewPCG(1, 2))
	pts := make([]orb.Point, 5000)
	for i := range pts {
		// Some points fall beyond the raster's bound.
		pts[i] = orb.Point{9.46 + rng.Float64()*0.19, 47.03 + rng.Float64()*0.25}
	}
	bk := r.Buckets(len(pts), func(i int) orb.Point { return pts[i] }, 20)
	for range 50 {
		x, y := 9.45+rng.Float64()*0.2, 47.02+rng.Float64()*0.26
		box := orb.Bound{Min: orb.Point{x, y}, Max: orb.Point{x + rng.Float64()*0.02, y + rng.Float64()*0.02}}
		seen := map[int]int{}
		bk.Search(box, func(i int) { seen[i]++ })
		for i, p := range pts {
			if n := seen[i]; n > 1 || (n == 0 && box.Contains(p)) {
				t.Fatalf("point %d %v in box %v seen %d times", i, p, box, n)
			}
		}
	}
}

// TestRasterClone: a clone and its source change apart, and cells of
// chunks neither changed stay shared and equal.
func TestRasterClone(t *testing.T) {
	r := NewRaster(orb.Bound{Min: orb.Point{0, 0}, Max: orb.Point{0.2, 0.2}}, 5, 1<<30)
	cols, rows := r.nx, r.ny
	if len(r.chunks) < 3 {
		t.Fatalf("%d chunks: the test wants several", len(r.chunks))
	}
	r.MarkCell(1, 1)
	r.MarkCell(cols-1, rows-1)
	c := r.Clone()
	c.MarkCell(2, 2)
	c.UnmarkCell(1, 1)
	r.MarkCell(3, 3)
	d := c.Clone()
	d.MarkCell(4, 4)
	for _, tc := range []struct {
		r        *Raster
		name     string
		col, row int
		want     bool
	}{
		{r, "source 1,1", 1, 1, true}, {r, "source 2,2", 2, 2, false}, {r, "source 3,3", 3, 3, true}, {r, "source far", cols - 1, rows - 1, true},
		{c, "clone 1,1", 1, 1, false}, {c, "clone 2,2", 2, 2, true}, {c, "clone 3,3", 3, 3, false}, {c, "clone far", cols - 1, rows - 1, true},
		{c, "clone 4,4", 4, 4, false}, {d, "clone of clone 4,4", 4, 4, true}, {d, "clone of clone 2,2", 2, 2, true},
	} {
		if got := tc.r.CellMarked(tc.col, tc.row); got != tc.want {
			t.Errorf("%s: marked %v, want %v", tc.name, got, tc.want)
		}
	}
}
