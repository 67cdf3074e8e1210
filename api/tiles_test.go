package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/wangge/wangge/data"
)

// getTile fetches path from the fixture with the given headers.
func (f *fixture) getWith(t *testing.T, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.url+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// The transport must not gunzip for us: the test checks what is sent.
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// demoCentre is a point inside the demo plan (Vaduz).
var demoCentre = orb.Point{9.5209, 47.1410}

func tilePath(layers string, p orb.Point, z maptile.Zoom) string {
	t := maptile.At(p, z)
	return fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", layers, t.Z, t.X, t.Y)
}

func TestTileBadInput(t *testing.T) {
	tests := []struct {
		name, path string
		status     int
		detail     string
	}{
		{"unknown layer", "/tiles/parks/1/1/1.mvt", 404, `unknown layer "parks"`},
		{"households never", "/tiles/households/10/536/356.mvt", 404, `unknown layer "households"`},
		{"unknown in list", "/tiles/grids,parks/1/1/1.mvt", 404, `unknown layer "parks"`},
		{"empty in list", "/tiles/grids,,areas/1/1/1.mvt", 400, "empty layer name"},
		{"twice", "/tiles/grids,grids/1/1/1.mvt", 400, "named twice"},
		{"z too big", "/tiles/grids/25/0/0.mvt", 400, "tile z must be an integer from 0 to 24"},
		{"z negative", "/tiles/grids/-1/0/0.mvt", 400, "tile z"},
		{"x out of range", "/tiles/grids/2/4/0.mvt", 400, "tile x must be an integer from 0 to 3"},
		{"y out of range", "/tiles/grids/0/0/1.mvt", 400, "tile y must be an integer from 0 to 0"},
		{"y not a number", "/tiles/grids/3/1/y.mvt", 400, "tile y"},
		{"huge", "/tiles/grids/3/1/99999999999999999999999.mvt", 400, "tile y"},
		{"float", "/tiles/grids/3/1.5/1.mvt", 400, "tile x"},
		{"wrong extension", "/tiles/grids/3/1/1.pbf", 404, "no route"},
		{"no extension", "/tiles/grids/3/1/1", 404, "no route"},
		{"too deep", "/tiles/grids/3/1/1/1.mvt", 404, "no route"},
		{"too short", "/tiles/grids/3/1.mvt", 404, "no route"},
		{"query", "/tiles/grids/3/1/1.mvt?category=fire", 400, `unknown query parameter "category"`},
		{"tilejson unknown", "/tiles/parks.json", 404, `unknown layer "parks"`},
		{"tilejson households", "/tiles/grids,households.json", 404, `unknown layer "households"`},
		{"hotspots res", "/v1/hotspots?res=4", 400, "res must be an integer from 5 to 11"},
		{"hotspots res text", "/v1/hotspots?res=nine", 400, "res must be"},
		{"hotspots since", "/v1/hotspots?since=yesterday", 400, "since must be an RFC 3339 time"},
		{"hotspots order", "/v1/hotspots?since=2025-02-01&until=2025-01-01", 400, "must be before until"},
		{"hotspots unknown", "/v1/hotspots?bbox=1,2,3,4", 400, `unknown query parameter "bbox"`},
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
}

// TestTiles runs the tile tests that need a published plan on one server
// (gridgen runs once): the HTTP behaviour, the client decoder, and last,
// as it writes, invalidation.
func TestTiles(t *testing.T) {
	f := demoPlanFixture(t)
	t.Run("HTTP", func(t *testing.T) { testTileHTTP(t, f) })
	t.Run("ClientDecoder", func(t *testing.T) { testTilesClientDecoder(t, f) })
	t.Run("Invalidation", func(t *testing.T) { testTileInvalidation(t, f) })
}

// testTileHTTP: gzip when asked, strong ETags per representation, 304,
// Cache-Control, 204 for an empty tile, HEAD.
func testTileHTTP(t *testing.T, f *fixture) {
	// The grids layer carries each grid's risk, which a tile waits for
	// only briefly: on a loaded machine the first tile could be drawn
	// before it and the next after it. Reading the grids computes it.
	if res, _ := f.getWith(t, "/collections/grids/items?limit=1"); res.StatusCode != 200 {
		t.Fatalf("grids: %d", res.StatusCode)
	}
	path := tilePath("grids,areas,hazards,cameras,hotspots", demoCentre, 12)
	res, raw := f.getWith(t, path)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/vnd.mapbox-vector-tile" || len(raw) == 0 {
		t.Fatalf("%s: %d %s, %d bytes", path, res.StatusCode, res.Header.Get("Content-Type"), len(raw))
	}
	etag := res.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || res.Header.Get("Cache-Control") == "" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("headers %v", res.Header)
	}
	gres, gz := f.getWith(t, path, "Accept-Encoding", "br;q=1.0, gzip;q=0.8")
	if gres.Header.Get("Content-Encoding") != "gzip" || gres.Header.Get("ETag") == etag {
		t.Fatalf("gzip: encoding %q, etag %q (identity %q)", gres.Header.Get("Content-Encoding"), gres.Header.Get("ETag"), etag)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	unz, _ := io.ReadAll(zr)
	if !bytes.Equal(unz, raw) || len(gz) >= len(raw) {
		t.Errorf("gzip body (%d bytes) does not inflate to the tile (%d bytes)", len(gz), len(raw))
	}
	if res, _ := f.getWith(t, path, "Accept-Encoding", "gzip;q=0"); res.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent though refused")
	}
	res, body := f.getWith(t, path, "If-None-Match", etag)
	if res.StatusCode != 304 || len(body) != 0 || res.Header.Get("ETag") != etag {
		t.Errorf("If-None-Match: %d, %d bytes", res.StatusCode, len(body))
	}
	if res, _ := f.getWith(t, path, "If-None-Match", `"other", W/`+etag); res.StatusCode != 304 {
		t.Errorf("If-None-Match with a list: %d", res.StatusCode)
	}
	if res, _ := f.getWith(t, path, "If-None-Match", `"other"`); res.StatusCode != 200 {
		t.Errorf("If-None-Match other: %d", res.StatusCode)
	}
	// The same tile twice is the same bytes (cached or not).
	if _, again := f.getWith(t, path); !bytes.Equal(again, raw) {
		t.Error("the same tile changed between requests")
	}
	// Far from any data: 204, no body, still an ETag.
	res, body = f.getWith(t, "/tiles/grids,hazards/12/100/100.mvt")
	if res.StatusCode != 204 || len(body) != 0 || res.Header.Get("ETag") == "" {
		t.Errorf("empty tile: %d, %d bytes", res.StatusCode, len(body))
	}
	req, _ := http.NewRequest("HEAD", f.url+path, nil)
	if hr, err := http.DefaultClient.Do(req); err != nil || hr.StatusCode != 200 || hr.Header.Get("ETag") != etag {
		t.Errorf("HEAD: %v %v", hr, err)
	}
}

