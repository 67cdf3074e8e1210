package gpkg_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
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
