// Package postgis is wangge's store on PostgreSQL with PostGIS, for
// deployments that outgrow one GeoPackage file: a city or province, several
// API replicas, data already kept in PostGIS. It implements data.Store and
// data.Tx with the same semantics as data/gpkg; the contract suite in
// data/storetest runs against both.
//
// Geometry is stored in SRID 4326 (geometry(Point|MultiPolygon, 4326)) with
// GiST indexes, and travels as EWKB in PostgreSQL's binary protocol, so no
// geometry is ever formatted as text. The schema lives in versioned SQL
// migrations embedded in the binary and applied by Open (and by `wangge
// migrate`).
//
// Connection URLs are those of pgx (postgres://user@host:port/db?…). Beyond
// pgx's own parameters (pool_max_conns, …) any other query parameter is a
// PostgreSQL setting for every connection: statement_timeout (default 30s)
// bounds a slow query, search_path selects the schema.
//
// The change feed (data.Feed) is kept by statement-level triggers on every
// table it covers (migrations/0003_changes.sql), so writes from psql, GDAL
// or QGIS are recorded as wangge's are. Its writers, Begin included, take an
// advisory lock per schema and hold it until they commit, so that seqs grow
// in commit order; the triggers NOTIFY a channel per schema, which Listen
// (data.Notifier) listens on.
//
// Errors: a lost or refused connection, a server shutting down and a
// statement timeout are data.EUNAVAILABLE (HTTP 503), so the service answers
// "retry later" while the database restarts and recovers by itself when it
// is back, as the pool opens fresh connections.
package postgis

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wangge/wangge/data"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DefaultStatementTimeout bounds every statement unless the URL sets
// statement_timeout: a runaway query must not hold a connection forever.
const DefaultStatementTimeout = "30s"

// Store is a data.Store on PostgreSQL + PostGIS.
type Store struct {
	pool *pgxpool.Pool
	// cfg is the pool's configuration; Listen opens its own connection
	// from it.
	cfg *pgxpool.Config
	// seed hashes source ids for the duplicate checks of transactions.
	seed maphash.Seed
	// feed is the change feed's lock key and NOTIFY channel (changes.go).
	feed feedID
	// writer holds a token while a transaction of this Store is open;
	// Begin waits at most writeWait for it (0: as long as ctx allows).
	writer    chan struct{}
	writeWait time.Duration
	// listenIdle and listenPing replace Listen's timings when set (tests).
	listenIdle, listenPing time.Duration
	// standbys take the reads (standby.go); next spreads them.
	standbys []*standby
	next     atomic.Uint32
}

var (
	_ data.Store    = (*Store)(nil)
	_ data.Notifier = (*Store)(nil)
)

// IsURL reports whether a --db value names a PostgreSQL database.
func IsURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open connects to the database at dsn (a postgres:// URL), applies the migrations it lacks and
// returns the store. The database must have the postgis extension or allow
// the user to create it.
//
// dsn may list several hosts (postgres://a:5432,b:5432/db) with
// target_session_attrs=read-write: new connections then go to whichever of
// them is the primary, so after a standby is promoted writes find it without
// a restart. reads are URLs of hot standbys of the same database, which take
// the reads (standby.go); a standby that cannot be reached now is tried
// again later, so none of them has to be up for Open.
func Open(ctx context.Context, dsn string, reads ...string) (*Store, error) {
	cfg, err := poolConfig(dsn)
	if err != nil {
		return nil, err
	}
	var rcfgs []*pgxpool.Config
	for _, r := range reads {
		rc, err := poolConfig(r)
		if err != nil {
			return nil, data.Errorf(data.EINVALID, "read database: %s", data.ErrorMessage(err))
		}
		rcfgs = append(rcfgs, rc)
	}
	// Migrate on one plain connection first: the pool registers the
	// geometry type on each connection, which needs PostGIS installed.
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, connectErr(ctx, err, cfg)
	}
	_, err = migrate(ctx, conn)
	var feed feedID
	if err == nil {
		feed, err = readFeedID(ctx, conn)
	}
	conn.Close(context.Background())
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, mapErr(ctx, err, "connect to %s", redact(cfg))
	}
	s := &Store{pool: pool, cfg: cfg, seed: maphash.MakeSeed(), feed: feed,
		writer: make(chan struct{}, 1), writeWait: lockWait(cfg.ConnConfig.RuntimeParams)}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	for _, rc := range rcfgs {
		// A standby's pool connects on first use: one that is down now
		// is skipped until it answers.
		rp, err := pgxpool.NewWithConfig(ctx, rc)
		if err != nil {
			s.Close()
			return nil, mapErr(ctx, err, "connect to %s", redact(rc))
		}
		s.standbys = append(s.standbys, &standby{pool: rp})
	}
	return s, nil
}

// Migrate applies the migrations the database at dsn lacks and returns the
// names of those it applied (none when it is up to date).
func Migrate(ctx context.Context, dsn string) ([]string, error) {
	cfg, err := poolConfig(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, connectErr(ctx, err, cfg)
	}
	defer conn.Close(context.Background())
	return migrate(ctx, conn)
}

// poolConfig parses dsn and fills in wangge's defaults where it is silent.
func poolConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the URL, password included: keep it out.
		return nil, data.Errorf(data.EINVALID, "not a usable PostgreSQL URL (postgres://user@host:port/db): %s", scrub(err))
	}
	rp := cfg.ConnConfig.RuntimeParams
	if _, ok := rp["statement_timeout"]; !ok {
		rp["statement_timeout"] = DefaultStatementTimeout
	}
	if _, ok := rp["application_name"]; !ok {
		rp["application_name"] = "wangge"
	}
	// pgxpool's default (4 on small machines) starves an API server whose
	// requests each hold a connection for one query; the URL may say otherwise.
	if !hasParam(dsn, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	// Dead connections are found on use after a restart; checking idle ones
	// soon keeps the first requests after a restart from failing too.
	cfg.HealthCheckPeriod = 5 * time.Second
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	cfg.AfterConnect = registerGeometry
	return cfg, nil
}

