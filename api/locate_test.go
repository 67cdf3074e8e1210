package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/gridgen"
	"github.com/wangge/wangge/spatial"
)

type locateAnswer struct {
	Point []float64 `json:"point"`
	Grid  *struct {
		Code       string  `json:"code"`
		Name       string  `json:"name"`
		ParentCode string  `json:"parent_code"`
		Households int     `json:"households"`
		AreaM2     float64 `json:"area_m2"`
		Worker     string  `json:"worker"`
		PlanID     int64   `json:"plan_id"`
	} `json:"grid"`
	Parents []struct {
		Code  string `json:"code"`
		Name  string `json:"name"`
		Level int    `json:"level"`
	} `json:"parents"`
	DistanceToBoundaryM *float64 `json:"distance_to_boundary_m"`
}

func (a locateAnswer) code() string {
	if a.Grid == nil {
		return ""
	}
	return a.Grid.Code
}

func (f *fixture) locate(t *testing.T, query string) locateAnswer {
	t.Helper()
	res, body := f.do(t, "GET", "/v1/locate?"+query, nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("locate %s: %d %s", query, res.StatusCode, body)
	}
	var a locateAnswer
	decode(t, body, &a)
	return a
}

func (f *fixture) locateBatch(t *testing.T, pts []orb.Point, crs string) []locateAnswer {
	t.Helper()
	req := map[string]any{"points": pts}
	if crs != "" {
		req["crs"] = crs
	}
	res, body := f.do(t, "POST", "/v1/locate", req)
	if res.StatusCode != 200 {
		t.Fatalf("batch: %d %.300s", res.StatusCode, body)
	}
	var out struct{ Results []locateAnswer }
	decode(t, body, &out)
	if len(out.Results) != len(pts) {
		t.Fatalf("batch of %d answered %d", len(pts), len(out.Results))
	}
	return out.Results
}

// publishedGrids reads the published grids back through /collections, as
// any client would, for an independent check.
func (f *fixture) publishedGrids(t *testing.T) map[string]orb.MultiPolygon {
	t.Helper()
	_, body := f.do(t, "GET", "/collections/grids/items?limit=10000", nil)
	fc, err := geojson.UnmarshalFeatureCollection(body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]orb.MultiPolygon{}
	for _, ft := range fc.Features {
		switch g := ft.Geometry.(type) {
		case orb.Polygon:
			out[ft.Properties.MustString("code")] = orb.MultiPolygon{g}
		case orb.MultiPolygon:
			out[ft.Properties.MustString("code")] = g
		default:
			t.Fatalf("grid %v: geometry %T", ft.Properties["code"], g)
		}
	}
	return out
}

// TestLocateDemoPlan runs the locate tests that need the demo plan drawn
// by gridgen on one fixture, as drawing it is the slow part.
func TestLocateDemoPlan(t *testing.T) {
	f := demoPlanFixture(t)
	t.Run("agrees with planar", func(t *testing.T) { testLocateAgreesWithPlanar(t, f) })
	t.Run("answer", func(t *testing.T) { testLocateDemo(t, f) })
}

