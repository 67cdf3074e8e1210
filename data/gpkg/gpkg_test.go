package gpkg_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
)

func open(t *testing.T) (*gpkg.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.gpkg")
	s, err := gpkg.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

var square = orb.MultiPolygon{{{{9.5, 47.1}, {9.6, 47.1}, {9.6, 47.2}, {9.5, 47.2}, {9.5, 47.1}}}}

func fill(t *testing.T, s *gpkg.Store) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	must := func(_ int64, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tx.AddArea(ctx, data.Area{Code: "A", Name: "Alpha", Level: 1, Geometry: square}))
	must(tx.AddHousehold(ctx, data.Household{ID: "h1", Point: orb.Point{9.52, 47.12}, Households: 3}))
	must(tx.AddHousehold(ctx, data.Household{ID: "h2", Point: orb.Point{9.58, 47.18}, Households: 1}))
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	must(tx.AddHazard(ctx, data.Hazard{ID: "z1", Point: orb.Point{9.52, 47.12}, Category: "fire", Severity: 2, Status: "reported", ReportedAt: at}))
	must(tx.AddHazard(ctx, data.Hazard{ID: "z2", Point: orb.Point{9.58, 47.18}, Category: "traffic", Severity: 1, Status: "resolved", ReportedAt: at}))
	must(tx.AddHazard(ctx, data.Hazard{ID: "z3", Point: orb.Point{9.40, 47.00}, Category: "fire", Severity: 3, Status: "reported", ReportedAt: at}))
	must(tx.AddCamera(ctx, data.Camera{ID: "c1", Point: orb.Point{9.55, 47.15}, Azimuth: 90, FOV: 60, RangeM: 50, Status: "online"}))
	must(tx.SavePlan(ctx, data.Plan{Target: 300, Resolution: 9, Grids: []data.Grid{
		{Code: "A001", ParentCode: "A", Households: 4, AreaM2: 1e6, Cells: []uint64{0x89283082803ffff}, Geometry: square},
	}}))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	fill(t, s)

	hz, err := s.Hazards(ctx)
	if err != nil || len(hz) != 3 {
		t.Fatalf("Hazards = %d, %v", len(hz), err)
	}
	if hz[0].Point != (orb.Point{9.52, 47.12}) || hz[0].Category != "fire" || !hz[0].ReportedAt.Equal(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("hazard 1 = %+v", hz[0])
	}
	areas, err := s.Areas(ctx)
	if err != nil || len(areas) != 1 || !orb.Equal(areas[0].Geometry, square) {
		t.Fatalf("Areas = %+v, %v", areas, err)
	}
	var n, hh int
	if err := s.EachHousehold(ctx, func(h data.Household) error { n++; hh += h.Households; return nil }); err != nil || n != 2 || hh != 4 {
		t.Fatalf("EachHousehold: %d points, %d households, %v", n, hh, err)
	}

	// Grids are served only once their plan is published.
	if c, _ := s.Count(ctx, data.LayerGrids); c != 0 {
		t.Errorf("grids before publish = %d, want 0", c)
	}
	plans, err := s.Plans(ctx)
	if err != nil || len(plans) != 1 {
		t.Fatalf("Plans = %v, %v", plans, err)
	}
	tx, _ := s.Begin(ctx)
	if err := tx.PublishPlan(ctx, plans[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	p, err := s.PublishedPlan(ctx)
	if err != nil || len(p.Grids) != 1 || p.Grids[0].Cells[0] != 0x89283082803ffff || p.Target != 300 {
		t.Fatalf("PublishedPlan = %+v, %v", p, err)
	}
	if c, _ := s.Count(ctx, data.LayerGrids); c != 1 {
		t.Errorf("grids after publish = %d, want 1", c)
	}
}

func TestItems(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	fill(t, s)
	bbox := orb.Bound{Min: orb.Point{9.5, 47.1}, Max: orb.Point{9.6, 47.2}}
	tests := []struct {
		name    string
		q       data.Query
		matched int
		fids    []int64
	}{
		{"all", data.Query{Limit: 10}, 3, []int64{1, 2, 3}},
		{"page", data.Query{Limit: 1, Offset: 1}, 3, []int64{2}},
		{"bbox", data.Query{Limit: 10, BBox: &bbox}, 2, []int64{1, 2}},
		{"filter", data.Query{Limit: 10, Filter: map[string]string{"category": "fire"}}, 2, []int64{1, 3}},
		{"bbox and filter", data.Query{Limit: 10, BBox: &bbox, Filter: map[string]string{"category": "fire", "status": "reported"}}, 1, []int64{1}},
		{"severity", data.Query{Limit: 10, Filter: map[string]string{"severity": "3"}}, 1, []int64{3}},
		{"none", data.Query{Limit: 10, Filter: map[string]string{"category": "water"}}, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.Items(ctx, data.LayerHazards, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var fids []int64
			for _, f := range page.Features {
				fids = append(fids, f.FID)
			}
			if page.Matched != tc.matched || !equal(fids, tc.fids) {
				t.Errorf("matched %d fids %v, want %d %v", page.Matched, fids, tc.matched, tc.fids)
			}
		})
	}
	if _, err := s.Items(ctx, data.LayerHazards, data.Query{Filter: map[string]string{"colour": "red"}}); data.ErrorCode(err) != data.EINVALID {
		t.Errorf("unknown filter: %v, want EINVALID", err)
	}
	if _, err := s.Item(ctx, data.LayerHazards, 99); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("Item(99): %v, want ENOTFOUND", err)
	}
	f, err := s.Item(ctx, data.LayerHazards, 2)
	if err != nil || f.Properties["category"] != "traffic" || f.Properties["severity"] != int64(1) {
		t.Errorf("Item(2) = %+v, %v", f, err)
	}
}

// A polygon that surrounds the bbox intersects it, though none of its
// vertices is inside.
func TestItemsBBoxInsidePolygon(t *testing.T) {
	s, _ := open(t)
	fill(t, s)
	in := orb.Bound{Min: orb.Point{9.54, 47.14}, Max: orb.Point{9.56, 47.16}}
	out := orb.Bound{Min: orb.Point{9.7, 47.14}, Max: orb.Point{9.8, 47.16}}
	for _, tc := range []struct {
		b    orb.Bound
		want int
	}{{in, 1}, {out, 0}} {
		page, err := s.Items(context.Background(), data.LayerAreas, data.Query{BBox: &tc.b, Limit: 10})
		if err != nil || page.Matched != tc.want {
			t.Errorf("bbox %v: matched %d, %v; want %d", tc.b, page.Matched, err, tc.want)
		}
	}
}

func TestTxRejects(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	fill(t, s)
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"duplicate", second(tx.AddHousehold(ctx, data.Household{ID: "h1", Point: orb.Point{9.5, 47.1}, Households: 1})), data.ECONFLICT, `duplicate id "h1"`},
		{"households 0", second(tx.AddHousehold(ctx, data.Household{ID: "h9", Point: orb.Point{9.5, 47.1}})), data.EINVALID, "households must be at least 1"},
		{"latitude", second(tx.AddHousehold(ctx, data.Household{ID: "h9", Point: orb.Point{9.5, 97.1}, Households: 1})), data.EINVALID, "latitude out of range"},
		{"category", second(tx.AddHazard(ctx, data.Hazard{ID: "z9", Point: orb.Point{9.5, 47.1}, Category: "UFO!", Severity: 1, Status: "reported", ReportedAt: time.Now()})), data.EINVALID, `category "UFO!" is not a category code`},
		{"unclosed", second(tx.AddArea(ctx, data.Area{Code: "B", Level: 1, Geometry: orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}}})), data.EINVALID, "not closed"},
		{"publish missing", tx.PublishPlan(ctx, 42), data.ENOTFOUND, "no plan 42"},
	}
	for _, tc := range tests {
		if data.ErrorCode(tc.err) != tc.code || !strings.Contains(data.ErrorMessage(tc.err), tc.msg) {
			t.Errorf("%s: got %v (%s), want %s containing %q", tc.name, tc.err, data.ErrorCode(tc.err), tc.code, tc.msg)
		}
	}
	// The rejected rows did not spoil the transaction.
	if _, err := tx.AddHousehold(ctx, data.Household{ID: "h3", Point: orb.Point{9.5, 47.1}, Households: 1}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, data.LayerHouseholds); n != 3 {
		t.Errorf("households = %d, want 3", n)
	}
}

