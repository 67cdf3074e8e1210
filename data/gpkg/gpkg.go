// Package gpkg is wangge's default store: one OGC GeoPackage file (1.3) with
// the R-tree spatial index extension, read and written through an embedded
// SQLite. GDAL's ogrinfo and QGIS open the file and see every layer.
//
// Writes go through transactions (data.Tx) in WAL mode, so readers keep
// reading the last committed state while an import or a publish runs, and a
// crash in the middle leaves the file as it was before.
//
// # One complete file
//
// In WAL mode a commit lands in the -wal file beside the GeoPackage, and
// reaches the file itself only at a checkpoint. SQLite checkpoints by
// itself after a commit that leaves 1,000 pages (4 MiB) or more in the WAL
// (wal_autocheckpoint), and when the last connection closes; that is not
// enough for a file people copy and hand to GDAL and QGIS while the server
// runs: a new file's first page (application_id "GPKG", user_version)
// would stay in the WAL, leaving a 4 KB main file that is no GeoPackage; a
// server taking a few hazard reports a day would not reach 1,000 pages for
// days; and an import or a plan smaller than that stays out of the file
// until then. So the store checkpoints itself (Checkpoint): at once after
// creating a file, on open, after every bulk write (an import, a plan
// saved or published, a layer cleared), on Close, and every second
// (Options.CheckpointEvery) while it is open. A copy of the .gpkg file
// alone then holds the data committed up to the last checkpoint; Backup
// makes a consistent copy at any moment.
//
// # Durability
//
// By default commits run with PRAGMA synchronous=NORMAL: in WAL mode a
// commit is appended to the WAL without waiting for fsync, which happens at
// checkpoints. A crash of the process loses nothing (the operating system
// has the pages); a power loss or a crash of the operating system may lose
// the transactions committed since the last checkpoint (about a second's
// worth, with the store's own checkpoints), acknowledged or not, but never
// corrupts the file: it opens with a consistent earlier state.
// Options.Durable (wangge serve --durable) sets synchronous=FULL: every
// commit waits for the WAL to reach the disk, so an acknowledged write
// survives a power loss, at the cost measured by BenchmarkHazardWrite
// (about 1.4 ms more a one-row write on a virtual disk, 3 times the time).
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
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/wangge/wangge/data"
)

// Store is a data.Store over a GeoPackage file.
type Store struct {
	db   *sql.DB
	path string

	stop      context.Context // cancelled by Close: the checkpointer ends, its checkpoint too
	stopNow   context.CancelFunc
	stopped   chan struct{} // closed by the checkpointer as it ends
	closeOnce sync.Once
	closeErr  error

	rtreeRun int // entries an R-tree build sorts in memory (rtree_load.go); tests make it small
}

var _ data.Store = (*Store)(nil)

// Options are the choices Open leaves to its caller.
type Options struct {
	// Durable makes every commit wait until the WAL is on disk (PRAGMA
	// synchronous=FULL), so that a power loss cannot undo an acknowledged
	// write. Without it (synchronous=NORMAL) the last commits before a
	// power loss may be lost; the file is never corrupted either way.
	Durable bool
	// CheckpointEvery is how often the open store copies the WAL's
	// committed pages into the file itself: 0 is DefaultCheckpointEvery,
	// a negative value never (bulk writes, Open and Close still do).
	CheckpointEvery time.Duration
}