// testLocateAgreesWithPlanar locates 100,000 seeded random points over the
// demo plan, in batches, and checks every answer against orb/planar
// point-in-polygon over all grids (those whose box holds the point, found
// through a coarse bucket grid).
func testLocateAgreesWithPlanar(t *testing.T, f *fixture) {
	grids := f.publishedGrids(t)
	if len(grids) < 50 {
		t.Fatalf("only %d grids published", len(grids))
	}
	type cand struct {
		code  string
		bound orb.Bound
		geom  orb.MultiPolygon
	}
	var cands []cand
	all := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	for code, g := range grids {
		cands = append(cands, cand{code, g.Bound(), g})
		all = all.Union(g.Bound())
	}
	all = all.Pad(0.01) // some points outside every grid too
	const nb = 32
	var buckets [nb][nb][]int
	bucket := func(x, y float64) (int, int) {
		i := int((x - all.Min[0]) / (all.Max[0] - all.Min[0]) * nb)
		j := int((y - all.Min[1]) / (all.Max[1] - all.Min[1]) * nb)
		return min(max(i, 0), nb-1), min(max(j, 0), nb-1)
	}
	for k, c := range cands {
		i0, j0 := bucket(c.bound.Min[0], c.bound.Min[1])
		i1, j1 := bucket(c.bound.Max[0], c.bound.Max[1])
		for i := i0; i <= i1; i++ {
			for j := j0; j <= j1; j++ {
				buckets[i][j] = append(buckets[i][j], k)
			}
		}
	}
	rng := rand.New(rand.NewPCG(4, 100000))
	const n, batch = 100000, 10000
	inside, overlap := 0, 0
	for b := 0; b < n/batch; b++ {
		pts := make([]orb.Point, batch)
		for i := range pts {
			pts[i] = orb.Point{all.Min[0] + rng.Float64()*(all.Max[0]-all.Min[0]), all.Min[1] + rng.Float64()*(all.Max[1]-all.Min[1])}
		}
		answers := f.locateBatch(t, pts, "")
		if b == 0 {
			// The compact answer names the same grids.
			res, body := f.do(t, "POST", "/v1/locate", map[string]any{"points": pts, "answer": "codes"})
			var compact struct{ Codes []*string }
			decode(t, body, &compact)
			if res.StatusCode != 200 || len(compact.Codes) != len(pts) {
				t.Fatalf("answer codes: %d, %d codes", res.StatusCode, len(compact.Codes))
			}
			for i, c := range compact.Codes {
				if c != nil && *c != answers[i].code() || c == nil && answers[i].code() != "" {
					t.Fatalf("point %v: answer codes %v, the full answer %q", pts[i], c, answers[i].code())
				}
			}
		}
		for i, p := range pts {
			var want []string
			bi, bj := bucket(p[0], p[1])
			for _, k := range buckets[bi][bj] {
				if c := cands[k]; c.bound.Contains(p) && planar.MultiPolygonContains(c.geom, p) {
					want = append(want, c.code)
				}
			}
			got := answers[i].code()
			switch {
			case len(want) == 0 && got != "":
				t.Fatalf("point %v: locate says %s, planar says no grid", p, got)
			case len(want) == 1 && got != want[0]:
				t.Fatalf("point %v: locate says %q, planar says %s", p, got, want[0])
			case len(want) > 1:
				// In two grids: only on a shared edge, which random points
				// practically never hit; anything else means grids overlap.
				// (The shared Liechtenstein extract has four exclave copies
				// that overlap their municipalities; the importer rejects
				// them and the demo leaves them out.)
				overlap++
				if !slices.Contains(want, got) {
					t.Fatalf("point %v in %v: locate says %q", p, want, got)
				}
			}
			if got == "" {
				if answers[i].DistanceToBoundaryM != nil {
					t.Fatalf("point %v: no grid but a distance", p)
				}
				continue
			}
			inside++
			a := answers[i]
			if a.DistanceToBoundaryM == nil || *a.DistanceToBoundaryM < 0 || len(a.Parents) == 0 || a.Parents[0].Code != a.Grid.ParentCode {
				t.Fatalf("point %v: answer %+v", p, a)
			}
		}
	}
	t.Logf("%d points: %d inside a grid, %d in two grids", n, inside, overlap)
	if overlap > 0 {
		t.Errorf("%d random points lie in two grids: the plan's grids overlap", overlap)
	}
	if inside < n/10 {
		t.Errorf("only %d of %d points fell in grids: the test is not testing much", inside, n)
	}
}

// testLocateDemo checks one answer in full and the GET/POST agreement on
// the demo plan.
func testLocateDemo(t *testing.T, f *fixture) {
	vaduz := "lon=9.5209&lat=47.1410" // the Vaduz town centre
	a := f.locate(t, vaduz)
	if a.Grid == nil || !strings.HasPrefix(a.Grid.Code, "LI-11") || a.Grid.ParentCode != "LI-11" || a.Grid.Households <= 0 || a.Grid.AreaM2 <= 0 {
		t.Fatalf("Vaduz: %+v", a)
	}
	var chain []string
	for _, p := range a.Parents {
		chain = append(chain, fmt.Sprintf("%s/%d", p.Name, p.Level))
	}
	if strings.Join(chain, ",") != "Vaduz/2,Oberland/1" {
		t.Errorf("parents = %v, want Vaduz then Oberland", chain)
	}
	// The distance to the boundary is small compared with the grid.
	if d := *a.DistanceToBoundaryM; d <= 0 || d > math.Sqrt(a.Grid.AreaM2) {
		t.Errorf("distance to boundary %v m for a grid of %v m²", d, a.Grid.AreaM2)
	}
	b := f.locateBatch(t, []orb.Point{{9.5209, 47.1410}, {8.0, 47.0}, {9.5209, 47.1410}}, "wgs84")
	if b[0].code() != a.Grid.Code || b[2].code() != a.Grid.Code || b[1].Grid != nil || len(b[1].Parents) != 0 {
		t.Errorf("batch = %+v", b)
	}
	// Zürich is in no grid and no area of Liechtenstein.
	z := f.locate(t, "lon=8.54&lat=47.37")
	if z.Grid != nil || z.DistanceToBoundaryM != nil || len(z.Parents) != 0 {
		t.Errorf("Zürich: %+v", z)
	}
}

