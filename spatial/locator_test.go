package spatial

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"
	"github.com/tidwall/rtree"
)

// agreeWithPlanar checks Locate against orb/planar.MultiPolygonContains, an
// independent crossing test, for n random points around the plan. Points
// within 1e-9° of an edge are skipped: planar counts boundaries as inside
// every grid that has them, while the locator picks one.
func agreeWithPlanar(t *testing.T, grids []LocatorGrid, n int) {
	t.Helper()
	loc, err := NewLocator(grids)
	if err != nil {
		t.Fatal(err)
	}
	var bounds rtree.RTreeG[int]
	for i, g := range grids {
		b := g.Geom.Bound()
		bounds.Insert(b.Min, b.Max, i)
	}
	var hits, misses, skipped, overlaps int
	for _, p := range randomPoints(n, padBound(loc.Bound(), 0.02), 7) {
		var in []int
		bounds.Search(p, p, func(_, _ [2]float64, i int) bool {
			if planar.MultiPolygonContains(grids[i].Geom, p) {
				in = append(in, grids[i].ID)
			}
			return true
		})
		id, ok := loc.Locate(p)
		want, wantOK := 0, len(in) > 0
		if wantOK {
			want = slices.Min(in) // where the input overlaps, lowest id wins
		}
		if id == want && ok == wantOK {
			switch {
			case len(in) > 1:
				overlaps++
			case ok:
				hits++
			default:
				misses++
			}
			continue
		}
		// planar counts a boundary as inside every grid that has it, the
		// locator picks one: excuse points within 1e-9° of an edge.
		near := false
		bounds.Search(p, p, func(_, _ [2]float64, i int) bool {
			near = nearAnyEdge(grids[i].Geom, p, 1e-9)
			return !near
		})
		if near {
			skipped++
			continue
		}
		t.Fatalf("Locate(%v) = %d, %v; planar says %v", p, id, ok, in)
	}
	st := loc.Stats()
	t.Logf("%d grids, %d edges, raster %d×%d (%.0f%% pure), %.2f candidates/mixed bin, %d KiB; %d points: %d in a grid, %d in none, %d in an overlap, %d on an edge",
		st.Grids, st.Edges, st.BinsX, st.BinsY, 100*float64(st.PureBins)/float64(st.BinsX*st.BinsY),
		st.MeanCandidates, st.MemoryBytes>>10, n, hits, misses, overlaps, skipped)
	if hits < n/2 {
		t.Fatalf("only %d of %d points fell in a grid; the test plan is wrong", hits, n)
	}
}

func TestLocatorAgreesWithPlanarMontevideo(t *testing.T) {
	agreeWithPlanar(t, montevideoPlan(t, 700, 1), 100_000)
}

func TestLocatorAgreesWithPlanarLattice(t *testing.T) {
	// 10,000 grids in the test, to stay quick under -race; the benchmark builds 100,000.
	agreeWithPlanar(t, latticePlan(100, 100, orb.Point{116, 30}, 0.01, 5, 1), 100_000)
}

// TestLocatorSharedBoundaries checks that every vertex and every edge
// midpoint of a lattice plan, where two, three or four grids meet, lies in
// exactly one grid, and that Locate returns that grid.
func TestLocatorSharedBoundaries(t *testing.T) {
	grids := latticePlan(20, 20, orb.Point{116, 30}, 0.01, 3, 2)
	loc, err := NewLocator(grids)
	if err != nil {
		t.Fatal(err)
	}
	inner := padBound(loc.Bound(), -0.01)
	checked := 0
	for _, g := range grids {
		ring := g.Geom[0][0]
		for i := 0; i+1 < len(ring); i++ {
			for _, p := range []orb.Point{ring[i], {(ring[i][0] + ring[i+1][0]) / 2, (ring[i][1] + ring[i+1][1]) / 2}} {
				if !inner.Contains(p) {
					continue // the plan's outer border has nothing beyond it
				}
				var in []int
				for _, h := range grids {
					if loc.Contains(h.ID, p) {
						in = append(in, h.ID)
					}
				}
				id, ok := loc.Locate(p)
				if len(in) != 1 || !ok || id != in[0] {
					t.Fatalf("point %v on a shared boundary: contained by %v, Locate = %d, %v", p, in, id, ok)
				}
				checked++
			}
		}
	}
	t.Logf("%d boundary points each in exactly one grid", checked)
}

