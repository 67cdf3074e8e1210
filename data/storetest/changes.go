package storetest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// The change feed's contract (data/changes.go): every committed write is
// in the feed with its layer, fid and operation, in commit order, and
// nothing else is. Seqs are compared by order only: PostgreSQL sequences
// may skip numbers.

// entry is a change without its seq and time, as a test expects it.
type entry struct {
	Layer string
	FID   int64
	Op    string
}

func (e entry) String() string { return fmt.Sprintf("%s/%d %s", e.Layer, e.FID, e.Op) }

func entries(cs []data.Change) []entry {
	out := make([]entry, len(cs))
	for i, c := range cs {
		out[i] = entry{c.Layer, c.FID, c.Op}
	}
	return out
}

func sortedEntries(es []entry) []entry {
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.String(), b.String()) })
	return es
}

// feed reads the feed after seq, all of it.
func feed(t *testing.T, s data.Store, after int64) []data.Change {
	t.Helper()
	cs, err := s.Changes(context.Background(), data.ChangeQuery{After: after, Limit: 1 << 30})
	if err != nil {
		t.Fatalf("Changes(after %d): %v", after, err)
	}
	return cs
}

func lastSeq(t *testing.T, s data.Store) int64 {
	t.Helper()
	_, last, err := s.FeedBounds(context.Background())
	if err != nil {
		t.Fatalf("FeedBounds: %v", err)
	}
	return last
}

// checkSeqs fails unless the changes' seqs are above after and strictly
// increasing, and their times are set and plausible.
func checkSeqs(t *testing.T, what string, cs []data.Change, after int64) {
	t.Helper()
	prev := after
	for _, c := range cs {
		if c.Seq <= prev {
			t.Errorf("%s: seq %d after %d: seqs must grow", what, c.Seq, prev)
		}
		prev = c.Seq
		if d := time.Since(c.At); c.At.IsZero() || d > time.Hour || d < -time.Hour {
			t.Errorf("%s: change %d at %v, not now", what, c.Seq, c.At)
		}
	}
}

// writeStep commits what write does in one transaction and checks that
// exactly what it returns (and then what later returns, after the commit)
// was recorded: in this order if ordered, else in any order. Tx.Seq just
// before the commit must be the seq of the last change.
func writeStep(t *testing.T, s data.Store, name string, ordered bool, write func(data.Tx) []entry, later ...func() []entry) {
	t.Helper()
	ctx := context.Background()
	before := lastSeq(t, s)
	tx := begin(t, s)
	want := write(tx)
	seq, err := tx.Seq(ctx)
	if err != nil {
		t.Fatalf("%s: Seq: %v", name, err)
	}
	commit(t, tx)
	for _, l := range later {
		want = append(want, l()...)
	}
	got := feed(t, s, before)
	checkSeqs(t, name, got, before)
	ge, we := entries(got), want
	if !ordered {
		ge, we = sortedEntries(ge), sortedEntries(we)
	}
	if !slices.Equal(ge, we) {
		t.Errorf("%s: feed\n got %v\nwant %v", name, ge, we)
	}
	if len(got) > 0 && got[len(got)-1].Seq != seq {
		t.Errorf("%s: Tx.Seq before commit = %d, the last change has seq %d", name, seq, got[len(got)-1].Seq)
	}
	if len(got) == 0 && seq != before {
		t.Errorf("%s: Tx.Seq of a transaction that changed nothing = %d, the feed ends at %d", name, seq, before)
	}
}

