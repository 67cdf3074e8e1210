package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The helpers the convergence tests share (converge_gpkg_test.go,
// converge_pg_test.go, soak_test.go, frozen_test.go, stream_test.go): a
// replica's views read over HTTP, and the hazards compared with the store.

// pt is a longitude, latitude pair.
type pt [2]float64

// hazard is a hazard as any view shows it.
type hazard struct {
	FID                        int64
	Lon, Lat                   float64
	SourceID, Category, Status string
	Severity                   int
	ReportedAt                 time.Time
	coarse                     bool   // seen in a tile: no position, reported_at to the second
	etag                       string // from /collections, when read there
}

func (h hazard) String() string {
	return fmt.Sprintf("hazard %d {%s %s severity %d %s reported %s at %.7f,%.7f}", h.FID, h.SourceID, h.Category, h.Severity,
		h.Status, h.ReportedAt.UTC().Format(time.RFC3339Nano), h.Lon, h.Lat)
}

// diff says how got differs from want, "" when it does not.
func (want hazard) diff(got hazard) string {
	var d []string
	if got.FID != want.FID {
		d = append(d, fmt.Sprintf("fid %d ≠ %d", got.FID, want.FID))
	}
	for _, f := range []struct{ name, got, want string }{
		{"source_id", got.SourceID, want.SourceID}, {"category", got.Category, want.Category}, {"status", got.Status, want.Status},
	} {
		if f.got != f.want {
			d = append(d, fmt.Sprintf("%s %q ≠ %q", f.name, f.got, f.want))
		}
	}
	if got.Severity != want.Severity {
		d = append(d, fmt.Sprintf("severity %d ≠ %d", got.Severity, want.Severity))
	}
	gt, wt := got.ReportedAt, want.ReportedAt
	if got.coarse || want.coarse {
		gt, wt = gt.Truncate(time.Second), wt.Truncate(time.Second)
	}
	if !gt.Equal(wt) {
		d = append(d, fmt.Sprintf("reported_at %s ≠ %s", got.ReportedAt.UTC().Format(time.RFC3339Nano), want.ReportedAt.UTC().Format(time.RFC3339Nano)))
	}
	if !got.coarse && !want.coarse && (math.Abs(got.Lon-want.Lon) > 1e-7 || math.Abs(got.Lat-want.Lat) > 1e-7) {
		d = append(d, fmt.Sprintf("position %.7f,%.7f ≠ %.7f,%.7f", got.Lon, got.Lat, want.Lon, want.Lat))
	}
	return strings.Join(d, ", ")
}

// geoFeature is a GeoJSON feature of the hazards collection or of nearby.
type geoFeature struct {
	ID       int64 `json:"id"`
	Geometry struct {
		Coordinates []float64 `json:"coordinates"`
	} `json:"geometry"`
	Properties struct {
		SourceID   string  `json:"source_id"`
		Category   string  `json:"category"`
		Severity   int     `json:"severity"`
		Status     string  `json:"status"`
		ReportedAt string  `json:"reported_at"`
		DistanceM  float64 `json:"distance_m"`
	} `json:"properties"`
}

func (f geoFeature) hazard() (hazard, error) {
	h := hazard{FID: f.ID, SourceID: f.Properties.SourceID, Category: f.Properties.Category, Severity: f.Properties.Severity, Status: f.Properties.Status}
	if len(f.Geometry.Coordinates) != 2 {
		return h, fmt.Errorf("feature %d: coordinates %v", f.ID, f.Geometry.Coordinates)
	}
	h.Lon, h.Lat = f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]
	t, err := time.Parse(time.RFC3339Nano, f.Properties.ReportedAt)
	if err != nil {
		return h, fmt.Errorf("feature %d: reported_at: %v", f.ID, err)
	}
	h.ReportedAt = t
	return h, nil
}

// hazardCounts are a grid's hazard statistics.
type hazardCounts struct {
	Reported   int            `json:"reported"`
	Resolved   int            `json:"resolved"`
	ByCategory map[string]int `json:"by_category"`
	ByStatus   map[string]int `json:"by_status"`
}

// with returns the counts with h added (sign +1) or taken away (-1).
func (c hazardCounts) with(h hazard, sign int) hazardCounts {
	out := hazardCounts{Reported: c.Reported + sign, Resolved: c.Resolved, ByCategory: maps.Clone(c.ByCategory), ByStatus: maps.Clone(c.ByStatus)}
	if out.ByCategory == nil {
		out.ByCategory = map[string]int{}
	}
	if out.ByStatus == nil {
		out.ByStatus = map[string]int{}
	}
	out.ByCategory[h.Category] += sign
	out.ByStatus[h.Status] += sign
	if h.Status == "resolved" {
		out.Resolved += sign
	}
	return out
}