// testTileInvalidation: a write shows on the next request (new ETag, the
// hazard in the tile).
func testTileInvalidation(t *testing.T, f *fixture) {
	p := orb.Point{9.5251, 47.1302}
	path := tilePath("hazards", p, 16)
	res, before := f.getWith(t, path)
	etag := res.Header.Get("ETag")
	cres, cbody := f.do(t, "POST", "/collections/hazards/items", map[string]any{
		"type": "Feature", "geometry": map[string]any{"type": "Point", "coordinates": []float64{p[0], p[1]}},
		"properties": map[string]any{"category": "fire", "severity": 3, "source_id": "tile-test-1"},
	})
	if cres.StatusCode != 201 {
		t.Fatalf("create hazard: %d %s", cres.StatusCode, cbody)
	}
	res, after := f.getWith(t, path, "If-None-Match", etag)
	if res.StatusCode != 200 || bytes.Equal(before, after) || !bytes.Contains(after, []byte("tile-test-1")) {
		t.Errorf("after a write: %d, tile changed %v, has the new hazard %v", res.StatusCode, !bytes.Equal(before, after), bytes.Contains(after, []byte("tile-test-1")))
	}
}

type tileJSONDoc struct {
	TileJSON     string     `json:"tilejson"`
	Tiles        []string   `json:"tiles"`
	MinZoom      int        `json:"minzoom"`
	MaxZoom      int        `json:"maxzoom"`
	Bounds       [4]float64 `json:"bounds"`
	Center       [3]float64 `json:"center"`
	VectorLayers []struct {
		ID     string            `json:"id"`
		Fields map[string]string `json:"fields"`
	} `json:"vector_layers"`
}

