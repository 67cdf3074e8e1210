package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
)

// server is the real HTTP server over a GeoPackage loaded with the demo data,
// shared by the tests of this package.
var server *httptest.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wangge-api")
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(dir, "test.gpkg"))
	if err != nil {
		panic(err)
	}
	if _, err := demo.Load(ctx, store); err != nil {
		panic(err)
	}
	srv := api.New(api.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Anonymous: data.RoleAdmin})
	if err := srv.Load(ctx); err != nil {
		panic(err)
	}
	server = httptest.NewServer(srv)
	code := m.Run()
	server.Close()
	store.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

func get(t *testing.T, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", server.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

type page struct {
	Features []struct {
		ID         int64          `json:"id"`
		Geometry   map[string]any `json:"geometry"`
		Properties map[string]any `json:"properties"`
	} `json:"features"`
	NumberMatched  int `json:"numberMatched"`
	NumberReturned int `json:"numberReturned"`
	Links          []struct{ Href, Rel string }
}

// demoHazards reads the demo hazards CSV independently of the importer.
func demoHazards(t *testing.T) [][3]string {
	t.Helper()
	b, err := demo.Open("hazards.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out [][3]string
	for _, r := range rows[1:] {
		out = append(out, [3]string{r[1], r[2], r[3]}) // lon, lat, category
	}
	return out
}

func countIn(t *testing.T, minx, miny, maxx, maxy float64, category string) int {
	n := 0
	for _, h := range demoHazards(t) {
		lon, _ := strconv.ParseFloat(h[0], 64)
		lat, _ := strconv.ParseFloat(h[1], 64)
		if lon >= minx && lon <= maxx && lat >= miny && lat <= maxy && (category == "" || h[2] == category) {
			n++
		}
	}
	return n
}

func TestItemsPagingFollowsNext(t *testing.T) {
	seen := map[int64]bool{}
	url := "/collections/hazards/items?limit=100"
	pages := 0
	for url != "" {
		res, body := get(t, url)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/geo+json" {
			t.Fatalf("%s: %d %s", url, res.StatusCode, res.Header.Get("Content-Type"))
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if p.NumberReturned != len(p.Features) || p.NumberMatched != 766 {
			t.Fatalf("returned %d of %d features, matched %d", p.NumberReturned, len(p.Features), p.NumberMatched)
		}
		for _, f := range p.Features {
			if seen[f.ID] {
				t.Fatalf("feature %d twice", f.ID)
			}
			seen[f.ID] = true
		}
		url = ""
		for _, l := range p.Links {
			if l.Rel == "next" {
				url = strings.TrimPrefix(l.Href, server.URL)
			}
		}
		pages++
	}
	if len(seen) != 766 || pages != 8 {
		t.Errorf("saw %d features in %d pages, want 766 in 8", len(seen), pages)
	}
}

func TestItemsFilters(t *testing.T) {
	box := [4]float64{9.50, 47.10, 9.55, 47.15}
	tests := []struct {
		name, query string
		want        int
	}{
		{"bbox", fmt.Sprintf("bbox=%v,%v,%v,%v", box[0], box[1], box[2], box[3]), countIn(t, box[0], box[1], box[2], box[3], "")},
		{"bbox 3D", fmt.Sprintf("bbox=%v,%v,0,%v,%v,100", box[0], box[1], box[2], box[3]), countIn(t, box[0], box[1], box[2], box[3], "")},
		{"category", "category=electrical", 139},
		{"bbox and category", fmt.Sprintf("bbox=%v,%v,%v,%v&category=traffic", box[0], box[1], box[2], box[3]), countIn(t, box[0], box[1], box[2], box[3], "traffic")},
		{"status", "status=reported", 76 + 86 + 77}, // the demo's "open" hazards, migrated
		{"empty", "bbox=100,10,101,11", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, "/collections/hazards/items?limit=1&"+tc.query)
			var p page
			json.Unmarshal(body, &p)
			if res.StatusCode != 200 || p.NumberMatched != tc.want {
				t.Errorf("status %d, numberMatched %d, want %d\n%s", res.StatusCode, p.NumberMatched, tc.want, body)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	tests := []struct {
		name, path string
		status     int
		detail     string
	}{
		{"bbox 3 numbers", "/collections/hazards/items?bbox=1,2,3", 400, "bbox must have 4 numbers"},
		{"bbox not number", "/collections/hazards/items?bbox=1,2,x,4", 400, `item 3 ("x") is not a number`},
		{"bbox lat", "/collections/hazards/items?bbox=1,2,3,95", 400, "latitudes"},
		{"bbox inverted", "/collections/hazards/items?bbox=1,5,3,4", 400, "minLat"},
		{"limit -1", "/collections/hazards/items?limit=-1", 400, "limit must be an integer from 1 to 10000"},
		{"limit zero", "/collections/hazards/items?limit=0", 400, "limit must be an integer from 1 to 10000"},
		{"limit text", "/collections/hazards/items?limit=ten", 400, `got "ten"`},
		{"offset", "/collections/hazards/items?offset=-5", 400, "offset"},
		{"unknown param", "/collections/hazards/items?colour=red", 400, `unknown query parameter "colour"`},
		{"filter on wrong layer", "/collections/areas/items?category=fire", 400, `unknown query parameter "category"`},
		{"severity not a number", "/collections/hazards/items?severity=high", 400, "severity must be an integer"},
		{"bbox-crs", "/collections/hazards/items?bbox-crs=EPSG:3857", 400, "bbox-crs"},
		{"unknown collection", "/collections/parks/items", 404, `no collection "parks"`},
		{"unknown collection doc", "/collections/parks", 404, `no collection "parks"`},
		{"feature missing", "/collections/hazards/items/99999", 404, "no feature 99999"},
		{"feature not integer", "/collections/hazards/items/abc", 404, "positive integers"},
		{"no route", "/nothing/here", 404, "no route"},
		{"bad f", "/collections?f=xml", 400, "f must be json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, tc.path)
			var p struct {
				Status int
				Detail string
			}
			json.Unmarshal(body, &p)
			if res.StatusCode != tc.status || res.Header.Get("Content-Type") != "application/problem+json" ||
				p.Status != tc.status || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("got %d %s %s, want %d with detail containing %q", res.StatusCode, res.Header.Get("Content-Type"), body, tc.status, tc.detail)
			}
		})
	}
	req, _ := http.NewRequest("DELETE", server.URL+"/collections", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 405 {
		t.Errorf("DELETE /collections: %v %v, want 405", res.StatusCode, err)
	}
}

func TestLandingNegotiation(t *testing.T) {
	res, body := get(t, "/", "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "OpenStreetMap contributors") {
		t.Errorf("browser got %s", res.Header.Get("Content-Type"))
	}
	for _, path := range []string{"/", "/?f=json"} {
		res, body = get(t, path, "Accept", "*/*")
		var doc struct{ Links []struct{ Rel, Href string } }
		if err := json.Unmarshal(body, &doc); err != nil || res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %s %v", path, res.Header.Get("Content-Type"), err)
		}
		rels := map[string]bool{}
		for _, l := range doc.Links {
			rels[l.Rel] = true
		}
		for _, rel := range []string{"self", "service-desc", "conformance", "data"} {
			if !rels[rel] {
				t.Errorf("%s: landing page has no %q link", path, rel)
			}
		}
	}
}

// The core routes are in the OpenAPI document and answer; routes_test.go
// checks that every route the router serves is documented.
func TestOpenAPICoversRoutes(t *testing.T) {
	_, body := get(t, "/api")
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	want := []string{"/", "/conformance", "/api", "/healthz", "/readyz", "/collections", "/collections/{collectionId}",
		"/collections/{collectionId}/items", "/collections/{collectionId}/items/{featureId}"}
	for _, p := range want {
		if doc.Paths[p]["get"] == nil {
			t.Errorf("OpenAPI has no GET %s", p)
		}
		res, _ := get(t, strings.NewReplacer("{collectionId}", "hazards", "{featureId}", "1").Replace(p), "Accept", "application/json")
		if res.StatusCode != 200 {
			t.Errorf("GET %s = %d", p, res.StatusCode)
		}
	}
}

func TestCollections(t *testing.T) {
	_, body := get(t, "/collections")
	var doc struct {
		Collections []struct {
			ID     string
			Extent struct{ Spatial struct{ BBox [][]float64 } }
		}
	}
	json.Unmarshal(body, &doc)
	var ids []string
	for _, c := range doc.Collections {
		ids = append(ids, c.ID)
		if c.ID == "hazards" && (len(c.Extent.Spatial.BBox) != 1 || c.Extent.Spatial.BBox[0][0] < 9.4 || c.Extent.Spatial.BBox[0][2] > 9.7) {
			t.Errorf("hazards extent = %v", c.Extent.Spatial.BBox)
		}
	}
	if strings.Join(ids, ",") != "areas,grids,hazards,cameras,households,streets,units" { // this server's anonymous role is admin
		t.Errorf("collections = %v", ids)
	}
}

func TestReady(t *testing.T) {
	res, _ := get(t, "/readyz")
	if res.StatusCode != 200 {
		t.Errorf("readyz = %d", res.StatusCode)
	}
	res, _ = get(t, "/healthz")
	if res.StatusCode != 200 {
		t.Errorf("healthz = %d", res.StatusCode)
	}
}

// TestGDALClient asks GDAL's OGC API Features driver, the client QGIS uses,
// what it sees: the feature count, and the count under a spatial filter.
func TestGDALClient(t *testing.T) {
	ogrinfo, err := exec.LookPath("ogrinfo")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ogrinfo not found; scripts/deps.sh installs gdal-bin")
		}
		t.Skip("ogrinfo not found: run scripts/deps.sh (Debian gdal-bin)")
	}
	count := regexp.MustCompile(`Feature Count: (\d+)`)
	run := func(args ...string) int {
		t.Helper()
		cmd := exec.Command(ogrinfo, append([]string{"-so", "--config", "GDAL_HTTP_TIMEOUT", "30"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ogrinfo %v: %v\n%s", args, err, out)
		}
		m := count.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("ogrinfo %v printed no feature count:\n%s", args, out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	src := "OAPIF:" + server.URL + "/collections/hazards"
	if n := run(src, "hazards"); n != 766 {
		t.Errorf("GDAL counts %d hazards, want 766", n)
	}
	want := countIn(t, 9.50, 47.10, 9.55, 47.15, "")
	if n := run("-spat", "9.50", "47.10", "9.55", "47.15", src, "hazards"); n != want || n == 0 {
		t.Errorf("GDAL counts %d hazards in the box, want %d", n, want)
	}
	if n := run("OAPIF:"+server.URL+"/collections/areas", "areas"); n != 13 {
		t.Errorf("GDAL counts %d areas, want 13", n)
	}
}
