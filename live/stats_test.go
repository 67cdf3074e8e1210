package live

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
)

// statsBox is a lon/lat rectangle as a grid geometry.
func statsBox(x0, y0, x1, y1 float64) orb.MultiPolygon {
	return orb.MultiPolygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
}

// Two grids side by side near Beijing, each 0.01° (about 850 m) wide and
// 0.01° (about 1,110 m) tall, in one area.
const statsLon0, statsLat0, statsStep = 116.38, 39.90, 0.01

func statsPlan() data.Plan {
	p := data.Plan{Target: 100, Resolution: 10}
	for i, code := range []string{"A", "B"} {
		x := statsLon0 + float64(i)*statsStep
		p.Grids = append(p.Grids, data.Grid{Code: code, Name: "grid " + code, ParentCode: "S", Households: 100,
			Geometry: statsBox(x, statsLat0, x+statsStep, statsLat0+statsStep)})
	}
	return p
}

// centre returns the centre of grid i of statsPlan.
func centre(i int) orb.Point {
	return orb.Point{statsLon0 + (float64(i)+0.5)*statsStep, statsLat0 + statsStep/2}
}

// at returns the point dist metres from p at bearing (degrees from north).
func at(p orb.Point, bearing, dist float64) orb.Point {
	return geo.PointAtBearingAndDistance(p, bearing, dist)
}

// eventCase is one event of the figures table and what it must count as.
type eventCase struct {
	name string
	h    data.Hazard
}

// figuresTable is a table of events with known states and times in grid A
// and grid B, with every figure worked out by hand below (TestFigures).
// now is the moment overdue is judged at.
func figuresTable(now time.Time) []eventCase {
	t0 := now.Add(-300 * 24 * time.Hour)
	h := time.Hour
	day := 24 * h
	a, b := centre(0), centre(1)
	ev := func(id string, p orb.Point, cat string, st data.Status, reported, due, resolved time.Time) data.Hazard {
		return data.Hazard{ID: id, Point: p, Category: cat, Severity: 2, Status: st, ReportedAt: reported, DueAt: due, ResolvedAt: resolved}
	}
	var zero time.Time
	a1Resolved := t0.Add(10 * h)
	b1Resolved := t0.Add(50 * h)
	return []eventCase{
		// Grid A.
		{"a1 closed on time", ev("a1", a, "fire", data.StatusClosed, t0, t0.Add(24*h), a1Resolved)},
		{"a2 verified late by the taxonomy deadline (fire: 24 h)", ev("a2", at(a, 0, 200), "fire", data.StatusVerified, t0.Add(day), zero, t0.Add(day+30*h))},
		{"a3 resolved on time", ev("a3", at(a, 225, 180), "water", data.StatusResolved, t0.Add(2*day), t0.Add(2*day+48*h), t0.Add(2*day+20*h))},
		{"a4 rejected", ev("a4", at(a, 135, 150), "traffic", data.StatusRejected, t0.Add(3*day), zero, zero)},
		{"a5 overdue by the taxonomy deadline", ev("a5", at(a, 90, 150), "fire", data.StatusReported, now.Add(-48*h), zero, zero)},
		{"a6 open, due in 38 h by the taxonomy (water: 48 h)", ev("a6", at(a, 315, 150), "water", data.StatusAssigned, now.Add(-10*h), zero, zero)},
		{"a7 open, its own due_at later than the taxonomy's", ev("a7", at(a, 180, 150), "traffic", data.StatusInProgress, now.Add(-200*h), now.Add(100*h), zero)},
		{"a8 dispute overdue by its due_at", ev("a8", at(a, 45, 150), "neighbours", data.StatusEscalated, now.Add(-30*day), now.Add(-h), zero)},
		{"due exactly now is not overdue", ev("a9", at(a, 60, 250), "labour", data.StatusReported, now.Add(-10*day), now, zero)},
		{"repeat of a1: 99.9 m, exactly 90 days", ev("r-in", at(a, 90, 99.9), "fire", data.StatusRejected, a1Resolved.Add(90*day), zero, zero)},
		{"not a repeat: 101 m", ev("r-far", at(a, 270, 101), "fire", data.StatusRejected, a1Resolved.Add(5*day), zero, zero)},
		{"not a repeat: 91 days", ev("r-late", at(a, 180, 50), "fire", data.StatusAccepted, a1Resolved.Add(91*day), now.Add(48*h), zero)},
		{"not a repeat: 90 days and a second", ev("r-late2", at(a, 200, 40), "fire", data.StatusRejected, a1Resolved.Add(90*day+time.Second), zero, zero)},
		{"not a repeat: another category", ev("r-cat", at(a, 90, 10), "water", data.StatusReopened, a1Resolved.Add(day), now.Add(24*h), zero)},
		{"not a repeat: reported before the resolution", ev("r-before", at(a, 0, 20), "fire", data.StatusRejected, a1Resolved.Add(-h), zero, zero)},
		// Grid B.
		{"b1 closed late", ev("b1", b, "fire", data.StatusClosed, t0, t0.Add(24*h), b1Resolved)},
		{"b2 dispute closed on time by the taxonomy (labour: 168 h)", ev("b2", at(b, 180, 300), "labour", data.StatusClosed, t0.Add(10*day), zero, t0.Add(10*day+100*h))},
		{"b3 repeat of b1, overdue by the taxonomy", ev("b3", at(b, 0, 99.9), "fire", data.StatusReported, b1Resolved.Add(day), zero, zero)},
		{"b4 closed without resolved_at (older data)", ev("b4", at(b, 90, 300), "water", data.StatusClosed, t0.Add(day), zero, zero)},
		{"b5 a category the taxonomy lacks: no kind, no due", ev("b5", at(b, 270, 300), "stray_dogs", data.StatusReported, t0, zero, zero)},
		// Outside every grid: counted nowhere, but repeated by b6.
		{"done outside the grids", ev("out", orb.Point{statsLon0 + 2*statsStep + 0.0005, statsLat0 + 0.005}, "water", data.StatusResolved, t0, zero, t0.Add(h))},
		{"b6 repeats a done event outside the grids", ev("b6", orb.Point{statsLon0 + 2*statsStep - 0.0005, statsLat0 + 0.005}, "water", data.StatusRejected, t0.Add(2*h), zero, zero)},
	}
}

