package spatial

import (
	"testing"

	"github.com/paulmach/orb"
)

// benchLocate measures one exact lookup at uniformly random points over the
// plan's bound (so the mix of pure bins, boundary bins and misses is the
// plan's own), and reports the index size.
func benchLocate(b *testing.B, grids []LocatorGrid) {
	loc, err := NewLocator(grids)
	if err != nil {
		b.Fatal(err)
	}
	pts := randomPoints(1<<16, loc.Bound(), 11)
	b.ReportAllocs()
	b.ResetTimer()
	i, found := 0, 0
	for b.Loop() {
		if _, ok := loc.Locate(pts[i&(len(pts)-1)]); ok {
			found++
		}
		i++
	}
	st := loc.Stats()
	b.ReportMetric(float64(st.MemoryBytes), "index-bytes")
	b.ReportMetric(float64(st.PureBins)/float64(st.BinsX*st.BinsY)*100, "%pure-bins")
}

func BenchmarkLocateMontevideo700(b *testing.B) {
	benchLocate(b, montevideoPlan(b, 700, 1))
}

func BenchmarkLocateLattice100k(b *testing.B) {
	// 400×250 grids of about 1.1 km, 20 edges each: a province-sized plan.
	benchLocate(b, latticePlan(400, 250, orb.Point{114, 28}, 0.01, 5, 1))
}

func BenchmarkNewLocatorMontevideo700(b *testing.B) {
	grids := montevideoPlan(b, 700, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewLocator(grids); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewLocatorLattice100k(b *testing.B) {
	grids := latticePlan(400, 250, orb.Point{114, 28}, 0.01, 5, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewLocator(grids); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDistanceToBoundaryM measures the distance from random points to
// the boundary of the grid containing them, as locate asks it, on the
// Montevideo plan (~34 edges a grid).
func BenchmarkDistanceToBoundaryM(b *testing.B) {
	benchDistance(b, montevideoPlan(b, 700, 1), (*Locator).DistanceToBoundaryM)
}

// BenchmarkDistanceToBoundaryMBrute is the same with every edge of the grid
// measured, as DistanceToBoundaryM did before its distance cells.
func BenchmarkDistanceToBoundaryMBrute(b *testing.B) {
	benchDistance(b, montevideoPlan(b, 700, 1), distanceBrute)
}

func benchDistance(b *testing.B, grids []LocatorGrid, dist func(*Locator, orb.Point, int) float64) {
	loc, err := NewLocator(grids)
	if err != nil {
		b.Fatal(err)
	}
	pts := randomPoints(1<<12, loc.Bound(), 12)
	var ids []int
	var in []orb.Point
	for _, p := range pts {
		if id, ok := loc.Locate(p); ok {
			ids = append(ids, id)
			in = append(in, p)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = dist(loc, in[i%len(in)], ids[i%len(in)])
		i++
	}
}

// BenchmarkDistanceToBoundaryMLarge measures the distance on grids of ~130
// edges (60 grids over Montevideo; the grid of a random point has 133 on
// average), gridgen's larger grids: its plan of the locate benchmark has
// grids of 17 to 413 vertices.
func BenchmarkDistanceToBoundaryMLarge(b *testing.B) {
	benchDistance(b, montevideoPlan(b, 60, 1), (*Locator).DistanceToBoundaryM)
}

func BenchmarkDistanceToBoundaryMLargeBrute(b *testing.B) {
	benchDistance(b, montevideoPlan(b, 60, 1), distanceBrute)
}
