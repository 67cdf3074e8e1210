// Package storetest is the contract every data.Store must keep: one suite
// that runs against the GeoPackage store and the PostGIS store alike, so the
// two cannot drift. A store's own tests call Run with a function that opens
// a fresh, empty store.
//
// The suite never assumes particular fids (PostgreSQL sequences may skip
// numbers); it uses the fids that Add returns.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// Open returns a fresh, empty store that lives until the test ends.
type Open func(t *testing.T) data.Store

// Run runs the whole contract against the stores open makes. Subtests run
// in parallel, each on its own store.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(*testing.T, data.Store)
	}{
		{"Empty", testEmpty},
		{"RoundTrip", testRoundTrip},
		{"Items", testItems},
		{"ItemsBBoxExact", testItemsBBoxExact},
		{"ItemsCQL2", testItemsCQL2},
		{"ItemsTime", testItemsTime},
		{"ItemProperties", testItemProperties},
		{"Rejects", testRejects},
		{"DuplicatesInOneTx", testDuplicatesInOneTx},
		{"DuplicatesAgainstStored", testDuplicatesAgainstStored},
		{"UpdateDelete", testUpdateDelete},
		{"DeleteThenReAdd", testDeleteThenReAdd},
		{"ClearAndReplace", testClearAndReplace},
		{"Rollback", testRollback},
		{"FinishedTx", testFinishedTx},
		{"Plans", testPlans},
		{"BadPlanLeavesNothing", testBadPlanLeavesNothing},
		{"ConcurrentReaders", testConcurrentReaders},
		{"Cancelled", testCancelled},
		{"KeysAndAudit", testKeysAndAudit},
		{"ChangesEachWrite", testChangesEachWrite},
		{"ChangesBulk", testChangesBulk},
		{"ChangesRollback", testChangesRollback},
		{"ChangesSeq", testChangesSeq},
		{"ChangesQuery", testChangesQuery},
		{"PruneChanges", testPruneChanges},
		{"ForUpdate", testForUpdate},
		{"ForUpdateConcurrent", testForUpdateConcurrent},
		{"HazardEvents", testHazardEvents},
		{"Workers", testWorkers},
		{"EventHistory", testEventHistory},
		{"KeyWorker", testKeyWorker},
		{"ChangesWorkers", testChangesWorkers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// Square is the test area: 9.5–9.6 E, 47.1–47.2 N.
var square = orb.MultiPolygon{{{{9.5, 47.1}, {9.6, 47.1}, {9.6, 47.2}, {9.5, 47.2}, {9.5, 47.1}}}}

// triangle's envelope covers 9.7–9.8 E, 47.1–47.2 N, but its body only the
// lower-left half.
var triangle = orb.MultiPolygon{{{{9.7, 47.1}, {9.8, 47.1}, {9.7, 47.2}, {9.7, 47.1}}}}

// withHole is a square 10–11 E, 47–48 N with a hole in the middle.
var withHole = orb.MultiPolygon{{
	{{10, 47}, {11, 47}, {11, 48}, {10, 48}, {10, 47}},
	{{10.4, 47.4}, {10.4, 47.6}, {10.6, 47.6}, {10.6, 47.4}, {10.4, 47.4}},
}}

// at has milliseconds, the precision both stores keep.
var at = time.Date(2025, 3, 1, 9, 30, 15, 123_000_000, time.UTC)

// fixture is what fill writes, with the fids the store gave.
type fixture struct {
	areas      []data.Area
	households []data.Household
	hazards    []data.Hazard
	cameras    []data.Camera
	plan       data.Plan
}

func fill(t *testing.T, s data.Store) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{
		areas: []data.Area{
			{Code: "A", Name: "Alpha", NameEn: "Alpha EN", Level: 1, AdminLevel: 8, OSMID: "r123", Geometry: square},
			{Code: "A1", Name: "阿尔法一", Level: 2, ParentCode: "A", Geometry: orb.MultiPolygon{square[0], triangle[0]}},
			{Code: "B", Name: "Hole", Level: 1, Geometry: withHole},
		},
		households: []data.Household{
			{ID: "h1", Point: orb.Point{9.52, 47.12}, Households: 3},
			{ID: "h2", Point: orb.Point{9.58, 47.18}, Households: 1},
		},
		hazards: []data.Hazard{
			// z1 is on its way (due, not resolved: NULL times), z2 done,
			// z3 as data older than events has it (nothing but a status).
			{ID: "z1", Point: orb.Point{9.52, 47.12}, Category: "fire", Severity: 2, Status: "reported", ReportedAt: at,
				RespCode: "A1002", RespLevel: 3, DueAt: at.Add(72 * time.Hour)},
			{ID: "z2", Point: orb.Point{9.58, 47.18}, Category: "traffic", Severity: 1, Status: "resolved", ReportedAt: at.Add(time.Hour),
				Note: "护栏已修复 (rail fixed)", Assignee: "w1", RespCode: "A1", RespLevel: 2, DueAt: at.Add(25 * time.Hour),
				ResolvedAt: at.Add(5 * time.Hour)},
			{ID: "z3", Point: orb.Point{9.40, 47.00}, Category: "fire", Severity: 3, Status: "reported", ReportedAt: at.Add(-48 * time.Hour)},
		},
		cameras: []data.Camera{
			{ID: "c1", Point: orb.Point{9.55, 47.15}, Azimuth: 90.5, FOV: 60, RangeM: 50.25, Status: "online"},
			{ID: "c2", Point: orb.Point{-58.38, -34.9}, Azimuth: 0, FOV: 360, RangeM: 10000, Status: "maintenance"},
		},
		plan: data.Plan{
			CreatedAt: time.Date(2025, 4, 2, 8, 0, 0, 250_000_000, time.UTC), Target: 300, Resolution: 9,
			Report: data.Report{Grids: 2, Parents: 1, Households: 4, Target: 300, Resolution: 9, ResolutionAuto: true,
				HouseholdsMin: 1, HouseholdsMedian: 2.5, HouseholdsMax: 3, MaxDeviationPct: 99.66, PolsbyPopperMean: 0.785398,
				HeavyCells: []data.HeavyCell{{Cell: "89283082803ffff", GridCode: "A1002", Households: 3}}, Warnings: []string{"a warning"},
				RuntimeSeconds: 0.125},
			Grids: []data.Grid{
				{Code: "A1002", ParentCode: "A1", Name: "grid two", Households: 3, AreaM2: 1234.5, Worker: "王芳",
					Cells: []uint64{0x89283082803ffff, 0x89283082807ffff}, Geometry: square},
				{Code: "A1001", ParentCode: "A1", Households: 1, AreaM2: 99.25, Geometry: triangle},
			},
		},
	}
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for i, a := range f.areas {
		f.areas[i].FID = ok(t)(tx.AddArea(ctx, a))
	}
	for i, h := range f.households {
		f.households[i].FID = ok(t)(tx.AddHousehold(ctx, h))
	}
	for i, h := range f.hazards {
		f.hazards[i].FID = ok(t)(tx.AddHazard(ctx, h))
	}
	for i, c := range f.cameras {
		f.cameras[i].FID = ok(t)(tx.AddCamera(ctx, c))
	}
	f.plan.ID = ok(t)(tx.SavePlan(ctx, f.plan))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return f
}

// ok returns a function that fails the test unless an Add or SavePlan
// succeeded with a positive id, and returns the id.
func ok(t *testing.T) func(int64, error) int64 {
	return func(fid int64, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if fid <= 0 {
			t.Fatalf("fid %d, want > 0", fid)
		}
		return fid
	}
}

func begin(t *testing.T, s data.Store) data.Tx {
	t.Helper()
	tx, err := s.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	return tx
}

func commit(t *testing.T, tx data.Tx) {
	t.Helper()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, s data.Store, l data.Layer) int {
	t.Helper()
	n, err := s.Count(context.Background(), l)
	if err != nil {
		t.Fatalf("Count(%s): %v", l, err)
	}
	return n
}

func wantCode(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	if data.ErrorCode(err) != code || !strings.Contains(data.ErrorMessage(err), msg) {
		t.Errorf("%s: got %v (%s), want %s containing %q", what, err, data.ErrorCode(err), code, msg)
	}
}

func testEmpty(t *testing.T, s data.Store) {
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if a, err := s.Areas(ctx); err != nil || len(a) != 0 {
		t.Errorf("Areas = %v, %v", a, err)
	}
	if h, err := s.Hazards(ctx); err != nil || len(h) != 0 {
		t.Errorf("Hazards = %v, %v", h, err)
	}
	if c, err := s.Cameras(ctx); err != nil || len(c) != 0 {
		t.Errorf("Cameras = %v, %v", c, err)
	}
	calls := 0
	if err := s.EachHousehold(ctx, func(data.Household) error { calls++; return nil }); err != nil || calls != 0 {
		t.Errorf("EachHousehold: %d calls, %v", calls, err)
	}
	for _, l := range data.Layers() {
		p, err := s.Items(ctx, l, data.Query{Limit: 10})
		if err != nil || p.Matched != 0 || len(p.Features) != 0 {
			t.Errorf("Items(%s) = %+v, %v", l, p, err)
		}
		if n := count(t, s, l); n != 0 {
			t.Errorf("Count(%s) = %d", l, n)
		}
		if _, ok, err := s.Extent(ctx, l); ok || err != nil {
			t.Errorf("Extent(%s) = %v, %v; want none", l, ok, err)
		}
		_, err = s.Item(ctx, l, 1)
		wantCode(t, "Item "+string(l), err, data.ENOTFOUND, "")
	}
	if p, err := s.Plans(ctx); err != nil || len(p) != 0 {
		t.Errorf("Plans = %v, %v", p, err)
	}
	_, err := s.PublishedPlan(ctx)
	wantCode(t, "PublishedPlan", err, data.ENOTFOUND, "no plan is published")
	_, err = s.Plan(ctx, 1)
	wantCode(t, "Plan(1)", err, data.ENOTFOUND, "no plan 1")
	_, err = s.Hazard(ctx, 1)
	wantCode(t, "Hazard(1)", err, data.ENOTFOUND, "no hazard 1")
	_, err = s.Camera(ctx, 1)
	wantCode(t, "Camera(1)", err, data.ENOTFOUND, "no camera 1")
	for name, err := range map[string]error{
		"Items":  second(s.Items(ctx, "roads", data.Query{Limit: 1})),
		"Item":   second(s.Item(ctx, "roads", 1)),
		"Count":  second(s.Count(ctx, "roads")),
		"Extent": third(s.Extent(ctx, "roads")),
	} {
		wantCode(t, name+"(roads)", err, data.ENOTFOUND, "")
	}
	// An empty transaction commits.
	commit(t, begin(t, s))
}

func second[T any](_ T, err error) error        { return err }
func third[T, U any](_ T, _ U, err error) error { return err }

func testRoundTrip(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)

	areas, err := s.Areas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// By level, then code.
	want := []data.Area{f.areas[0], f.areas[2], f.areas[1]}
	if len(areas) != len(want) {
		t.Fatalf("Areas: %d, want %d", len(areas), len(want))
	}
	for i := range want {
		if !equalArea(areas[i], want[i]) {
			t.Errorf("area %d:\n got %+v\nwant %+v", i, areas[i], want[i])
		}
	}

	hz, err := s.Hazards(ctx)
	if err != nil || len(hz) != 3 {
		t.Fatalf("Hazards = %d, %v", len(hz), err)
	}
	for i, h := range hz {
		if !equalHazard(h, f.hazards[i]) {
			t.Errorf("hazard %d:\n got %+v\nwant %+v", i, h, f.hazards[i])
		}
		one, err := s.Hazard(ctx, h.FID)
		if err != nil || !equalHazard(one, h) {
			t.Errorf("Hazard(%d) = %+v, %v", h.FID, one, err)
		}
	}
	cams, err := s.Cameras(ctx)
	if err != nil || len(cams) != 2 {
		t.Fatalf("Cameras = %d, %v", len(cams), err)
	}
	for i, c := range cams {
		if c != f.cameras[i] {
			t.Errorf("camera %d:\n got %+v\nwant %+v", i, c, f.cameras[i])
		}
		one, err := s.Camera(ctx, c.FID)
		if err != nil || one != c {
			t.Errorf("Camera(%d) = %+v, %v", c.FID, one, err)
		}
	}
	var got []data.Household
	if err := s.EachHousehold(ctx, func(h data.Household) error { got = append(got, h); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, f.households) {
		t.Errorf("EachHousehold:\n got %+v\nwant %+v", got, f.households)
	}
	// An error from fn stops the walk and comes back.
	stop := errors.New("stop")
	calls := 0
	if err := s.EachHousehold(ctx, func(data.Household) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("EachHousehold stopping: %d calls, %v", calls, err)
	}

	for l, n := range map[data.Layer]int{data.LayerAreas: 3, data.LayerHouseholds: 2, data.LayerHazards: 3, data.LayerCameras: 2, data.LayerGrids: 0} {
		if c := count(t, s, l); c != n {
			t.Errorf("Count(%s) = %d, want %d", l, c, n)
		}
	}
	// The extent covers every feature (GeoPackage keeps it in float32,
	// rounded outwards, hence the tolerance).
	b, ok, err := s.Extent(ctx, data.LayerHazards)
	wantB := orb.Bound{Min: orb.Point{9.40, 47.00}, Max: orb.Point{9.58, 47.18}}
	if err != nil || !ok || !near(b, wantB, 1e-5) {
		t.Errorf("Extent(hazards) = %v, %v, %v; want %v", b, ok, err, wantB)
	}
	b, ok, err = s.Extent(ctx, data.LayerAreas)
	wantB = orb.Bound{Min: orb.Point{9.5, 47}, Max: orb.Point{11, 48}}
	if err != nil || !ok || !near(b, wantB, 1e-5) {
		t.Errorf("Extent(areas) = %v, %v, %v; want %v", b, ok, err, wantB)
	}

	p, err := s.Plan(ctx, f.plan.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, f.plan, false)
}

// checkPlan compares a stored plan with what was saved: every field, grids
// ordered by code.
func checkPlan(t *testing.T, got, want data.Plan, published bool) {
	t.Helper()
	if got.ID != want.ID || !got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC ||
		got.Target != want.Target || got.Resolution != want.Resolution || got.BaseID != want.BaseID || got.Published != published {
		t.Errorf("plan:\n got %+v\nwant %+v (published %v)", got, want, published)
	}
	if fmt.Sprintf("%+v", got.Report) != fmt.Sprintf("%+v", want.Report) {
		t.Errorf("report:\n got %+v\nwant %+v", got.Report, want.Report)
	}
	grids := slices.Clone(want.Grids)
	slices.SortFunc(grids, func(a, b data.Grid) int { return strings.Compare(a.Code, b.Code) })
	if len(got.Grids) != len(grids) {
		t.Fatalf("plan %d has %d grids, want %d", got.ID, len(got.Grids), len(grids))
	}
	for i, g := range got.Grids {
		w := grids[i]
		if g.FID <= 0 || g.PlanID != got.ID || g.Code != w.Code || g.ParentCode != w.ParentCode || g.Name != w.Name ||
			g.Households != w.Households || g.AreaM2 != w.AreaM2 || g.Worker != w.Worker ||
			!slices.Equal(g.Cells, w.Cells) || !orb.Equal(g.Geometry, w.Geometry) {
			t.Errorf("grid %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func equalArea(a, b data.Area) bool {
	g1, g2 := a.Geometry, b.Geometry
	a.Geometry, b.Geometry = nil, nil
	return fmt.Sprint(a) == fmt.Sprint(b) && orb.Equal(g1, g2)
}

// equalHazard compares every field; times as instants, those of a (read
// from a store) in UTC, zero where b's are zero.
func equalHazard(a, b data.Hazard) bool {
	ok := true
	for _, t := range []struct{ a, b *time.Time }{{&a.ReportedAt, &b.ReportedAt}, {&a.DueAt, &b.DueAt},
		{&a.ResolvedAt, &b.ResolvedAt}, {&a.ClosedAt, &b.ClosedAt}} {
		ok = ok && t.a.Equal(*t.b) && t.a.IsZero() == t.b.IsZero() && (t.a.IsZero() || t.a.Location() == time.UTC)
		*t.a, *t.b = time.Time{}, time.Time{}
	}
	return ok && a == b
}

func near(a, b orb.Bound, tol float64) bool {
	return math.Abs(a.Min[0]-b.Min[0]) <= tol && math.Abs(a.Min[1]-b.Min[1]) <= tol &&
		math.Abs(a.Max[0]-b.Max[0]) <= tol && math.Abs(a.Max[1]-b.Max[1]) <= tol
}

func fids(p data.Page) []int64 {
	var out []int64
	for _, f := range p.Features {
		out = append(out, f.FID)
	}
	return out
}

func testItems(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	z := []int64{f.hazards[0].FID, f.hazards[1].FID, f.hazards[2].FID}
	bbox := orb.Bound{Min: orb.Point{9.5, 47.1}, Max: orb.Point{9.6, 47.2}}
	tests := []struct {
		name    string
		q       data.Query
		matched int
		fids    []int64
	}{
		{"all", data.Query{Limit: 10}, 3, z},
		{"no limit", data.Query{}, 3, z},
		{"page", data.Query{Limit: 1, Offset: 1}, 3, z[1:2]},
		{"last page", data.Query{Limit: 2, Offset: 2}, 3, z[2:]},
		{"past the end", data.Query{Limit: 2, Offset: 5}, 3, nil},
		{"bbox", data.Query{Limit: 10, BBox: &bbox}, 2, z[:2]},
		{"filter", data.Query{Limit: 10, Filter: map[string]string{"category": "fire"}}, 2, []int64{z[0], z[2]}},
		{"bbox and filter", data.Query{Limit: 10, BBox: &bbox, Filter: map[string]string{"category": "fire", "status": "reported"}}, 1, z[:1]},
		{"severity", data.Query{Limit: 10, Filter: map[string]string{"severity": "3"}}, 1, z[2:]},
		{"severity not a number", data.Query{Limit: 10, Filter: map[string]string{"severity": "high"}}, 0, nil},
		{"none", data.Query{Limit: 10, Filter: map[string]string{"category": "water"}}, 0, nil},
		{"case matters", data.Query{Limit: 10, Filter: map[string]string{"category": "FIRE"}}, 0, nil},
		// Keyset paging: after a FID, with the filters still applied;
		// matched counts what matches after it.
		{"after", data.Query{Limit: 10, AfterFID: z[0]}, 2, z[1:]},
		{"after and filter", data.Query{Limit: 10, AfterFID: z[0], Filter: map[string]string{"category": "fire"}}, 1, z[2:]},
		{"after and bbox", data.Query{Limit: 1, AfterFID: z[0], BBox: &bbox}, 1, z[1:2]},
		{"after the last", data.Query{Limit: 10, AfterFID: z[2]}, 0, nil},
		{"no count", data.Query{Limit: 2, NoCount: true}, -1, z[:2]},
		{"no count after", data.Query{Limit: 2, NoCount: true, AfterFID: z[1], Filter: map[string]string{"category": "fire"}}, -1, z[2:]},
	}
	for _, tc := range tests {
		page, err := s.Items(ctx, data.LayerHazards, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if page.Matched != tc.matched || !slices.Equal(fids(page), tc.fids) {
			t.Errorf("%s: matched %d fids %v, want %d %v", tc.name, page.Matched, fids(page), tc.matched, tc.fids)
		}
	}
	_, err := s.Items(ctx, data.LayerHazards, data.Query{Limit: 1, Filter: map[string]string{"colour": "red"}})
	wantCode(t, "unknown filter", err, data.EINVALID, `"colour"`)
	_, err = s.Items(ctx, data.LayerHouseholds, data.Query{Limit: 1, Filter: map[string]string{"households": "3"}})
	wantCode(t, "households filter", err, data.EINVALID, "households")

	// Areas filter on level (an integer) and parent_code.
	for _, tc := range []struct {
		filter map[string]string
		want   []int64
	}{
		{map[string]string{"level": "1"}, []int64{f.areas[0].FID, f.areas[2].FID}},
		{map[string]string{"level": "2", "parent_code": "A"}, []int64{f.areas[1].FID}},
		{map[string]string{"parent_code": "B"}, nil},
	} {
		page, err := s.Items(ctx, data.LayerAreas, data.Query{Limit: 10, Filter: tc.filter})
		if err != nil || !slices.Equal(fids(page), tc.want) || page.Matched != len(tc.want) {
			t.Errorf("areas %v: %v (%d), %v; want %v", tc.filter, fids(page), page.Matched, err, tc.want)
		}
	}
	_, err = s.Item(ctx, data.LayerHazards, z[2]+1000)
	wantCode(t, "Item missing", err, data.ENOTFOUND, "")

	// Grids are served only once their plan is published.
	page, err := s.Items(ctx, data.LayerGrids, data.Query{Limit: 10})
	if err != nil || page.Matched != 0 {
		t.Errorf("grids before publish: %+v, %v", page, err)
	}
	p, _ := s.Plan(ctx, f.plan.ID)
	if _, err := s.Item(ctx, data.LayerGrids, p.Grids[0].FID); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("Item of an unpublished grid: %v, want ENOTFOUND", err)
	}
	// The grids collection's extent is the published plan's: none yet.
	if _, ok, err := s.Extent(ctx, data.LayerGrids); err != nil || ok {
		t.Errorf("Extent(grids) with no published plan = %v, %v; want none", ok, err)
	}
	tx := begin(t, s)
	if err := tx.PublishPlan(ctx, f.plan.ID); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	page, err = s.Items(ctx, data.LayerGrids, data.Query{Limit: 10, Filter: map[string]string{"parent_code": "A1"}})
	if err != nil || page.Matched != 2 || len(page.Features) != 2 {
		t.Fatalf("published grids: %+v, %v", page, err)
	}
	g, err := s.Item(ctx, data.LayerGrids, p.Grids[0].FID)
	if err != nil || g.Properties["code"] != "A1001" || g.Properties["plan_id"] != f.plan.ID {
		t.Errorf("Item(grid) = %+v, %v", g, err)
	}
	b, ok, err := s.Extent(ctx, data.LayerGrids)
	if err != nil || !ok || !near(b, orb.Bound{Min: orb.Point{9.5, 47.1}, Max: orb.Point{9.8, 47.2}}, 1e-5) {
		t.Errorf("Extent(grids) = %v, %v, %v", b, ok, err)
	}
}

// A polygon counts when it shares any point with the bbox: one that
// surrounds the box does, one whose envelope (not body) reaches it does not,
// nor does a box inside a hole.
func testItemsBBoxExact(t *testing.T, s data.Store) {
	ctx := context.Background()
	tx := begin(t, s)
	tri := ok(t)(tx.AddArea(ctx, data.Area{Code: "T", Level: 1, Geometry: triangle}))
	hole := ok(t)(tx.AddArea(ctx, data.Area{Code: "H", Level: 1, Geometry: withHole}))
	sq := ok(t)(tx.AddArea(ctx, data.Area{Code: "S", Level: 1, Geometry: square}))
	edge := ok(t)(tx.AddHazard(ctx, data.Hazard{ID: "edge", Point: orb.Point{9.6, 47.2}, Category: "water", Severity: 1, Status: "reported", ReportedAt: at}))
	commit(t, tx)
	for _, tc := range []struct {
		name  string
		b     orb.Bound
		layer data.Layer
		want  []int64
	}{
		{"inside the square", orb.Bound{Min: orb.Point{9.54, 47.14}, Max: orb.Point{9.56, 47.16}}, data.LayerAreas, []int64{sq}},
		{"triangle body", orb.Bound{Min: orb.Point{9.71, 47.11}, Max: orb.Point{9.72, 47.12}}, data.LayerAreas, []int64{tri}},
		{"triangle envelope only", orb.Bound{Min: orb.Point{9.78, 47.18}, Max: orb.Point{9.79, 47.19}}, data.LayerAreas, nil},
		{"in the hole", orb.Bound{Min: orb.Point{10.45, 47.45}, Max: orb.Point{10.55, 47.55}}, data.LayerAreas, nil},
		{"across the hole's edge", orb.Bound{Min: orb.Point{10.3, 47.45}, Max: orb.Point{10.45, 47.55}}, data.LayerAreas, []int64{hole}},
		{"outside", orb.Bound{Min: orb.Point{0, 0}, Max: orb.Point{1, 1}}, data.LayerAreas, nil},
		{"point on the box corner", orb.Bound{Min: orb.Point{9.6, 47.2}, Max: orb.Point{9.7, 47.3}}, data.LayerHazards, []int64{edge}},
		{"degenerate box on the point", orb.Bound{Min: orb.Point{9.6, 47.2}, Max: orb.Point{9.6, 47.2}}, data.LayerHazards, []int64{edge}},
	} {
		page, err := s.Items(ctx, tc.layer, data.Query{BBox: &tc.b, Limit: 10})
		if err != nil || page.Matched != len(tc.want) || !slices.Equal(fids(page), tc.want) {
			t.Errorf("%s: %v (matched %d), %v; want %v", tc.name, fids(page), page.Matched, err, tc.want)
		}
	}
}

// Query.Time keeps the hazards whose reported_at lies in a closed range,
// to the millisecond, whatever the zone of its ends; open ends are zero. A
// layer without a temporal property ignores it.
func testItemsTime(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	z1, z2, z3 := f.hazards[0].FID, f.hazards[1].FID, f.hazards[2].FID // at, at+1h, at−48h
	ms := time.Millisecond
	beijing := time.FixedZone("UTC+8", 8*3600)
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	long := time.Date(-100, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		r    data.TimeRange
		q    data.Query
		want []int64
	}{
		{"instant", data.TimeRange{Start: at, End: at}, data.Query{}, []int64{z1}},
		{"instant in another zone", data.TimeRange{Start: at.In(beijing), End: at.In(beijing)}, data.Query{}, []int64{z1}},
		{"instant a millisecond late", data.TimeRange{Start: at.Add(ms), End: at.Add(ms)}, data.Query{}, nil},
		{"instant between milliseconds", data.TimeRange{Start: at.Add(ms / 2), End: at.Add(ms / 2)}, data.Query{}, nil},
		{"closed, ends included", data.TimeRange{Start: at, End: at.Add(time.Hour)}, data.Query{}, []int64{z1, z2}},
		{"closed, ends between milliseconds", data.TimeRange{Start: at.Add(-ms / 2), End: at.Add(time.Hour + ms/2)}, data.Query{}, []int64{z1, z2}},
		{"closed, just inside", data.TimeRange{Start: at.Add(ms), End: at.Add(time.Hour - ms)}, data.Query{}, nil},
		{"open start", data.TimeRange{End: at}, data.Query{}, []int64{z1, z3}},
		{"open end", data.TimeRange{Start: at.Add(ms)}, data.Query{}, []int64{z2}},
		{"both open", data.TimeRange{}, data.Query{}, []int64{z1, z2, z3}},
		{"start after end", data.TimeRange{Start: at.Add(time.Hour), End: at}, data.Query{}, nil},
		{"beyond year 9999", data.TimeRange{Start: far}, data.Query{}, nil},
		{"until beyond year 9999", data.TimeRange{End: far}, data.Query{}, []int64{z1, z2, z3}},
		{"from before year 0", data.TimeRange{Start: long}, data.Query{}, []int64{z1, z2, z3}},
		{"until before year 0", data.TimeRange{End: long}, data.Query{}, nil},
		{"with a filter", data.TimeRange{End: at.Add(time.Hour)}, data.Query{Filter: map[string]string{"category": "fire"}}, []int64{z1, z3}},
		{"with a bbox", data.TimeRange{Start: at.Add(-time.Hour)}, data.Query{BBox: &orb.Bound{Min: orb.Point{9.5, 47.1}, Max: orb.Point{9.55, 47.15}}}, []int64{z1}},
		{"after a fid", data.TimeRange{Start: at.Add(-72 * time.Hour)}, data.Query{AfterFID: z1}, []int64{z2, z3}},
	} {
		q := tc.q
		q.Limit, q.Time = 10, &tc.r
		page, err := s.Items(ctx, data.LayerHazards, q)
		if err != nil || page.Matched != len(tc.want) || !slices.Equal(fids(page), tc.want) {
			t.Errorf("%s: %v (matched %d), %v; want %v", tc.name, fids(page), page.Matched, err, tc.want)
		}
	}
	// Areas have no time: a range keeps them all.
	page, err := s.Items(ctx, data.LayerAreas, data.Query{Limit: 10, Time: &data.TimeRange{Start: far}})
	if err != nil || page.Matched != len(f.areas) {
		t.Errorf("areas with a time range: matched %d, %v; want all %d", page.Matched, err, len(f.areas))
	}
}

// Features carry the same properties, with the same Go types, from every
// store: the HTTP layer writes them as they are.
func testItemProperties(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	tx := begin(t, s)
	if err := tx.PublishPlan(ctx, f.plan.ID); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	p, err := s.PublishedPlan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		layer data.Layer
		fid   int64
		geom  orb.Geometry
		props map[string]any
	}{
		{data.LayerAreas, f.areas[0].FID, square, map[string]any{"code": "A", "name": "Alpha", "name_en": "Alpha EN", "level": int64(1),
			"admin_level": int64(8), "parent_code": nil, "osm_id": "r123"}},
		{data.LayerAreas, f.areas[1].FID, f.areas[1].Geometry, map[string]any{"code": "A1", "name": "阿尔法一", "name_en": "", "level": int64(2),
			"admin_level": nil, "parent_code": "A", "osm_id": ""}},
		{data.LayerHouseholds, f.households[0].FID, orb.Point{9.52, 47.12}, map[string]any{"source_id": "h1", "households": int64(3)}},
		// Times not set are null, like any missing value.
		{data.LayerHazards, f.hazards[0].FID, orb.Point{9.52, 47.12}, map[string]any{"source_id": "z1", "category": "fire", "severity": int64(2),
			"status": "reported", "reported_at": "2025-03-01T09:30:15.123Z", "note": "", "assignee": "", "resp_code": "A1002",
			"resp_level": int64(3), "due_at": "2025-03-04T09:30:15.123Z", "resolved_at": nil, "closed_at": nil}},
		{data.LayerHazards, f.hazards[1].FID, orb.Point{9.58, 47.18}, map[string]any{"source_id": "z2", "category": "traffic", "severity": int64(1),
			"status": "resolved", "reported_at": "2025-03-01T10:30:15.123Z", "note": "护栏已修复 (rail fixed)", "assignee": "w1", "resp_code": "A1",
			"resp_level": int64(2), "due_at": "2025-03-02T10:30:15.123Z", "resolved_at": "2025-03-01T14:30:15.123Z", "closed_at": nil}},
		{data.LayerHazards, f.hazards[2].FID, orb.Point{9.40, 47.00}, map[string]any{"source_id": "z3", "category": "fire", "severity": int64(3),
			"status": "reported", "reported_at": "2025-02-27T09:30:15.123Z", "note": "", "assignee": "", "resp_code": "",
			"resp_level": int64(0), "due_at": nil, "resolved_at": nil, "closed_at": nil}},
		{data.LayerCameras, f.cameras[0].FID, orb.Point{9.55, 47.15}, map[string]any{"source_id": "c1", "azimuth": 90.5, "fov": 60.0,
			"range_m": 50.25, "status": "online"}},
		{data.LayerGrids, p.Grids[1].FID, square, map[string]any{"plan_id": f.plan.ID, "code": "A1002", "parent_code": "A1", "name": "grid two",
			"households": int64(3), "area_m2": 1234.5, "worker": "王芳"}},
	} {
		got, err := s.Item(ctx, tc.layer, tc.fid)
		if err != nil {
			t.Errorf("Item(%s, %d): %v", tc.layer, tc.fid, err)
			continue
		}
		if got.FID != tc.fid || !orb.Equal(got.Geometry, tc.geom) {
			t.Errorf("Item(%s, %d): fid %d geometry %v, want %v", tc.layer, tc.fid, got.FID, got.Geometry, tc.geom)
		}
		if fmt.Sprintf("%#v", got.Properties) != fmt.Sprintf("%#v", tc.props) {
			t.Errorf("Item(%s, %d) properties:\n got %#v\nwant %#v", tc.layer, tc.fid, got.Properties, tc.props)
		}
		// The page of Items carries the same feature.
		page, err := s.Items(ctx, tc.layer, data.Query{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(page.Features, func(f data.Feature) bool { return f.FID == tc.fid })
		if i < 0 || fmt.Sprintf("%#v", page.Features[i]) != fmt.Sprintf("%#v", got) {
			t.Errorf("Items(%s) does not carry Item(%d) as it is", tc.layer, tc.fid)
		}
	}
}

// Bad records are refused one by one, with a message naming the problem,
// and the transaction goes on.
func testRejects(t *testing.T, s data.Store) {
	ctx := context.Background()
	fill(t, s)
	tx := begin(t, s)
	p := orb.Point{9.5, 47.1}
	open := func(h data.Hazard) data.Hazard {
		h.Point, h.Category, h.Severity, h.Status, h.ReportedAt = p, "fire", 1, data.StatusReported, at
		return h
	}
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"duplicate household", second(tx.AddHousehold(ctx, data.Household{ID: "h1", Point: p, Households: 1})), data.ECONFLICT, `duplicate id "h1"`},
		{"households 0", second(tx.AddHousehold(ctx, data.Household{ID: "h9", Point: p})), data.EINVALID, "households must be at least 1"},
		{"empty id", second(tx.AddHousehold(ctx, data.Household{Point: p, Households: 1})), data.EINVALID, "id is empty"},
		{"latitude", second(tx.AddHousehold(ctx, data.Household{ID: "h9", Point: orb.Point{9.5, 97.1}, Households: 1})), data.EINVALID, "latitude out of range"},
		{"NaN", second(tx.AddHousehold(ctx, data.Household{ID: "h9", Point: orb.Point{math.NaN(), 47}, Households: 1})), data.EINVALID, "longitude is not a finite number"},
		{"duplicate hazard", second(tx.AddHazard(ctx, open(data.Hazard{ID: "z2"}))), data.ECONFLICT, `duplicate id "z2"`},
		// Categories are checked against a taxonomy above the store; the
		// store keeps codes well-formed.
		{"category", second(tx.AddHazard(ctx, data.Hazard{ID: "z9", Point: p, Category: "UFO!", Severity: 1, Status: "reported", ReportedAt: at})), data.EINVALID, `category "UFO!" is not a category code`},
		{"status", second(tx.AddHazard(ctx, data.Hazard{ID: "z9", Point: p, Category: "fire", Severity: 1, Status: "open", ReportedAt: at})), data.EINVALID, `unknown status "open"`},
		{"resp_level", second(tx.AddHazard(ctx, open(data.Hazard{ID: "z9", RespLevel: -1}))), data.EINVALID, "resp_level"},
		{"note", second(tx.AddHazard(ctx, open(data.Hazard{ID: "z9", Note: "\xff"}))), data.EINVALID, "note"},
		{"severity", second(tx.AddHazard(ctx, data.Hazard{ID: "z9", Point: p, Category: "fire", Severity: 4, Status: "reported", ReportedAt: at})), data.EINVALID, "severity must be 1, 2 or 3"},
		{"no time", second(tx.AddHazard(ctx, data.Hazard{ID: "z9", Point: p, Category: "fire", Severity: 1, Status: "reported"})), data.EINVALID, "reported_at"},
		{"duplicate camera", second(tx.AddCamera(ctx, data.Camera{ID: "c1", Point: p, Azimuth: 1, FOV: 1, RangeM: 1, Status: "online"})), data.ECONFLICT, `duplicate id "c1"`},
		{"range", second(tx.AddCamera(ctx, data.Camera{ID: "c9", Point: p, Azimuth: 1, FOV: 1, RangeM: 0, Status: "online"})), data.EINVALID, "range_m"},
		{"azimuth", second(tx.AddCamera(ctx, data.Camera{ID: "c9", Point: p, Azimuth: 360, FOV: 1, RangeM: 1, Status: "online"})), data.EINVALID, "azimuth"},
		{"duplicate area", second(tx.AddArea(ctx, data.Area{Code: "A", Level: 1, Geometry: square})), data.ECONFLICT, `duplicate area code "A"`},
		{"unclosed", second(tx.AddArea(ctx, data.Area{Code: "X", Level: 1, Geometry: orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}}})), data.EINVALID, "not closed"},
		{"level", second(tx.AddArea(ctx, data.Area{Code: "X", Level: 0, Geometry: square})), data.EINVALID, "level"},
		{"no polygon", second(tx.AddArea(ctx, data.Area{Code: "X", Level: 1})), data.EINVALID, "no polygon"},
		{"publish missing", tx.PublishPlan(ctx, 424242), data.ENOTFOUND, "no plan 424242"},
		{"plan target", second(tx.SavePlan(ctx, data.Plan{Target: 0})), data.EINVALID, "target"},
		{"delete missing", tx.Delete(ctx, data.LayerHazards, 424242), data.ENOTFOUND, "424242"},
		{"delete unknown layer", tx.Delete(ctx, "roads", 1), data.ENOTFOUND, "roads"},
		{"clear unknown layer", tx.Clear(ctx, "roads"), data.ENOTFOUND, "roads"},
	}
	for _, tc := range tests {
		wantCode(t, tc.name, tc.err, tc.code, tc.msg)
	}
	// The rejected records did not spoil the transaction.
	ok(t)(tx.AddHousehold(ctx, data.Household{ID: "h3", Point: p, Households: 1}))
	ok(t)(tx.AddHazard(ctx, open(data.Hazard{ID: "z4"})))
	ok(t)(tx.AddArea(ctx, data.Area{Code: "X", Level: 1, Geometry: square}))
	commit(t, tx)
	for l, n := range map[data.Layer]int{data.LayerHouseholds: 3, data.LayerHazards: 4, data.LayerAreas: 4, data.LayerCameras: 2} {
		if c := count(t, s, l); c != n {
			t.Errorf("Count(%s) = %d, want %d", l, c, n)
		}
	}
}

// Duplicates within one transaction are found however many records came
// between (imports of a million rows, buffered or not).
func testDuplicatesInOneTx(t *testing.T, s data.Store) {
	ctx := context.Background()
	tx := begin(t, s)
	const n = 3000
	fidOf := map[string]int64{}
	var last int64
	for i := range n {
		id := fmt.Sprintf("p%05d", i)
		fid := ok(t)(tx.AddHousehold(ctx, data.Household{ID: id, Point: orb.Point{9.5 + float64(i)/1e5, 47.1}, Households: 1 + i%5}))
		if fid <= last {
			t.Fatalf("fid %d after %d: fids must grow in insertion order", fid, last)
		}
		last = fid
		fidOf[id] = fid
		// Repeat an early id, the previous id, and now and then the one just added.
		if i%500 == 499 {
			for _, dup := range []string{"p00000", fmt.Sprintf("p%05d", i-1), id} {
				_, err := tx.AddHousehold(ctx, data.Household{ID: dup, Point: orb.Point{9.5, 47.1}, Households: 1})
				wantCode(t, "duplicate "+dup, err, data.ECONFLICT, fmt.Sprintf("duplicate id %q", dup))
			}
		}
	}
	commit(t, tx)
	if c := count(t, s, data.LayerHouseholds); c != n {
		t.Errorf("households = %d, want %d", c, n)
	}
	seen := 0
	err := s.EachHousehold(ctx, func(h data.Household) error {
		if fidOf[h.ID] != h.FID {
			return fmt.Errorf("household %s has fid %d, Add returned %d", h.ID, h.FID, fidOf[h.ID])
		}
		seen++
		return nil
	})
	if err != nil || seen != n {
		t.Errorf("EachHousehold: %d, %v", seen, err)
	}
}

// A second import finds the ids of the first, both the first few records
// and after many.
func testDuplicatesAgainstStored(t *testing.T, s data.Store) {
	ctx := context.Background()
	tx := begin(t, s)
	for i := range 500 {
		ok(t)(tx.AddHazard(ctx, data.Hazard{ID: fmt.Sprintf("x%d", i), Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 1, Status: "reported", ReportedAt: at}))
	}
	commit(t, tx)
	tx = begin(t, s)
	added, refused := 0, 0
	for i := 400; i < 1200; i++ {
		_, err := tx.AddHazard(ctx, data.Hazard{ID: fmt.Sprintf("x%d", i), Point: orb.Point{9.5, 47.1}, Category: "water", Severity: 2, Status: "reported", ReportedAt: at})
		switch {
		case err == nil:
			added++
		case data.ErrorCode(err) == data.ECONFLICT:
			refused++
		default:
			t.Fatalf("x%d: %v", i, err)
		}
	}
	commit(t, tx)
	if added != 700 || refused != 100 || count(t, s, data.LayerHazards) != 1200 {
		t.Errorf("added %d refused %d stored %d; want 700 100 1200", added, refused, count(t, s, data.LayerHazards))
	}
}

func testUpdateDelete(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	tx := begin(t, s)
	h := f.hazards[0]
	h.Status, h.Point, h.Severity, h.ReportedAt = "resolved", orb.Point{9.9, 47.9}, 3, at.Add(time.Minute)
	if err := tx.UpdateHazard(ctx, h); err != nil {
		t.Fatal(err)
	}
	c := f.cameras[0]
	c.ID, c.Azimuth, c.Status = "c1-renamed", 270, "offline"
	if err := tx.UpdateCamera(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(ctx, data.LayerCameras, f.cameras[1].FID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(ctx, data.LayerHouseholds, f.households[0].FID); err != nil {
		t.Fatal(err)
	}
	missing := h
	missing.FID = 424242
	wantCode(t, "update missing hazard", tx.UpdateHazard(ctx, missing), data.ENOTFOUND, "424242")
	mc := c
	mc.FID = 424242
	wantCode(t, "update missing camera", tx.UpdateCamera(ctx, mc), data.ENOTFOUND, "424242")
	wantCode(t, "delete twice", tx.Delete(ctx, data.LayerCameras, f.cameras[1].FID), data.ENOTFOUND, "")
	taken := h
	taken.ID = "z2"
	wantCode(t, "update to a taken id", tx.UpdateHazard(ctx, taken), data.ECONFLICT, `duplicate id "z2"`)
	bad := h
	bad.Severity = 0
	wantCode(t, "update invalid", tx.UpdateHazard(ctx, bad), data.EINVALID, "severity")
	// The transaction is still good: the old id of the renamed camera is free.
	ok(t)(tx.AddCamera(ctx, data.Camera{ID: "c1", Point: orb.Point{9.51, 47.11}, Azimuth: 1, FOV: 1, RangeM: 1, Status: "online"}))
	wantCode(t, "new id of the renamed camera", second(tx.AddCamera(ctx, data.Camera{ID: "c1-renamed", Point: orb.Point{9.51, 47.11}, Azimuth: 1, FOV: 1, RangeM: 1, Status: "online"})), data.ECONFLICT, "c1-renamed")
	commit(t, tx)

	got, err := s.Hazard(ctx, h.FID)
	if err != nil || !equalHazard(got, h) {
		t.Errorf("after update: %+v, %v; want %+v", got, err, h)
	}
	gc, err := s.Camera(ctx, c.FID)
	if err != nil || gc != c {
		t.Errorf("after update: %+v, %v; want %+v", gc, err, c)
	}
	_, err = s.Camera(ctx, f.cameras[1].FID)
	wantCode(t, "deleted camera", err, data.ENOTFOUND, "")
	if n := count(t, s, data.LayerHouseholds); n != 1 {
		t.Errorf("households = %d, want 1", n)
	}
	// The index moved with the point: the old box is empty, the new one finds it.
	for _, tc := range []struct {
		b    orb.Bound
		want int
	}{
		{orb.Bound{Min: orb.Point{9.51, 47.11}, Max: orb.Point{9.53, 47.13}}, 0},
		{orb.Bound{Min: orb.Point{9.89, 47.89}, Max: orb.Point{9.91, 47.91}}, 1},
	} {
		page, err := s.Items(ctx, data.LayerHazards, data.Query{BBox: &tc.b, Limit: 5})
		if err != nil || page.Matched != tc.want {
			t.Errorf("bbox %v: %d, %v; want %d", tc.b, page.Matched, err, tc.want)
		}
	}
}

// A record deleted in a transaction frees its id for the same transaction.
func testDeleteThenReAdd(t *testing.T, s data.Store) {
	ctx := context.Background()
	tx := begin(t, s)
	var first int64
	for i := range 100 {
		fid := ok(t)(tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("d%d", i), Point: orb.Point{9.5, 47.1}, Households: 1}))
		if i == 0 {
			first = fid
		}
	}
	if err := tx.Delete(ctx, data.LayerHouseholds, first); err != nil {
		t.Fatal(err)
	}
	ok(t)(tx.AddHousehold(ctx, data.Household{ID: "d0", Point: orb.Point{9.6, 47.2}, Households: 2}))
	_, err := tx.AddHousehold(ctx, data.Household{ID: "d1", Point: orb.Point{9.6, 47.2}, Households: 2})
	wantCode(t, "d1 again", err, data.ECONFLICT, `"d1"`)
	commit(t, tx)
	if n := count(t, s, data.LayerHouseholds); n != 100 {
		t.Errorf("households = %d, want 100", n)
	}
}

// Clear then add is how `import --replace` works: the old ids are free.
func testClearAndReplace(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	tx := begin(t, s)
	for _, l := range []data.Layer{data.LayerHouseholds, data.LayerHazards, data.LayerCameras, data.LayerAreas} {
		if err := tx.Clear(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	ok(t)(tx.AddHousehold(ctx, data.Household{ID: "h1", Point: orb.Point{1, 2}, Households: 7}))
	ok(t)(tx.AddHazard(ctx, f.hazards[1]))
	ok(t)(tx.AddArea(ctx, f.areas[0]))
	// Rows added before a Clear are cleared too.
	ok(t)(tx.AddCamera(ctx, f.cameras[0]))
	if err := tx.Clear(ctx, data.LayerCameras); err != nil {
		t.Fatal(err)
	}
	ok(t)(tx.AddCamera(ctx, f.cameras[1]))
	if err := tx.PublishPlan(ctx, f.plan.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Clear(ctx, data.LayerGrids); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	for l, n := range map[data.Layer]int{data.LayerHouseholds: 1, data.LayerHazards: 1, data.LayerCameras: 1, data.LayerAreas: 1, data.LayerGrids: 0} {
		if c := count(t, s, l); c != n {
			t.Errorf("Count(%s) = %d, want %d", l, c, n)
		}
	}
	if p, err := s.Plans(ctx); err != nil || len(p) != 0 {
		t.Errorf("plans after clearing grids: %v, %v", p, err)
	}
	var hh []data.Household
	s.EachHousehold(ctx, func(h data.Household) error { hh = append(hh, h); return nil })
	if len(hh) != 1 || hh[0].Households != 7 || hh[0].Point != (orb.Point{1, 2}) {
		t.Errorf("households after replace: %+v", hh)
	}
}

// A rolled-back transaction leaves nothing behind, and readers never see
// half of it.
func testRollback(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		ok(t)(tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("r%d", i), Point: orb.Point{9.5, 47.1}, Households: 1}))
	}
	if err := tx.Clear(ctx, data.LayerHazards); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(ctx, data.LayerCameras, f.cameras[0].FID); err != nil {
		t.Fatal(err)
	}
	id := ok(t)(tx.SavePlan(ctx, data.Plan{Target: 10, Resolution: 8}))
	if err := tx.PublishPlan(ctx, id); err != nil {
		t.Fatal(err)
	}
	// A reader during the write sees the committed state.
	if n := count(t, s, data.LayerHouseholds); n != 2 {
		t.Errorf("households during write = %d; want 2", n)
	}
	if n := count(t, s, data.LayerHazards); n != 3 {
		t.Errorf("hazards during write = %d; want 3", n)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	for l, n := range map[data.Layer]int{data.LayerHouseholds: 2, data.LayerHazards: 3, data.LayerCameras: 2} {
		if c := count(t, s, l); c != n {
			t.Errorf("%s after rollback = %d, want %d", l, c, n)
		}
	}
	if p, err := s.Plans(ctx); err != nil || len(p) != 1 {
		t.Errorf("plans after rollback: %d, %v", len(p), err)
	}
	if _, err := s.PublishedPlan(ctx); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("published plan after rollback: %v", err)
	}
	// The ids of the rolled-back records are free again.
	tx = begin(t, s)
	ok(t)(tx.AddHousehold(ctx, data.Household{ID: "r0", Point: orb.Point{9.5, 47.1}, Households: 1}))
	commit(t, tx)
}

func testFinishedTx(t *testing.T, s data.Store) {
	ctx := context.Background()
	tx := begin(t, s)
	ok(t)(tx.AddHousehold(ctx, data.Household{ID: "f1", Point: orb.Point{9.5, 47.1}, Households: 1}))
	commit(t, tx)
	if err := tx.Rollback(); err != nil {
		t.Errorf("Rollback after Commit: %v, want nil", err)
	}
	if err := tx.Commit(); err == nil {
		t.Error("second Commit succeeded")
	}
	if n := count(t, s, data.LayerHouseholds); n != 1 {
		t.Errorf("households = %d", n)
	}
	tx = begin(t, s)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Errorf("second Rollback: %v", err)
	}
}

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

