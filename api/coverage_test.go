package api_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/spatial"
)

// cell returns the centre of lattice grid (c, r) and its area in m².
func latticeCell(c, r int) (orb.Point, float64) {
	x, y := latticeLon0+float64(c)*latticeStep, latticeLat0+float64(r)*latticeStep
	return orb.Point{x + latticeStep/2, y + latticeStep/2}, spatial.AreaM2(box(x, y, x+latticeStep, y+latticeStep))
}

type coverageDoc struct {
	CamerasOnline int     `json:"cameras_online"`
	RasterCellM   float64 `json:"raster_cell_m"`
	NumberMatched int     `json:"numberMatched"`
	Total         struct {
		Households, HouseholdsCovered int
	} `json:"total"`
	Grids []struct {
		Code                string  `json:"code"`
		Households          int     `json:"households"`
		HouseholdsCovered   int     `json:"households_covered"`
		HouseholdsUncovered int     `json:"households_uncovered"`
		HouseholdsShare     float64 `json:"households_share"`
		AreaM2              float64 `json:"area_m2"`
		CoveredM2           float64 `json:"covered_m2"`
		AreaShare           float64 `json:"area_share"`
		CamerasOnline       int     `json:"cameras_online"`
	} `json:"grids"`
}

// coverageFixture has two cameras with known coverage on the Beijing
// lattice: a full circle of 100 m (and an offline camera of 200 m, which
// must not count) in grid A, a 90° sector facing east in grid B, and
// households at known bearings and distances from them.
func coverageFixture(t *testing.T) (f *fixture, gridA, gridB string, areaA, areaB float64) {
	ca, areaA := latticeCell(2, 2)
	cb, areaB := latticeCell(5, 3)
	at := func(p orb.Point, bearing, dist float64) orb.Point {
		return geo.PointAtBearingAndDistance(p, bearing, dist)
	}
	hh := []data.Household{
		{ID: "a-in", Point: at(ca, 90, 50), Households: 1},
		{ID: "a-out", Point: at(ca, 90, 150), Households: 4}, // only the offline camera reaches it
		{ID: "b-east", Point: at(cb, 90, 50), Households: 2},
		{ID: "b-north", Point: at(cb, 0, 50), Households: 3},   // 90° off the azimuth: outside the 90° field
		{ID: "b-60", Point: at(cb, 60, 99), Households: 5},     // 30° off, inside the range
		{ID: "b-140", Point: at(cb, 140, 50), Households: 7},   // 50° off
		{ID: "b-far", Point: at(cb, 90, 101), Households: 11},  // beyond the range
		{ID: "b-edge", Point: at(cb, 134, 50), Households: 13}, // 44° off: inside
	}
	cams := []data.Camera{
		{ID: "a", Point: ca, Azimuth: 0, FOV: 360, RangeM: 100, Status: "online"},
		{ID: "a-off", Point: ca, Azimuth: 0, FOV: 360, RangeM: 200, Status: "offline"},
		{ID: "b", Point: cb, Azimuth: 90, FOV: 90, RangeM: 100, Status: "online"},
	}
	return beijingFixture(t, hh, cams), latticeGrid(2, 2), latticeGrid(5, 3), areaA, areaB
}

func (f *fixture) coverage(t *testing.T) (coverageDoc, map[string]int) {
	t.Helper()
	res, body := f.do(t, "GET", "/v1/coverage", nil)
	if res.StatusCode != 200 {
		t.Fatalf("coverage: %d %s", res.StatusCode, body)
	}
	var doc coverageDoc
	decode(t, body, &doc)
	byCode := map[string]int{}
	for i, g := range doc.Grids {
		byCode[g.Code] = i
	}
	return doc, byCode
}