// Without a published plan, locate still names the areas around a point.
func TestLocateWithoutPlan(t *testing.T) {
	f := &fixture{url: server.URL}
	a := f.locate(t, "lon=9.5209&lat=47.1410")
	if a.Grid != nil || a.DistanceToBoundaryM != nil {
		t.Fatalf("grid without a plan: %+v", a)
	}
	if len(a.Parents) != 2 || a.Parents[0].Name != "Vaduz" || a.Parents[1].Name != "Oberland" {
		t.Errorf("parents = %+v", a.Parents)
	}
}

// TestLocateCRS asks for the same place in GCJ-02 and BD-09 with the
// published reference pairs (coordtransform, eviltransform) on a plan in
// Beijing whose grids are smaller than the offsets.
func TestLocateCRS(t *testing.T) {
	f := beijingFixture(t, nil, nil)
	wgs := orb.Point{116.404, 39.915}
	gcj := orb.Point{116.41024449916938, 39.91640428150164} // coordtransform wgs84togcj02(116.404, 39.915)
	want := f.locate(t, "lon=116.404&lat=39.915")
	if want.Grid == nil {
		t.Fatal("reference point not in the lattice")
	}
	raw := f.locate(t, fmt.Sprintf("lon=%v&lat=%v", gcj[0], gcj[1]))
	if raw.code() == want.code() {
		t.Fatalf("the lattice does not tell the offset apart: both in %s", raw.code())
	}
	got := f.locate(t, fmt.Sprintf("lon=%v&lat=%v&crs=gcj02", gcj[0], gcj[1]))
	if got.code() != want.code() || math.Abs(got.Point[0]-wgs[0]) > 1e-7 || math.Abs(got.Point[1]-wgs[1]) > 1e-7 {
		t.Errorf("gcj02: %s at %v, want %s at %v", got.code(), got.Point, want.code(), wgs)
	}
	// coordtransform gcj02tobd09(116.404, 39.915) = (116.41036949371029,
	// 39.92133699351021): that BD-09 point is the GCJ-02 point (116.404,
	// 39.915), which is WGS 84 about (116.39776, 39.91360).
	bd := f.locate(t, "lon=116.41036949371029&lat=39.92133699351021&crs=bd09")
	back := spatial.WGS84ToGCJ02(orb.Point{bd.Point[0], bd.Point[1]})
	if math.Abs(back[0]-116.404) > 1e-6 || math.Abs(back[1]-39.915) > 1e-6 ||
		math.Abs(bd.Point[0]-116.39775550083061) > 3e-5 || math.Abs(bd.Point[1]-39.91359571849836) > 3e-5 {
		t.Errorf("bd09 answered the point %v", bd.Point)
	}
	direct := f.locate(t, fmt.Sprintf("lon=%v&lat=%v", bd.Point[0], bd.Point[1]))
	if bd.code() != direct.code() || bd.Grid == nil {
		t.Errorf("bd09 grid %q, WGS 84 grid of the same point %q", bd.code(), direct.code())
	}
	// The batch takes the crs in its body.
	b := f.locateBatch(t, []orb.Point{gcj}, "gcj02")
	if b[0].code() != want.code() {
		t.Errorf("batch gcj02: %s, want %s", b[0].code(), want.code())
	}
	// Parents come from the grid's parent_code up the tree.
	if len(want.Parents) != 2 || want.Parents[0].Code != want.Grid.ParentCode || want.Parents[1].Code != streetCode {
		t.Errorf("parents %+v", want.Parents)
	}
}

