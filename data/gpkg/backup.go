package gpkg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mattn/go-sqlite3"

	"github.com/wangge/wangge/data"
)

// Backup writes a consistent copy of the store to the file out while the
// store, and other processes on the same file, go on reading and writing.
// The copy is one complete GeoPackage (rollback journal, no -wal file)
// holding the state of one commit. It is written to a temporary file in
// out's directory and renamed to out only once it is checked, so a backup
// that fails or is cancelled leaves nothing behind. An existing out is
// replaced only when replace is set, and never when it is in use as a
// database (a -wal or -journal file beside it) or is the store's own file.
//
// The copy is made by VACUUM INTO, in one read transaction: writers are
// never blocked, and the copy is compacted. SQLite's online backup API
// would copy pages as they are, but starts again whenever another
// connection writes, so under a steady stream of writes it might never
// finish (or hold the read lock all the same, copying in one step).
func (s *Store) Backup(ctx context.Context, out string, replace bool) (err error) {
	out, err = filepath.Abs(out)
	if err != nil {
		return data.Errorf(data.EINVALID, "backup to %s: %v", out, err)
	}
	src, err := os.Stat(s.path)
	if err != nil {
		return data.Wrap(data.EUNAVAILABLE, err, "backup: %v", err)
	}
	if fi, err := os.Stat(out); err == nil {
		switch {
		case os.SameFile(fi, src):
			return data.Errorf(data.EINVALID, "backup: %s is the store itself", out)
		case !replace:
			return data.Errorf(data.ECONFLICT, "backup: %s exists; not replaced", out)
		case fi.IsDir():
			return data.Errorf(data.EINVALID, "backup: %s is a directory", out)
		}
	}
	for _, side := range []string{"-wal", "-journal"} {
		if _, err := os.Lstat(out + side); err == nil {
			return data.Errorf(data.ECONFLICT, "backup: %s%s exists: %s is in use as a database, or was not closed cleanly; not replaced", out, side, out)
		}
	}

	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return data.Wrap(data.EUNAVAILABLE, err, "backup to %s: %v", out, err)
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		if err != nil {
			for _, side := range []string{"", "-journal", "-wal", "-shm"} {
				os.Remove(tmp + side)
			}
		}
	}()
	// The copy is as private as the store (API key hashes, the audit log).
	if err := os.Chmod(tmp, src.Mode().Perm()); err != nil {
		return data.Wrap(data.EUNAVAILABLE, err, "backup to %s: %v", out, err)
	}

	// VACUUM INTO wants a file that is missing or empty: CreateTemp's is
	// empty. It runs outside any transaction, on a connection of its own.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return backupErr(err, out)
	}
	_, err = conn.ExecContext(ctx, `VACUUM INTO ?`, tmp)
	conn.Close()
	if err != nil {
		return backupErr(err, out)
	}
	if err := finishCopy(ctx, tmp); err != nil {
		return backupErr(err, out)
	}

	if !replace {
		// out may have appeared during the copy: checked again, not
		// replaced.
		if _, err := os.Lstat(out); err == nil {
			return data.Errorf(data.ECONFLICT, "backup: %s appeared during the backup; not replaced", out)
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		return data.Wrap(data.EUNAVAILABLE, err, "backup to %s: %v", out, err)
	}
	// The rename reaches the disk with the directory.
	if d, err := os.Open(filepath.Dir(out)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// finishCopy makes sure the copy at path is a file of its own and checks
// it. A copy in WAL mode would make whoever opens it create -wal and -shm
// files beside it (and fail on a read-only medium); VACUUM INTO writes a
// rollback-mode file (SQLite 3.40 to 3.53 do), and the journal mode is set
// all the same, so the backup does not depend on it. Then SQLite's
// quick_check and the GeoPackage application_id are checked, and the file
// is synced before it is renamed into place.
func finishCopy(ctx context.Context, path string) error {
	// A connection without wangge's functions or GDAL's: none is needed
	// to read, and nothing here writes a layer.
	db := sql.OpenDB(connector{dsn: "file:" + path + "?_busy_timeout=10000", drv: &sqlite3.SQLiteDriver{}})
	defer db.Close()
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode = DELETE`).Scan(&mode); err != nil {
		return err
	}
	if mode != "delete" {
		return fmt.Errorf("journal mode of the copy is %s, not delete", mode)
	}
	var check string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check(1)`).Scan(&check); err != nil {
		return err
	}
	if check != "ok" {
		return fmt.Errorf("the copy fails SQLite's quick_check: %s", check)
	}
	var appID int64
	if err := db.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return err
	}
	if appID != applicationID {
		return fmt.Errorf("the copy's application_id is %#x, not a GeoPackage's", appID)
	}
	if err := db.Close(); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// backupErr names out in what went wrong with the copy: a full disk or a
// cancelled backup is the usual cause.
func backupErr(err error, out string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("backup to %s cancelled, nothing written: %w", out, err)
	}
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrFull || se.Code == sqlite3.ErrIoErr || se.Code == sqlite3.ErrCantOpen) {
		return data.Wrap(data.EUNAVAILABLE, err, "backup to %s failed, nothing written: %v", out, err)
	}
	return fmt.Errorf("backup to %s failed, nothing written: %w", out, err)
}
