package live_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/live"
)

// addHazards commits n hazards near Vaduz in one transaction of another
// process and returns their fids.
func (f fixture) addHazards(t *testing.T, prefix string, n int) []int64 {
	t.Helper()
	var fids []int64
	commit(t, f.other, func(ctx context.Context, tx data.Tx) error {
		for i := range n {
			h := data.Hazard{ID: fmt.Sprintf("%s/%d", prefix, i), Point: vaduz, Category: "fire", Severity: 1, Status: data.StatusReported,
				ReportedAt: time.Now().UTC().Truncate(time.Millisecond)}
			fid, err := tx.AddHazard(ctx, h)
			if err != nil {
				return err
			}
			fids = append(fids, fid)
		}
		return nil
	})
	return fids
}

// receive takes n entries from sub, failing after a second.
func receive(t *testing.T, sub *live.Subscription, n int) []data.Change {
	t.Helper()
	var got []data.Change
	timeout := time.After(time.Second)
	for len(got) < n {
		select {
		case c, ok := <-sub.C():
			if !ok {
				t.Fatalf("subscription ended (%d) after %d of %d entries", sub.Ended(), len(got), n)
			}
			got = append(got, c)
		case <-timeout:
			t.Fatalf("%d of %d entries within 1 s: %v", len(got), n, got)
		}
	}
	return got
}

// A subscriber gets every entry after its start, in Seq order, once the
// views show it; its match chooses; keys are never published.
func TestSubscribe(t *testing.T) {
	f := newFixture(t)
	all := f.svc.Subscribe(nil, 0)
	defer all.Close()
	if all.Start() != f.svc.Version() {
		t.Errorf("start %d, version %d", all.Start(), f.svc.Version())
	}
	cams := f.svc.Subscribe(func(c data.Change) bool { return c.Layer == string(data.LayerCameras) }, 0)
	defer cams.Close()

	fids := f.addHazards(t, "sub", 3)
	var cam int64
	commit(t, f.other, func(ctx context.Context, tx data.Tx) (err error) {
		cam, err = tx.AddCamera(ctx, data.Camera{ID: "sub/cam", Point: vaduz, Azimuth: 90, FOV: 60, RangeM: 50, Status: "online"})
		return err
	})
	commit(t, f.other, func(ctx context.Context, tx data.Tx) error {
		_, k, err := data.NewKey(data.RoleViewer, "sub", time.Now())
		if err != nil {
			return err
		}
		return tx.AddKey(ctx, k)
	})
	got := receive(t, all, 4)
	for i, c := range got {
		if i > 0 && c.Seq <= got[i-1].Seq {
			t.Errorf("entries out of order: %v", got)
		}
		if c.Seq <= all.Start() {
			t.Errorf("entry %d not after the start %d", c.Seq, all.Start())
		}
		if c.Layer == string(data.LayerHazards) {
			// The views show the entry before it is published.
			if _, ok := f.svc.Hazard(c.FID); !ok {
				t.Errorf("hazard %d published before the views show it", c.FID)
			}
		}
	}
	if got[0].FID != fids[0] || got[2].FID != fids[2] || got[3].Layer != string(data.LayerCameras) || got[3].FID != cam {
		t.Errorf("entries %v, want hazards %v then camera %d", got, fids, cam)
	}
	if c := receive(t, cams, 1)[0]; c.FID != cam {
		t.Errorf("camera subscriber got %v", c)
	}
	// The key's entry comes last of all and is never published.
	f.addHazards(t, "sub-after", 1)
	if c := receive(t, all, 1)[0]; c.Layer != string(data.LayerHazards) {
		t.Errorf("after the key, %v; keys are never published", c)
	}
	if len(cams.C()) != 0 {
		t.Errorf("camera subscriber got more: %v", <-cams.C())
	}
	eventually(t, "position at the version", func() bool { return all.Position() == f.svc.Version() })
}

