package main

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
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

	"github.com/wangge/wangge/data/storetest"
)

// The convergence tests (this file, converge_pg_test.go, soak_test.go,
// frozen_test.go) run the real binary against real stores and check the
// contract of issue "One truth": every committed change to the store,
// whoever makes it, shows in every replica's in-memory views (locate,
// nearby, tiles, grid statistics, the key snapshot) within a second. The
// helpers they share are at the end of this file.

// convergeLimit is how soon a committed change must show in every view.
const convergeLimit = time.Second

// Points inside grids of the demo's published plans (Liechtenstein).
var (
	vaduz   = pt{9.5209, 47.1410}
	schaan  = pt{9.5095, 47.1650}
	triesen = pt{9.5280, 47.1070}
	eschen  = pt{9.5220, 47.2110}
	balzers = pt{9.5000, 47.0660}
)

// TestConvergeGeoPackage: `wangge serve` on a GeoPackage file while other
// processes write the file — the CLI (import, gridgen --publish) and GDAL
// (ogr2ogr -append, ogrinfo -sql UPDATE and DELETE). Each change must show
// within a second in locate, nearby, a decoded hazards tile and the grid
// statistics, and agree with /collections and with the file itself.
func TestConvergeGeoPackage(t *testing.T) {
	bin := buildShipped(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "converge.gpkg")
	srv := startReplica(t, bin, "serve", db, "--demo", "--anonymous", "planner")
	file := openGPKGFile(t, db)

	// (a) the CLI imports a hazard.
	t.Run("cli import", func(t *testing.T) {
		at := pt{9.52107, 47.14093}
		_, code := mustLocate(t, srv, at)
		before := mustGridHazards(t, srv, code)
		csv := filepath.Join(dir, "a.csv")
		writeFile(t, csv, "id,lon,lat,category,severity,status,reported_at\n"+
			fmt.Sprintf("conv/a,%.7f,%.7f,water,2,reported,2025-06-02T08:30:00Z\n", at[0], at[1]))
		runWangge(t, bin, "import", "hazards", csv, "--db", db)
		acked := time.Now()
		h := file.hazardBySource(t, "conv/a")
		took := mustConverge(t, acked, "CLI import of "+h.String(), func() error {
			return hazardShown(srv, h.FID, &h, at, code, before.with(h, +1))
		})
		t.Logf("CLI import shown in %v", took.Round(time.Millisecond))
		agreesWithItems(t, srv, h.FID, &h)
	})

	// (b) the CLI draws and publishes a plan.
	t.Run("cli gridgen publish", func(t *testing.T) {
		oldPlan, _ := mustLocate(t, srv, vaduz)
		runWangge(t, bin, "gridgen", "--target", "150", "--publish", "--db", db)
		acked := time.Now()
		plan, grids := file.publishedPlan(t)
		if plan == oldPlan {
			t.Fatalf("gridgen --publish left plan %d published", plan)
		}
		took := mustConverge(t, acked, fmt.Sprintf("plan %d (%d grids) published by the CLI", plan, grids), func() error {
			return planShown(srv, plan, grids)
		})
		t.Logf("CLI publish shown in %v", took.Round(time.Millisecond))
	})

	// The delay from a CLI import's exit to the hazard in nearby.
	t.Run("cli propagation", func(t *testing.T) {
		rnd := rand.New(rand.NewPCG(1, 2))
		var delays []time.Duration
		for i := range 20 {
			at := pt{9.515 + rnd.Float64()*0.02, 47.13 + rnd.Float64()*0.04}
			src := fmt.Sprintf("conv/p%d", i)
			csv := filepath.Join(dir, fmt.Sprintf("p%d.csv", i))
			writeFile(t, csv, "id,lon,lat,category,severity,status,reported_at\n"+
				fmt.Sprintf("%s,%.7f,%.7f,traffic,1,reported,2025-06-03T08:00:00Z\n", src, at[0], at[1]))
			runWangge(t, bin, "import", "hazards", csv, "--db", db)
			acked := time.Now()
			took, err := within(acked, convergeLimit, 2*time.Millisecond, func() error {
				near, _, err := srv.nearby(at, 5)
				if err != nil {
					return err
				}
				for _, h := range near {
					if h.SourceID == src {
						return nil
					}
				}
				return fmt.Errorf("%s: nearby %v does not list hazard %s", srv.name, at, src)
			})
			if err != nil {
				t.Errorf("import %d: not shown within %v: %v", i, convergeLimit, err)
				continue
			}
			delays = append(delays, took)
		}
		t.Logf("CLI import → nearby on the server, %d imports: p50 %v, p99 %v, max %v", len(delays),
			percentile(delays, 50), percentile(delays, 99), percentile(delays, 100))
	})

	// (c)–(e) GDAL writes the file as any GIS user would.
	ogr2ogr := storetest.NeedTool(t, "ogr2ogr", "gdal-bin")
	ogrinfo := storetest.NeedTool(t, "ogrinfo", "gdal-bin")
	at := pt{9.5097, 47.16485}
	var gdalFID int64
	var gdalHazard hazard
	var code string
	t.Run("ogr2ogr append", func(t *testing.T) {
		_, code = mustLocate(t, srv, at)
		before := mustGridHazards(t, srv, code)
		one := filepath.Join(dir, "one_hazard.geojson")
		writeFile(t, one, fmt.Sprintf(`{"type": "FeatureCollection", "features": [{"type": "Feature",
			"geometry": {"type": "Point", "coordinates": [%.7f, %.7f]},
			"properties": {"source_id": "conv/gdal", "category": "electrical", "severity": 3, "status": "reported", "reported_at": "2025-06-04T12:00:00Z"}}]}`, at[0], at[1]))
		runTool(t, ogr2ogr, "-update", "-append", db, one, "-nln", "hazards")
		acked := time.Now()
		gdalHazard = file.hazardBySource(t, "conv/gdal")
		gdalFID = gdalHazard.FID
		took := mustConverge(t, acked, "ogr2ogr -append of "+gdalHazard.String(), func() error {
			return hazardShown(srv, gdalFID, &gdalHazard, at, code, before.with(gdalHazard, +1))
		})
		t.Logf("ogr2ogr append shown in %v", took.Round(time.Millisecond))
		agreesWithItems(t, srv, gdalFID, &gdalHazard)
	})
	if gdalFID == 0 {
		t.Fatal("the GDAL steps need the hazard ogr2ogr appends")
	}
	t.Run("ogrinfo update", func(t *testing.T) {
		before := mustGridHazards(t, srv, code)
		runTool(t, ogrinfo, db, "-sql", fmt.Sprintf("UPDATE hazards SET status = 'resolved' WHERE fid = %d", gdalFID))
		acked := time.Now()
		h, ok := file.hazard(t, gdalFID)
		if !ok || h.Status != "resolved" {
			t.Fatalf("after ogrinfo UPDATE the file holds %v (found %v), want status resolved", h, ok)
		}
		want := before.with(gdalHazard, -1).with(h, +1)
		took := mustConverge(t, acked, "ogrinfo UPDATE of "+h.String(), func() error {
			return hazardShown(srv, gdalFID, &h, at, code, want)
		})
		t.Logf("ogrinfo UPDATE shown in %v", took.Round(time.Millisecond))
		agreesWithItems(t, srv, gdalFID, &h)
		gdalHazard = h
	})
	t.Run("ogrinfo delete", func(t *testing.T) {
		before := mustGridHazards(t, srv, code)
		runTool(t, ogrinfo, db, "-sql", fmt.Sprintf("DELETE FROM hazards WHERE fid = %d", gdalFID))
		acked := time.Now()
		if h, ok := file.hazard(t, gdalFID); ok {
			t.Fatalf("after ogrinfo DELETE the file still holds %v", h)
		}
		took := mustConverge(t, acked, fmt.Sprintf("ogrinfo DELETE of hazard %d", gdalFID), func() error {
			return hazardShown(srv, gdalFID, nil, at, code, before.with(gdalHazard, -1))
		})
		t.Logf("ogrinfo DELETE shown in %v", took.Round(time.Millisecond))
		agreesWithItems(t, srv, gdalFID, nil)
	})
}

