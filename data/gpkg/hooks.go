package gpkg

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wangge/wangge/data"
)

// Schema version 5: webhook subscriptions (data/webhooks.go) and the
// records of writes made with an Idempotency-Key. Both are ours and no
// layer, like wangge_audit: not in gpkg_contents, not in the feed (a
// delivery moving a cursor on is no change a replica follows).
var hooksSchema = []string{
	`CREATE TABLE IF NOT EXISTS wangge_webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL,
		filter TEXT NOT NULL DEFAULT '{}', role TEXT NOT NULL, cursor INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
		paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)), last_error TEXT NOT NULL DEFAULT '', last_attempt DATETIME,
		created_at DATETIME NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS wangge_idempotency (scope TEXT NOT NULL, key TEXT NOT NULL, hash TEXT NOT NULL,
		target TEXT NOT NULL DEFAULT '', created_at DATETIME NOT NULL, status INTEGER NOT NULL DEFAULT 0,
		header TEXT NOT NULL DEFAULT '{}', body BLOB, PRIMARY KEY (scope, key))`,
	`CREATE INDEX IF NOT EXISTS wangge_idempotency_created ON wangge_idempotency(created_at)`,
}

const webhookColumns = `id, url, secret, filter, role, cursor, failures, paused, last_error, last_attempt, created_at`

// Webhooks returns the subscriptions, ordered by id.
func (s *Store) Webhooks(ctx context.Context) ([]data.Webhook, error) {
	ws, err := webhooks(ctx, s.db, "")
	if ws == nil && err == nil {
		ws = []data.Webhook{}
	}
	return ws, err
}

// Webhook returns one subscription.
func (s *Store) Webhook(ctx context.Context, id string) (data.Webhook, error) {
	ws, err := webhooks(ctx, s.db, ` WHERE id = ?`, id)
	return data.One(ws, err, "no webhook %q", id)
}

func webhooks(ctx context.Context, db querier, where string, args ...any) ([]data.Webhook, error) {
	return collect(ctx, db, "read webhooks", scanWebhook, `SELECT `+webhookColumns+` FROM wangge_webhooks`+where+` ORDER BY id`, args...)
}

func scanWebhook(scan scanFunc) (data.Webhook, error) {
	var w data.Webhook
	var filter, role, created string
	var last sql.NullString
	if err := scan(&w.ID, &w.URL, &w.Secret, &filter, &role, &w.Cursor, &w.Failures, &w.Paused, &w.LastError, &last, &created); err != nil {
		return data.Webhook{}, err
	}
	w.Role = data.Role(role)
	if err := json.Unmarshal([]byte(filter), &w.Filter); err != nil {
		return data.Webhook{}, fmt.Errorf("gpkg: webhook %q filter: %w", w.ID, err)
	}
	var err error
	if w.CreatedAt, err = parseTime(created); err != nil {
		return data.Webhook{}, fmt.Errorf("gpkg: webhook %q created_at: %w", w.ID, err)
	}
	if last.Valid {
		if w.LastAttempt, err = parseTime(last.String); err != nil {
			return data.Webhook{}, fmt.Errorf("gpkg: webhook %q last_attempt: %w", w.ID, err)
		}
	}
	return w, nil
}

// webhookArgs are w's columns after id, in webhookColumns' order.
func webhookArgs(w data.Webhook) ([]any, error) {
	filter, err := json.Marshal(w.Filter)
	if err != nil {
		return nil, err
	}
	var last any
	if !w.LastAttempt.IsZero() {
		last = sqlTime(w.LastAttempt)
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = time.Now()
	}
	return []any{w.URL, w.Secret, string(filter), string(w.Role), w.Cursor, w.Failures, w.Paused, w.LastError, last, sqlTime(w.CreatedAt)}, nil
}

// AddWebhook stores a subscription; ECONFLICT if its id exists.
func (t *Tx) AddWebhook(ctx context.Context, w data.Webhook) error {
	if err := w.Validate(); err != nil {
		return err
	}
	args, err := webhookArgs(w)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, "", `INSERT INTO wangge_webhooks (`+webhookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append([]any{w.ID}, args...)...)
	err = mapErr(err, "duplicate webhook id %q", w.ID)
	if data.ErrorCode(err) == data.ECONFLICT {
		return data.FieldError(data.ECONFLICT, "id", "duplicate webhook id %q", w.ID)
	}
	return err
}

// WebhookForUpdate reads a subscription inside the transaction, which
// holds the file's write lock (see HazardForUpdate).
func (t *Tx) WebhookForUpdate(ctx context.Context, id string) (data.Webhook, error) {
	ws, err := webhooks(ctx, t.tx, ` WHERE id = ?`, id)
	return data.One(ws, err, "no webhook %q", id)
}

