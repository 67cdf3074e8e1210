package postgis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wangge/wangge/data"
)

// Key returns one API key.
func (s *Store) Key(ctx context.Context, id string) (data.Key, error) {
	keys, err := s.keys(ctx, ` WHERE id = $1`, id)
	return data.One(keys, err, "no key %q", id)
}

// Keys lists every key, oldest first.
func (s *Store) Keys(ctx context.Context) ([]data.Key, error) { return s.keys(ctx, "") }

func (s *Store) keys(ctx context.Context, where string, args ...any) ([]data.Key, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Key, error) { return keysOn(ctx, db, where, args...) })
}

func keysOn(ctx context.Context, db *pgxpool.Pool, where string, args ...any) ([]data.Key, error) {
	return collect(ctx, db, "read keys", func(scan scanFunc) (data.Key, error) { return data.ScanKey(scan, keep) },
		`SELECT `+data.KeyColumns+` FROM wangge_keys`+where+` ORDER BY created_at, id`, args...)
}

// AuditLog returns a page of the audit log, newest first.
func (s *Store) AuditLog(ctx context.Context, q data.AuditQuery) ([]data.AuditEntry, int, error) {
	type page struct {
		entries []data.AuditEntry
		n       int
	}
	p, err := readOn(ctx, s, func(db *pgxpool.Pool) (page, error) {
		es, n, err := auditOn(ctx, db, q)
		return page{es, n}, err
	})
	return p.entries, p.n, err
}

func auditOn(ctx context.Context, db *pgxpool.Pool, q data.AuditQuery) ([]data.AuditEntry, int, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if q.Actor != "" {
		add("actor = $%d", q.Actor)
	}
	if q.Action != "" {
		add("action = $%d", q.Action)
	}
	if !q.Since.IsZero() {
		add("at >= $%d", q.Since)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM wangge_audit`+where, args...).Scan(&n); err != nil {
		return nil, 0, mapErr(ctx, err, "read audit log")
	}
	limit := "ALL"
	if q.Limit > 0 {
		limit = fmt.Sprint(q.Limit)
	}
	rows, err := db.Query(ctx, fmt.Sprintf(`SELECT id, at, actor, action, target, coalesce(before::text, 'null'), coalesce(after::text, 'null')
		FROM wangge_audit%s ORDER BY id DESC LIMIT %s OFFSET %d`, where, limit, max(q.Offset, 0)), args...)
	if err != nil {
		return nil, 0, mapErr(ctx, err, "read audit log")
	}
	defer rows.Close()
	out := []data.AuditEntry{}
	for rows.Next() {
		var e data.AuditEntry
		var before, after string
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Target, &before, &after); err != nil {
			return nil, 0, mapErr(ctx, err, "read audit log")
		}
		e.Before, e.After = []byte(before), []byte(after)
		out = append(out, e)
	}
	return out, n, mapErr(ctx, rows.Err(), "read audit log")
}

// exec runs one statement in the transaction after the buffered rows, so
// that it sees them; a failure spoils the transaction, as in PostgreSQL.
func (t *Tx) exec(ctx context.Context, what string, sql string, args ...any) (int64, error) {
	if err := t.usable(); err != nil {
		return 0, err
	}
	if err := t.flushAll(ctx); err != nil {
		return 0, err
	}
	tag, err := t.tx.Exec(ctx, sql, args...)
	if err != nil {
		return 0, t.fail(ctx, err, "%s", what)
	}
	return tag.RowsAffected(), nil
}

// AddKey stores a new key. The id is checked first, so that a duplicate is
// refused without spoiling the transaction.
func (t *Tx) AddKey(ctx context.Context, k data.Key) error {
	if _, err := data.ParseRole(string(k.Role)); err != nil {
		return err
	}
	if k.ID == "" || len(k.Hash) == 0 {
		return data.Errorf(data.EINVALID, "a key needs an id and a hash")
	}
	if err := errors.Join(data.CheckText("id", k.ID), data.CheckText("name", k.Name), data.CheckText("worker", k.Worker)); err != nil {
		return firstErr(err)
	}
	if err := t.usable(); err != nil {
		return err
	}
	var exists bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM wangge_keys WHERE id = $1)`, k.ID).Scan(&exists); err != nil {
		return t.fail(ctx, err, "add key")
	}
	if exists {
		return data.Errorf(data.ECONFLICT, "duplicate key id %q", k.ID)
	}
	_, err := t.exec(ctx, "add key", `INSERT INTO wangge_keys (id, role, name, hash, created_at, worker) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, string(k.Role), k.Name, k.Hash, k.CreatedAt, k.Worker)
	return err
}

// RevokeKey marks a key revoked; revoking twice keeps the first time.
func (t *Tx) RevokeKey(ctx context.Context, id string, at time.Time) error {
	n, err := t.exec(ctx, "revoke key", `UPDATE wangge_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, at, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return data.Errorf(data.ENOTFOUND, "no key %q", id)
	}
	return nil
}

// Audit appends an entry to the audit log.
func (t *Tx) Audit(ctx context.Context, e data.AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if err := errors.Join(data.CheckText("actor", e.Actor), data.CheckText("action", e.Action), data.CheckText("target", e.Target)); err != nil {
		return firstErr(err)
	}
	_, err := t.exec(ctx, "append to the audit log", `INSERT INTO wangge_audit (at, actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)`,
		e.At, e.Actor, e.Action, e.Target, jsonArg(e.Before), jsonArg(e.After))
	return err
}

// keep is a key's time as PostgreSQL sent it.
func keep(t time.Time) (time.Time, error) { return t, nil }

func jsonArg(b []byte) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return string(b)
}
