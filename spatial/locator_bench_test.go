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

func BenchmarkDistanceToBoundaryM(b *testing.B) {
	grids := montevideoPlan(b, 700, 1)
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
		_ = loc.DistanceToBoundaryM(in[i%len(in)], ids[i%len(in)])
		i++
	}
}
