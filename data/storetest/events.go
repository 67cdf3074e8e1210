package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/cql2"
)

// The events' contract (data/events.go, data/workers.go): the workflow's
// fields of a hazard, the roster, each event's history, the worker of a
// key, and the roster's entries in the change feed.

// testHazardEvents: every field of an event survives a write and a read,
// by each way of reading it; a time not set is stored as none (NULL) and
// read back as the zero time, and shows as null in features; an update
// can set a time and clear it again.
func testHazardEvents(t *testing.T, s data.Store) {
	ctx := context.Background()
	full := data.Hazard{ID: "e1", Point: orb.Point{9.52, 47.12}, Category: "dispute_land", Severity: 3, Status: data.StatusClosed,
		ReportedAt: at, Note: "邻里纠纷：调解完成\nline two, 'quoted'", Assignee: "w-07", RespCode: "A1001", RespLevel: 3,
		DueAt: at.Add(48 * time.Hour), ResolvedAt: at.Add(30 * time.Hour), ClosedAt: at.Add(50 * time.Hour)}
	bare := data.Hazard{ID: "e2", Point: orb.Point{9.58, 47.18}, Category: "fire", Severity: 1, Status: data.StatusEscalated, ReportedAt: at}
	tx := begin(t, s)
	full.FID = ok(t)(tx.AddHazard(ctx, full))
	bare.FID = ok(t)(tx.AddHazard(ctx, bare))
	// Read inside the transaction that wrote them, too.
	for _, h := range []data.Hazard{full, bare} {
		if got, err := tx.HazardForUpdate(ctx, h.FID); err != nil || !equalHazard(got, h) {
			t.Errorf("HazardForUpdate(%d) before commit:\n got %+v, %v\nwant %+v", h.FID, got, err, h)
		}
	}
	commit(t, tx)

	check := func(when string, want ...data.Hazard) {
		t.Helper()
		all, err := s.Hazards(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range want {
			if got, err := s.Hazard(ctx, h.FID); err != nil || !equalHazard(got, h) {
				t.Errorf("%s: Hazard(%d):\n got %+v, %v\nwant %+v", when, h.FID, got, err, h)
			}
			if i >= len(all) || !equalHazard(all[i], h) {
				t.Errorf("%s: Hazards does not carry hazard %d as written: %+v", when, h.FID, all)
			}
		}
	}
	check("after add", full, bare)

	// Features: text times in UTC, null where none is set.
	props := func(h data.Hazard) map[string]any {
		tm := func(t time.Time) any {
			if t.IsZero() {
				return nil
			}
			return t.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		return map[string]any{"source_id": h.ID, "category": h.Category, "status": string(h.Status), "severity": int64(h.Severity),
			"reported_at": tm(h.ReportedAt), "note": h.Note, "assignee": h.Assignee, "resp_code": h.RespCode,
			"resp_level": int64(h.RespLevel), "due_at": tm(h.DueAt), "resolved_at": tm(h.ResolvedAt), "closed_at": tm(h.ClosedAt)}
	}
	checkFeatures := func(when string, want ...data.Hazard) {
		t.Helper()
		for _, h := range want {
			f, err := s.Item(ctx, data.LayerHazards, h.FID)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%#v", f.Properties) != fmt.Sprintf("%#v", props(h)) {
				t.Errorf("%s: Item(hazards, %d) properties:\n got %#v\nwant %#v", when, h.FID, f.Properties, props(h))
			}
		}
	}
	checkFeatures("after add", full, bare)

	// Clearing the times stores none; setting them again stores them.
	tx = begin(t, s)
	cleared := full
	cleared.Status, cleared.Note, cleared.Assignee, cleared.RespCode, cleared.RespLevel = data.StatusReopened, "", "", "", 0
	cleared.DueAt, cleared.ResolvedAt, cleared.ClosedAt = time.Time{}, time.Time{}, time.Time{}
	if err := tx.UpdateHazard(ctx, cleared); err != nil {
		t.Fatal(err)
	}
	set := bare
	set.Status, set.Assignee, set.RespCode, set.RespLevel = data.StatusAssigned, "w-08", "A", 1
	set.DueAt, set.ResolvedAt, set.ClosedAt = at.Add(time.Hour), at.Add(2*time.Hour), at.Add(3*time.Hour)
	if err := tx.UpdateHazard(ctx, set); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	check("after update", cleared, set)
	checkFeatures("after update", cleared, set)

	// The workflow's fields are filterable where Properties says so.
	for _, tc := range []struct {
		name string
		q    data.Query
		want []int64
	}{
		{"assignee", data.Query{Filter: map[string]string{"assignee": "w-08"}}, []int64{set.FID}},
		{"no assignee", data.Query{Filter: map[string]string{"assignee": ""}}, []int64{cleared.FID}},
		{"resp_code", data.Query{Filter: map[string]string{"resp_code": "A"}}, []int64{set.FID}},
		{"resp_level", data.Query{Filter: map[string]string{"resp_level": "0"}}, []int64{cleared.FID}},
		{"status", data.Query{Filter: map[string]string{"status": "assigned"}}, []int64{set.FID}},
		{"cql2 resp_level", data.Query{Where: mustCQL2(t, "resp_level >= 1 AND assignee LIKE 'w-%'")}, []int64{set.FID}},
	} {
		tc.q.Limit = 10
		page, err := s.Items(ctx, data.LayerHazards, tc.q)
		if err != nil || !slices.Equal(fids(page), tc.want) || page.Matched != len(tc.want) {
			t.Errorf("%s: %v (matched %d), %v; want %v", tc.name, fids(page), page.Matched, err, tc.want)
		}
	}
}

func mustCQL2(t *testing.T, text string) *cql2.Expr {
	t.Helper()
	e, err := cql2.Parse(text)
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	return e
}

// testWorkers: the roster is stored, listed by id, read one by one, held
// for update, replaced, deleted and cleared; a duplicate id is ECONFLICT
// naming it, a missing one ENOTFOUND naming it, an invalid worker EINVALID
// naming its field, and none of these spoils the transaction.
func testWorkers(t *testing.T, s data.Store) {
	ctx := context.Background()
	if ws, err := s.Workers(ctx); err != nil || ws == nil || len(ws) != 0 {
		t.Fatalf("Workers of an empty store = %#v, %v; want an empty list", ws, err)
	}
	_, err := s.Worker(ctx, "w1")
	wantCode(t, "Worker of an empty store", err, data.ENOTFOUND, `no worker "w1"`)

	w1 := data.Worker{ID: "w1", Name: "王芳", Role: "grid_worker", Phone: "+86 138-0000-0000", GridCodes: []string{"A1001", "A1002"}}
	w2 := data.Worker{ID: "W.2-b", Name: "Li Lei", Role: "grid_chief", GridCodes: []string{"A1"}}
	w0 := data.Worker{ID: "a0", Name: "Zhang", Role: "grid_worker", GridCodes: []string{"B001"}}
	tx := begin(t, s)
	for _, w := range []data.Worker{w1, w2, w0} {
		if err := tx.AddWorker(ctx, w); err != nil {
			t.Fatalf("AddWorker(%s): %v", w.ID, err)
		}
	}
	dup := w2
	dup.Name = "someone else"
	err = tx.AddWorker(ctx, dup)
	wantCode(t, "duplicate worker", err, data.ECONFLICT, `duplicate worker id "W.2-b"`)
	if data.ErrorField(err) != "id" {
		t.Errorf("duplicate worker: field %q, want id", data.ErrorField(err))
	}
	for _, tc := range []struct {
		name  string
		w     data.Worker
		field string
	}{
		{"bad id", data.Worker{ID: "has space", Name: "x", Role: "grid_worker", GridCodes: []string{"A"}}, "id"},
		{"no name", data.Worker{ID: "w9", Role: "grid_worker", GridCodes: []string{"A"}}, "name"},
		{"no role", data.Worker{ID: "w9", Name: "x", GridCodes: []string{"A"}}, "role"},
		{"bad phone", data.Worker{ID: "w9", Name: "x", Role: "grid_worker", Phone: "call me", GridCodes: []string{"A"}}, "phone"},
		{"no grid", data.Worker{ID: "w9", Name: "x", Role: "grid_worker"}, "grid_codes"},
		{"code with ;", data.Worker{ID: "w9", Name: "x", Role: "grid_worker", GridCodes: []string{"A;B"}}, "grid_codes"},
	} {
		for op, err := range map[string]error{"add": tx.AddWorker(ctx, tc.w), "update": tx.UpdateWorker(ctx, tc.w)} {
			wantCode(t, op+" "+tc.name, err, data.EINVALID, "")
			if data.ErrorField(err) != tc.field {
				t.Errorf("%s %s: %v names field %q, want %q", op, tc.name, err, data.ErrorField(err), tc.field)
			}
		}
	}
	// Inside the transaction, before the commit.
	if got, err := tx.WorkerForUpdate(ctx, "w1"); err != nil || !equalWorker(got, w1) {
		t.Errorf("WorkerForUpdate(w1) = %+v, %v; want %+v", got, err, w1)
	}
	_, err = tx.WorkerForUpdate(ctx, "nobody")
	wantCode(t, "WorkerForUpdate of a missing id", err, data.ENOTFOUND, `no worker "nobody"`)
	commit(t, tx)

	// By id, in byte order (upper case first), whatever the store's
	// collation.
	want := []data.Worker{w2, w0, w1}
	ws, err := s.Workers(ctx)
	if err != nil || len(ws) != len(want) {
		t.Fatalf("Workers = %+v, %v; want %+v", ws, err, want)
	}
	for i := range want {
		if !equalWorker(ws[i], want[i]) {
			t.Errorf("worker %d:\n got %+v\nwant %+v", i, ws[i], want[i])
		}
	}
	if got, err := s.Worker(ctx, "W.2-b"); err != nil || !equalWorker(got, w2) {
		t.Errorf("Worker(W.2-b) = %+v, %v", got, err)
	}
	if _, err := s.Worker(ctx, "w.2-b"); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("Worker ids are case-sensitive: Worker(w.2-b) = %v", err)
	}

	// Read, change, write, in one transaction; a missing worker is not
	// found by any of them.
	tx = begin(t, s)
	got, err := tx.WorkerForUpdate(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	got.Name, got.Phone, got.GridCodes = "王芳芳", "", []string{"A1003"}
	if err := tx.UpdateWorker(ctx, got); err != nil {
		t.Fatal(err)
	}
	if again, err := tx.WorkerForUpdate(ctx, "w1"); err != nil || !equalWorker(again, got) {
		t.Errorf("WorkerForUpdate after an update in the same tx = %+v, %v", again, err)
	}
	missing := w1
	missing.ID = "nobody"
	wantCode(t, "update missing", tx.UpdateWorker(ctx, missing), data.ENOTFOUND, `no worker "nobody"`)
	wantCode(t, "delete missing", tx.DeleteWorker(ctx, "nobody"), data.ENOTFOUND, `no worker "nobody"`)
	if err := tx.DeleteWorker(ctx, "a0"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "delete twice", tx.DeleteWorker(ctx, "a0"), data.ENOTFOUND, `no worker "a0"`)
	// The id of a deleted worker is free again in the same transaction.
	w0.Name = "Zhang again"
	if err := tx.AddWorker(ctx, w0); err != nil {
		t.Errorf("re-add a deleted worker: %v", err)
	}
	commit(t, tx)
	for _, w := range []data.Worker{got, w0} {
		if g, err := s.Worker(ctx, w.ID); err != nil || !equalWorker(g, w) {
			t.Errorf("Worker(%s) after update = %+v, %v; want %+v", w.ID, g, err, w)
		}
	}

	// A rolled-back change of the roster leaves it as it was.
	tx = begin(t, s)
	if err := tx.ClearWorkers(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.AddWorker(ctx, data.Worker{ID: "ghost", Name: "x", Role: "grid_worker", GridCodes: []string{"A"}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if ws, _ := s.Workers(ctx); len(ws) != 3 {
		t.Errorf("%d workers after a rolled-back clear, want 3", len(ws))
	}

	// Clear then add is how a roster import replaces the roster: the old
	// ids are free.
	tx = begin(t, s)
	if err := tx.ClearWorkers(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.AddWorker(ctx, w1); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	if ws, err := s.Workers(ctx); err != nil || len(ws) != 1 || !equalWorker(ws[0], w1) {
		t.Errorf("Workers after clear and add = %+v, %v; want only w1", ws, err)
	}
	tx = begin(t, s)
	if err := tx.ClearWorkers(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.ClearWorkers(ctx); err != nil {
		t.Errorf("clearing an empty roster: %v", err)
	}
	commit(t, tx)
	if ws, err := s.Workers(ctx); err != nil || ws == nil || len(ws) != 0 {
		t.Errorf("Workers after clear = %#v, %v; want an empty list", ws, err)
	}
}

// equalWorker compares workers; no grid codes and an empty list are the
// same.
func equalWorker(a, b data.Worker) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Role == b.Role && a.Phone == b.Phone && slices.Equal(a.GridCodes, b.GridCodes)
}

// testEventHistory: steps come back per event, oldest first, with every
// field; an event without history has none; a bad step is EINVALID and
// does not spoil the transaction; steps roll back with their transaction
// and outlive their event.
func testEventHistory(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	z1, z2 := f.hazards[0].FID, f.hazards[1].FID
	if h, err := s.EventHistory(ctx, z1); err != nil || h == nil || len(h) != 0 {
		t.Fatalf("EventHistory of an event without history = %#v, %v; want an empty list", h, err)
	}
	steps := []data.EventStep{
		{FID: z1, At: at, Actor: "k1", To: data.StatusReported, RespCode: "A1002", Note: "reported by phone"},
		{FID: z2, At: at, Actor: "cli:root", To: data.StatusReported},
		{FID: z1, At: at.Add(time.Minute), Actor: "system", From: data.StatusReported, To: data.StatusAssigned, Assignee: "w1", RespCode: "A1002"},
		// Steps are kept in the order they were added, not by time: a
		// clock set back does not reorder a history.
		{FID: z1, At: at.Add(-time.Hour), Actor: "k2", From: data.StatusAssigned, To: data.StatusEscalated, Assignee: "", RespCode: "A1",
			Note: "上报: beyond the grid's means"},
		{FID: z2, At: at.Add(time.Hour), Actor: "k1", From: data.StatusReported, To: data.StatusRejected, Note: "duplicate of z1"},
	}
	tx := begin(t, s)
	var prev int64
	for i, st := range steps {
		id, err := tx.AddEventStep(ctx, st)
		if err != nil {
			t.Fatalf("AddEventStep %d: %v", i, err)
		}
		if id <= prev {
			t.Errorf("step %d has id %d after %d: ids must grow", i, id, prev)
		}
		steps[i].ID, prev = id, id
	}
	for _, tc := range []struct {
		name  string
		st    data.EventStep
		field string
	}{
		{"no event", data.EventStep{At: at, Actor: "k1", To: data.StatusReported}, "fid"},
		{"no actor", data.EventStep{FID: z1, At: at, To: data.StatusReported}, "actor"},
		{"no state", data.EventStep{FID: z1, At: at, Actor: "k1"}, "to"},
		{"unknown state", data.EventStep{FID: z1, At: at, Actor: "k1", To: "open"}, "to"},
		{"bad text", data.EventStep{FID: z1, At: at, Actor: "k1", To: data.StatusAccepted, Note: "a\x00"}, "note"},
	} {
		_, err := tx.AddEventStep(ctx, tc.st)
		wantCode(t, tc.name, err, data.EINVALID, "")
		if data.ErrorField(err) != tc.field {
			t.Errorf("%s: %v names field %q, want %q", tc.name, err, data.ErrorField(err), tc.field)
		}
	}
	// The previous state is kept as it was, even one that is no state:
	// a planner's repair of a status another tool wrote.
	repair := data.EventStep{FID: z2, At: at, Actor: "k1", From: "open", To: data.StatusAccepted}
	var err error
	if repair.ID, err = tx.AddEventStep(ctx, repair); err != nil {
		t.Errorf("a step from a status no state has: %v", err)
	}
	// A step without a time happens now.
	now := data.EventStep{FID: z2, Actor: "k1", From: data.StatusRejected, To: data.StatusReopened}
	if now.ID, err = tx.AddEventStep(ctx, now); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)

	check := func(fid int64, want []data.EventStep) {
		t.Helper()
		got, err := s.EventHistory(ctx, fid)
		if err != nil || len(got) != len(want) {
			t.Fatalf("EventHistory(%d) = %+v, %v; want %+v", fid, got, err, want)
		}
		for i := range want {
			g, w := got[i], want[i]
			sameTime := g.At.Equal(w.At) && g.At.Location() == time.UTC
			g.At, w.At = time.Time{}, time.Time{}
			if !sameTime || g != w {
				t.Errorf("EventHistory(%d) step %d:\n got %+v\nwant %+v", fid, i, got[i], want[i])
			}
		}
	}
	check(z1, []data.EventStep{steps[0], steps[2], steps[3]})
	got, err := s.EventHistory(ctx, z2)
	if err != nil || len(got) != 4 {
		t.Fatalf("EventHistory(%d) = %+v, %v", z2, got, err)
	}
	if d := time.Since(got[3].At); got[3].ID != now.ID || d < -time.Minute || d > time.Hour {
		t.Errorf("a step without a time: %+v, want one at about now", got[3])
	}
	now.At = got[3].At
	check(z2, []data.EventStep{steps[1], steps[4], repair, now})

	// Rolled back with its transaction; kept when its event is deleted.
	tx = begin(t, s)
	if _, err := tx.AddEventStep(ctx, data.EventStep{FID: z1, At: at, Actor: "k1", From: data.StatusEscalated, To: data.StatusAccepted}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	tx = begin(t, s)
	if err := tx.Delete(ctx, data.LayerHazards, z1); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	check(z1, []data.EventStep{steps[0], steps[2], steps[3]})
}

// testKeyWorker: a key keeps the worker it acts for; a key for no one
// keeps "".
func testKeyWorker(t *testing.T, s data.Store) {
	ctx := context.Background()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tx := begin(t, s)
	for _, k := range []data.Key{
		{ID: "field1", Role: data.RoleField, Name: "phone of w1", Hash: []byte{1}, CreatedAt: created, Worker: "w1"},
		{ID: "office", Role: data.RolePlanner, Hash: []byte{2}, CreatedAt: created.Add(time.Second)},
	} {
		if err := tx.AddKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	commit(t, tx)
	if k, err := s.Key(ctx, "field1"); err != nil || k.Worker != "w1" || k.Role != data.RoleField {
		t.Errorf("Key(field1) = %+v, %v; want worker w1", k, err)
	}
	keys, err := s.Keys(ctx)
	if err != nil || len(keys) != 2 || keys[0].Worker != "w1" || keys[1].Worker != "" {
		t.Errorf("Keys = %+v, %v; want field1 for w1, office for no one", keys, err)
	}
	// Revoking keeps the worker.
	tx = begin(t, s)
	if err := tx.RevokeKey(ctx, "field1", created.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	if k, _ := s.Key(ctx, "field1"); k.Worker != "w1" || k.RevokedAt.IsZero() {
		t.Errorf("revoked key = %+v", k)
	}
}

// testChangesWorkers: the roster's inserts, updates and deletes are in the
// feed under layer "workers", each with the fid of its row, in the order of
// the writes and among the other writes; a refused worker and a
// rolled-back transaction record nothing; Tx.Seq counts them.
func testChangesWorkers(t *testing.T, s data.Store) {
	ctx := context.Background()
	W, H := data.FeedWorkers, string(data.LayerHazards)
	w1 := data.Worker{ID: "w1", Name: "王芳", Role: "grid_worker", GridCodes: []string{"A1001"}}
	w2 := data.Worker{ID: "w2", Name: "Li", Role: "grid_chief", GridCodes: []string{"A1"}}

	// step commits write and returns the feed it left, checked for seqs
	// and against the transaction's Seq.
	step := func(name string, write func(tx data.Tx)) []data.Change {
		t.Helper()
		before := lastSeq(t, s)
		tx := begin(t, s)
		write(tx)
		seq, err := tx.Seq(ctx)
		if err != nil {
			t.Fatalf("%s: Seq: %v", name, err)
		}
		commit(t, tx)
		got := feed(t, s, before)
		checkSeqs(t, name, got, before)
		if len(got) == 0 || got[len(got)-1].Seq != seq {
			t.Errorf("%s: Tx.Seq before commit = %d, feed %+v", name, seq, got)
		}
		return got
	}
	want := func(name string, got []data.Change, es ...entry) {
		t.Helper()
		if !slices.Equal(entries(got), es) {
			t.Errorf("%s: feed\n got %v\nwant %v", name, entries(got), es)
		}
	}

	var hz int64
	got := step("add workers around a hazard", func(tx data.Tx) {
		if err := tx.AddWorker(ctx, w1); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "duplicate", tx.AddWorker(ctx, w1), data.ECONFLICT, "")
		wantCode(t, "invalid", tx.AddWorker(ctx, data.Worker{ID: "bad id"}), data.EINVALID, "")
		hz = ok(t)(tx.AddHazard(ctx, data.Hazard{ID: "z1", Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 1,
			Status: data.StatusReported, ReportedAt: at}))
		if err := tx.AddWorker(ctx, w2); err != nil {
			t.Fatal(err)
		}
	})
	if len(got) != 3 {
		t.Fatalf("feed after adding two workers and a hazard: %v", entries(got))
	}
	f1, f2 := got[0].FID, got[2].FID
	if f1 <= 0 || f2 <= 0 || f1 == f2 {
		t.Errorf("workers recorded with fids %d and %d: want two positive, different fids", f1, f2)
	}
	want("add", got, entry{W, f1, data.OpInsert}, entry{H, hz, data.OpInsert}, entry{W, f2, data.OpInsert})

	got = step("update and delete", func(tx data.Tx) {
		w := w1
		w.Name = "王芳芳"
		if err := tx.UpdateWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "update missing", tx.UpdateWorker(ctx, data.Worker{ID: "w9", Name: "x", Role: "r", GridCodes: []string{"A"}}), data.ENOTFOUND, "")
		if err := tx.DeleteWorker(ctx, "w2"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "delete missing", tx.DeleteWorker(ctx, "w2"), data.ENOTFOUND, "")
	})
	want("update and delete", got, entry{W, f1, data.OpUpdate}, entry{W, f2, data.OpDelete})

	// A worker re-added gets a new row, and so a new fid.
	got = step("clear and re-add", func(tx data.Tx) {
		if err := tx.ClearWorkers(ctx); err != nil {
			t.Fatal(err)
		}
		if err := tx.AddWorker(ctx, w1); err != nil {
			t.Fatal(err)
		}
	})
	if len(got) != 2 || got[1].FID == f1 {
		t.Fatalf("feed after clear and re-add: %v", entries(got))
	}
	want("clear and re-add", got, entry{W, f1, data.OpDelete}, entry{W, got[1].FID, data.OpInsert})

	before := lastSeq(t, s)
	tx := begin(t, s)
	if err := tx.AddWorker(ctx, w2); err != nil {
		t.Fatal(err)
	}
	if err := tx.ClearWorkers(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if cs := feed(t, s, before); len(cs) != 0 {
		t.Errorf("a rolled-back roster change left %v in the feed", entries(cs))
	}
	// Followers can ask for the roster alone.
	cs, err := s.Changes(ctx, data.ChangeQuery{Layers: []string{W}, Limit: 100})
	if err != nil || len(cs) != 6 {
		t.Errorf("Changes(layers workers) = %v, %v; want the 6 roster entries", entries(cs), err)
	}
}
