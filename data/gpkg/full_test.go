package gpkg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattn/go-sqlite3"
	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// A full database is the store being unavailable, never a duplicate id
// (issue "Hardening, round two", item 4): SQLite's page limit is set just
// above what the file holds, and an import runs into it.
func TestFullPageLimitIsUnavailable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "full.gpkg")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	held := importBatch(t, s, 100, 0) // a first batch that fits
	// max_page_count holds for one connection: keep the pool to one, so
	// the transaction below runs on the connection that has the limit.
	s.db.SetMaxOpenConns(1)
	var pages int
	if err := s.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+8)); err != nil {
		t.Fatal(err)
	}
	// One transaction of up to a million rows: it stops at the limit.
	_, err = importBatchErr(ctx, s, 1_000_000, held)
	checkFull(t, err)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkHolds(t, path, held)
}

// The same on a real filesystem that runs out of space: a 1 MiB tmpfs.
// Mounting needs root (or CAP_SYS_ADMIN); without it the test skips, unless
// CI is set, where it must run.
func TestFullDiskIsUnavailable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("cannot mount a 1 MiB tmpfs to fill (needs root or CAP_SYS_ADMIN): %v: %s", err, strings.TrimSpace(string(out)))
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	path := filepath.Join(dir, "full.gpkg")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Committed batches of 500 until the disk is full: the page cache
	// holds a batch, so the disk fills at a commit or at a cache spill.
	held, err := 0, error(nil)
	for i := 0; err == nil && i < 1000; i++ {
		held, err = importBatchErr(ctx, s, 500, held)
	}
	checkFull(t, err)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkHolds(t, path, held)
}

// importBatch imports n households after the first held and commits them.
func importBatch(t *testing.T, s *Store, n, held int) int {
	t.Helper()
	held, err := importBatchErr(context.Background(), s, n, held)
	if err != nil {
		t.Fatal(err)
	}
	return held
}

// importBatchErr adds households gen/held+1 … gen/held+n in one
// transaction and commits them; it returns how many the store holds after,
// and the first error, after which it rolls back.
func importBatchErr(ctx context.Context, s *Store, n, held int) (int, error) {
	tx, err := s.Begin(ctx)
	if err != nil {
		return held, err
	}
	defer tx.Rollback()
	for i := held + 1; i <= held+n; i++ {
		p := orb.Point{9.5 + float64(i%1000)/10000, 47.1 + float64(i/1000)/10000}
		if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("gen/%d", i), Point: p, Households: 1 + i%5}); err != nil {
			return held, err
		}
	}
	if err := tx.Commit(); err != nil {
		return held, err
	}
	return held + n, nil
}

func checkFull(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("the store never became full")
	}
	var se sqlite3.Error
	if !errors.As(err, &se) || se.Code != sqlite3.ErrFull {
		t.Fatalf("err = %v, want SQLITE_FULL underneath", err)
	}
	if code := data.ErrorCode(err); code != data.EUNAVAILABLE {
		t.Errorf("code = %q, want %q (err %v)", code, data.EUNAVAILABLE, err)
	}
	msg := data.ErrorMessage(err)
	if strings.Contains(strings.ToLower(msg), "duplicate") || !strings.Contains(msg, "full") || !strings.Contains(msg, "nothing was written") {
		t.Errorf("message %q: want that the store is full and nothing was written, no duplicate", msg)
	}
}

// checkHolds reopens the file and checks that it holds the households of the
// committed batches, no more, no less, with their change feed.
func checkHolds(t *testing.T, path string, held int) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen after a full disk: %v", err)
	}
	defer s.Close()
	n, err := s.Count(ctx, data.LayerHouseholds)
	if err != nil {
		t.Fatal(err)
	}
	var feed, maxID int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM wangge_changes WHERE layer = 'households'`).Scan(&feed); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(CAST(substr(source_id, 5) AS INTEGER)), 0) FROM households`).Scan(&maxID); err != nil {
		t.Fatal(err)
	}
	if n != held || feed != held || maxID != held {
		t.Errorf("after the failed import: %d households (last gen/%d), %d in the change feed; want %d of each", n, maxID, feed, held)
	}
	var check string
	if err := s.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
	if held == 0 {
		t.Error("no batch was committed before the store was full: the test checks nothing was lost")
	}
}
