package spatial

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

// TestGiStarByHand checks Gi* on a case small enough to do on paper.
//
// Study area: a resolution-9 cell c0 in Montevideo and its rings 1 and 2,
// n = 19 cells; c0 has 10 incidents, every other cell 0; k = 1.
//
//	Σx = 10, X̄ = 10/19, Σx² = 100
//	S  = √(Σx²/n − X̄²) = √(100/19 − 100/361) = √1800 / 19
//
// c0 and each ring-1 cell see 7 cells of the study (W = 7), among them c0,
// so Σwx = 10:
//
//	Gi* = (10 − 7·10/19) / (S·√((19·7 − 7²)/18)) = (120/19) / ((√1800/19)·√(84/18))
//	    = 120 / √8400 = 1.309307…
//
// A ring-2 "corner" cell touches one ring-1 cell and two ring-2 cells
// (W = 4, Σwx = 0); an "edge" cell touches two of each (W = 5):
//
//	Gi* = −(4·10/19) / ((√1800/19)·√((76 − 16)/18)) = −40 / √6000 = −0.516398…
//	Gi* = −(5·10/19) / ((√1800/19)·√((95 − 25)/18)) = −50 / √7000 = −0.597614…
//
// p for z = 1.309307 is 2·(1 − Φ(1.3093)) = 0.19043 (Φ(1.31) = 0.9049 in a
// normal table gives 0.190). Nothing is significant, so every bin is 0, and
// 10 incidents < 30 must raise the warning.
func TestGiStarByHand(t *testing.T) {
	c0, err := PointToCell(orb.Point{-56.16, -34.9}, 9)
	if err != nil {
		t.Fatal(err)
	}
	rings, err := c0.GridDiskDistances(2)
	if err != nil {
		t.Fatal(err)
	}
	var cells []CellValue
	for d, ring := range rings {
		for _, c := range ring {
			v := 0.0
			if d == 0 {
				v = 10
			}
			cells = append(cells, CellValue{c, v})
		}
	}
	if len(cells) != 19 {
		t.Fatalf("%d cells, want 19 (a pentagon nearby?)", len(cells))
	}
	got, warnings, err := GetisOrdGiStar(cells, 1)
	if err != nil {
		t.Fatal(err)
	}
	zHot, zCorner, zEdge := 120/math.Sqrt(8400), -40/math.Sqrt(6000), -50/math.Sqrt(7000)
	counts := map[int]int{}
	for i, h := range got {
		d := 2
		if i < 1 {
			d = 0
		} else if i < 7 {
			d = 1
		}
		var want float64
		switch {
		case d < 2:
			want = zHot
		case h.Neighbors == 4:
			want = zCorner
		case h.Neighbors == 5:
			want = zEdge
		default:
			t.Fatalf("ring-2 cell with %d neighbours", h.Neighbors)
		}
		counts[h.Neighbors]++
		if math.Abs(h.Z-want) > 1e-12 {
			t.Errorf("cell %v (ring %d, W %d): z = %.9f, want %.9f", h.Cell, d, h.Neighbors, h.Z, want)
		}
		if h.Bin != 0 {
			t.Errorf("cell %v: bin %d, want 0", h.Cell, h.Bin)
		}
	}
	if counts[7] != 7 || counts[4] != 6 || counts[5] != 6 {
		t.Errorf("neighbour counts %v, want 7×7, 6×4, 6×5", counts)
	}
	if math.Abs(got[0].P-0.19043) > 5e-5 {
		t.Errorf("p(z=%.4f) = %.5f, want 0.19043", got[0].Z, got[0].P)
	}
	if !slices.Contains(warnings, WarnFewIncidents) || !slices.Contains(warnings, WarnFewCells) {
		t.Errorf("warnings %q, want few incidents and few cells", warnings)
	}
}

// TestBHAdjust checks the Benjamini–Hochberg step-up adjustment on a hand
// example, m = 5. Sorted: 0.005, 0.01, 0.03, 0.04, 0.5; m·p/rank: 0.025,
// 0.025, 0.05, 0.05, 0.5; running minimum from the top changes nothing.
func TestBHAdjust(t *testing.T) {
	got := bhAdjust([]float64{0.01, 0.04, 0.03, 0.005, 0.5})
	want := []float64{0.025, 0.05, 0.05, 0.025, 0.5}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Fatalf("bhAdjust = %v, want %v", got, want)
		}
	}
	// The running minimum matters when a larger p has a smaller m·p/rank.
	got = bhAdjust([]float64{0.04, 0.045})
	if got[0] != 0.045 || got[1] != 0.045 {
		t.Errorf("bhAdjust(0.04, 0.045) = %v, want 0.045 both", got)
	}
}

