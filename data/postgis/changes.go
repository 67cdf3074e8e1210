package postgis

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wangge/wangge/data"
)

// The change feed is written by triggers (migrations/0003_changes.sql), so
// that changes made with psql, ogr2ogr or QGIS are recorded as well as
// wangge's own; this file reads it.

// feedID names the feed of the store's schema: the advisory lock key its
// writers take and the channel its triggers NOTIFY.
type feedID struct {
	key     int64
	channel string
}

// readFeedID asks the database for the feed's lock key and channel, from
// the schema where wangge_changes is found on this connection's search
// path (the same functions give them to the triggers).
func readFeedID(ctx context.Context, conn *pgx.Conn) (feedID, error) {
	var f feedID
	err := conn.QueryRow(ctx, `SELECT wangge_feed_key(n.nspname), wangge_feed_channel(n.nspname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = 'wangge_changes'::regclass`).Scan(&f.key, &f.channel)
	if err != nil {
		return feedID{}, mapErr(ctx, err, "find the change feed")
	}
	return f, nil
}

// Channel returns the PostgreSQL NOTIFY channel on which the store's
// triggers announce committed changes (LISTEN "<channel>").
func (s *Store) Channel() string { return s.feed.channel }

// Changes returns entries of the change feed in seq order.
func (s *Store) Changes(ctx context.Context, q data.ChangeQuery) ([]data.Change, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Change, error) { return changesOn(ctx, db, q) })
}

func changesOn(ctx context.Context, db *pgxpool.Pool, q data.ChangeQuery) ([]data.Change, error) {
	if q.Limit <= 0 {
		return nil, data.Errorf(data.EINVALID, "a change query needs a limit above 0, got %d", q.Limit)
	}
	conds := []string{`seq > $1`}
	args := []any{q.After}
	if q.UpTo > 0 {
		args = append(args, q.UpTo)
		conds = append(conds, `seq <= $`+strconv.Itoa(len(args)))
	}
	if len(q.Layers) > 0 {
		args = append(args, q.Layers)
		conds = append(conds, `layer = ANY($`+strconv.Itoa(len(args))+`)`)
	}
	args = append(args, q.Limit)
	rows, err := db.Query(ctx, `SELECT seq, layer, fid, op, at FROM wangge_changes WHERE `+strings.Join(conds, ` AND `)+
		` ORDER BY seq LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, mapErr(ctx, err, "read the change feed")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (data.Change, error) {
		var c data.Change
		err := row.Scan(&c.Seq, &c.Layer, &c.FID, &c.Op, &c.At)
		c.At = c.At.UTC()
		return c, err
	})
	if err != nil {
		return nil, mapErr(ctx, err, "read the change feed")
	}
	return out, nil
}

// FeedBounds returns the lowest and highest seq in the feed; 0, 0 when it
// is empty.
func (s *Store) FeedBounds(ctx context.Context) (first, last int64, err error) {
	b, err := readOn(ctx, s, func(db *pgxpool.Pool) ([2]int64, error) {
		var b [2]int64
		err := db.QueryRow(ctx, `SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM wangge_changes`).Scan(&b[0], &b[1])
		if err != nil {
			return b, mapErr(ctx, err, "read the bounds of the change feed")
		}
		// What a standby holds is learnt here at every poll, so the
		// reads that follow seldom need to ask it again.
		for _, sb := range s.standbys {
			if sb.pool == db {
				sb.saw(b[1])
			}
		}
		return b, nil
	})
	return b[0], b[1], err
}

// PruneChanges deletes all but the newest keep entries (at least one is
// kept, so the last seq never goes back). On a read-only database (a hot
// standby, default_transaction_read_only) it does nothing.
func (s *Store) PruneChanges(ctx context.Context, keep int) (int, error) {
	// A webhook that is not paused still has to deliver the entries after
	// its cursor: they stay (data/webhooks.go).
	tag, err := s.pool.Exec(ctx, `DELETE FROM wangge_changes
		WHERE seq <= (SELECT seq FROM wangge_changes ORDER BY seq DESC OFFSET $1 LIMIT 1)
			AND seq <= coalesce((SELECT min(cursor) FROM wangge_webhooks WHERE NOT paused), 9223372036854775807)`, max(keep, 1))
	if readOnly(err) {
		return 0, nil
	}
	if err != nil {
		return 0, mapErr(ctx, err, "prune the change feed")
	}
	return int(tag.RowsAffected()), nil
}

// Listen timings: with no notification for listenIdle, Listen checks that
// its connection still answers, within listenPing, so that a connection
// lost without a word (a network cut, a frozen server) is found.
const (
	listenIdle = 30 * time.Second
	listenPing = 10 * time.Second
)

// Listen calls wake after each committed transaction that changed the feed
// (notifications of one transaction are merged; several may be merged into
// one wake), until ctx is done or the connection is lost, and returns why
// it stopped: ctx's error, or an EUNAVAILABLE error for the connection. It
// holds a connection of its own, outside the pool, with the pool's settings.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return connectErr(ctx, err, s.cfg)
	}
	defer func() {
		// Close says goodbye to the server; a frozen one must not keep us.
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{s.feed.channel}.Sanitize()); err != nil {
		return listenErr(ctx, err)
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, cmp.Or(s.listenIdle, listenIdle))
		_, err := conn.WaitForNotification(wctx)
		idle := wctx.Err() != nil
		cancel()
		switch {
		case err == nil:
			wake()
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !idle:
			return listenErr(ctx, err)
		}
		pctx, cancel := context.WithTimeout(ctx, cmp.Or(s.listenPing, listenPing))
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return listenErr(ctx, err)
		}
	}
}

// listenErr is the error that stops Listen: ctx's own, or the connection's
// as EUNAVAILABLE (anything else going wrong on a LISTEN connection means it
// is gone).
func listenErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	e := mapErr(ctx, err, "listen for changes")
	if data.ErrorCode(e) != data.EUNAVAILABLE {
		e = data.Wrap(data.EUNAVAILABLE, err, "lost the connection that listens for changes")
	}
	return e
}

// readOnly reports whether err is PostgreSQL refusing a write on a
// read-only database (a hot standby, default_transaction_read_only).
func readOnly(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "25006" // read_only_sql_transaction
}