// planShown returns nil when r answers with plan id (of grids grids)
// everywhere: locate, grid statistics, /collections/grids and the grids
// tile under the point locate names.
func planShown(r *replica, id int64, grids int) error {
	var errs []error
	plan, code, err := r.locate(vaduz)
	switch {
	case err != nil:
		return err
	case plan != id:
		errs = append(errs, fmt.Errorf("%s: locate %v answers grid %s of plan %d, want plan %d", r.name, vaduz, code, plan, id))
	}
	var stats struct {
		PlanID        int64 `json:"plan_id"`
		NumberMatched int   `json:"numberMatched"`
	}
	if err := r.getJSON("/v1/grids/stats?coverage=false&limit=1", &stats); err != nil {
		return err
	}
	if stats.PlanID != id || stats.NumberMatched != grids {
		errs = append(errs, fmt.Errorf("%s: /v1/grids/stats is of plan %d with %d grids, want plan %d with %d", r.name, stats.PlanID, stats.NumberMatched, id, grids))
	}
	var fc struct {
		NumberMatched int `json:"numberMatched"`
		Features      []struct {
			Properties struct {
				PlanID int64 `json:"plan_id"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := r.getJSON("/collections/grids/items?limit=1", &fc); err != nil {
		return err
	}
	if fc.NumberMatched != grids || len(fc.Features) != 1 || fc.Features[0].Properties.PlanID != id {
		errs = append(errs, fmt.Errorf("%s: /collections/grids/items has %d grids (first of plan %+v), want %d of plan %d", r.name, fc.NumberMatched, fc.Features, grids, id))
	}
	if plan == id {
		x, y := tileOf(vaduz, 14)
		layers, err := r.tileLayers("grids", 14, x, y)
		if err != nil {
			return err
		}
		var codes []string
		for _, f := range layers["grids"] {
			codes = append(codes, fmt.Sprint(f.Props["code"]))
		}
		if !slices.Contains(codes, code) {
			errs = append(errs, fmt.Errorf("%s: grids tile 14/%d/%d has grids %v, not %s where locate puts %v", r.name, x, y, codes, code, vaduz))
		}
	}
	return errors.Join(errs...)
}

// gpkgFile reads a GeoPackage directly, beside the server: what the file
// holds is the truth the server's views must converge on.
type gpkgFile struct{ db *sql.DB }

func openGPKGFile(t *testing.T, path string) *gpkgFile {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &gpkgFile{db}
}

const gpkgHazardCols = `SELECT fid, geom, source_id, category, severity, status, reported_at FROM hazards`

func (f *gpkgFile) hazard(t *testing.T, fid int64) (hazard, bool) {
	t.Helper()
	return f.scanHazard(t, f.db.QueryRow(gpkgHazardCols+` WHERE fid = ?`, fid))
}

func (f *gpkgFile) hazardBySource(t *testing.T, src string) hazard {
	t.Helper()
	h, ok := f.scanHazard(t, f.db.QueryRow(gpkgHazardCols+` WHERE source_id = ?`, src))
	if !ok {
		t.Fatalf("no hazard with source_id %q in the file", src)
	}
	return h
}

func (f *gpkgFile) scanHazard(t *testing.T, row *sql.Row) (hazard, bool) {
	t.Helper()
	var h hazard
	var geom []byte
	var at any
	err := row.Scan(&h.FID, &geom, &h.SourceID, &h.Category, &h.Severity, &h.Status, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return h, false
	}
	if err != nil {
		t.Fatalf("read the file: %v", err)
	}
	p, err := gpkgPoint(geom)
	if err != nil {
		t.Fatalf("hazard %d: %v", h.FID, err)
	}
	h.Lon, h.Lat = p[0], p[1]
	switch v := at.(type) {
	case time.Time:
		h.ReportedAt = v.UTC()
	case string:
		if h.ReportedAt, err = time.Parse(time.RFC3339Nano, v); err != nil {
			t.Fatalf("hazard %d: reported_at %q: %v", h.FID, v, err)
		}
	default:
		t.Fatalf("hazard %d: reported_at is %T %v", h.FID, at, at)
	}
	return h, true
}

// publishedPlan returns the file's published plan and its number of grids.
func (f *gpkgFile) publishedPlan(t *testing.T) (int64, int) {
	t.Helper()
	var id int64
	var n int
	if err := f.db.QueryRow(`SELECT id, (SELECT count(*) FROM grids WHERE plan_id = plans.id) FROM plans WHERE published = 1`).Scan(&id, &n); err != nil {
		t.Fatalf("published plan in the file: %v", err)
	}
	return id, n
}

// gpkgPoint decodes a GeoPackage geometry blob holding a point: the GP
// header (with an optional envelope), then WKB.
func gpkgPoint(b []byte) (pt, error) {
	if len(b) < 8 || b[0] != 'G' || b[1] != 'P' {
		return pt{}, fmt.Errorf("not a GeoPackage geometry: % x", b[:min(len(b), 8)])
	}
	env := map[byte]int{0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(b[3]>>1)&7]
	w := b[8+env:]
	if len(w) < 21 {
		return pt{}, fmt.Errorf("short WKB point (%d bytes)", len(w))
	}
	var bo binary.ByteOrder = binary.BigEndian
	if w[0] == 1 {
		bo = binary.LittleEndian
	}
	if typ := bo.Uint32(w[1:]) % 1000; typ != 1 {
		return pt{}, fmt.Errorf("WKB type %d, not a point", typ)
	}
	return pt{math.Float64frombits(bo.Uint64(w[5:])), math.Float64frombits(bo.Uint64(w[13:]))}, nil
}

// ---- Shared helpers of the convergence tests ----

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

type mvtFeature struct {
	ID    uint64
	HasID bool
	Props map[string]any
}

// decodeMVT returns a tile's features by layer name.
func decodeMVT(b []byte) (map[string][]mvtFeature, error) {
	out := map[string][]mvtFeature{}
	r := &pbuf{b: b}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return nil, err
		}
		if field != 3 || wire != 2 { // Tile.layers
			if err := r.skip(wire); err != nil {
				return nil, err
			}
			continue
		}
		lb, err := r.bytes()
		if err != nil {
			return nil, err
		}
		name, fs, err := decodeMVTLayer(lb)
		if err != nil {
			return nil, err
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("layer %q twice", name)
		}
		out[name] = fs
	}
	return out, nil
}

func decodeMVTLayer(b []byte) (string, []mvtFeature, error) {
	var name string
	var keys []string
	var values []any
	type raw struct {
		id    uint64
		hasID bool
		tags  []uint64
	}
	var feats []raw
	r := &pbuf{b: b}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return "", nil, err
		}
		switch {
		case field == 1 && wire == 2: // name
			s, err := r.bytes()
			if err != nil {
				return "", nil, err
			}
			name = string(s)
		case field == 3 && wire == 2: // keys
			s, err := r.bytes()
			if err != nil {
				return "", nil, err
			}
			keys = append(keys, string(s))
		case field == 4 && wire == 2: // values
			vb, err := r.bytes()
			if err != nil {
				return "", nil, err
			}
			v, err := decodeMVTValue(vb)
			if err != nil {
				return "", nil, err
			}
			values = append(values, v)
		case field == 2 && wire == 2: // features
			fb, err := r.bytes()
			if err != nil {
				return "", nil, err
			}
			var f raw
			fr := &pbuf{b: fb}
			for !fr.done() {
				ff, fw, err := fr.key()
				if err != nil {
					return "", nil, err
				}
				switch {
				case ff == 1 && fw == 0:
					f.id, err = fr.varint()
					f.hasID = true
				case ff == 2 && fw == 2:
					var pb []byte
					if pb, err = fr.bytes(); err == nil {
						pr := &pbuf{b: pb}
						for !pr.done() && err == nil {
							var v uint64
							v, err = pr.varint()
							f.tags = append(f.tags, v)
						}
					}
				default:
					err = fr.skip(fw)
				}
				if err != nil {
					return "", nil, err
				}
			}
			feats = append(feats, f)
		default:
			if err := r.skip(wire); err != nil {
				return "", nil, err
			}
		}
	}
	if name == "" {
		return "", nil, errors.New("layer without a name")
	}
	out := make([]mvtFeature, len(feats))
	for i, f := range feats {
		if len(f.tags)%2 != 0 {
			return "", nil, fmt.Errorf("layer %s: odd number of tags", name)
		}
		props := map[string]any{}
		for j := 0; j < len(f.tags); j += 2 {
			k, v := f.tags[j], f.tags[j+1]
			if k >= uint64(len(keys)) || v >= uint64(len(values)) {
				return "", nil, fmt.Errorf("layer %s: tag %d/%d out of range", name, k, v)
			}
			props[keys[k]] = values[v]
		}
		out[i] = mvtFeature{ID: f.id, HasID: f.hasID, Props: props}
	}
	return name, out, nil
}

func decodeMVTValue(b []byte) (any, error) {
	r := &pbuf{b: b}
	field, wire, err := r.key()
	if err != nil {
		return nil, err
	}
	switch {
	case field == 1 && wire == 2:
		s, err := r.bytes()
		return string(s), err
	case field == 2 && wire == 5 && len(b) >= r.i+4:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[r.i:]))), nil
	case field == 3 && wire == 1 && len(b) >= r.i+8:
		return math.Float64frombits(binary.LittleEndian.Uint64(b[r.i:])), nil
	case field >= 4 && field <= 7 && wire == 0:
		x, err := r.varint()
		switch field {
		case 4, 5:
			return int64(x), err
		case 6:
			return int64(x>>1) ^ -int64(x&1), err
		}
		return x != 0, err
	}
	return nil, fmt.Errorf("value field %d with wire type %d", field, wire)
}

// pbuf reads protocol buffer wire format.
type pbuf struct {
	b []byte
	i int
}

func (r *pbuf) done() bool { return r.i >= len(r.b) }

func (r *pbuf) varint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 {
		return 0, errors.New("bad varint")
	}
	r.i += n
	return v, nil
}

func (r *pbuf) key() (field, wire int, err error) {
	k, err := r.varint()
	return int(k >> 3), int(k & 7), err
}

func (r *pbuf) bytes() ([]byte, error) {
	n, err := r.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)-r.i) {
		return nil, errors.New("length beyond the buffer")
	}
	b := r.b[r.i : r.i+int(n)]
	r.i += int(n)
	return b, nil
}

func (r *pbuf) skip(wire int) error {
	switch wire {
	case 0:
		_, err := r.varint()
		return err
	case 1, 5:
		n := map[int]int{1: 8, 5: 4}[wire]
		if r.i+n > len(r.b) {
			return errors.New("short fixed field")
		}
		r.i += n
		return nil
	case 2:
		_, err := r.bytes()
		return err
	}
	return fmt.Errorf("wire type %d", wire)
}
