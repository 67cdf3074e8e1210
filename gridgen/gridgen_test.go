package gridgen

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
)

// checkPlan proves the rules on a plan independently of its report:
// contiguity by a graph search over each grid's cells, nesting by
// containment of every grid vertex in its parent, coverage by area sums,
// and codes in the documented form.
func checkPlan(t *testing.T, p data.Plan, parents []data.Area) {
	t.Helper()
	byCode := map[string]data.Area{}
	for _, a := range parents {
		byCode[a.Code] = a
	}
	sum := map[string]float64{}
	seen := map[string]bool{}
	for _, g := range p.Grids {
		if seen[g.Code] {
			t.Errorf("code %s used twice", g.Code)
		}
		seen[g.Code] = true
		a, ok := byCode[g.ParentCode]
		if !ok {
			t.Fatalf("grid %s has unknown parent %q", g.Code, g.ParentCode)
		}
		if !strings.HasPrefix(g.Code, a.Code) || len(g.Code) != len(a.Code)+3 {
			t.Errorf("grid code %s is not parent code + 3 digits", g.Code)
		}
		// Contiguity: the grid geometry is one polygon, and its cells form
		// one connected set under H3 adjacency.
		if len(g.Geometry) != 1 {
			t.Errorf("grid %s has %d polygons", g.Code, len(g.Geometry))
		}
		if !cellsConnected(g.Cells) {
			t.Errorf("grid %s: cells are not connected", g.Code)
		}
		// Nesting: every vertex of the grid lies in (or on) its parent.
		bound := a.Geometry.Bound()
		tol := 1e-9
		for _, poly := range g.Geometry {
			for _, r := range poly {
				for _, pt := range r {
					if !planar.MultiPolygonContains(a.Geometry, pt) && distToBoundary(a.Geometry, pt) > tol {
						t.Errorf("grid %s: vertex %v outside parent %s", g.Code, pt, a.Code)
						break
					}
					_ = bound
				}
			}
		}
		sum[g.ParentCode] += planarArea(g.Geometry)
	}
	// Coverage: the grids of each parent add up to it.
	for _, a := range parents {
		pa := planarArea(a.Geometry)
		if d := math.Abs(sum[a.Code]-pa) / pa; d > 1e-9 {
			t.Errorf("parent %s: grids cover %.12f of it (relative difference %.2e)", a.Code, sum[a.Code]/pa, d)
		}
	}
}

func planarArea(mp orb.MultiPolygon) float64 {
	s := 0.0
	for _, p := range mp {
		for i, r := range p {
			a := math.Abs(signedArea2([]orb.Point(r[:len(r)-1]))) / 2
			if i == 0 {
				s += a
			} else {
				s -= a
			}
		}
	}
	return s
}

func distToBoundary(mp orb.MultiPolygon, p orb.Point) float64 {
	d := math.Inf(1)
	for _, poly := range mp {
		for _, r := range poly {
			d = math.Min(d, planar.DistanceFrom(orb.LineString(r), p))
		}
	}
	return d
}

