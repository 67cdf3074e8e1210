package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
)

// The rollup fixture: two streets of two communities of two grids near
// Beijing, 40 events over January–March 2025, a roster and three cameras.
// Every figure below is worked out by hand from the event table in
// rollupEvents; the test checks every one at every level, and that the
// children add up to their parent.
//
//	street 110101001 (x 116.30–116.34)   street 110101002 (x 116.34–116.38)
//	  community …001001 (y 39.90–39.92)   community …002001 (y 39.90–39.92)
//	    grids …001, …002 (0.02° squares)    grids …001, …002
//	  community …001002 (y 39.92–39.94)   community …002002 (y 39.92–39.94)
//	    grids …001, …002                    grids …001, …002
const (
	rollLon0, rollLat0 = 116.30, 39.90
	rollStep           = 0.02
)

// rollGrids are the grid codes in order g = 1…8, with their households.
var rollGrids = []struct {
	code string
	hh   int
}{
	{"110101001001001", 100}, {"110101001001002", 200}, {"110101001002001", 150}, {"110101001002002", 50},
	{"110101002001001", 300}, {"110101002001002", 100}, {"110101002002001", 250}, {"110101002002002", 50},
}

// rollGridBox is grid g's square (g from 1): streets side by side, the
// communities of a street one above the other, the grids of a community
// side by side.
func rollGridBox(g int) orb.MultiPolygon {
	i := g - 1
	street, comm, cell := i/4, (i/2)%2, i%2
	x := rollLon0 + float64(street*2+cell)*rollStep
	y := rollLat0 + float64(comm)*rollStep
	return box(x, y, x+rollStep, y+rollStep)
}

// rollPoint is event place k (1–5) of grid g: 0.003° (about 256 m) apart,
// so that only events put at one place on purpose repeat each other.
func rollPoint(g, k int) orb.Point {
	b := rollGridBox(g).Bound()
	return orb.Point{b.Min[0] + 0.002 + 0.003*float64(k), b.Min[1] + 0.01}
}

// rollupEvents is the event table. In every grid g:
//
//	e1 fire, closed: reported 2025-01-10 08:00, due 24 h later, resolved after 2g h (on time)
//	e2 traffic, resolved: reported 2025-02-05 10:00, no due_at (72 h), resolved after 10g h (late for g = 8)
//	e3 neighbours (a dispute), in_progress: reported 2025-02-20 09:00, no due_at (168 h): overdue
//	e4 traffic, rejected: reported 2025-03-03 12:00
//
// and a fifth event of its own (none in no grid):
//
//	g1 fire, reported, 2025-03-10 08:00, due 2099: open, not overdue
//	g2 traffic, reported, 2025-03-01, at e2's place, after e2 was resolved: open, overdue, a repeat
//	g3 fire, verified, 2025-03-15, due 24 h, resolved after 30 h: late
//	g4 neighbours, closed, 2025-01-20, no due_at, resolved after 100 h: on time
//	g5 fire, escalated, 2025-03-20, due 2025-03-21: open, overdue
//	g6 traffic, closed without resolved_at (older data): done, not timed
//	g7 neighbours, rejected, 2025-03-25
//	g8 fire, resolved, 2025-01-25, no due_at (24 h), resolved after 5 h: on time
func rollupEvents() []data.Hazard {
	tax := data.DefaultTaxonomy()
	h := time.Hour
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	var out []data.Hazard
	ev := func(g, k int, cat string, st data.Status, reported time.Time, due, resolved time.Time) {
		c, _ := tax.Category(cat)
		out = append(out, data.Hazard{ID: fmt.Sprintf("g%d/e%d", g, k), Point: rollPoint(g, k), Category: cat, Severity: c.Severity,
			Status: st, ReportedAt: reported, DueAt: due, ResolvedAt: resolved})
	}
	var none time.Time
	for g := 1; g <= 8; g++ {
		r1 := at("2025-01-10T08:00:00Z")
		ev(g, 1, "fire", data.StatusClosed, r1, r1.Add(24*h), r1.Add(time.Duration(2*g)*h))
		r2 := at("2025-02-05T10:00:00Z")
		ev(g, 2, "traffic", data.StatusResolved, r2, none, r2.Add(time.Duration(10*g)*h))
		ev(g, 3, "neighbours", data.StatusInProgress, at("2025-02-20T09:00:00Z"), none, none)
		ev(g, 4, "traffic", data.StatusRejected, at("2025-03-03T12:00:00Z"), none, none)
	}
	ev(1, 5, "fire", data.StatusReported, at("2025-03-10T08:00:00Z"), at("2099-01-01T00:00:00Z"), none)
	out = append(out, data.Hazard{ID: "g2/e5", Point: rollPoint(2, 2), Category: "traffic", Severity: 2, Status: data.StatusReported,
		ReportedAt: at("2025-03-01T00:00:00Z")})
	r3 := at("2025-03-15T00:00:00Z")
	ev(3, 5, "fire", data.StatusVerified, r3, r3.Add(24*h), r3.Add(30*h))
	r4 := at("2025-01-20T00:00:00Z")
	ev(4, 5, "neighbours", data.StatusClosed, r4, none, r4.Add(100*h))
	ev(5, 5, "fire", data.StatusEscalated, at("2025-03-20T00:00:00Z"), at("2025-03-21T00:00:00Z"), none)
	ev(6, 5, "traffic", data.StatusClosed, at("2025-01-15T00:00:00Z"), none, none)
	ev(7, 5, "neighbours", data.StatusRejected, at("2025-03-25T00:00:00Z"), none, none)
	r8 := at("2025-01-25T00:00:00Z")
	ev(8, 5, "fire", data.StatusResolved, r8, none, r8.Add(5*h))
	return out
}

