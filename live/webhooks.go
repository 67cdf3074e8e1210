package live

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/wangge/wangge/data"
)

// Webhook delivery (data/webhooks.go). One replica delivers at a time: on
// a store that several share, the one holding the job lock "webhooks";
// the others wait for it. Each subscription has its own goroutine, so
// one slow receiver holds back only its own deliveries, which go in Seq
// order: the next is sent once the one before was taken (2xx).

// HookMessage is one delivery: the event name and the JSON body, as the
// change stream sends them.
type HookMessage struct {
	Event string
	Body  []byte
}

// HookConfig is how a service delivers webhooks.
type HookConfig struct {
	// Allow is where deliveries may go; nil allows nothing.
	Allow *AllowList
	// MaxFailures pauses a subscription after this many failed attempts
	// in a row; 0 means 10.
	MaxFailures int
	// Backoff is the wait after the first failure, doubled after each
	// next one up to MaxBackoff; 0 means 1 s and 5 min.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one delivery; 0 means 10 s.
	Timeout time.Duration
}

// Delivery headers: the subscription and Seq (a receiver deduplicates by
// it), the event, and the signature: HMAC-SHA256 with the secret of
// "<t>.<body>", t the Unix time in the header, so a receiver can refuse
// old replays.
const (
	HeaderDelivery  = "Wangge-Delivery"
	HeaderEvent     = "Wangge-Event"
	HeaderSignature = "Wangge-Signature"
)

// Sign returns the Wangge-Signature value of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",sha256=" + hex.EncodeToString(m.Sum(nil))
}

func parseHookURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, data.FieldError(data.EINVALID, "url", "webhook url %q: want an absolute http(s) URL", raw)
	}
	return u, nil
}

// hookPoll is how often the deliverer looks for new subscriptions and
// for changes when no wake came.
const hookPoll = 500 * time.Millisecond

// HookRender returns, for subscription w, what gives the messages a feed
// entry makes for it (none when w's filter or role leaves it out), reading
// the views, which show the entry. It is called once per read of the feed,
// so that w's filter is resolved once for a batch of entries, not per
// entry.
type HookRender func(w data.Webhook) func(c data.Change) []HookMessage

// RunWebhooks delivers until ctx is done, rendering with render.
func (s *Service) RunWebhooks(ctx context.Context, render HookRender) {
	cfg := s.cfg.Webhooks
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 10
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Allow == nil {
		cfg.Allow = &AllowList{}
	}
	if render == nil {
		return
	}
	d := &deliverer{s: s, cfg: cfg, render: render, client: cfg.Allow.client(cfg.Timeout), running: map[string]context.CancelFunc{}}
	for ctx.Err() == nil {
		release, ok := s.lockHooks(ctx)
		if ok {
			d.supervise(ctx)
			release()
		}
		sleep(ctx, 5*time.Second)
	}
}

// lockHooks takes the job lock of webhook delivery on a shared store.
func (s *Service) lockHooks(ctx context.Context) (func(), bool) {
	l, ok := s.store.(data.JobLocker)
	if !ok {
		return func() {}, true
	}
	release, ok, err := l.TryLockJob(ctx, "webhooks")
	if err != nil {
		s.log.Warn("webhooks: job lock", "err", err)
		return nil, false
	}
	return release, ok
}

type deliverer struct {
	s       *Service
	cfg     HookConfig
	render  HookRender
	client  *http.Client
	mu      sync.Mutex
	running map[string]context.CancelFunc
	wg      sync.WaitGroup
}

// supervise keeps one goroutine per subscription that is not paused,
// reading the list from the store (any replica may change it) until ctx
// is done or the store cannot be read.
func (d *deliverer) supervise(ctx context.Context) {
	defer func() {
		d.mu.Lock()
		for _, cancel := range d.running {
			cancel()
		}
		d.mu.Unlock()
		d.wg.Wait()
	}()
	for ctx.Err() == nil {
		hooks, err := d.s.store.Webhooks(ctx)
		if err != nil {
			d.s.log.Warn("webhooks: read subscriptions", "err", err)
			return
		}
		want := map[string]bool{}
		for _, w := range hooks {
			if !w.Paused {
				want[w.ID] = true
			}
		}
		d.mu.Lock()
		for id, cancel := range d.running {
			if !want[id] {
				cancel()
				delete(d.running, id)
			}
		}
		for id := range want {
			if _, ok := d.running[id]; !ok {
				hctx, cancel := context.WithCancel(ctx)
				d.running[id] = cancel
				d.wg.Add(1)
				go func() {
					defer d.wg.Done()
					d.run(hctx, id)
					d.mu.Lock()
					if d.running[id] != nil {
						delete(d.running, id)
					}
					d.mu.Unlock()
				}()
			}
		}
		d.mu.Unlock()
		sleep(ctx, hookPoll)
	}
}

// hookBatch is how many feed entries one read for a subscription takes.
const hookBatch = 200

