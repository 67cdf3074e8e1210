package gridgen

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/wangge/wangge/data"
)

// TestStreetsLiechtenstein draws Liechtenstein at target 300 without and
// with its streets: every rule of gridgen holds both ways, and following
// the streets puts more of the boundary between grids along them.
func TestStreetsLiechtenstein(t *testing.T) {
	hh, areas := liechtenstein(t)
	streets := liechtensteinStreets(t)
	units := liechtensteinUnits(t)
	ctx := context.Background()
	for _, res := range []int{10, 0} {
		var share [2]float64
		for i, no := range []bool{true, false} {
			p, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 300, Resolution: res, Streets: streets, NoStreets: no, Units: units}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			rep := p.Report
			t.Logf("res %d no-streets %v: %d grids, street share %.1f%% of %.0f m, within10 %d+%d constrained, max dev %.1f%%, PP %.3f/%.3f, cut %d, %.2fs",
				rep.Resolution, no, rep.Grids, rep.StreetSharePct, rep.InnerBoundaryM, rep.WithinTenPct, rep.Constrained,
				rep.MaxDeviationPct, rep.PolsbyPopperMean, rep.PolsbyPopperMin, rep.CutEdges, rep.RuntimeSeconds)
			checkRules(t, p, areas)
			checkUnits(t, p, units, hh)
			share[i] = rep.StreetSharePct
		}
		if share[1] <= share[0] {
			t.Errorf("res %d: street share %.1f%% with streets, %.1f%% without", res, share[1], share[0])
		}
	}
}

// checkUnits: every unit the report places is in one grid's list, and no
// unit smaller than the median grid is split within its parent unless it
// holds more households than one grid may (110 % of the target), counted
// here from the households inside its outline.
func checkUnits(t *testing.T, p data.Plan, units []data.Unit, hh []data.Household) {
	t.Helper()
	rep := p.Report
	areas := make([]float64, len(p.Grids))
	for i, g := range p.Grids {
		areas[i] = g.AreaM2
	}
	slices.Sort(areas)
	median := areas[len(areas)/2]
	seen := map[string]int{}
	for _, ids := range rep.UnitsByGrid {
		for _, id := range ids {
			seen[id]++
		}
	}
	if len(seen) != rep.Units || rep.Units == 0 {
		t.Errorf("%d units in the report, %d listed by grid", rep.Units, len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("unit %s listed under %d grids", id, n)
		}
	}
	byID := map[string]data.Unit{}
	for _, u := range units {
		byID[u.ID] = u
	}
	small, across := 0, 0
	for _, su := range rep.UnitsSplit {
		if su.AcrossParents {
			across++
			continue
		}
		if su.AreaM2 >= median {
			continue
		}
		small++
		inside := 0
		if mp, ok := byID[su.ID].Geometry.(orb.MultiPolygon); ok {
			for _, h := range hh {
				if planar.MultiPolygonContains(mp, h.Point) {
					inside += h.Households
				}
			}
		}
		if su.Reason == "heavy" && float64(inside) > 1.1*float64(p.Target) {
			t.Logf("unit %s (%.0f m², %d households inside, median grid %.0f m²) split between %v: heavy", su.ID, su.AreaM2, inside, median, su.Grids)
			continue
		}
		t.Errorf("unit %s (%s, %.0f m², %d households inside, median grid %.0f m²) split between %v: %q", su.ID, su.Name, su.AreaM2, inside, median, su.Grids, su.Reason)
	}
	t.Logf("units: %d of %d placed, %d split: %d across parents, %d smaller than the median grid of %.0f m²", rep.Units, len(units), len(rep.UnitsSplit), across, small, median)
}

// checkRules is checkPlan and the report's own rules: contiguous, no gap
// or overlap, balance within ±10 % wherever the parent allows.
func checkRules(t *testing.T, p data.Plan, areas []data.Area) {
	t.Helper()
	checkPlan(t, p, areas)
	rep := p.Report
	if rep.NonContiguous != 0 {
		t.Errorf("report: %d non-contiguous grids", rep.NonContiguous)
	}
	if rep.GapAreaM2 > 0.01 || rep.OverlapAreaM2 > 0.01 {
		t.Errorf("gap %g m², overlap %g m²", rep.GapAreaM2, rep.OverlapAreaM2)
	}
	if got, want := rep.WithinTenPct+rep.Constrained, rep.Grids; got < want {
		t.Errorf("within 10%% (%d) + constrained (%d) = %d < %d grids", rep.WithinTenPct, rep.Constrained, got, want)
	}
	if rep.MaxDeviationPct > 10 {
		t.Errorf("max deviation of balanceable grids %.1f%% > 10%%", rep.MaxDeviationPct)
	}
}

