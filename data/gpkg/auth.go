package gpkg

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wangge/wangge/data"
)

// authSchema adds API keys and the audit log (schema version 2; version 4
// adds the worker a key acts for, events.go). Neither is registered in
// gpkg_contents: they are wangge's bookkeeping, not layers, and key hashes
// have no business in a GIS client's layer list.
var authSchema = []string{
	`CREATE TABLE IF NOT EXISTS wangge_keys (id TEXT PRIMARY KEY, role TEXT NOT NULL CHECK (role IN ('viewer', 'field', 'planner', 'admin')),
		name TEXT NOT NULL DEFAULT '', hash BLOB NOT NULL, created_at DATETIME NOT NULL, revoked_at DATETIME)`,
	`CREATE TABLE IF NOT EXISTS wangge_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at DATETIME NOT NULL, actor TEXT NOT NULL,
		action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', before TEXT, after TEXT)`,
	`CREATE INDEX IF NOT EXISTS wangge_audit_at ON wangge_audit(at)`,
}

// migrate brings a file of an older wangge schema up to schemaVersion, in
// one transaction: version 2 adds keys and the audit log, version 3 the
// change feed (changes.go), version 4 events, workers and the events'
// history (events.go), version 5 webhooks (hooks.go), version 6 streets and
// units (streets.go).
func (s *Store) migrate(ctx context.Context, from int) error {
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one migrating process at a time
	if err != nil {
		return mapErr(err, "migrate")
	}
	defer tx.Rollback()
	// Another process may have migrated the file since check read the
	// version; under the write lock the version read now is the one.
	var v string
	if err := tx.QueryRowContext(ctx, `SELECT value FROM wangge_meta WHERE key = 'schema_version'`).Scan(&v); err != nil {
		return mapErr(err, "migrate")
	}
	if n, _ := strconv.Atoi(v); n >= schemaVersion {
		return nil
	} else if n > from {
		from = n
	}
	for _, step := range []struct {
		version int
		stmts   []string
	}{{2, authSchema}, {3, feedSchema()}, {4, eventsSchema()}, {5, hooksSchema}, {6, streetsSchema()}} {
		if from >= step.version {
			continue
		}
		for _, st := range step.stmts {
			if _, err := tx.ExecContext(ctx, st); err != nil {
				return mapErr(err, "migrate to schema %d", step.version)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE wangge_meta SET value = ? WHERE key = 'schema_version'`, fmt.Sprint(schemaVersion)); err != nil {
		return mapErr(err, "migrate")
	}
	return mapErr(tx.Commit(), "migrate")
}

// Key returns one API key.
func (s *Store) Key(ctx context.Context, id string) (data.Key, error) {
	keys, err := s.keys(ctx, ` WHERE id = ?`, id)
	return data.One(keys, err, "no key %q", id)
}

// Keys lists every key, oldest first.
func (s *Store) Keys(ctx context.Context) ([]data.Key, error) { return s.keys(ctx, "") }

func (s *Store) keys(ctx context.Context, where string, args ...any) ([]data.Key, error) {
	return collect(ctx, s.db, "read keys", func(scan scanFunc) (data.Key, error) { return data.ScanKey(scan, parseTime) },
		`SELECT `+data.KeyColumns+` FROM wangge_keys`+where+` ORDER BY created_at, id`, args...)
}

// AuditLog returns a page of the audit log, newest first.
func (s *Store) AuditLog(ctx context.Context, q data.AuditQuery) ([]data.AuditEntry, int, error) {
	var conds []string
	var args []any
	if q.Actor != "" {
		conds, args = append(conds, "actor = ?"), append(args, q.Actor)
	}
	if q.Action != "" {
		conds, args = append(conds, "action = ?"), append(args, q.Action)
	}
	if !q.Since.IsZero() {
		conds, args = append(conds, "at >= ?"), append(args, q.Since.UTC().Format(timeFormat))
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM wangge_audit`+where, args...).Scan(&n); err != nil {
		return nil, 0, mapErr(err, "read audit log")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, action, target, before, after FROM wangge_audit`+where+` ORDER BY id DESC LIMIT ? OFFSET ?`,
		append(args, limit, q.Offset)...)
	if err != nil {
		return nil, 0, mapErr(err, "read audit log")
	}
	defer rows.Close()
	out := []data.AuditEntry{}
	for rows.Next() {
		var e data.AuditEntry
		var at string
		var before, after sql.NullString
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &before, &after); err != nil {
			return nil, 0, mapErr(err, "read audit log")
		}
		if e.At, err = time.Parse(time.RFC3339, at); err != nil {
			return nil, 0, fmt.Errorf("gpkg: audit %d at: %w", e.ID, err)
		}
		e.Before, e.After = jsonOrNull(before), jsonOrNull(after)
		out = append(out, e)
	}
	return out, n, mapErr(rows.Err(), "read audit log")
}

func jsonOrNull(s sql.NullString) []byte {
	if !s.Valid || s.String == "" {
		return []byte("null")
	}
	return []byte(s.String)
}

// AddKey stores a new key.
func (t *Tx) AddKey(ctx context.Context, k data.Key) error {
	if _, err := data.ParseRole(string(k.Role)); err != nil {
		return err
	}
	if k.ID == "" || len(k.Hash) == 0 {
		return data.Errorf(data.EINVALID, "a key needs an id and a hash")
	}
	if err := t.flushFeed(ctx); err != nil {
		return err
	}
	_, err := t.exec(ctx, "", `INSERT INTO wangge_keys (id, role, name, hash, created_at, worker) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, string(k.Role), k.Name, k.Hash, k.CreatedAt.UTC().Format(timeFormat), k.Worker)
	return mapErr(err, "duplicate key id %q", k.ID)
}

// RevokeKey marks a key revoked; revoking twice keeps the first time.
func (t *Tx) RevokeKey(ctx context.Context, id string, at time.Time) error {
	if err := t.flushFeed(ctx); err != nil {
		return err
	}
	res, err := t.exec(ctx, "", `UPDATE wangge_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, at.UTC().Format(timeFormat), id)
	if err != nil {
		return mapErr(err, "revoke key %s", id)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return data.Errorf(data.ENOTFOUND, "no key %q", id)
	}
	return nil
}

// Audit appends an entry to the audit log.
func (t *Tx) Audit(ctx context.Context, e data.AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := t.exec(ctx, "", `INSERT INTO wangge_audit (at, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)`,
		e.At.UTC().Format(timeFormat), e.Actor, e.Action, e.Target, nullJSON(e.Before), nullJSON(e.After))
	return mapErr(err, "append to the audit log")
}

func nullJSON(b []byte) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return string(b)
}
