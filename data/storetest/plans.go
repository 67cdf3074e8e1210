package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// The contract of plans: saved and published whole, or not at all.

func testPlans(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	second := f.plan
	second.BaseID = f.plan.ID
	second.CreatedAt = f.plan.CreatedAt.Add(time.Hour)
	second.Grids = second.Grids[:1]
	second.Report.Warnings = nil
	tx := begin(t, s)
	var err error
	if second.ID, err = tx.SavePlan(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := tx.PublishPlan(ctx, f.plan.ID); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)

	plans, err := s.Plans(ctx)
	if err != nil || len(plans) != 2 || plans[0].ID != second.ID || plans[1].ID != f.plan.ID {
		t.Fatalf("Plans = %+v, %v; want newest first", plans, err)
	}
	if plans[0].Grids != nil || plans[1].Grids != nil {
		t.Error("Plans carries grids")
	}
	if !plans[1].Published || plans[0].Published || plans[0].BaseID != f.plan.ID {
		t.Errorf("Plans flags: %+v", plans)
	}
	p, err := s.PublishedPlan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, f.plan, true)
	if n := count(t, s, data.LayerGrids); n != 2 {
		t.Errorf("grids = %d, want 2 (the published plan's)", n)
	}

	// Publishing another unpublishes the first; publishing twice is fine.
	tx = begin(t, s)
	for range 2 {
		if err := tx.PublishPlan(ctx, second.ID); err != nil {
			t.Fatal(err)
		}
	}
	commit(t, tx)
	p, err = s.PublishedPlan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, second, true)
	if n := count(t, s, data.LayerGrids); n != 1 {
		t.Errorf("grids = %d, want 1", n)
	}
	old, err := s.Plan(ctx, f.plan.ID)
	if err != nil || old.Published {
		t.Errorf("old plan: published %v, %v", old.Published, err)
	}
	// An empty plan is a plan.
	tx = begin(t, s)
	empty := ok(t)(tx.SavePlan(ctx, data.Plan{Target: 1, Resolution: 7}))
	commit(t, tx)
	if p, err := s.Plan(ctx, empty); err != nil || len(p.Grids) != 0 || p.CreatedAt.IsZero() {
		t.Errorf("empty plan: %+v, %v", p, err)
	}
}

// A plan refused by SavePlan leaves no trace, though the transaction goes on.
func testBadPlanLeavesNothing(t *testing.T, s data.Store) {
	ctx := context.Background()
	good := data.Grid{Code: "G001", ParentCode: "A", Households: 1, AreaM2: 1, Geometry: square}
	tx := begin(t, s)
	for _, tc := range []struct {
		name  string
		grids []data.Grid
		code  string
		msg   string
	}{
		{"bad ring", []data.Grid{good, {Code: "G002", ParentCode: "A", Geometry: orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}}}}}}, data.EINVALID, "grid G002"},
		{"negative households", []data.Grid{good, {Code: "G002", ParentCode: "A", Households: -1, Geometry: square}}, data.EINVALID, "grid G002"},
		{"duplicate code", []data.Grid{good, good}, data.ECONFLICT, `duplicate grid code "G001"`},
		// The GeoPackage stored these until both stores shared
		// data.Plan.Validate: a grid without a polygon, text PostgreSQL
		// cannot store.
		{"no polygon", []data.Grid{good, {Code: "G002", ParentCode: "A", Households: 1}}, data.EINVALID, "grid G002 has no polygon"},
		{"NUL in name", []data.Grid{good, {Code: "G002", ParentCode: "A", Name: "a\x00b", Households: 1, Geometry: square}}, data.EINVALID, "grid G002: text"},
	} {
		_, err := tx.SavePlan(ctx, data.Plan{Target: 10, Resolution: 9, Grids: tc.grids})
		wantCode(t, tc.name, err, tc.code, tc.msg)
		if data.ErrorField(err) == "" {
			t.Errorf("%s: %v names no field", tc.name, err)
		}
	}
	id := ok(t)(tx.SavePlan(ctx, data.Plan{Target: 10, Resolution: 9, Grids: []data.Grid{good}}))
	commit(t, tx)
	plans, err := s.Plans(ctx)
	if err != nil || len(plans) != 1 || plans[0].ID != id {
		t.Fatalf("plans = %+v, %v; want only plan %d", plans, err, id)
	}
	p, err := s.Plan(ctx, id)
	if err != nil || len(p.Grids) != 1 {
		t.Errorf("plan %d: %d grids, %v", id, len(p.Grids), err)
	}
}