// UpdateWebhook replaces the subscription with w.ID.
func (t *Tx) UpdateWebhook(ctx context.Context, w data.Webhook) error {
	if err := w.Validate(); err != nil {
		return err
	}
	args, err := webhookArgs(w)
	if err != nil {
		return err
	}
	res, err := t.exec(ctx, "", `UPDATE wangge_webhooks SET url = ?, secret = ?, filter = ?, role = ?, cursor = ?, failures = ?,
		paused = ?, last_error = ?, last_attempt = ?, created_at = ? WHERE id = ?`, append(args, w.ID)...)
	if err != nil {
		return mapErr(err, "update webhook %q", w.ID)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return data.Errorf(data.ENOTFOUND, "no webhook %q", w.ID)
	}
	return nil
}

// DeleteWebhook removes a subscription.
func (t *Tx) DeleteWebhook(ctx context.Context, id string) error {
	res, err := t.exec(ctx, "", `DELETE FROM wangge_webhooks WHERE id = ?`, id)
	if err != nil {
		return mapErr(err, "delete webhook %q", id)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return data.Errorf(data.ENOTFOUND, "no webhook %q", id)
	}
	return nil
}

// Idempotency returns the record of scope's key, if younger than the TTL.
func (s *Store) Idempotency(ctx context.Context, scope, key string) (data.Idempotency, error) {
	return idempotency(ctx, s.db, scope, key)
}

func idempotency(ctx context.Context, db querier, scope, key string) (data.Idempotency, error) {
	recs, err := collect(ctx, db, "read an idempotency record", scanIdempotency,
		`SELECT scope, key, hash, target, created_at, status, header, body FROM wangge_idempotency
			WHERE scope = ? AND key = ? AND created_at >= ?`, scope, key, sqlTime(time.Now().Add(-data.IdempotencyTTL)))
	return data.One(recs, err, "no write with Idempotency-Key %q", key)
}

func scanIdempotency(scan scanFunc) (data.Idempotency, error) {
	var r data.Idempotency
	var created, header string
	if err := scan(&r.Scope, &r.Key, &r.Hash, &r.Target, &created, &r.Status, &header, &r.Body); err != nil {
		return data.Idempotency{}, err
	}
	var err error
	if r.CreatedAt, err = parseTime(created); err != nil {
		return data.Idempotency{}, fmt.Errorf("gpkg: idempotency record created_at: %w", err)
	}
	if err := json.Unmarshal([]byte(header), &r.Header); err != nil {
		return data.Idempotency{}, fmt.Errorf("gpkg: idempotency record header: %w", err)
	}
	return r, nil
}

// ClaimIdempotency records c unless a live record of its key exists.
// Begin holds the file's write lock, so the read and the write are one.
func (t *Tx) ClaimIdempotency(ctx context.Context, c data.Idempotency) (bool, error) {
	_, err := idempotency(ctx, t.tx, c.Scope, c.Key)
	switch {
	case err == nil:
		return false, nil
	case data.ErrorCode(err) != data.ENOTFOUND:
		return false, err
	}
	_, err = t.exec(ctx, "", `INSERT OR REPLACE INTO wangge_idempotency (scope, key, hash, target, created_at) VALUES (?, ?, ?, ?, ?)`,
		c.Scope, c.Key, c.Hash, c.Target, sqlTime(created(c)))
	return err == nil, mapErr(err, "claim Idempotency-Key %q", c.Key)
}

// SaveIdempotency records the answer of c.
func (t *Tx) SaveIdempotency(ctx context.Context, c data.Idempotency) error {
	header, err := json.Marshal(c.Header)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, "", `INSERT INTO wangge_idempotency (scope, key, hash, target, created_at, status, header, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scope, key) DO UPDATE SET status = excluded.status, header = excluded.header, body = excluded.body,
			target = coalesce(nullif(excluded.target, ''), wangge_idempotency.target)
		WHERE wangge_idempotency.hash = excluded.hash`,
		c.Scope, c.Key, c.Hash, c.Target, sqlTime(created(c)), c.Status, string(header), c.Body)
	return mapErr(err, "save the answer to Idempotency-Key %q", c.Key)
}

func created(c data.Idempotency) time.Time {
	if c.CreatedAt.IsZero() {
		return time.Now()
	}
	return c.CreatedAt
}

// PruneIdempotency deletes the records created before.
func (s *Store) PruneIdempotency(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM wangge_idempotency WHERE created_at < ?`, sqlTime(before))
	if err != nil {
		return 0, mapErr(err, "prune idempotency records")
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err, "prune idempotency records")
}
