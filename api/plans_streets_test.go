package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
)

// TestPlanWorkloadAndStreetShares: a plan drawn by workload over the demo,
// which has Liechtenstein's streets and units, says so in its report, and
// each grid in the plan shows its share of boundary along streets, which
// the planner's comparison lists.
func TestPlanWorkloadAndStreetShares(t *testing.T) {
	fx := newFixture(t, func(ctx context.Context, store *gpkg.Store) error {
		_, err := demo.Load(ctx, store)
		return err
	})
	var j jobView
	if code := call(t, "POST", fx.url+"/v1/plans", `{"target": 300, "res": 10, "weight": "workload"}`, &j); code != 202 {
		t.Fatalf("POST /v1/plans: %d %+v", code, j)
	}
	for start := time.Now(); j.Status == "running" && time.Since(start) < 2*time.Minute; time.Sleep(100 * time.Millisecond) {
		call(t, "GET", fx.url+"/v1/plans/"+j.ID, "", &j)
	}
	if j.Status != "done" {
		t.Fatalf("job ended %+v", j)
	}
	var plan struct {
		Report struct {
			Weight         string
			StreetSharePct float64 `json:"street_share_pct"`
		}
		Grids []struct {
			Code           string
			StreetSharePct *float64 `json:"street_share_pct"`
		}
	}
	call(t, "GET", fx.url+"/v1/plans/"+itoa(j.PlanID), "", &plan)
	if plan.Report.Weight != "workload" || plan.Report.StreetSharePct <= 0 {
		t.Fatalf("report weight %q, street share %.1f%%", plan.Report.Weight, plan.Report.StreetSharePct)
	}
	with := 0
	for _, g := range plan.Grids {
		if g.StreetSharePct == nil {
			continue
		}
		with++
		if *g.StreetSharePct < 0 || *g.StreetSharePct > 100 {
			t.Errorf("grid %s: street share %.1f%%", g.Code, *g.StreetSharePct)
		}
	}
	// A grid alone in its parent shares no boundary; the others do.
	if with < len(plan.Grids)/2 {
		t.Errorf("%d of %d grids with a street share", with, len(plan.Grids))
	}
	t.Logf("%d grids, %d with a street share; overall %.1f%%", len(plan.Grids), with, plan.Report.StreetSharePct)
}
