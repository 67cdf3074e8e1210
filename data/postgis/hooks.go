package postgis

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wangge/wangge/data"
)

// Webhook subscriptions and idempotency records: migration 0005.

const webhookColumns = `id, url, secret, filter, role, cursor, failures, paused, last_error, last_attempt, created_at`

// Webhooks returns the subscriptions, ordered by id.
func (s *Store) Webhooks(ctx context.Context) ([]data.Webhook, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Webhook, error) {
		ws, err := readWebhooks(ctx, db, ` ORDER BY id COLLATE "C"`)
		if ws == nil && err == nil {
			ws = []data.Webhook{}
		}
		return ws, err
	})
}

// Webhook returns one subscription.
func (s *Store) Webhook(ctx context.Context, id string) (data.Webhook, error) {
	ws, err := readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Webhook, error) { return readWebhooks(ctx, db, ` WHERE id = $1`, id) })
	return data.One(ws, err, "no webhook %q", id)
}

func readWebhooks(ctx context.Context, q querier, tail string, args ...any) ([]data.Webhook, error) {
	return collect(ctx, q, "read webhooks", scanWebhook, `SELECT `+webhookColumns+` FROM wangge_webhooks`+tail, args...)
}

func scanWebhook(scan scanFunc) (data.Webhook, error) {
	var w data.Webhook
	var filter []byte
	var role string
	var last *time.Time
	if err := scan(&w.ID, &w.URL, &w.Secret, &filter, &role, &w.Cursor, &w.Failures, &w.Paused, &w.LastError, &last, &w.CreatedAt); err != nil {
		return data.Webhook{}, err
	}
	w.Role = data.Role(role)
	if last != nil {
		w.LastAttempt = *last
	}
	if err := json.Unmarshal(filter, &w.Filter); err != nil {
		return data.Webhook{}, fmt.Errorf("postgis: webhook %q filter: %w", w.ID, err)
	}
	return w, nil
}

func webhookArgs(w data.Webhook) ([]any, error) {
	filter, err := json.Marshal(w.Filter)
	if err != nil {
		return nil, err
	}
	var last *time.Time
	if !w.LastAttempt.IsZero() {
		last = &w.LastAttempt
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = time.Now()
	}
	return []any{w.ID, w.URL, w.Secret, string(filter), string(w.Role), w.Cursor, w.Failures, w.Paused, w.LastError, last, w.CreatedAt}, nil
}