func (c hazardCounts) diff(got hazardCounts) string {
	var d []string
	if got.Reported != c.Reported {
		d = append(d, fmt.Sprintf("reported %d ≠ %d", got.Reported, c.Reported))
	}
	if got.Resolved != c.Resolved {
		d = append(d, fmt.Sprintf("resolved %d ≠ %d", got.Resolved, c.Resolved))
	}
	for _, m := range []struct {
		name      string
		got, want map[string]int
	}{{"by_category", got.ByCategory, c.ByCategory}, {"by_status", got.ByStatus, c.ByStatus}} {
		for _, k := range slices.Sorted(maps.Keys(mergeKeys(m.got, m.want))) {
			if m.got[k] != m.want[k] {
				d = append(d, fmt.Sprintf("%s.%s %d ≠ %d", m.name, k, m.got[k], m.want[k]))
			}
		}
	}
	return strings.Join(d, ", ")
}

func mergeKeys(a, b map[string]int) map[string]int {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]int{}
	}
	for k := range b {
		out[k] += 0
	}
	return out
}

// syncBuffer collects a process's output from its pipes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// replica is one running `wangge serve`.
type replica struct {
	name   string
	base   string
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{}
}

// testClient never asks for gzip, so tiles and their ETags are compared as
// sent, and keeps enough idle connections for the soak's readers.
var testClient = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}}

// startReplica starts `wangge serve --db db` with args on a free port and
// waits until /readyz answers 200. It is stopped with SIGTERM when the
// test ends, and fails the test if the race detector spoke.
func startReplica(t *testing.T, bin, name, db string, args ...string) *replica {
	t.Helper()
	addr := freeAddr(t)
	r := &replica{name: name, base: "http://" + addr, log: &syncBuffer{}, exited: make(chan struct{})}
	r.cmd = exec.Command(bin, append([]string{"serve", "--db", db, "--addr", addr, "--rate-limit", "0"}, args...)...)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	r.cmd.Env = append(os.Environ(), "WANGGE_LOG_FORMAT=text")
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() { r.stop(t) })
	deadline := time.Now().Add(90 * time.Second)
	for {
		a, err := r.request(2*time.Second, "GET", "/readyz", nil)
		if err == nil && a.status == http.StatusOK {
			return r
		}
		select {
		case <-r.exited:
			t.Fatalf("%s: wangge serve exited before it was ready (%v):\n%s", name, r.cmd.ProcessState, r.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not ready after 90 s (last: %v %v):\n%s", name, a, err, r.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *replica) stop(t *testing.T) {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(20 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
		t.Errorf("%s: wangge serve did not stop within 20 s of SIGTERM", r.name)
	}
	if log := r.log.String(); strings.Contains(log, "DATA RACE") {
		i := strings.Index(log, "WARNING: DATA RACE")
		t.Errorf("%s: the race detector found a data race in wangge serve:\n%s", r.name, log[max(i, 0):min(len(log), max(i, 0)+6000)])
	}
}

// answer is an HTTP response, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) String() string {
	b := strings.TrimSpace(string(a.body))
	if len(b) > 400 {
		b = b[:400] + "…"
	}
	if ct := a.header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") && !strings.HasPrefix(ct, "text/") {
		b = fmt.Sprintf("(%d bytes of %s)", len(a.body), ct)
	}
	return fmt.Sprintf("%d %s", a.status, b)
}

// request sends one request; body is nil, []byte, a string, or a value
// sent as JSON; hdr holds header names and values in pairs.
func (r *replica) request(timeout time.Duration, method, path string, body any, hdr ...string) (answer, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := *testClient
	c.Timeout = timeout
	res, err := c.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s: %s %s: %w", r.name, method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s: %s %s: reading the answer: %w", r.name, method, path, err)
	}
	return answer{res.StatusCode, res.Header, b}, nil
}

func (r *replica) do(method, path string, body any, hdr ...string) (answer, error) {
	return r.request(10*time.Second, method, path, body, hdr...)
}

// getJSON decodes the 200 answer to GET path into v.
func (r *replica) getJSON(path string, v any, hdr ...string) error {
	a, err := r.do("GET", path, nil, hdr...)
	if err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("%s: GET %s: %v", r.name, path, a)
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("%s: GET %s: %v in %v", r.name, path, err, a)
	}
	return nil
}