// lockWait is how long a statement of these settings may wait for a lock:
// the shorter of statement_timeout and lock_timeout, 0 when neither is set.
func lockWait(params map[string]string) time.Duration {
	var wait time.Duration
	for _, name := range []string{"statement_timeout", "lock_timeout"} {
		v, ok := params[name]
		if !ok {
			continue
		}
		d, ok := pgDuration(v)
		if !ok {
			d, _ = pgDuration(DefaultStatementTimeout)
		}
		if d > 0 && (wait == 0 || d < wait) {
			wait = d
		}
	}
	return wait
}

// pgDuration parses a PostgreSQL time setting in milliseconds by default:
// "30s", "1500", "2 min", "0.5h".
func pgDuration(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := v, "ms"
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	scale := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[unit]
	if err != nil || scale == 0 || f < 0 {
		return 0, false
	}
	return time.Duration(f * float64(scale)), true
}

func hasParam(raw, name string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Query().Has(name)
}

// registerGeometry teaches a connection the geometry type of this database
// (its OID differs between databases): values are EWKB in binary format,
// which is PostGIS's own send/receive form, so pgx's bytea codec carries them.
func registerGeometry(ctx context.Context, conn *pgx.Conn) error {
	var oid uint32
	if err := conn.QueryRow(ctx, `SELECT 'geometry'::regtype::oid`).Scan(&oid); err != nil {
		return fmt.Errorf("postgis: the geometry type is missing (CREATE EXTENSION postgis): %w", err)
	}
	conn.TypeMap().RegisterType(&pgtype.Type{Name: "geometry", OID: oid, Codec: pgtype.ByteaCodec{}})
	return nil
}

// connectErr says which server could not be reached and why, for the
// operator starting wangge (the message names no password).
func connectErr(ctx context.Context, err error, cfg *pgxpool.Config) error {
	code := data.ErrorCode(mapErr(ctx, err, "connect"))
	if code != data.EUNAVAILABLE {
		code = data.EINVALID // a wrong database, user or password: retrying will not help
	}
	cause := err
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		cause = ce.Unwrap()
	}
	return data.Wrap(code, err, "cannot connect to %s as %s: %v", redact(cfg), cfg.ConnConfig.User, cause)
}

// redact names the server and database of cfg without user or password.
func redact(cfg *pgxpool.Config) string {
	return fmt.Sprintf("postgres://%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
}

// scrub keeps the part of a pgx parse error that does not echo the input.
func scrub(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap().Error()
	}
	return "cannot parse"
}

// Ping reports whether reads can be served: a standby or, failing every
// standby, the primary answers. PingWrite (standby.go) asks the primary.
func (s *Store) Ping(ctx context.Context) error {
	_, err := readOn(ctx, s, func(db *pgxpool.Pool) (struct{}, error) {
		if err := db.Ping(ctx); err != nil {
			if ctx.Err() != nil {
				return struct{}{}, data.Wrap(data.EUNAVAILABLE, err, "database did not answer in time")
			}
			return struct{}{}, mapErr(ctx, err, "ping")
		}
		return struct{}{}, nil
	})
	return err
}

// Close closes every connection.
func (s *Store) Close() error {
	s.pool.Close()
	for _, sb := range s.standbys {
		sb.pool.Close()
	}
	return nil
}

// mapErr turns pgx errors into data errors: the caller's mistakes keep their
// meaning, cancellations stay cancellations, an unreachable or restarting
// server is EUNAVAILABLE, the rest is internal.
func mapErr(ctx context.Context, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var de *data.Error
	if errors.As(err, &de) {
		return err
	}
	if ctx != nil && ctx.Err() != nil {
		// pgx reports a cancelled query in several shapes (the server's
		// 57014, a closed socket); the caller's own reason is what counts.
		return fmt.Errorf("postgis: "+format+": %w", append(args, context.Cause(ctx))...)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return data.Wrap(data.ECONFLICT, err, format, args...)
		case pe.Code == "23514", pe.Code == "23502", pe.Code == "23503", pe.Code[:2] == "22":
			return data.Wrap(data.EINVALID, err, format, args...)
		case pe.Code == "57014":
			return data.Wrap(data.EUNAVAILABLE, err, "the database took too long to answer (statement timeout); retry later")
		case pe.Code == "55P03":
			return data.Wrap(data.EUNAVAILABLE, err, "the data is locked by another writer (lock timeout); retry later")
		case pe.Code[:2] == "08", pe.Code[:2] == "53", pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03",
			pe.Code == "25006", // read_only_sql_transaction: a standby, until it is promoted
			pe.Code == "40001", pe.Code == "40P01":
			return data.Wrap(data.EUNAVAILABLE, err, "database unavailable (%s); retry later", pe.Code)
		}
		return fmt.Errorf("postgis: "+format+": %w", append(args, err)...)
	}
	if unavailable(err) {
		return data.Wrap(data.EUNAVAILABLE, err, "database unavailable; retry later")
	}
	return fmt.Errorf("postgis: "+format+": %w", append(args, err)...)
}

// unavailable reports whether err is the connection failing rather than a
// statement: refused, reset, closed, timed out, or the pool shut.
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return true
	}
	return false
}
