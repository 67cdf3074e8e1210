package gpkg

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// downgrade turns the file of s into one written by schema version to: 2
// has no change feed, 1 neither keys nor the audit log.
func downgrade(t *testing.T, s *Store, to int) {
	t.Helper()
	ctx := context.Background()
	var stmts []string
	for _, f := range feedTables {
		for _, op := range []string{"insert", "update", "delete"} {
			stmts = append(stmts, fmt.Sprintf(`DROP TRIGGER wangge_changes_%s_%s`, f.table, op))
		}
	}
	stmts = append(stmts, `DROP TABLE wangge_changes`)
	if to < 2 {
		stmts = append(stmts, `DROP TABLE wangge_keys`, `DROP TABLE wangge_audit`)
	}
	stmts = append(stmts, fmt.Sprintf(`UPDATE wangge_meta SET value = '%d' WHERE key = 'schema_version'`, to))
	for _, st := range stmts {
		if _, err := s.db.ExecContext(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
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

// A file written by schema 1 (before keys and the audit log) opens, and is
// brought up to date in place.
func TestMigrateFromSchema1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.gpkg")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
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
	if v, n := schemaOf(t, s); v != "3" || n != 21 {
		t.Errorf("schema version %s with %d feed triggers, want 3 with 21", v, n)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE wangge_meta SET value = '4' WHERE key = 'schema_version'`); err != nil {
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
	downgrade(t, s, 2)
	// Data written by the old schema.
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	old, err := tx.AddHazard(ctx, data.Hazard{ID: "old", Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 1, Status: "open", ReportedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
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
	if v, n := schemaOf(t, s); v != "3" || n != 21 {
		t.Fatalf("schema version %s with %d feed triggers, want 3 with 21", v, n)
	}
	if first, last, err := s.FeedBounds(ctx); first != 0 || last != 0 || err != nil {
		t.Errorf("FeedBounds of a migrated file = %d, %d, %v; want 0, 0", first, last, err)
	}

	tx, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, err := tx.HazardForUpdate(ctx, old)
	if err != nil {
		t.Fatal(err)
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
	cs, err := s.Changes(ctx, data.ChangeQuery{Limit: 1000})
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
