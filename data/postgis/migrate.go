package postgis

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/wangge/wangge/data"
)

// migration is one embedded SQL file, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("postgis: migration %s is not named NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(migrationFS, path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out, nil
}

// SchemaVersion is the schema version this build writes: the number of the
// last embedded migration.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies, in one transaction, the migrations the database lacks.
// An advisory lock makes replicas starting together take turns; a database
// migrated by a newer wangge is refused rather than misread.
func migrate(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	return migrateTo(ctx, conn, math.MaxInt)
}

// migrateTo is migrate that stops after version upTo: tests build the
// database of an older wangge with it.
func migrateTo(ctx context.Context, conn *pgx.Conn, upTo int) ([]string, error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, mapErr(ctx, err, "migrate: begin")
	}
	defer tx.Rollback(context.Background())
	// The lock is per schema, so test schemas in one database do not wait on
	// each other.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('wangge_migrate.' || current_schema()))`); err != nil {
		return nil, mapErr(ctx, err, "migrate: lock")
	}
	// A hot standby (or a read-only user) cannot migrate, but may serve
	// readers of a database that is up to date.
	var readOnly bool
	if err := tx.QueryRow(ctx, `SELECT current_setting('transaction_read_only') = 'on'`).Scan(&readOnly); err != nil {
		return nil, mapErr(ctx, err, "migrate: read transaction_read_only")
	}
	if !readOnly {
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS wangge_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return nil, mapErr(ctx, err, "migrate: create wangge_migrations")
		}
	}
	rows, err := tx.Query(ctx, `SELECT version FROM wangge_migrations`)
	if err != nil {
		return nil, mapErr(ctx, err, "migrate: read applied versions")
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, mapErr(ctx, err, "migrate: read applied versions")
	}
	have := map[int]bool{}
	for _, v := range applied {
		have[int(v)] = true
		if int(v) > ms[len(ms)-1].version {
			return nil, data.Errorf(data.EINVALID, "database schema version %d is newer than this wangge knows (%d): upgrade wangge", v, ms[len(ms)-1].version)
		}
	}
	var done []string
	for _, m := range ms {
		if have[m.version] || m.version > upTo {
			continue
		}
		if readOnly {
			return nil, data.Errorf(data.EINVALID, "the database is read-only (a standby?) and lacks migration %s: run wangge on the primary first", m.name)
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return nil, mapErr(ctx, err, "migration %s", m.name)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO wangge_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return nil, mapErr(ctx, err, "record migration %s", m.name)
		}
		done = append(done, m.name)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, mapErr(ctx, err, "migrate: commit")
	}
	return done, nil
}
