package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/postgis"
	"github.com/wangge/wangge/data/storetest"
)

// scrape reads url (a /metrics) with token and parses the exposition.
func scrape(t *testing.T, url, token string) map[string]*dto.MetricFamily {
	t.Helper()
	res, body := do(t, "GET", url, token, "")
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	return mfs
}

// sample returns the value of the series of family name whose labels
// include want (a counter, gauge or untyped value; a histogram's count),
// and whether there is one.
func sample(mfs map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// TestMetrics scrapes /metrics of a real server before and after requests:
// the exposition parses; request counts and latencies grow, by route
// template; a repeated tile is a cache hit; the feed, the store file and
// the Go runtime are there.
func TestMetrics(t *testing.T) {
	_, ts, tokens := authServer(t, Config{})
	admin := tokens[data.RoleAdmin]
	before := scrape(t, ts.URL+"/metrics", admin)

	const tile = "/tiles/hazards/14/8625/5753.mvt"
	for _, path := range []string{"/collections/hazards/items?limit=1", "/collections/areas/items?limit=1", "/healthz", tile, tile, "/nothing/here"} {
		if res, body := do(t, "GET", ts.URL+path, admin, ""); res.StatusCode >= 500 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
		}
	}
	do(t, "GET", ts.URL+"/collections/hazards/items", "", "") // 401
	after := scrape(t, ts.URL+"/metrics", admin)

	grew := func(name string, by float64, labels ...string) {
		t.Helper()
		b, _ := sample(before, name, labels...)
		a, ok := sample(after, name, labels...)
		if !ok || a-b < by {
			t.Errorf("%s%v: %v then %v (present %v), want it %v more", name, labels, b, a, ok, by)
		}
	}
	grew("wangge_http_requests_total", 2, "route", "/collections/{collectionId}/items", "method", "GET", "code", "200")
	grew("wangge_http_requests_total", 1, "route", "/collections/{collectionId}/items", "method", "GET", "code", "401")
	grew("wangge_http_requests_total", 1, "route", "/healthz", "method", "GET", "code", "200")
	grew("wangge_http_requests_total", 2, "route", "/tiles/{layers}/{z}/{x}/{y}.mvt", "method", "GET", "code", "200")
	grew("wangge_http_requests_total", 1, "route", "unmatched", "method", "GET", "code", "404")
	grew("wangge_http_requests_total", 1, "route", "/metrics", "method", "GET", "code", "200")
	grew("wangge_http_request_duration_seconds", 3, "route", "/collections/{collectionId}/items", "method", "GET")
	grew("wangge_http_request_duration_seconds", 1, "route", "/healthz", "method", "GET")
	grew("wangge_tile_cache_hits_total", 1)

	// Route labels are the templates of the route table, never paths.
	templates := map[string]bool{"unmatched": true}
	_, doc := do(t, "GET", ts.URL+"/api", "", "")
	var api struct{ Paths map[string]any }
	if err := json.Unmarshal([]byte(doc), &api); err != nil {
		t.Fatal(err)
	}
	for p := range api.Paths {
		templates[p] = true
	}
	for _, name := range []string{"wangge_http_requests_total", "wangge_http_request_duration_seconds"} {
		for _, m := range after[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && !templates[l.GetValue()] {
					t.Errorf("%s has route %q, not a template of the route table", name, l.GetValue())
				}
			}
		}
	}

	for _, c := range []struct {
		name   string
		labels []string
		ok     func(float64) bool
	}{
		{"wangge_tile_cache_entries", nil, func(v float64) bool { return v >= 1 }},
		{"wangge_tile_cache_bytes", nil, func(v float64) bool { return v > 0 }},
		{"wangge_tile_cache_max_bytes", nil, func(v float64) bool { return v == 256<<20 }},
		{"wangge_tile_cache_misses_total", nil, func(v float64) bool { return v >= 1 }},
		{"wangge_tile_cache_evictions_total", nil, func(v float64) bool { return v == 0 }},
		{"wangge_feed_healthy", nil, func(v float64) bool { return v == 1 }},
		{"wangge_feed_version", nil, func(v float64) bool { return v > 0 }},
		{"wangge_feed_store_seq", nil, func(v float64) bool { return v > 0 }},
		{"wangge_feed_lag", nil, func(v float64) bool { return v == 0 }},
		{"wangge_feed_read_age_seconds", nil, func(v float64) bool { return v >= 0 && v < 3 }},
		{"wangge_plan_jobs_running", nil, func(v float64) bool { return v == 0 }},
		{"wangge_plan_job_duration_seconds", []string{"status", "done"}, func(v float64) bool { return v == 0 }},
		{"wangge_store_file_bytes", []string{"file", "db"}, func(v float64) bool { return v > 0 }},
		{"go_goroutines", nil, func(v float64) bool { return v > 0 }},
		{"go_build_info", nil, func(v float64) bool { return v == 1 }},
	} {
		if v, ok := sample(after, c.name, c.labels...); !ok || !c.ok(v) {
			t.Errorf("%s%v = %v (present %v)", c.name, c.labels, v, ok)
		}
	}
	if runtime.GOOS == "linux" {
		if _, ok := sample(after, "process_resident_memory_bytes"); !ok {
			t.Errorf("no process metrics")
		}
	}
	if _, ok := sample(after, "wangge_store_pool_total_conns"); ok {
		t.Errorf("pool metrics on a GeoPackage")
	}
}

