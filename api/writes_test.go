package api_test

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

type gjFeature struct {
	ID       int64 `json:"id"`
	Geometry struct {
		Type        string    `json:"type"`
		Coordinates []float64 `json:"coordinates"`
	} `json:"geometry"`
	Properties map[string]any `json:"properties"`
}

type gjCollection struct {
	Features       []gjFeature `json:"features"`
	NumberMatched  int         `json:"numberMatched"`
	NumberReturned int         `json:"numberReturned"`
}

func (f *fixture) nearbyIDs(t *testing.T, query string) []int64 {
	t.Helper()
	res, body := f.do(t, "GET", "/v1/nearby?"+query, nil)
	if res.StatusCode != 200 {
		t.Fatalf("nearby %s: %d %s", query, res.StatusCode, body)
	}
	var fc gjCollection
	decode(t, body, &fc)
	var ids []int64
	for _, ft := range fc.Features {
		ids = append(ids, ft.ID)
	}
	return ids
}

func (f *fixture) count(t *testing.T, layer string) int {
	t.Helper()
	_, body := f.do(t, "GET", "/collections/"+layer+"/items?limit=1", nil)
	var fc gjCollection
	decode(t, body, &fc)
	return fc.NumberMatched
}

// TestWritesRoundTrip creates, patches and deletes a hazard and a camera
// and checks that the store (/collections) and the indexes (/v1/nearby)
// follow each step at once.
func TestWritesRoundTrip(t *testing.T) {
	f := beijingFixture(t, nil, nil)
	near := "lon=116.4001&lat=39.9101&kind=hazards&radius_m=100"
	if ids := f.nearbyIDs(t, near); len(ids) != 0 {
		t.Fatalf("hazards before any write: %v", ids)
	}

	res, body := f.do(t, "POST", "/collections/hazards/items", `{"type": "Feature",
		"geometry": {"type": "Point", "coordinates": [116.4, 39.91]},
		"properties": {"category": "fire", "severity": 3}}`)
	if res.StatusCode != 201 {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	var created gjFeature
	decode(t, body, &created)
	loc := res.Header.Get("Location")
	if !strings.HasSuffix(loc, fmt.Sprintf("/collections/hazards/items/%d", created.ID)) || created.Properties["status"] != "reported" ||
		created.Properties["reported_at"] == "" || !strings.HasPrefix(created.Properties["source_id"].(string), "api/") {
		t.Fatalf("create answered %s at %q", body, loc)
	}
	// The store has it, under the Location given.
	res, body = f.do(t, "GET", strings.TrimPrefix(loc, f.url), nil)
	var stored gjFeature
	decode(t, body, &stored)
	if res.StatusCode != 200 || stored.Properties["category"] != "fire" || stored.Properties["severity"] != float64(3) ||
		stored.Properties["reported_at"] != created.Properties["reported_at"] {
		t.Fatalf("stored: %d %s", res.StatusCode, body)
	}
	// The index has it: nearby sees it immediately.
	if ids := f.nearbyIDs(t, near); len(ids) != 1 || ids[0] != created.ID {
		t.Fatalf("nearby after create: %v", ids)
	}
	// And locate's grid of it counts it in the stats.
	item := fmt.Sprintf("/collections/hazards/items/%d", created.ID)

	// PATCH: only status changes; then the geometry moves it out of reach.
	res, body = f.do(t, "PATCH", item, `{"properties": {"status": "accepted"}}`)
	var patched gjFeature
	decode(t, body, &patched)
	if res.StatusCode != 200 || patched.Properties["status"] != "accepted" || patched.Properties["category"] != "fire" || patched.Properties["severity"] != float64(3) {
		t.Fatalf("patch: %d %s", res.StatusCode, body)
	}
	res, body = f.do(t, "PATCH", item, `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.42, 39.92]}}`)
	if res.StatusCode != 200 {
		t.Fatalf("move: %d %s", res.StatusCode, body)
	}
	if ids := f.nearbyIDs(t, near); len(ids) != 0 {
		t.Errorf("nearby still finds the moved hazard: %v", ids)
	}
	if ids := f.nearbyIDs(t, "lon=116.42&lat=39.92&kind=hazards&radius_m=10"); len(ids) != 1 || ids[0] != created.ID {
		t.Errorf("nearby at the new place: %v", ids)
	}
	_, body = f.do(t, "GET", item, nil)
	decode(t, body, &stored)
	if stored.Properties["status"] != "accepted" || stored.Geometry.Coordinates[0] != 116.42 {
		t.Errorf("stored after patches: %s", body)
	}

	// DELETE: gone from the store and the index.
	res, _ = f.do(t, "DELETE", item, nil)
	if res.StatusCode != 204 {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	if res, _ := f.do(t, "GET", item, nil); res.StatusCode != 404 {
		t.Errorf("GET after delete: %d", res.StatusCode)
	}
	if ids := f.nearbyIDs(t, "lon=116.42&lat=39.92&kind=hazards&radius_m=10"); len(ids) != 0 {
		t.Errorf("nearby after delete: %v", ids)
	}
	if res, _ := f.do(t, "DELETE", item, nil); res.StatusCode != 404 {
		t.Errorf("second delete: %d", res.StatusCode)
	}

	// A camera, in GCJ-02 as a phone reports it.
	res, body = f.do(t, "POST", "/collections/cameras/items?crs=gcj02", `{"type": "Feature",
		"geometry": {"type": "Point", "coordinates": [116.41024449916938, 39.91640428150164]},
		"properties": {"source_id": "cam-1", "azimuth": 90, "fov": 60, "range_m": 80}}`)
	var cam gjFeature
	decode(t, body, &cam)
	if res.StatusCode != 201 || cam.Properties["status"] != "online" || cam.Properties["source_id"] != "cam-1" {
		t.Fatalf("camera: %d %s", res.StatusCode, body)
	}
	// The answer is in the crs the point was sent in; the store has WGS 84.
	if c := cam.Geometry.Coordinates; abs(c[0]-116.41024449916938) > 1e-7 || abs(c[1]-39.91640428150164) > 1e-7 {
		t.Errorf("camera answered at %v, want the GCJ-02 point sent", c)
	}
	var camStored gjFeature
	_, body = f.do(t, "GET", fmt.Sprintf("/collections/cameras/items/%d", cam.ID), nil)
	decode(t, body, &camStored)
	if c := camStored.Geometry.Coordinates; abs(c[0]-116.404) > 1e-7 || abs(c[1]-39.915) > 1e-7 {
		t.Errorf("camera stored at %v, want the WGS 84 point (116.404, 39.915)", c)
	}
	if ids := f.nearbyIDs(t, "lon=116.404&lat=39.915&kind=cameras&radius_m=1"); len(ids) != 1 || ids[0] != cam.ID {
		t.Errorf("nearby cameras: %v", ids)
	}
	res, body = f.do(t, "PATCH", fmt.Sprintf("/collections/cameras/items/%d", cam.ID), `{"properties": {"status": "offline", "azimuth": 270.5}}`)
	decode(t, body, &cam)
	if res.StatusCode != 200 || cam.Properties["status"] != "offline" || cam.Properties["azimuth"] != 270.5 || cam.Properties["range_m"] != float64(80) {
		t.Errorf("camera patch: %d %s", res.StatusCode, body)
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// TestWritesFailChangeNothing sends bad writes and a write whose commit
// fails, and checks that neither the store nor the indexes changed.
func TestWritesFailChangeNothing(t *testing.T) {
	f := beijingFixture(t, nil, nil)
	res, body := f.do(t, "POST", "/collections/hazards/items", `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.4, 39.91]},
		"properties": {"source_id": "h-1", "category": "water", "severity": 1, "reported_at": "2025-05-01T09:00:00Z"}}`)
	if res.StatusCode != 201 {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	var h gjFeature
	decode(t, body, &h)
	item := fmt.Sprintf("/collections/hazards/items/%d", h.ID)
	_, before := f.do(t, "GET", item, nil)
	near := "lon=116.4&lat=39.91&kind=hazards&radius_m=5000&limit=100"

	point := `"geometry": {"type": "Point", "coordinates": [116.41, 39.91]}`
	tests := []struct {
		name, method, path, body string
		status                   int
		detail                   string
	}{
		{"no geometry", "POST", "/collections/hazards/items", `{"type": "Feature", "properties": {"category": "fire", "severity": 1}}`, 400, "geometry is required"},
		{"line geometry", "POST", "/collections/hazards/items", `{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[1,2],[3,4]]}, "properties": {}}`, 400, "geometry must be a GeoJSON Point"},
		{"lat out of range", "POST", "/collections/hazards/items", `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.4, 95]}, "properties": {"category": "fire", "severity": 1}}`, 400, "geometry.coordinates latitude out of range"},
		{"missing category", "POST", "/collections/hazards/items", `{"type": "Feature", ` + point + `, "properties": {"severity": 2}}`, 400, "properties.category is required"},
		{"severity 4", "POST", "/collections/hazards/items", `{"type": "Feature", ` + point + `, "properties": {"category": "fire", "severity": 4}}`, 400, "properties.severity: severity must be 1, 2 or 3, got 4"},
		{"severity text", "POST", "/collections/hazards/items", `{"type": "Feature", ` + point + `, "properties": {"category": "fire", "severity": "high"}}`, 400, `properties.severity must be an integer, got "high"`},
		{"severity fraction", "POST", "/collections/hazards/items", `{"type": "Feature", ` + point + `, "properties": {"category": "fire", "severity": 1.5}}`, 400, "properties.severity must be an integer, got 1.5"},
		{"unknown category", "POST", "/collections/hazards/items", `{"type": "Feature", ` + point + `, "properties": {"category": "ufo", "severity": 1}}`, 400, `properties.category: unknown category "ufo"`},
		{"bad time", "POST", "/collections/hazards/items", `{"type": "Feature", ` + point + `, "properties": {"category": "fire", "severity": 1, "reported_at": "yesterday"}}`, 400, "properties.reported_at must be an RFC 3339 time"},
		{"unknown property", "POST", "/collections/hazards/items", `{"type": "Feature", ` + point + `, "properties": {"category": "fire", "severity": 1, "colour": "red"}}`, 400, "properties.colour is not a property here"},
		{"duplicate source_id", "POST", "/collections/hazards/items", `{"type": "Feature", ` + point + `, "properties": {"source_id": "h-1", "category": "fire", "severity": 1}}`, 409, `duplicate id "h-1"`},
		{"not a feature", "POST", "/collections/hazards/items", `{"type": "FeatureCollection", "features": []}`, 400, "unknown member"},
		{"malformed", "POST", "/collections/hazards/items", `{"type": "Feature",`, 400, "JSON ends early"},
		{"camera fov", "POST", "/collections/cameras/items", `{"type": "Feature", ` + point + `, "properties": {"azimuth": 10, "fov": 0, "range_m": 50}}`, 400, "properties.fov: fov must be in (0, 360]"},
		{"camera range missing", "POST", "/collections/cameras/items", `{"type": "Feature", ` + point + `, "properties": {"azimuth": 10, "fov": 90}}`, 400, "properties.range_m is required"},
		{"areas read-only", "POST", "/collections/areas/items", `{}`, 405, "collection areas is read-only"},
		{"grids read-only", "DELETE", "/collections/grids/items/1", ``, 405, "collection grids is read-only"},
		{"unknown collection", "POST", "/collections/parks/items", `{}`, 404, `no collection "parks"`},
		{"bad crs", "POST", "/collections/hazards/items?crs=utm", `{}`, 400, `parameter crs: unknown coordinate system "utm"`},
		{"patch missing", "PATCH", "/collections/hazards/items/9999", `{"properties": {"status": "resolved"}}`, 404, "no hazard 9999"},
		{"patch bad status", "PATCH", item, `{"properties": {"status": "done"}}`, 400, `properties.status: unknown status "done"`},
		{"patch null", "PATCH", item, `{"properties": {"category": null}}`, 400, "properties.category must be a string, got null"},
		{"patch bad point", "PATCH", item, `{"geometry": {"type": "Point", "coordinates": [200, 39.9]}}`, 400, "longitude out of range"},
		{"patch source_id taken", "PATCH", item, `{"properties": {"source_id": "h-1"}}`, 0, ""}, // its own id: fine
		{"delete missing", "DELETE", "/collections/hazards/items/9999", ``, 404, "no feature 9999 in hazards"},
		{"delete not a number", "DELETE", "/collections/hazards/items/x", ``, 404, "positive integers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b any
			if tc.body != "" {
				b = tc.body
			}
			res, body := f.do(t, tc.method, tc.path, b)
			if tc.status == 0 {
				if res.StatusCode != 200 {
					t.Errorf("%d %s", res.StatusCode, body)
				}
				return
			}
			if d := problemDetail(t, res, body, tc.status); !strings.Contains(d, tc.detail) {
				t.Errorf("detail %q, want it to contain %q", d, tc.detail)
			}
		})
	}

	// A commit that fails leaves the store and the indexes as they were.
	f.failCommit.Store(true)
	for _, w := range []struct{ method, path, body string }{
		{"POST", "/collections/hazards/items", `{"type": "Feature", ` + point + `, "properties": {"category": "fire", "severity": 1}}`},
		{"PATCH", item, `{"geometry": {"type": "Point", "coordinates": [116.3, 39.8]}, "properties": {"status": "accepted"}}`},
		{"DELETE", item, ``},
	} {
		var b any
		if w.body != "" {
			b = w.body
		}
		if res, body := f.do(t, w.method, w.path, b); res.StatusCode != 500 || strings.Contains(string(body), "disk full") {
			t.Errorf("%s with a failing commit: %d %s", w.method, res.StatusCode, body)
		}
	}
	f.failCommit.Store(false)

	if n := f.count(t, "hazards"); n != 1 {
		t.Errorf("%d hazards stored after failed writes, want 1", n)
	}
	if _, after := f.do(t, "GET", item, nil); string(after) != string(before) {
		t.Errorf("hazard changed by failed writes:\n%s\n%s", before, after)
	}
	if ids := f.nearbyIDs(t, near); len(ids) != 1 || ids[0] != h.ID {
		t.Errorf("index after failed writes: %v", ids)
	}
	if ids := f.nearbyIDs(t, "lon=116.3&lat=39.8&kind=hazards&radius_m=100"); len(ids) != 0 {
		t.Errorf("the failed move reached the index: %v", ids)
	}
}

// TestNearbyDemo compares nearby with a brute-force great-circle scan of
// the demo hazards file.
func TestNearbyDemo(t *testing.T) {
	f := &fixture{url: server.URL}
	center := orb.Point{9.5209, 47.1410}
	var want []float64
	for _, h := range demoHazards(t) {
		lon, _ := strconv.ParseFloat(h[0], 64)
		lat, _ := strconv.ParseFloat(h[1], 64)
		if d := geo.DistanceHaversine(center, orb.Point{lon, lat}); d <= 800 {
			want = append(want, d)
		}
	}
	sort.Float64s(want)
	if len(want) < 3 {
		t.Fatalf("only %d demo hazards within 800 m", len(want))
	}
	res, body := f.do(t, "GET", "/v1/nearby?lon=9.5209&lat=47.1410&kind=hazards&radius_m=800&limit=1000", nil)
	var fc gjCollection
	decode(t, body, &fc)
	if res.StatusCode != 200 || fc.NumberReturned != len(want) || len(fc.Features) != len(want) {
		t.Fatalf("%d: %d features, want %d", res.StatusCode, len(fc.Features), len(want))
	}
	for i, ft := range fc.Features {
		if d := ft.Properties["distance_m"].(float64); math.Abs(d-want[i]) > 0.1 {
			t.Errorf("feature %d at %v m, want %v m", i, d, want[i])
		}
	}
	_, body = f.do(t, "GET", "/v1/nearby?lon=9.5209&lat=47.1410&kind=hazards&radius_m=800&limit=2", nil)
	decode(t, body, &fc)
	if len(fc.Features) != 2 {
		t.Errorf("limit 2 gave %d", len(fc.Features))
	}
}