// want is what a figure must be; nil pointers for null.
type want struct {
	reported, open, overdue, done, rejected, repeat int
	closure, onTime, median, p90                    *float64
	byKind                                          map[string]int
	byCategory                                      map[string]int
	byStatus                                        map[data.Status]int
}

func f64(x float64) *float64 { return &x }

func checkFigures(t *testing.T, name string, got EventFigures, w want) {
	t.Helper()
	eqPtr := func(a, b *float64) bool {
		if a == nil || b == nil {
			return a == b
		}
		return math.Abs(*a-*b) < 1e-9
	}
	show := func(p *float64) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprint(*p)
	}
	if got.Reported != w.reported || got.Open != w.open || got.Overdue != w.overdue || got.Done != w.done ||
		got.Rejected != w.rejected || got.Repeat != w.repeat {
		t.Errorf("%s: reported %d open %d overdue %d done %d rejected %d repeat %d; want %d %d %d %d %d %d", name,
			got.Reported, got.Open, got.Overdue, got.Done, got.Rejected, got.Repeat,
			w.reported, w.open, w.overdue, w.done, w.rejected, w.repeat)
	}
	for _, r := range []struct {
		what      string
		got, want *float64
	}{{"closure", got.ClosureRate, w.closure}, {"on time", got.OnTimeRate, w.onTime},
		{"median", got.MedianHoursToClose, w.median}, {"p90", got.P90HoursToClose, w.p90}} {
		if !eqPtr(r.got, r.want) {
			t.Errorf("%s: %s %s, want %s", name, r.what, show(r.got), show(r.want))
		}
	}
	for k, n := range w.byKind {
		if got.ByKind[k] != n {
			t.Errorf("%s: by kind %s = %d, want %d", name, k, got.ByKind[k], n)
		}
	}
	for k, n := range w.byCategory {
		if got.ByCategory[k] != n {
			t.Errorf("%s: by category %s = %d, want %d", name, k, got.ByCategory[k], n)
		}
	}
	for _, st := range data.Statuses() {
		if got.ByStatus[st] != w.byStatus[st] {
			t.Errorf("%s: by status %s = %d, want %d", name, st, got.ByStatus[st], w.byStatus[st])
		}
	}
	if len(got.ByStatus) != len(data.Statuses()) {
		t.Errorf("%s: %d statuses, want every one of %d", name, len(got.ByStatus), len(data.Statuses()))
	}
}