// TestLocateBatchCRSURIs: the batch's body crs takes the OGC Part 2 URIs
// the items' crs parameter takes, by the same parser; EPSG:4326 and
// EPSG:4490 order each point lat, lon, as Part 2 has it (and POST items
// reads them).
func TestLocateBatchCRSURIs(t *testing.T) {
	f := beijingFixture(t, nil, nil)
	want := f.locate(t, "lon=116.404&lat=39.915")
	if want.Grid == nil {
		t.Fatal("reference point not in the lattice")
	}
	lonLat, latLon := orb.Point{116.404, 39.915}, orb.Point{39.915, 116.404}
	for _, tc := range []struct {
		crs string
		pt  orb.Point
	}{
		{"http://www.opengis.net/def/crs/OGC/1.3/CRS84", lonLat},
		{"urn:ogc:def:crs:OGC:1.3:CRS84", lonLat},
		{"http://www.opengis.net/def/crs/EPSG/0/4326", latLon},
		{"http://www.opengis.net/def/crs/EPSG/0/4490", latLon},
		{"[EPSG:4490]", latLon},
		{"wgs84", lonLat},
	} {
		got := f.locateBatch(t, []orb.Point{tc.pt}, tc.crs)
		if got[0].code() != want.code() || math.Abs(got[0].Point[0]-116.404) > 1e-9 || math.Abs(got[0].Point[1]-39.915) > 1e-9 {
			t.Errorf("crs %s %v: %s at %v, want %s at [116.404 39.915]", tc.crs, tc.pt, got[0].code(), got[0].Point, want.code())
		}
	}
	// The JSON escape of the URI's slashes takes the slow read: the same answer.
	res, body := f.do(t, "POST", "/v1/locate", json.RawMessage(`{"points": [[39.915, 116.404]], "crs": "http:\/\/www.opengis.net\/def\/crs\/EPSG\/0\/4490"}`))
	var out struct{ Results []locateAnswer }
	if res.StatusCode != 200 || json.Unmarshal(body, &out) != nil || len(out.Results) != 1 || out.Results[0].code() != want.code() {
		t.Errorf("escaped URI: %d %.300s", res.StatusCode, body)
	}
}