func TestTileJSONAndStyle(t *testing.T) {
	res, body := get(t, "/tiles/grids,hazards.json")
	var tj tileJSONDoc
	if err := json.Unmarshal(body, &tj); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %v", res.StatusCode, err)
	}
	if tj.TileJSON != "3.0.0" || len(tj.Tiles) != 1 || tj.Tiles[0] != server.URL+"/tiles/grids,hazards/{z}/{x}/{y}.mvt" ||
		len(tj.VectorLayers) != 2 || tj.VectorLayers[0].ID != "grids" || tj.VectorLayers[1].Fields["category"] != "String" {
		t.Errorf("TileJSON %s", body)
	}
	if b := tj.Bounds; b[0] < 9.4 || b[2] > 9.7 || b[1] < 47 || b[3] > 47.3 {
		t.Errorf("bounds %v are not Liechtenstein's", b)
	}
	_, body = get(t, "/style.json")
	var st struct {
		Version int
		Sources map[string]struct{ Type, URL string }
		Layers  []struct {
			ID, Type, Source string
			SourceLayer      string `json:"source-layer"`
		}
	}
	if err := json.Unmarshal(body, &st); err != nil || st.Version != 8 {
		t.Fatalf("style: %v %s", err, body)
	}
	src := st.Sources["wangge"]
	_, body = get(t, strings.TrimPrefix(src.URL, server.URL))
	json.Unmarshal(body, &tj)
	served := map[string]bool{}
	for _, vl := range tj.VectorLayers {
		served[vl.ID] = true
	}
	drawn := map[string]bool{}
	for _, l := range st.Layers {
		if l.Type == "background" {
			continue
		}
		if l.Source != "wangge" || !served[l.SourceLayer] {
			t.Errorf("style layer %s draws %s/%s, which the TileJSON at %s does not serve", l.ID, l.Source, l.SourceLayer, src.URL)
		}
		drawn[l.SourceLayer] = true
	}
	for _, name := range []string{"areas", "streets", "grids", "units", "hazards", "cameras", "hotspots"} {
		if !drawn[name] {
			t.Errorf("the style does not draw %s", name)
		}
	}
	// Grids are coloured by their risk level, in the colours of the levels
	// in use (data/risk.json), with the deviation from the target where a
	// grid has none.
	var paint struct {
		Layers []struct {
			ID    string
			Paint map[string]any
		}
	}
	_, body = get(t, "/style.json")
	json.Unmarshal(body, &paint)
	found := false
	for _, l := range paint.Layers {
		if l.ID != "grids-fill" {
			continue
		}
		found = true
		fill, _ := json.Marshal(l.Paint["fill-color"])
		for _, lv := range data.DefaultRiskRules().Levels {
			if !strings.Contains(string(fill), `"`+lv.Code+`","`+lv.Color+`"`) {
				t.Errorf("grids-fill does not colour risk %s as %s: %s", lv.Code, lv.Color, fill)
			}
		}
		if !strings.Contains(string(fill), `"risk"`) || !strings.Contains(string(fill), "deviation_pct") {
			t.Errorf("grids-fill: %s", fill)
		}
	}
	if !found {
		t.Error("no grids-fill layer")
	}
}

func TestHotspotsAPI(t *testing.T) {
	res, body := get(t, "/v1/hotspots")
	var fc struct {
		Type       string
		Res, K     int
		Incidents  int
		Outside    int `json:"incidents_outside_study"`
		StudyCells int `json:"study_cells"`
		Warnings   []string
		Features   []struct {
			ID         string
			Geometry   struct{ Type string }
			Properties struct {
				Cell  string
				Count int
				Z, P  float64
				PFDR  float64 `json:"p_fdr"`
				Bin   int
			}
		}
	}
	if err := json.Unmarshal(body, &fc); err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/geo+json" {
		t.Fatalf("%d %v %.200s", res.StatusCode, err, body)
	}
	if fc.Type != "FeatureCollection" || fc.Res != 9 || fc.K != 1 || fc.Incidents+fc.Outside != 766 || fc.StudyCells < 1000 || len(fc.Warnings) != 0 {
		t.Errorf("res %d k %d incidents %d cells %d warnings %v", fc.Res, fc.K, fc.Incidents, fc.StudyCells, fc.Warnings)
	}
	hot, total := 0, 0
	for _, f := range fc.Features {
		p := f.Properties
		total += p.Count
		if f.Geometry.Type != "Polygon" || f.ID != p.Cell || p.PFDR < p.P || p.Bin < -3 || p.Bin > 3 || (p.Bin != 0) != (p.PFDR <= 0.10) || (p.Bin > 0) != (p.Bin != 0 && p.Z > 0) {
			t.Fatalf("cell %+v", f)
		}
		if p.Bin > 0 {
			hot++
		}
	}
	if hot == 0 || total != fc.Incidents {
		t.Errorf("%d hot cells; counts add up to %d of %d incidents", hot, total, fc.Incidents)
	}
	all := fc.Incidents
	// Few incidents: a warning.
	_, body = get(t, "/v1/hotspots?category=water&res=8")
	json.Unmarshal(body, &fc)
	if fc.Incidents >= 30 || !slices.ContainsFunc(fc.Warnings, func(w string) bool { return strings.Contains(w, "fewer than 30 incidents") }) {
		t.Errorf("water: %d incidents, warnings %v", fc.Incidents, fc.Warnings)
	}
	// Time window: since inclusive, until exclusive, the counts split.
	var a, b struct{ Incidents int }
	_, body = get(t, "/v1/hotspots?until=2024-07-01")
	json.Unmarshal(body, &a)
	_, body = get(t, "/v1/hotspots?since=2024-07-01T00:00:00Z")
	json.Unmarshal(body, &b)
	if a.Incidents+b.Incidents != all || a.Incidents == 0 || b.Incidents == 0 {
		t.Errorf("before %d + after %d ≠ %d", a.Incidents, b.Incidents, all)
	}
}