func TestCoverage(t *testing.T) {
	f, gridA, gridB, areaA, areaB := coverageFixture(t)
	doc, at := f.coverage(t)
	if doc.CamerasOnline != 2 || doc.NumberMatched != latticeCols*latticeRows || len(doc.Grids) != doc.NumberMatched {
		t.Fatalf("coverage: %d cameras online, %d of %d grids", doc.CamerasOnline, len(doc.Grids), doc.NumberMatched)
	}
	a, b := doc.Grids[at[gridA]], doc.Grids[at[gridB]]
	if a.Households != 5 || a.HouseholdsCovered != 1 || a.HouseholdsUncovered != 4 || a.HouseholdsShare != 0.2 || a.CamerasOnline != 1 {
		t.Errorf("grid A: %+v", a)
	}
	if b.Households != 41 || b.HouseholdsCovered != 2+5+13 || b.HouseholdsUncovered != 3+7+11 || b.CamerasOnline != 1 {
		t.Errorf("grid B: %+v", b)
	}
	t.Logf("raster %v m: covered A %.0f m² (disc %.0f), B %.0f m² (quarter %.0f)", doc.RasterCellM, a.CoveredM2, math.Pi*1e4, b.CoveredM2, math.Pi*1e4/4)
	// Areas: a 100 m disc and a quarter of one, on a raster of a few metres.
	for _, tc := range []struct {
		name       string
		got        float64
		want, area float64
	}{{"A", a.CoveredM2, math.Pi * 100 * 100, areaA}, {"B", b.CoveredM2, math.Pi * 100 * 100 / 4, areaB}} {
		if math.Abs(tc.got-tc.want)/tc.want > 0.03 {
			t.Errorf("grid %s: covered %v m², want %v ±3%%", tc.name, tc.got, tc.want)
		}
	}
	if math.Abs(a.AreaShare-math.Pi*1e4/areaA) > 0.005 || math.Abs(a.AreaM2-areaA) > 1 {
		t.Errorf("grid A: area share %v of %v m², want %v", a.AreaShare, a.AreaM2, math.Pi*1e4/areaA)
	}
	for _, g := range doc.Grids {
		if g.Code != gridA && g.Code != gridB && (g.CoveredM2 != 0 || g.AreaShare != 0) {
			t.Errorf("grid %s without cameras covered %v m²", g.Code, g.CoveredM2)
		}
	}

	// Gaps of grid A: the grid less the disc, in H3 cells of ~9 m.
	res, body := f.do(t, "GET", "/v1/coverage/gaps?grid="+gridA+"&res=12", nil)
	var gaps struct {
		Features []struct {
			Geometry   struct{ Type string }
			Properties map[string]any
		}
	}
	decode(t, body, &gaps)
	if res.StatusCode != 200 || len(gaps.Features) != 1 || gaps.Features[0].Geometry.Type != "MultiPolygon" {
		t.Fatalf("gaps: %d %.300s", res.StatusCode, body)
	}
	gap, want := gaps.Features[0].Properties["gap_m2"].(float64), areaA-math.Pi*1e4
	t.Logf("gap of grid A: %.0f m², grid less disc %.0f m²", gap, want)
	if math.Abs(gap-want)/want > 0.05 {
		t.Errorf("gap of grid A %v m², want %v ±5%%", gap, want)
	}
	res, body = f.do(t, "GET", "/v1/coverage/gaps?limit=5&offset=2", nil)
	decode(t, body, &gaps)
	if res.StatusCode != 200 || len(gaps.Features) != 5 {
		t.Errorf("gaps page: %d, %d features", res.StatusCode, len(gaps.Features))
	}

	// A camera write is seen by the next request: take camera b offline.
	_, body = f.do(t, "GET", "/v1/nearby?kind=cameras&lon=116.4075&lat=39.9175&radius_m=2000&limit=10", nil)
	var cams gjCollection
	decode(t, body, &cams)
	for _, c := range cams.Features {
		if c.Properties["source_id"] == "b" {
			res, body := f.do(t, "PATCH", fmt.Sprintf("/collections/cameras/items/%d", c.ID), `{"properties": {"status": "maintenance"}}`)
			if res.StatusCode != 200 {
				t.Fatalf("patch: %d %s", res.StatusCode, body)
			}
		}
	}
	doc, at = f.coverage(t)
	if b := doc.Grids[at[gridB]]; doc.CamerasOnline != 1 || b.HouseholdsCovered != 0 || b.CoveredM2 != 0 {
		t.Errorf("after camera b went offline: %d online, grid B %+v", doc.CamerasOnline, b)
	}
}

func TestCoverageBadInput(t *testing.T) {
	f, _, _, _, _ := coverageFixture(t)
	shared := &fixture{url: server.URL}
	for _, tc := range []struct {
		f            *fixture
		path, detail string
		status       int
	}{
		{f, "/v1/coverage?limit=0", "parameter limit", 400},
		{f, "/v1/coverage?grid=x", `unknown query parameter "grid"`, 400},
		{f, "/v1/coverage/gaps?res=15", "parameter res must be an integer from 9 to 13", 400},
		{f, "/v1/coverage/gaps?grid=nope", `parameter grid: no grid "nope"`, 404},
		{f, "/v1/grids/nope/stats", `no grid "nope"`, 404},
		{f, "/v1/grids/stats?since=yesterday", "parameter since must be an RFC 3339 time", 400},
		{f, "/v1/grids/stats?since=2025-02-01&until=2025-01-01", "must be before until", 400},
		{f, "/v1/grids/stats?coverage=maybe", "parameter coverage must be true or false", 400},
		{shared, "/v1/coverage", "no published plan", 404},
		{shared, "/v1/grids/stats", "no published plan", 404},
	} {
		res, body := tc.f.do(t, "GET", tc.path, nil)
		if d := problemDetail(t, res, body, tc.status); !strings.Contains(d, tc.detail) {
			t.Errorf("%s: detail %q, want %q", tc.path, d, tc.detail)
		}
	}
}

