package data

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Audited is the one way to make an audited write: it runs fn in one
// transaction, records the audit entries fn returns, all by actor, in the
// same transaction, and commits. A write is therefore never without its
// record, and a write that fails leaves neither. fn returns the entries
// rather than being given them because most writes know their target
// (a new fid) or their "after" only once they have run; it returns at
// least one (plan.generate with plan.publish returns two). Audited fills
// in what an entry leaves out: the time (now) and a null before or after.
//
// An actor of "" is for the writes no one answers for in the log (the
// demo's data, an import run without an actor): only then may fn return no
// entries, and none is recorded.
//
// It returns the change-feed Seq of the commit, which a caller waits for
// before it answers, so that its own views show the write.
func Audited(ctx context.Context, s Store, actor string, fn func(tx Tx) ([]AuditEntry, error)) (seq int64, err error) {
	tx, err := s.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	// A request with an Idempotency-Key claims it first in its write's
	// transaction, before the write's own checks (a copy of a request
	// would fail them as a duplicate), so that two copies of it make one
	// write whichever replica they reach; the write's target is added
	// once it is known.
	c := claimOf(ctx)
	if c != nil && !c.Claimed {
		if err := c.claim(ctx, tx); err != nil {
			return 0, err
		}
	} else {
		c = nil
	}
	entries, err := fn(tx)
	if err != nil {
		return 0, err
	}
	if c != nil && len(entries) > 0 && entries[0].Target != "" {
		c.Target = entries[0].Target
		if err := tx.SaveIdempotency(ctx, c.Idempotency); err != nil {
			return 0, err
		}
	}
	if len(entries) == 0 && actor != "" {
		return 0, errors.New("data.Audited: a write without an audit entry")
	}
	for _, e := range entries {
		e.Actor = actor
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
	}
	if seq, err = tx.Seq(ctx); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return seq, nil
}