// TestGiStarCluster plants a strong cluster in background noise: its centre
// must be a 99% hot spot, a far cell not significant.
func TestGiStarCluster(t *testing.T) {
	c0, _ := PointToCell(orb.Point{-56.16, -34.9}, 9)
	rings, _ := c0.GridDiskDistances(10)
	rng := rand.New(rand.NewPCG(5, 5))
	var cells []CellValue
	for d, ring := range rings {
		for _, c := range ring {
			v := float64(rng.IntN(3))
			if d <= 1 {
				v = 20
			}
			cells = append(cells, CellValue{c, v})
		}
	}
	got, warnings, err := GetisOrdGiStar(cells, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %q, want none", warnings)
	}
	if got[0].Bin != 3 || got[0].Z < 5 || got[0].PFDR > 0.01 || got[0].PFDR < got[0].P {
		t.Errorf("cluster centre: %+v, want bin 3", got[0])
	}
	if far := got[len(got)-1]; far.Bin != 0 {
		t.Errorf("far cell: %+v, want bin 0", far)
	}
}

func TestGiStarErrorsAndEdgeCases(t *testing.T) {
	c0, _ := PointToCell(orb.Point{-56.16, -34.9}, 9)
	disk, _ := c0.GridDisk(3)
	flat := make([]CellValue, len(disk))
	for i, c := range disk {
		flat[i] = CellValue{c, 2}
	}
	got, warnings, err := GetisOrdGiStar(flat, 1)
	if err != nil || !slices.Contains(warnings, WarnNoVariance) {
		t.Fatalf("equal values: err %v, warnings %q", err, warnings)
	}
	for _, h := range got {
		if h.Z != 0 || h.P != 1 || h.Bin != 0 {
			t.Fatalf("equal values gave %+v", h)
		}
	}
	other, _ := PointToCell(orb.Point{-56.16, -34.9}, 8)
	for name, tc := range map[string]struct {
		cells []CellValue
		k     int
		err   error
	}{
		"k 0":          {flat, 0, ErrInvalidArgument},
		"k 11":         {flat, 11, ErrInvalidArgument},
		"two cells":    {flat[:2], 1, ErrInvalidArgument},
		"duplicate":    {append(slices.Clone(flat), flat[0]), 1, ErrDuplicateID},
		"negative":     {append(slices.Clone(flat[1:]), CellValue{c0, -1}), 1, ErrInvalidArgument},
		"NaN":          {append(slices.Clone(flat[1:]), CellValue{c0, math.NaN()}), 1, ErrInvalidArgument},
		"mixed res":    {append(slices.Clone(flat), CellValue{other, 1}), 1, ErrInvalidArgument},
		"invalid cell": {append(slices.Clone(flat), CellValue{h3.Cell(12345), 1}), 1, ErrInvalidArgument},
	} {
		if _, _, err := GetisOrdGiStar(tc.cells, tc.k); !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", name, err, tc.err)
		}
	}
}

func TestCellCounts(t *testing.T) {
	study, err := StudyCells(orb.MultiPolygon{{montevideoBound.ToRing()}}, 7)
	if err != nil {
		t.Fatal(err)
	}
	pts := append(randomPoints(1000, montevideoBound, 40), orb.Point{0, 0}, orb.Point{math.NaN(), 1})
	counts, outside, err := CellCounts(study, pts)
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, c := range counts {
		total += c.Value
	}
	if int(total)+outside != len(pts) || outside < 2 {
		t.Errorf("counted %v + %d outside, want %d in all and at least 2 outside", total, outside, len(pts))
	}
}

// countyEvents returns a county of about 2,100 km² near 30°N (0.5° × 0.4°)
// and n seeded events: 70% spread evenly, 30% in five clusters of ~1 km.
func countyEvents(n int) (orb.Bound, []orb.Point) {
	county := orb.Bound{Min: orb.Point{119.8, 30.0}, Max: orb.Point{120.3, 30.4}}
	rng := rand.New(rand.NewPCG(60, 0))
	pts := randomPoints(n*7/10, county, 61)
	centres := randomPoints(5, padBound(county, -0.2), 62)
	for len(pts) < n {
		c := centres[rng.IntN(len(centres))]
		pts = append(pts, orb.Point{c[0] + rng.NormFloat64()*0.01, c[1] + rng.NormFloat64()*0.01})
	}
	return county, pts
}

// BenchmarkGiStarCounty60k is issue 5's scale: 60,000 events a year in one
// county, resolution-9 cells (≈0.1 km²), k = 1. It measures the statistic on
// counts that are already binned.
func BenchmarkGiStarCounty60k(b *testing.B) {
	county, pts := countyEvents(60_000)
	study, err := StudyCells(orb.MultiPolygon{{county.ToRing()}}, 9)
	if err != nil {
		b.Fatal(err)
	}
	counts, _, err := CellCounts(study, pts)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := GetisOrdGiStar(counts, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(study)), "cells")
}

// BenchmarkHotspotsCounty60k is the whole request minus I/O: bin 60,000
// events into the study's cells, then Gi*.
func BenchmarkHotspotsCounty60k(b *testing.B) {
	county, pts := countyEvents(60_000)
	study, err := StudyCells(orb.MultiPolygon{{county.ToRing()}}, 9)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		counts, _, err := CellCounts(study, pts)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := GetisOrdGiStar(counts, 1); err != nil {
			b.Fatal(err)
		}
	}
}
