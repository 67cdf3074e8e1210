package gpkg_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
)

// A small write keeps the schema as it is (no R-tree trigger dropped and
// restored), so readers on other connections never see "database schema
// has changed"; a big one drops the trigger once and restores it. Either
// way every row has its R-tree entry.
func TestSmallWritesKeepTheSchema(t *testing.T) {
	s, path := open(t)
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx := context.Background()
	version := func() (v int) {
		t.Helper()
		if err := raw.QueryRow(`PRAGMA schema_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	add := func(n int, prefix string) {
		t.Helper()
		tx, err := s.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		for i := range n {
			h := data.Hazard{ID: fmt.Sprintf("%s%d", prefix, i), Point: orb.Point{9.5 + float64(i)*1e-4, 47.1}, Category: "fire", Severity: 1, Status: "reported", ReportedAt: time.Now()}
			if _, err := tx.AddHazard(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	indexed := func(want int) {
		t.Helper()
		var rows, entries, triggers int
		raw.QueryRow(`SELECT count(*) FROM hazards`).Scan(&rows)
		raw.QueryRow(`SELECT count(*) FROM rtree_hazards_geom`).Scan(&entries)
		raw.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'rtree_hazards_geom_insert'`).Scan(&triggers)
		if rows != want || entries != want || triggers != 1 {
			t.Fatalf("%d hazards, %d R-tree entries, %d insert triggers; want %d, %d, 1", rows, entries, triggers, want, want)
		}
	}
	before := version()
	add(1, "one")
	add(10, "ten")
	if after := version(); after != before {
		t.Errorf("small writes changed the schema version from %d to %d", before, after)
	}
	indexed(11)
	add(500, "bulk")
	indexed(511)
	add(1, "after")
	indexed(512)
}

// A write on a connection whose schema is out of date. The bulk path of
// another connection (here another store on the same file, as another
// process would be) drops and restores the R-tree insert trigger, which
// changes the schema; a connection that read the schema before and has not
// yet used the layer's R-tree then takes a write. SQLite (3.53.4) connects
// the R-tree virtual table while it compiles the trigger, and doing so on an
// outdated schema made the first INSERT fail with "no such table: hazards"
// (issue: the rare 500 of TestFileWhileServing in cmd/wangge, which the
// demo's imports set up on the server's second connection).
func TestWriteAfterAnotherConnectionChangedTheSchema(t *testing.T) {
	ctx := context.Background()
	s, path := open(t)
	bulk := func(st *gpkg.Store, prefix string) {
		t.Helper()
		tx, err := st.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		for i := range 100 { // past the bulk threshold: the trigger is dropped and restored
			h := data.Hazard{ID: fmt.Sprintf("%s%d", prefix, i), Point: orb.Point{9.5 + float64(i)*1e-4, 47.1}, Category: "fire", Severity: 1, Status: data.StatusReported, ReportedAt: time.Now()}
			if _, err := tx.AddHazard(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	bulk(s, "first")
	// The second store's one connection reads the schema as it opens.
	other, err := gpkg.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	bulk(s, "second") // a new schema version, unknown to other's connection
	for i := range 3 {
		tx, err := other.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h := data.Hazard{ID: fmt.Sprintf("api%d", i), Point: orb.Point{9.51, 47.11}, Category: "fire", Severity: 1, Status: data.StatusReported, ReportedAt: time.Now()}
		if _, err := tx.AddHazard(ctx, h); err != nil {
			tx.Rollback()
			t.Fatalf("write %d on a connection with an outdated schema: %v", i, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		bulk(s, fmt.Sprintf("more%d-", i)) // and again
	}
	if n, err := other.Count(ctx, data.LayerHazards); err != nil || n != 503 {
		t.Errorf("%d hazards (%v), want 503", n, err)
	}
}