// /metrics on the API is for admins; Metrics, for a listener of its own,
// asks for nothing.
func TestMetricsNeedsAdmin(t *testing.T) {
	s, ts, tokens := authServer(t, Config{})
	for _, c := range []struct {
		role data.Role
		want int
	}{{"", 401}, {data.RoleViewer, 403}, {data.RolePlanner, 403}, {data.RoleAdmin, 200}} {
		if res, body := do(t, "GET", ts.URL+"/metrics", tokens[c.role], ""); res.StatusCode != c.want {
			t.Errorf("as %q: %d, want %d: %s", c.role, res.StatusCode, c.want, body)
		}
	}
	own := httptest.NewServer(s.Metrics())
	defer own.Close()
	if _, ok := sample(scrape(t, own.URL, ""), "wangge_http_requests_total", "route", "/metrics", "code", "403"); !ok {
		t.Errorf("the refusals are not counted")
	}
}

// A plan job shows as running, then in the duration histogram.
func TestMetricsPlanJob(t *testing.T) {
	_, ts, tokens := authServer(t, Config{})
	admin := tokens[data.RoleAdmin]
	res, body := do(t, "POST", ts.URL+"/v1/plans", admin, `{"target": 300, "res": 9}`)
	var j struct{ ID, Status string }
	if err := json.Unmarshal([]byte(body), &j); err != nil || res.StatusCode != 202 {
		t.Fatalf("POST /v1/plans: %d %s", res.StatusCode, body)
	}
	for start := time.Now(); j.Status == "running"; time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("job %s still running", j.ID)
		}
		_, body := do(t, "GET", ts.URL+"/v1/plans/"+j.ID, admin, "")
		json.Unmarshal([]byte(body), &j)
	}
	mfs := scrape(t, ts.URL+"/metrics", admin)
	if n, _ := sample(mfs, "wangge_plan_job_duration_seconds", "status", j.Status); j.Status != "done" || n != 1 {
		t.Errorf("job %s; histogram of %s jobs counts %v, want 1", j.Status, j.Status, n)
	}
	if n, ok := sample(mfs, "wangge_plan_jobs_running"); !ok || n != 0 {
		t.Errorf("jobs running: %v", n)
	}
}

// On PostGIS, every pool is there: the primary's and each standby's.
func TestMetricsPostGISPools(t *testing.T) {
	ctx := context.Background()
	primary, standby := storetest.PostgresSchema(t), storetest.PostgresSchema(t)
	store, err := postgis.Open(ctx, primary, standby)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := New(Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Anonymous: data.RoleAdmin})
	if err := srv.Load(data.ReadPrimary(ctx)); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	do(t, "GET", ts.URL+"/collections/hazards/items", "", "")
	mfs := scrape(t, ts.URL+"/metrics", "")
	for _, pool := range []string{"primary", "standby1"} {
		for _, name := range []string{"wangge_store_pool_acquired_conns", "wangge_store_pool_idle_conns", "wangge_store_pool_total_conns",
			"wangge_store_pool_max_conns", "wangge_store_pool_acquires_total", "wangge_store_pool_empty_acquires_total",
			"wangge_store_pool_empty_acquire_wait_seconds_total"} {
			if _, ok := sample(mfs, name, "pool", pool); !ok {
				t.Errorf("no %s{pool=%q}", name, pool)
			}
		}
	}
	if n, _ := sample(mfs, "wangge_store_pool_acquires_total", "pool", "primary"); n == 0 {
		t.Errorf("the primary's pool acquired nothing")
	}
	if _, ok := sample(mfs, "wangge_store_file_bytes"); ok {
		t.Errorf("a file size on PostGIS")
	}
}

// The request metrics cost a request no allocation: the series of every
// route are resolved when the server is built.
func TestRequestMetricsAllocateNothing(t *testing.T) {
	s := New(Config{})
	route := tileRoute(t, s)
	rec := &statusRecorder{ResponseWriter: httptest.NewRecorder(), status: 200}
	request := func() {
		rec.route = nil
		s.metrics.matched(rec, route, "GET")
		s.metrics.observe(rec, "GET", time.Millisecond)
	}
	request() // the first of a status code makes its series
	if n := testing.AllocsPerRun(1000, request); n != 0 || rec.route == nil || rec.route.route != "/tiles/{layers}/{z}/{x}/{y}.mvt" {
		t.Errorf("%v allocations a request (route %+v)", n, rec.route)
	}
}

// tileRoute is the router's route of tiles.
func tileRoute(t testing.TB, s *Server) *mux.Route {
	var route *mux.Route
	s.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if tpl, _ := r.GetPathTemplate(); tpl == "/tiles/{layers}/{z}/{x}/{y}.mvt" {
			route = r
		}
		return nil
	})
	if route == nil {
		t.Fatal("no tile route")
	}
	return route
}

// BenchmarkRequestMetrics is what the request metrics add to a request: the
// route's series found (router path) and one observation.
func BenchmarkRequestMetrics(b *testing.B) {
	s := New(Config{})
	route := tileRoute(b, s)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rec := &statusRecorder{ResponseWriter: httptest.NewRecorder(), status: 200}
		for pb.Next() {
			s.metrics.matched(rec, route, "GET")
			s.metrics.observe(rec, "GET", 300*time.Microsecond)
		}
	})
}

// BenchmarkTileCachedHandler is GET of one cached tile through the
// server's handler chain in process: the router's path (a route with path
// variables), where the request metrics find their route from mux's match.
func BenchmarkTileCachedHandler(b *testing.B) {
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(b.TempDir(), "bench.gpkg"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if _, err := demo.Load(ctx, store); err != nil {
		b.Fatal(err)
	}
	srv := New(Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Anonymous: data.RoleAdmin})
	if err := srv.Load(ctx); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	const path = "/tiles/hazards/14/8625/5753.mvt"
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