type statsDoc struct {
	Code       string
	Households int
	Hazards    struct {
		Reported, Resolved int
		ClosureRate        *float64       `json:"closure_rate"`
		ByCategory         map[string]int `json:"by_category"`
		ByStatus           map[string]int `json:"by_status"`
	}
	Cameras  struct{ Online, Total int }
	Coverage *struct {
		HouseholdsShare     float64 `json:"households_share"`
		AreaShare           float64 `json:"area_share"`
		HouseholdsUncovered int     `json:"households_uncovered"`
	}
}

func TestGridStats(t *testing.T) {
	f, gridA, gridB, _, _ := coverageFixture(t)
	ca, _ := latticeCell(2, 2)
	for i, h := range []struct{ category, status, at string }{
		{"fire", "reported", "2025-01-10T08:00:00Z"},
		{"fire", "resolved", "2025-02-10T08:00:00Z"},
		{"water", "resolved", "2025-03-10T08:00:00Z"},
	} {
		res, body := f.do(t, "POST", "/collections/hazards/items", fmt.Sprintf(`{"type": "Feature",
			"geometry": {"type": "Point", "coordinates": [%v, %v]},
			"properties": {"category": %q, "severity": 2, "reported_at": %q}}`, ca[0]+float64(i)*1e-4, ca[1], h.category, h.at))
		if res.StatusCode != 201 {
			t.Fatalf("hazard %d: %d %s", i, res.StatusCode, body)
		}
		if h.status == "reported" {
			continue
		}
		// A new event is reported; it is resolved by moves.
		for _, to := range []string{"accepted", "in_progress", "resolved"} {
			if res, body := f.do(t, "PATCH", res.Header.Get("Location")[len(f.url):], `{"properties": {"status": "`+to+`"}}`); res.StatusCode != 200 {
				t.Fatalf("hazard %d to %s: %d %s", i, to, res.StatusCode, body)
			}
		}
	}
	get := func(path string) statsDoc {
		t.Helper()
		res, body := f.do(t, "GET", path, nil)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, res.StatusCode, body)
		}
		var d statsDoc
		decode(t, body, &d)
		return d
	}
	a := get("/v1/grids/" + gridA + "/stats")
	if a.Code != gridA || a.Households != 100 || a.Hazards.Reported != 3 || a.Hazards.Resolved != 2 ||
		a.Hazards.ClosureRate == nil || *a.Hazards.ClosureRate != 0.6667 ||
		a.Hazards.ByCategory["fire"] != 2 || a.Hazards.ByCategory["water"] != 1 || a.Hazards.ByCategory["traffic"] != 0 ||
		a.Hazards.ByStatus["reported"] != 1 || a.Hazards.ByStatus["resolved"] != 2 || a.Hazards.ByStatus["in_progress"] != 0 ||
		a.Cameras.Online != 1 || a.Cameras.Total != 2 || a.Coverage == nil || a.Coverage.HouseholdsShare != 0.2 || a.Coverage.HouseholdsUncovered != 4 {
		t.Errorf("grid A: %+v %+v", a, a.Coverage)
	}
	p := get("/v1/grids/" + gridA + "/stats?since=2025-02-01&coverage=false")
	if p.Hazards.Reported != 2 || *p.Hazards.ClosureRate != 1 || p.Coverage != nil {
		t.Errorf("grid A since February: %+v", p)
	}
	b := get("/v1/grids/" + gridB + "/stats?until=2025-01-01T00:00:00Z")
	if b.Hazards.Reported != 0 || b.Hazards.ClosureRate != nil || b.Cameras.Online != 1 {
		t.Errorf("grid B: %+v", b)
	}

	res, body := f.do(t, "GET", "/v1/grids/stats?limit=10&offset=10", nil)
	var all struct {
		NumberMatched int
		Total         statsDoc
		Grids         []statsDoc
	}
	decode(t, body, &all)
	if res.StatusCode != 200 || all.NumberMatched != latticeCols*latticeRows || len(all.Grids) != 10 ||
		all.Total.Households != 100*latticeCols*latticeRows || all.Total.Hazards.Reported != 3 || all.Total.Cameras.Total != 3 ||
		all.Total.Coverage == nil || all.Total.Coverage.HouseholdsUncovered != 4+21 {
		t.Errorf("all grids: %d %+v (%d grids)", res.StatusCode, all.Total, len(all.Grids))
	}
}

