package postgis

import (
	"context"
	"errors"
	"time"

	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wangge/wangge/data"
)

// Reads from hot standbys. A Store opened with read URLs sends its reads
// there (items, features, the change feed, plans, keys) and its writes to
// the primary. A standby replays the primary's WAL a little later, so every
// read says, through its context, which change-feed Seq it must see
// (data.ReadAtLeast); a standby that has not replayed it yet is asked again
// every few milliseconds for up to freshWait, and then the read goes to the
// primary. A standby that fails to answer is skipped for downFor; reads then
// go to another standby or the primary, so losing either side leaves reads
// working.

const (
	// freshWait is how long a read waits for a standby to replay what it
	// needs before it goes to the primary.
	freshWait = time.Second
	// freshPoll is how often a lagging standby is asked again meanwhile.
	freshPoll = 5 * time.Millisecond
	// downFor is how long a standby that failed is left alone.
	downFor = time.Second
)

// standby is a read-only server reads may go to.
type standby struct {
	pool *pgxpool.Pool
	// seen is the highest feed Seq this standby is known to hold.
	seen atomic.Int64
	// downUntil is when, in Unix nanoseconds, the standby may be tried
	// again after a failure.
	downUntil atomic.Int64
}

func (sb *standby) up() bool { return time.Now().UnixNano() >= sb.downUntil.Load() }

func (sb *standby) fail() { sb.downUntil.Store(time.Now().Add(downFor).UnixNano()) }

func (sb *standby) saw(seq int64) {
	for {
		cur := sb.seen.Load()
		if seq <= cur || sb.seen.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// reader returns where a read under ctx goes: a standby that is up and holds
// what ctx asks for, or else the primary (sb nil).
func (s *Store) reader(ctx context.Context) (db *pgxpool.Pool, sb *standby) {
	need := data.ReadFreshness(ctx)
	if need < 0 || len(s.standbys) == 0 {
		return s.pool, nil
	}
	start := int(s.next.Add(1))
	var deadline time.Time
	for {
		lagging := false
		for i := range s.standbys {
			sb := s.standbys[(start+i)%len(s.standbys)]
			if !sb.up() {
				continue
			}
			if sb.seen.Load() >= need || s.replayed(ctx, sb) >= need {
				return sb.pool, sb
			}
			lagging = sb.up() || lagging
		}
		if !lagging {
			return s.pool, nil
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(freshWait)
		}
		if time.Now().After(deadline) {
			return s.pool, nil
		}
		select {
		case <-ctx.Done():
			return s.pool, nil
		case <-time.After(freshPoll):
		}
	}
}

// replayed asks a standby for the newest Seq of its feed; -1 when it cannot
// say (it is then marked down).
func (s *Store) replayed(ctx context.Context, sb *standby) int64 {
	ctx, cancel := context.WithTimeout(ctx, freshWait)
	defer cancel()
	var last int64
	if err := sb.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM wangge_changes`).Scan(&last); err != nil {
		if ctx.Err() == nil {
			sb.fail()
		}
		return -1
	}
	sb.saw(last)
	return last
}

// readOn runs a read on the server reader picks. When a standby fails it
// with the database unavailable (gone, restarting, or cancelling the query
// in a conflict with recovery), it is marked down and the read runs again on
// the primary: reads are safe to repeat.
func readOn[T any](ctx context.Context, s *Store, read func(db *pgxpool.Pool) (T, error)) (T, error) {
	db, sb := s.reader(ctx)
	v, err := read(db)
	if sb == nil || err == nil || ctx.Err() != nil {
		return v, err
	}
	var pe *pgconn.PgError
	switch {
	case data.ErrorCode(err) == data.EUNAVAILABLE:
		sb.fail()
	case errors.As(err, &pe) && pe.Code == "42P01":
		// undefined_table: the standby has not replayed a migration yet.
	default:
		return v, err
	}
	return read(s.pool)
}

// PingWrite reports whether the primary answers and takes writes: not a
// standby still in recovery, which a URL without target_session_attrs may
// name after a failover.
func (s *Store) PingWrite(ctx context.Context) error {
	var recovering bool
	if err := s.pool.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&recovering); err != nil {
		if ctx.Err() != nil {
			return data.Wrap(data.EUNAVAILABLE, err, "the primary did not answer in time")
		}
		return mapErr(ctx, err, "ping the primary")
	}
	if recovering {
		return data.Errorf(data.EUNAVAILABLE, "the database is a standby in recovery, not a primary; writes wait for a promotion")
	}
	return nil
}