// figuresWanted are the figures of figuresTable, worked out by hand.
func figuresWanted() (a, b, total want) {
	a = want{
		// 15 events: 3 done (a1 a2 a3), 5 rejected (a4 r-in r-far r-late2
		// r-before), 7 open (a5 a6 a7 a8 a9 r-late r-cat).
		reported: 15, done: 3, rejected: 5, open: 7,
		overdue: 2,                                   // a5 (reported 48 h ago, fire 24 h), a8 (due an hour ago); a9 is due now: not after
		repeat:  1,                                   // r-in
		closure: f64(3.0 / 10), onTime: f64(2.0 / 3), // a2 late
		median: f64(20), p90: f64(28), // of 10, 20, 30 h: rank 1.8 → 20 + 0.8·10
		byKind:     map[string]int{"hazard": 13, "dispute": 2},
		byCategory: map[string]int{"fire": 8, "water": 3, "traffic": 2, "neighbours": 1, "labour": 1, "construction": 0},
		byStatus: map[data.Status]int{data.StatusClosed: 1, data.StatusVerified: 1, data.StatusResolved: 1, data.StatusRejected: 5,
			data.StatusReported: 2, data.StatusAssigned: 1, data.StatusInProgress: 1, data.StatusEscalated: 1,
			data.StatusAccepted: 1, data.StatusReopened: 1},
	}
	b = want{
		// b1 b2 b4 done, b3 b5 open, b6 rejected.
		reported: 6, done: 3, rejected: 1, open: 2,
		overdue: 1,                                  // b3; b5 has no due
		repeat:  2,                                  // b3, b6
		closure: f64(3.0 / 5), onTime: f64(1.0 / 2), // b1 late, b2 on time, b4 has no resolved_at
		median: f64(75), p90: f64(95), // of 50, 100 h
		byKind:     map[string]int{"hazard": 4, "dispute": 1},
		byCategory: map[string]int{"fire": 2, "labour": 1, "water": 2, "stray_dogs": 1},
		byStatus:   map[data.Status]int{data.StatusClosed: 3, data.StatusReported: 2, data.StatusRejected: 1},
	}
	total = want{
		reported: 21, done: 6, rejected: 6, open: 9, overdue: 3, repeat: 3,
		closure: f64(6.0 / 15), onTime: f64(3.0 / 5),
		median: f64(30), p90: f64(80), // of 10, 20, 30, 50, 100 h: rank 3.6 → 50 + 0.6·50
		byKind:     map[string]int{"hazard": 17, "dispute": 3},
		byCategory: map[string]int{"fire": 10, "water": 5, "traffic": 2, "neighbours": 1, "labour": 2, "stray_dogs": 1},
		byStatus: map[data.Status]int{data.StatusClosed: 4, data.StatusVerified: 1, data.StatusResolved: 1, data.StatusRejected: 6,
			data.StatusReported: 4, data.StatusAssigned: 1, data.StatusInProgress: 1, data.StatusEscalated: 1,
			data.StatusAccepted: 1, data.StatusReopened: 1},
	}
	return a, b, total
}

// assignList assigns a list of hazards to pp, as GridAssignment does.
func assignList(pp *Plan, hz []data.Hazard) *GridAssignment {
	return assign(pp, [2]uint64{}, nil, len(hz), func(fn func(data.Hazard)) {
		for _, h := range hz {
			fn(h)
		}
	}, func(func(data.Camera)) {})
}

func tableHazards(now time.Time) []data.Hazard {
	var hz []data.Hazard
	for i, c := range figuresTable(now) {
		h := c.h
		h.FID = int64(i + 1)
		hz = append(hz, h)
	}
	return hz
}

