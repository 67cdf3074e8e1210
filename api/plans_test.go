package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
)

// ownServer is a server over a fresh demo store, for tests that change
// what is published and must not disturb the shared one.
func ownServer(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "plans.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Anonymous: data.RoleAdmin})
	if err := srv.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close(); store.Close() })
	return ts
}

func call(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, url, err, b)
		}
	}
	return res.StatusCode
}

type jobView struct {
	ID     string
	Status string
	PlanID int64 `json:"plan_id"`
	Error  string
}

func waitJob(t *testing.T, ts *httptest.Server, id string) jobView {
	t.Helper()
	var j jobView
	for start := time.Now(); time.Since(start) < 2*time.Minute; time.Sleep(100 * time.Millisecond) {
		if code := call(t, "GET", ts.URL+"/v1/plans/"+id, "", &j); code != 200 {
			t.Fatalf("GET job: %d", code)
		}
		if j.Status != "running" {
			return j
		}
	}
	t.Fatalf("job %s still running", id)
	return j
}

// A planner's round: generate, inspect, publish; the grids collection
// follows the published plan.
func TestPlanGenerateAndPublish(t *testing.T) {
	ts := ownServer(t)
	var j jobView
	if code := call(t, "POST", ts.URL+"/v1/plans", `{"target": 300}`, &j); code != 202 || j.Status != "running" {
		t.Fatalf("POST /v1/plans: %d %+v", code, j)
	}
	j = waitJob(t, ts, j.ID)
	if j.Status != "done" || j.PlanID == 0 {
		t.Fatalf("job ended %+v", j)
	}
	var plan struct {
		Published bool
		Report    struct {
			Grids         int
			NonContiguous int `json:"non_contiguous"`
			Households    int
		}
		Grids []struct {
			Code       string
			Households int
		}
	}
	call(t, "GET", ts.URL+"/v1/plans/"+itoa(j.PlanID), "", &plan)
	if plan.Published || plan.Report.Grids == 0 || len(plan.Grids) != plan.Report.Grids || plan.Report.NonContiguous != 0 {
		t.Fatalf("plan = %+v", plan.Report)
	}
	sum := 0
	for _, g := range plan.Grids {
		sum += g.Households
		if !strings.HasPrefix(g.Code, "LI-") && !strings.HasPrefix(g.Code, "way/") {
			t.Errorf("grid code %q does not start with its parent's code", g.Code)
		}
	}
	if sum != plan.Report.Households {
		t.Errorf("grids hold %d households, report says %d", sum, plan.Report.Households)
	}

	var fc struct{ NumberMatched int }
	call(t, "GET", ts.URL+"/collections/grids/items?limit=1", "", &fc)
	if fc.NumberMatched != 0 {
		t.Errorf("grids before publish: %d", fc.NumberMatched)
	}
	if code := call(t, "POST", ts.URL+"/v1/plans/"+itoa(j.PlanID)+"/publish", "", nil); code != 200 {
		t.Fatalf("publish: %d", code)
	}
	call(t, "GET", ts.URL+"/collections/grids/items?limit=1", "", &fc)
	if fc.NumberMatched != plan.Report.Grids {
		t.Errorf("grids after publish: %d, want %d", fc.NumberMatched, plan.Report.Grids)
	}
	// Both steps are in the audit log.
	for _, action := range []string{"plan.generate", "plan.publish"} {
		var log struct {
			Entries []struct{ Actor, Target string }
		}
		call(t, "GET", ts.URL+"/v1/audit?action="+action, "", &log)
		if len(log.Entries) != 1 || log.Entries[0].Target != "plans/"+itoa(j.PlanID) || log.Entries[0].Actor != "anonymous" {
			t.Errorf("audit of %s: %+v", action, log.Entries)
		}
	}
	var gj struct{ Features []json.RawMessage }
	if code := call(t, "GET", ts.URL+"/v1/plans/"+j.ID+"/grids", "", &gj); code != 200 || len(gj.Features) != plan.Report.Grids {
		t.Errorf("plan grids via job id: %d, %d features", code, len(gj.Features))
	}

	// A redraw from the published plan with every grid of Vaduz locked keeps
	// those grids exactly.
	var r jobView
	call(t, "POST", ts.URL+"/v1/plans", `{"target": 300, "base": `+itoa(j.PlanID)+`, "lock": ["LI-11001", "LI-11002"]}`, &r)
	r = waitJob(t, ts, r.ID)
	if r.Status != "done" {
		t.Fatalf("redraw: %+v", r)
	}
}

func TestPlanBadRequests(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		detail     string
	}{
		{"target 0", `{"target": 0}`, 400, "target must be a positive"},
		{"negative target", `{"target": -5}`, 400, "target must be a positive"},
		{"res", `{"target": 300, "res": 99}`, 400, "res must be from 5 to 13"},
		{"base missing", `{"target": 300, "base": 999}`, 400, "base plan 999 does not exist"},
		{"lock without base", `{"target": 300, "lock": ["x"]}`, 400, "lock needs a base plan"},
		{"not JSON", `{"target": 3`, 400, "not valid JSON"},
		{"empty", ``, 400, "body is empty"},
		{"wrong type", `{"target": "many"}`, 400, `field "target" must be int`},
		{"unknown field", `{"target": 300, "colour": "red"}`, 400, `unknown field "colour"`},
		{"grid count", `{"target": 300, "grids": {"LI-99": 3}}`, 400, "not a parent area"},
		{"weight", `{"target": 300, "weight": "effort"}`, 400, `weight must be households or workload, got "effort"`},
		{"weight type", `{"target": 300, "weight": 2}`, 400, "weight must be a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p struct{ Detail string }
			code := call(t, "POST", server.URL+"/v1/plans", tc.body, &p)
			if code != tc.status || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("got %d %q, want %d with %q", code, p.Detail, tc.status, tc.detail)
			}
		})
	}
	for path, status := range map[string]int{
		"/v1/plans/12345":        404,
		"/v1/plans/abc":          404,
		"/v1/plans/job-77":       404,
		"/v1/plans/12345/grids":  404,
		"/v1/plans/job-77/grids": 404,
	} {
		if code := call(t, "GET", server.URL+path, "", nil); code != status {
			t.Errorf("GET %s = %d, want %d", path, code, status)
		}
	}
	if code := call(t, "POST", server.URL+"/v1/plans/12345/publish", "", nil); code != 404 {
		t.Errorf("publish missing plan = %d", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
