package gpkg

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
)

// Reads of the feed never scan it nor sort it: by seq they walk the
// primary key, by layer the (layer, seq) index, one arm a layer, each
// stopping at the limit. (A timing test could not tell: SQLite scans 300,000 rows in
// milliseconds; it is the million-row feeds behind a big import that hurt.)
func TestChangesQueryPlans(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	for _, q := range []data.ChangeQuery{
		{After: 10, Limit: 100},
		{After: 10, UpTo: 20, Limit: 100},
		{Layers: []string{"hazards"}, After: 10, Limit: 100},
		{Layers: []string{"hazards", "keys", "plans"}, After: 10, UpTo: 1000, Limit: 100},
	} {
		query, args := changesQuery(q)
		rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		want := "SEARCH wangge_changes USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"
		if len(q.Layers) > 0 {
			want = "SEARCH wangge_changes USING INDEX wangge_changes_layer (layer=? AND seq>? AND seq<?)"
		}
		// The merge of the arms may sort what an arm returns (at most
		// Limit rows), never the feed.
		sortsFeed := false
		for i, line := range plan {
			if strings.Contains(line, "TEMP B-TREE") && (i == 0 || !strings.HasPrefix(plan[i-1], "SCAN (subquery-")) {
				sortsFeed = true
			}
		}
		if strings.Count(text, want) != max(1, len(q.Layers)) || strings.Contains(text, "SCAN wangge_changes") || sortsFeed {
			t.Errorf("%+v: query plan\n%s\nwant %q once a layer, no scan, no sort of the feed", q, text, want)
		}
	}
}

// openTemp opens a new GeoPackage in the test's directory, closed when the
// test ends.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "test.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PruneChanges deletes in batches of pruneBatch and still keeps exactly
// the newest entries when there are several batches to delete.
func TestPruneChangesBatches(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	const n = 2*pruneBatch + 1234
	if _, err := s.db.ExecContext(ctx, `WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?)
		INSERT INTO wangge_changes (layer, fid, op, at) SELECT 'hazards', x, 'put', '2026-12-06T00:00:00Z' FROM i`, n); err != nil {
		t.Fatal(err)
	}
	first, last, err := s.FeedBounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const keep = 1000
	got, err := s.PruneChanges(ctx, keep)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi, err := s.FeedBounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := int(last-first+1) - keep; got != want || hi != last || lo != last-keep+1 {
		t.Errorf("pruned %d of %d–%d, now %d–%d; want %d pruned, %d–%d left", got, first, last, lo, hi, want, last-keep+1, last)
	}
}