func TestFigures(t *testing.T) {
	pp, err := NewPlan(statsPlan())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC)
	a := assignList(pp, tableHazards(now))
	if len(a.Hazards) != len(figuresTable(now))-1 {
		t.Fatalf("%d events in grids, want all but one", len(a.Hazards))
	}
	wa, wb, wt := figuresWanted()
	per, total := a.Figures(FigureQuery{Now: now, Taxonomy: data.DefaultTaxonomy()}, nil)
	checkFigures(t, "grid A", per[0], wa)
	checkFigures(t, "grid B", per[1], wb)
	checkFigures(t, "total", total, wt)

	// One grid asked for: its figures, and a total of it alone.
	per, total = a.Figures(FigureQuery{Now: now}, []int{1})
	checkFigures(t, "grid B alone", per[0], wb)
	checkFigures(t, "total of grid B", total, wb)

	// A period: events reported in [since, until); repeats keep counting
	// the done events before it (r-in repeats a1, from 300 days ago).
	since := now.Add(-295 * 24 * time.Hour) // after a1…a4, r-before, r-cat; r-far is at −294 d 14 h
	per, _ = a.Figures(FigureQuery{Since: since, Now: now}, []int{0})
	checkFigures(t, "grid A since", per[0], want{
		reported: 9, rejected: 3, open: 6, overdue: 2, repeat: 1, // a5 a6 a7 a8 a9 r-in r-far r-late r-late2
		closure: f64(0), byKind: map[string]int{"hazard": 7, "dispute": 2},
		byStatus: map[data.Status]int{data.StatusReported: 2, data.StatusAssigned: 1, data.StatusInProgress: 1,
			data.StatusEscalated: 1, data.StatusRejected: 3, data.StatusAccepted: 1},
	})
	per, _ = a.Figures(FigureQuery{Until: now.Add(-300 * 24 * time.Hour), Now: now}, []int{0})
	checkFigures(t, "grid A until t0 (exclusive)", per[0], want{})

	// Filters: a kind, a category, and values the taxonomy lacks.
	_, total = a.Figures(FigureQuery{Kind: "dispute", Now: now}, nil)
	checkFigures(t, "disputes", total, want{reported: 3, done: 1, open: 2, overdue: 1, closure: f64(1.0 / 3), onTime: f64(1),
		median: f64(100), p90: f64(100), byKind: map[string]int{"dispute": 3, "hazard": 0},
		byStatus: map[data.Status]int{data.StatusClosed: 1, data.StatusEscalated: 1, data.StatusReported: 1}})
	_, total = a.Figures(FigureQuery{Category: "stray_dogs", Now: now}, nil)
	checkFigures(t, "a category the taxonomy lacks, found in the data", total, want{reported: 1, open: 1, closure: f64(0),
		byStatus: map[data.Status]int{data.StatusReported: 1}})
	for _, q := range []FigureQuery{{Category: "ufo"}, {Kind: "ufo"}} {
		_, total = a.Figures(FigureQuery{Category: q.Category, Kind: q.Kind, Now: now}, nil)
		checkFigures(t, fmt.Sprintf("unknown %+v", q), total, want{})
	}
}

// TestFiguresTaxonomy: categories, kinds and deadlines are the taxonomy's
// in use: another taxonomy counts the same events otherwise.
func TestFiguresTaxonomy(t *testing.T) {
	tax, err := data.ParseTaxonomy(strings.NewReader(`{"kinds": [{"code": "hazard", "zh": "隐患", "en": "Hazard"}, {"code": "animal", "zh": "动物", "en": "Animal"}],
		"categories": [{"code": "fire", "kind": "hazard", "zh": "消防", "en": "Fire", "deadline_hours": 1000, "severity": 3},
			{"code": "stray_dogs", "kind": "animal", "zh": "流浪狗", "en": "Stray dogs", "deadline_hours": 2, "severity": 1}],
		"worker_roles": [{"code": "w", "zh": "网格员", "en": "Worker"}]}`), "test.json")
	if err != nil {
		t.Fatal(err)
	}
	pp, err := NewPlan(statsPlan())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC)
	per, total := assignList(pp, tableHazards(now)).Figures(FigureQuery{Now: now, Taxonomy: tax}, nil)
	// a5 (fire, 48 h old) is no longer overdue at 1,000 h; b5 (stray dogs,
	// due 2 h after a report 300 days ago) now is; a8 keeps its due_at.
	if per[0].Overdue != 1 || per[1].Overdue != 2 || total.ByKind["animal"] != 1 || total.ByKind["hazard"] != 10 ||
		len(total.ByKind) != 2 || total.ByCategory["construction"] != 0 {
		t.Errorf("overdue A %d B %d, by kind %v, by category %v", per[0].Overdue, per[1].Overdue, total.ByKind, total.ByCategory)
	}
	if _, ok := total.ByCategory["construction"]; ok {
		t.Errorf("by category lists a category of another taxonomy: %v", total.ByCategory)
	}
}

