package data

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Webhooks hand the change feed to other systems (the 12345 hotline, the
// 综治 platform a level up): each subscription is a URL that gets every
// change its filter takes, as a signed POST, in Seq order, at least once.
// The feed itself is the outbox: a subscription keeps the Seq it has
// delivered up to (Cursor) in the store, moved on in a transaction after
// each delivery, and the feed is not pruned past the lowest cursor of a
// subscription that is not paused. A restart, on any replica, goes on
// from the cursor; a delivery acknowledged by the receiver but not yet
// recorded is sent again (a receiver deduplicates by Seq).

// Webhook is one subscription.
type Webhook struct {
	ID     string       `json:"id"`
	URL    string       `json:"url"`
	Secret string       `json:"-"` // signs the deliveries (HMAC-SHA256); never shown back
	Filter StreamFilter `json:"filter"`
	// Role is whom the messages are rendered for: what a key of that role
	// would see on GET /v1/changes (viewer or planner).
	Role Role `json:"role"`
	// Cursor is the highest Seq delivered or passed over by the filter.
	Cursor int64 `json:"cursor"`
	// Failures counts the failed attempts since the last delivery; at the
	// deployment's limit the subscription is paused.
	Failures    int       `json:"failures"`
	Paused      bool      `json:"paused"`
	LastError   string    `json:"last_error"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
}

// StreamFilter is what a stream or a webhook carries, as GET /v1/changes's
// parameters say (empty fields take everything the role may see).
type StreamFilter struct {
	Layers []string  `json:"layers,omitempty"`
	Area   string    `json:"area,omitempty"`
	Grid   string    `json:"grid,omitempty"`
	BBox   []float64 `json:"bbox,omitempty"`
	Status []string  `json:"status,omitempty"`
	// Assignee, when set, keeps the hazards assigned to this worker; ""
	// keeps the unassigned ones.
	Assignee *string `json:"assignee,omitempty"`
}

var webhookID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate checks what a subscription needs before it is stored; the
// allow-list of destinations is the service's to check (it is not data).
func (w Webhook) Validate() error {
	if !webhookID.MatchString(w.ID) {
		return FieldError(EINVALID, "id", "webhook id %q: 1–64 letters, digits, '_', '.', '-', starting with a letter or digit", w.ID)
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return FieldError(EINVALID, "url", "webhook url %q: want an absolute http(s) URL without credentials or fragment", w.URL)
	}
	if len(w.Secret) < 16 {
		return FieldError(EINVALID, "secret", "webhook secret: at least 16 characters, so that signatures cannot be guessed")
	}
	if w.Role != RoleViewer && w.Role != RolePlanner {
		return FieldError(EINVALID, "role", "webhook role %q: viewer or planner (what the receiver may see)", w.Role)
	}
	if n := len(w.Filter.BBox); n != 0 && n != 4 {
		return FieldError(EINVALID, "filter.bbox", "webhook filter bbox: 4 numbers minLon,minLat,maxLon,maxLat, got %d", n)
	}
	if w.Cursor < 0 || w.Failures < 0 {
		return FieldError(EINVALID, "cursor", "webhook cursor and failures are ≥ 0")
	}
	return nil
}

// Idempotency is the record of a write made with an Idempotency-Key: a
// replay of the same request (same Hash) within the key's lifetime gets
// the first answer back and changes nothing. The record is claimed in the
// write's own transaction (Audited), so two copies of a request, on any
// replicas, make one write; the answer is saved once it is known.
type Idempotency struct {
	Scope string // whose key it is: the API key's id, or "anonymous"
	Key   string
	Hash  string // of the method, path and body: another body is another request
	// Target is what the write made or changed, as its audit entry names
	// it ("hazards/12"), known from the claim on.
	Target    string
	CreatedAt time.Time
	// Status is 0 until the answer is saved.
	Status int
	Header map[string]string
	Body   []byte
}

// IdempotencyTTL is how long a key holds: a retry comes within minutes;
// a day covers a phone that was offline overnight.
const IdempotencyTTL = 24 * time.Hour

// idemKey is the context key of an idempotency claim.
type idemKey struct{}

// IdemClaim is the claim a request with an Idempotency-Key carries down to
// the write (WithIdempotency); Audited records it in the write's
// transaction, or sets Taken when another request holds the key.
type IdemClaim struct {
	Idempotency
	Claimed bool // recorded with the write
	Taken   bool // the key was already claimed: nothing was written
}

// WithIdempotency returns ctx carrying c, for Audited.
func WithIdempotency(ctx context.Context, c *IdemClaim) context.Context {
	return context.WithValue(ctx, idemKey{}, c)
}

// claimOf returns the claim ctx carries, if any.
func claimOf(ctx context.Context) *IdemClaim {
	c, _ := ctx.Value(idemKey{}).(*IdemClaim)
	return c
}

// ErrIdempotencyTaken is returned by Audited when the request's
// Idempotency-Key was claimed by another copy of it: the write is not
// made, and the caller answers with the first copy's answer.
var ErrIdempotencyTaken = &Error{Code: ECONFLICT, Message: "another request with this Idempotency-Key was made first"}

// claim records c in tx, or marks it taken.
func (c *IdemClaim) claim(ctx context.Context, tx Tx) error {
	c.CreatedAt = time.Now()
	ok, err := tx.ClaimIdempotency(ctx, c.Idempotency)
	if err != nil {
		return fmt.Errorf("claim Idempotency-Key: %w", err)
	}
	if !ok {
		c.Taken = true
		return ErrIdempotencyTaken
	}
	c.Claimed = true
	return nil
}
