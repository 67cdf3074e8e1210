package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
)

// TestGridgenStreets imports the demo's Liechtenstein with the extract's
// streets and units as a user would, and draws grids with and without them: the
// report measures the boundary along streets both ways, and the plan
// drawn to the streets has more of it; units are listed by grid.
func TestGridgenStreets(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "liechtenstein")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no ../shared/data (see /work/shared/data/README.md)")
	}
	db := filepath.Join(t.TempDir(), "w.gpkg")
	demo := filepath.Join("..", "..", "data", "demo")
	for _, c := range []struct{ layer, file, want string }{
		{"areas", filepath.Join(demo, "boundaries.geojson"), "rejected 0"},
		{"households", filepath.Join(demo, "households.csv"), "rejected 0"},
		{"hazards", filepath.Join(demo, "hazards.csv"), "rejected 0"},
		{"streets", filepath.Join(dir, "streets.geojson"), "read 2757, imported 2757, rejected 0"},
		{"units", filepath.Join(dir, "units.geojson"), "read 266, imported 266, rejected 0"},
	} {
		code, out, errs := runCLI(t, "import", c.layer, c.file, "--db", db)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Fatalf("import %s: exit %d, %q %q", c.layer, code, out, errs)
		}
	}
	if n := count(t, db, data.LayerStreets); n != 2757 {
		t.Errorf("%d streets stored", n)
	}
	share := map[bool]float64{}
	for _, no := range []bool{true, false} {
		rep := filepath.Join(t.TempDir(), "report.json")
		args := []string{"gridgen", "--db", db, "--target", "300", "--report", rep}
		if no {
			args = append(args, "--no-streets")
		}
		code, out, errs := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "of boundary between grids within 20 m of a street") || !strings.Contains(out, "units: 265 in grids") {
			t.Fatalf("gridgen %v: exit %d, %q %q", args, code, out, errs)
		}
		b, err := os.ReadFile(rep)
		if err != nil {
			t.Fatal(err)
		}
		var r data.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if r.InnerBoundaryM <= 0 || r.Units == 0 || len(r.UnitsByGrid) == 0 {
			t.Errorf("no-streets %v: report without streets or units: %+v", no, r)
		}
		share[no] = r.StreetSharePct
		t.Logf("no-streets %v: %.1f%% of %.0f m along streets, %d units, %d split", no, r.StreetSharePct, r.InnerBoundaryM, r.Units, len(r.UnitsSplit))
	}
	if share[false] <= share[true] {
		t.Errorf("street share %.1f%% following streets, %.1f%% with --no-streets", share[false], share[true])
	}

	code, out, errs := runCLI(t, "gridgen", "--db", db, "--target", "300", "--weight", "workload", "--workload", "5,20,30")
	if code != 0 || !strings.Contains(out, "workload per grid") {
		t.Errorf("gridgen --weight workload: exit %d, %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, "gridgen", "--db", db, "--target", "300", "--weight", "hours"); code == 0 || !strings.Contains(errs, "weight must be households or workload") {
		t.Errorf("gridgen --weight hours: exit %d, %q", code, errs)
	}
}