func TestLocateBadInput(t *testing.T) {
	f := &fixture{url: server.URL}
	tests := []struct {
		name, method, path string
		body               string
		detail             string
	}{
		{"missing lon", "GET", "/v1/locate?lat=47.1", "", "parameter lon is required"},
		{"missing lat", "GET", "/v1/locate?lon=9.5", "", "parameter lat is required"},
		{"empty lat", "GET", "/v1/locate?lon=9.5&lat=", "", "parameter lat is required"},
		{"non-numeric lon", "GET", "/v1/locate?lon=abc&lat=47.1", "", `parameter lon must be a number, got "abc"`},
		{"NaN lat", "GET", "/v1/locate?lon=9.5&lat=NaN", "", `parameter lat must be a finite number, got "NaN"`},
		{"Inf lon", "GET", "/v1/locate?lon=-Inf&lat=47", "", "parameter lon must be a finite number"},
		{"lon out of range", "GET", "/v1/locate?lon=181&lat=47", "", "parameter lon must be within [-180, 180], got 181"},
		{"lat out of range", "GET", "/v1/locate?lon=9.5&lat=-90.5", "", "parameter lat must be within [-90, 90], got -90.5"},
		{"unknown crs", "GET", "/v1/locate?lon=9.5&lat=47&crs=epsg:3857", "", `parameter crs: unknown coordinate system "epsg:3857"`},
		{"unknown param", "GET", "/v1/locate?lon=9.5&lat=47&lng=9", "", `unknown query parameter "lng"`},
		{"malformed JSON", "POST", "/v1/locate", `{"points": [[9.5, 47.1],`, "JSON ends early"},
		{"not JSON", "POST", "/v1/locate", `points=9.5,47.1`, "not valid JSON"},
		{"empty body", "POST", "/v1/locate", ``, "body is empty"},
		{"no points", "POST", "/v1/locate", `{"crs": "wgs84"}`, `"points" is required`},
		{"points not array", "POST", "/v1/locate", `{"points": 5}`, "points must be an array"},
		{"unknown member", "POST", "/v1/locate", `{"points": [], "srs": "x"}`, `unknown member "srs"`},
		{"item one number", "POST", "/v1/locate", `{"points": [[9.5, 47.1], [9.5]]}`, "points[1] must be [lon, lat]"},
		{"item object", "POST", "/v1/locate", `{"points": [{"lon": 9.5, "lat": 47.1}]}`, "points[0] must be [lon, lat]"},
		{"item string", "POST", "/v1/locate", `{"points": [[9.5, 47.1], [9.5, 47.1], ["9.5", "47.1"]]}`, "points[2] must be [lon, lat]"},
		{"item null", "POST", "/v1/locate", `{"points": [null]}`, "points[0] must be [lon, lat]"},
		{"item out of range", "POST", "/v1/locate", `{"points": [[9.5, 47.1], [9.5, 91]]}`, "points[1] latitude out of range"},
		{"batch crs", "POST", "/v1/locate", `{"points": [[9.5, 47.1]], "crs": "wgs72"}`, `body: crs: unknown coordinate system "wgs72"`},
		{"batch crs URI", "POST", "/v1/locate", `{"points": [[9.5, 47.1]], "crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}`,
			`body: crs: unknown coordinate system "http://www.opengis.net/def/crs/EPSG/0/3857"; allowed: http://www.opengis.net/def/crs/OGC/1.3/CRS84`},
		{"trailing data", "POST", "/v1/locate", `{"points": []} {}`, "unexpected data after"},
		{"nearby no kind", "GET", "/v1/nearby?lon=9.5&lat=47.1", "", "parameter kind is required"},
		{"nearby bad kind", "GET", "/v1/nearby?lon=9.5&lat=47.1&kind=areas", "", `parameter kind must be hazards or cameras, got "areas"`},
		{"nearby radius", "GET", "/v1/nearby?lon=9.5&lat=47.1&kind=hazards&radius_m=-1", "", "parameter radius_m must be a number of metres in (0, 50000]"},
		{"nearby radius NaN", "GET", "/v1/nearby?lon=9.5&lat=47.1&kind=hazards&radius_m=NaN", "", "parameter radius_m"},
		{"nearby limit", "GET", "/v1/nearby?lon=9.5&lat=47.1&kind=hazards&limit=0", "", "parameter limit must be an integer from 1 to 1000"},
		{"nearby lat", "GET", "/v1/nearby?lon=9.5&kind=hazards", "", "parameter lat is required"},
		{"batch over limit", "POST", "/v1/locate", `{"points": [` + strings.Repeat("[9.5,47.1],", 10000) + `[9.5,47.1]]}`, "points has 10001 positions, the limit is 10000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = tc.body
			}
			res, b := f.do(t, tc.method, tc.path, body)
			if d := problemDetail(t, res, b, 400); !strings.Contains(d, tc.detail) {
				t.Errorf("detail %q, want it to contain %q", d, tc.detail)
			}
		})
	}
	// The limit itself is fine.
	pts := make([]orb.Point, 10000)
	for i := range pts {
		pts[i] = orb.Point{9.5, 47.1}
	}
	enc, _ := json.Marshal(map[string]any{"points": pts})
	res, _ := f.do(t, "POST", "/v1/locate?"+url.Values{}.Encode(), enc)
	if res.StatusCode != 200 {
		t.Errorf("a batch of 10000 points: %d", res.StatusCode)
	}
}

// montevideoServer is a server over the Montevideo plan of bench/locate.sh
// (gridgen, one bbox parent, target 300) without the household points,
// which locate does not need. It skips when the shared data is missing.
func montevideoServer(b *testing.B) (*api.Server, orb.Bound) {
	path := filepath.Join("..", "..", "shared", "data", "montevideo", "households.csv")
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Skipf("%s not found: put the shared OSM extracts next to the repository (../shared/data)", path)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	var hh []data.Household
	bound := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	for _, r := range rows[1:] {
		lon, _ := strconv.ParseFloat(r[1], 64)
		lat, _ := strconv.ParseFloat(r[2], 64)
		n, _ := strconv.Atoi(r[3])
		hh = append(hh, data.Household{ID: r[0], Point: orb.Point{lon, lat}, Households: n})
		bound = bound.Extend(orb.Point{lon, lat})
	}
	bound = bound.Pad(1e-4)
	parent := data.Area{Code: "UY-MO", Name: "Montevideo", Level: 1, Geometry: orb.MultiPolygon{bound.ToPolygon()}}
	f := newFixture(b, func(ctx context.Context, store *gpkg.Store) error {
		plan, err := gridgen.Generate(ctx, gridgen.Input{Households: hh, Parents: []data.Area{parent}, Target: 300}, gridgen.Options{})
		if err != nil {
			return err
		}
		tx, err := store.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.AddArea(ctx, parent); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		return publish(ctx, store, plan)
	})
	return f.srv, bound
}