// A subscriber that falls behind by its buffer is dropped; the follower
// goes on without waiting for it, others keep theirs, and nothing grows.
func TestSlowSubscriberDropped(t *testing.T) {
	f := newFixture(t)
	slow := f.svc.Subscribe(nil, 2)
	fast := f.svc.Subscribe(nil, 64)
	defer fast.Close()
	if cap(slow.C()) != 2 {
		t.Fatalf("buffer %d, want 2", cap(slow.C()))
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	f.addHazards(t, "slow", 5) // one batch of five: more than the slow one holds
	receive(t, fast, 5)
	if slow.Ended() != live.EndOverflow {
		t.Fatalf("slow subscriber: ended %d, want overflow (%d)", slow.Ended(), live.EndOverflow)
	}
	// What it held is still readable, then the channel is closed.
	n := 0
	for range slow.C() {
		n++
	}
	if n != 2 {
		t.Errorf("slow subscriber read %d entries after being dropped, want the 2 it held", n)
	}
	if got := f.svc.Subscribers(); got != 1 {
		t.Errorf("%d subscribers, want 1 (the slow one dropped)", got)
	}
	// The follower goes on: many more batches, the fast one keeps up.
	for i := range 20 {
		f.addHazards(t, fmt.Sprintf("slow-more%d", i), 1)
		receive(t, fast, 1)
	}
	slow.Close() // after a drop: does nothing
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4<<20 {
		t.Errorf("heap grew by %d bytes with a dropped subscriber", grew)
	}
}

// EndStreams ends every subscription; later ones are taken.
func TestEndStreams(t *testing.T) {
	f := newFixture(t)
	a, b := f.svc.Subscribe(nil, 0), f.svc.Subscribe(nil, 0)
	f.svc.EndStreams()
	for _, sub := range []*live.Subscription{a, b} {
		if _, ok := <-sub.C(); ok || sub.Ended() != live.EndClosed {
			t.Errorf("after EndStreams: open %v, ended %d", ok, sub.Ended())
		}
	}
	c := f.svc.Subscribe(nil, 0)
	defer c.Close()
	fids := f.addHazards(t, "end", 1)
	if got := receive(t, c, 1)[0]; got.FID != fids[0] {
		t.Errorf("got %v", got)
	}
}

// Areas and the published plan's grids are found by fid, and follow a
// swap of either.
func TestByFID(t *testing.T) {
	f := newFixture(t)
	as := f.svc.Areas()
	for _, a := range as.List {
		if got, ok := f.svc.AreaByFID(a.FID); !ok || got.Code != a.Code {
			t.Fatalf("area %d: %v %v", a.FID, got.Code, ok)
		}
	}
	if _, ok := f.svc.AreaByFID(-1); ok {
		t.Error("area -1 found")
	}
	pp := f.publishElsewhere(t, leafPlan(t, f.svc))
	for _, g := range pp.Plan.Grids {
		if got, ok := f.svc.PublishedGrid(g.FID); !ok || got.Code != g.Code {
			t.Fatalf("grid %d: %v %v", g.FID, got.Code, ok)
		}
	}
	old := pp.Plan.Grids[0].FID
	f.publishElsewhere(t, leafPlan(t, f.svc))
	if _, ok := f.svc.PublishedGrid(old); ok {
		t.Errorf("grid %d of the plan no longer published still found", old)
	}
}

// A follower the feed's pruning passed by reloads every view; the entries
// in between are never published, so every stream ends (EndReload) and
// its client resumes from the feed, or reloads.
func TestStreamsEndOnReload(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "reload.gpkg")
	store, err := gpkg.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc := live.New(live.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Poll: 20 * time.Millisecond})
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	sub := svc.Subscribe(nil, 0)
	f := fixture{svc: svc, other: store}
	f.addHazards(t, "reload-a", 1)
	f.addHazards(t, "reload-b", 1)
	f.addHazards(t, "reload-c", 1)
	if _, err := store.PruneChanges(ctx, 1); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	eventually(t, "the stream ended by the reload", func() bool { return sub.Ended() == live.EndReload })
	if _, ok := <-sub.C(); ok {
		t.Error("an entry was published across the reload")
	}
}
