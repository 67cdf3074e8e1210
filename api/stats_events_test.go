package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
)

// eventsTaxonomy is a deployment's own taxonomy: a category no built-in
// list has (stray_dogs), and deadlines of its own.
const eventsTaxonomy = `{
  "kinds": [{"code": "hazard", "zh": "隐患", "en": "Hazard"}, {"code": "dispute", "zh": "矛盾纠纷", "en": "Dispute"}],
  "categories": [
    {"code": "fire", "kind": "hazard", "zh": "消防", "en": "Fire", "deadline_hours": 24, "severity": 3},
    {"code": "water", "kind": "hazard", "zh": "水利", "en": "Water", "deadline_hours": 48, "severity": 2},
    {"code": "traffic", "kind": "hazard", "zh": "交通", "en": "Traffic", "deadline_hours": 72, "severity": 2},
    {"code": "stray_dogs", "kind": "hazard", "zh": "流浪犬", "en": "Stray dogs", "deadline_hours": 12, "severity": 1},
    {"code": "neighbours", "kind": "dispute", "zh": "邻里", "en": "Neighbours", "deadline_hours": 168, "severity": 1},
    {"code": "labour", "kind": "dispute", "zh": "劳动争议", "en": "Labour", "deadline_hours": 168, "severity": 2}
  ],
  "worker_roles": [{"code": "full_time", "zh": "专职网格员", "en": "Full-time grid worker"}]
}`