// version is the feed version r's views stand at (its /readyz header).
func (r *replica) version() (int64, error) {
	a, err := r.do("GET", "/readyz", nil)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(a.header.Get("Wangge-Version"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: /readyz: Wangge-Version %q: %v", r.name, a.header.Get("Wangge-Version"), err)
	}
	return v, nil
}

// locate returns the plan and grid code locate answers for p.
func (r *replica) locate(p pt, hdr ...string) (int64, string, error) {
	var out struct {
		Grid *struct {
			Code   string `json:"code"`
			PlanID int64  `json:"plan_id"`
		} `json:"grid"`
	}
	if err := r.getJSON(fmt.Sprintf("/v1/locate?lon=%.7f&lat=%.7f", p[0], p[1]), &out, hdr...); err != nil {
		return 0, "", err
	}
	if out.Grid == nil {
		return 0, "", fmt.Errorf("%s: locate %v: in no grid", r.name, p)
	}
	return out.Grid.PlanID, out.Grid.Code, nil
}

func mustLocate(t *testing.T, r *replica, p pt) (int64, string) {
	t.Helper()
	plan, code, err := r.locate(p)
	if err != nil {
		t.Fatal(err)
	}
	return plan, code
}

// nearby returns the hazards within radiusM of p (at most 1000) and how
// many the answer said it returned.
func (r *replica) nearby(p pt, radiusM float64, hdr ...string) (map[int64]hazard, int, error) {
	var fc struct {
		Features       []geoFeature `json:"features"`
		NumberReturned int          `json:"numberReturned"`
	}
	if err := r.getJSON(fmt.Sprintf("/v1/nearby?lon=%.7f&lat=%.7f&kind=hazards&radius_m=%g&limit=1000", p[0], p[1], radiusM), &fc, hdr...); err != nil {
		return nil, 0, err
	}
	out := make(map[int64]hazard, len(fc.Features))
	for _, f := range fc.Features {
		h, err := f.hazard()
		if err != nil {
			return nil, 0, fmt.Errorf("%s: nearby: %v", r.name, err)
		}
		out[h.FID] = h
	}
	return out, fc.NumberReturned, nil
}

// item returns /collections/hazards/items/fid with its ETag; found is
// false on 404.
func (r *replica) item(fid int64, hdr ...string) (h hazard, found bool, err error) {
	a, err := r.do("GET", fmt.Sprintf("/collections/hazards/items/%d", fid), nil, hdr...)
	if err != nil {
		return h, false, err
	}
	switch a.status {
	case http.StatusNotFound:
		return h, false, nil
	case http.StatusOK:
	default:
		return h, false, fmt.Errorf("%s: GET hazard %d: %v", r.name, fid, a)
	}
	var f geoFeature
	if err := json.Unmarshal(a.body, &f); err != nil {
		return h, false, fmt.Errorf("%s: GET hazard %d: %v", r.name, fid, err)
	}
	if h, err = f.hazard(); err != nil {
		return h, false, err
	}
	h.etag = a.header.Get("ETag")
	return h, true, nil
}

// gridHazards returns the hazard statistics of grid code.
func (r *replica) gridHazards(code string) (hazardCounts, error) {
	var out struct {
		Hazards hazardCounts `json:"hazards"`
	}
	err := r.getJSON("/v1/grids/"+code+"/stats?coverage=false", &out)
	return out.Hazards, err
}

func mustGridHazards(t *testing.T, r *replica, code string) hazardCounts {
	t.Helper()
	c, err := r.gridHazards(code)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tileLayers fetches and decodes a vector tile; a 204 is a tile without
// layers.
func (r *replica) tileLayers(layers string, z, x, y int, hdr ...string) (map[string][]mvtFeature, error) {
	path := fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", layers, z, x, y)
	a, err := r.do("GET", path, nil, hdr...)
	if err != nil {
		return nil, err
	}
	switch a.status {
	case http.StatusNoContent:
		return map[string][]mvtFeature{}, nil
	case http.StatusOK:
	default:
		return nil, fmt.Errorf("%s: GET %s: %v", r.name, path, a)
	}
	out, err := decodeMVT(a.body)
	if err != nil {
		return nil, fmt.Errorf("%s: GET %s: undecodable tile: %v", r.name, path, err)
	}
	return out, nil
}

// tileHazards returns the hazards of the zoom 14 tile holding p (from zoom
// 14 on, a hazard is one point of its own with its fid).
func (r *replica) tileHazards(p pt) (map[int64]hazard, error) {
	x, y := tileOf(p, 14)
	layers, err := r.tileLayers("hazards", 14, x, y)
	if err != nil {
		return nil, err
	}
	out := map[int64]hazard{}
	for _, f := range layers["hazards"] {
		h, err := tileHazard(f)
		if err != nil {
			return nil, fmt.Errorf("%s: hazards tile 14/%d/%d: %v", r.name, x, y, err)
		}
		out[h.FID] = h
	}
	return out, nil
}

// tileHazard reads a hazard from a feature of the hazards layer at zoom 14
// or more.
func tileHazard(f mvtFeature) (hazard, error) {
	h := hazard{FID: int64(f.ID), coarse: true}
	if !f.HasID {
		return h, fmt.Errorf("a feature without id: %v", f.Props)
	}
	h.SourceID, _ = f.Props["id"].(string)
	h.Category, _ = f.Props["category"].(string)
	h.Status, _ = f.Props["status"].(string)
	sev, _ := f.Props["severity"].(int64)
	h.Severity = int(sev)
	at, _ := f.Props["reported_at"].(string)
	var err error
	if h.ReportedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return h, fmt.Errorf("feature %d: reported_at %q", f.ID, at)
	}
	return h, nil
}

// hazardShown returns nil when r's views show hazard fid as want (nil: gone)
// at p: nearby, the zoom 14 tile, and the statistics of grid code, which
// must equal counts.
func hazardShown(r *replica, fid int64, want *hazard, p pt, code string, counts hazardCounts) error {
	var errs []error
	near, _, err := r.nearby(p, 5)
	if err != nil {
		return err
	}
	tile, err := r.tileHazards(p)
	if err != nil {
		return err
	}
	for _, v := range []struct {
		view string
		got  map[int64]hazard
	}{{"nearby", near}, {"hazards tile", tile}} {
		got, ok := v.got[fid]
		switch {
		case want == nil && ok:
			errs = append(errs, fmt.Errorf("%s: %s still shows deleted %v", r.name, v.view, got))
		case want != nil && !ok:
			errs = append(errs, fmt.Errorf("%s: %s does not show %v", r.name, v.view, *want))
		case want != nil:
			if d := want.diff(got); d != "" {
				errs = append(errs, fmt.Errorf("%s: %s shows hazard %d with %s", r.name, v.view, fid, d))
			}
		}
	}
	if code != "" {
		got, err := r.gridHazards(code)
		if err != nil {
			return err
		}
		if d := counts.diff(got); d != "" {
			errs = append(errs, fmt.Errorf("%s: statistics of grid %s: %s", r.name, code, d))
		}
	}
	return errors.Join(errs...)
}

// agreesWithItems checks that /collections (read from the store) shows
// hazard fid as want, nil meaning 404.
func agreesWithItems(t *testing.T, r *replica, fid int64, want *hazard) {
	t.Helper()
	got, found, err := r.item(fid)
	switch {
	case err != nil:
		t.Error(err)
	case want == nil && found:
		t.Errorf("%s: /collections/hazards/items/%d still answers %v", r.name, fid, got)
	case want != nil && !found:
		t.Errorf("%s: /collections/hazards/items/%d is 404, want %v", r.name, fid, *want)
	case want != nil:
		if d := want.diff(got); d != "" {
			t.Errorf("%s: /collections/hazards/items/%d differs from the store: %s", r.name, fid, d)
		}
	}
}

// within calls check until it returns nil, every poll, and returns how
// long after since the successful call started; after limit it gives up
// and returns check's last error.
func within(since time.Time, limit, poll time.Duration, check func() error) (time.Duration, error) {
	for {
		start := time.Now()
		err := check()
		if err == nil {
			return start.Sub(since), nil
		}
		if time.Since(since) > limit {
			return time.Since(since), err
		}
		time.Sleep(poll)
	}
}

// mustConverge fails the test unless check passes within convergeLimit of
// acked, and returns how long it took.
func mustConverge(t *testing.T, acked time.Time, what string, check func() error) time.Duration {
	t.Helper()
	took, err := within(acked, convergeLimit, 5*time.Millisecond, check)
	if err != nil {
		t.Fatalf("%s: not shown within %v; after %v:\n%v", what, convergeLimit, took.Round(time.Millisecond), err)
	}
	return took
}

// percentile is the nearest-rank p-th percentile of ds (p 100: the max).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)].Round(time.Millisecond / 10)
}

// tileOf returns the column and row of the zoom z tile holding p.
func tileOf(p pt, z int) (int, int) {
	n := math.Exp2(float64(z))
	lat := p[1] * math.Pi / 180
	x := math.Floor((p[0] + 180) / 360 * n)
	y := math.Floor((1 - math.Log(math.Tan(lat)+1/math.Cos(lat))/math.Pi) / 2 * n)
	return int(x), int(y)
}

// skipOrFail skips the test for what it lacks, or fails it under CI.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// runWangge runs the binary to its end (without the race runtime's second
// of sleep at exit) and returns its standard output.
func runWangge(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("wangge %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func runTool(t *testing.T, tool string, args ...string) {
	t.Helper()
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A Mapbox Vector Tile reader, after the project's own test decoder
// (tiles/decode_test.go), which other packages cannot import: layers,
// feature ids and properties; geometry is skipped.
