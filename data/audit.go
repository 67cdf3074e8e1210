package data

import (
	"context"
	"encoding/json"
	"time"
)

// Audited runs fn in one transaction, records the audit entry fn returns in
// the same transaction and commits. It returns the change-feed Seq of the
// commit, which a caller waits for before it answers, so that its own
// views show the write. On any error nothing is written.
func Audited(ctx context.Context, s Store, fn func(tx Tx) (AuditEntry, error)) (int64, error) {
	tx, err := s.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	e, err := fn(tx)
	if err != nil {
		return 0, err
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.Before == nil {
		e.Before = json.RawMessage("null")
	}
	if e.After == nil {
		e.After = json.RawMessage("null")
	}
	if err := tx.Audit(ctx, e); err != nil {
		return 0, err
	}
	seq, err := tx.Seq(ctx)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return seq, nil
}
