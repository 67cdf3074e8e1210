package gpkg

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// downgrade turns the file of s into one written by schema version to: 3
// has no events (the hazards' workflow columns, workers, the history, the
// key's worker), 2 no change feed either, 1 neither keys nor the audit log.
// Hazards the current schema calls "reported" become "open", as the old
// schemas called them.
func downgrade(t *testing.T, s *Store, to int) {
	t.Helper()
	ctx := context.Background()
	stmts := []string{`UPDATE hazards SET status = 'open' WHERE status = 'reported'`}
	for _, f := range feedTables {
		if f.since <= to {
			continue
		}
		for _, op := range []string{"insert", "update", "delete"} {
			stmts = append(stmts, fmt.Sprintf(`DROP TRIGGER wangge_changes_%s_%s`, f.table, op))
		}
	}
	if to < 6 {
		for _, l := range streetsLayerDefs {
			stmts = append(stmts, `DROP TABLE `+l.table, `DROP TABLE rtree_`+l.table+`_geom`,
				`DELETE FROM gpkg_extensions WHERE table_name = '`+l.table+`'`,
				`DELETE FROM gpkg_geometry_columns WHERE table_name = '`+l.table+`'`,
				`DELETE FROM gpkg_contents WHERE table_name = '`+l.table+`'`)
		}
	}
	stmts = append(stmts, `DELETE FROM gpkg_contents WHERE table_name = 'workers'`, `DROP TABLE workers`,
		`DROP TABLE wangge_event_history`, `DROP INDEX hazards_assignee`, `ALTER TABLE wangge_keys DROP COLUMN worker`)
	for _, c := range hazardColumns4 {
		name, _, _ := strings.Cut(c, " ")
		stmts = append(stmts, `ALTER TABLE hazards DROP COLUMN `+name)
	}
	if to < 3 {
		stmts = append(stmts, `DROP TABLE wangge_changes`)
	}
	if to < 2 {
		stmts = append(stmts, `DROP TABLE wangge_keys`, `DROP TABLE wangge_audit`)
	}
	if to >= 3 {
		// The downgrade's own changes are not the old file's history.
		stmts = append(stmts, `DELETE FROM wangge_changes`)
	}
	stmts = append(stmts, fmt.Sprintf(`UPDATE wangge_meta SET value = '%d' WHERE key = 'schema_version'`, to))
	for _, st := range stmts {
		if _, err := s.db.ExecContext(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
}

// DowngradeFile turns the file at path into one written by schema version
// to (see downgrade), for the tests of package gpkg_test.
func DowngradeFile(t *testing.T, path string, to int) {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	downgrade(t, s, to)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func schemaOf(t *testing.T, s *Store) (version string, feedTriggers int) {
	t.Helper()
	ctx := context.Background()
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM wangge_meta WHERE key = 'schema_version'`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'wangge_changes_%'`).Scan(&feedTriggers); err != nil {
		t.Fatal(err)
	}
	return version, feedTriggers
}

// schemaDump lists every table's columns (name, type, not null, default,
// key), every index with its columns, every trigger and the
// gpkg_contents rows: what two files must share to have the same schema.
func schemaDump(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	query := func(q string, args ...any) [][]string {
		t.Helper()
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var res [][]string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			row := make([]string, len(vals))
			for i, v := range vals {
				row[i] = fmt.Sprint(v)
			}
			res = append(res, row)
		}
		return res
	}
	for _, obj := range query(`SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`) {
		out = append(out, strings.Join(obj, " "))
		switch obj[0] {
		case "table":
			for _, c := range query(`SELECT cid, name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`, obj[1]) {
				out = append(out, "  "+strings.Join(c, " "))
			}
		case "index":
			for _, c := range query(`SELECT seqno, name FROM pragma_index_info(?)`, obj[1]) {
				out = append(out, "  "+strings.Join(c, " "))
			}
		}
	}
	for _, r := range query(`SELECT table_name, data_type, identifier, srs_id FROM gpkg_contents ORDER BY table_name`) {
		out = append(out, "contents "+strings.Join(r, " "))
	}
	return out
}

// A file written by schema 1 (before keys and the audit log) opens, and is
// brought up to date in place, with the schema of a new file.
func TestMigrateFromSchema1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.gpkg")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	want := schemaDump(t, s)
	downgrade(t, s, 1)
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Keys(ctx); err != nil {
		t.Errorf("keys after migration: %v", err)
	}
	if v, n := schemaOf(t, s); v != fmt.Sprint(schemaVersion) || n != 30 {
		t.Errorf("schema version %s with %d feed triggers, want %d with 30", v, n, schemaVersion)
	}
	if got := schemaDump(t, s); !slices.Equal(got, want) {
		t.Errorf("schema of a file migrated from version 1:\n%s\nwant that of a new file:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE wangge_meta SET value = ? WHERE key = 'schema_version'`, fmt.Sprint(schemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, path); err == nil {
		t.Error("a file of a newer schema opened")
	}
}

// A file written by schema 2 (before the change feed) gets the feed when
// opened, and from then on every write is recorded: wangge's, big and
// small, and those made with SQL alone.
func TestMigrateFromSchema2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.gpkg")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Data written by the old schema.
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	old, err := tx.AddHazard(ctx, data.Hazard{ID: "old", Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 1, Status: data.StatusReported, ReportedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	downgrade(t, s, 2)
	s.Close()

	// Two processes opening the old file at once both get a good file.
	var wg sync.WaitGroup
	stores := make([]*Store, 2)
	errs := make([]error, 2)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, path)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d of a schema-2 file: %v", i, err)
		}
	}
	stores[1].Close()
	s = stores[0]
	defer s.Close()
	if v, n := schemaOf(t, s); v != fmt.Sprint(schemaVersion) || n != 30 {
		t.Fatalf("schema version %s with %d feed triggers, want %d with 30", v, n, schemaVersion)
	}
	// The migration itself changed the open hazard, once.
	cs, err := s.Changes(ctx, data.ChangeQuery{Limit: 1000})
	if err != nil || len(cs) != 1 || cs[0].Layer != "hazards" || cs[0].FID != old || cs[0].Op != data.OpUpdate {
		t.Fatalf("feed of a migrated file = %+v, %v; want the update of hazard %d from open to reported", cs, err, old)
	}
	migrated := cs[0].Seq

	tx, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, err := tx.HazardForUpdate(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != data.StatusReported {
		t.Errorf("an open hazard of schema 2 is %q after migration, want reported", h.Status)
	}
	h.Status = "resolved"
	if err := tx.UpdateHazard(ctx, h); err != nil {
		t.Fatal(err)
	}
	var households []int64
	for i := range 100 {
		fid, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("h%d", i), Point: orb.Point{9.5, 47.1}, Households: 1})
		if err != nil {
			t.Fatal(err)
		}
		households = append(households, fid)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM hazards WHERE fid = ?`, old); err != nil {
		t.Fatal(err)
	}
	cs, err = s.Changes(ctx, data.ChangeQuery{After: migrated, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := []data.Change{{Layer: "hazards", FID: old, Op: data.OpUpdate}}
	for _, fid := range households {
		want = append(want, data.Change{Layer: "households", FID: fid, Op: data.OpInsert})
	}
	want = append(want, data.Change{Layer: "hazards", FID: old, Op: data.OpDelete})
	if len(cs) != len(want) {
		t.Fatalf("%d changes after migration, want %d: %+v", len(cs), len(want), cs)
	}
	for i, c := range cs {
		if c.Layer != want[i].Layer || c.FID != want[i].FID || c.Op != want[i].Op || (i > 0 && c.Seq <= cs[i-1].Seq) {
			t.Errorf("change %d: %+v, want %+v", i, c, want[i])
		}
	}
}

// A file written by schema 3 (before events) opens with its data kept:
// open hazards become reported, the other states keep their names, the
// new fields are empty; the roster and the history work at once, and the
// roster's changes are in the feed.
func TestMigrateFromSchema3(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.gpkg")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	want := schemaDump(t, s)
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fids := map[data.Status]int64{}
	for i, st := range []data.Status{data.StatusReported, data.StatusInProgress, data.StatusResolved} {
		fid, err := tx.AddHazard(ctx, data.Hazard{ID: fmt.Sprint("z", i), Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 1 + i, Status: st, ReportedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		fids[st] = fid
	}
	if err := tx.AddKey(ctx, data.Key{ID: "k1", Role: data.RoleField, Hash: []byte{1}, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	downgrade(t, s, 3)
	if v, n := schemaOf(t, s); v != "3" || n != 21 {
		t.Fatalf("downgraded file: schema version %s with %d feed triggers, want 3 with 21", v, n)
	}
	var open int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM hazards WHERE status = 'open'`).Scan(&open); err != nil || open != 1 {
		t.Fatalf("%d open hazards in the schema-3 file, %v; want 1", open, err)
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("open a schema-3 file: %v", err)
	}
	defer s.Close()
	if v, n := schemaOf(t, s); v != fmt.Sprint(schemaVersion) || n != 30 {
		t.Errorf("schema version %s with %d feed triggers, want %d with 30", v, n, schemaVersion)
	}
	if got := schemaDump(t, s); !slices.Equal(got, want) {
		t.Errorf("schema of a file migrated from version 3:\n%s\nwant that of a new file:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for st, fid := range fids {
		h, err := s.Hazard(ctx, fid)
		if err != nil {
			t.Fatal(err)
		}
		if h.Status != st || h.Note != "" || h.Assignee != "" || h.RespCode != "" || h.RespLevel != 0 ||
			!h.DueAt.IsZero() || !h.ResolvedAt.IsZero() || !h.ClosedAt.IsZero() || !h.ReportedAt.Equal(at) {
			t.Errorf("hazard %d after migration: %+v, want status %s and no workflow fields", fid, h, st)
		}
		if f, err := s.Item(ctx, data.LayerHazards, fid); err != nil || f.Properties["due_at"] != nil || f.Properties["note"] != "" {
			t.Errorf("feature %d after migration: %+v, %v", fid, f, err)
		}
	}
	if k, err := s.Key(ctx, "k1"); err != nil || k.Worker != "" || k.Role != data.RoleField {
		t.Errorf("key after migration: %+v, %v", k, err)
	}
	cs, err := s.Changes(ctx, data.ChangeQuery{Limit: 100})
	if err != nil || len(cs) != 1 || cs[0].FID != fids[data.StatusReported] || cs[0].Op != data.OpUpdate {
		t.Errorf("feed after migration = %+v, %v; want the one open hazard's update", cs, err)
	}
	last := cs[len(cs)-1].Seq

	tx, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.AddWorker(ctx, data.Worker{ID: "w1", Name: "王芳", Role: "grid_worker", GridCodes: []string{"A1001"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.AddEventStep(ctx, data.EventStep{FID: fids[data.StatusReported], At: at, Actor: "system", From: data.StatusReported, To: data.StatusAssigned, Assignee: "w1"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if ws, err := s.Workers(ctx); err != nil || len(ws) != 1 {
		t.Errorf("Workers after migration = %+v, %v", ws, err)
	}
	if steps, err := s.EventHistory(ctx, fids[data.StatusReported]); err != nil || len(steps) != 1 || steps[0].Assignee != "w1" {
		t.Errorf("EventHistory after migration = %+v, %v", steps, err)
	}
	if cs, err := s.Changes(ctx, data.ChangeQuery{After: last, Limit: 100}); err != nil || len(cs) != 1 || cs[0].Layer != data.FeedWorkers || cs[0].Op != data.OpInsert {
		t.Errorf("feed after adding a worker = %+v, %v", cs, err)
	}
}
