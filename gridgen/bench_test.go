package gridgen

import (
	"context"
	"math"
	"path/filepath"
	"syscall"
	"testing"
	"time"

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
	defer reportCPU(b)()
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

// reportCPU adds the process CPU time per operation (user+sys, all
// threads) to the benchmark's metrics when the returned func runs: on a
// machine shared with other jobs wall time mostly measures the neighbours.
func reportCPU(b *testing.B) func() {
	c0 := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func resName(res int) string { return "res" + string(rune('0'+res/10)) + string(rune('0'+res%10)) }

// BenchmarkPartitionMontevideo times the partitioner alone on the graph
// bench/metisgraph exports for gpmetis, so profiles show only the partition.
func BenchmarkPartitionMontevideo(b *testing.B) {
	hh, areas := montevideo(b)
	for _, res := range []int{10, 11} {
		b.Run(resName(res), func(b *testing.B) {
			gs, _, err := CellGraphs(context.Background(), Input{Households: hh, Parents: areas, Target: 300, Resolution: res})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b)()
			var k, cut, within, noncontig int
			for b.Loop() {
				k, cut, within, noncontig = 0, 0, 0, 0
				for _, g := range gs {
					l, n := PartitionGraph(context.Background(), g, 300)
					k += n
					c, w, nc := scoreGraph(g, l, n, 300)
					cut += c
					within += w
					noncontig += nc
				}
			}
			b.ReportMetric(float64(k), "grids")
			b.ReportMetric(float64(cut), "cut")
			b.ReportMetric(float64(within), "within10")
			b.ReportMetric(float64(noncontig), "noncontig")
		})
	}
}

// scoreGraph returns the cut edges, the grids within ±10 % of target and
// the grids that are not connected (by graph search).
func scoreGraph(g Graph, labels []int32, k int, target float64) (cut, within, noncontig int) {
	w := make([]int, k)
	for v, l := range labels {
		w[l] += g.Weights[v]
	}
	for _, x := range w {
		if math.Abs(float64(x)-target) <= 0.1*target+1e-9 {
			within++
		}
	}
	comps := make([]int, k)
	seen := make([]bool, len(labels))
	var stack []int32
	for s := range labels {
		if seen[s] {
			continue
		}
		comps[labels[s]]++
		seen[s] = true
		stack = append(stack[:0], int32(s))
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, u := range g.Adj[g.XAdj[v]:g.XAdj[v+1]] {
				if labels[u] == labels[v] && !seen[u] {
					seen[u] = true
					stack = append(stack, u)
				}
				if labels[u] != labels[v] && u > v {
					cut++
				}
			}
		}
	}
	for _, c := range comps {
		if c != 1 {
			noncontig++
		}
	}
	return cut, within, noncontig
}

// BenchmarkGenerateLiechtensteinStreets draws Liechtenstein at target 300
// (automatic resolution: 11) without streets, following the streets, and
// following them with the units kept whole (docs/BENCHMARKS.md).
func BenchmarkGenerateLiechtensteinStreets(b *testing.B) {
	hh, areas := liechtenstein(b)
	streets, units := liechtensteinStreets(b), liechtensteinUnits(b)
	for _, c := range []struct {
		name string
		in   Input
	}{
		{"none", Input{Streets: streets, NoStreets: true}},
		{"streets", Input{Streets: streets}},
		{"streets+units", Input{Streets: streets, Units: units}},
	} {
		b.Run(c.name, func(b *testing.B) {
			in := c.in
			in.Households, in.Parents, in.Target = hh, areas, 300
			b.ReportAllocs()
			var rep data.Report
			defer reportCPU(b)()
			for b.Loop() {
				p, err := Generate(context.Background(), in, Options{})
				if err != nil {
					b.Fatal(err)
				}
				rep = p.Report
			}
			b.ReportMetric(rep.StreetSharePct, "street%")
			b.ReportMetric(float64(rep.WithinTenPct+rep.Constrained), "balanced")
			b.ReportMetric(rep.PolsbyPopperMean, "pp_mean")
			b.ReportMetric(rep.PolsbyPopperMin, "pp_min")
			b.ReportMetric(float64(len(rep.UnitsSplit)), "units_split")
		})
	}
}
