package live_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/live"
)

// fixture is a service following a demo GeoPackage, and a second handle on
// the same file that plays another process (the CLI, GDAL).
type fixture struct {
	svc   *live.Service
	other data.Store
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	store, path := demoFile(t)
	other, err := gpkg.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	svc := live.New(live.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Poll: 20 * time.Millisecond})
	follow(t, svc)
	return fixture{svc: svc, other: other}
}

// demoFile returns a new GeoPackage holding the demo, and its path.
func demoFile(t *testing.T) (*gpkg.Store, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "live.gpkg")
	store, err := gpkg.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := demo.Load(ctx, store); err != nil {
		t.Fatal(err)
	}
	return store, path
}

// follow loads svc's views and runs its follower until the test ends.
func follow(t *testing.T, svc *live.Service) {
	t.Helper()
	ctx := context.Background()
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); svc.Run(runCtx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// eventually polls cond for up to a second.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within 1 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func commit(t *testing.T, s data.Store, fn func(ctx context.Context, tx data.Tx) error) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := fn(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// Vaduz, inside the demo's areas.
var vaduz = orb.Point{9.5209, 47.1410}

func TestFollowsOtherWriters(t *testing.T) {
	f := newFixture(t)
	near := func() map[int64]data.Hazard {
		out := map[int64]data.Hazard{}
		for _, n := range f.svc.NearbyHazards(vaduz, 5, 100) {
			out[n.Record.FID] = n.Record
		}
		return out
	}
	var fid int64
	h := data.Hazard{ID: "other/1", Point: vaduz, Category: "fire", Severity: 2, Status: data.StatusReported, ReportedAt: time.Now().UTC().Truncate(time.Millisecond)}
	commit(t, f.other, func(ctx context.Context, tx data.Tx) (err error) { fid, err = tx.AddHazard(ctx, h); return err })
	eventually(t, "hazard added by another process in nearby", func() bool { _, ok := near()[fid]; return ok })

	h.FID, h.Status = fid, "resolved"
	commit(t, f.other, func(ctx context.Context, tx data.Tx) error { return tx.UpdateHazard(ctx, h) })
	eventually(t, "hazard updated by another process", func() bool { got, ok := f.svc.Hazard(fid); return ok && got.Status == "resolved" })

	commit(t, f.other, func(ctx context.Context, tx data.Tx) error { return tx.Delete(ctx, data.LayerHazards, fid) })
	eventually(t, "hazard deleted by another process", func() bool { _, ok := near()[fid]; return !ok })
	if _, ok := f.svc.Hazard(fid); ok {
		t.Fatal("deleted hazard still in the map")
	}

	// A new plan published elsewhere replaces the live one.
	if _, ok := f.publishElsewhere(t, leafPlan(t, f.svc)).Locator.Locate(vaduz); !ok {
		t.Fatal("locate finds no grid of the newly published plan in Vaduz")
	}
}

// publishElsewhere saves and publishes plan as another process would, and
// returns it once the service shows it.
func (f fixture) publishElsewhere(t *testing.T, plan data.Plan) *live.Plan {
	t.Helper()
	var id int64
	commit(t, f.other, func(ctx context.Context, tx data.Tx) (err error) {
		if id, err = tx.SavePlan(ctx, plan); err != nil {
			return err
		}
		return tx.PublishPlan(ctx, id)
	})
	eventually(t, "plan published by another process", func() bool { p := f.svc.Published(); return p != nil && p.Plan.ID == id })
	return f.svc.Published()
}

// leafPlan is a plan of one grid per leaf area: enough to locate with.
func leafPlan(t *testing.T, svc *live.Service) data.Plan {
	t.Helper()
	as := svc.Areas()
	parents := map[string]bool{}
	for _, a := range as.List {
		parents[a.ParentCode] = true
	}
	p := data.Plan{CreatedAt: time.Now().UTC().Truncate(time.Millisecond), Target: 300, Resolution: 9}
	for _, a := range as.List {
		if !parents[a.Code] {
			p.Grids = append(p.Grids, data.Grid{Code: a.Code + "001", ParentCode: a.Code, Name: a.Name, Households: 1, AreaM2: 1, Geometry: a.Geometry})
		}
	}
	if len(p.Grids) == 0 {
		t.Fatal("the demo has no leaf areas")
	}
	return p
}

func TestKeyRevocationFollows(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, k, err := data.NewKey(data.RolePlanner, "field team", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	commit(t, f.other, func(ctx context.Context, tx data.Tx) error { return tx.AddKey(ctx, k) })
	eventually(t, "new key", func() bool { _, ok, err := f.svc.Key(ctx, k.ID); return ok && err == nil })
	commit(t, f.other, func(ctx context.Context, tx data.Tx) error { return tx.RevokeKey(ctx, k.ID, time.Now()) })
	eventually(t, "revocation", func() bool { got, _, _ := f.svc.Key(ctx, k.ID); return !got.RevokedAt.IsZero() })
}

func TestWriteShowsBeforeItReturns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 20 {
		h := data.Hazard{ID: "api/" + string(rune('a'+i)), Point: orb.Point{vaduz[0] + float64(i)*1e-4, vaduz[1]}, Category: "water", Severity: 1,
			Status: data.StatusReported, ReportedAt: time.Now().UTC().Truncate(time.Millisecond)}
		res, err := f.svc.CreateHazard(ctx, "test", h)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := f.svc.Hazard(res.Value.FID); !ok || got.ID != h.ID {
			t.Fatalf("write %d answered before its own view showed it", i)
		}
		if res.Version > f.svc.Version() {
			t.Fatalf("write %d: version %d ahead of the views' %d", i, res.Version, f.svc.Version())
		}
	}
}

func TestIfMatch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := data.Hazard{ID: "api/if-match", Point: vaduz, Category: "fire", Severity: 1, Status: data.StatusReported, ReportedAt: time.Now().UTC().Truncate(time.Millisecond)}
	res, err := f.svc.CreateHazard(ctx, "test", h)
	if err != nil {
		t.Fatal(err)
	}
	tag := res.Value.ETag()
	up, err := f.svc.UpdateHazard(ctx, "test", res.Value.FID, tag, func(h *data.Hazard) error { h.Severity = 3; return nil })
	if err != nil {
		t.Fatalf("update with the current ETag: %v", err)
	}
	if up.Value.ETag() == tag {
		t.Fatal("ETag unchanged by an update")
	}
	_, err = f.svc.UpdateHazard(ctx, "test", res.Value.FID, tag, func(h *data.Hazard) error { h.Severity = 2; return nil })
	if data.ErrorCode(err) != data.EPRECONDITION {
		t.Fatalf("update with a stale ETag: got %v, want %s", err, data.EPRECONDITION)
	}
	if _, err := f.svc.Delete(ctx, "test", data.LayerHazards, res.Value.FID, tag); data.ErrorCode(err) != data.EPRECONDITION {
		t.Fatalf("delete with a stale ETag: got %v, want %s", err, data.EPRECONDITION)
	}
	if got, _ := f.svc.Hazard(res.Value.FID); got.Severity != 3 {
		t.Fatalf("refused writes changed the hazard: severity %d", got.Severity)
	}
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := data.Hazard{ID: "api/concurrent", Point: vaduz, Category: "fire", Severity: 1, Status: data.StatusReported, ReportedAt: time.Now().UTC().Truncate(time.Millisecond)}
	res, err := f.svc.CreateHazard(ctx, "test", h)
	if err != nil {
		t.Fatal(err)
	}
	// Two services on one file play two replicas; each moves the hazard
	// east by a step, so a lost update shows as a missing step.
	other := live.New(live.Config{Store: f.other, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Poll: 20 * time.Millisecond})
	if err := other.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go other.Run(runCtx)
	const steps = 20
	var wg sync.WaitGroup
	for _, svc := range []*live.Service{f.svc, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range steps {
				if _, err := svc.UpdateHazard(ctx, "test", res.Value.FID, "", func(h *data.Hazard) error { h.Point[0] += 1e-5; return nil }); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, err := f.other.Hazard(ctx, res.Value.FID)
	if err != nil {
		t.Fatal(err)
	}
	if want := vaduz[0] + 2*steps*1e-5; got.Point[0] < want-1e-9 || got.Point[0] > want+1e-9 {
		t.Fatalf("after %d concurrent moves the hazard is at %.6f, want %.6f: updates were lost", 2*steps, got.Point[0], want)
	}
}

// TestGridAssignmentFollowsWrites checks that the assignment kept from one
// statistics request to the next, which locates only new or moved hazards,
// equals one that locates every hazard.
func TestGridAssignmentFollowsWrites(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pp := f.publishElsewhere(t, leafPlan(t, f.svc))
	check := func(step string) {
		t.Helper()
		want := map[live.GridHazard]int{}
		f.svc.EachHazard(func(h data.Hazard) {
			if gi, ok := pp.Locator.Locate(h.Point); ok {
				want[live.GridHazard{FID: h.FID, Grid: gi, Point: h.Point, Category: h.Category, Status: h.Status,
					ReportedAt: h.ReportedAt, DueAt: h.DueAt, ResolvedAt: h.ResolvedAt}]++
			}
		})
		got := map[live.GridHazard]int{}
		for _, h := range f.svc.GridAssignment(pp).Hazards {
			h.Repeat = false // found over all events, not per hazard: not what this compares
			got[h]++
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d distinct hazards assigned, want %d", step, len(got), len(want))
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("%s: %+v assigned %d times, want %d", step, k, got[k], n)
			}
		}
	}
	check("loaded")
	h := data.Hazard{ID: "stats/1", Point: vaduz, Category: "fire", Severity: 2, Status: data.StatusReported, ReportedAt: time.Now().UTC().Truncate(time.Millisecond)}
	res, err := f.svc.CreateHazard(ctx, "test", h)
	if err != nil {
		t.Fatal(err)
	}
	check("created")
	for _, c := range []struct {
		step   string
		change func(*data.Hazard)
	}{
		{"resolved", func(h *data.Hazard) { h.Status = "resolved" }},
		{"moved out of every grid", func(h *data.Hazard) { h.Point = orb.Point{9, 47} }},
		{"moved back", func(h *data.Hazard) { h.Point = vaduz }},
	} {
		if _, err := f.svc.UpdateHazard(ctx, "test", res.Value.FID, "", func(h *data.Hazard) error { c.change(h); return nil }); err != nil {
			t.Fatalf("%s: %v", c.step, err)
		}
		check(c.step)
	}
}

// stallingPrune is a store whose feed prune takes until release closes,
// as the first prune after a province's import takes seconds.
type stallingPrune struct {
	data.Store
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stallingPrune) PruneChanges(ctx context.Context, keep int) (int, error) {
	s.once.Do(func() { close(s.started) })
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	return s.Store.PruneChanges(ctx, keep)
}

// While the feed is being pruned, the views still follow every write.
func TestFollowsWritesWhilePruning(t *testing.T) {
	base, _ := demoFile(t)
	store := &stallingPrune{Store: base, started: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(store.release) })
	svc := live.New(live.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Poll: 20 * time.Millisecond, FeedKeep: 1})
	follow(t, svc)
	select {
	case <-store.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the feed was not pruned after start")
	}
	var fid int64
	h := data.Hazard{ID: "other/prune", Point: vaduz, Category: "fire", Severity: 1, Status: data.StatusReported, ReportedAt: time.Now().UTC().Truncate(time.Millisecond)}
	commit(t, base, func(ctx context.Context, tx data.Tx) (err error) { fid, err = tx.AddHazard(ctx, h); return err })
	eventually(t, "hazard written during a prune", func() bool { _, ok := svc.Hazard(fid); return ok })
}
