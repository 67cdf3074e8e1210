package gridgen

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
	"github.com/wangge/wangge/data"
)

// montevideo returns the Montevideo household points and one parent: the
// bounding box of the points, slightly enlarged so no point is on its edge.
func montevideo(tb testing.TB) ([]data.Household, []data.Area) {
	hh := loadHouseholds(tb, filepath.Join(sharedData, "montevideo", "households.csv"))
	b := orb.MultiPoint{}.Bound()
	for i, h := range hh {
		if i == 0 {
			b = h.Point.Bound()
		}
		b = b.Extend(h.Point)
	}
	b = b.Pad(1e-4)
	return hh, []data.Area{{Code: "UY-MO", Name: "Montevideo", Level: 2, Geometry: orb.MultiPolygon{b.ToPolygon()}}}
}

func benchGenerate(b *testing.B, hh []data.Household, areas []data.Area, res int) {
	b.ReportAllocs()
	var rep data.Report
	for b.Loop() {
		p, err := Generate(context.Background(), Input{Households: hh, Parents: areas, Target: 300, Resolution: res}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		rep = p.Report
	}
	b.ReportMetric(float64(rep.Grids), "grids")
	b.ReportMetric(float64(rep.WithinTenPct), "within10")
	b.ReportMetric(float64(rep.NonContiguous), "noncontig")
	b.ReportMetric(rep.PolsbyPopperMean, "pp_mean")
}

func BenchmarkGenerateLiechtenstein(b *testing.B) {
	hh, areas := liechtenstein(b)
	for _, res := range []int{10, 11} {
		b.Run(resName(res), func(b *testing.B) { benchGenerate(b, hh, areas, res) })
	}
}

func BenchmarkGenerateMontevideo(b *testing.B) {
	hh, areas := montevideo(b)
	for _, res := range []int{10, 11} {
		b.Run(resName(res), func(b *testing.B) { benchGenerate(b, hh, areas, res) })
	}
}

func resName(res int) string { return "res" + string(rune('0'+res/10)) + string(rune('0'+res%10)) }