// TestLocatorBoundaryRule pins the documented rule on hand-made grids: a
// point on a shared edge goes to the grid on its east, on a horizontal edge
// to the grid on its north, and a vertex shared by three grids to the grid
// containing the points just east (then north) of it.
func TestLocatorBoundaryRule(t *testing.T) {
	o := orb.Point{116.5, 30.5}
	at := func(dx, dy float64) orb.Point { return orb.Point{o[0] + dx, o[1] + dy} }
	sq := func(x0, y0, x1, y1 float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1), at(x0, y0)}}}
	}
	// West | east, and south / north, sharing the edges x = 0 and y = 0.
	grids := []LocatorGrid{
		{ID: 1, Geom: sq(-1, -1, 0, 0)}, // south-west
		{ID: 2, Geom: sq(0, -1, 1, 0)},  // south-east
		{ID: 3, Geom: sq(-1, 0, 1, 1)},  // north, spanning both
	}
	// Three grids around the vertex v = (3, 0): rays leave v to the north,
	// south-west and south-east, inside a hexagon-ish outline.
	v := at(3, 0)
	grids = append(grids,
		LocatorGrid{ID: 10, Geom: orb.MultiPolygon{{{v, at(3, 1), at(2, 1), at(2, -0.5), v}}}},                // west of the north ray
		LocatorGrid{ID: 11, Geom: orb.MultiPolygon{{{v, at(2, -0.5), at(2, -1), at(4, -1), at(4, -0.5), v}}}}, // south
		LocatorGrid{ID: 12, Geom: orb.MultiPolygon{{{v, at(4, -0.5), at(4, 1), at(3, 1), v}}}},                // east of the north ray
	)
	loc, err := NewLocator(grids)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    orb.Point
		want int
	}{
		{"vertical shared edge goes east", at(0, -0.5), 2},
		{"horizontal shared edge goes north", at(-0.5, 0), 3},
		{"T junction goes north", at(0, 0), 3},
		{"south-west interior", at(-0.5, -0.5), 1},
		{"vertex of three grids goes east", v, 12},
		{"north ray goes east", at(3, 0.5), 12},
		{"south-west ray: south is east of it", at(2.5, -0.25), 11},
		{"south-east ray: east is north of it", at(3.5, -0.25), 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := loc.Locate(tc.p)
			if !ok || id != tc.want {
				t.Errorf("Locate(%v) = %d, %v; want %d", tc.p, id, ok, tc.want)
			}
		})
	}
}

func TestLocatorOutsideAndInvalid(t *testing.T) {
	loc, err := NewLocator(latticePlan(3, 3, orb.Point{0, 0}, 1, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []orb.Point{{-1, -1}, {4, 1}, {1, 3.5}, {math.NaN(), 1}, {1, math.Inf(1)}} {
		if id, ok := loc.Locate(p); ok {
			t.Errorf("Locate(%v) = %d, want none", p, id)
		}
	}
	empty, err := NewLocator(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := empty.Locate(orb.Point{0, 0}); ok {
		t.Error("empty locator found a grid")
	}
	sq := orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}}
	for name, tc := range map[string]struct {
		grids []LocatorGrid
		err   error
	}{
		"duplicate id": {[]LocatorGrid{{ID: 1, Geom: sq}, {ID: 1, Geom: sq}}, ErrDuplicateID},
		"empty geom":   {[]LocatorGrid{{ID: 1}}, ErrInvalidGeometry},
		"two points":   {[]LocatorGrid{{ID: 1, Geom: orb.MultiPolygon{{{{0, 0}, {1, 1}, {0, 0}}}}}}, ErrInvalidGeometry},
		"out of range": {[]LocatorGrid{{ID: 1, Geom: orb.MultiPolygon{{{{0, 0}, {200, 0}, {1, 1}}}}}}, ErrInvalidGeometry},
	} {
		if _, err := NewLocator(tc.grids); !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.err)
		}
	}
}