// BenchmarkCoverageCounty45k times GET /v1/coverage after a camera change
// (so each iteration updates the coverage where that camera's sector was
// and is: live.Service.Coverage's incremental path) over a county: 0.5° × 0.4° at 30°N
// (~2,100 km²) in 2,000 lattice grids of ~1 km², 100,000 household points
// (70% in 20 towns) and 45,000 seeded cameras (60% near households, range
// 30–150 m, fields of view 60–360°, 90% online).
func BenchmarkCoverageCounty45k(b *testing.B) {
	const (
		lon0, lat0, w, h = 120.0, 30.0, 0.5, 0.4
		cols, rows       = 50, 40
		nHH, nCam        = 100000, 45000
	)
	rng := rand.New(rand.NewPCG(45, 45000))
	var towns []orb.Point
	for range 20 {
		towns = append(towns, orb.Point{lon0 + 0.05 + rng.Float64()*(w-0.1), lat0 + 0.05 + rng.Float64()*(h-0.1)})
	}
	clamp := func(p orb.Point) orb.Point {
		return orb.Point{math.Min(math.Max(p[0], lon0+1e-6), lon0+w-1e-6), math.Min(math.Max(p[1], lat0+1e-6), lat0+h-1e-6)}
	}
	hh := make([]data.Household, nHH)
	for i := range hh {
		var p orb.Point
		if rng.IntN(10) < 7 {
			t := towns[rng.IntN(len(towns))]
			p = orb.Point{t[0] + rng.NormFloat64()*0.01, t[1] + rng.NormFloat64()*0.01}
		} else {
			p = orb.Point{lon0 + rng.Float64()*w, lat0 + rng.Float64()*h}
		}
		hh[i] = data.Household{ID: fmt.Sprintf("h%d", i), Point: clamp(p), Households: 1 + rng.IntN(3)}
	}
	fovs := []float64{60, 90, 90, 120, 360}
	statuses := []string{"online", "online", "online", "online", "online", "online", "online", "online", "online", "offline"}
	cams := make([]data.Camera, nCam)
	for i := range cams {
		var p orb.Point
		if rng.IntN(10) < 6 {
			p = geo.PointAtBearingAndDistance(hh[rng.IntN(nHH)].Point, rng.Float64()*360, rng.Float64()*40)
		} else {
			p = orb.Point{lon0 + rng.Float64()*w, lat0 + rng.Float64()*h}
		}
		cams[i] = data.Camera{ID: fmt.Sprintf("c%d", i), Point: clamp(p), Azimuth: rng.Float64() * 359.9,
			FOV: fovs[rng.IntN(len(fovs))], RangeM: 30 + rng.Float64()*120, Status: statuses[rng.IntN(len(statuses))]}
	}
	f := newFixture(b, func(ctx context.Context, store *gpkg.Store) error {
		tx, err := store.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.AddArea(ctx, data.Area{Code: "330100", Name: "County", Level: 1, Geometry: box(lon0, lat0, lon0+w, lat0+h)}); err != nil {
			return err
		}
		for _, x := range hh {
			if _, err := tx.AddHousehold(ctx, x); err != nil {
				return err
			}
		}
		for _, c := range cams {
			if _, err := tx.AddCamera(ctx, c); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		plan := data.Plan{Target: 300, Resolution: 9}
		for r := range rows {
			for c := range cols {
				x, y := lon0+float64(c)*w/cols, lat0+float64(r)*h/rows
				plan.Grids = append(plan.Grids, data.Grid{Code: fmt.Sprintf("330100%04d", r*cols+c+1), ParentCode: "330100",
					Geometry: box(x, y, x+w/cols, y+h/rows)})
			}
		}
		return publish(ctx, store, plan)
	})
	var doc struct {
		CamerasOnline int     `json:"cameras_online"`
		ComputeMS     float64 `json:"compute_ms"`
		RasterCellM   float64 `json:"raster_cell_m"`
		Total         struct {
			HouseholdsShare float64 `json:"households_share"`
			AreaShare       float64 `json:"area_share"`
		} `json:"total"`
	}
	status := []string{"online", "maintenance"}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		// A camera write, so that this request recomputes.
		res, body := f.do(b, "PATCH", "/collections/cameras/items/1", fmt.Sprintf(`{"properties": {"status": %q}}`, status[i%2]))
		if res.StatusCode != 200 {
			b.Fatalf("patch: %d %s", res.StatusCode, body)
		}
		res, body = f.do(b, "GET", "/v1/coverage?limit=1", nil)
		if res.StatusCode != 200 {
			b.Fatalf("coverage: %d %s", res.StatusCode, body)
		}
		decode(b, body, &doc)
		i++
	}
	b.ReportMetric(doc.ComputeMS, "compute_ms")
	b.Logf("%d cameras online, raster %v m: households covered %.1f%%, area covered %.1f%%, compute %v ms",
		doc.CamerasOnline, doc.RasterCellM, 100*doc.Total.HouseholdsShare, 100*doc.Total.AreaShare, doc.ComputeMS)
}
