package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresURL returns the test database's URL from WANGGE_TEST_PG. When it
// is unset the test is skipped, or failed if CI is set: CI must run every
// PostgreSQL test.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("WANGGE_TEST_PG")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("WANGGE_TEST_PG is not set; `make test` sets it (scripts/testdb.sh starts PostgreSQL and creates a database)")
		}
		t.Skip("WANGGE_TEST_PG not set: run `make test`, or point it at a PostgreSQL database with PostGIS, e.g. WANGGE_TEST_PG=postgres://postgres@127.0.0.1:5432/test")
	}
	return u
}

// PostgresSchema creates an empty schema in the test database, dropped when
// the test ends, and returns a URL whose connections use it (PostGIS stays
// reachable in public). A schema is much cheaper than a database, so every
// test gets its own.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to WANGGE_TEST_PG: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
	})
	return WithParam(t, base, "search_path", schema+",public")
}

// WithParam returns raw with the query parameter k set to v.
func WithParam(t testing.TB, raw, k, v string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}
