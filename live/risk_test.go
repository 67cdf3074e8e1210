package live

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/tiles"
)

func mustRules(t *testing.T, js string) *data.RiskRules {
	t.Helper()
	rr, err := data.ParseRiskRules(strings.NewReader(js), "test.json")
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

// open returns n open events of a category and severity, overdue or not.
func openEvents(n int, cat, kind string, sev int, overdue bool) []riskEvent {
	out := make([]riskEvent, n)
	for i := range out {
		out[i] = riskEvent{Category: cat, Kind: kind, Severity: sev, Overdue: overdue}
	}
	return out
}

func share(x float64) *float64 { return &x }

// reasonOf is a reason as the table states it: rule, level, value.
type reasonOf struct {
	rule  string
	level string
	value float64
}

// TestRiskRules is a table per rule of the default rules (data/risk.json:
// open_weighted ≥ 4/8/12, overdue ≥ 1/3/5, overdue of severity 3 ≥ 1/2,
// hotspot bin ≥ 1/2/3, household coverage < 30%), then the narrowing of
// events and a three-level palette.
func TestRiskRules(t *testing.T) {
	def := data.DefaultRiskRules()
	three := mustRules(t, `{"levels": [
	    {"code": "red", "zh": "红", "en": "Red", "color": "#ff0000"},
	    {"code": "yellow", "zh": "黄", "en": "Yellow", "color": "#ffff00"},
	    {"code": "blue", "zh": "蓝", "en": "Blue", "color": "#0000ff"}],
	  "hotspots": {"res": 9, "window_days": 0},
	  "rules": [
	    {"id": "disputes", "measure": "open_weighted", "kind": "dispute", "severity_weights": [1, 1, 5], "at_least": {"red": 5, "yellow": 2}},
	    {"id": "fire_overdue", "measure": "overdue", "categories": ["fire", "electrical"], "at_least": {"red": 1}},
	    {"id": "cover", "measure": "camera_households_share", "below": {"red": 0.1, "yellow": 0.6}}]}`)
	fire, traffic, neigh := "fire", "traffic", "neighbours"
	tests := []struct {
		name    string
		rules   *data.RiskRules
		facts   gridFacts
		level   string
		reasons []reasonOf
	}{
		{"nothing", def, gridFacts{}, "blue", nil},
		// open_weighted: the severities add up.
		{"open weighing 3", def, gridFacts{Open: openEvents(1, fire, "hazard", 3, false)}, "blue", nil},
		{"open weighing 4", def, gridFacts{Open: openEvents(2, traffic, "hazard", 2, false)}, "yellow",
			[]reasonOf{{"open_weighted", "yellow", 4}}},
		{"open weighing 8", def, gridFacts{Open: append(openEvents(2, fire, "hazard", 3, false), openEvents(1, traffic, "hazard", 2, false)...)}, "orange",
			[]reasonOf{{"open_weighted", "orange", 8}}},
		{"open weighing 12", def, gridFacts{Open: openEvents(4, fire, "hazard", 3, false)}, "red",
			[]reasonOf{{"open_weighted", "red", 12}}},
		{"severity 0 counts as 1", def, gridFacts{Open: openEvents(4, neigh, "dispute", 0, false)}, "yellow",
			[]reasonOf{{"open_weighted", "yellow", 4}}},
		// overdue, and overdue of severity 3.
		{"1 overdue", def, gridFacts{Open: openEvents(1, neigh, "dispute", 1, true)}, "yellow",
			[]reasonOf{{"overdue", "yellow", 1}}},
		{"3 overdue", def, gridFacts{Open: append(openEvents(3, neigh, "dispute", 1, true), openEvents(2, neigh, "dispute", 1, false)...)}, "orange",
			[]reasonOf{{"overdue", "orange", 3}, {"open_weighted", "yellow", 5}}},
		{"5 overdue", def, gridFacts{Open: openEvents(5, neigh, "dispute", 1, true)}, "red",
			[]reasonOf{{"overdue", "red", 5}, {"open_weighted", "yellow", 5}}},
		{"1 overdue of severity 3", def, gridFacts{Open: openEvents(1, fire, "hazard", 3, true)}, "orange",
			[]reasonOf{{"overdue_severe", "orange", 1}, {"overdue", "yellow", 1}}},
		{"2 overdue of severity 3", def, gridFacts{Open: openEvents(2, fire, "hazard", 3, true)}, "red",
			[]reasonOf{{"overdue_severe", "red", 2}, {"open_weighted", "yellow", 6}, {"overdue", "yellow", 2}}},
		// hotspot_bin.
		{"hotspot bin 0", def, gridFacts{HotBin: 0}, "blue", nil},
		{"hotspot bin 1", def, gridFacts{HotBin: 1}, "yellow", []reasonOf{{"hotspot", "yellow", 1}}},
		{"hotspot bin 2", def, gridFacts{HotBin: 2}, "orange", []reasonOf{{"hotspot", "orange", 2}}},
		{"hotspot bin 3", def, gridFacts{HotBin: 3}, "red", []reasonOf{{"hotspot", "red", 3}}},
		// camera_households_share.
		{"coverage unknown", def, gridFacts{HouseholdsShare: nil}, "blue", nil},
		{"coverage 12%", def, gridFacts{HouseholdsShare: share(0.12)}, "yellow", []reasonOf{{"camera_coverage", "yellow", 0.12}}},
		{"coverage 30% is not below 30%", def, gridFacts{HouseholdsShare: share(0.3)}, "blue", nil},
		{"coverage 0", def, gridFacts{HouseholdsShare: share(0)}, "yellow", []reasonOf{{"camera_coverage", "yellow", 0}}},
		// The highest level wins; reasons by level, then in the rules' order.
		{"several rules", def, gridFacts{Open: openEvents(1, neigh, "dispute", 1, true), HotBin: 3, HouseholdsShare: share(0.05)}, "red",
			[]reasonOf{{"hotspot", "red", 3}, {"overdue", "yellow", 1}, {"camera_coverage", "yellow", 0.05}}},
		// Narrowing: kind and weights, categories; a three-level palette.
		{"three levels: hazards do not count as disputes", three, gridFacts{Open: openEvents(3, fire, "hazard", 3, false)}, "blue", nil},
		{"three levels: disputes weighted 1, 1, 5", three, gridFacts{Open: append(openEvents(1, neigh, "dispute", 1, false), openEvents(1, "land_demolition", "dispute", 3, false)...)}, "red",
			[]reasonOf{{"disputes", "red", 6}}},
		{"three levels: 2 disputes", three, gridFacts{Open: openEvents(2, neigh, "dispute", 2, false)}, "yellow",
			[]reasonOf{{"disputes", "yellow", 2}}},
		{"three levels: overdue fire counts", three, gridFacts{Open: openEvents(1, fire, "hazard", 3, true)}, "red",
			[]reasonOf{{"fire_overdue", "red", 1}}},
		{"three levels: overdue traffic does not", three, gridFacts{Open: openEvents(1, traffic, "hazard", 2, true)}, "blue", nil},
		{"three levels: coverage 5%", three, gridFacts{HouseholdsShare: share(0.05)}, "red", []reasonOf{{"cover", "red", 0.05}}},
		{"three levels: coverage 50%", three, gridFacts{HouseholdsShare: share(0.5)}, "yellow", []reasonOf{{"cover", "yellow", 0.5}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := evaluateRisk(tc.rules, &tc.facts)
			if code := tc.rules.Levels[got.Level].Code; code != tc.level {
				t.Errorf("level %s, want %s", code, tc.level)
			}
			var reasons []reasonOf
			for _, r := range got.Reasons {
				reasons = append(reasons, reasonOf{r.Rule, tc.rules.Levels[r.Level].Code, r.Value})
			}
			if !slices.Equal(reasons, tc.reasons) {
				t.Errorf("reasons %v, want %v", reasons, tc.reasons)
			}
		})
	}
}

// TestRiskReasonText: the words of each measure in both languages, and
// coverage without its figure for roles that may not see cameras.
func TestRiskReasonText(t *testing.T) {
	tax := data.DefaultTaxonomy()
	tests := []struct {
		r       RiskReason
		cameras bool
		en, zh  string
	}{
		{RiskReason{Measure: data.MeasureOverdue, Value: 3, Threshold: 3, Events: []CategoryCount{{"fire", 3, 3}}}, true,
			"3 overdue fire events (≥ 3)", "超期消防事件3件（≥3）"},
		{RiskReason{Measure: data.MeasureOverdue, Value: 1, Threshold: 1, Events: []CategoryCount{{"public_order", 1, 1}}}, true,
			"1 overdue public order event (≥ 1)", "超期治安事件1件（≥1）"},
		{RiskReason{Measure: data.MeasureOverdue, Value: 3, Threshold: 2, MinSeverity: 3, Events: []CategoryCount{{"fire", 2, 2}, {"stray_dogs", 1, 1}}}, true,
			"3 overdue events of severity ≥ 3 (≥ 2): 2 fire, 1 stray_dogs", "严重程度≥3的超期事件3件（≥2）：消防2件、stray_dogs1件"},
		{RiskReason{Measure: data.MeasureOpenWeighted, Value: 7.5, Threshold: 4, Kind: "dispute", Events: []CategoryCount{{"labour", 2, 7.5}}}, true,
			"open events (dispute) weighted by severity 7.5 (≥ 4): 2 labour", "矛盾纠纷类未办结事件按严重程度加权7.5（≥4）：劳动争议2件"},
		{RiskReason{Measure: data.MeasureHotspotBin, Value: 2, Threshold: 1}, true, "hotspot bin +2 (≥ +1)", "热点等级+2（≥+1）"},
		{RiskReason{Measure: data.MeasureCameraHouseholds, Value: 0.1234, Threshold: 0.3, Below: true}, true,
			"camera coverage of households 12.3% < 30%", "视频覆盖户数12.3% < 30%"},
		{RiskReason{Measure: data.MeasureCameraHouseholds, Value: 0.2999, Threshold: 0.3, Below: true}, true,
			"camera coverage of households 29.9% < 30%", "视频覆盖户数29.9% < 30%"},
		{RiskReason{Measure: data.MeasureCameraHouseholds, Value: 0.1234, Threshold: 0.3, Below: true}, false,
			"camera coverage of households < 30%", "视频覆盖户数 < 30%"},
	}
	for _, tc := range tests {
		if got := tc.r.Text("en", tax, tc.cameras); got != tc.en {
			t.Errorf("en: %q, want %q", got, tc.en)
		}
		if got := tc.r.Text("zh", tax, tc.cameras); got != tc.zh {
			t.Errorf("zh: %q, want %q", got, tc.zh)
		}
	}
}

// riskService is a service following a GeoPackage holding plan and hz,
// with rules, and another handle on the file to write through.
func riskService(t *testing.T, rules *data.RiskRules, plan data.Plan, hz []data.Hazard) (*Service, data.Store, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "risk.gpkg")
	store, err := gpkg.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	tx, err := store.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, h := range hz {
		if _, err := tx.AddHazard(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	id, err := tx.SavePlan(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PublishPlan(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	other, err := gpkg.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return startService(t, store, rules), other, path
}

func startService(t *testing.T, store data.Store, rules *data.RiskRules) *Service {
	t.Helper()
	ctx := context.Background()
	svc := New(Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Poll: 10 * time.Millisecond, Risk: rules})
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); svc.Run(runCtx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return svc
}

// TestRiskFollowsTheFeed: a grid's level follows the events written by
// another handle on the file (as the CLI or QGIS would), through the
// change feed: the risk worker recomputes it after the batch, a grid tile
// shows it, and only the tiles of the grid whose level changed leave the
// cache. Two services at one version agree on the risk and on the tile.
func TestRiskFollowsTheFeed(t *testing.T) {
	rules := mustRules(t, `{"levels": [
	    {"code": "red", "zh": "红", "en": "Red", "color": "#ff0000"},
	    {"code": "yellow", "zh": "黄", "en": "Yellow", "color": "#ffff00"},
	    {"code": "blue", "zh": "蓝", "en": "Blue", "color": "#0000ff"}],
	  "hotspots": {"res": 9, "window_days": 0},
	  "rules": [{"id": "overdue", "measure": "overdue", "at_least": {"red": 2, "yellow": 1}}]}`)
	// Grids A and B 0.1° apart, so that no z14 tile holds both.
	plan := data.Plan{Target: 100, Resolution: 10}
	for i, code := range []string{"A", "B"} {
		x := statsLon0 + 0.1*float64(i)
		plan.Grids = append(plan.Grids, data.Grid{Code: code, Name: "grid " + code, ParentCode: "S", Households: 100,
			Geometry: statsBox(x, statsLat0, x+statsStep, statsLat0+statsStep)})
	}
	inA := orb.Point{statsLon0 + statsStep/2, statsLat0 + statsStep/2}
	inB := orb.Point{inA[0] + 0.1, inA[1]}
	long := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	overdue := func(id string, p orb.Point) data.Hazard {
		return data.Hazard{ID: id, Point: p, Category: "fire", Severity: 3, Status: data.StatusReported, ReportedAt: long, DueAt: long.Add(24 * time.Hour)}
	}
	svc, other, path := riskService(t, rules, plan, []data.Hazard{overdue("b1", inB), overdue("b2", inB)})
	ctx := context.Background()
	levels := func(r *Risk) string {
		var s []string
		for _, g := range r.Grids {
			s = append(s, r.Rules.Levels[g.Level].Code)
		}
		return strings.Join(s, ",")
	}
	r, err := svc.Risk(ctx)
	if err != nil || r == nil {
		t.Fatalf("risk %v, %v", r, err)
	}
	if got := levels(r); got != "blue,red" {
		t.Fatalf("levels %s, want blue,red", got)
	}
	// Its moment is the feed's time of the version, not the clock's.
	ch, err := svc.Store().Changes(ctx, data.ChangeQuery{After: svc.Version() - 1, UpTo: svc.Version(), Limit: 1})
	if err != nil || len(ch) != 1 || !r.AsOf.Equal(ch[0].At) {
		t.Errorf("as of %v; the feed's entry %v (%v)", r.AsOf, ch, err)
	}

	layers := []string{tiles.LayerGrids}
	tA, tB := maptile.At(inA, 14), maptile.At(inB, 14)
	tile := func(tl maptile.Tile) []byte {
		t.Helper()
		e, err := svc.Tile(ctx, layers, tl)
		if err != nil {
			t.Fatal(err)
		}
		return e.Raw
	}
	beforeA, beforeB := tile(tA), tile(tB)
	if !bytes.Contains(beforeA, []byte("blue")) || !bytes.Contains(beforeB, []byte("red")) || !bytes.Contains(beforeA, []byte("risk")) {
		t.Fatalf("tiles do not carry the risk: A %q, B %q", beforeA, beforeB)
	}

	// An overdue event in A, written by another handle.
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.AddHazard(ctx, overdue("a1", inA)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// The worker recomputes it after the batch, with no reader asking.
	waitRisk(t, svc, "yellow,red", levels)
	// Grid A's tile is drawn again, grid B's stays cached.
	rendered := false
	if _, err := svc.TileCache().Get(tiles.TileKey(layers, tB), layers, tB, func() (*tiles.Encoded, error) {
		rendered = true
		return tiles.Encode(beforeB), nil
	}); err != nil || rendered {
		t.Errorf("grid B's tile left the cache (rendered again: %v, %v); its level did not change", rendered, err)
	}
	afterA := tile(tA)
	if bytes.Equal(afterA, beforeA) || !bytes.Contains(afterA, []byte("yellow")) {
		t.Errorf("grid A's tile did not change to yellow: %q", afterA)
	}

	// Another service over the file, loaded now, at the same version: the
	// same risk and the same tile bytes.
	store2, err := gpkg.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store2.Close() })
	svc2 := startService(t, store2, rules)
	if _, err := svc2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if svc.Version() != svc2.Version() {
		t.Fatalf("versions %d and %d after both synced with the file", svc.Version(), svc2.Version())
	}
	{
		r1, _ := svc.Risk(ctx)
		r2, _ := svc2.Risk(ctx)
		if levels(r1) != levels(r2) || !r1.AsOf.Equal(r2.AsOf) {
			t.Errorf("two services at version %d: %s as of %v, %s as of %v", svc.Version(), levels(r1), r1.AsOf, levels(r2), r2.AsOf)
		}
		e2, err := svc2.Tile(ctx, layers, tA)
		if err != nil || !bytes.Equal(e2.Raw, tile(tA)) {
			t.Errorf("two services at one version draw grid A's tile differently (%v)", err)
		}
	}

	// Resolved: back to blue.
	tx, err = other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a1 := findHazard(t, svc, "a1")
	a1.Status, a1.ResolvedAt = data.StatusResolved, time.Now().UTC().Truncate(time.Second)
	if err := tx.UpdateHazard(ctx, a1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.Risk(ctx); err != nil || levels(r) != "blue,red" {
		t.Errorf("after the event was resolved: %v (%v), want blue,red", r, err)
	}
	if got := tile(tA); !bytes.Contains(got, []byte("blue")) {
		t.Errorf("grid A's tile after the event was resolved: %q", got)
	}
}

// waitRisk waits until the worker's latest risk has the levels want,
// failing after ten seconds (a stuck worker, not a slow one).
func waitRisk(t *testing.T, svc *Service, want string, levels func(*Risk) string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r := svc.LatestRisk(); r != nil && levels(r) == want {
			return
		}
		if time.Now().After(deadline) {
			got := "none"
			if r := svc.LatestRisk(); r != nil {
				got = levels(r)
			}
			t.Fatalf("the risk worker did not compute the levels %s after the batch (latest: %s)", want, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func findHazard(t *testing.T, svc *Service, id string) data.Hazard {
	t.Helper()
	var out data.Hazard
	found := false
	svc.EachHazard(func(h data.Hazard) {
		if h.ID == id {
			out, found = h, true
		}
	})
	if !found {
		t.Fatalf("no hazard %s", id)
	}
	return out
}