// TestRepeatRule checks the bounds of the rule one pair at a time.
func TestRepeatRule(t *testing.T) {
	pp, err := NewPlan(statsPlan())
	if err != nil {
		t.Fatal(err)
	}
	c := centre(0)
	resolved := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name     string
		bearing  float64
		distM    float64
		after    time.Duration // the later report, after the done event's resolution
		category string
		status   data.Status // of the earlier event
		repeat   bool
	}{
		{"same place, same day", 0, 0, 0, "fire", data.StatusClosed, true},
		{"99.9 m north", 0, 99.9, day, "fire", data.StatusClosed, true},
		{"99.9 m east", 90, 99.9, day, "fire", data.StatusResolved, true},
		{"99.9 m south-west", 225, 99.9, day, "fire", data.StatusVerified, true},
		{"101 m north", 0, 101, day, "fire", data.StatusClosed, false},
		{"101 m east", 90, 101, day, "fire", data.StatusClosed, false},
		{"exactly 90 days", 0, 10, 90 * day, "fire", data.StatusClosed, true},
		{"91 days", 0, 10, 91 * day, "fire", data.StatusClosed, false},
		{"reported before the resolution", 0, 10, -time.Minute, "fire", data.StatusClosed, false},
		{"another category", 0, 10, day, "water", data.StatusClosed, false},
		{"earlier not done (reopened)", 0, 10, day, "fire", data.StatusReopened, false},
		{"earlier rejected", 0, 10, day, "fire", data.StatusRejected, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			earlier := data.Hazard{FID: 1, Point: c, Category: "fire", Status: tc.status, ReportedAt: resolved.Add(-day), ResolvedAt: resolved}
			later := data.Hazard{FID: 2, Point: at(c, tc.bearing, tc.distM), Category: tc.category, Status: data.StatusReported,
				ReportedAt: resolved.Add(tc.after)}
			a := assignList(pp, []data.Hazard{earlier, later})
			for _, h := range a.Hazards {
				if want := h.FID == 2 && tc.repeat; h.Repeat != want {
					t.Errorf("event %d: repeat %v, want %v", h.FID, h.Repeat, want)
				}
			}
		})
	}
}

// TestRepeatMatchesBruteForce compares the hashed search with every pair,
// on clustered events whose 100 m squares and time windows overlap a lot,
// at the equator and far north (where a degree of longitude is short).
func TestRepeatMatchesBruteForce(t *testing.T) {
	for _, origin := range []orb.Point{{116.38, 39.90}, {-78.5, -0.2}, {25.7, 66.5}} {
		rng := rand.New(rand.NewPCG(7, uint64(origin[1]*100+1000)))
		t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		cats := []string{"fire", "water", "traffic"}
		hz := make([]GridHazard, 3000)
		var rep repeatFinder
		for i := range hz {
			p := at(origin, rng.Float64()*360, 800*math.Sqrt(rng.Float64())) // a disc of 800 m
			reported := t0.Add(time.Duration(rng.IntN(365*24)) * time.Hour)
			h := data.Hazard{FID: int64(i + 1), Point: p, Category: cats[rng.IntN(len(cats))], Status: data.StatusReported, ReportedAt: reported}
			if rng.IntN(2) == 0 {
				h.Status = data.StatusClosed
				h.ResolvedAt = reported.Add(time.Duration(rng.IntN(30*24)) * time.Hour)
			}
			rep.add(&h)
			hz[i] = GridHazard{FID: h.FID, Point: h.Point, Category: h.Category, Status: h.Status, ReportedAt: h.ReportedAt, ResolvedAt: h.ResolvedAt}
		}
		rep.mark(hz)
		repeats := 0
		for _, e := range hz {
			want := false
			for _, d := range hz {
				if d.FID != e.FID && d.Status.Done() && d.Category == e.Category && !e.ReportedAt.Before(d.ResolvedAt) &&
					!e.ReportedAt.After(d.ResolvedAt.Add(RepeatWindow)) && geo.DistanceHaversine(d.Point, e.Point) <= RepeatRadiusM {
					want = true
					break
				}
			}
			if e.Repeat != want {
				t.Fatalf("%v: event %d: repeat %v, brute force says %v", origin, e.FID, e.Repeat, want)
			}
			if want {
				repeats++
			}
		}
		if repeats < 100 || repeats > len(hz)-100 {
			t.Errorf("%v: %d repeats of %d: the test data does not exercise both answers", origin, repeats, len(hz))
		}
	}
}

