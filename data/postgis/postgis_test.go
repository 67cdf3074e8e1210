package postgis_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/postgis"
	"github.com/wangge/wangge/data/storetest"
)

func testURL(t testing.TB) string                     { return storetest.PostgresURL(t) }
func freshSchema(t testing.TB) string                 { return storetest.PostgresSchema(t) }
func withParam(t testing.TB, raw, k, v string) string { return storetest.WithParam(t, raw, k, v) }

func open(t testing.TB) *postgis.Store {
	t.Helper()
	s, err := postgis.Open(context.Background(), freshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract runs the store contract shared with data/gpkg.
func TestContract(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) data.Store { return open(t) })
}

// TestMigrate: replicas starting together migrate once between them, a
// second run applies nothing, and a database from a newer wangge is refused.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	errs := make(chan error, 4)
	applied := make(chan int, 4)
	for range 4 {
		go func() {
			names, err := postgis.Migrate(ctx, u)
			applied <- len(names)
			errs <- err
		}()
	}
	total := 0
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		total += <-applied
	}
	if total != postgis.SchemaVersion() {
		t.Errorf("%d migrations applied by 4 concurrent runs, want %d once", total, postgis.SchemaVersion())
	}
	if names, err := postgis.Migrate(ctx, u); err != nil || len(names) != 0 {
		t.Errorf("second run applied %v, %v", names, err)
	}
	s, err := postgis.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO wangge_migrations (version, name) VALUES (9999, '9999_future')`); err != nil {
		t.Fatal(err)
	}
	_, err = postgis.Open(ctx, u)
	if data.ErrorCode(err) != data.EINVALID || !strings.Contains(data.ErrorMessage(err), "newer") {
		t.Errorf("Open on a newer schema: %v, want EINVALID saying it is newer", err)
	}
	if _, err := postgis.Open(ctx, "postgres://[::1"); data.ErrorCode(err) != data.EINVALID {
		t.Errorf("Open on a malformed URL: %v, want EINVALID", err)
	}
}