// AddWebhook stores a subscription; ECONFLICT if its id exists.
func (t *Tx) AddWebhook(ctx context.Context, w data.Webhook) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if err := t.usable(); err != nil {
		return err
	}
	var exists bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM wangge_webhooks WHERE id = $1)`, w.ID).Scan(&exists); err != nil {
		return t.fail(ctx, err, "add webhook %q", w.ID)
	}
	if exists {
		return data.FieldError(data.ECONFLICT, "id", "duplicate webhook id %q", w.ID)
	}
	args, err := webhookArgs(w)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, fmt.Sprintf("add webhook %q", w.ID),
		`INSERT INTO wangge_webhooks (`+webhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, args...)
	return err
}

// WebhookForUpdate reads a subscription and locks its row until the
// transaction ends, as HazardForUpdate.
func (t *Tx) WebhookForUpdate(ctx context.Context, id string) (data.Webhook, error) {
	if err := t.usable(); err != nil {
		return data.Webhook{}, err
	}
	ws, err := readWebhooks(ctx, t.tx, ` WHERE id = $1 FOR UPDATE`, id)
	if err != nil {
		return data.Webhook{}, t.fail(ctx, err, "read webhook %q", id)
	}
	return data.One(ws, nil, "no webhook %q", id)
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
	n, err := t.exec(ctx, fmt.Sprintf("update webhook %q", w.ID), `UPDATE wangge_webhooks SET url = $2, secret = $3, filter = $4, role = $5,
		cursor = $6, failures = $7, paused = $8, last_error = $9, last_attempt = $10, created_at = $11 WHERE id = $1`, args...)
	if err == nil && n == 0 {
		return data.Errorf(data.ENOTFOUND, "no webhook %q", w.ID)
	}
	return err
}

// DeleteWebhook removes a subscription.
func (t *Tx) DeleteWebhook(ctx context.Context, id string) error {
	n, err := t.exec(ctx, fmt.Sprintf("delete webhook %q", id), `DELETE FROM wangge_webhooks WHERE id = $1`, id)
	if err == nil && n == 0 {
		return data.Errorf(data.ENOTFOUND, "no webhook %q", id)
	}
	return err
}

const idempotencyColumns = `scope, key, hash, target, created_at, status, header, body`

// Idempotency returns the record of scope's key, if younger than the TTL.
// It reads the primary: a standby a moment behind would not show the
// record of the first copy of a request, and the second would be refused
// by the claim without an answer to give back.
func (s *Store) Idempotency(ctx context.Context, scope, key string) (data.Idempotency, error) {
	return idempotency(ctx, s.pool, scope, key)
}

func idempotency(ctx context.Context, q querier, scope, key string) (data.Idempotency, error) {
	recs, err := collect(ctx, q, "read an idempotency record", scanIdempotency,
		`SELECT `+idempotencyColumns+` FROM wangge_idempotency WHERE scope = $1 AND key = $2 AND created_at >= $3`,
		scope, key, time.Now().Add(-data.IdempotencyTTL))
	return data.One(recs, err, "no write with Idempotency-Key %q", key)
}

func scanIdempotency(scan scanFunc) (data.Idempotency, error) {
	var r data.Idempotency
	var header []byte
	if err := scan(&r.Scope, &r.Key, &r.Hash, &r.Target, &r.CreatedAt, &r.Status, &header, &r.Body); err != nil {
		return data.Idempotency{}, err
	}
	if err := json.Unmarshal(header, &r.Header); err != nil {
		return data.Idempotency{}, fmt.Errorf("postgis: idempotency record header: %w", err)
	}
	return r, nil
}

// ClaimIdempotency records c unless a live record of its key exists. The
// insert waits for a concurrent transaction that claimed the same key and,
// once that one commits, inserts nothing: the claim is false and the
// transaction stays usable.
func (t *Tx) ClaimIdempotency(ctx context.Context, c data.Idempotency) (bool, error) {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	n, err := t.exec(ctx, fmt.Sprintf("claim Idempotency-Key %q", c.Key), `INSERT INTO wangge_idempotency (scope, key, hash, target, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (scope, key) DO UPDATE SET hash = excluded.hash, target = excluded.target, created_at = excluded.created_at,
			status = 0, header = '{}', body = NULL
		WHERE wangge_idempotency.created_at < $6`,
		c.Scope, c.Key, c.Hash, c.Target, c.CreatedAt, time.Now().Add(-data.IdempotencyTTL))
	return n == 1, err
}

// SaveIdempotency records the answer of c.
func (t *Tx) SaveIdempotency(ctx context.Context, c data.Idempotency) error {
	header, err := json.Marshal(c.Header)
	if err != nil {
		return err
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	_, err = t.exec(ctx, fmt.Sprintf("save the answer to Idempotency-Key %q", c.Key), `INSERT INTO wangge_idempotency (`+idempotencyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (scope, key) DO UPDATE SET status = excluded.status, header = excluded.header, body = excluded.body,
			target = coalesce(nullif(excluded.target, ''), wangge_idempotency.target)
		WHERE wangge_idempotency.hash = excluded.hash`,
		c.Scope, c.Key, c.Hash, c.Target, c.CreatedAt, c.Status, string(header), c.Body)
	return err
}

// PruneIdempotency deletes the records created before; nothing on a
// read-only database.
func (s *Store) PruneIdempotency(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM wangge_idempotency WHERE created_at < $1`, before)
	if readOnly(err) {
		return 0, nil
	}
	if err != nil {
		return 0, mapErr(ctx, err, "prune idempotency records")
	}
	return int(tag.RowsAffected()), nil
}
