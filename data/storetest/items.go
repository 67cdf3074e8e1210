package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// The contract of reading features: pages, bbox, time and properties.

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
