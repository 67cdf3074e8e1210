package main

import (
	"context"
	"fmt"
	"io"

	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/postgis"
)

// runMigrate brings a store's schema up to this build's version. Serve and
// import do the same on start; the command lets an operator do it ahead of
// a rollout, with one replica's rights, and see what changed.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	db := fs.String("db", env("db", "wangge.gpkg"), "GeoPackage file or postgres:// URL (WANGGE_DB)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{fmt.Errorf("unexpected argument %q: wangge migrate [--db …]", pos[0])}
	}
	if !postgis.IsURL(*db) {
		// A GeoPackage has one schema version, written when the file is
		// created; opening creates it or checks it.
		s, err := gpkg.Open(ctx, *db)
		if err != nil {
			return err
		}
		s.Close()
		fmt.Fprintf(stdout, "%s: GeoPackage schema is current, nothing to migrate\n", *db)
		return nil
	}
	applied, err := postgis.Migrate(ctx, *db)
	if err != nil {
		return err
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %s\n", m)
	}
	fmt.Fprintf(stdout, "schema at version %d (%d migrations applied now)\n", postgis.SchemaVersion(), len(applied))
	return nil
}
