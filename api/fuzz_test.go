package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/gridgen"
)

// Fuzz tests of every input that comes from outside over HTTP: query
// parameters, path segments, JSON bodies and the Authorization header.
// Parsers are called directly where they are functions of their own;
// everything else goes through the real handler of a server built once per
// fuzz target over the demo data, which must answer every input with a
// status below 500 (a panic is a 500 too: ServeHTTP recovers it). Seeds
// are the f.Add calls and the files in testdata/fuzz/<Name>/. `make fuzz`
// runs each target briefly; `go test` runs the seeds.

// lockedBuffer collects the server's error log, so a failing input shows
// the panic's stack.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fuzzTarget is a server over its own copy of the demo data.
type fuzzTarget struct {
	srv *Server
	log *lockedBuffer
}

// newFuzzTarget builds the server of one fuzz target. withPlan publishes a
// plan drawn from the demo households, so locate and statistics reach
// their grid code; jobsOff cancels background jobs at once, so a valid
// POST /v1/plans checks its input but does not spend the fuzzer's CPU on
// a partition.
func newFuzzTarget(f *testing.F, withPlan, jobsOff bool) *fuzzTarget {
	f.Helper()
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(f.TempDir(), "fuzz.gpkg"))
	if err != nil {
		f.Fatal(err)
	}
	if _, err := demo.Load(ctx, store); err != nil {
		f.Fatal(err)
	}
	if withPlan {
		if err := publishFuzzPlan(ctx, store); err != nil {
			f.Fatal(err)
		}
	}
	log := &lockedBuffer{}
	srv := New(Config{Store: store, Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelError})),
		Anonymous: data.RoleAdmin, MaxBodyBytes: 64 << 10})
	if jobsOff {
		srv.Close()
	}
	if err := srv.Load(ctx); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close(); store.Close() })
	return &fuzzTarget{srv: srv, log: log}
}

var fuzzPlanOnce struct {
	sync.Once
	plan data.Plan
	err  error
}

// fuzzPlan draws the demo plan once per process (seconds of CPU), for
// every target that needs it: the demo data is the same in each store.
func fuzzPlan(ctx context.Context, store data.Store) (data.Plan, error) {
	fuzzPlanOnce.Do(func() {
		in, err := gridgen.LoadInput(ctx, store, gridgen.Request{Target: 300})
		if err != nil {
			fuzzPlanOnce.err = err
			return
		}
		fuzzPlanOnce.plan, fuzzPlanOnce.err = gridgen.Generate(ctx, in, gridgen.Options{})
	})
	return fuzzPlanOnce.plan, fuzzPlanOnce.err
}

// publishFuzzPlan stores and publishes the plan of fuzzPlan.
func publishFuzzPlan(ctx context.Context, store data.Store) error {
	plan, err := fuzzPlan(ctx, store)
	if err != nil {
		return err
	}
	_, err = data.SavePlan(ctx, store, plan, true, "test")
	return err
}

// do serves one request in process and fails the test on a 5xx.
func (ft *fuzzTarget) do(t *testing.T, method, path, rawQuery string, body []byte, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Host: "example.org", RemoteAddr: "192.0.2.1:4321", RequestURI: path}
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := httptest.NewRecorder()
	ft.srv.ServeHTTP(rec, req.WithContext(ctx))
	if rec.Code >= 500 {
		t.Fatalf("%s %s?%s body %.200q: status %d: %s\nlog: %s", method, path, rawQuery, body, rec.Code, rec.Body.String(), ft.log.String())
	}
	if rec.Code >= 400 && !strings.Contains(rec.Header().Get("Content-Type"), "problem+json") {
		t.Fatalf("%s %s?%s: status %d without problem+json (%q)", method, path, rawQuery, rec.Code, rec.Header().Get("Content-Type"))
	}
	return rec
}

// wantInvalid fails unless err is nil or a 400-class invalid error.
func wantInvalid(t *testing.T, err error) {
	t.Helper()
	if err != nil && data.ErrorCode(err) != data.EINVALID {
		t.Fatalf("error %v has code %s, want %s", err, data.ErrorCode(err), data.EINVALID)
	}
}

func finite(fs ...float64) bool {
	for _, f := range fs {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

func FuzzParseBBox(f *testing.F) {
	for _, s := range []string{"9.5,47.1,9.6,47.2", "-180,-90,180,90", "1,2,3", "1,2,0,3,4,0", "170,0,-170,1",
		"NaN,0,1,1", "1e400,0,1,1", " 9.5 , 47.1 ,9.6,47.2", "0x1p-2,0,1,1", ",,,", "1,2,3,4,5", "-0,-0,0,0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseBBox(s)
		wantInvalid(t, err)
		if err != nil {
			return
		}
		if !finite(b.Min[0], b.Min[1], b.Max[0], b.Max[1]) || b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1] ||
			b.Min[0] < -180 || b.Max[0] > 180 || b.Min[1] < -90 || b.Max[1] > 90 {
			t.Fatalf("%q accepted as %v", s, b)
		}
	})
}

