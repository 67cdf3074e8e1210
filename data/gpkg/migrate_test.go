package gpkg

import (
	"context"
	"path/filepath"
	"testing"
)

// A file written by schema 1 (before keys and the audit log) opens, and is
// brought up to date in place.
func TestMigrateFromSchema1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.gpkg")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{`DROP TABLE wangge_keys`, `DROP TABLE wangge_audit`, `UPDATE wangge_meta SET value = '1' WHERE key = 'schema_version'`} {
		if _, err := s.db.ExecContext(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Keys(ctx); err != nil {
		t.Errorf("keys after migration: %v", err)
	}
	var v string
	s.db.QueryRowContext(ctx, `SELECT value FROM wangge_meta WHERE key = 'schema_version'`).Scan(&v)
	if v != "2" {
		t.Errorf("schema version %s, want 2", v)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE wangge_meta SET value = '3' WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, path); err == nil {
		t.Error("a file of a newer schema opened")
	}
}