// cellsConnected is a breadth-first search over H3 neighbours.
func cellsConnected(cells []uint64) bool {
	if len(cells) == 0 {
		return true
	}
	in := map[h3.Cell]bool{}
	for _, c := range cells {
		in[h3.Cell(c)] = true
	}
	seen := map[h3.Cell]bool{h3.Cell(cells[0]): true}
	queue := []h3.Cell{h3.Cell(cells[0])}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		nb, _ := h3.GridDisk(c, 1)
		for _, n := range nb {
			if in[n] && !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	return len(seen) == len(in)
}

func TestLiechtenstein(t *testing.T) {
	hh, areas := liechtenstein(t)
	var calls, last atomic.Int64
	p, err := Generate(context.Background(), Input{Households: hh, Parents: areas, Target: 300, Resolution: 10}, Options{
		Progress: func(done, total int) {
			calls.Add(1)
			if int64(done) < last.Load() || done > total {
				t.Errorf("progress %d/%d after %d", done, total, last.Load())
			}
			last.Store(int64(done))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := p.Report
	t.Logf("res %d (auto %v): %d grids, %d parts, within10 %d, heavy %d, empty %d, max dev %.1f%%, PP %.2f/%.2f, gap %.3g m², overlap %.3g m², %.2fs",
		rep.Resolution, rep.ResolutionAuto, rep.Grids, rep.Parts, rep.WithinTenPct, len(rep.HeavyCells), rep.EmptyGrids,
		rep.MaxDeviationPct, rep.PolsbyPopperMean, rep.PolsbyPopperMin, rep.GapAreaM2, rep.OverlapAreaM2, rep.RuntimeSeconds)
	if calls.Load() == 0 {
		t.Error("progress never called")
	}
	checkPlan(t, p, areas)
	if rep.NonContiguous != 0 {
		t.Errorf("report: %d non-contiguous grids", rep.NonContiguous)
	}
	if rep.GapAreaM2 > 0.01 || rep.OverlapAreaM2 > 0.01 {
		t.Errorf("gap %g m², overlap %g m²", rep.GapAreaM2, rep.OverlapAreaM2)
	}
	// Every part is its own set of grids: 33 polygons, none touching.
	if rep.Parts != 33 {
		t.Errorf("parts = %d, want 33", rep.Parts)
	}
	// Balance: every grid within ±10 % except heavy cells and grids of parts
	// whose households cannot be split within ±10 % (reported as such).
	if got, want := rep.WithinTenPct+rep.Constrained, rep.Grids; got < want {
		t.Errorf("within 10%% (%d) + constrained (%d) = %d < %d grids", rep.WithinTenPct, rep.Constrained, got, want)
	}
	if rep.MaxDeviationPct > 10 {
		t.Errorf("max deviation of balanceable grids %.1f%% > 10%%", rep.MaxDeviationPct)
	}
	if rep.HouseholdsOutside == 0 || rep.Households+rep.HouseholdsOutside != 40458 {
		t.Errorf("households %d + outside %d != 40458", rep.Households, rep.HouseholdsOutside)
	}
	// Every household inside a parent is in exactly one grid of that parent.
	for _, g := range p.Grids {
		if g.Households < 0 {
			t.Errorf("grid %s has %d households", g.Code, g.Households)
		}
	}
}

// square returns a closed square ring polygon.
func square(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

// scatter puts n households of weight w on a seeded lattice inside b.
func scatter(b orb.Bound, n, w int) []data.Household {
	var out []data.Household
	side := int(math.Ceil(math.Sqrt(float64(n))))
	for i := 0; i < n; i++ {
		x := b.Min[0] + (float64(i%side)+0.5)/float64(side)*(b.Max[0]-b.Min[0])
		y := b.Min[1] + (float64(i/side)+0.5)/float64(side)*(b.Max[1]-b.Min[1])
		out = append(out, data.Household{ID: "h", Point: orb.Point{x + 1e-7*float64(i%7), y}, Households: w})
	}
	return out
}

func TestSynthetic(t *testing.T) {
	// An L-shaped parent with a hole, a two-part parent whose parts do not
	// touch, and an empty parent.
	l := orb.Polygon{
		{{120.0, 30.0}, {120.02, 30.0}, {120.02, 30.01}, {120.01, 30.01}, {120.01, 30.02}, {120.0, 30.02}, {120.0, 30.0}},
		{{120.003, 30.003}, {120.003, 30.005}, {120.005, 30.005}, {120.005, 30.003}, {120.003, 30.003}},
	}
	two := orb.MultiPolygon{square(120.03, 30.0, 120.045, 30.01), square(120.05, 30.0, 120.06, 30.008)}
	empty := orb.MultiPolygon{square(120.07, 30.0, 120.075, 30.005)}
	parents := []data.Area{
		{Code: "A", Geometry: orb.MultiPolygon{l}},
		{Code: "B", Geometry: two},
		{Code: "C", Geometry: empty},
	}
	var hh []data.Household
	hh = append(hh, scatter(orb.Bound{Min: orb.Point{120.006, 30.0005}, Max: orb.Point{120.0195, 30.0095}}, 900, 2)...)
	hh = append(hh, scatter(orb.Bound{Min: orb.Point{120.031, 30.001}, Max: orb.Point{120.044, 30.009}}, 600, 1)...)
	hh = append(hh, scatter(orb.Bound{Min: orb.Point{120.051, 30.001}, Max: orb.Point{120.059, 30.007}}, 300, 1)...)
	// A tower block heavier than the target.
	hh = append(hh, data.Household{ID: "tower", Point: orb.Point{120.0012, 30.015}, Households: 450})
	cases := []struct {
		name   string
		target int
		res    int
	}{
		{"res10", 300, 10},
		{"res11", 300, 11},
		{"auto", 300, 0},
		{"target200", 200, 11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Generate(context.Background(), Input{Households: hh, Parents: parents, Target: tc.target, Resolution: tc.res}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, p, parents)
			rep := p.Report
			if rep.NonContiguous != 0 {
				t.Errorf("%d non-contiguous", rep.NonContiguous)
			}
			if len(rep.HeavyCells) != 1 || rep.HeavyCells[0].Households != 450 {
				t.Errorf("heavy cells %+v, want the tower", rep.HeavyCells)
			}
			if rep.Parts != 4 {
				t.Errorf("parts %d, want 4 (A, two of B, C)", rep.Parts)
			}
			if rep.EmptyGrids != 1 {
				t.Errorf("empty grids %d, want 1 (C)", rep.EmptyGrids)
			}
			if rep.WithinTenPct+rep.Constrained < rep.Grids {
				t.Errorf("within %d + constrained %d < grids %d", rep.WithinTenPct, rep.Constrained, rep.Grids)
			}
		})
	}
}

func TestCodesOrder(t *testing.T) {
	// A wide strip: grids must be numbered west to east.
	parent := data.Area{Code: "X", Geometry: orb.MultiPolygon{square(0, 0, 0.05, 0.005)}}
	hh := scatter(orb.Bound{Min: orb.Point{0.0005, 0.0005}, Max: orb.Point{0.0495, 0.0045}}, 1500, 1)
	p, err := Generate(context.Background(), Input{Households: hh, Parents: []data.Area{parent}, Target: 300, Resolution: 11}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	prev := -1.0
	for _, g := range p.Grids {
		c, _ := planar.CentroidArea(g.Geometry)
		if c[0] <= prev {
			t.Errorf("grid %s centroid %v is not east of the previous one", g.Code, c)
		}
		prev = c[0]
	}
	if p.Grids[0].Code != "X001" || len(p.Grids) != 5 {
		t.Errorf("codes %s… (%d grids), want X001… (5)", p.Grids[0].Code, len(p.Grids))
	}
}

func TestBadInput(t *testing.T) {
	good := data.Area{Code: "P", Geometry: orb.MultiPolygon{square(0, 0, 0.01, 0.01)}}
	hh := []data.Household{{ID: "a", Point: orb.Point{0.005, 0.005}, Households: 3}}
	bad := func(r orb.Ring) data.Area {
		return data.Area{Code: "BAD-1", Geometry: orb.MultiPolygon{{r}}}
	}
	cases := []struct {
		name string
		in   Input
		want string
	}{
		{"zero target", Input{Households: hh, Parents: []data.Area{good}}, "target"},
		{"negative target", Input{Households: hh, Parents: []data.Area{good}, Target: -3}, "target"},
		{"resolution low", Input{Households: hh, Parents: []data.Area{good}, Target: 300, Resolution: 2}, "resolution 2"},
		{"resolution high", Input{Households: hh, Parents: []data.Area{good}, Target: 300, Resolution: 16}, "resolution 16"},
		{"no households", Input{Parents: []data.Area{good}, Target: 300}, "no households"},
		{"no parents", Input{Households: hh, Target: 300}, "no parent"},
		{"unclosed", Input{Households: hh, Target: 300, Parents: []data.Area{bad(orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}})}}, "BAD-1"},
		{"too few points", Input{Households: hh, Target: 300, Parents: []data.Area{bad(orb.Ring{{0, 0}, {1, 0}, {0, 0}})}}, "BAD-1"},
		{"nan", Input{Households: hh, Target: 300, Parents: []data.Area{bad(orb.Ring{{0, 0}, {math.NaN(), 0}, {1, 1}, {0, 0}})}}, "BAD-1"},
		{"flat bow tie", Input{Households: hh, Target: 300, Parents: []data.Area{bad(orb.Ring{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}})}}, "BAD-1"},
		{"bow tie", Input{Households: hh, Target: 300, Parents: []data.Area{bad(orb.Ring{{0, 0}, {2, 2}, {2, 0}, {0, 1}, {0, 0}})}}, "crosses itself"},
		{"lock without base", Input{Households: hh, Parents: []data.Area{good}, Target: 300, Locked: []string{"P001"}}, "base plan"},
		{"bad household", Input{Households: []data.Household{{ID: "z", Point: orb.Point{0, 0}, Households: 0}}, Parents: []data.Area{good}, Target: 300}, `"z"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(context.Background(), tc.in, Options{})
			var e *data.Error
			if !errors.As(err, &e) || e.Code != data.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("message %q does not mention %q", e.Message, tc.want)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	parent := data.Area{Code: "X", Geometry: orb.MultiPolygon{square(0, 0, 0.05, 0.05)}}
	hh := scatter(orb.Bound{Min: orb.Point{0.001, 0.001}, Max: orb.Point{0.049, 0.049}}, 3000, 1)
	_, err := Generate(ctx, Input{Households: hh, Parents: []data.Area{parent}, Target: 300, Resolution: 11}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestClipCellAreas(t *testing.T) {
	// Cells of a res-9 disk clipped by a concave parent with a hole: the
	// pieces must add up to the parent exactly and never overlap.
	parent := orb.MultiPolygon{{
		{{9.50, 47.10}, {9.53, 47.10}, {9.53, 47.13}, {9.515, 47.115}, {9.50, 47.13}, {9.50, 47.10}},
		{{9.51, 47.105}, {9.51, 47.108}, {9.52, 47.108}, {9.52, 47.105}, {9.51, 47.105}},
	}}
	pc, err := buildCells(context.Background(), parent, 9, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, p := range pc.pieces {
		for i, r := range p.poly {
			a := signedArea2(r.pts) / 2
			if i == 0 && a <= 0 || i > 0 && a >= 0 {
				t.Errorf("cell %v ring %d has the wrong orientation", p.cell, i)
			}
			sum += a
		}
	}
	want := planarArea(parent)
	if math.Abs(sum-want)/want > 1e-12 {
		t.Errorf("pieces add up to %.15g, parent is %.15g", sum, want)
	}
	if pc.unmatched != 0 {
		t.Errorf("%d unmatched cell edges", pc.unmatched)
	}
}

// TestProgressOneParent: with a single parent (Montevideo's case) the
// progress still moves in many steps, never backwards, and ends at the
// total.
func TestProgressOneParent(t *testing.T) {
	parent := data.Area{Code: "X", Geometry: orb.MultiPolygon{square(0, 0, 0.05, 0.05)}}
	hh := scatter(orb.Bound{Min: orb.Point{0.001, 0.001}, Max: orb.Point{0.049, 0.049}}, 6000, 1)
	var steps []int
	tot := 0
	_, err := Generate(context.Background(), Input{Households: hh, Parents: []data.Area{parent}, Target: 300, Resolution: 11}, Options{
		Progress: func(done, total int) {
			if len(steps) > 0 && done < steps[len(steps)-1] || done > total {
				t.Errorf("progress %d/%d after %v", done, total, steps)
			}
			steps = append(steps, done)
			tot = total
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) < 20 || steps[len(steps)-1] != tot {
		t.Errorf("progress steps %v of %d: want ≥ 20 ending at the total", steps, tot)
	}
}
