package postgis_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/postgis"
)

// hazardIDs returns the source ids of every hazard s reads under ctx.
func hazardIDs(t *testing.T, ctx context.Context, s data.Store) []string {
	t.Helper()
	hz, err := s.Hazards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range hz {
		ids = append(ids, h.ID)
	}
	slices.Sort(ids)
	return ids
}

func addHazards(t *testing.T, s data.Store, ids ...string) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, id := range ids {
		if _, err := tx.AddHazard(ctx, hazard(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestStandbyReads routes reads by freshness. The "standby" is a second
// schema holding other rows and a shorter feed, so the test can tell which
// server answered and make the standby lag at will; real replication is
// exercised by the cluster test in cmd/wangge.
func TestStandbyReads(t *testing.T) {
	ctx := context.Background()
	primaryURL, standbyURL := freshSchema(t), freshSchema(t)
	addHazards(t, openURL(t, standbyURL), "standby-1")
	s, err := postgis.Open(ctx, primaryURL, standbyURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addHazards(t, s, "primary-1", "primary-2", "primary-3")

	// Writes went to the primary; reads that ask for nothing go to the standby.
	if got := hazardIDs(t, data.ReadPrimary(ctx), s); !slices.Equal(got, []string{"primary-1", "primary-2", "primary-3"}) {
		t.Fatalf("primary holds %v", got)
	}
	if got := hazardIDs(t, ctx, s); !slices.Equal(got, []string{"standby-1"}) {
		t.Fatalf("a read with no freshness asked read %v, want the standby's", got)
	}
	_, last, err := s.FeedBounds(data.ReadPrimary(ctx))
	if err != nil || last < 3 {
		t.Fatalf("primary feed ends at %d (%v)", last, err)
	}

	// The standby's feed ends at 1: a read that must see `last` waits for
	// it, then goes to the primary.
	start := time.Now()
	if got := hazardIDs(t, data.ReadAtLeast(ctx, last), s); !slices.Equal(got, []string{"primary-1", "primary-2", "primary-3"}) {
		t.Fatalf("a read at least at %d read %v, want the primary's", last, got)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("went to the primary after %v, without waiting for the standby to catch up", waited)
	}

	// Once the standby has replayed that far, it answers at once.
	addHazards(t, openURL(t, standbyURL), "standby-2", "standby-3", "standby-4", "standby-5")
	if got := hazardIDs(t, data.ReadAtLeast(ctx, last), s); len(got) != 5 || got[0] != "standby-1" {
		t.Fatalf("a read at least at %d read %v, want the standby's five", last, got)
	}
	// FeedBounds tells the store how far the standby is, for later reads.
	if _, sl, err := s.FeedBounds(ctx); err != nil || sl != 5 {
		t.Fatalf("standby feed ends at %d (%v), want 5", sl, err)
	}
	// ReadAtLeast never lowers what a context already asks for.
	if got := data.ReadFreshness(data.ReadAtLeast(data.ReadAtLeast(ctx, 9), 2)); got != 9 {
		t.Errorf("freshness after 9 then 2 = %d", got)
	}
	if got := data.ReadFreshness(data.ReadAtLeast(data.ReadPrimary(ctx), 2)); got != -1 {
		t.Errorf("freshness after primary then 2 = %d", got)
	}

	// Ping asks a reader, PingWrite the primary; both answer here.
	if err := s.Ping(ctx); err != nil {
		t.Error(err)
	}
	if err := s.PingWrite(ctx); err != nil {
		t.Error(err)
	}
}

// TestStandbyDown: a standby that cannot be reached is passed over, and
// reads go on at the primary without an error.
func TestStandbyDown(t *testing.T) {
	ctx := context.Background()
	primaryURL := freshSchema(t)
	dead := "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=1"
	s, err := postgis.Open(ctx, primaryURL, dead)
	if err != nil {
		t.Fatalf("a standby down at start must not stop Open: %v", err)
	}
	defer s.Close()
	addHazards(t, s, "p-1")
	for i := range 3 {
		if got := hazardIDs(t, ctx, s); !slices.Equal(got, []string{"p-1"}) {
			t.Fatalf("read %d with the standby down: %v", i, got)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping with the standby down and the primary up: %v", err)
	}
	if _, err := postgis.Open(ctx, primaryURL, "postgres://[::1"); data.ErrorCode(err) != data.EINVALID {
		t.Errorf("a malformed read URL: %v, want EINVALID", err)
	}
}

// TestJobLock: one plan job across replicas, and a replica that dies
// holding the lock frees it with its session.
func TestJobLock(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	a, b := openURL(t, u), openURL(t, u)
	releaseA, ok, err := a.TryLockJob(ctx, "plan")
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok, err := b.TryLockJob(ctx, "plan"); err != nil || ok {
		t.Fatalf("second replica took the lock while the first holds it: %v %v", ok, err)
	}
	// Another schema's job is another lock.
	other := openURL(t, freshSchema(t))
	if rel, ok, err := other.TryLockJob(ctx, "plan"); err != nil || !ok {
		t.Fatalf("another schema: %v %v", ok, err)
	} else {
		rel()
	}
	releaseA()
	releaseB, ok, err := b.TryLockJob(ctx, "plan")
	if err != nil || !ok {
		t.Fatalf("after release: %v %v", ok, err)
	}

	// b's session dies (a replica killed mid-job): the lock goes with it.
	sql := connect(t, testURL(t))
	var n int
	if err := sql.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1 AND objid = hashtext($2)::oid AND granted`, 0x7767, b.Channel()+"/plan").Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminate the lock holder: %d %v", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		rel, ok, err := a.TryLockJob(ctx, "plan")
		if err == nil && ok {
			rel()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lock still held after its session died: %v %v", ok, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	releaseB() // on a dead session: must not hang or panic
}
