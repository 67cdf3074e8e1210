package postgis_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/postgis"
)

// openURL opens a store on u, closed when the test ends.
func openURL(t testing.TB, u string) *postgis.Store {
	t.Helper()
	s, err := postgis.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// connect opens a plain connection, as psql or QGIS would.
func connect(t testing.TB, u string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func hazard(id string) data.Hazard {
	return data.Hazard{ID: id, Point: orb.Point{9.55, 47.15}, Category: "fire", Severity: 2, Status: "reported",
		ReportedAt: time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)}
}

func camera(id string) data.Camera {
	return data.Camera{ID: id, Point: orb.Point{9.55, 47.15}, Azimuth: 90, FOV: 60, RangeM: 50, Status: "online"}
}

// allChanges reads the whole feed.
func allChanges(t testing.TB, s data.Store) []data.Change {
	t.Helper()
	cs, err := s.Changes(context.Background(), data.ChangeQuery{Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// entries renders changes as "layer fid op" for comparison.
func entries(cs []data.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %d %s", c.Layer, c.FID, c.Op)
	}
	return out
}

// schemaOf returns the schema a test URL's search path names first.
func schemaOf(t testing.TB, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	schema, _, _ := strings.Cut(p.Query().Get("search_path"), ",")
	return schema
}

// TestFeedTriggers: writes through wangge and through plain SQL from a
// session whose search path does not name the store's schema (QGIS on
// schema.table) are all recorded, with the right layer, fid and op.
func TestFeedTriggers(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	s := openURL(t, u)
	if first, last, err := s.FeedBounds(ctx); first != 0 || last != 0 || err != nil {
		t.Fatalf("FeedBounds of a new store = %d, %d, %v; want 0, 0", first, last, err)
	}

	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h1, err1 := tx.AddHazard(ctx, hazard("h1"))
	h2, err2 := tx.AddHazard(ctx, hazard("h2"))
	c1, err3 := tx.AddCamera(ctx, camera("c1"))
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if err := tx.AddKey(ctx, data.Key{ID: "k1", Role: data.RoleAdmin, Hash: []byte{1}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	plan, err := tx.SavePlan(ctx, data.Plan{Target: 300, Resolution: 9, Grids: []data.Grid{
		{Code: "g1", ParentCode: "a", Geometry: orb.MultiPolygon{{{{9.5, 47.1}, {9.6, 47.1}, {9.6, 47.2}, {9.5, 47.1}}}}, Households: 3},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PublishPlan(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got := allChanges(t, s)
	var grid int64
	for _, c := range got {
		if c.Layer == "grids" {
			grid = c.FID
		}
	}
	want := []string{
		fmt.Sprintf("hazards %d insert", h1), fmt.Sprintf("hazards %d insert", h2), fmt.Sprintf("cameras %d insert", c1),
		"keys 0 insert", fmt.Sprintf("plans %d insert", plan), fmt.Sprintf("grids %d insert", grid), fmt.Sprintf("plans %d update", plan),
	}
	// Buffered rows reach the server by layer at commit: compare as sets.
	if g := entries(got); !sameSet(g, want) {
		t.Errorf("feed after a wangge write:\n%s\nwant (in any order)\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	for i, c := range got {
		if i > 0 && c.Seq <= got[i-1].Seq {
			t.Errorf("seq %d after %d", c.Seq, got[i-1].Seq)
		}
		if c.At.IsZero() || time.Since(c.At) > time.Minute {
			t.Errorf("change %d at %v", c.Seq, c.At)
		}
	}
	_, last, _ := s.FeedBounds(ctx)

	// psql in another search path, naming the schema.
	schema := schemaOf(t, u)
	conn := connect(t, withParam(t, testURL(t), "search_path", "public"))
	for _, q := range []string{
		fmt.Sprintf(`UPDATE %s.hazards SET status = 'closed' WHERE fid = %d`, schema, h1),
		fmt.Sprintf(`UPDATE %s.hazards SET fid = 1000 WHERE fid = %d`, schema, h2),
		fmt.Sprintf(`DELETE FROM %s.cameras WHERE fid = %d`, schema, c1),
		fmt.Sprintf(`UPDATE %s.wangge_keys SET name = 'x'`, schema),
		fmt.Sprintf(`UPDATE %s.hazards SET status = 'x' WHERE false`, schema),
		fmt.Sprintf(`DELETE FROM %s.plans`, schema), // cascades to grids
		fmt.Sprintf(`TRUNCATE %s.hazards`, schema),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	got, err = s.Changes(ctx, data.ChangeQuery{After: last, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		fmt.Sprintf("hazards %d update", h1),
		"hazards 1000 insert", fmt.Sprintf("hazards %d delete", h2), // a changed fid
		fmt.Sprintf("cameras %d delete", c1),
		"keys 0 update",
		fmt.Sprintf("plans %d delete", plan), fmt.Sprintf("grids %d delete", grid),
		fmt.Sprintf("hazards %d delete", h1), "hazards 1000 delete", // TRUNCATE
	}
	if g := entries(got); !sameSet(g, want) || len(g) != len(want) {
		t.Errorf("feed after SQL writes:\n%s\nwant (in any order)\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}

	// Filters.
	_, last, _ = s.FeedBounds(ctx)
	hz, err := s.Changes(ctx, data.ChangeQuery{Layers: []string{"hazards", "keys"}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var wantHz []data.Change
	for _, c := range allChanges(t, s) {
		if c.Layer == "hazards" || c.Layer == "keys" {
			wantHz = append(wantHz, c)
		}
	}
	if !slices.Equal(hz, wantHz) || len(hz) != 9 {
		t.Errorf("Layers filter: %v, want the 9 hazard and key changes %v", entries(hz), entries(wantHz))
	}
	page, err := s.Changes(ctx, data.ChangeQuery{After: 2, UpTo: 4, Limit: 100})
	if err != nil || len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Errorf("After 2, UpTo 4: %+v, %v", page, err)
	}
	page, err = s.Changes(ctx, data.ChangeQuery{After: 0, Limit: 3})
	if err != nil || len(page) != 3 || page[2].Seq != 3 {
		t.Errorf("Limit 3: %+v, %v", page, err)
	}
	if page, err := s.Changes(ctx, data.ChangeQuery{After: last, Limit: 10}); err != nil || len(page) != 0 {
		t.Errorf("after the last: %+v, %v", page, err)
	}
	if _, err := s.Changes(ctx, data.ChangeQuery{}); data.ErrorCode(err) != data.EINVALID {
		t.Errorf("Changes without a limit: %v, want EINVALID", err)
	}

	// A rolled-back write leaves no entry.
	tx, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.AddHazard(ctx, hazard("gone"))
	if _, err := tx.Seq(ctx); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if _, l, _ := s.FeedBounds(ctx); l != last {
		t.Errorf("last seq %d after a rollback, want %d", l, last)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestFeedCommitOrder: many writers, wangge transactions and raw SQL
// transactions that sleep a random while between their write and their
// commit, and a follower that polls Changes(After: cursor) all along. If a
// seq could commit after a higher one, the follower would skip it. At the
// end the follower must have seen every seq the feed holds.
func TestFeedCommitOrder(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	s := openURL(t, u)
	// The follower is another replica, with a pool of its own.
	f := openURL(t, u)

	const writers, rounds = 16, 6
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			var conn *pgx.Conn
			if w%2 == 1 {
				c, err := pgx.Connect(ctx, u)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close(ctx)
				conn = c
			}
			for r := range rounds {
				id := fmt.Sprintf("w%d-%d", w, r)
				pause := time.Duration(rng.IntN(15)) * time.Millisecond
				if conn == nil {
					errs <- wangWrite(ctx, s, id, rng.IntN(3)+1, pause)
				} else {
					errs <- rawWrite(ctx, conn, id, rng.IntN(3)+1, pause)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	// The follower.
	var seen []int64
	var cursor int64
	polls := 0
	follow := func() {
		polls++
		for {
			cs, err := f.Changes(ctx, data.ChangeQuery{After: cursor, Limit: 7})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if c.Seq <= cursor {
					t.Fatalf("seq %d after cursor %d", c.Seq, cursor)
				}
				seen = append(seen, c.Seq)
				cursor = c.Seq
			}
			if len(cs) < 7 {
				return
			}
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(time.Duration(rand.IntN(3)) * time.Millisecond):
		}
		follow()
	}
	follow()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var all []int64
	for _, c := range allChanges(t, s) {
		all = append(all, c.Seq)
	}
	if len(all) < writers*rounds {
		t.Fatalf("the feed holds %d entries, want at least %d", len(all), writers*rounds)
	}
	if !slices.Equal(seen, all) {
		var missed []int64
		for _, q := range all {
			if _, ok := slices.BinarySearch(seen, q); !ok {
				missed = append(missed, q)
			}
		}
		t.Fatalf("the follower saw %d of %d entries; skipped %v", len(seen), len(all), missed)
	}
	t.Logf("%d entries, all seen by the follower in %d polls", len(all), polls)
}

// wangWrite adds n hazards through a data.Tx and commits after pause.
func wangWrite(ctx context.Context, s data.Store, id string, n int, pause time.Duration) error {
	tx, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := range n {
		if _, err := tx.AddHazard(ctx, hazard(fmt.Sprintf("%s-%d", id, i))); err != nil {
			return err
		}
	}
	if _, err := tx.Seq(ctx); err != nil { // sends the rows: the seqs are taken now
		return err
	}
	time.Sleep(pause)
	return tx.Commit()
}

// rawWrite inserts n cameras with SQL and commits after pause.
func rawWrite(ctx context.Context, conn *pgx.Conn, id string, n int, pause time.Duration) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO cameras (geom, source_id, azimuth, fov, range_m, status)
		SELECT ST_SetSRID(ST_MakePoint(9.5, 47.1), 4326), $1 || '-' || i, 0, 90, 10, 'online' FROM generate_series(1, $2) AS i`, id, n); err != nil {
		return err
	}
	time.Sleep(pause)
	return tx.Commit(ctx)
}

// TestPublishConcurrently: two replicas publishing different plans at the
// same time leave exactly one published plan, and the feed records both
// publishes.
func TestPublishConcurrently(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	s := openURL(t, u)
	replicas := []data.Store{s, openURL(t, u)}
	grid := []data.Grid{{Code: "g", ParentCode: "a", Geometry: orb.MultiPolygon{{{{9.5, 47.1}, {9.6, 47.1}, {9.6, 47.2}, {9.5, 47.1}}}}, Households: 1}}
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids [2]int64
	for i := range ids {
		if ids[i], err = tx.SavePlan(ctx, data.Plan{Target: 100 + i, Resolution: 9, Grids: grid}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		_, before, _ := s.FeedBounds(ctx)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tx, err := replicas[i].Begin(ctx)
				if err != nil {
					errs[i] = err
					return
				}
				defer tx.Rollback()
				if err := tx.PublishPlan(ctx, id); err != nil {
					errs[i] = err
					return
				}
				time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
				errs[i] = tx.Commit()
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		plans, err := s.Plans(ctx)
		if err != nil {
			t.Fatal(err)
		}
		published := 0
		for _, p := range plans {
			if p.Published {
				published++
			}
		}
		if published != 1 {
			t.Fatalf("round %d: %d plans published, want 1", round, published)
		}
		cs, err := s.Changes(ctx, data.ChangeQuery{After: before, Layers: []string{data.FeedPlans}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		recorded := map[int64]bool{}
		for _, c := range cs {
			if c.Op != data.OpUpdate {
				t.Errorf("round %d: %+v", round, c)
			}
			recorded[c.FID] = true
		}
		if round > 0 && (!recorded[ids[0]] || !recorded[ids[1]]) {
			// (In round 0 nothing was published before, so the first publish
			// may change one plan only; the second unpublishes it.)
			t.Errorf("round %d: feed records changes of plans %v, want both %v", round, recorded, ids)
		}
		if !recorded[ids[0]] && !recorded[ids[1]] {
			t.Errorf("round %d: no publish recorded", round)
		}
	}
}

// TestForUpdate: HazardForUpdate and CameraForUpdate see the rows the
// transaction buffered and lock the row until the transaction ends.
func TestForUpdate(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	s := openURL(t, u)
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	hfid, err := tx.AddHazard(ctx, hazard("h"))
	if err != nil {
		t.Fatal(err)
	}
	cfid, err := tx.AddCamera(ctx, camera("c"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := tx.HazardForUpdate(ctx, hfid) // still buffered: must be sent first
	want := hazard("h")
	want.FID = hfid
	if err != nil || h.ETag() != want.ETag() {
		t.Fatalf("HazardForUpdate of a buffered hazard: %+v, %v; want %+v", h, err, want)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	other := connect(t, u)
	locked := func(table string, fid int64) bool {
		t.Helper()
		_, err := other.Exec(ctx, `SELECT 1 FROM `+table+` WHERE fid = $1 FOR UPDATE NOWAIT`, fid)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" {
			return true
		}
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	tx, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if locked("hazards", hfid) || locked("cameras", cfid) {
		t.Fatal("rows locked before ForUpdate")
	}
	if _, err := tx.HazardForUpdate(ctx, hfid); err != nil {
		t.Fatal(err)
	}
	c, err := tx.CameraForUpdate(ctx, cfid)
	if err != nil || c.ID != "c" || c.FOV != 60 {
		t.Fatalf("CameraForUpdate: %+v, %v", c, err)
	}
	if !locked("hazards", hfid) || !locked("cameras", cfid) {
		t.Error("ForUpdate did not lock the rows")
	}
	if _, err := tx.HazardForUpdate(ctx, 9999); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("HazardForUpdate of a missing fid: %v, want ENOTFOUND", err)
	}
	if _, err := tx.CameraForUpdate(ctx, 9999); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("CameraForUpdate of a missing fid: %v, want ENOTFOUND", err)
	}
	// ENOTFOUND does not spoil the transaction.
	h.Status = "resolved"
	if err := tx.UpdateHazard(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if locked("hazards", hfid) {
		t.Error("row still locked after Commit")
	}
	if got, _ := s.Hazard(ctx, hfid); got.Status != "resolved" {
		t.Errorf("status %q after the update", got.Status)
	}
}

// TestTxSeq: Seq is the seq the transaction's last change has once
// committed, with its buffered rows counted, and the last seq it sees when
// it changed nothing.
func TestTxSeq(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if seq, err := tx.Seq(ctx); err != nil || seq != 0 {
		t.Errorf("Seq of an empty feed: %d, %v", seq, err)
	}
	for i := range 5 {
		if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprint(i), Point: orb.Point{9.5, 47.1}, Households: 1}); err != nil {
			t.Fatal(err)
		}
	}
	seq, err := tx.Seq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if first, last, err := s.FeedBounds(ctx); err != nil || last != seq || last-first != 4 {
		t.Errorf("FeedBounds = %d, %d, %v; Seq said %d", first, last, err, seq)
	}
	tx, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if got, err := tx.Seq(ctx); err != nil || got != seq {
		t.Errorf("Seq of a transaction that changed nothing: %d, %v; want %d", got, err, seq)
	}
}

// TestPruneChanges: pruning keeps the newest entries, always at least one,
// and does nothing on a read-only database.
func TestPruneChanges(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	s := openURL(t, u)
	for i := range 10 {
		tx, err := s.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.AddHazard(ctx, hazard(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	first, last, _ := s.FeedBounds(ctx)
	if last-first != 9 {
		t.Fatalf("FeedBounds = %d, %d", first, last)
	}

	ro := openURL(t, withParam(t, u, "default_transaction_read_only", "on"))
	if n, err := ro.PruneChanges(ctx, 1); n != 0 || err != nil {
		t.Errorf("PruneChanges on a read-only database: %d, %v; want 0, nil", n, err)
	}
	if f, l, _ := ro.FeedBounds(ctx); f != first || l != last {
		t.Errorf("read-only prune changed the bounds to %d, %d", f, l)
	}

	if n, err := s.PruneChanges(ctx, 4); n != 6 || err != nil {
		t.Errorf("PruneChanges(4) = %d, %v; want 6", n, err)
	}
	if f, l, _ := s.FeedBounds(ctx); f != last-3 || l != last {
		t.Errorf("after keeping 4: %d, %d; want %d, %d", f, l, last-3, last)
	}
	if n, err := s.PruneChanges(ctx, 100); n != 0 || err != nil {
		t.Errorf("PruneChanges(100) = %d, %v; want 0", n, err)
	}
	if n, err := s.PruneChanges(ctx, 0); n != 3 || err != nil {
		t.Errorf("PruneChanges(0) = %d, %v; want 3 (the newest stays)", n, err)
	}
	if f, l, _ := s.FeedBounds(ctx); f != last || l != last {
		t.Errorf("after keeping 0: %d, %d; want %d, %d", f, l, last, last)
	}
	// New entries go on from there.
	tx, _ := s.Begin(ctx)
	tx.AddHazard(ctx, hazard("next"))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if f, l, _ := s.FeedBounds(ctx); f != last || l <= last {
		t.Errorf("after a new write: %d, %d", f, l)
	}
}

// listening waits until a backend of application app is LISTENing.
func listening(t *testing.T, conn *pgx.Conn, app string) int32 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pid int32
		err := conn.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'`, app).Scan(&pid)
		if err == nil {
			return pid
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("Listen did not LISTEN within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wakes runs s.Listen in the background and returns its wakes and, once it
// returns, its error.
func wakes(ctx context.Context, s *postgis.Store) (<-chan struct{}, <-chan error) {
	w := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() {
		done <- s.Listen(ctx, func() {
			select {
			case w <- struct{}{}:
			default:
			}
		})
	}()
	return w, done
}

func wantWake(t *testing.T, w <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-w:
	case <-time.After(5 * time.Second):
		t.Fatalf("no wake within 5 s of %s", what)
	}
}

func drain(w <-chan struct{}) {
	for {
		select {
		case <-w:
		case <-time.After(100 * time.Millisecond):
			return
		}
	}
}

// TestListen: a committed write through wangge or through SQL wakes the
// listener, a rolled-back one does not, and when its connection is
// terminated Listen returns an EUNAVAILABLE error at once.
func TestListen(t *testing.T) {
	ctx := context.Background()
	app := fmt.Sprintf("wangge_listen_%d", time.Now().UnixNano())
	u := withParam(t, freshSchema(t), "application_name", app)
	s := openURL(t, u)
	if !strings.HasPrefix(s.Channel(), "wangge_changes.t_") {
		t.Errorf("channel %q", s.Channel())
	}
	admin := connect(t, testURL(t))
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, done := wakes(lctx, s)
	pid := listening(t, admin, app)

	tx, _ := s.Begin(ctx)
	tx.AddHazard(ctx, hazard("a"))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wantWake(t, w, "a wangge commit")

	sql := connect(t, withParam(t, testURL(t), "search_path", "public"))
	if _, err := sql.Exec(ctx, `UPDATE `+schemaOf(t, u)+`.hazards SET status = 'closed'`); err != nil {
		t.Fatal(err)
	}
	wantWake(t, w, "an UPDATE from psql")

	drain(w)
	tx, _ = s.Begin(ctx)
	tx.AddHazard(ctx, hazard("b"))
	tx.Seq(ctx)
	tx.Rollback()
	select {
	case <-w:
		t.Error("woken by a rolled-back write")
	case <-time.After(300 * time.Millisecond):
	}

	start := time.Now()
	var killed bool
	if err := admin.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend: %v, %v", killed, err)
	}
	select {
	case err := <-done:
		if data.ErrorCode(err) != data.EUNAVAILABLE {
			t.Errorf("Listen after its backend was terminated: %v (%s), want EUNAVAILABLE", err, data.ErrorCode(err))
		}
		t.Logf("Listen returned %v after %v", err, time.Since(start))
	case <-time.After(3 * time.Second):
		t.Fatal("Listen still running 3 s after its backend was terminated")
	}

	// Cancelled: returns the context's error at once.
	lctx, cancel = context.WithCancel(ctx)
	_, done = wakes(lctx, s)
	listening(t, admin, app)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Listen after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Listen still running 3 s after its context was cancelled")
	}
}

// TestListenFrozen: with a database that stops answering (a proxy that
// holds every byte), Listen returns when its context ends, and by itself
// once its idle check gets no answer.
func TestListenFrozen(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	p := newProxy(t)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	pu.Host = p.addr
	s := openURL(t, pu.String())

	for _, tc := range []struct {
		name  string
		idle  time.Duration
		limit time.Duration // Listen must have returned by then
		ctx   time.Duration // its context's deadline, or none
		want  func(error) bool
	}{
		{"context", time.Hour, 3 * time.Second, time.Second, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
		{"idle check", 300 * time.Millisecond, 4 * time.Second, 0, func(err error) bool { return data.ErrorCode(err) == data.EUNAVAILABLE }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			postgis.SetListenTimings(s, tc.idle, 500*time.Millisecond)
			lctx, cancel := context.WithCancel(ctx)
			if tc.ctx > 0 {
				lctx, cancel = context.WithTimeout(ctx, tc.ctx)
			}
			defer cancel()
			p.freeze(false)
			_, done := wakes(lctx, s)
			// Let it connect and LISTEN, then freeze the database.
			time.Sleep(500 * time.Millisecond)
			p.freeze(true)
			defer p.freeze(false)
			select {
			case err := <-done:
				if !tc.want(err) {
					t.Errorf("Listen on a frozen database returned %v", err)
				}
			case <-time.After(tc.limit):
				t.Fatalf("Listen on a frozen database still running after %v", tc.limit)
			}
		})
	}
}

// proxy forwards TCP connections to the test database and can freeze
// them: while frozen, it forwards nothing, as a hung server or a cut
// network would.
type proxy struct {
	addr   string
	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
}

func newProxy(t *testing.T) *proxy {
	t.Helper()
	target, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String()}
	p.cond = sync.NewCond(&p.mu)
	var conns sync.Map
	t.Cleanup(func() {
		ln.Close()
		p.freeze(false)
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", target.Host)
			if err != nil {
				c.Close()
				continue
			}
			conns.Store(c, true)
			conns.Store(d, true)
			go p.pipe(c, d)
			go p.pipe(d, c)
		}
	}()
	return p
}

func (p *proxy) freeze(on bool) {
	p.mu.Lock()
	p.frozen = on
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		for p.frozen {
			p.cond.Wait()
		}
		p.mu.Unlock()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				src.Close()
			}
			return
		}
	}
}