// BenchmarkLocateHandler is GET /v1/locate through the server's handler
// chain (router, logging middleware to a discarding logger, handler) in
// process: the cost of an answer without the network.
func BenchmarkLocateHandler(b *testing.B) {
	srv, bound := montevideoServer(b)
	rng := rand.New(rand.NewPCG(7, 7))
	urls := make([]string, 4096)
	for i := range urls {
		urls[i] = fmt.Sprintf("/v1/locate?lon=%.7f&lat=%.7f", bound.Min[0]+rng.Float64()*(bound.Max[0]-bound.Min[0]), bound.Min[1]+rng.Float64()*(bound.Max[1]-bound.Min[1]))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", urls[i%len(urls)], nil))
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		i++
	}
}

// BenchmarkLocateBatch10k is one POST /v1/locate of 10,000 points in process.
func BenchmarkLocateBatch10k(b *testing.B) { benchLocateBatch(b, nil) }

// BenchmarkLocateBatch10kCodes is BenchmarkLocateBatch10k with "answer":
// "codes": the grid codes alone.
func BenchmarkLocateBatch10kCodes(b *testing.B) {
	benchLocateBatch(b, map[string]any{"answer": "codes"})
}

// benchLocateBatch posts 10,000 seeded points over Montevideo's plan, with
// the members of extra added to the body.
func benchLocateBatch(b *testing.B, extra map[string]any) {
	srv, bound := montevideoServer(b)
	rng := rand.New(rand.NewPCG(8, 8))
	pts := make([]orb.Point, 10000)
	for i := range pts {
		pts[i] = orb.Point{bound.Min[0] + rng.Float64()*(bound.Max[0]-bound.Min[0]), bound.Min[1] + rng.Float64()*(bound.Max[1]-bound.Min[1])}
	}
	req := map[string]any{"points": pts}
	maps.Copy(req, extra)
	body, _ := json.Marshal(req)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/v1/locate", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// TestLocatePrincipalPerRequest: GET /v1/locate reads the principal from
// the writer ServeHTTP hands it, which is reused from request to request;
// every answer is still its own caller's, with phone numbers for planners
// (and this fixture's anonymous admins) alone, whoever asked before, on
// GET and HEAD. A key whose role is below locate's is refused with 403
// naming its role, as on the routes that carry the principal in the
// request's context.
func TestLocatePrincipalPerRequest(t *testing.T) {
	f := beijingFixture(t, nil, nil)
	f.must(t, 201, "", "POST", "/v1/workers", map[string]any{"id": "W1", "name": "W", "role": "full_time", "phone": "+86 100 0000 0001",
		"grid_codes": []string{latticeGrid(0, 0)}}, "")
	key := func(role, worker string) string {
		t.Helper()
		_, k := f.must(t, 201, "", "POST", "/v1/keys", map[string]any{"role": role, "name": "test " + role, "worker": worker}, "")
		return k["key"].(string)
	}
	field, planner, viewer := key("field", "W1"), key("planner", ""), key("viewer", "")
	c := center(0, 0)
	at := fmt.Sprintf("/v1/locate?lon=%v&lat=%v", c[0], c[1])
	for i, tc := range []struct{ token, phone string }{
		{planner, "+86 100 0000 0001"}, {field, ""}, {field, ""}, {planner, "+86 100 0000 0001"},
		{"", "+86 100 0000 0001"}, {field, ""}, {planner, "+86 100 0000 0001"}, {field, ""},
	} {
		_, loc := f.must(t, 200, tc.token, "GET", at, nil, "")
		if p := loc["grid"].(map[string]any)["workers"].([]any)[0].(map[string]any)["phone"]; p != tc.phone {
			t.Errorf("request %d: phone %q, want %q", i, p, tc.phone)
		}
		if res, _ := f.as(t, tc.token, "HEAD", at, nil, ""); res.StatusCode != 200 {
			t.Errorf("request %d: HEAD %d", i, res.StatusCode)
		}
	}
	_, p := f.must(t, 403, viewer, "GET", at, nil, "")
	if d := fmt.Sprint(p["detail"]); !strings.Contains(d, "role viewer may not GET /v1/locate") {
		t.Errorf("viewer: %s", d)
	}
	f.must(t, 401, "wg_nope_nope", "GET", at, nil, "")
}