// eventsFixture is the Beijing lattice (fixture_locate_test.go), published,
// holding hz, served with taxonomy tax.
func eventsFixture(t *testing.T, tax *data.Taxonomy, hz []data.Hazard) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "events.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	tx, err := store.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	x1, y1 := latticeLon0+latticeCols*latticeStep, latticeLat0+latticeRows*latticeStep
	xm := latticeLon0 + latticeCols/2*latticeStep
	for _, a := range []data.Area{
		{Code: streetCode, Name: "东华门街道", Level: 1, Geometry: box(latticeLon0, latticeLat0, x1, y1)},
		{Code: streetCode + "001", Name: "West", Level: 2, ParentCode: streetCode, Geometry: box(latticeLon0, latticeLat0, xm, y1)},
		{Code: streetCode + "002", Name: "East", Level: 2, ParentCode: streetCode, Geometry: box(xm, latticeLat0, x1, y1)},
	} {
		if _, err := tx.AddArea(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range hz {
		if _, err := tx.AddHazard(ctx, h); err != nil {
			t.Fatalf("event %s: %v", h.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	plan := data.Plan{Target: 300, Resolution: 10}
	for r := range latticeRows {
		for c := range latticeCols {
			x, y := latticeLon0+float64(c)*latticeStep, latticeLat0+float64(r)*latticeStep
			code := latticeGrid(c, r)
			plan.Grids = append(plan.Grids, data.Grid{Code: code, ParentCode: code[:len(code)-3], Name: "grid " + code[len(code)-3:],
				Households: 100, Geometry: box(x, y, x+latticeStep, y+latticeStep)})
		}
	}
	if err := publish(ctx, store, plan); err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Anonymous: data.RoleAdmin, Taxonomy: tax})
	if err := srv.Load(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &fixture{url: hs.URL, store: store, srv: srv}
}

// eventStats is the hazards part of a grid's statistics.
type eventStats struct {
	Reported   int            `json:"reported"`
	Resolved   int            `json:"resolved"`
	Rejected   int            `json:"rejected"`
	Open       int            `json:"open"`
	Overdue    int            `json:"overdue"`
	Repeat     int            `json:"repeat"`
	Closure    *float64       `json:"closure_rate"`
	OnTime     *float64       `json:"on_time_rate"`
	Median     *float64       `json:"median_hours_to_close"`
	P90        *float64       `json:"p90_hours_to_close"`
	ByKind     map[string]int `json:"by_kind"`
	ByCategory map[string]int `json:"by_category"`
	ByStatus   map[string]int `json:"by_status"`
}

func num(x float64) *float64 { return &x }

// checkEventStats compares every figure; want's maps list the nonzero
// counts, and every other key the answer has must be 0.
func checkEventStats(t *testing.T, name string, got, want eventStats) {
	t.Helper()
	same := func(a, b *float64) bool {
		if a == nil || b == nil {
			return a == b
		}
		return math.Abs(*a-*b) < 1e-9
	}
	if got.Reported != want.Reported || got.Resolved != want.Resolved || got.Rejected != want.Rejected || got.Open != want.Open ||
		got.Overdue != want.Overdue || got.Repeat != want.Repeat ||
		!same(got.Closure, want.Closure) || !same(got.OnTime, want.OnTime) || !same(got.Median, want.Median) || !same(got.P90, want.P90) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("%s:\n got %s\nwant %s", name, g, w)
	}
	for _, m := range []struct {
		what      string
		got, want map[string]int
		keys      []string // every one must be present
	}{
		{"by_kind", got.ByKind, want.ByKind, []string{"hazard", "dispute"}},
		{"by_category", got.ByCategory, want.ByCategory, []string{"fire", "water", "traffic", "stray_dogs", "neighbours", "labour"}},
		{"by_status", got.ByStatus, want.ByStatus, data.StatusNames()},
	} {
		for _, k := range m.keys {
			if _, ok := m.got[k]; !ok {
				t.Errorf("%s: %s lacks %q: %v", name, m.what, k, m.got)
			}
		}
		for k, n := range m.got {
			if n != m.want[k] {
				t.Errorf("%s: %s[%s] = %d, want %d", name, m.what, k, n, m.want[k])
			}
		}
		for k, n := range m.want {
			if m.got[k] != n {
				t.Errorf("%s: %s[%s] = %d, want %d", name, m.what, k, m.got[k], n)
			}
		}
	}
}

// TestGridStatsEvents checks every figure of the event loop through the
// HTTP API over a real GeoPackage: a table of events with known states
// and times in two grids of the lattice. Times are hours or days away
// from the moment the test starts, so the server's clock, read a little
// later, judges them all the same way.
func TestGridStatsEvents(t *testing.T) {
	tax, err := data.ParseTaxonomy(strings.NewReader(eventsTaxonomy), "events.json")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	t0 := now.Add(-300 * 24 * time.Hour)
	h, day := time.Hour, 24*time.Hour
	a, _ := latticeCell(2, 2) // grids are 0.005° square: some 425 m wide, 555 m tall
	b, _ := latticeCell(5, 3)
	gridA, gridB := latticeGrid(2, 2), latticeGrid(5, 3)
	at := func(p orb.Point, bearing, dist float64) orb.Point {
		return geo.PointAtBearingAndDistance(p, bearing, dist)
	}
	var zero time.Time
	ev := func(id string, p orb.Point, cat string, st data.Status, reported, due, resolved time.Time) data.Hazard {
		return data.Hazard{ID: id, Point: p, Category: cat, Severity: 2, Status: st, ReportedAt: reported, DueAt: due, ResolvedAt: resolved}
	}
	a1Resolved, b1Resolved := t0.Add(10*h), t0.Add(50*h)
	hz := []data.Hazard{
		// Grid A.
		ev("a1", a, "fire", data.StatusClosed, t0, t0.Add(24*h), a1Resolved),                                           // on time, 10 h
		ev("a2", at(a, 0, 200), "fire", data.StatusVerified, t0.Add(day), zero, t0.Add(day+30*h)),                      // late by the taxonomy (24 h), 30 h
		ev("a3", at(a, 225, 180), "water", data.StatusResolved, t0.Add(2*day), t0.Add(2*day+48*h), t0.Add(2*day+20*h)), // on time, 20 h
		ev("a4", at(a, 135, 150), "traffic", data.StatusRejected, t0.Add(3*day), zero, zero),
		ev("a5", at(a, 90, 150), "fire", data.StatusReported, now.Add(-48*h), zero, zero),                      // overdue by the taxonomy: due 24 h ago
		ev("a6", at(a, 315, 150), "water", data.StatusAssigned, now.Add(-10*h), zero, zero),                    // due in 38 h
		ev("a7", at(a, 180, 150), "traffic", data.StatusInProgress, now.Add(-200*h), now.Add(100*h), zero),     // its due_at, not the taxonomy's, decides
		ev("a8", at(a, 45, 150), "neighbours", data.StatusEscalated, now.Add(-30*day), now.Add(-h), zero),      // overdue by its due_at
		ev("r-in", at(a, 90, 99.9), "fire", data.StatusRejected, a1Resolved.Add(90*day), zero, zero),           // repeats a1: 99.9 m, 90 days
		ev("r-far", at(a, 270, 101), "fire", data.StatusRejected, a1Resolved.Add(5*day), zero, zero),           // 101 m: no
		ev("r-late", at(a, 180, 50), "fire", data.StatusAccepted, a1Resolved.Add(91*day), now.Add(48*h), zero), // 91 days: no
		ev("r-cat", at(a, 90, 10), "water", data.StatusReopened, a1Resolved.Add(day), now.Add(24*h), zero),     // another category: no
		ev("r-before", at(a, 0, 20), "fire", data.StatusRejected, a1Resolved.Add(-h), zero, zero),              // before a1 was resolved: no
		// Grid B.
		ev("b1", b, "fire", data.StatusClosed, t0, t0.Add(24*h), b1Resolved),                               // late, 50 h
		ev("b2", at(b, 180, 200), "labour", data.StatusClosed, t0.Add(10*day), zero, t0.Add(10*day+100*h)), // on time by the taxonomy (168 h), 100 h
		ev("b3", at(b, 0, 99.9), "fire", data.StatusReported, b1Resolved.Add(day), zero, zero),             // repeats b1; overdue
		ev("b4", at(b, 90, 150), "water", data.StatusClosed, t0.Add(day), zero, zero),                      // done, no resolved_at: no time, not timed
		ev("b5", at(b, 270, 150), "stray_dogs", data.StatusAssigned, now.Add(-13*h), zero, zero),           // overdue by this taxonomy's 12 h
		ev("b6", at(b, 315, 150), "potholes", data.StatusReported, t0, zero, zero),                         // a category the taxonomy lacks: no kind, no due
		ev("b7", at(b, 225, 150), "stray_dogs", data.StatusRejected, now.Add(-2*day), zero, zero),
	}
	f := eventsFixture(t, tax, hz)
	type gridDoc struct {
		Code    string
		Hazards eventStats
	}
	get := func(path string, v any) {
		t.Helper()
		res, body := f.do(t, "GET", path, nil)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, res.StatusCode, body)
		}
		// Decoding into maps adds to them: start from nothing.
		reflect.ValueOf(v).Elem().SetZero()
		decode(t, body, v)
	}

	wantA := eventStats{Reported: 13, Resolved: 3, Rejected: 4, Open: 6, Overdue: 2, Repeat: 1,
		Closure: num(0.3333), OnTime: num(0.6667), Median: num(20), P90: num(28), // of 10, 20, 30 h
		ByKind:     map[string]int{"hazard": 12, "dispute": 1},
		ByCategory: map[string]int{"fire": 7, "water": 3, "traffic": 2, "neighbours": 1},
		ByStatus: map[string]int{"closed": 1, "verified": 1, "resolved": 1, "rejected": 4, "reported": 1, "assigned": 1,
			"in_progress": 1, "escalated": 1, "accepted": 1, "reopened": 1}}
	wantB := eventStats{Reported: 7, Resolved: 3, Rejected: 1, Open: 3, Overdue: 2, Repeat: 1,
		Closure: num(0.5), OnTime: num(0.5), Median: num(75), P90: num(95), // of 50, 100 h
		ByKind:     map[string]int{"hazard": 5, "dispute": 1},
		ByCategory: map[string]int{"fire": 2, "labour": 1, "water": 1, "stray_dogs": 2, "potholes": 1},
		ByStatus:   map[string]int{"closed": 3, "reported": 2, "assigned": 1, "rejected": 1}}
	wantTotal := eventStats{Reported: 20, Resolved: 6, Rejected: 5, Open: 9, Overdue: 4, Repeat: 2,
		Closure: num(0.4), OnTime: num(0.6), Median: num(30), P90: num(80), // of 10, 20, 30, 50, 100 h: rank 3.6
		ByKind:     map[string]int{"hazard": 17, "dispute": 2},
		ByCategory: map[string]int{"fire": 9, "water": 4, "traffic": 2, "neighbours": 1, "labour": 1, "stray_dogs": 2, "potholes": 1},
		ByStatus: map[string]int{"closed": 4, "verified": 1, "resolved": 1, "rejected": 5, "reported": 3, "assigned": 2,
			"in_progress": 1, "escalated": 1, "accepted": 1, "reopened": 1}}

	var one gridDoc
	get("/v1/grids/"+gridA+"/stats?coverage=false", &one)
	checkEventStats(t, "grid A", one.Hazards, wantA)
	get("/v1/grids/"+gridB+"/stats", &one)
	checkEventStats(t, "grid B", one.Hazards, wantB)

	var all struct {
		AsOf  string `json:"as_of"`
		Total gridDoc
		Grids []gridDoc
	}
	get("/v1/grids/stats?limit=100", &all)
	checkEventStats(t, "total", all.Total.Hazards, wantTotal)
	if asOf, err := time.Parse(time.RFC3339, all.AsOf); err != nil || asOf.Before(now) {
		t.Errorf("as_of %q: %v", all.AsOf, err)
	}
	empty := 0
	for _, g := range all.Grids {
		switch g.Code {
		case gridA:
			checkEventStats(t, "grid A in the list", g.Hazards, wantA)
		case gridB:
			checkEventStats(t, "grid B in the list", g.Hazards, wantB)
		default:
			checkEventStats(t, "grid "+g.Code, g.Hazards, eventStats{})
			empty++
		}
	}
	if empty != latticeCols*latticeRows-2 {
		t.Errorf("%d grids without events, want %d", empty, latticeCols*latticeRows-2)
	}

	// A period: r-in still repeats a1, which was resolved before it.
	get("/v1/grids/"+gridA+"/stats?since="+now.Add(-295*day).Format(time.RFC3339), &one)
	checkEventStats(t, "grid A since", one.Hazards, eventStats{Reported: 7, Rejected: 2, Open: 5, Overdue: 2, Repeat: 1,
		Closure: num(0), ByKind: map[string]int{"hazard": 6, "dispute": 1},
		ByCategory: map[string]int{"fire": 4, "water": 1, "traffic": 1, "neighbours": 1},
		ByStatus:   map[string]int{"reported": 1, "assigned": 1, "in_progress": 1, "escalated": 1, "rejected": 2, "accepted": 1}})

	// Filters take any category or kind; one the taxonomy lacks counts
	// what the data has of it (potholes), or nothing: never a 400.
	get("/v1/grids/stats?kind=dispute&limit=1", &all)
	checkEventStats(t, "disputes", all.Total.Hazards, eventStats{Reported: 2, Resolved: 1, Open: 1, Overdue: 1,
		Closure: num(0.5), OnTime: num(1), Median: num(100), P90: num(100), ByKind: map[string]int{"dispute": 2},
		ByCategory: map[string]int{"neighbours": 1, "labour": 1}, ByStatus: map[string]int{"escalated": 1, "closed": 1}})
	get("/v1/grids/stats?category=stray_dogs&limit=1", &all)
	checkEventStats(t, "stray dogs", all.Total.Hazards, eventStats{Reported: 2, Rejected: 1, Open: 1, Overdue: 1,
		Closure: num(0), ByKind: map[string]int{"hazard": 2}, ByCategory: map[string]int{"stray_dogs": 2},
		ByStatus: map[string]int{"assigned": 1, "rejected": 1}})
	get("/v1/grids/stats?category=potholes&limit=1", &all)
	checkEventStats(t, "potholes", all.Total.Hazards, eventStats{Reported: 1, Open: 1, Closure: num(0),
		ByCategory: map[string]int{"potholes": 1}, ByStatus: map[string]int{"reported": 1}})
	for _, q := range []string{"category=ufo", "kind=ufo"} {
		get("/v1/grids/stats?limit=1&"+q, &all)
		checkEventStats(t, q, all.Total.Hazards, eventStats{})
	}
}

