package gridgen

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"

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
			checkUnits(t, p, units)
			share[i] = rep.StreetSharePct
		}
		if share[1] <= share[0] {
			t.Errorf("res %d: street share %.1f%% with streets, %.1f%% without", res, share[1], share[0])
		}
	}
}

// checkUnits: every unit the report places is in one grid's list, and no
// unit smaller than the median grid is split.
func checkUnits(t *testing.T, p data.Plan, units []data.Unit) {
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
	// A unit smaller than the median grid may be split only for a reason
	// the report gives: it straddles parents, holds more households than
	// a grid can take around it, its cells do not touch, or every way of
	// keeping it whole left the parent's grids out of balance, which
	// ranks first.
	small, across := 0, 0
	for _, su := range rep.UnitsSplit {
		if su.AcrossParents {
			across++
			continue
		}
		if su.AreaM2 < median {
			small++
			switch su.Reason {
			case "heavy", "not_connected", "balance":
				t.Logf("unit %s (%s, %.0f m², median grid %.0f m²) split between %v: %s", su.ID, su.Name, su.AreaM2, median, su.Grids, su.Reason)
			default:
				t.Errorf("unit %s (%s, %.0f m², median grid %.0f m²) split between %v: %q", su.ID, su.Name, su.AreaM2, median, su.Grids, su.Reason)
			}
		}
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

// TestStreetsRedrawUnchanged: a plan drawn along the streets, redrawn from
// itself with the same households and streets, moves nobody.
func TestStreetsRedrawUnchanged(t *testing.T) {
	hh, areas := liechtenstein(t)
	streets := liechtensteinStreets(t)
	ctx := context.Background()
	base, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 300, Streets: streets}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 300, Base: &base, Streets: streets}, Options{})
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
