package postgis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wangge/wangge/data"
)

// This file holds the write transaction itself: Begin with its locks, the
// failure that spoils it, Seq, Commit and Rollback. The rows it buffers
// are in tx_batch.go, the writes of each layer and of plans in tx_write.go.

// Tx is a write transaction. Add methods validate in Go, check the record's
// id against the ids this transaction added and those already stored, then
// buffer the row, so that a bad record is refused alone (EINVALID,
// ECONFLICT) and leaves the transaction usable, while good rows reach the
// server in COPY batches. A failed statement, by contrast, aborts a
// PostgreSQL transaction: after one, every call returns that error.
type Tx struct {
	s     *Store
	tx    pgx.Tx
	bufs  map[data.Layer]*buffer
	keys  map[data.Layer]*keySet
	ids   map[data.Layer]*fids
	err   error // the statement failure that spoiled the transaction
	cause error // its pgx error
	done  bool

	// buffered is the layer whose rows are buffered, if any: one layer's
	// at a time, to keep the order of the writes.
	buffered data.Layer
}

var _ data.Tx = (*Tx)(nil)

// Begin starts a write transaction. Readers keep seeing the last committed
// state until Commit.
//
// It first takes the change feed's advisory lock (see
// migrations/0003_changes.sql), which the feed's triggers take too and which
// is held until Commit or Rollback: writers commit one at a time, so the
// feed's seqs grow in commit order, and every row lock of a transaction is
// taken after the advisory lock, never before, so writers cannot deadlock
// on the pair. The wait is bounded by the statement (or lock) timeout.
//
// Writers of one Store first wait for each other in the process, so that
// only one of them holds a pooled connection while it waits for the lock
// and waiting writers cannot starve the readers of connections. That wait
// is bounded like the lock's, by the statement or lock timeout.
func (s *Store) Begin(ctx context.Context) (data.Tx, error) {
	if err := s.acquireWriter(ctx); err != nil {
		return nil, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		s.releaseWriter()
		return nil, mapErr(ctx, err, "begin")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.feed.key); err != nil {
		tx.Rollback(context.Background())
		s.releaseWriter()
		return nil, mapErr(ctx, err, "begin: wait for the other writers")
	}
	return &Tx{s: s, tx: tx, bufs: map[data.Layer]*buffer{}, keys: map[data.Layer]*keySet{}, ids: map[data.Layer]*fids{}}, nil
}

// acquireWriter waits until no other transaction of this Store is open.
func (s *Store) acquireWriter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var timeout <-chan time.Time
	if s.writeWait > 0 {
		t := time.NewTimer(s.writeWait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case s.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timeout:
		return data.Errorf(data.EUNAVAILABLE, "another write has kept the store busy for %v; retry later", s.writeWait)
	}
}

func (s *Store) releaseWriter() { <-s.writer }

// usable returns why the transaction cannot take more work, or nil.
func (t *Tx) usable() error {
	if t.done {
		return data.Errorf(data.EINTERNAL, "transaction already finished")
	}
	return t.err
}

// fail records a statement failure, which aborts the PostgreSQL
// transaction. The error it returns never has a record-level code
// (EINVALID, ECONFLICT): callers that skip bad records must stop here.
func (t *Tx) fail(ctx context.Context, err error, format string, args ...any) error {
	e := mapErr(ctx, err, format, args...)
	switch data.ErrorCode(e) {
	case data.ECONFLICT:
		// Our own checks passed, so another transaction committed the same
		// id since: the whole write must be retried.
		e = data.Wrap(data.EUNAVAILABLE, err, "a concurrent write stored the same id; nothing was written, retry")
	case data.EINVALID:
		e = fmt.Errorf("postgis: "+format+": %w", append(args, err)...)
	}
	t.err, t.cause = e, err
	return e
}

// Seq returns the highest seq of the change feed this transaction sees,
// after sending its buffered rows. The transaction holds the feed's lock
// (Begin), so no other writer's change can come between: once committed,
// its last change has this seq.
func (t *Tx) Seq(ctx context.Context) (int64, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	if err := t.flushAll(ctx); err != nil {
		return 0, err
	}
	var seq int64
	if err := t.tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM wangge_changes`).Scan(&seq); err != nil {
		return 0, t.fail(ctx, err, "read the feed's last seq")
	}
	return seq, nil
}

// Commit sends what is buffered and commits. A spoiled transaction is
// rolled back and its error returned.
func (t *Tx) Commit() error {
	if err := t.usable(); err != nil {
		t.Rollback()
		return err
	}
	// The commit itself must not be half-cancelled by a caller's context.
	ctx := context.Background()
	if err := t.flushAll(ctx); err != nil {
		t.Rollback()
		// At commit a duplicate from a concurrent writer is a plain conflict.
		return mapErr(ctx, t.cause, "commit")
	}
	t.done = true
	err := t.tx.Commit(ctx)
	t.s.releaseWriter()
	if err != nil {
		return mapErr(ctx, err, "commit")
	}
	// After a bulk import the planner's statistics still describe the
	// table before it; refresh them now rather than when autovacuum
	// notices, so bbox and filter queries get good plans at once. Best
	// effort: the data is committed whatever happens here.
	for l, ks := range t.keys {
		if ks.adds >= analyzeAdds {
			actx, cancel := context.WithTimeout(ctx, time.Minute)
			t.s.pool.Exec(actx, `ANALYZE `+string(l))
			cancel()
		}
	}
	return nil
}

// Rollback abandons the transaction; after Commit it does nothing.
func (t *Tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	err := t.tx.Rollback(context.Background())
	t.s.releaseWriter()
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return mapErr(context.Background(), err, "rollback")
}