// statsService is a service following a GeoPackage holding plan,
// published, and hz; other is a second handle on the file, another
// process.
func statsService(t testing.TB, tax *data.Taxonomy, plan data.Plan, hz []data.Hazard) (svc *Service, other data.Store) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "stats.gpkg")
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
	var bound orb.Bound
	for i, g := range plan.Grids {
		if i == 0 {
			bound = g.Geometry.Bound()
		}
		bound = bound.Union(g.Geometry.Bound())
	}
	bound = bound.Pad(0.01)
	if _, err := tx.AddArea(ctx, data.Area{Code: "S", Name: "street", Level: 1,
		Geometry: statsBox(bound.Min[0], bound.Min[1], bound.Max[0], bound.Max[1])}); err != nil {
		t.Fatal(err)
	}
	for _, h := range hz {
		h.FID = 0
		if _, err := tx.AddHazard(ctx, h); err != nil {
			t.Fatalf("hazard %s: %v", h.ID, err)
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
	other, err = gpkg.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	svc = New(Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Poll: 10 * time.Millisecond, Taxonomy: tax})
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); svc.Run(runCtx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return svc, other
}

// TestGridAssignmentFigures runs the table through the real service over a
// GeoPackage, then changes events from another handle on the file (as the
// CLI or QGIS would) and checks that the incremental assignment gives what
// a fresh one does.
func TestGridAssignmentFigures(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	svc, other := statsService(t, nil, statsPlan(), tableHazards(now))
	ctx := context.Background()
	pp := svc.Published()
	if pp == nil {
		t.Fatal("no published plan")
	}
	a := svc.GridAssignment(pp)
	if again := svc.GridAssignment(pp); again != a {
		t.Error("a second request without a change computed the assignment again")
	}
	wa, wb, wt := figuresWanted()
	per, total := a.Figures(FigureQuery{Now: now, Taxonomy: svc.Taxonomy()}, nil)
	checkFigures(t, "service grid A", per[0], wa)
	checkFigures(t, "service grid B", per[1], wb)
	checkFigures(t, "service total", total, wt)

	byID := map[string]data.Hazard{}
	svc.EachHazard(func(h data.Hazard) { byID[h.ID] = h })
	for _, c := range []struct {
		step   string
		id     string
		change func(*data.Hazard)
		check  func(a, b, total EventFigures) bool
	}{
		{"a1 reopened: r-in no longer repeats it", "a1", func(h *data.Hazard) { h.Status = data.StatusReopened },
			func(a, _, total EventFigures) bool {
				return a.Repeat == 0 && a.Done == 2 && a.Open == 8 && total.Repeat == 2
			}},
		{"a1 closed again", "a1", func(h *data.Hazard) { h.Status = data.StatusClosed },
			func(a, _, _ EventFigures) bool { return a.Repeat == 1 && a.Done == 3 }},
		{"b3 moved into grid A", "b3", func(h *data.Hazard) { h.Point = at(centre(0), 0, 400) },
			func(a, b, total EventFigures) bool {
				return a.Reported == 16 && b.Reported == 5 && b.Repeat == 1 && total.Repeat == 2
			}},
		{"r-far moved within 100 m of a1", "r-far", func(h *data.Hazard) { h.Point = at(centre(0), 270, 60) },
			func(a, _, _ EventFigures) bool { return a.Repeat == 2 }},
	} {
		h := byID[c.id]
		c.change(&h)
		tx, err := other.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.UpdateHazard(ctx, h); err != nil {
			tx.Rollback()
			t.Fatalf("%s: %v", c.step, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		q := FigureQuery{Now: now, Taxonomy: svc.Taxonomy()}
		got := svc.GridAssignment(pp)
		per, total := got.Figures(q, nil)
		if !c.check(per[0], per[1], total) {
			t.Errorf("%s: A %+v B %+v total %+v", c.step, per[0], per[1], total)
		}
		var all []data.Hazard
		svc.EachHazard(func(h data.Hazard) { all = append(all, h) })
		fresh := assignList(pp, all)
		fper, ftotal := fresh.Figures(q, nil)
		for i, pair := range [][2]EventFigures{{per[0], fper[0]}, {per[1], fper[1]}, {total, ftotal}} {
			if !reflect.DeepEqual(pair[0], pair[1]) {
				t.Errorf("%s: figures %d of the incremental assignment differ from a fresh one:\n%+v\n%+v", c.step, i, pair[0], pair[1])
			}
		}
		if len(got.located) != len(all) {
			t.Errorf("%s: %d hazards located, %d exist", c.step, len(got.located), len(all))
		}
	}
}
