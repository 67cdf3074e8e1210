package data

import (
	"context"
	"encoding/json"
	"time"
)

// CreateKey makes an API key for role, stores it and records key.create
// for actor, in one transaction. It returns the token, to be shown to the
// user this once, and the key as stored. The CLI and the HTTP API both
// create keys through it, so both leave the same record. worker, when not
// empty, ties the key to a worker on the roster (a field worker's phone):
// the key then acts on the events assigned to that worker.
func CreateKey(ctx context.Context, s Store, actor string, role Role, name, worker string) (string, Key, error) {
	token, k, err := NewKey(role, name, time.Now())
	if err != nil {
		return "", Key{}, err
	}
	if worker != "" {
		if _, err := s.Worker(ReadPrimary(ctx), worker); ErrorCode(err) == ENOTFOUND {
			return "", Key{}, FieldError(EINVALID, "worker", "no worker %q on the roster", worker)
		} else if err != nil {
			return "", Key{}, err
		}
		k.Worker = worker
	}
	_, err = Audited(ctx, s, actor, func(tx Tx) ([]AuditEntry, error) {
		if err := tx.AddKey(ctx, k); err != nil {
			return nil, err
		}
		return []AuditEntry{{Action: "key.create", Target: "keys/" + k.ID, After: keyRecord(k)}}, nil
	})
	if err != nil {
		return "", Key{}, err
	}
	return token, k, nil
}

// RevokeKey revokes key id as of now and records key.revoke for actor, in
// one transaction; ENOTFOUND if there is no such key. Revoking a key that
// is revoked already changes nothing and records nothing: revoked is false
// then, and the caller answers as if it had revoked it (revoking is
// idempotent).
func RevokeKey(ctx context.Context, s Store, actor, id string, now time.Time) (revoked bool, err error) {
	// Read before the transaction: a read inside it would need a second
	// connection while the write holds the first.
	k, err := s.Key(ctx, id)
	if err != nil {
		return false, err
	}
	if !k.RevokedAt.IsZero() {
		return false, nil
	}
	_, err = Audited(ctx, s, actor, func(tx Tx) ([]AuditEntry, error) {
		if err := tx.RevokeKey(ctx, id, now); err != nil {
			return nil, err
		}
		after := k
		after.RevokedAt = now
		return []AuditEntry{{Action: "key.revoke", Target: "keys/" + id, Before: keyRecord(k), After: keyRecord(after)}}, nil
	})
	return err == nil, err
}

// keyRecord is a key as the audit log shows it: its KeyInfo.
func keyRecord(k Key) json.RawMessage {
	b, _ := json.Marshal(k.Info())
	return b
}