// Readers running while a large write commits see the state before or the
// state after, never a part.
func testConcurrentReaders(t *testing.T, s data.Store) {
	ctx := context.Background()
	fill(t, s)
	const n = 4000
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for reads := 0; !stop.Load() || reads == 0; reads++ {
				var got int
				var err error
				if r%2 == 0 {
					got, err = s.Count(ctx, data.LayerHouseholds)
				} else {
					var page data.Page
					page, err = s.Items(ctx, data.LayerHouseholds, data.Query{Limit: 5})
					got = page.Matched
				}
				if err != nil {
					errs <- err
					return
				}
				if got != 2 && got != 2+n {
					errs <- fmt.Errorf("reader %d saw %d households, want 2 or %d", r, got, 2+n)
					return
				}
				if hz, err := s.Hazards(ctx); err != nil || len(hz) != 3 {
					errs <- fmt.Errorf("reader %d: %d hazards, %v", r, len(hz), err)
					return
				}
			}
		}()
	}
	tx := begin(t, s)
	for i := range n {
		if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("w%d", i), Point: orb.Point{9.5 + float64(i%100)/1000, 47.1 + float64(i/100)/1000}, Households: 1}); err != nil {
			t.Fatal(err)
		}
	}
	commit(t, tx)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := count(t, s, data.LayerHouseholds); c != 2+n {
		t.Errorf("households after commit = %d", c)
	}
}

// A cancelled context stops reads and writes with the context's error.
func testCancelled(t *testing.T, s data.Store) {
	fill(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Items(ctx, data.LayerHazards, data.Query{Limit: 10}); !errors.Is(err, context.Canceled) {
		t.Errorf("Items: %v, want context.Canceled", err)
	}
	if _, err := s.Hazards(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Hazards: %v, want context.Canceled", err)
	}
	if err := s.EachHousehold(ctx, func(data.Household) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("EachHousehold: %v, want context.Canceled", err)
	}
	if _, err := s.Begin(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Begin: %v, want context.Canceled", err)
	}
	// The store still works for others.
	if n := count(t, s, data.LayerHazards); n != 3 {
		t.Errorf("hazards = %d", n)
	}
}
