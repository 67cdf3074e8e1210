package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
)

// testKeysAndAudit: keys are stored with their hash and role, revoked once,
// refused twice; audit entries come back newest first, filtered, and are
// written or rolled back with the transaction they belong to.
func testKeysAndAudit(t *testing.T, s data.Store) {
	ctx := context.Background()
	if keys, err := s.Keys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("Keys on an empty store = %v, %v", keys, err)
	}
	if _, err := s.Key(ctx, "nope"); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("Key(nope) = %v, want ENOTFOUND", err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tx := begin(t, s)
	if err := tx.AddKey(ctx, data.Key{ID: "k1", Role: data.RolePlanner, Name: "office", Hash: []byte{1, 2, 3}, CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "duplicate key", tx.AddKey(ctx, data.Key{ID: "k1", Role: data.RoleViewer, Hash: []byte{9}, CreatedAt: created}), data.ECONFLICT, "duplicate key id")
	wantCode(t, "bad role", tx.AddKey(ctx, data.Key{ID: "k2", Role: "boss", Hash: []byte{9}, CreatedAt: created}), data.EINVALID, "unknown role")
	if err := tx.Audit(ctx, data.AuditEntry{At: created, Actor: "cli:root", Action: "key.create", Target: "keys/k1", After: json.RawMessage(`{"role":"planner"}`)}); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)

	k, err := s.Key(ctx, "k1")
	if err != nil || k.Role != data.RolePlanner || string(k.Hash) != "\x01\x02\x03" || !k.CreatedAt.Equal(created) || !k.RevokedAt.IsZero() || k.Name != "office" {
		t.Fatalf("Key(k1) = %+v, %v", k, err)
	}

	// An audited write that is rolled back leaves no entry.
	tx = begin(t, s)
	if err := tx.Audit(ctx, data.AuditEntry{Actor: "k1", Action: "hazard.create", Target: "hazards/1"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	tx = begin(t, s)
	revoked := created.Add(time.Hour)
	if err := tx.RevokeKey(ctx, "k1", revoked); err != nil {
		t.Fatal(err)
	}
	if err := tx.RevokeKey(ctx, "k1", revoked.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "revoke missing", tx.RevokeKey(ctx, "k9", revoked), data.ENOTFOUND, "no key")
	if err := tx.Audit(ctx, data.AuditEntry{At: revoked, Actor: "cli:root", Action: "key.revoke", Target: "keys/k1", Before: json.RawMessage(`{"role":"planner"}`)}); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	if k, _ := s.Key(ctx, "k1"); !k.RevokedAt.Equal(revoked) {
		t.Errorf("revoked at %v, want the first revocation %v", k.RevokedAt, revoked)
	}

	entries, n, err := s.AuditLog(ctx, data.AuditQuery{Limit: 10})
	if err != nil || n != 2 || len(entries) != 2 {
		t.Fatalf("AuditLog = %d of %d, %v", len(entries), n, err)
	}
	if entries[0].Action != "key.revoke" || entries[1].Action != "key.create" || !entries[0].At.Equal(revoked) {
		t.Errorf("audit order: %+v", entries)
	}
	var after map[string]string
	if err := json.Unmarshal(entries[1].After, &after); err != nil || after["role"] != "planner" || string(entries[1].Before) != "null" {
		t.Errorf("audit before/after: %s / %s (%v)", entries[1].Before, entries[1].After, err)
	}
	if got, n, _ := s.AuditLog(ctx, data.AuditQuery{Action: "key.create", Limit: 10}); n != 1 || got[0].Target != "keys/k1" {
		t.Errorf("filter by action: %d %+v", n, got)
	}
	if got, n, _ := s.AuditLog(ctx, data.AuditQuery{Limit: 1, Offset: 1}); n != 2 || len(got) != 1 || got[0].Action != "key.create" {
		t.Errorf("page 2: %d %+v", n, got)
	}
	if _, n, _ := s.AuditLog(ctx, data.AuditQuery{Since: revoked.Add(time.Minute)}); n != 0 {
		t.Errorf("since: %d entries", n)
	}
}