func second(_ int64, err error) error { return err }

// A rolled-back import leaves nothing behind, and readers never see half of it.
func TestRollback(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	fill(t, s)
	tx, _ := s.Begin(ctx)
	for i := range 100 {
		if _, err := tx.AddHousehold(ctx, data.Household{ID: "x" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Point: orb.Point{9.5, 47.1}, Households: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Clear(ctx, data.LayerHazards); err != nil {
		t.Fatal(err)
	}
	// A reader during the write sees the committed state.
	if n, err := s.Count(ctx, data.LayerHouseholds); err != nil || n != 2 {
		t.Errorf("households during write = %d, %v; want 2", n, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, data.LayerHouseholds); n != 2 {
		t.Errorf("households after rollback = %d, want 2", n)
	}
	if n, _ := s.Count(ctx, data.LayerHazards); n != 3 {
		t.Errorf("hazards after rollback = %d, want 3", n)
	}
}

func TestReopenAndRefuse(t *testing.T) {
	ctx := context.Background()
	s, path := open(t)
	fill(t, s)
	s.Close()
	s2, err := gpkg.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n, _ := s2.Count(ctx, data.LayerHazards); n != 3 {
		t.Errorf("hazards after reopen = %d", n)
	}
	other := filepath.Join(t.TempDir(), "not.gpkg")
	os.WriteFile(other, []byte("hello, this is not sqlite at all, not even close......................................................"), 0o644)
	if _, err := gpkg.Open(ctx, other); err == nil || !strings.Contains(err.Error(), "not.gpkg") {
		t.Errorf("Open(text file) = %v, want an error naming the file", err)
	}
}

// TestOgrinfo checks the file with GDAL, a reader no one here wrote: every
// layer listed with its geometry type and feature count, and the R-tree found.
func TestOgrinfo(t *testing.T) {
	ogrinfo, err := exec.LookPath("ogrinfo")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ogrinfo not found; scripts/deps.sh installs gdal-bin")
		}
		t.Skip("ogrinfo not found: run scripts/deps.sh (Debian gdal-bin)")
	}
	s, path := open(t)
	fill(t, s)
	tx, _ := s.Begin(context.Background())
	tx.PublishPlan(context.Background(), 1)
	if err := tx.AddWorker(context.Background(), data.Worker{ID: "w1", Name: "王芳", Role: "grid_worker", GridCodes: []string{"A001"}}); err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	s.Close()
	out, err := exec.Command(ogrinfo, "-al", "-so", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo: %v\n%s", err, out)
	}
	text := string(out)
	if strings.Contains(text, "ERROR") || strings.Contains(text, "Warning") {
		t.Errorf("ogrinfo complained:\n%s", text)
	}
	want := map[string][2]string{
		"areas":      {"Multi Polygon", "1"},
		"grids":      {"Multi Polygon", "1"},
		"hazards":    {"Point", "3"},
		"cameras":    {"Point", "1"},
		"households": {"Point", "2"},
		"plans":      {"None", "1"},
		"workers":    {"None", "1"},
	}
	for layer, w := range want {
		re := regexp.MustCompile(`(?s)Layer name: ` + layer + `\n.*?Geometry: ([^\n]+)\nFeature Count: (\d+)`)
		m := re.FindStringSubmatch(text)
		if m == nil {
			t.Errorf("layer %s not listed by ogrinfo:\n%s", layer, text)
			continue
		}
		if m[1] != w[0] || m[2] != w[1] {
			t.Errorf("layer %s: geometry %q count %s, want %q %s", layer, m[1], m[2], w[0], w[1])
		}
	}
	// The events' fields, with GDAL's types (times nullable).
	for _, field := range []string{"note: String", "assignee: String", "resp_code: String", "resp_level: Integer", "due_at: DateTime",
		"resolved_at: DateTime", "closed_at: DateTime", "grid_codes: String", "phone: String"} {
		if !strings.Contains(text, field) {
			t.Errorf("ogrinfo lists no field %q:\n%s", field, text)
		}
	}
	// Our bookkeeping is not a layer.
	for _, table := range []string{"wangge_event_history", "wangge_changes", "wangge_keys"} {
		if strings.Contains(text, "Layer name: "+table) {
			t.Errorf("ogrinfo lists %s as a layer", table)
		}
	}
	// The spatial index is used: a spatial filter answers from it.
	out, err = exec.Command(ogrinfo, "-q", path, "-sql", "SELECT HasSpatialIndex('hazards', 'geom')").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "HasSpatialIndex (Integer) = 1") {
		t.Errorf("HasSpatialIndex: %v\n%s", err, out)
	}
	// Every R-tree trigger is in place after our writes (7 tables × 6), so
	// QGIS edits keep the index right; and the index holds every row.
	out, err = exec.Command(ogrinfo, "-q", path, "-sql", "SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree_%'").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "n (Integer) = 42") {
		t.Errorf("R-tree triggers: %v\n%s", err, out)
	}
	out, err = exec.Command(ogrinfo, "-q", path, "-sql", "SELECT (SELECT count(*) FROM rtree_hazards_geom) AS n").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "n (Integer) = 3") {
		t.Errorf("R-tree rows: %v\n%s", err, out)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestUpdateDelete(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	fill(t, s)
	tx, _ := s.Begin(ctx)
	h, err := s.Hazard(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.Status, h.Point = "resolved", orb.Point{9.9, 47.9}
	if err := tx.UpdateHazard(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(ctx, data.LayerCameras, 1); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"update missing": tx.UpdateHazard(ctx, data.Hazard{FID: 99, ID: "q", Point: h.Point, Category: "fire", Severity: 1, Status: "reported", ReportedAt: h.ReportedAt}),
		"delete missing": tx.Delete(ctx, data.LayerHazards, 99),
	} {
		if data.ErrorCode(err) != data.ENOTFOUND {
			t.Errorf("%s: %v, want ENOTFOUND", name, err)
		}
	}
	h2 := h
	h2.ID = "z2" // taken by hazard 2
	if err := tx.UpdateHazard(ctx, h2); data.ErrorCode(err) != data.ECONFLICT {
		t.Errorf("update to a taken id: %v, want ECONFLICT", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Hazard(ctx, 1)
	if got.Status != "resolved" || got.Point != (orb.Point{9.9, 47.9}) {
		t.Errorf("after update: %+v", got)
	}
	// The R-tree moved with the point: the old box is empty, the new one finds it.
	old := orb.Bound{Min: orb.Point{9.51, 47.11}, Max: orb.Point{9.53, 47.13}}
	moved := orb.Bound{Min: orb.Point{9.89, 47.89}, Max: orb.Point{9.91, 47.91}}
	for _, tc := range []struct {
		b    orb.Bound
		want int
	}{{old, 0}, {moved, 1}} {
		page, _ := s.Items(ctx, data.LayerHazards, data.Query{BBox: &tc.b, Limit: 5})
		if page.Matched != tc.want {
			t.Errorf("bbox %v: %d, want %d", tc.b, page.Matched, tc.want)
		}
	}
	if _, err := s.Camera(ctx, 1); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("deleted camera: %v", err)
	}
}