// TestEventFiltersAnyCategory: the read filters and their documents follow
// the taxonomy in use, and a category it lacks is an empty answer.
func TestEventFiltersAnyCategory(t *testing.T) {
	tax, err := data.ParseTaxonomy(strings.NewReader(eventsTaxonomy), "events.json")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := latticeCell(3, 3)
	var hz []data.Hazard
	for i := range 40 {
		hz = append(hz, data.Hazard{ID: fmt.Sprintf("dog/%d", i), Category: "stray_dogs", Severity: 1,
			Status: data.StatusReported, Point: orb.Point{c[0] + float64(i%7)*1e-4, c[1] + float64(i/7)*1e-4},
			ReportedAt: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	}
	f := eventsFixture(t, tax, hz)

	// Hotspots: a configured category counts its incidents; one the
	// taxonomy lacks is an analysis of none.
	for _, tc := range []struct {
		category  string
		incidents int
	}{{"stray_dogs", 40}, {"fire", 0}, {"ufo", 0}} {
		res, body := f.do(t, "GET", "/v1/hotspots?category="+tc.category, nil)
		var fc struct{ Incidents int }
		if res.StatusCode != 200 || json.Unmarshal(body, &fc) != nil || fc.Incidents != tc.incidents {
			t.Errorf("hotspots?category=%s: %d, %d incidents, want 200 and %d: %.200s", tc.category, res.StatusCode, fc.Incidents, tc.incidents, body)
		}
	}

	// Queryables: the taxonomy's categories and the ten states.
	res, body := f.do(t, "GET", "/collections/hazards/queryables", nil)
	var q struct{ Properties map[string]map[string]any }
	decode(t, body, &q)
	enum := func(name string) []string {
		var out []string
		for _, v := range q.Properties[name]["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if res.StatusCode != 200 || !slices.Equal(enum("category"), tax.CategoryCodes()) || !slices.Equal(enum("status"), data.StatusNames()) {
		t.Errorf("queryables: %d, category %v, status %v", res.StatusCode, q.Properties["category"], q.Properties["status"])
	}
	for _, name := range []string{"assignee", "resp_code", "resp_level"} {
		if q.Properties[name]["type"] == nil {
			t.Errorf("queryable %s: %v", name, q.Properties[name])
		}
	}
	res, body = f.do(t, "GET", "/collections/cameras/queryables", nil)
	decode(t, body, &q)
	if res.StatusCode != 200 || !slices.Equal(enum("status"), data.CameraStatuses()) {
		t.Errorf("camera queryables: %d %v", res.StatusCode, q.Properties["status"])
	}

	// The OpenAPI document lists the taxonomy's categories for the
	// filters, and states the repeat rule where the figures are described.
	res, body = f.do(t, "GET", "/api", nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string
				Schema map[string]any
			}
			Responses map[string]struct{ Description string }
		}
	}
	if res.StatusCode != 200 {
		t.Fatalf("/api: %d", res.StatusCode)
	}
	decode(t, body, &doc)
	for _, path := range []string{"/v1/hotspots", "/v1/grids/stats"} {
		op := doc.Paths[path]["get"]
		found := false
		for _, p := range op.Parameters {
			if p.Name == "category" {
				found = true
				var got []string
				for _, v := range p.Schema["enum"].([]any) {
					got = append(got, v.(string))
				}
				if !slices.Equal(got, tax.CategoryCodes()) {
					t.Errorf("%s category enum %v", path, got)
				}
			}
		}
		if !found {
			t.Errorf("%s has no category parameter", path)
		}
	}
	if d := doc.Paths["/v1/grids/stats"]["get"].Responses["200"].Description; !strings.Contains(d, "at most 100 m away") || !strings.Contains(d, "90 days") {
		t.Errorf("the stats answer's description does not state the repeat rule: %q", d)
	}
}