// testChangesEachWrite: every kind of write through data.Tx is recorded
// with its layer, fid and operation.
func testChangesEachWrite(t *testing.T, s data.Store) {
	ctx := context.Background()
	if first, last, err := s.FeedBounds(ctx); first != 0 || last != 0 || err != nil {
		t.Fatalf("FeedBounds of an empty store = %d, %d, %v; want 0, 0", first, last, err)
	}
	if cs := feed(t, s, 0); len(cs) != 0 {
		t.Fatalf("feed of an empty store: %v", cs)
	}
	hz := data.Hazard{ID: "z1", Point: orb.Point{9.52, 47.12}, Category: "fire", Severity: 2, Status: "reported", ReportedAt: at}
	cam := data.Camera{ID: "c1", Point: orb.Point{9.55, 47.15}, Azimuth: 90, FOV: 60, RangeM: 50, Status: "online"}
	H, C, A, HH, P, G, K := string(data.LayerHazards), string(data.LayerCameras), string(data.LayerAreas),
		string(data.LayerHouseholds), data.FeedPlans, string(data.LayerGrids), data.FeedKeys
	ins, upd, del := data.OpInsert, data.OpUpdate, data.OpDelete

	writeStep(t, s, "add hazard", true, func(tx data.Tx) []entry {
		hz.FID = ok(t)(tx.AddHazard(ctx, hz))
		return []entry{{H, hz.FID, ins}}
	})
	writeStep(t, s, "update hazard", true, func(tx data.Tx) []entry {
		hz.Status = "resolved"
		if err := tx.UpdateHazard(ctx, hz); err != nil {
			t.Fatal(err)
		}
		return []entry{{H, hz.FID, upd}}
	})
	writeStep(t, s, "add and update camera", true, func(tx data.Tx) []entry {
		cam.FID = ok(t)(tx.AddCamera(ctx, cam))
		cam.Status = "offline"
		if err := tx.UpdateCamera(ctx, cam); err != nil {
			t.Fatal(err)
		}
		return []entry{{C, cam.FID, ins}, {C, cam.FID, upd}}
	})
	writeStep(t, s, "delete camera and hazard", true, func(tx data.Tx) []entry {
		if err := tx.Delete(ctx, data.LayerCameras, cam.FID); err != nil {
			t.Fatal(err)
		}
		if err := tx.Delete(ctx, data.LayerHazards, hz.FID); err != nil {
			t.Fatal(err)
		}
		return []entry{{C, cam.FID, del}, {H, hz.FID, del}}
	})
	// Insert, update and delete of one row in one transaction, in order: a
	// follower replaying the feed must end with the row gone.
	writeStep(t, s, "hazard born and gone", true, func(tx data.Tx) []entry {
		h := hz
		h.ID = "z2"
		h.FID = ok(t)(tx.AddHazard(ctx, h))
		h.Severity = 3
		if err := tx.UpdateHazard(ctx, h); err != nil {
			t.Fatal(err)
		}
		if err := tx.Delete(ctx, data.LayerHazards, h.FID); err != nil {
			t.Fatal(err)
		}
		return []entry{{H, h.FID, ins}, {H, h.FID, upd}, {H, h.FID, del}}
	})
	writeStep(t, s, "add household and area", true, func(tx data.Tx) []entry {
		h := ok(t)(tx.AddHousehold(ctx, data.Household{ID: "h1", Point: orb.Point{9.52, 47.12}, Households: 3}))
		a := ok(t)(tx.AddArea(ctx, data.Area{Code: "A", Name: "Alpha", Level: 1, Geometry: square}))
		return []entry{{HH, h, ins}, {A, a, ins}}
	})
	writeStep(t, s, "add key", true, func(tx data.Tx) []entry {
		if err := tx.AddKey(ctx, data.Key{ID: "k1", Role: data.RoleViewer, Hash: []byte{1}, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		return []entry{{K, 0, ins}}
	})
	writeStep(t, s, "revoke key", true, func(tx data.Tx) []entry {
		if err := tx.RevokeKey(ctx, "k1", at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		return []entry{{K, 0, upd}}
	})
	plan := func(code string) data.Plan {
		return data.Plan{Target: 10, Resolution: 9, Grids: []data.Grid{
			{Code: code + "1", ParentCode: "A", Households: 1, AreaM2: 1, Geometry: square},
			{Code: code + "2", ParentCode: "A", Households: 2, AreaM2: 1, Geometry: triangle},
		}}
	}
	gridEntries := func(id int64, op string) []entry {
		p, err := s.Plan(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []entry
		for _, g := range p.Grids {
			out = append(out, entry{G, g.FID, op})
		}
		return out
	}
	var p1, p2 int64
	writeStep(t, s, "save plan", false, func(tx data.Tx) []entry {
		p1 = ok(t)(tx.SavePlan(ctx, plan("G")))
		return []entry{{P, p1, ins}}
	}, func() []entry { return gridEntries(p1, ins) }) // the grids' fids are known after the commit
	writeStep(t, s, "save a second plan, publish the first", true, func(tx data.Tx) []entry {
		p2 = ok(t)(tx.SavePlan(ctx, data.Plan{Target: 10, Resolution: 9}))
		if err := tx.PublishPlan(ctx, p1); err != nil {
			t.Fatal(err)
		}
		return []entry{{P, p2, ins}, {P, p1, upd}}
	})
	writeStep(t, s, "publish the second", false, func(tx data.Tx) []entry {
		if err := tx.PublishPlan(ctx, p2); err != nil {
			t.Fatal(err)
		}
		return []entry{{P, p1, upd}, {P, p2, upd}}
	})

	// Clear records a delete of every row it deletes.
	var hazards []entry
	tx := begin(t, s)
	for i := range 3 {
		h := hz
		h.ID = fmt.Sprintf("clear%d", i)
		hazards = append(hazards, entry{H, ok(t)(tx.AddHazard(ctx, h)), del})
	}
	commit(t, tx)
	writeStep(t, s, "clear hazards", false, func(tx data.Tx) []entry {
		if err := tx.Clear(ctx, data.LayerHazards); err != nil {
			t.Fatal(err)
		}
		return hazards
	})
	grids := append(gridEntries(p1, del), entry{P, p1, del}, entry{P, p2, del})
	writeStep(t, s, "clear grids (and so plans)", false, func(tx data.Tx) []entry {
		if err := tx.Clear(ctx, data.LayerGrids); err != nil {
			t.Fatal(err)
		}
		return grids
	})
}

// testChangesBulk: a big write (an import) is recorded row by row, and a
// delete after the inserts in the same transaction comes after them.
func testChangesBulk(t *testing.T, s data.Store) {
	ctx := context.Background()
	const n = 500
	fids := make([]int64, 0, n)
	writeStep(t, s, "import", true, func(tx data.Tx) []entry {
		var want []entry
		for i := range n {
			fid := ok(t)(tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("b%d", i), Point: orb.Point{9.5 + float64(i)/1e5, 47.1}, Households: 1}))
			fids = append(fids, fid)
			want = append(want, entry{string(data.LayerHouseholds), fid, data.OpInsert})
			if i == n/2 {
				// A hazard in the middle of the households.
				h := ok(t)(tx.AddHazard(ctx, data.Hazard{ID: "mid", Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 1, Status: "reported", ReportedAt: at}))
				want = append(want, entry{string(data.LayerHazards), h, data.OpInsert})
			}
		}
		for _, i := range []int{n - 1, 0, n / 3} {
			if err := tx.Delete(ctx, data.LayerHouseholds, fids[i]); err != nil {
				t.Fatal(err)
			}
			want = append(want, entry{string(data.LayerHouseholds), fids[i], data.OpDelete})
		}
		fid := ok(t)(tx.AddHousehold(ctx, data.Household{ID: "b0", Point: orb.Point{9.6, 47.2}, Households: 2}))
		return append(want, entry{string(data.LayerHouseholds), fid, data.OpInsert})
	})
}

// testChangesRollback: a rolled-back transaction records nothing, and a
// record refused inside a transaction that commits records nothing either.
func testChangesRollback(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	first, last, err := s.FeedBounds(ctx)
	if err != nil || first <= 0 || last < first {
		t.Fatalf("FeedBounds after fill = %d, %d, %v", first, last, err)
	}
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		ok(t)(tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("r%d", i), Point: orb.Point{9.5, 47.1}, Households: 1}))
	}
	h := f.hazards[0]
	h.Status = "resolved"
	if err := tx.UpdateHazard(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(ctx, data.LayerCameras, f.cameras[0].FID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Clear(ctx, data.LayerAreas); err != nil {
		t.Fatal(err)
	}
	id := ok(t)(tx.SavePlan(ctx, data.Plan{Target: 10, Resolution: 8}))
	if err := tx.PublishPlan(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := tx.AddKey(ctx, data.Key{ID: "k", Role: data.RoleAdmin, Hash: []byte{1}, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Seq(ctx); err != nil {
		t.Fatal(err)
	}
	// Readers do not see the feed of a transaction before it commits.
	if f2, l2, _ := s.FeedBounds(ctx); f2 != first || l2 != last {
		t.Errorf("FeedBounds during a write = %d, %d; want %d, %d", f2, l2, first, last)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if f2, l2, _ := s.FeedBounds(ctx); f2 != first || l2 != last {
		t.Errorf("FeedBounds after rollback = %d, %d; want %d, %d", f2, l2, first, last)
	}
	if cs := feed(t, s, last); len(cs) != 0 {
		t.Errorf("a rolled-back transaction left %v in the feed", entries(cs))
	}

	writeStep(t, s, "refused records", true, func(tx data.Tx) []entry {
		dup := f.hazards[1]
		_, err := tx.AddHazard(ctx, dup)
		wantCode(t, "duplicate hazard", err, data.ECONFLICT, "")
		taken := f.hazards[0]
		taken.ID = f.hazards[1].ID
		wantCode(t, "update to a taken id", tx.UpdateHazard(ctx, taken), data.ECONFLICT, "")
		wantCode(t, "delete missing", tx.Delete(ctx, data.LayerHazards, f.hazards[2].FID+1000), data.ENOTFOUND, "")
		if err := tx.AddKey(ctx, data.Key{ID: "k0", Role: data.RoleViewer, Hash: []byte{1}, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "duplicate key", tx.AddKey(ctx, data.Key{ID: "k0", Role: data.RoleViewer, Hash: []byte{1}, CreatedAt: at}), data.ECONFLICT, "")
		fid := ok(t)(tx.AddHousehold(ctx, data.Household{ID: "new", Point: orb.Point{9.5, 47.1}, Households: 1}))
		return []entry{{data.FeedKeys, 0, data.OpInsert}, {string(data.LayerHouseholds), fid, data.OpInsert}}
	})
}

// testChangesSeq: Tx.Seq before Commit is the seq the transaction's last
// change has after it; seqs grow in commit order, also when transactions
// run at the same time.
func testChangesSeq(t *testing.T, s data.Store) {
	ctx := context.Background()
	tx := begin(t, s)
	if seq, err := tx.Seq(ctx); err != nil || seq != 0 {
		t.Errorf("Seq of a transaction on an empty feed = %d, %v; want 0", seq, err)
	}
	var prev int64
	for i := range 3 {
		fid := ok(t)(tx.AddHazard(ctx, data.Hazard{ID: fmt.Sprintf("s%d", i), Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 1, Status: "reported", ReportedAt: at}))
		seq, err := tx.Seq(ctx)
		if err != nil || seq <= prev {
			t.Errorf("Seq after write %d (fid %d) = %d, %v; want above %d", i, fid, seq, err, prev)
		}
		prev = seq
	}
	commit(t, tx)
	if last := lastSeq(t, s); last != prev {
		t.Errorf("FeedBounds last = %d, Tx.Seq said %d", last, prev)
	}

	// Concurrent writers: each learns its seq before the commit; the feed
	// then holds each one's change at that seq.
	const writers = 8
	type result struct {
		fid, seq int64
	}
	results := make(chan result, writers*5)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				tx, err := s.Begin(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				fid, err := tx.AddHazard(ctx, data.Hazard{ID: fmt.Sprintf("w%d-%d", w, i), Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 1, Status: "reported", ReportedAt: at})
				if err != nil {
					tx.Rollback()
					t.Error(err)
					return
				}
				seq, err := tx.Seq(ctx)
				if err != nil {
					tx.Rollback()
					t.Error(err)
					return
				}
				if err := tx.Commit(); err != nil {
					t.Error(err)
					return
				}
				results <- result{fid, seq}
			}
		}()
	}
	wg.Wait()
	close(results)
	bySeq := map[int64]data.Change{}
	cs := feed(t, s, prev)
	checkSeqs(t, "concurrent writers", cs, prev)
	for _, c := range cs {
		bySeq[c.Seq] = c
	}
	n := 0
	for r := range results {
		n++
		c, found := bySeq[r.seq]
		if !found || c.FID != r.fid || c.Layer != string(data.LayerHazards) || c.Op != data.OpInsert {
			t.Errorf("a writer added hazard %d and was told seq %d; the feed has %+v there", r.fid, r.seq, c)
		}
	}
	if n != writers*5 || len(cs) != n {
		t.Errorf("%d transactions committed, %d changes recorded; want %d", n, len(cs), writers*5)
	}
}

// testChangesQuery: After, UpTo, Layers and Limit select from the feed.
func testChangesQuery(t *testing.T, s data.Store) {
	ctx := context.Background()
	fill(t, s)
	tx := begin(t, s)
	if err := tx.AddKey(ctx, data.Key{ID: "k", Role: data.RoleAdmin, Hash: []byte{1}, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	for i := range 100 { // enough households for a bulk write
		ok(t)(tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("q%d", i), Point: orb.Point{9.5, 47.1}, Households: 1}))
	}
	ok(t)(tx.AddHazard(ctx, data.Hazard{ID: "late", Point: orb.Point{9.5, 47.1}, Category: "water", Severity: 1, Status: "reported", ReportedAt: at}))
	commit(t, tx)
	all := feed(t, s, 0)
	checkSeqs(t, "all", all, 0)
	if len(all) != 3+2+3+2+1+2+1+100+1 {
		t.Fatalf("%d changes after fill and more, want %d: %v", len(all), 3+2+3+2+1+2+1+100+1, entries(all))
	}
	first, last, err := s.FeedBounds(ctx)
	if err != nil || first != all[0].Seq || last != all[len(all)-1].Seq {
		t.Errorf("FeedBounds = %d, %d, %v; want %d, %d", first, last, err, all[0].Seq, all[len(all)-1].Seq)
	}
	mid := all[len(all)/2].Seq
	var gap int64 // a seq that is not in the feed, if the store skipped one
	for i := 1; i < len(all); i++ {
		if all[i].Seq > all[i-1].Seq+1 {
			gap = all[i-1].Seq + 1
		}
	}
	pick := func(after, upTo int64, layers []string, limit int) []data.Change {
		var out []data.Change
		for _, c := range all {
			if c.Seq > after && (upTo == 0 || c.Seq <= upTo) && (len(layers) == 0 || slices.Contains(layers, c.Layer)) && len(out) < limit {
				out = append(out, c)
			}
		}
		return out
	}
	H, HH := string(data.LayerHazards), string(data.LayerHouseholds)
	for _, tc := range []data.ChangeQuery{
		{Limit: 1},
		{Limit: 10},
		{After: mid, Limit: 1000},
		{After: mid, Limit: 5},
		{After: last, Limit: 10},
		{After: last + 100, Limit: 10},
		{UpTo: mid, Limit: 1000},
		{After: all[2].Seq, UpTo: all[5].Seq, Limit: 1000},
		{After: all[2].Seq, UpTo: all[5].Seq, Limit: 2},
		{After: mid, UpTo: mid, Limit: 10},
		{After: gap, UpTo: gap, Limit: 10},
		{Layers: []string{H}, Limit: 1000},
		{Layers: []string{H}, Limit: 2},
		{Layers: []string{H}, After: mid, Limit: 1000},
		{Layers: []string{H, data.FeedKeys}, Limit: 1000},
		{Layers: []string{H, data.FeedKeys, data.FeedPlans}, Limit: 4},
		{Layers: []string{HH, H}, After: all[5].Seq, UpTo: mid, Limit: 7},
		{Layers: []string{H, H}, Limit: 1000},
		{Layers: []string{"roads"}, Limit: 10},
		{Layers: []string{string(data.LayerGrids), string(data.LayerAreas)}, UpTo: all[3].Seq, Limit: 1000},
	} {
		name := fmt.Sprintf("%+v", tc)
		got, err := s.Changes(ctx, tc)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want := pick(tc.After, tc.UpTo, tc.Layers, tc.Limit)
		if !slices.EqualFunc(got, want, func(a, b data.Change) bool {
			return a.Seq == b.Seq && entries([]data.Change{a})[0] == entries([]data.Change{b})[0]
		}) {
			t.Errorf("%s:\n got %d %v\nwant %d %v", name, len(got), entries(got), len(want), entries(want))
		}
	}
}

// testPruneChanges: PruneChanges keeps the newest entries, never the last
// one, and FeedBounds follows.
func testPruneChanges(t *testing.T, s data.Store) {
	ctx := context.Background()
	if n, err := s.PruneChanges(ctx, 0); n != 0 || err != nil {
		t.Errorf("PruneChanges on an empty feed = %d, %v", n, err)
	}
	fill(t, s)
	all := feed(t, s, 0)
	n := len(all)
	if n < 10 {
		t.Fatalf("only %d changes after fill", n)
	}
	if got, err := s.PruneChanges(ctx, n+5); got != 0 || err != nil {
		t.Errorf("PruneChanges(%d) of %d = %d, %v; want 0", n+5, n, got, err)
	}
	if got, err := s.PruneChanges(ctx, 5); got != n-5 || err != nil {
		t.Errorf("PruneChanges(5) of %d = %d, %v; want %d", n, got, err, n-5)
	}
	first, last, err := s.FeedBounds(ctx)
	if err != nil || first != all[n-5].Seq || last != all[n-1].Seq {
		t.Errorf("FeedBounds after keeping 5 = %d, %d, %v; want %d, %d", first, last, err, all[n-5].Seq, all[n-1].Seq)
	}
	if kept := feed(t, s, 0); !slices.EqualFunc(kept, all[n-5:], func(a, b data.Change) bool { return a.Seq == b.Seq }) {
		t.Errorf("kept %v, want the newest 5 %v", entries(kept), entries(all[n-5:]))
	}
	// Keeping none keeps the newest: last never goes back.
	if got, err := s.PruneChanges(ctx, 0); got != 4 || err != nil {
		t.Errorf("PruneChanges(0) = %d, %v; want 4", got, err)
	}
	if first, last, _ := s.FeedBounds(ctx); first != all[n-1].Seq || last != all[n-1].Seq {
		t.Errorf("FeedBounds after keeping none = %d, %d; want %d, %d", first, last, all[n-1].Seq, all[n-1].Seq)
	}
	// New changes come after the pruned ones.
	tx := begin(t, s)
	fid := ok(t)(tx.AddHousehold(ctx, data.Household{ID: "after-prune", Point: orb.Point{9.5, 47.1}, Households: 1}))
	commit(t, tx)
	cs := feed(t, s, 0)
	if len(cs) != 2 || cs[1].Seq <= all[n-1].Seq || cs[1].FID != fid {
		t.Errorf("feed after prune and a write: %v", cs)
	}
}

// testForUpdate: HazardForUpdate and CameraForUpdate read the record as
// the transaction sees it, and ENOTFOUND when there is none.
func testForUpdate(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	tx := begin(t, s)
	h, err := tx.HazardForUpdate(ctx, f.hazards[1].FID)
	if err != nil || !equalHazard(h, f.hazards[1]) {
		t.Errorf("HazardForUpdate(%d) = %+v, %v; want %+v", f.hazards[1].FID, h, err, f.hazards[1])
	}
	c, err := tx.CameraForUpdate(ctx, f.cameras[0].FID)
	if err != nil || c != f.cameras[0] {
		t.Errorf("CameraForUpdate(%d) = %+v, %v; want %+v", f.cameras[0].FID, c, err, f.cameras[0])
	}
	missing := f.hazards[2].FID + f.cameras[1].FID + 1000
	_, err = tx.HazardForUpdate(ctx, missing)
	wantCode(t, "HazardForUpdate of a missing fid", err, data.ENOTFOUND, strconv.FormatInt(missing, 10))
	_, err = tx.CameraForUpdate(ctx, missing)
	wantCode(t, "CameraForUpdate of a missing fid", err, data.ENOTFOUND, strconv.FormatInt(missing, 10))
	// The transaction's own writes, not yet committed.
	h.Severity = 3
	if err := tx.UpdateHazard(ctx, h); err != nil {
		t.Fatal(err)
	}
	if got, err := tx.HazardForUpdate(ctx, h.FID); err != nil || got.Severity != 3 {
		t.Errorf("HazardForUpdate after an update in the same tx = %+v, %v", got, err)
	}
	if err := tx.Delete(ctx, data.LayerCameras, c.FID); err != nil {
		t.Fatal(err)
	}
	_, err = tx.CameraForUpdate(ctx, c.FID)
	wantCode(t, "CameraForUpdate of a camera deleted in the tx", err, data.ENOTFOUND, "")
	// A not-found read does not spoil the transaction.
	commit(t, tx)
	if got, _ := s.Hazard(ctx, h.FID); got.Severity != 3 {
		t.Errorf("hazard after commit: %+v", got)
	}
}

// testForUpdateConcurrent: read-merge-write through HazardForUpdate from
// many goroutines at once loses no update. Each round reads a counter kept
// in the hazard's id and writes it back plus one (and flips its status):
// a lost update leaves the counter short.
func testForUpdateConcurrent(t *testing.T, s data.Store) {
	ctx := context.Background()
	tx := begin(t, s)
	fid := ok(t)(tx.AddHazard(ctx, data.Hazard{ID: "n0", Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 1, Status: "reported", ReportedAt: at}))
	camFID := ok(t)(tx.AddCamera(ctx, data.Camera{ID: "n0", Point: orb.Point{9.5, 47.1}, Azimuth: 0, FOV: 90, RangeM: 10, Status: "online"}))
	commit(t, tx)
	before := lastSeq(t, s)
	const goroutines, rounds = 8, 10
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if err := increment(ctx, s, fid, camFID, g%2 == 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	h, err := s.Hazard(ctx, fid)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Camera(ctx, camFID)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("n%d", goroutines*rounds/2)
	if h.ID != want || c.ID != want {
		t.Errorf("after %d increments of each: hazard %q, camera %q; want %q (an update was lost)", goroutines*rounds/2, h.ID, c.ID, want)
	}
	wantStatus := data.StatusReported // flipped an even number of times
	if h.Status != wantStatus {
		t.Errorf("hazard status %q, want %q", h.Status, wantStatus)
	}
	updates := 0
	for _, c := range feed(t, s, before) {
		if c.Op == data.OpUpdate && (c.FID == fid && c.Layer == string(data.LayerHazards) || c.FID == camFID && c.Layer == string(data.LayerCameras)) {
			updates++
		}
	}
	if updates != goroutines*rounds {
		t.Errorf("%d updates in the feed, want %d", updates, goroutines*rounds)
	}
}

// increment adds one to the counter in the id of the hazard (or the
// camera) in one read-merge-write transaction.
func increment(ctx context.Context, s data.Store, hazard, camera int64, useHazard bool) error {
	tx, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	next := func(id string) (string, error) {
		n, err := strconv.Atoi(strings.TrimPrefix(id, "n"))
		return fmt.Sprintf("n%d", n+1), err
	}
	if useHazard {
		h, err := tx.HazardForUpdate(ctx, hazard)
		if err != nil {
			return err
		}
		if h.ID, err = next(h.ID); err != nil {
			return err
		}
		// The store keeps any state it is given: the state machine is
		// checked above it (data.CheckTransition).
		h.Status = map[data.Status]data.Status{data.StatusReported: data.StatusResolved, data.StatusResolved: data.StatusReported}[h.Status]
		if err := tx.UpdateHazard(ctx, h); err != nil {
			return err
		}
	} else {
		c, err := tx.CameraForUpdate(ctx, camera)
		if err != nil {
			return err
		}
		if c.ID, err = next(c.ID); err != nil {
			return err
		}
		if err := tx.UpdateCamera(ctx, c); err != nil {
			return err
		}
	}
	return tx.Commit()
}
