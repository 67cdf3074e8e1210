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
		{"Webhooks", testWebhooks},
		{"Idempotency", testIdempotency},
		{"StreetsUnits", testStreetsUnits},
		{"HouseholdPoints", testHouseholdPoints},
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
