package main

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wangge/wangge/data/storetest"
)

// The convergence tests (this file, converge_pg_test.go, soak_test.go,
// frozen_test.go) run the real binary against real stores and check the
// contract of issue "One truth": every committed change to the store,
// whoever makes it, shows in every replica's in-memory views (locate,
// nearby, tiles, grid statistics, the key snapshot) within a second. The
// helpers they share are in converge_helpers_test.go.

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
