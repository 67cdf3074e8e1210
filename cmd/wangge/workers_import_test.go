package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
)

// execWangge runs the built binary to its end and returns its exit status
// and output; a binary that cannot start fails the test.
func execWangge(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatalf("wangge %s: %v", strings.Join(args, " "), err)
	return 0, "", ""
}

// rosterOf returns the ids on the roster of the GeoPackage db.
func rosterOf(t *testing.T, db string) []string {
	t.Helper()
	s, err := gpkg.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ws, err := s.Workers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, w := range ws {
		ids = append(ids, w.ID)
	}
	return ids
}

// TestImportWorkersAndKeys runs the binary as an operator would: import a
// roster (a bad one first), then tie a key to a worker on it.
func TestImportWorkersAndKeys(t *testing.T) {
	bin := buildWangge(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "w.gpkg")
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const head = "id,name,role,grid_codes,phone\n"

	t.Run("a bad roster is reported row by row and nothing is written", func(t *testing.T) {
		bad := file("bad.csv", "\uFEFF"+head+
			"w1,示例·王芳,full_time,G1,\n"+
			"w2,,full_time,G2,\n"+
			"w3,c,boss,G3,\n"+
			"w1,d,full_time,G4,\n"+
			"w5,e,part_time,G5;;G6,+86 100 0000 0005\n")
		code, out, errs := execWangge(t, bin, "import", "workers", bad, "--db", db)
		if code != 1 || !strings.Contains(out, "read 5, imported 0, rejected 4") {
			t.Errorf("exit %d, stdout %q; want 1 and the counts", code, out)
		}
		for _, want := range []string{
			bad + ":3: name is empty",
			bad + `:4: unknown worker role "boss" (known: grid_chief, full_time, part_time)`,
			bad + `:5: id "w1" appears twice in the file (first at line 2)`,
			bad + `:6: grid_codes "G5;;G6": code 2 is empty`,
			"4 bad records, nothing imported (use --skip-invalid to import the good ones)",
		} {
			if !strings.Contains(errs, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errs)
			}
		}
		if ids := rosterOf(t, db); len(ids) != 0 {
			t.Errorf("roster %v after a failed import, want none", ids)
		}
	})

	t.Run("a missing column stops the import", func(t *testing.T) {
		missing := file("missing.csv", "id,name,grid_codes\nw1,a,G1\n")
		code, _, errs := execWangge(t, bin, "import", "workers", missing, "--db", db)
		if code != 1 || !strings.Contains(errs, missing+":1: missing required column(s) role") {
			t.Errorf("exit %d, stderr %q", code, errs)
		}
	})

	t.Run("a taxonomy that cannot be read is a usage error", func(t *testing.T) {
		code, _, errs := execWangge(t, bin, "import", "workers", "--taxonomy", filepath.Join(dir, "none.json"), file("x.csv", head), "--db", db)
		if code != 2 || !strings.Contains(errs, "--taxonomy") {
			t.Errorf("exit %d, stderr %q; want 2 naming --taxonomy", code, errs)
		}
	})

	good := file("good.csv", head+"w1,示例·王芳,grid_chief,LI-01,+86 100 0000 0001\nw2,示例·李强,full_time,LI-01001;LI-01002,\n")
	t.Run("a good roster is imported and audited", func(t *testing.T) {
		code, out, errs := execWangge(t, bin, "import", "workers", good, "--db", db)
		if code != 0 || !strings.Contains(out, "read 2, imported 2, rejected 0") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
		if ids := rosterOf(t, db); !slices.Equal(ids, []string{"w1", "w2"}) {
			t.Errorf("roster %v, want w1, w2", ids)
		}
		// Again: both ids are on the roster now, unless it is replaced.
		if code, _, errs := execWangge(t, bin, "import", "workers", good, "--db", db); code != 1 || !strings.Contains(errs, `good.csv:2: id "w1" is already on the roster`) {
			t.Errorf("second import: exit %d, stderr %q", code, errs)
		}
		other := file("other.csv", head+"w3,示例·张伟,part_time,LI-02,\n")
		if code, _, errs := execWangge(t, bin, "import", "workers", other, "--replace", "--db", db); code != 0 {
			t.Errorf("--replace: exit %d, stderr %q", code, errs)
		}
		if ids := rosterOf(t, db); !slices.Equal(ids, []string{"w3"}) {
			t.Errorf("roster %v after --replace, want w3 alone", ids)
		}
		if code, _, errs := execWangge(t, bin, "import", "workers", good, "--replace", "--db", db); code != 0 {
			t.Errorf("--replace back: exit %d, stderr %q", code, errs)
		}
	})

	t.Run("a key tied to a worker", func(t *testing.T) {
		code, out, errs := execWangge(t, bin, "keys", "create", "--role", "field", "--name", "tablet", "--worker", "nobody", "--db", db)
		if code != 1 || out != "" || !strings.Contains(errs, `no worker "nobody" on the roster`) {
			t.Errorf("unknown worker: exit %d, stdout %q, stderr %q; want 1, no key, and the reason", code, out, errs)
		}
		code, out, errs = execWangge(t, bin, "keys", "create", "--role", "field", "--name", "tablet", "--worker", "w2", "--db", db)
		id, _, ok := data.ParseToken(strings.TrimSpace(out))
		if code != 0 || !ok || !strings.Contains(errs, "for worker w2") {
			t.Fatalf("known worker: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		code, out, _ = execWangge(t, bin, "keys", "list", "--db", db)
		lines := strings.Split(out, "\n")
		if code != 0 || len(lines) < 2 || !strings.Contains(lines[0], "WORKER") {
			t.Fatalf("list: exit %d\n%s", code, out)
		}
		var row []string
		for _, l := range lines[1:] {
			if f := strings.Fields(l); len(f) > 0 && f[0] == id {
				row = f
			}
		}
		if len(row) < 4 || row[1] != "field" || row[2] != "tablet" || row[3] != "w2" {
			t.Errorf("list: the key's row is %q, want id, field, tablet, w2\n%s", row, out)
		}
	})

	t.Run("the import's audit entries", func(t *testing.T) {
		s, err := gpkg.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		entries, n, err := s.AuditLog(context.Background(), data.AuditQuery{Action: "import.workers"})
		if err != nil || n != 3 || !strings.HasPrefix(entries[0].Actor, "cli") || entries[0].Target != "workers" {
			t.Errorf("audit: %d entries %+v %v; want the three imports that committed, by the CLI", n, entries, err)
		}
	})
}

// TestLoadDemoRoster loads the demo as serve --demo does and checks the
// roster it writes against the published plan: a worker for every grid,
// a chief for every leaf area, all valid, in one audited transaction.
func TestLoadDemoRoster(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "demo.gpkg")
	s, err := gpkg.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tax := data.DefaultTaxonomy()
	if err := loadDemo(ctx, s, tax, log); err != nil {
		t.Fatal(err)
	}
	plan, err := s.PublishedPlan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	areas, err := s.Areas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	workers, err := s.Workers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	served := map[string][]data.Worker{}
	for _, w := range workers {
		if err := tax.CheckWorker(w); err != nil {
			t.Errorf("%s: %v", w.ID, err)
		}
		if !strings.HasPrefix(w.Name, demo.NamePrefix) {
			t.Errorf("%s: name %q is not marked as invented", w.ID, w.Name)
		}
		for _, c := range w.GridCodes {
			served[c] = append(served[c], w)
		}
	}
	for _, g := range plan.Grids {
		if ws := served[g.Code]; len(ws) != 1 || ws[0].Role != demo.RoleWorker {
			t.Errorf("grid %s is served by %+v, want one %s worker", g.Code, ws, demo.RoleWorker)
		}
	}
	parents := map[string]bool{}
	for _, a := range areas {
		parents[a.ParentCode] = true
	}
	leaves := 0
	for _, a := range areas {
		if parents[a.Code] {
			continue
		}
		leaves++
		if ws := served[a.Code]; len(ws) != 1 || !tax.IsChief(ws[0].Role) {
			t.Errorf("leaf area %s (%s) is served by %+v, want one chief", a.Code, a.Name, ws)
		}
	}
	if leaves != 11 || len(workers) != len(plan.Grids)+leaves {
		t.Errorf("%d workers for %d grids and %d leaf areas, want one each", len(workers), len(plan.Grids), leaves)
	}
	if want := demo.Roster(areas, plan.Grids); len(want) != len(workers) {
		t.Errorf("stored %d workers, the plan's roster has %d", len(workers), len(want))
	}
	entries, n, err := s.AuditLog(ctx, data.AuditQuery{Action: "import.workers"})
	if err != nil || n != 1 || entries[0].Target != "workers" || strings.Contains(string(entries[0].After), "+86") {
		t.Errorf("audit: %d entries %+v %v; want one, without phone numbers", n, entries, err)
	}

	// A second start finds the store filled and leaves it as it is.
	if err := loadDemo(ctx, s, tax, log); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Workers(ctx); len(again) != len(workers) {
		t.Errorf("a second load changed the roster: %d workers, then %d", len(workers), len(again))
	}

	// A taxonomy without the demo's roles is refused before anything is
	// written.
	other, err := data.ParseTaxonomy(strings.NewReader(`{"kinds":[{"code":"hazard","zh":"隐患","en":"Hazard"}],
		"categories":[{"code":"traffic","kind":"hazard","zh":"交通","en":"Traffic","deadline_hours":72,"severity":2}],
		"worker_roles":[{"code":"volunteer","zh":"志愿者","en":"Volunteer"}]}`), "t.json")
	if err != nil {
		t.Fatal(err)
	}
	empty, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "empty.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if err := loadDemo(ctx, empty, other, log); err == nil || !strings.Contains(err.Error(), "full_time") {
		t.Errorf("loadDemo with a taxonomy without the demo's roles: %v", err)
	}
	if n, _ := empty.Count(ctx, data.LayerAreas); n != 0 {
		t.Errorf("%d areas written before the refusal, want none", n)
	}
}