// DefaultCheckpointEvery is the period of the store's own checkpoints: a
// copy of the file alone is at most about this much behind the last
// commit. A checkpoint with nothing new in the WAL reads one header and
// writes nothing, so an idle store costs nothing.
const DefaultCheckpointEvery = time.Second

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
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, o Options) (*Store, error) {
	_, statErr := os.Stat(path)
	create := errors.Is(statErr, os.ErrNotExist)
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate") // writers queue at BEGIN instead of failing on upgrade
	q.Set("_synchronous", "NORMAL")
	if o.Durable {
		q.Set("_synchronous", "FULL")
	}
	q.Set("_cache_size", "-16384") // 16 MiB a connection: flat memory on big imports (docs/BENCHMARKS.md)
	dsn := "file:" + path + "?" + q.Encode()
	db := sql.OpenDB(connector{dsn: dsn, drv: &sqlite3.SQLiteDriver{ConnectHook: registerFuncs}})
	// Reads are CPU-bound and each connection has its own page cache, so
	// more connections than a few per core only cost memory (measured:
	// 220 MiB at 32 concurrent requests with no bound).
	db.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	db.SetMaxIdleConns(max(4, 2*runtime.GOMAXPROCS(0)))
	s := &Store{db: db, path: path, stopped: make(chan struct{}), rtreeRun: rtreeRun}
	s.stop, s.stopNow = context.WithCancel(context.Background())
	if create {
		if err := createSchema(ctx, db); err != nil {
			db.Close()
			os.Remove(path)
			return nil, err
		}
		// The header (application_id "GPKG", user_version) is in the WAL
		// until a checkpoint; GDAL and the validator read it from the file
		// itself and would call the file no GeoPackage while this store
		// runs. TRUNCATE, unlike the PASSIVE checkpoints elsewhere, waits
		// for readers and writers, but nobody else has a file just made;
		// it also empties the WAL, so the file alone is the whole store.
		if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			db.Close()
			return nil, mapErr(err, "checkpoint %s", path)
		}
	} else {
		if err := s.check(ctx); err != nil {
			db.Close()
			return nil, err
		}
		// What a killed process or a migration left in the WAL goes into
		// the file now rather than at the first tick.
		s.Checkpoint(ctx) // best effort: the ticker tries again
	}
	every := o.CheckpointEvery
	if every == 0 {
		every = DefaultCheckpointEvery
	}
	go s.checkpointEvery(every)
	return s, nil
}

// Checkpoint copies the pages committed to the WAL into the GeoPackage
// file itself, so that the file alone (copied, or opened by a tool that
// ignores the WAL) holds them. It is PASSIVE: it never waits for, nor
// blocks, readers or writers, in this process or another. It copies what
// no open read transaction still needs, so a long read (an export, a
// backup) holds it back until that read ends and the next checkpoint; the
// other modes would wait for such readers (TRUNCATE, RESTART, FULL) and
// stop every writer while they wait (the API's writes would stall behind
// an export). Another process's checkpoint running at the same moment
// makes this one a no-op, not an error.
func (s *Store) Checkpoint(ctx context.Context) error {
	var busy, logged, done int
	err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &done)
	return mapErr(err, "checkpoint %s", s.path)
}

// checkpointEvery checkpoints every period until Close; a negative period
// only waits for Close.
func (s *Store) checkpointEvery(period time.Duration) {
	defer close(s.stopped)
	if period < 0 {
		<-s.stop.Done()
		return
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-s.stop.Done():
			return
		case <-tick.C:
			// A failure (a full or failing disk) leaves the pages in the
			// WAL, where readers find them; the next tick tries again.
			s.Checkpoint(s.stop)
		}
	}
}

// applicationID is a GeoPackage's application_id, "GPKG" (schema.go sets it).
const applicationID = 0x47504B47

// check refuses files that are not wangge GeoPackages of a version we know.
func (s *Store) check(ctx context.Context) error {
	var appID int64
	if err := s.db.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return data.Wrap(data.EINVALID, err, "%s: not a readable SQLite/GeoPackage file: %v", s.path, err)
	}
	if appID != applicationID {
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

// Close stops the periodic checkpoints, checkpoints once more, so that the
// file holds every write this process made even while another process
// keeps the WAL open (SQLite checkpoints at close only when the last
// connection to the file closes), and closes the file.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopNow()
		<-s.stopped
		// Bounded: a transaction left open on a full pool must not make
		// Close wait for a connection for ever.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.Checkpoint(ctx) // best effort: the pages stay in the WAL
		cancel()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

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
	// The same for the files wangge writes beside the store (an R-tree
	// build's spill, rtree_load.go).
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return data.Wrap(data.EUNAVAILABLE, err, "store full: the disk is full; nothing was written, retry after freeing space")
	case errors.Is(err, syscall.EIO):
		return data.Wrap(data.EUNAVAILABLE, err, "store unavailable: a disk read or write failed; nothing was written, retry later")
	}
	return fmt.Errorf("gpkg: "+format+": %w", append(args, err)...)
}