func FuzzItemsQuery(f *testing.F) {
	for _, s := range []string{"", "limit=10&offset=20", "bbox=9.5,47.1,9.6,47.2&category=fire&status=open", "limit=0", "limit=10001",
		"offset=-1", "bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84", "level=1", "level=x", "severity=4", "f=html", "f=xml",
		"limit=%zz", "bbox=1,2,3&bbox=4,5,6,7", "unknown=1", "status=online", ";;&&=="} {
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, raw string, layer uint8) {
		l := data.Layers()[int(layer)%len(data.Layers())]
		r := &http.Request{URL: &url.URL{Path: "/collections/x/items", RawQuery: raw}}
		q, err := parseItemsQuery(r, l)
		wantInvalid(t, err)
		if err != nil {
			return
		}
		if q.Limit < 1 || q.Limit > maxLimit || q.Offset < 0 {
			t.Fatalf("%q: limit %d offset %d accepted", raw, q.Limit, q.Offset)
		}
		for name := range q.Filter {
			if !contains(data.Filterable(l), name) {
				t.Fatalf("%q: filter %s is not filterable on %s", raw, name, l)
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func FuzzParsePoint(f *testing.F) {
	for _, s := range []string{"lon=9.5209&lat=47.1410", "lon=116.39&lat=39.9&crs=gcj02", "lon=116.39&lat=39.9&crs=bd09", "lon=180&lat=90&crs=bd09",
		"lon=-180&lat=-90&crs=gcj02", "lon=9.5&lat=95", "lon=NaN&lat=1", "lon=Inf&lat=0", "lon=&lat=1", "lat=1", "lon=1e308&lat=0", "lon=1&lat=1&crs=WGS84", "lon=%20 1&lat=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw) // as r.URL.Query: what parses is used
		p, err := parsePoint(v)
		wantInvalid(t, err)
		if err != nil {
			return
		}
		if !finite(p[0], p[1]) {
			t.Fatalf("%q: point %v", raw, p)
		}
	})
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"", "2025-05-01", "2025-05-01T09:00:00Z", "2025-05-01T09:00:00.123+08:00", "2025-13-01", "0000-01-01", "9999-12-31T23:59:59Z", "yesterday"} {
		f.Add(s, "2026-01-01")
	}
	f.Fuzz(func(t *testing.T, since, until string) {
		from, to, err := parsePeriod(url.Values{"since": {since}, "until": {until}})
		wantInvalid(t, err)
		if err == nil && since == "" && !from.IsZero() {
			t.Fatalf("empty bound parsed as %v", from)
		}
		if err == nil && !from.IsZero() && !to.IsZero() && !from.Before(to) {
			t.Fatalf("%q..%q: since %v not before until %v", since, until, from, to)
		}
	})
}

// queryRoutes are the GET routes whose query (and one path segment, {})
// come from outside; the route is picked by a byte of the input.
var queryRoutes = []string{
	"/collections/{}/items", "/collections/hazards/items", "/collections/areas/items", "/collections/grids/items", "/collections/cameras/items",
	"/collections/hazards/items/{}", "/collections/{}", "/v1/locate", "/v1/nearby", "/v1/hotspots", "/v1/audit",
	"/v1/grids/stats", "/v1/grids/{}/stats", "/v1/coverage", "/v1/coverage/gaps", "/v1/plans/{}", "/v1/plans/{}/grids",
	"/tiles/{}.json", "/tiles/areas,grids/{}.mvt", "/", "/collections",
}

func FuzzQuery(f *testing.F) {
	seeds := []struct {
		route      string
		seg, query string
	}{
		{"/collections/{}/items", "hazards", "limit=5&bbox=9.5,47.1,9.6,47.2&category=traffic&status=open"},
		{"/collections/{}/items", "areas", "level=1"},
		{"/collections/{}/items", "households", ""},
		{"/collections/hazards/items/{}", "1", ""},
		{"/collections/hazards/items/{}", "-1", ""},
		{"/collections/hazards/items/{}", "99999999999999999999", ""},
		{"/v1/locate", "", "lon=9.5209&lat=47.1410"},
		{"/v1/locate", "", "lon=116.39&lat=39.9&crs=bd09"},
		{"/v1/locate", "", "lon=9.5&lat=95"},
		{"/v1/nearby", "", "lon=9.5209&lat=47.1410&kind=hazards&radius_m=500&limit=5"},
		{"/v1/nearby", "", "lon=9.5209&lat=47.1410&kind=cameras&radius_m=50000&limit=1000"},
		{"/v1/nearby", "", "lon=9.5209&lat=47.1410&kind=hazards&radius_m=NaN"},
		{"/v1/hotspots", "", "category=fire&since=2025-01-01&until=2026-01-01&res=9"},
		{"/v1/hotspots", "", "res=5"},
		{"/v1/hotspots", "", "res=11&since=2026-01-01T00:00:00Z"},
		{"/v1/hotspots", "", "since=2026-01-01&until=2025-01-01"},
		{"/v1/audit", "", "actor=anonymous&action=hazard.create&since=2025-01-01T00:00:00Z&limit=5&offset=1"},
		{"/v1/audit", "", "limit=0"},
		{"/v1/grids/stats", "", "since=2025-01-01&limit=5"},
		{"/v1/grids/{}/stats", "LI-11015", "since=2025-01-01"},
		{"/v1/coverage", "", "limit=5&offset=3"},
		{"/v1/coverage/gaps", "", "grid=LI-11015"},
		{"/v1/plans/{}", "job-1", ""},
		{"/v1/plans/{}/grids", "1", ""},
		{"/tiles/{}.json", "areas,grids", ""},
		{"/tiles/areas,grids/{}.mvt", "14/8590/5754", ""},
		{"/", "", "f=json"},
	}
	for _, s := range seeds {
		for i, r := range queryRoutes {
			if r == s.route {
				f.Add(uint8(i), s.seg, s.query)
			}
		}
	}
	ft := newFuzzTarget(f, true, true)
	f.Fuzz(func(t *testing.T, route uint8, seg, query string) {
		path := queryRoutes[int(route)%len(queryRoutes)]
		if strings.Contains(path, "{}") {
			if seg == "" || strings.ContainsAny(seg, "?#") {
				return // not a path a client can send in this segment
			}
			path = strings.Replace(path, "{}", seg, 1)
		}
		rec := ft.do(t, http.MethodGet, path, query, nil)
		if rec.Code == http.StatusOK && strings.Contains(rec.Header().Get("Content-Type"), "json") && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("GET %s?%s: 200 with invalid JSON %.200q", path, query, rec.Body.String())
		}
	})
}

func FuzzLocateBatch(f *testing.F) {
	for _, s := range []string{
		`{"points": [[9.5209, 47.1410], [9.60, 47.06]], "crs": "wgs84"}`,
		`{"points": [[116.39, 39.9]], "crs": "gcj02"}`,
		`{"points": [[116.39, 39.9]], "crs": "bd09"}`,
		`{"points": []}`, `{"points": null}`, `{}`, ``, `[]`, `{"points": [[1]]}`, `{"points": [[1, 2, 3]]}`,
		`{"points": [[181, 0]]}`, `{"points": [["9.5", 47]]}`, `{"points": [[9.5, 47]], "crs": "mars"}`,
		`{"points": [[9.5, 47]]} {}`, `{"points": [[1e999, 0]]}`, `{"points": [[9.5, 47]], "extra": 1}`, `{"points": [null, [1, 2]]}`,
	} {
		f.Add([]byte(s))
	}
	ft := newFuzzTarget(f, true, true)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := ft.do(t, http.MethodPost, "/v1/locate", "", body)
		if rec.Code == http.StatusOK {
			var out struct {
				Results []json.RawMessage `json:"results"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("200 with invalid JSON: %v", err)
			}
		}
	})
}

func FuzzFeatureWrite(f *testing.F) {
	for _, s := range []struct {
		patch            bool
		coll, fid, query string
		body             string
	}{
		{false, "hazards", "", "", `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [9.5209, 47.1410]}, "properties": {"category": "fire", "severity": 2}}`},
		{false, "hazards", "", "crs=gcj02", `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.39, 39.9]}, "properties": {"category": "traffic", "severity": 1, "status": "open", "reported_at": "2025-05-01T09:00:00Z", "source_id": "x-1"}}`},
		{false, "cameras", "", "", `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [9.52, 47.14]}, "properties": {"azimuth": 90, "fov": 60, "range_m": 80}}`},
		{false, "areas", "", "", `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [9.52, 47.14]}, "properties": {}}`},
		{false, "hazards", "", "", `{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "properties": {"category": "fire", "severity": 2}}`},
		{false, "hazards", "", "", `{"geometry": {"type": "Point", "coordinates": [9.5, 47.1]}, "properties": {"category": "fire", "severity": 2.5}}`},
		{false, "hazards", "", "", `{"geometry": {"type": "Point", "coordinates": [9.5, 47.1]}, "properties": {"category": "fire", "severity": 1e300}}`},
		{false, "hazards", "", "", `{"geometry": {"type": "Point", "coordinates": [9.5, 47.1]}, "properties": {"category": null, "severity": 1}}`},
		{false, "cameras", "", "", `{"geometry": {"type": "Point", "coordinates": [9.5, 47.1]}, "properties": {"azimuth": -1, "fov": 400, "range_m": 1e308}}`},
		{true, "hazards", "1", "", `{"properties": {"status": "resolved"}}`},
		{true, "hazards", "1", "", `{"geometry": {"type": "Point", "coordinates": [9.53, 47.15]}}`},
		{true, "cameras", "1", "", `{"properties": {"status": "offline", "azimuth": 180}}`},
		{true, "hazards", "0", "", `{}`},
		{true, "hazards", "99999999", "", `{"properties": {"status": "closed"}}`},
		{true, "grids", "1", "", `{}`},
		{true, "hazards", "1", "", `{"properties": {"reported_at": "yesterday"}}`},
		{true, "hazards", "1", "", `{"id": 5, "links": [], "bbox": [0, 0, 1, 1], "type": "Feature", "properties": {}}`},
	} {
		f.Add(s.patch, s.coll, s.fid, s.query, []byte(s.body))
	}
	ft := newFuzzTarget(f, false, true)
	f.Fuzz(func(t *testing.T, patch bool, coll, fid, query string, body []byte) {
		if coll == "" || strings.ContainsAny(coll+fid, "/?#") {
			return
		}
		if patch {
			if fid == "" {
				return
			}
			ft.do(t, http.MethodPatch, "/collections/"+coll+"/items/"+fid, query, body)
			return
		}
		rec := ft.do(t, http.MethodPost, "/collections/"+coll+"/items", query, body)
		if rec.Code == http.StatusCreated && rec.Header().Get("Location") == "" {
			t.Fatal("201 without Location")
		}
	})
}

func FuzzPlanBody(f *testing.F) {
	for _, s := range []string{
		`{"target": 300}`, `{"target": 300, "res": 9, "publish": true}`, `{"target": 300, "base": 1, "lock": ["LI-11015"]}`,
		`{"target": 300, "grids": {"7001": 3}}`, `{"target": 0}`, `{"target": -5}`, `{"target": 1e12}`, `{"target": 300, "res": 16}`,
		`{"target": 300, "res": -1}`, `{"target": 300, "base": -1}`, `{"target": 300, "base": 999}`, `{"target": 300, "grids": {"": -1}}`,
		`{"target": 300, "lock": [""]}`, `{"target": "300"}`, `{"target": 300, "x": 1}`, ``, `null`, `[]`, `{"target": 300}{}`,
	} {
		f.Add([]byte(s))
	}
	ft := newFuzzTarget(f, true, true)
	f.Fuzz(func(t *testing.T, body []byte) {
		ft.do(t, http.MethodPost, "/v1/plans", "", body)
	})
}

func FuzzKeyBody(f *testing.F) {
	for _, s := range []string{`{"role": "viewer", "name": "dashboard"}`, `{"role": "admin"}`, `{"role": "root"}`, `{"role": ""}`,
		`{"role": "field", "name": "` + strings.Repeat("x", 300) + `"}`, `{"role": "planner", "name": "\u0000"}`, `{"name": 1}`, ``, `{"role": "viewer", "x": 1}`} {
		f.Add([]byte(s))
	}
	ft := newFuzzTarget(f, false, true)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := ft.do(t, http.MethodPost, "/v1/keys", "", body)
		if rec.Code != http.StatusCreated {
			return
		}
		var k keyView
		if err := json.Unmarshal(rec.Body.Bytes(), &k); err != nil || k.Key == "" {
			t.Fatalf("201 without a key: %s", rec.Body.String())
		}
		// The new key works at once.
		if got := ft.do(t, http.MethodGet, "/v1/keys", "", nil, "Authorization", "Bearer "+k.Key); got.Code == http.StatusUnauthorized {
			t.Fatalf("new key refused: %s", got.Body.String())
		}
	})
}

func FuzzAuthorization(f *testing.F) {
	for _, s := range []string{"", "Bearer wg_abc_def", "bearer wg_abc_def", "Bearer ", "Bearer wg__", "Bearer wg_x", "Basic dXNlcjpwYXNz",
		"Bearer  wg_abc_def  ", "Bearer wg_abc_def_ghi", "Bearer\twg_abc_def"} {
		f.Add(s, false)
	}
	ft := newFuzzTarget(f, false, true)
	f.Fuzz(func(t *testing.T, auth string, write bool) {
		if !httpHeaderValue(auth) {
			return // net/http would not send it
		}
		if write {
			ft.do(t, http.MethodDelete, "/v1/keys/nokey", "", nil, "Authorization", auth)
			return
		}
		rec := ft.do(t, http.MethodGet, "/collections/hazards/items", "limit=1", nil, "Authorization", auth)
		if auth != "" && rec.Code == http.StatusOK {
			t.Fatalf("Authorization %q accepted", auth)
		}
	})
}

// httpHeaderValue reports whether s can be sent as a header value.
func httpHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
