package api

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/wangge/wangge/tiles"
)

// The one way each kind of answer is written: JSON documents, already
// encoded JSON, problem documents, cached bodies with their ETags, and the
// version header of a write. Errors are mapped to their status in
// errors.go; this file only writes.

// problem is an RFC 7807 problem details object.
type problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance,omitempty"`
}

// writeProblem writes a problem+json document. Handlers return errors
// instead (writeError picks the status); the middleware, which answers
// before a handler runs, writes its refusals here.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(problem{
		Type:     "about:blank",
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   detail,
		Instance: r.URL.Path,
	})
}

// writeJSON encodes v and writes it with status and contentType; nothing
// is written when v cannot be encoded.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // links carry & and must stay readable
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// chunkingSize is how much of an answer net/http buffers before it sends
// the headers (its bufferBeforeChunkingSize): an answer that fits and is
// whole when the handler returns gets its Content-Length from net/http.
const chunkingSize = 2048

// writeRaw writes an already encoded JSON answer. The Content-Type value is
// the server's shared one (headerValues). A small answer is left to
// net/http, which writes its Content-Length from a buffer of its own at no
// cost; Header.Set would cost an allocation for the number, one for each
// value, and a header more to copy and sort. A larger one gets it here, so
// that it is not sent chunked.
func (s *Server) writeRaw(w http.ResponseWriter, body []byte) error {
	h := w.Header()
	h["Content-Type"] = s.hdr.json
	if len(body) > chunkingSize {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	_, err := w.Write(body)
	return err
}

// writeEncoded sends a cached body: gzip when the client accepts it, a
// strong ETag per representation, 304 when If-None-Match has it, 204 for
// an empty tile.
func writeEncoded(w http.ResponseWriter, r *http.Request, e *tiles.Encoded, contentType, cacheControl string) error {
	body, etag := e.Raw, e.ETag
	gz := e.Gzip != nil && acceptsGzip(r.Header.Get("Accept-Encoding"))
	if gz {
		body, etag = e.Gzip, e.GzipETag
	}
	h := w.Header()
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", etag)
	h.Add("Vary", "Accept-Encoding")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if len(e.Raw) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	h.Set("Content-Type", contentType)
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(body)
	return err
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip, as
// RFC 9110 §12.5.3 reads it: gzip listed with a weight above 0 accepts it
// and gzip;q=0 refuses it, whatever else the header says; where gzip is
// not listed, "*" stands for it, with its own weight. Names and the q
// parameter are case-insensitive; a weight that is not a number counts as
// the default, 1.
func acceptsGzip(header string) bool {
	star := false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		isGzip := strings.EqualFold(name, "gzip") || strings.EqualFold(name, "x-gzip")
		if !isGzip && name != "*" {
			continue
		}
		ok := weight(params) > 0
		if isGzip {
			return ok
		}
		star = ok
	}
	return star
}

// weight is the q parameter among an Accept-Encoding entry's parameters:
// 1 when absent or unreadable.
func weight(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
			return f
		}
		return 1
	}
	return 1
}

// etagMatch compares If-None-Match with the weak comparison RFC 9110 asks
// for: W/ prefixes do not matter, "*" matches anything.
func etagMatch(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		t := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// setVersion names in the response the version a write produced.
func setVersion(w http.ResponseWriter, v int64) {
	w.Header().Set(versionHeader, strconv.FormatInt(v, 10))
}

// roundPtr rounds *v to 1/scale; nil stays nil (JSON null).
func roundPtr(v *float64, scale float64) *float64 {
	if v == nil {
		return nil
	}
	r := math.Round(*v*scale) / scale
	return &r
}