// rollupRisk is a three-level palette (红黄蓝) with two rules, so that the
// grid rows' levels can be worked out by hand (the hotspot and coverage
// rules have table tests of their own in live).
const rollupRisk = `{
  "levels": [
    {"code": "red", "zh": "红", "en": "Red", "color": "#d7191c"},
    {"code": "yellow", "zh": "黄", "en": "Yellow", "color": "#fecc5c"},
    {"code": "blue", "zh": "蓝", "en": "Blue", "color": "#2c7bb6"}
  ],
  "hotspots": {"res": 9, "window_days": 0},
  "rules": [
    {"id": "overdue", "measure": "overdue", "at_least": {"red": 2, "yellow": 1}},
    {"id": "open", "measure": "open_weighted", "at_least": {"red": 6, "yellow": 4}}
  ]
}`

// rollupFixture serves the fixture as admin and, over the same file, as
// viewer.
func rollupFixture(t *testing.T) (admin, viewer *fixture) {
	t.Helper()
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "rollup.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	tx, err := store.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var areas []data.Area
	for s := 0; s < 2; s++ {
		street := fmt.Sprintf("11010100%d", s+1)
		x := rollLon0 + float64(2*s)*rollStep
		areas = append(areas, data.Area{Code: street, Name: fmt.Sprintf("街道%d", s+1), NameEn: fmt.Sprintf("Street %d", s+1), Level: 1,
			Geometry: box(x, rollLat0, x+2*rollStep, rollLat0+2*rollStep)})
		for c := 0; c < 2; c++ {
			y := rollLat0 + float64(c)*rollStep
			areas = append(areas, data.Area{Code: fmt.Sprintf("%s00%d", street, c+1), Name: fmt.Sprintf("社区%d-%d", s+1, c+1), Level: 2,
				ParentCode: street, Geometry: box(x, y, x+2*rollStep, y+rollStep)})
		}
	}
	for _, a := range areas {
		if _, err := tx.AddArea(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range rollupEvents() {
		if _, err := tx.AddHazard(ctx, h); err != nil {
			t.Fatalf("event %s: %v", h.ID, err)
		}
	}
	// Cameras: one online and one offline in grid 1, one online in grid 5.
	for _, c := range []data.Camera{
		{ID: "cam1", Point: rollPoint(1, 1), Azimuth: 90, FOV: 90, RangeM: 50, Status: "online"},
		{ID: "cam2", Point: rollPoint(1, 2), Azimuth: 90, FOV: 90, RangeM: 50, Status: "offline"},
		{ID: "cam3", Point: rollPoint(5, 1), Azimuth: 90, FOV: 90, RangeM: 50, Status: "online"},
	} {
		if _, err := tx.AddCamera(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// Workers per grid: g1 2 (w01, w02), g2 1 (w01), g3 1, g5 and g6 1
	// each (w04 serves their community); the chief counts in none.
	for _, w := range []data.Worker{
		{ID: "w01", Name: "王一", Role: "full_time", GridCodes: []string{rollGrids[0].code, rollGrids[1].code}},
		{ID: "w02", Name: "王二", Role: "part_time", GridCodes: []string{rollGrids[0].code}},
		{ID: "w03", Name: "王三", Role: "full_time", GridCodes: []string{rollGrids[2].code}},
		{ID: "w04", Name: "王四", Role: "full_time", GridCodes: []string{"110101002001"}},
		{ID: "c01", Name: "张长", Role: "grid_chief", GridCodes: []string{"110101001001"}},
	} {
		if err := tx.AddWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	plan := data.Plan{Target: 150, Resolution: 10}
	for i, g := range rollGrids {
		plan.Grids = append(plan.Grids, data.Grid{Code: g.code, ParentCode: g.code[:12], Name: fmt.Sprintf("网格%d", i+1),
			Households: g.hh, Geometry: rollGridBox(i + 1)})
	}
	if err := publish(ctx, store, plan); err != nil {
		t.Fatal(err)
	}
	risk, err := data.ParseRiskRules(strings.NewReader(rollupRisk), "rollup-risk.json")
	if err != nil {
		t.Fatal(err)
	}
	serve := func(role data.Role) *fixture {
		srv := api.New(api.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Anonymous: role, Risk: risk})
		if err := srv.Load(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		return &fixture{url: hs.URL, store: store, srv: srv}
	}
	return serve(data.RoleAdmin), serve(data.RoleViewer)
}

// rollFigures is what the test reads of a row's figures.
type rollFigures struct {
	Since       *string  `json:"since"`
	Until       *string  `json:"until"`
	Reported    int      `json:"reported"`
	Closed      int      `json:"closed"`
	Rejected    int      `json:"rejected"`
	Open        int      `json:"open"`
	Overdue     int      `json:"overdue"`
	Repeat      int      `json:"repeat"`
	ClosureRate *float64 `json:"closure_rate"`
	OnTimeRate  *float64 `json:"on_time_rate"`
	Median      *float64 `json:"median_hours_to_close"`
	P90         *float64 `json:"p90_hours_to_close"`
	Per1000     *float64 `json:"per_1000_households"`
}

type rollRow struct {
	AreaCode  string  `json:"area_code"`
	AreaName  string  `json:"area_name"`
	AreaLevel int     `json:"area_level"`
	AreaType  string  `json:"area_type"`
	Period    *string `json:"period"`
	Category  *string `json:"category"`
	rollFigures
	Households     int      `json:"households"`
	Grids          int      `json:"grids"`
	Workers        int      `json:"workers"`
	WorkersPerGrid *float64 `json:"workers_per_grid"`
	Cameras        *struct {
		Online     int      `json:"online"`
		Total      int      `json:"total"`
		OnlineRate *float64 `json:"online_rate"`
	} `json:"cameras"`
	RiskLevel    *string      `json:"risk_level"`
	RiskReasons  []string     `json:"risk_reasons"`
	Previous     *rollFigures `json:"previous"`
	PreviousYear *rollFigures `json:"previous_year"`
}

type rollDoc struct {
	Rows  []rollRow `json:"rows"`
	Total rollRow   `json:"total"`
}

// handFigure is a row's figures worked out by hand: counts, then rates and
// hours (nil for null).
type handFigure struct {
	reported, closed, open, overdue, rejected, repeat int
	closure, onTime, median, p90                      *float64
}

func p(x float64) *float64 { return &x }

// byHand holds every area's and grid's figures over all events, from the
// event table (rollupEvents). Hours to close per grid g: e1 2g, e2 10g,
// and g3's 30, g4's 100, g8's 5.
var byHand = map[string]handFigure{
	// Grids.
	"110101001001001": {5, 2, 2, 1, 1, 0, p(0.5), p(1), p(6), p(9.2)},         // hours 2, 10
	"110101001001002": {5, 2, 2, 2, 1, 1, p(0.5), p(1), p(12), p(18.4)},       // hours 4, 20
	"110101001002001": {5, 3, 1, 1, 1, 0, p(0.75), p(0.6667), p(30), p(30)},   // hours 6, 30, 30
	"110101001002002": {5, 3, 1, 1, 1, 0, p(0.75), p(1), p(40), p(88)},        // hours 8, 40, 100
	"110101002001001": {5, 2, 2, 2, 1, 0, p(0.5), p(1), p(30), p(46)},         // hours 10, 50
	"110101002001002": {5, 3, 1, 1, 1, 0, p(0.75), p(1), p(36), p(55.2)},      // hours 12, 60 (g6's e5 has none)
	"110101002002001": {5, 2, 1, 1, 2, 0, p(0.6667), p(1), p(42), p(64.4)},    // hours 14, 70
	"110101002002002": {5, 3, 1, 1, 1, 0, p(0.75), p(0.6667), p(16), p(67.2)}, // hours 5, 16, 80
	// Communities.
	"110101001001": {10, 4, 4, 3, 2, 1, p(0.5), p(1), p(7), p(17)},        // hours 2, 4, 10, 20
	"110101001002": {10, 6, 2, 2, 2, 0, p(0.75), p(0.8333), p(30), p(70)}, // hours 6, 8, 30, 30, 40, 100
	"110101002001": {10, 5, 3, 3, 2, 0, p(0.625), p(1), p(31), p(57)},     // hours 10, 12, 50, 60
	"110101002002": {10, 5, 2, 2, 3, 0, p(0.7143), p(0.8), p(16), p(76)},  // hours 5, 14, 16, 70, 80
	// Streets.
	"110101001": {20, 10, 6, 5, 4, 1, p(0.625), p(0.9), p(15), p(46)},
	"110101002": {20, 10, 5, 5, 5, 0, p(0.6667), p(0.8889), p(16), p(72)},
	// The county: hours 2 4 5 6 8 10 10 12 14 16 20 30 30 40 50 60 70 80 100.
	"": {40, 20, 11, 10, 9, 1, p(0.6452), p(0.8947), p(16), p(72)},
}

// handStock is each area's and grid's households, grids and workers.
var handStock = map[string][3]int{
	"110101001001001": {100, 1, 2}, "110101001001002": {200, 1, 1}, "110101001002001": {150, 1, 1}, "110101001002002": {50, 1, 0},
	"110101002001001": {300, 1, 1}, "110101002001002": {100, 1, 1}, "110101002002001": {250, 1, 0}, "110101002002002": {50, 1, 0},
	"110101001001": {300, 2, 3}, "110101001002": {200, 2, 1}, "110101002001": {400, 2, 2}, "110101002002": {300, 2, 0},
	"110101001": {500, 4, 4}, "110101002": {700, 4, 2}, "": {1200, 8, 6},
}

func sameNum(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return math.Abs(*a-*b) < 1e-9
}

func showNum(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(*v)
}

// checkFigures compares a row's figures with the hand figures.
func checkHand(t *testing.T, name string, got rollFigures, want handFigure) {
	t.Helper()
	g := handFigure{got.Reported, got.Closed, got.Open, got.Overdue, got.Rejected, got.Repeat, got.ClosureRate, got.OnTimeRate, got.Median, got.P90}
	if g.reported != want.reported || g.closed != want.closed || g.open != want.open || g.overdue != want.overdue ||
		g.rejected != want.rejected || g.repeat != want.repeat || !sameNum(g.closure, want.closure) || !sameNum(g.onTime, want.onTime) ||
		!sameNum(g.median, want.median) || !sameNum(g.p90, want.p90) {
		t.Errorf("%s: reported %d closed %d open %d overdue %d rejected %d repeat %d closure %s on time %s median %s p90 %s;\n"+
			"want reported %d closed %d open %d overdue %d rejected %d repeat %d closure %s on time %s median %s p90 %s",
			name, g.reported, g.closed, g.open, g.overdue, g.rejected, g.repeat, showNum(g.closure), showNum(g.onTime), showNum(g.median), showNum(g.p90),
			want.reported, want.closed, want.open, want.overdue, want.rejected, want.repeat, showNum(want.closure), showNum(want.onTime),
			showNum(want.median), showNum(want.p90))
	}
}

func getRollup(t *testing.T, f *fixture, query string) rollDoc {
	t.Helper()
	res, body := f.do(t, "GET", "/v1/stats?"+query, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/stats?%s: %d %s", query, res.StatusCode, body)
	}
	var doc rollDoc
	decode(t, body, &doc)
	return doc
}

// TestRollupHandFixture checks every figure of every area and grid at
// every level against the hand figures, and that each parent's counts are
// the sum of its children's.
func TestRollupHandFixture(t *testing.T) {
	admin, viewer := rollupFixture(t)
	codes := func(rows []rollRow) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.AreaCode)
		}
		return out
	}
	checkRows := func(query string, wantCodes []string, wantLevel int, wantType string) []rollRow {
		t.Helper()
		doc := getRollup(t, admin, query)
		if got := codes(doc.Rows); !slices.Equal(got, wantCodes) {
			t.Fatalf("%s: rows %q, want %q", query, got, wantCodes)
		}
		for _, r := range doc.Rows {
			name := query + " " + r.AreaCode
			if r.AreaLevel != wantLevel || r.AreaType != wantType {
				t.Errorf("%s: level %d type %s, want %d %s", name, r.AreaLevel, r.AreaType, wantLevel, wantType)
			}
			checkHand(t, name, r.rollFigures, byHand[r.AreaCode])
			st := handStock[r.AreaCode]
			if r.Households != st[0] || r.Grids != st[1] || r.Workers != st[2] {
				t.Errorf("%s: households %d grids %d workers %d, want %v", name, r.Households, r.Grids, r.Workers, st)
			}
			if want := p(math.Round(1000*float64(r.Reported)/float64(st[0])*100) / 100); !sameNum(r.Per1000, want) {
				t.Errorf("%s: per_1000_households %s, want %s", name, showNum(r.Per1000), showNum(want))
			}
			if want := p(math.Round(float64(st[2])/float64(st[1])*100) / 100); !sameNum(r.WorkersPerGrid, want) {
				t.Errorf("%s: workers_per_grid %s, want %s", name, showNum(r.WorkersPerGrid), showNum(want))
			}
			if r.Previous != nil || r.PreviousYear != nil {
				t.Errorf("%s: a previous period without since and until", name)
			}
		}
		checkCounts(t, query+" total", doc.Total.rollFigures, sumOf(doc.Rows))
		return doc.Rows
	}
	county := checkRows("level=0", []string{""}, 0, "county")
	if county[0].Cameras == nil || county[0].Cameras.Online != 2 || county[0].Cameras.Total != 3 || !sameNum(county[0].Cameras.OnlineRate, p(0.6667)) {
		t.Errorf("county cameras %+v, want 2 of 3 online (0.6667)", county[0].Cameras)
	}
	streets := checkRows("level=1", []string{"110101001", "110101002"}, 1, "area")
	if top := checkRows("parent=", []string{"110101001", "110101002"}, 1, "area"); len(top) != 2 {
		t.Fatal("parent= is not the top level")
	}
	communities := checkRows("level=2", []string{"110101001001", "110101001002", "110101002001", "110101002002"}, 2, "area")
	// Children sum to their parent, at every level; rates come from the sums.
	checkSum := func(parent rollRow, kids []rollRow) {
		t.Helper()
		checkCounts(t, "sum of the children of "+parent.AreaCode, parent.rollFigures, sumOf(kids))
		if want := p(math.Round(float64(parent.Closed)/float64(parent.Reported-parent.Rejected)*1e4) / 1e4); !sameNum(parent.ClosureRate, want) {
			t.Errorf("%q: closure rate %s, not closed / (reported − rejected) of the sums, %s", parent.AreaCode, showNum(parent.ClosureRate), showNum(want))
		}
		var hh, grids, workers int
		for _, k := range kids {
			hh, grids, workers = hh+k.Households, grids+k.Grids, workers+k.Workers
		}
		if hh != parent.Households || grids != parent.Grids || workers != parent.Workers {
			t.Errorf("children of %q: households %d grids %d workers %d; the parent has %d %d %d", parent.AreaCode, hh, grids, workers,
				parent.Households, parent.Grids, parent.Workers)
		}
	}
	checkSum(county[0], streets)
	checkSum(county[0], communities)
	for _, s := range streets {
		kids := checkRows("parent="+s.AreaCode, []string{s.AreaCode + "001", s.AreaCode + "002"}, 2, "area")
		checkSum(s, kids)
	}
	var allGrids []rollRow
	for _, c := range communities {
		kids := checkRows("parent="+c.AreaCode, []string{c.AreaCode + "001", c.AreaCode + "002"}, 3, "grid")
		checkSum(c, kids)
		allGrids = append(allGrids, kids...)
	}
	checkSum(county[0], allGrids)

	// Grid rows carry their risk (rollupRisk): g1 has 1 overdue event and
	// open events weighing 4 (neighbours 1 + fire 3): yellow; g2 has 2
	// overdue: red, its open events weigh 3 (neighbours 1 + traffic 2).
	doc := getRollup(t, admin, "parent=110101001001")
	g1, g2 := doc.Rows[0], doc.Rows[1]
	if g1.RiskLevel == nil || *g1.RiskLevel != "yellow" || !slices.Equal(g1.RiskReasons, []string{
		"1 overdue neighbours event (≥ 1)", "open events weighted by severity 4 (≥ 4): 1 fire, 1 neighbours"}) {
		t.Errorf("grid 1 risk %v %q", g1.RiskLevel, g1.RiskReasons)
	}
	if g2.RiskLevel == nil || *g2.RiskLevel != "red" || !slices.Equal(g2.RiskReasons, []string{"2 overdue events (≥ 2): 1 neighbours, 1 traffic"}) {
		t.Errorf("grid 2 risk %v %q", g2.RiskLevel, g2.RiskReasons)
	}
	zh := getRollup(t, admin, "parent=110101001001&lang=zh")
	if got := zh.Rows[1].RiskReasons; !slices.Equal(got, []string{"超期事件2件（≥2）：邻里1件、交通1件"}) {
		t.Errorf("grid 2 reasons in Chinese %q", got)
	}
	if county[0].RiskLevel != nil || streets[0].RiskLevel != nil {
		t.Error("a risk level on a row that is not a grid")
	}

	// Viewers get the same counts and no camera figures.
	v := getRollup(t, viewer, "level=1")
	for i, r := range v.Rows {
		if r.Cameras != nil {
			t.Errorf("viewer sees cameras in %s", r.AreaCode)
		}
		checkHand(t, "viewer "+r.AreaCode, r.rollFigures, byHand[streets[i].AreaCode])
	}

	t.Run("month", func(t *testing.T) {
		// January: e1 × 8, g4's, g6's and g8's fifth events, all done
		// (g6's without resolved_at); hours 2 4 … 16, 100, 5. February:
		// e2 × 8 done (g8's late), e3 × 8 open and overdue. March: e4 × 8
		// and g7's rejected, g1's open, g2's open overdue repeat, g3's
		// done late, g5's open overdue.
		months := map[string]handFigure{
			"2025-01": {11, 11, 0, 0, 0, 0, p(1), p(1), p(9), p(24.4)},
			"2025-02": {16, 8, 8, 8, 0, 0, p(0.5), p(0.875), p(45), p(73)},
			"2025-03": {13, 1, 3, 2, 9, 1, p(0.25), p(0), p(30), p(30)},
		}
		doc := getRollup(t, admin, "level=0&group_by=month&since=2025-01-01&until=2025-04-01")
		var got []string
		for _, r := range doc.Rows {
			got = append(got, *r.Period)
			checkHand(t, *r.Period, r.rollFigures, months[*r.Period])
		}
		if !slices.Equal(got, []string{"2025-01", "2025-02", "2025-03"}) {
			t.Fatalf("periods %q", got)
		}
		checkCounts(t, "months' sum", doc.Total.rollFigures, sumOf(doc.Rows))
		checkHand(t, "months' total", doc.Total.rollFigures, byHand[""])
		// Month on month: February's previous is January; a year before
		// holds nothing.
		zero := handFigure{}
		checkHand(t, "previous of 2025-01", *doc.Rows[0].Previous, zero)
		checkHand(t, "previous of 2025-02", *doc.Rows[1].Previous, months["2025-01"])
		checkHand(t, "previous of 2025-03", *doc.Rows[2].Previous, months["2025-02"])
		for _, r := range doc.Rows {
			checkHand(t, "year before "+*r.Period, *r.PreviousYear, zero)
		}
		if s := doc.Rows[1].Previous.Since; s == nil || *s != "2025-01-01T00:00:00Z" {
			t.Errorf("previous of February starts %v", s)
		}
		// By street and month: each street's months add up to the street.
		doc = getRollup(t, admin, "level=1&group_by=area,month&since=2025-01-01&until=2025-04-01")
		if len(doc.Rows) != 6 {
			t.Fatalf("%d rows, want 2 streets × 3 months", len(doc.Rows))
		}
		for _, street := range []string{"110101001", "110101002"} {
			var rows []rollRow
			for _, r := range doc.Rows {
				if r.AreaCode == street {
					rows = append(rows, r)
				}
			}
			checkCounts(t, street+" by month", sumOf(rows).figures(), byHand[street])
		}
		// In Beijing's calendar a month starts 8 hours earlier: nothing
		// here is reported within 8 hours of a month's end.
		doc = getRollup(t, admin, "level=0&group_by=month&since=2025-01-01&until=2025-04-01&tz=%2B08:00")
		if len(doc.Rows) != 3 || *doc.Rows[0].Period != "2025-01" || doc.Rows[0].Since == nil || *doc.Rows[0].Since != "2025-01-01T00:00:00+08:00" {
			t.Errorf("months in +08:00: %d rows, first since %v", len(doc.Rows), doc.Rows[0].Since)
		}
	})

	t.Run("previous window", func(t *testing.T) {
		// [Feb 1, Apr 1) is 59 days: the window before is [Dec 4, Feb 1),
		// January's events.
		doc := getRollup(t, admin, "level=0&since=2025-02-01&until=2025-04-01")
		r := doc.Rows[0]
		// Hours 10 20 … 80 and 30; on time 7 of 9.
		checkHand(t, "February and March", r.rollFigures, handFigure{29, 9, 11, 10, 9, 1, p(0.45), p(0.7778), p(40), p(72)})
		if r.Previous == nil || r.Previous.Since == nil || *r.Previous.Since != "2024-12-04T00:00:00Z" {
			t.Fatalf("previous %+v", r.Previous)
		}
		checkHand(t, "the window before", *r.Previous, handFigure{11, 11, 0, 0, 0, 0, p(1), p(1), p(9), p(24.4)})
		if r.PreviousYear == nil || r.PreviousYear.Reported != 0 || *r.PreviousYear.Since != "2024-02-01T00:00:00Z" {
			t.Errorf("previous year %+v", r.PreviousYear)
		}
	})

	t.Run("category and kind", func(t *testing.T) {
		doc := getRollup(t, admin, "level=0&group_by=category")
		got := map[string]rollRow{}
		for _, r := range doc.Rows {
			got[*r.Category] = r
		}
		if len(doc.Rows) != len(data.DefaultTaxonomy().Categories) {
			t.Errorf("%d rows, want one per category of the taxonomy", len(doc.Rows))
		}
		for cat, want := range map[string][4]int{"fire": {12, 10, 2, 1}, "traffic": {18, 9, 1, 1}, "neighbours": {10, 1, 8, 8}, "water": {}} {
			r := got[cat]
			if r.Reported != want[0] || r.Closed != want[1] || r.Open != want[2] || r.Overdue != want[3] {
				t.Errorf("%s: reported %d closed %d open %d overdue %d, want %v", cat, r.Reported, r.Closed, r.Open, r.Overdue, want)
			}
		}
		checkCounts(t, "categories' sum", doc.Total.rollFigures, sumOf(doc.Rows))
		if r := getRollup(t, admin, "level=0&kind=dispute").Rows[0]; r.Reported != 10 || r.Rejected != 1 {
			t.Errorf("disputes: %d reported, %d rejected; want 10, 1", r.Reported, r.Rejected)
		}
	})

	t.Run("CSV", func(t *testing.T) {
		res, body := admin.getWith(t, "/v1/stats?level=1&group_by=area,month&since=2025-01-01&until=2025-04-01&format=csv&lang=zh")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment; filename=") {
			t.Fatalf("%d %s %s", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
		}
		if !bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
			t.Fatalf("no BOM: % x", body[:min(8, len(body))])
		}
		if !bytes.Contains(body, []byte("\r\n")) {
			t.Error("lines do not end in CRLF")
		}
		recs, err := csv.NewReader(bytes.NewReader(body[3:])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		head := recs[0]
		for _, h := range []string{"地区代码", "地区", "层级", "周期", "上报", "办结", "未办结", "超期", "办结率", "按时办结率", "户数", "网格数", "摄像头完好率", "上期上报", "去年同期上报"} {
			if !slices.Contains(head, h) {
				t.Errorf("no header %q in %q", h, head)
			}
		}
		if len(recs) != 7 {
			t.Fatalf("%d records, want a header and 6 rows", len(recs))
		}
		col := func(name string) int { return slices.Index(head, name) }
		total := 0
		for _, rec := range recs[1:] {
			var n int
			fmt.Sscan(rec[col("上报")], &n)
			total += n
			if rec[col("地区")] != "街道1" && rec[col("地区")] != "街道2" {
				t.Errorf("area name %q", rec[col("地区")])
			}
		}
		if total != 40 {
			t.Errorf("the CSV's 上报 add up to %d, want 40", total)
		}
		// English, asked for with Accept.
		res, body = admin.getWith(t, "/v1/stats?parent=110101001001", "Accept", "text/csv", "Accept-Language", "en-GB,en;q=0.9")
		recs, err = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF")))).ReadAll()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%d %v", res.StatusCode, err)
		}
		if recs[0][0] != "area code" || !slices.Contains(recs[0], "risk level") || recs[1][slices.Index(recs[0], "risk level")] != "yellow" {
			t.Errorf("English CSV: %q / %q", recs[0], recs[1])
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		for _, tc := range []struct {
			query  string
			status int
			detail string
		}{
			{"levels=1", 400, `unknown query parameter "levels"`},
			{"level=1&parent=110101001", 400, "give one"},
			{"level=-1", 400, "level must be an integer"},
			{"level=x", 400, "level must be an integer"},
			{"level=4", 400, "no area has level 4"},
			{"group_by=area,street", 400, `unknown grouping "street"`},
			{"group_by=month,week", 400, "cannot be combined"},
			{"group_by=area,area", 400, "named twice"},
			{"since=2025-13-01", 400, "since must be a date"},
			{"since=2025-02-01&until=2025-01-01", 400, "must be before until"},
			{"tz=Mars/Base", 400, "parameter tz"},
			{"tz=%2B15:00", 400, "parameter tz"},
			{"format=xlsx", 400, "format must be json or csv"},
			{"lang=fr", 400, "lang must be zh or en"},
			{"parent=nowhere", 404, `no area "nowhere"`},
		} {
			res, body := admin.do(t, "GET", "/v1/stats?"+tc.query, nil)
			if d := problemDetail(t, res, body, tc.status); !strings.Contains(d, tc.detail) {
				t.Errorf("%s: %q, want it to say %q", tc.query, d, tc.detail)
			}
		}
	})
}

// sumOf adds up rows' counts, with nil rates (the caller compares counts,
// or adds rates with withRates).
func sumOf(rows []rollRow) handFigure {
	var h handFigure
	for _, r := range rows {
		h = h.plus(handFigure{r.Reported, r.Closed, r.Open, r.Overdue, r.Rejected, r.Repeat, nil, nil, nil, nil})
	}
	return h
}

func (h handFigure) plus(o handFigure) handFigure {
	return handFigure{h.reported + o.reported, h.closed + o.closed, h.open + o.open, h.overdue + o.overdue, h.rejected + o.rejected,
		h.repeat + o.repeat, nil, nil, nil, nil}
}

// checkCounts compares a row's counts with want's, rates apart.
func checkCounts(t *testing.T, name string, got rollFigures, want handFigure) {
	t.Helper()
	if got.Reported != want.reported || got.Closed != want.closed || got.Open != want.open || got.Overdue != want.overdue ||
		got.Rejected != want.rejected || got.Repeat != want.repeat {
		t.Errorf("%s: reported %d closed %d open %d overdue %d rejected %d repeat %d; want %d %d %d %d %d %d", name,
			got.Reported, got.Closed, got.Open, got.Overdue, got.Rejected, got.Repeat,
			want.reported, want.closed, want.open, want.overdue, want.rejected, want.repeat)
	}
}

// figures turns a sum back into row figures, for comparing counts only.
func (h handFigure) figures() rollFigures {
	return rollFigures{Reported: h.reported, Closed: h.closed, Open: h.open, Overdue: h.overdue, Rejected: h.rejected, Repeat: h.repeat}
}