// run delivers subscription id until it is paused, deleted, or ctx ends.
func (d *deliverer) run(ctx context.Context, id string) {
	for ctx.Err() == nil {
		w, err := d.s.store.Webhook(data.ReadPrimary(ctx), id)
		if err != nil || w.Paused {
			return
		}
		upTo := d.s.Version()
		if w.Cursor >= upTo {
			d.s.waitPast(ctx, w.Cursor, hookPoll)
			continue
		}
		// The primary: a standby behind the views would hide entries the
		// cursor would then pass over.
		pctx := data.ReadPrimary(ctx)
		first, _, err := d.s.store.FeedBounds(pctx)
		if err != nil {
			sleep(ctx, hookPoll)
			continue
		}
		if first > 0 && w.Cursor < first-1 {
			// Pruned past the cursor (a subscription paused for long):
			// the receiver is told once, as a stream is, and goes on.
			body := fmt.Appendf(nil, `{"seq":%d,"reset":true}`, first-1)
			if !d.deliver(ctx, &w, first-1, HookMessage{Event: "reset", Body: body}, w.Cursor) {
				continue
			}
			d.advance(ctx, &w, first-1)
			continue
		}
		changes, err := d.s.store.Changes(pctx, data.ChangeQuery{After: w.Cursor, UpTo: upTo, Limit: hookBatch})
		if err != nil {
			sleep(ctx, hookPoll)
			continue
		}
		// pos: every entry up to it was delivered or passed over. It is
		// recorded every cursorEvery and at the end of the read, not
		// after each delivery: a write per delivery would bound the rate
		// by the store's commits, and a crash sends again at most what
		// followed the last record (receivers deduplicate by Seq).
		pos, recorded, failed := w.Cursor, time.Now(), false
		render := d.render(w)
		for _, c := range changes {
			if c.Layer != data.FeedKeys {
				for _, m := range render(c) {
					if !d.deliver(ctx, &w, c.Seq, m, pos) {
						failed = true
						break
					}
				}
			}
			if failed {
				break
			}
			pos = c.Seq
			if time.Since(recorded) >= cursorEvery {
				if !d.advance(ctx, &w, pos) {
					failed = true
					break
				}
				recorded = time.Now()
			}
		}
		if failed {
			continue
		}
		if len(changes) < hookBatch {
			pos = max(pos, upTo)
		}
		if pos > w.Cursor {
			d.advance(ctx, &w, pos)
		}
	}
}

// cursorEvery is how often a subscription's cursor is recorded while it
// delivers.
const cursorEvery = 250 * time.Millisecond