// TestLocatorHolesAndParts uses a grid with a hole filled by another grid,
// and a grid of two separate parts.
func TestLocatorHolesAndParts(t *testing.T) {
	outer := orb.Ring{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}
	hole := orb.Ring{{1, 1}, {1, 3}, {3, 3}, {3, 1}, {1, 1}}
	grids := []LocatorGrid{
		{ID: 1, Geom: orb.MultiPolygon{{outer, hole}}},
		{ID: 2, Geom: orb.MultiPolygon{{{{1, 1}, {3, 1}, {3, 3}, {1, 3}, {1, 1}}}}},
		{ID: 3, Geom: orb.MultiPolygon{{{{5, 0}, {6, 0}, {6, 1}, {5, 1}}}, {{{5, 3}, {6, 3}, {6, 4}, {5, 4}}}}},
	}
	loc, err := NewLocator(grids)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    orb.Point
		want int
		ok   bool
	}{
		{orb.Point{0.5, 0.5}, 1, true}, {orb.Point{2, 2}, 2, true}, {orb.Point{3.5, 2}, 1, true},
		{orb.Point{5.5, 0.5}, 3, true}, {orb.Point{5.5, 3.5}, 3, true}, {orb.Point{5.5, 2}, 0, false},
	} {
		if id, ok := loc.Locate(tc.p); id != tc.want || ok != tc.ok {
			t.Errorf("Locate(%v) = %d, %v; want %d, %v", tc.p, id, ok, tc.want, tc.ok)
		}
	}
}

func TestLocatorOverlapLowestIDWins(t *testing.T) {
	big := orb.MultiPolygon{{{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}}}}
	small := orb.MultiPolygon{{{{4, 4}, {5, 4}, {5, 5}, {4, 5}, {4, 4}}}}
	for _, tc := range []struct{ bigID, smallID, want int }{{1, 2, 1}, {2, 1, 1}} {
		loc, err := NewLocator([]LocatorGrid{{ID: tc.bigID, Geom: big}, {ID: tc.smallID, Geom: small}})
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := loc.Locate(orb.Point{4.5, 4.5}); id != tc.want {
			t.Errorf("overlap of %d and %d: got %d, want %d", tc.bigID, tc.smallID, id, tc.want)
		}
		if id, _ := loc.Locate(orb.Point{4.5, 5.5}); id != tc.bigID {
			t.Errorf("outside the small grid: got %d, want %d", id, tc.bigID)
		}
	}
}

