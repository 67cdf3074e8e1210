package gridgen

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// TestStreetSharesByHand: three grids in a row, A and B of one parent, C
// of another. A|B runs along a street, B|C (a parent's edge) too but does
// not count, and no other boundary is shared.
func TestStreetSharesByHand(t *testing.T) {
	grids := []data.Grid{
		{Code: "A", ParentCode: "P", Geometry: orb.MultiPolygon{square(120.000, 30.0, 120.002, 30.002)}},
		{Code: "B", ParentCode: "P", Geometry: orb.MultiPolygon{square(120.002, 30.0, 120.004, 30.002)}},
		{Code: "C", ParentCode: "Q", Geometry: orb.MultiPolygon{square(120.004, 30.0, 120.006, 30.002)}},
	}
	street := func(x float64) data.Street {
		return data.Street{ID: fmt.Sprint(x), Kind: data.StreetRoad, Class: "residential", Geometry: orb.MultiLineString{{{x, 29.99}, {x, 30.01}}}}
	}
	if got := StreetShares(grids, nil); got != nil {
		t.Errorf("without streets: %v, want nil", got)
	}
	for _, tc := range []struct {
		name    string
		streets []data.Street
		pct     [3]float64
		shared  [3]bool
	}{
		{"along A|B and B|C", []data.Street{street(120.002), street(120.004)}, [3]float64{100, 100, 0}, [3]bool{true, true, false}},
		{"through A and C only", []data.Street{street(120.001), street(120.005)}, [3]float64{0, 0, 0}, [3]bool{true, true, false}},
	} {
		got := StreetShares(grids, tc.streets)
		for i, s := range got {
			pct, ok := s.Pct()
			if ok != tc.shared[i] || pct != tc.pct[i] {
				t.Errorf("%s: grid %s: %.1f%% (shared %v), want %.1f%% (%v)", tc.name, grids[i].Code, pct, ok, tc.pct[i], tc.shared[i])
			}
		}
		// A|B is 0.002° of latitude, about 222 m.
		if m := got[0].InnerBoundaryM; math.Abs(m-222) > 2 {
			t.Errorf("%s: A's inner boundary %.1f m, want about 222", tc.name, m)
		}
	}
}

// TestStreetSharesMatchReport: over a generated plan, the grids' shares
// add up to the report's overall street_share_pct: one measure.
func TestStreetSharesMatchReport(t *testing.T) {
	parent := []data.Area{{Code: "S", Geometry: orb.MultiPolygon{square(120.0, 30.0, 120.012, 30.008)}}}
	hh := scatter(orb.Bound{Min: orb.Point{120.0005, 30.0005}, Max: orb.Point{120.0115, 30.0075}}, 1200, 1)
	var streets []data.Street
	for k := 1; k < 4; k++ {
		x := 120.0 + float64(k)*0.003
		streets = append(streets, data.Street{ID: fmt.Sprint("v", k), Kind: data.StreetRoad, Class: "residential",
			Geometry: orb.MultiLineString{{{x, 29.99}, {x, 30.02}}}})
	}
	p, err := Generate(context.Background(), Input{Households: hh, Parents: parent, Target: 300, Resolution: 11, Streets: streets}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var inner, near float64
	shares := StreetShares(p.Grids, streets)
	for i, s := range shares {
		pct, _ := s.Pct()
		t.Logf("grid %s: %.0f m shared, %.1f%% along streets", p.Grids[i].Code, s.InnerBoundaryM, pct)
		inner += s.InnerBoundaryM
		near += s.NearM
	}
	rep := p.Report
	if len(p.Grids) < 2 || rep.InnerBoundaryM == 0 {
		t.Fatalf("%d grids, inner boundary %.0f m: nothing to compare", len(p.Grids), rep.InnerBoundaryM)
	}
	// Each shared stretch counts for both its grids.
	if math.Abs(inner/2-rep.InnerBoundaryM) > 1 {
		t.Errorf("grids' inner boundary %.1f m / 2, report %.0f m", inner, rep.InnerBoundaryM)
	}
	if got := math.Round(near/inner*1000) / 10; got != rep.StreetSharePct {
		t.Errorf("grids' street share %.1f%%, report %.1f%%", got, rep.StreetSharePct)
	}
}
