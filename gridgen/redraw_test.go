package gridgen

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/wangge/wangge/data"
)

// TestRedrawLiechtenstein adds 10 % more households to one municipality and
// redraws from the first plan: only households in and around it may move,
// every other parent keeps its grids and codes.
func TestRedrawLiechtenstein(t *testing.T) {
	hh, areas := liechtenstein(t)
	ctx := context.Background()
	base, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 300, Resolution: 10}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var vaduz data.Area
	for _, a := range areas {
		if a.Code == "LI-11" {
			vaduz = a
		}
	}
	// 10 % more households in Vaduz, as new points next to existing ones.
	rng := rand.New(rand.NewPCG(1, 2))
	grown := append([]data.Household(nil), hh...)
	added := 0
	inVaduz := 0
	for _, h := range hh {
		if planar.MultiPolygonContains(vaduz.Geometry, h.Point) {
			inVaduz += h.Households
		}
	}
	for added < inVaduz/10 {
		h := hh[rng.IntN(len(hh))]
		if !planar.MultiPolygonContains(vaduz.Geometry, h.Point) {
			continue
		}
		p := orb.Point{h.Point[0] + (rng.Float64()-0.5)*1e-4, h.Point[1] + (rng.Float64()-0.5)*1e-4}
		if !planar.MultiPolygonContains(vaduz.Geometry, p) {
			continue
		}
		grown = append(grown, data.Household{ID: "new", Point: p, Households: 1 + rng.IntN(3)})
		added += grown[len(grown)-1].Households
	}
	plan, err := Generate(ctx, Input{Households: grown, Parents: areas, Target: 300, Base: &base}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep := plan.Report
	t.Logf("added %d households to Vaduz (%d); moved %d; grids %d → %d; within10 %d → %d",
		added, inVaduz, rep.HouseholdsMoved, base.Report.Grids, rep.Grids, base.Report.WithinTenPct, rep.WithinTenPct)
	before := map[string]data.Grid{}
	for _, g := range base.Grids {
		before[g.Code] = g
	}
	for _, g := range plan.Grids {
		if g.ParentCode == "LI-11" {
			continue
		}
		b, ok := before[g.Code]
		if !ok || !sameCells(b.Cells, g.Cells) || b.Households != g.Households {
			t.Errorf("grid %s outside the changed parent changed", g.Code)
		}
	}
	if rep.HouseholdsMoved > inVaduz/2 {
		t.Errorf("moved %d households, more than half of Vaduz's %d", rep.HouseholdsMoved, inVaduz)
	}
	if rep.NonContiguous != 0 {
		t.Errorf("%d non-contiguous grids", rep.NonContiguous)
	}
	// Locks: redraw again locking every Vaduz grid: nothing in it may change.
	var locked []string
	for _, g := range base.Grids {
		if g.ParentCode == "LI-11" {
			locked = append(locked, g.Code)
		}
	}
	lp, err := Generate(ctx, Input{Households: grown, Parents: areas, Target: 300, Base: &base, Locked: locked}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if lp.Report.HouseholdsMoved != 0 {
		t.Errorf("all grids of the changed parent locked, yet %d households moved", lp.Report.HouseholdsMoved)
	}
	now := map[string]data.Grid{}
	for _, g := range lp.Grids {
		now[g.Code] = g
	}
	for _, c := range locked {
		if !sameCells(before[c].Cells, now[c].Cells) {
			t.Errorf("locked grid %s changed", c)
		}
	}
}

func sameCells(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRedrawUnchanged redraws from a base plan with the same households and
// target: nothing needs repair, so nothing may move and every grid keeps
// its cells and code.
func TestRedrawUnchanged(t *testing.T) {
	hh, areas := liechtenstein(t)
	ctx := context.Background()
	for _, res := range []int{10, 0} {
		base, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 300, Resolution: res}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 300, Base: &base}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if m := plan.Report.HouseholdsMoved; m != 0 {
			t.Errorf("res %d: unchanged base, %d households moved", base.Resolution, m)
		}
		before := map[string]data.Grid{}
		for _, g := range base.Grids {
			before[g.Code] = g
		}
		for _, g := range plan.Grids {
			if b, ok := before[g.Code]; !ok || !sameCells(b.Cells, g.Cells) {
				t.Errorf("res %d: grid %s changed", base.Resolution, g.Code)
			}
		}
		if len(plan.Grids) != len(base.Grids) {
			t.Errorf("res %d: %d grids, base had %d", base.Resolution, len(plan.Grids), len(base.Grids))
		}
	}
}
