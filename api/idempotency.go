package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/wangge/wangge/data"
)

// Idempotency-Key on POST and PATCH (data/webhooks.go, type Idempotency):
// a client that retries a write after a timeout, or a field phone that
// sends its queue again, gets the first answer back and changes nothing.
// The key is claimed in the write's own transaction, so two copies on two
// replicas make one write; the answer is saved in the store after it, so
// any replica replays it for 24 hours. The same key with another request
// (method, path, query or body) is a 422.

const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
	// replayWait bounds how long a copy waits for the answer of the first
	// one, whose write is committed but whose answer is not saved yet.
	replayWait = 3 * time.Second
)

// replayedHeaders are the headers of an answer saved for a replay.
var replayedHeaders = []string{"Content-Type", "Location", "ETag", versionHeader}

// idempotent runs h for a request that carries an Idempotency-Key.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, h handlerFunc) error {
	key := r.Header.Get(headerIdempotencyKey)
	if len(key) > 255 || !printable(key) {
		return invalid("header %s: 1–255 printable ASCII characters (a UUID is usual)", headerIdempotencyKey)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonBodyError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.New()
	for _, part := range []string{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type")} {
		sum.Write([]byte(part))
		sum.Write([]byte{0})
	}
	sum.Write(body)
	p := principalOf(r.Context())
	claim := &data.IdemClaim{Idempotency: data.Idempotency{Scope: p.keyID, Key: key, Hash: hex.EncodeToString(sum.Sum(nil))}}
	if claim.Scope == "" {
		claim.Scope = "anonymous"
	}
	ctx := r.Context()
	rec, err := s.store.Idempotency(ctx, claim.Scope, key)
	switch {
	case err == nil:
		return s.replay(ctx, w, r, claim.Idempotency, rec)
	case data.ErrorCode(err) != data.ENOTFOUND:
		return err
	}

	buf := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	herr := h(buf, r.WithContext(data.WithIdempotency(ctx, claim)))
	if claim.Taken {
		// Another copy claimed the key first: its answer is this one's.
		rec, err := s.store.Idempotency(ctx, claim.Scope, key)
		if err != nil {
			return err
		}
		return s.replay(ctx, w, r, claim.Idempotency, rec)
	}
	if herr != nil {
		return herr
	}
	if buf.status >= 200 && buf.status < 300 {
		saved := claim.Idempotency
		saved.Status, saved.Body, saved.Header = buf.status, buf.body.Bytes(), map[string]string{}
		for _, name := range replayedHeaders {
			if v := buf.header.Get(name); v != "" {
				saved.Header[name] = v
			}
		}
		// The write is done: a failure to save its answer is logged, and
		// a replay finds the claim (the write's target) instead.
		wctx := context.WithoutCancel(ctx)
		if _, err := data.Audited(wctx, s.store, "", func(tx data.Tx) ([]data.AuditEntry, error) {
			return nil, tx.SaveIdempotency(wctx, saved)
		}); err != nil {
			s.log.WarnContext(ctx, "answer to an Idempotency-Key not saved", "key", key, "err", err)
		}
	}
	buf.writeTo(w)
	return nil
}

// replay answers a copy of a request with the first one's answer.
func (s *Server) replay(ctx context.Context, w http.ResponseWriter, r *http.Request, req, rec data.Idempotency) error {
	if rec.Hash != req.Hash {
		writeProblem(w, r, http.StatusUnprocessableEntity, "header "+headerIdempotencyKey+": key "+req.Key+
			" was used with another request (method, path, query or body differ): a new request needs a new key")
		return nil
	}
	for deadline := time.Now().Add(replayWait); rec.Status == 0 && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		var err error
		if rec, err = s.store.Idempotency(ctx, req.Scope, req.Key); err != nil {
			return err
		}
	}
	if rec.Status == 0 {
		if rec.Target != "" {
			w.Header().Set("Content-Location", s.baseURL(r)+"/"+targetPath(rec.Target))
		}
		return data.Errorf(data.ECONFLICT, "a request with Idempotency-Key %s made its write (%s) but its answer is not recorded yet; read the resource, or retry shortly",
			req.Key, rec.Target)
	}
	for name, v := range rec.Header {
		w.Header().Set(name, v)
	}
	w.Header().Set(headerReplayed, "true")
	w.WriteHeader(rec.Status)
	_, err := w.Write(rec.Body)
	return err
}

// targetPath is the path of an audit target ("hazards/12").
func targetPath(target string) string {
	switch {
	case len(target) > 8 && target[:8] == "hazards/", len(target) > 8 && target[:8] == "cameras/":
		return "collections/" + target[:7] + "/items/" + target[8:]
	}
	return "v1/" + target
}

func printable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// bufferedResponse holds a write's answer until its Idempotency-Key
// record says whether it is the answer.
type bufferedResponse struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

func (b *bufferedResponse) writeTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}