func TestDistanceToBoundaryM(t *testing.T) {
	// A 0.01° square at 30°N: from its centre the nearest edges are the east
	// and west ones, 0.005° of longitude away.
	c := orb.Point{116.005, 30.005}
	sq := orb.MultiPolygon{{{{116, 30}, {116.01, 30}, {116.01, 30.01}, {116, 30.01}, {116, 30}}}}
	loc, err := NewLocator([]LocatorGrid{{ID: 7, Geom: sq}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    orb.Point
		near orb.Point // nearest boundary point
	}{
		{c, orb.Point{116, 30.005}},
		{orb.Point{116.009, 30.002}, orb.Point{116.01, 30.002}},
		{orb.Point{116.005, 30.0001}, orb.Point{116.005, 30}},
		{orb.Point{116.02, 30.005}, orb.Point{116.01, 30.005}}, // outside
		{orb.Point{116.03, 30.03}, orb.Point{116.01, 30.01}},   // outside, nearest a corner
	} {
		got := loc.DistanceToBoundaryM(tc.p, 7)
		want := geo.DistanceHaversine(tc.p, tc.near)
		if math.Abs(got-want)/want > 0.005 {
			t.Errorf("DistanceToBoundaryM(%v) = %.2f m, want %.2f m (great circle)", tc.p, got, want)
		}
	}
	if d := loc.DistanceToBoundaryM(c, 8); d != -1 {
		t.Errorf("unknown id: %v, want -1", d)
	}
}

// distanceBrute is DistanceToBoundaryM as it was before the distance cells:
// every edge of the grid, the reference the indexed search must match bit
// for bit.
func distanceBrute(l *Locator, p orb.Point, id int) float64 {
	gi, ok := l.byID[id]
	if !ok {
		return -1
	}
	g := &l.grids[gi]
	kx, ky := MetresPerDegreeLon(p[1]), MetresPerDegree
	best := math.Inf(1)
	for r := g.ring0; r < g.ring1; r++ {
		for e := l.rings[r]; e+1 < l.rings[r+1]; e++ {
			ax, ay := (l.pts[e][0]-p[0])*kx, (l.pts[e][1]-p[1])*ky
			bx, by := (l.pts[e+1][0]-p[0])*kx, (l.pts[e+1][1]-p[1])*ky
			best = math.Min(best, originToSegment2(ax, ay, bx, by))
		}
	}
	return math.Sqrt(best)
}

func TestDistanceToBoundaryMAgreesWithBruteForce(t *testing.T) {
	// Three kinds of point per plan: in the grid that contains it (the
	// locate answer), on or within a hair of a vertex, and measured to
	// other grids, near and far (up to the whole plan away), so that the
	// search starts from a clamped cell outside the grid's bound.
	holes := orb.MultiPolygon{
		{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}, {{0.2, 0.2}, {0.2, 0.8}, {0.8, 0.8}, {0.8, 0.2}, {0.2, 0.2}}},
		{{{2, 0}, {2.1, 0}, {2.1, 0.1}, {2, 0}}},            // a second part
		{{{3, 0}, {3.5, 0}, {3.5, 0}, {3, 0}}},              // degenerate: all on one line
		{{{4, 0}, {4.000001, 0}, {4.000001, 1e-6}, {4, 0}}}, // tiny
	}
	for _, tc := range []struct {
		name  string
		grids []LocatorGrid
		n     int
	}{
		{"montevideo700", montevideoPlan(t, 700, 1), 100000},
		{"montevideo40", montevideoPlan(t, 40, 3), 30000},
		{"lattice10k", latticePlan(100, 100, orb.Point{114, 28}, 0.01, 5, 1), 100000},
		{"holes", []LocatorGrid{{ID: 1, Geom: holes[:2]}, {ID: 2, Geom: holes[2:3]}, {ID: 3, Geom: holes[3:]}}, 20000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := NewLocator(tc.grids)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(7, 8))
			b := loc.Bound()
			ids := make([]int, len(tc.grids))
			for i, g := range tc.grids {
				ids[i] = g.ID
			}
			check := func(p orb.Point, id int, kind string) {
				t.Helper()
				got, want := loc.DistanceToBoundaryM(p, id), distanceBrute(loc, p, id)
				if got != want {
					t.Fatalf("%s point %v, grid %d: indexed %v m, brute force %v m", kind, p, id, got, want)
				}
			}
			inside := 0
			for i := range tc.n {
				p := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
				if id, ok := loc.Locate(p); ok {
					check(p, id, "inside")
					inside++
				}
				check(p, ids[rng.IntN(len(ids))], "other grid")
				if i%10 == 0 {
					g := tc.grids[rng.IntN(len(tc.grids))]
					ring := g.Geom[rng.IntN(len(g.Geom))][0]
					v := ring[rng.IntN(len(ring))]
					eps := []float64{0, 1e-12, 1e-9, 1e-7}[rng.IntN(4)]
					check(orb.Point{v[0] + eps*(rng.Float64()-0.5), v[1] + eps*(rng.Float64()-0.5)}, g.ID, "vertex")
				}
				if i%100 == 0 { // far outside the plan: the search starts from a corner cell
					far := orb.Point{b.Min[0] - 1 + rng.Float64()*(b.Max[0]-b.Min[0]+2), b.Max[1] + rng.Float64()*3}
					check(far, ids[rng.IntN(len(ids))], "far")
				}
			}
			t.Logf("%d points, %d inside a grid", tc.n, inside)
		})
	}
}
