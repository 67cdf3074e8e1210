package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
)

// testWebhooks: subscriptions are stored, read, held, changed and deleted
// as written; a duplicate id is ECONFLICT; PruneChanges keeps what a
// webhook that is not paused has still to deliver.
func testWebhooks(t *testing.T, s data.Store) {
	ctx := context.Background()
	assignee := ""
	w := data.Webhook{ID: "hotline", URL: "https://hooks.example.cn/wangge", Secret: "0123456789abcdef0123", Role: data.RoleViewer,
		Filter:    data.StreamFilter{Layers: []string{"hazards"}, BBox: []float64{9.5, 47.1, 9.6, 47.2}, Assignee: &assignee},
		CreatedAt: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
	tx := begin(t, s)
	if err := tx.AddWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	tx = begin(t, s)
	if err := tx.AddWebhook(ctx, w); data.ErrorCode(err) != data.ECONFLICT {
		t.Errorf("a second webhook %q: %v, want ECONFLICT", w.ID, err)
	}
	bad := w
	bad.ID, bad.URL = "bad", "ftp://x"
	if err := tx.AddWebhook(ctx, bad); data.ErrorCode(err) != data.EINVALID || data.ErrorField(err) != "url" {
		t.Errorf("a webhook to ftp://: %v, want EINVALID on url", err)
	}
	tx.Rollback()
	got, err := s.Webhook(ctx, "hotline")
	if err != nil || got.URL != w.URL || got.Secret != w.Secret || got.Role != w.Role || !got.CreatedAt.Equal(w.CreatedAt) ||
		!slices.Equal(got.Filter.Layers, w.Filter.Layers) || !slices.Equal(got.Filter.BBox, w.Filter.BBox) ||
		got.Filter.Assignee == nil || *got.Filter.Assignee != "" || got.Paused || !got.LastAttempt.IsZero() {
		t.Errorf("Webhook = %+v, %v; want %+v", got, err, w)
	}

	// Entries after the cursor of a live webhook are kept.
	fill(t, s)
	all := feed(t, s, 0)
	n := len(all)
	tx = begin(t, s)
	cur, err := tx.WebhookForUpdate(ctx, "hotline")
	if err != nil {
		t.Fatal(err)
	}
	cur.Cursor, cur.Failures, cur.LastError, cur.LastAttempt = all[2].Seq, 2, "receiver answered 503", time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	if err := tx.UpdateWebhook(ctx, cur); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	if got, err := s.PruneChanges(ctx, 1); got != 3 || err != nil {
		t.Errorf("PruneChanges(1) with a webhook at the 3rd of %d entries = %d, %v; want 3", n, got, err)
	}
	if first, _, _ := s.FeedBounds(ctx); first != all[3].Seq {
		t.Errorf("feed begins at %d, want %d (after the webhook's cursor)", first, all[3].Seq)
	}
	// A paused one holds nothing back.
	tx = begin(t, s)
	cur, _ = tx.WebhookForUpdate(ctx, "hotline")
	cur.Paused = true
	if err := tx.UpdateWebhook(ctx, cur); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	if got, err := s.PruneChanges(ctx, 1); got != n-4 || err != nil {
		t.Errorf("PruneChanges(1) with the webhook paused = %d, %v; want %d", got, err, n-4)
	}
	if got, _ := s.Webhook(ctx, "hotline"); !got.Paused || got.Failures != 2 || got.LastError != "receiver answered 503" || got.Cursor != all[2].Seq {
		t.Errorf("after update: %+v", got)
	}

	tx = begin(t, s)
	if err := tx.DeleteWebhook(ctx, "hotline"); err != nil {
		t.Fatal(err)
	}
	if err := tx.DeleteWebhook(ctx, "hotline"); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("deleting it twice: %v, want ENOTFOUND", err)
	}
	commit(t, tx)
	if ws, err := s.Webhooks(ctx); err != nil || len(ws) != 0 {
		t.Errorf("Webhooks after the delete = %v, %v", ws, err)
	}
}

// testIdempotency: a key is claimed once; its answer is saved and read
// back; records past the TTL are pruned and may be claimed again.
func testIdempotency(t *testing.T, s data.Store) {
	ctx := context.Background()
	c := data.Idempotency{Scope: "key1", Key: "k-1", Hash: "h1", CreatedAt: time.Now()}
	if _, err := s.Idempotency(ctx, "key1", "k-1"); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("before a claim: %v, want ENOTFOUND", err)
	}
	tx := begin(t, s)
	if ok, err := tx.ClaimIdempotency(ctx, c); !ok || err != nil {
		t.Fatalf("first claim = %v, %v", ok, err)
	}
	commit(t, tx)
	tx = begin(t, s)
	if ok, err := tx.ClaimIdempotency(ctx, c); ok || err != nil {
		t.Errorf("second claim = %v, %v; want false", ok, err)
	}
	other := c
	other.Scope = "key2"
	if ok, err := tx.ClaimIdempotency(ctx, other); !ok || err != nil {
		t.Errorf("the same key of another scope = %v, %v; want true", ok, err)
	}
	// The transaction is still usable after a claim refused.
	c.Target, c.Status, c.Header, c.Body = "hazards/7", 201, map[string]string{"Location": "/collections/hazards/items/7"}, []byte(`{"id":7}`)
	if err := tx.SaveIdempotency(ctx, c); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	got, err := s.Idempotency(ctx, "key1", "k-1")
	if err != nil || got.Hash != "h1" || got.Target != "hazards/7" || got.Status != 201 || got.Header["Location"] != c.Header["Location"] || string(got.Body) != `{"id":7}` {
		t.Errorf("Idempotency = %+v, %v", got, err)
	}
	if n, err := s.PruneIdempotency(ctx, time.Now().Add(time.Hour)); n != 2 || err != nil {
		t.Errorf("PruneIdempotency = %d, %v; want 2", n, err)
	}
	if _, err := s.Idempotency(ctx, "key1", "k-1"); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("after pruning: %v, want ENOTFOUND", err)
	}
}