// TestStreetWeights: an edge between two positions on either side of a
// street is cheap to cut, by class; one that crosses nothing is plain.
func TestStreetWeights(t *testing.T) {
	ix := newStreetIndex([]data.Street{
		{ID: "r", Kind: data.StreetWater, Class: "river", Geometry: orb.MultiLineString{{{9.5, 47.0}, {9.5, 47.1}}}},
		{ID: "s", Kind: data.StreetRoad, Class: "residential", Geometry: orb.MultiLineString{{{9.4, 47.05}, {9.6, 47.05}}}},
	})
	for _, c := range []struct {
		p, q orb.Point
		want int32
	}{
		{orb.Point{9.499, 47.02}, orb.Point{9.501, 47.02}, 1},
		{orb.Point{9.501, 47.02}, orb.Point{9.499, 47.02}, 1},
		{orb.Point{9.45, 47.049}, orb.Point{9.45, 47.051}, 4},
		{orb.Point{9.499, 47.049}, orb.Point{9.501, 47.051}, 1}, // both: the strongest
		{orb.Point{9.45, 47.02}, orb.Point{9.46, 47.02}, EdgeWeightPlain},
	} {
		if got := ix.crossWeight(c.p, c.q); got != c.want {
			t.Errorf("crossWeight(%v, %v) = %d, want %d", c.p, c.q, got, c.want)
		}
	}
	if newStreetIndex(nil) != nil {
		t.Error("an empty streets layer gives an index")
	}
	total, near := ix.nearLength(orb.Point{9.5001, 47.02}, orb.Point{9.5001, 47.03})
	if total < 1000 || math.Abs(near-total) > 1e-6 {
		t.Errorf("a segment 7.6 m beside the river: %.1f of %.1f m near", near, total)
	}
	total, near = ix.nearLength(orb.Point{9.45, 47.02}, orb.Point{9.45, 47.03})
	if near != 0 {
		t.Errorf("a segment far from streets: %.1f of %.1f m near", near, total)
	}
}

// TestStreetsRedrawUnchanged: a plan drawn along the streets with units
// kept whole, redrawn from
// itself with the same households and streets, moves nobody.
func TestStreetsRedrawUnchanged(t *testing.T) {
	hh, areas := liechtenstein(t)
	streets := liechtensteinStreets(t)
	ctx := context.Background()
	units := liechtensteinUnits(t)
	base, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 300, Streets: streets, Units: units}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 300, Base: &base, Streets: streets, Units: units}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m := plan.Report.HouseholdsMoved; m != 0 {
		t.Errorf("unchanged base: %d households moved", m)
	}
	if len(plan.Grids) != len(base.Grids) {
		t.Errorf("%d grids, base had %d", len(plan.Grids), len(base.Grids))
	}
}

// TestStreetsSmallHeavyParent: a small parent of a few heavy, lumpy
// buildings crossed by a street grid: following the streets must not cost
// balance. (The street-free partition itself misses ±10 % here at res 12,
// the known case of sparse, lumpy buildings; that is not the streets'
// doing and is left as it is.)
func TestStreetsSmallHeavyParent(t *testing.T) {
	parent := []data.Area{{Code: "S", Geometry: orb.MultiPolygon{square(120.0, 30.0, 120.012, 30.008)}}}
	var hh []data.Household
	// 12 blocks of flats of 60–140 households on a 4×3 lattice: 1,200
	// households, 4 grids of 300.
	for i := range 12 {
		x := 120.0015 + float64(i%4)*0.003
		y := 30.0013 + float64(i/4)*0.0027
		hh = append(hh, data.Household{ID: fmt.Sprint("b", i), Point: orb.Point{x, y}, Households: 60 + 80*((i*7)%5)/4})
	}
	hh = append(hh, scatter(orb.Bound{Min: orb.Point{120.0005, 30.0005}, Max: orb.Point{120.0115, 30.0075}}, 200, 1)...)
	var streets []data.Street
	for k := 1; k < 4; k++ {
		x := 120.0 + float64(k)*0.003
		streets = append(streets, data.Street{ID: fmt.Sprint("v", k), Kind: data.StreetRoad, Class: "residential",
			Geometry: orb.MultiLineString{{{x, 29.99}, {x, 30.02}}}})
	}
	streets = append(streets, data.Street{ID: "river", Kind: data.StreetWater, Class: "river",
		Geometry: orb.MultiLineString{{{119.99, 30.004}, {120.02, 30.0041}}}})
	for _, res := range []int{11, 12} {
		var within [2]int
		for i, no := range []bool{true, false} {
			p, err := Generate(context.Background(), Input{Households: hh, Parents: parent, Target: 300, Resolution: res, Streets: streets, NoStreets: no}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			rep := p.Report
			t.Logf("res %d no-streets %v: %d grids %d–%d, street share %.1f%%, within10 %d, constrained %d", res, no, rep.Grids,
				rep.HouseholdsMin, rep.HouseholdsMax, rep.StreetSharePct, rep.WithinTenPct, rep.Constrained)
			checkPlan(t, p, parent)
			if rep.NonContiguous != 0 || rep.GapAreaM2 > 0.01 || rep.OverlapAreaM2 > 0.01 {
				t.Errorf("non-contiguous %d, gap %g, overlap %g", rep.NonContiguous, rep.GapAreaM2, rep.OverlapAreaM2)
			}
			within[i] = rep.WithinTenPct + rep.Constrained
		}
		if within[1] < within[0] {
			t.Errorf("res %d: %d grids balanced following the streets, %d without", res, within[1], within[0])
		}
	}
}

// TestWorkloadLiechtenstein balances Liechtenstein's grids by workload
// (households, the year's hazards, units and area): every rule holds with
// balance measured in workload, the grid count is the households' one,
// and the report gives workload per grid.
func TestWorkloadLiechtenstein(t *testing.T) {
	hh, areas := liechtenstein(t)
	streets, units := liechtensteinStreets(t), liechtensteinUnits(t)
	hz := readLayer(t, filepath.Join(sharedData, "liechtenstein", "hazards.csv"), data.LayerHazards)
	var hazards []data.Hazard
	for _, r := range hz {
		hazards = append(hazards, r.Hazard)
	}
	ctx := context.Background()
	base, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 300, Streets: streets, Units: units}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 300, Streets: streets, Units: units,
		Weight: WeightWorkload, Hazards: hazards}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep := p.Report
	t.Logf("workload: %d grids, workload %.0f–%.0f (median %.0f), households %d–%d (median %.0f), within10 %d+%d, max dev %.1f%%, street share %.1f%%, PP %.3f",
		rep.Grids, rep.WorkloadMin, rep.WorkloadMax, rep.WorkloadMedian, rep.HouseholdsMin, rep.HouseholdsMax, rep.HouseholdsMedian,
		rep.WithinTenPct, rep.Constrained, rep.MaxDeviationPct, rep.StreetSharePct, rep.PolsbyPopperMean)
	checkRules(t, p, areas)
	if rep.Weight != WeightWorkload || rep.WorkloadMedian <= 0 || rep.WorkloadMin > rep.WorkloadMedian || rep.WorkloadMedian > rep.WorkloadMax {
		t.Errorf("workload in the report: %q %v %v %v", rep.Weight, rep.WorkloadMin, rep.WorkloadMedian, rep.WorkloadMax)
	}
	if d := p.Report.Grids - base.Report.Grids; d < -3 || d > 3 {
		t.Errorf("%d grids by workload, %d by households", p.Report.Grids, base.Report.Grids)
	}
	if base.Report.Weight != "" || base.Report.WorkloadMax != 0 {
		t.Errorf("a households plan reports workload")
	}
	if _, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 300, Weight: "hours"}, Options{}); data.ErrorCode(err) != data.EINVALID {
		t.Errorf("weight hours: %v", err)
	}
}

