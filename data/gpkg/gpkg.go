// Package gpkg is wangge's default store: one OGC GeoPackage file (1.3) with
// the R-tree spatial index extension, read and written through an embedded
// SQLite. GDAL's ogrinfo and QGIS open the file and see every layer.
//
// Writes go through transactions (data.Tx) in WAL mode, so readers keep
// reading the last committed state while an import or a publish runs, and a
// crash in the middle leaves the file as it was before.
package gpkg

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"

	"github.com/mattn/go-sqlite3"

	"github.com/wangge/wangge/data"
)

// Store is a data.Store over a GeoPackage file.
type Store struct {
	db   *sql.DB
	path string
}

var _ data.Store = (*Store)(nil)

// connector opens connections with wangge's SQL functions registered,
// without registering a driver name globally.
type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// Open opens the GeoPackage at path, creating it with wangge's schema when it
// does not exist. A file that exists but is not a wangge GeoPackage is refused.
func Open(ctx context.Context, path string) (*Store, error) {
	_, statErr := os.Stat(path)
	create := errors.Is(statErr, os.ErrNotExist)
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate") // writers queue at BEGIN instead of failing on upgrade
	q.Set("_synchronous", "NORMAL")
	q.Set("_cache_size", "-16384") // 16 MiB a connection: flat memory on big imports (docs/BENCHMARKS.md)
	dsn := "file:" + path + "?" + q.Encode()
	db := sql.OpenDB(connector{dsn: dsn, drv: &sqlite3.SQLiteDriver{ConnectHook: registerFuncs}})
	// Reads are CPU-bound and each connection has its own page cache, so
	// more connections than a few per core only cost memory (measured:
	// 220 MiB at 32 concurrent requests with no bound).
	db.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	db.SetMaxIdleConns(max(4, 2*runtime.GOMAXPROCS(0)))
	s := &Store{db: db, path: path}
	if create {
		if err := createSchema(ctx, db); err != nil {
			db.Close()
			os.Remove(path)
			return nil, err
		}
		// The header (application_id "GPKG") is in the WAL until a
		// checkpoint; GDAL and the validator read it from the file itself
		// and would call the file no GeoPackage while this store runs.
		if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			db.Close()
			return nil, mapErr(err, "checkpoint %s", path)
		}
	} else if err := s.check(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// check refuses files that are not wangge GeoPackages of a version we know.
func (s *Store) check(ctx context.Context) error {
	var appID int64
	if err := s.db.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return data.Wrap(data.EINVALID, err, "%s: not a readable SQLite/GeoPackage file: %v", s.path, err)
	}
	if appID != 1196444487 {
		return data.Errorf(data.EINVALID, "%s: not a GeoPackage (application_id %#x)", s.path, appID)
	}
	var v string
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM wangge_meta WHERE key = 'schema_version'`).Scan(&v); err != nil {
		return data.Errorf(data.EINVALID, "%s: a GeoPackage, but not one written by wangge (no wangge_meta table)", s.path)
	}
	n, _ := strconv.Atoi(v)
	if n < 1 || n > schemaVersion {
		return data.Errorf(data.EINVALID, "%s: schema version %s, this wangge reads versions 1 to %d", s.path, v, schemaVersion)
	}
	if n < schemaVersion {
		if err := s.migrate(ctx, n); err != nil {
			return err
		}
	}
	return s.clearDeferralFlags(ctx)
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Ping reports whether the file can be read.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM gpkg_contents`).Scan(&n); err != nil {
		return data.Wrap(data.EUNAVAILABLE, err, "store %s unreadable", s.path)
	}
	return nil
}

// PingWrite is Ping: one file takes writes whenever it can be read (a full
// disk shows on the write itself, as EUNAVAILABLE).
func (s *Store) PingWrite(ctx context.Context) error { return s.Ping(ctx) }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// mapErr turns SQLite errors into data errors: the caller's mistakes keep
// their meaning, cancellations stay cancellations, a busy, full or failing
// disk is unavailable (never a conflict), the rest is internal.
func mapErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var de *data.Error
	if errors.As(err, &de) {
		return err
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.ExtendedCode {
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return data.Wrap(data.ECONFLICT, err, format, args...)
		case sqlite3.ErrConstraintCheck, sqlite3.ErrConstraintNotNull, sqlite3.ErrConstraintForeignKey:
			return data.Wrap(data.EINVALID, err, format, args...)
		}
		// The caller's format names what a constraint failure would mean
		// ("duplicate id …"); a failing disk means none of it, so these
		// messages do not use it. SQLite rolls the statement back, and a
		// failed COMMIT is rolled back by the driver: nothing was written.
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return data.Wrap(data.EUNAVAILABLE, err, "store busy, retry later")
		case sqlite3.ErrFull:
			return data.Wrap(data.EUNAVAILABLE, err, "store full: the disk (or the database's page limit) is full; nothing was written, retry after freeing space")
		case sqlite3.ErrIoErr:
			return data.Wrap(data.EUNAVAILABLE, err, "store unavailable: a disk read or write failed; nothing was written, retry later")
		case sqlite3.ErrCantOpen:
			return data.Wrap(data.EUNAVAILABLE, err, "store unavailable: its file or journal cannot be opened; nothing was written, retry later")
		}
	}
	return fmt.Errorf("gpkg: "+format+": %w", append(args, err)...)
}
