package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/postgis"
	"github.com/wangge/wangge/data/storetest"
)

// demoStore writes the Liechtenstein demo and two plans (the second
// redrawn from the first and published) into a new GeoPackage.
func demoStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "source.gpkg")
	s, err := gpkg.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := demo.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	areas, err := s.Areas(ctx)
	if err != nil || len(areas) < 2 {
		t.Fatalf("demo areas: %d, %v", len(areas), err)
	}
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	plan := data.Plan{CreatedAt: time.Date(2025, 5, 1, 10, 0, 0, 5_000_000, time.UTC), Target: 300, Resolution: 9,
		Report: data.Report{Grids: 2, Households: 812, HouseholdsMedian: 406.5, PolsbyPopperMean: 0.61803398875,
			HeavyCells: []data.HeavyCell{{Cell: "891f8d7a49bffff", GridCode: areas[1].Code + "001", Households: 512}}, Warnings: []string{"w"}}}
	for i, a := range areas[:2] {
		plan.Grids = append(plan.Grids, data.Grid{Code: a.Code + "001", ParentCode: a.Code, Name: "网格 " + a.Name, Households: 400 + i,
			AreaM2: 1e6 / 3, Worker: []string{"", "李雷"}[i], Cells: []uint64{0x891f8d7a49bffff, uint64(0x891f8d7a4c3ffff + i)}, Geometry: a.Geometry})
	}
	first, err := tx.SavePlan(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	plan.BaseID, plan.Target = first, 250
	plan.CreatedAt = plan.CreatedAt.Add(time.Hour)
	second, err := tx.SavePlan(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PublishPlan(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExportRoundTrip moves a GeoPackage into PostGIS and back to a new
// GeoPackage: every record, field, fid and plan link survives both moves.
func TestExportRoundTrip(t *testing.T) {
	pg := storetest.PostgresSchema(t)
	src := demoStore(t)
	back := filepath.Join(t.TempDir(), "back.gpkg")

	code, out, errs := runCLI(t, "export", "--format", "postgis", pg, "--db", src)
	if code != 0 || !strings.Contains(out, "2 plans with 4 grids") {
		t.Fatalf("export to postgis: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "export", "--db", pg, "--format", "gpkg", back)
	if code != 0 {
		t.Fatalf("export to gpkg: exit %d\n%s%s", code, out, errs)
	}
	ctx := context.Background()
	a, err := gpkg.Open(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p, err := postgis.Open(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b, err := gpkg.Open(ctx, back)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t.Run("gpkg to postgis", func(t *testing.T) { storetest.SameContent(t, a, p) })
	t.Run("postgis to gpkg", func(t *testing.T) { storetest.SameContent(t, a, b) })
	t.Run("audited", func(t *testing.T) {
		for name, s := range map[string]data.Store{"postgis": p, "gpkg": b} {
			entries, _, err := s.AuditLog(ctx, data.AuditQuery{Action: "export", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || !strings.Contains(string(entries[0].After), `"hazards"`) || strings.Contains(entries[0].Target, "postgres://") {
				t.Errorf("%s: export audit entries %+v, want one with the counts and no URL", name, entries)
			}
		}
	})

	// Export never overwrites, and never mixes into a store with data.
	if code, _, errs := runCLI(t, "export", "--format", "gpkg", back, "--db", pg); code != 2 || !strings.Contains(errs, "exists") {
		t.Errorf("export over a file: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "export", "--format", "postgis", pg, "--db", src); code != 1 || !strings.Contains(errs, "not empty") {
		t.Errorf("export into a full database: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "export", "--format", "shp", "x", "--db", src); code != 2 || !strings.Contains(errs, "--format") {
		t.Errorf("unknown format: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "export", "--format", "gpkg", filepath.Join(t.TempDir(), "x.gpkg"), "--db", filepath.Join(t.TempDir(), "missing.gpkg")); code != 1 || !strings.Contains(errs, "no such store") {
		t.Errorf("missing source: exit %d %s", code, errs)
	}
	// migrate on an up-to-date database applies nothing.
	if code, out, errs := runCLI(t, "migrate", "--db", pg); code != 0 || !strings.Contains(out, "0 migrations applied") {
		t.Errorf("migrate: exit %d %s%s", code, out, errs)
	}
}

// TestExportGeoJSON writes GeoJSON files that `wangge import` reads back
// into a new store with the same records.
func TestExportGeoJSON(t *testing.T) {
	src := demoStore(t)
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errs := runCLI(t, "export", "--format", "geojson", dir, "--db", src)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, out, errs)
	}
	for _, f := range []string{"areas.geojson", "households.geojson", "hazards.geojson", "cameras.geojson", "streets.geojson", "units.geojson", "grids.geojson", "plans.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	dst := filepath.Join(t.TempDir(), "again.gpkg")
	for _, l := range []string{"areas", "households", "hazards", "cameras", "streets", "units"} {
		if code, out, errs := runCLI(t, "import", l, filepath.Join(dir, l+".geojson"), "--db", dst); code != 0 {
			t.Fatalf("import %s: exit %d\n%s%s", l, code, out, errs)
		}
	}
	ctx := context.Background()
	a, _ := gpkg.Open(ctx, src)
	defer a.Close()
	b, _ := gpkg.Open(ctx, dst)
	defer b.Close()
	// Plans and grids are not importable; everything else is the same.
	tx, _ := a.Begin(ctx)
	if err := tx.Clear(ctx, data.LayerGrids); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	storetest.SameRecords(t, a, b)
}