// testTilesClientDecoder uses the real server over the demo data with a
// gridgen plan, and decodes its tiles with @mapbox/vector-tile and pbf in
// Node (test/tiles/decode.test.js), a decoder no one here wrote. The
// expected features are read from the store and handed over as JSON.
func testTilesClientDecoder(t *testing.T, f *fixture) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node not found; scripts/deps.sh installs nodejs")
		}
		t.Skip("node not found: run scripts/deps.sh (Debian nodejs, npm)")
	}
	dir, _ := filepath.Abs(filepath.Join("..", "test", "tiles"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@mapbox", "vector-tile")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	ctx := context.Background()
	plan, err := f.store.PublishedPlan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hz, err := f.store.Hazards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cams, err := f.store.Cameras(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type gridExp struct {
		Households int        `json:"households"`
		Name       string     `json:"name"`
		ParentCode string     `json:"parent_code"`
		BBox       [4]float64 `json:"bbox"`
	}
	exp := struct {
		Base    string             `json:"base"`
		Layers  string             `json:"layers"`
		Tiles   [][3]uint32        `json:"tiles"`
		Grids   map[string]gridExp `json:"grids"`
		Hazards map[string]any     `json:"hazards"`
		Cameras map[string]any     `json:"cameras"`
		Target  int                `json:"target"`
	}{Base: f.url, Layers: "grids,areas,hazards,cameras,hotspots", Grids: map[string]gridExp{}, Hazards: map[string]any{}, Cameras: map[string]any{}, Target: plan.Target}
	for _, g := range plan.Grids {
		b := g.Geometry.Bound()
		exp.Grids[g.Code] = gridExp{g.Households, g.Name, g.ParentCode, [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}}
	}
	for _, h := range hz {
		exp.Hazards[h.ID] = map[string]any{"lon": h.Point[0], "lat": h.Point[1], "category": h.Category, "severity": h.Severity,
			"status": h.Status, "reported_at": h.ReportedAt.UTC().Format(time.RFC3339)}
	}
	for _, c := range cams {
		exp.Cameras[c.ID] = map[string]any{"lon": c.Point[0], "lat": c.Point[1], "azimuth": c.Azimuth, "fov": c.FOV, "range_m": c.RangeM, "status": c.Status}
	}
	// A column of zooms through the centre, a camera at sector zoom, and
	// the neighbours of one z13 tile.
	for _, z := range []maptile.Zoom{0, 5, 8, 10, 11, 12, 13, 14, 15, 16, 18} {
		tl := maptile.At(demoCentre, z)
		exp.Tiles = append(exp.Tiles, [3]uint32{uint32(z), tl.X, tl.Y})
	}
	if len(cams) > 0 {
		tl := maptile.At(cams[0].Point, 17)
		exp.Tiles = append(exp.Tiles, [3]uint32{17, tl.X, tl.Y})
	}
	c := maptile.At(demoCentre, 13)
	for _, d := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
		exp.Tiles = append(exp.Tiles, [3]uint32{13, uint32(int(c.X) + d[0]), uint32(int(c.Y) + d[1])})
	}
	buf, _ := json.Marshal(exp)
	expPath := filepath.Join(t.TempDir(), "expect.json")
	if err := os.WriteFile(expPath, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "decode.test.js", expPath)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("node decode.test.js:\n%s", out)
	if err != nil {
		t.Fatalf("client decoder test failed: %v", err)
	}
	if !bytes.Contains(out, []byte("ok ")) {
		t.Fatal("client decoder test printed no result")
	}
}
