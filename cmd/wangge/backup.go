package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/postgis"
)

// runBackup copies the GeoPackage into one new, complete file while a
// server (or anything else) goes on reading and writing it: the copy is the
// state of one commit, opens in GDAL and QGIS, and passes the GeoPackage
// validator. Copying the file with cp instead may miss what is still in its
// -wal file, or catch a checkpoint half done.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	db := fs.String("db", env("db", "wangge.gpkg"), "the GeoPackage to copy (WANGGE_DB)")
	force := fs.Bool("force", false, "replace OUT when it exists")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("want one output file: wangge backup OUT.gpkg [--db wangge.gpkg] [--force]")}
	}
	out := pos[0]
	if postgis.IsURL(*db) {
		return usageError{fmt.Errorf("backup copies a GeoPackage; for PostgreSQL use pg_dump, or wangge export --format gpkg %s", out)}
	}
	// Opening a missing GeoPackage would create an empty one: a typo.
	if _, err := os.Stat(*db); err != nil {
		return fmt.Errorf("%s: no such store", *db)
	}
	if fi, err := os.Stat(out); err == nil && !*force {
		if fi.IsDir() {
			return usageError{fmt.Errorf("%s is a directory; give the backup's file name", out)}
		}
		return usageError{fmt.Errorf("%s exists; pass --force to replace it", out)}
	}
	store, err := gpkg.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	if err := store.Backup(ctx, out, *force); err != nil {
		return err
	}
	fi, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s: %d bytes in %v\n", *db, out, fi.Size(), time.Since(start).Round(time.Millisecond))
	return nil
}