// TestHeavyUnitAlongStreets: a unit holding more households than one grid
// may, crossed by a street, is split along that street and nowhere else:
// each side of the street inside the unit lies in one grid, and the report
// says the unit is split only along streets.
func TestHeavyUnitAlongStreets(t *testing.T) {
	parent := []data.Area{{Code: "S", Geometry: orb.MultiPolygon{square(120.0, 30.0, 120.012, 30.008)}}}
	ub := orb.Bound{Min: orb.Point{120.004, 30.003}, Max: orb.Point{120.008, 30.005}}
	unit := data.Unit{ID: "works", Kind: "industrial", Geometry: orb.MultiPolygon{square(ub.Min[0], ub.Min[1], ub.Max[0], ub.Max[1])}}
	hh := scatter(orb.Bound{Min: orb.Point{120.0002, 30.0002}, Max: orb.Point{120.0118, 30.0078}}, 600, 1)
	hh = append(hh, scatter(ub.Pad(-0.0002), 100, 1)...)
	const streetX = 120.006
	streets := []data.Street{
		{ID: "across", Kind: data.StreetRoad, Class: "residential", Geometry: orb.MultiLineString{{{streetX, 29.99}, {streetX, 30.02}}}},
		{ID: "along", Kind: data.StreetRoad, Class: "residential", Geometry: orb.MultiLineString{{{119.99, 30.0025}, {120.02, 30.0025}}}},
	}
	p, err := Generate(context.Background(), Input{Households: hh, Parents: parent, Target: 100, Resolution: 11, Streets: streets, Units: []data.Unit{unit}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkRules(t, p, parent)
	var su *data.SplitUnit
	for i := range p.Report.UnitsSplit {
		if p.Report.UnitsSplit[i].ID == unit.ID {
			su = &p.Report.UnitsSplit[i]
		}
	}
	inside := 0
	for _, h := range hh {
		if ub.Contains(h.Point) {
			inside += h.Households
		}
	}
	if su == nil || su.Reason != "heavy" || !su.AlongStreets {
		t.Fatalf("unit with %d households inside (target 100): split %+v, want heavy and along streets", inside, su)
	}
	// Every household inside the unit on one side of the street is in
	// the same grid as the others on that side.
	side := map[bool]map[string]bool{false: {}, true: {}}
	for _, h := range hh {
		if !ub.Contains(h.Point) || math.Abs(h.Point[0]-streetX) < 1e-5 {
			continue
		}
		for _, g := range p.Grids {
			if planar.MultiPolygonContains(g.Geometry, h.Point) {
				side[h.Point[0] > streetX][g.Code] = true
			}
		}
	}
	if len(side[false]) != 1 || len(side[true]) != 1 {
		t.Errorf("unit's west side in grids %v, east side in %v: want one each", side[false], side[true])
	}
}