// deliver sends m until it is taken, or the subscription is paused, or ctx
// ends; it reports whether m was taken. done is the Seq delivered up to,
// recorded with a failure.
func (d *deliverer) deliver(ctx context.Context, w *data.Webhook, seq int64, m HookMessage, done int64) bool {
	for ctx.Err() == nil {
		err := d.post(ctx, w, seq, m)
		if err == nil {
			if w.Failures > 0 {
				// Failures count in a row: this one ends the row.
				d.advance(ctx, w, done)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		paused, ok := d.failed(ctx, w, err, done)
		if paused || !ok {
			return false
		}
		wait := d.cfg.Backoff << min(w.Failures-1, 20)
		sleep(ctx, min(wait, d.cfg.MaxBackoff))
	}
	return false
}

func (d *deliverer) post(ctx context.Context, w *data.Webhook, seq int64, m HookMessage) error {
	// The allow-list is checked by the client's dialer, on the address it
	// connects to (webhook_net.go): a second check here would resolve the
	// host once more per delivery.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(m.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wangge-webhooks")
	req.Header.Set(HeaderDelivery, w.ID+":"+strconv.FormatInt(seq, 10))
	req.Header.Set(HeaderEvent, m.Event)
	req.Header.Set(HeaderSignature, Sign(w.Secret, time.Now(), m.Body))
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// failed records a failed attempt (and the Seq delivered up to, done)
// and pauses the subscription at the limit; ok is false when the record could not be written (the caller
// starts again from the store).
func (d *deliverer) failed(ctx context.Context, w *data.Webhook, cause error, done int64) (paused, ok bool) {
	err := d.update(ctx, w, func(cur *data.Webhook) {
		cur.Cursor = max(cur.Cursor, done)
		cur.Failures++
		cur.LastError = cause.Error()
		cur.LastAttempt = time.Now()
		if cur.Failures >= d.cfg.MaxFailures {
			cur.Paused = true
		}
	})
	if err != nil {
		return false, false
	}
	if w.Paused {
		d.s.log.Warn("webhook paused after failed deliveries", "webhook", w.ID, "failures", w.Failures, "err", cause)
	}
	return w.Paused, true
}

// advance records that w has delivered up to seq.
func (d *deliverer) advance(ctx context.Context, w *data.Webhook, seq int64) bool {
	return d.update(ctx, w, func(cur *data.Webhook) {
		if seq > cur.Cursor {
			cur.Cursor = seq
		}
		if cur.Failures > 0 || cur.LastError != "" {
			cur.Failures, cur.LastError = 0, ""
		}
		cur.LastAttempt = time.Now()
	}) == nil
}

// update changes the stored subscription with change, on the row as it is
// now (an admin may have edited it meanwhile), and copies it back into w.
func (d *deliverer) update(ctx context.Context, w *data.Webhook, change func(*data.Webhook)) error {
	_, err := data.Audited(ctx, d.s.store, "", func(tx data.Tx) ([]data.AuditEntry, error) {
		cur, err := tx.WebhookForUpdate(ctx, w.ID)
		if err != nil {
			return nil, err
		}
		change(&cur)
		if err := tx.UpdateWebhook(ctx, cur); err != nil {
			return nil, err
		}
		*w = cur
		return nil, nil
	})
	if err != nil && ctx.Err() == nil {
		d.s.log.Warn("webhooks: record delivery state", "webhook", w.ID, "err", err)
	}
	return err
}

// waitPast waits until the views are past v, at most d. Unlike WaitFor it
// asks the follower for nothing: the deliverer follows, it does not hurry.
func (s *Service) waitPast(ctx context.Context, v int64, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	s.waitMu.Lock()
	ch, cur := s.changed, s.version.Load()
	s.waitMu.Unlock()
	if cur > v {
		return
	}
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Webhook CRUD, for admins (api/webhooks.go). The allow-list is checked
// here, when a URL is stored, and again on every delivery.

// CreateWebhook stores a new subscription that delivers the changes
// committed from now on.
func (s *Service) CreateWebhook(ctx context.Context, actor string, w data.Webhook) (data.Webhook, error) {
	if err := s.checkHook(ctx, w); err != nil {
		return data.Webhook{}, err
	}
	_, last, err := s.store.FeedBounds(data.ReadPrimary(ctx))
	if err != nil {
		return data.Webhook{}, err
	}
	w.Cursor, w.Failures, w.Paused, w.LastError, w.LastAttempt = last, 0, false, "", time.Time{}
	w.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	_, err = data.Audited(ctx, s.store, actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		if err := tx.AddWebhook(ctx, w); err != nil {
			return nil, err
		}
		return auditHook("webhook.create", w.ID, nil, w), nil
	})
	return w, err
}

// UpdateWebhook changes subscription id with change, holding its row as
// UpdateWorker does; ifMatch as there. Resuming a paused one clears its
// failures.
func (s *Service) UpdateWebhook(ctx context.Context, actor, id, ifMatch string, change func(*data.Webhook) error) (data.Webhook, error) {
	var w data.Webhook
	_, err := data.Audited(ctx, s.store, actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		before, err := holdRecord(ctx, id, ifMatch, "webhook "+id, tx.WebhookForUpdate, WebhookETag)
		if err != nil {
			return nil, err
		}
		w = before
		if err := change(&w); err != nil {
			return nil, err
		}
		w.ID = id
		if before.Paused && !w.Paused {
			w.Failures, w.LastError = 0, ""
		}
		if w.URL != before.URL {
			if err := s.checkHook(ctx, w); err != nil {
				return nil, err
			}
		}
		if err := w.Validate(); err != nil {
			return nil, err
		}
		if err := tx.UpdateWebhook(ctx, w); err != nil {
			return nil, err
		}
		return auditHook("webhook.update", id, before, w), nil
	})
	return w, err
}

// DeleteWebhook removes subscription id; ifMatch as UpdateWebhook.
func (s *Service) DeleteWebhook(ctx context.Context, actor, id, ifMatch string) error {
	_, err := data.Audited(ctx, s.store, actor, func(tx data.Tx) ([]data.AuditEntry, error) {
		before, err := holdRecord(ctx, id, ifMatch, "webhook "+id, tx.WebhookForUpdate, WebhookETag)
		if err != nil {
			return nil, err
		}
		if err := tx.DeleteWebhook(ctx, id); err != nil {
			return nil, err
		}
		return auditHook("webhook.delete", id, before, nil), nil
	})
	return err
}

// WebhookETag is the entity tag of a subscription's settings (not of its
// delivery state, which moves with every delivery).
func WebhookETag(w data.Webhook) string {
	f, _ := json.Marshal(w.Filter)
	return data.ETagOf("webhook", w.ID, w.URL, w.Secret, string(f), string(w.Role), strconv.FormatBool(w.Paused))
}

func (s *Service) checkHook(ctx context.Context, w data.Webhook) error {
	if err := w.Validate(); err != nil {
		return err
	}
	al := s.cfg.Webhooks.Allow
	if al == nil {
		al = &AllowList{}
	}
	return al.CheckURL(ctx, w.URL)
}

func auditHook(action, id string, before, after any) []data.AuditEntry {
	return []data.AuditEntry{{Action: action, Target: "webhooks/" + id, Before: mustJSON(before), After: mustJSON(after)}}
}
