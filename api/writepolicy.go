package api

import (
	"mime"
	"net/http"
	"slices"
	"strings"
)

// writeTypes are the media types a request body may have. A browser sends
// a cross-site "simple request" (no preflight) only with text/plain, a form
// type or multipart: requiring JSON makes every such request a 415, so a
// page on another site cannot make a visitor's browser write here, even
// where anonymous writes are open.
var writeTypes = []string{"application/json", "application/geo+json", "application/merge-patch+json"}

// The one policy for requests that change something (POST, PUT, PATCH,
// DELETE), in two steps: checkOrigin before anything else, checkBody once
// the route and the key's role are known (so a client without the role
// learns that first).

func unsafeMethod(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch || m == http.MethodDelete
}

// checkOrigin answers 403 for a browser write from an origin that is
// neither this server's nor on --cors-origins, and reports whether the
// request may go on.
func (s *Server) checkOrigin(w http.ResponseWriter, r *http.Request) bool {
	if !unsafeMethod(r.Method) {
		return true
	}
	if o := r.Header.Get("Origin"); o != "" && !s.sameOrigin(r, o) && !slices.Contains(s.cfg.CORSOrigins, o) {
		writeProblem(w, r, http.StatusForbidden, "writes from origin "+o+" are not allowed: only this server's own pages and --cors-origins may write")
		return false
	}
	return true
}

// checkBody answers 415 for a compressed request body or one that is not
// JSON, and reports whether the request may go on.
func checkBody(w http.ResponseWriter, r *http.Request) bool {
	if !unsafeMethod(r.Method) {
		return true
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		writeProblem(w, r, http.StatusUnsupportedMediaType, "Content-Encoding "+ce+" is not accepted: send request bodies uncompressed")
		return false
	}
	if r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
		return true // no body, nothing to type
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !slices.Contains(writeTypes, mt) {
		writeProblem(w, r, http.StatusUnsupportedMediaType, "request body must be JSON: Content-Type "+strings.Join(writeTypes, " or ")+", got "+quoteOr(ct, "none"))
		return false
	}
	return true
}

// sameOrigin reports whether origin is this server's own, as the request
// reached it (or as BaseURL names it behind a proxy).
func (s *Server) sameOrigin(r *http.Request, origin string) bool {
	if s.cfg.BaseURL != "" && strings.HasPrefix(strings.TrimSuffix(s.cfg.BaseURL, "/")+"/", strings.TrimSuffix(origin, "/")+"/") {
		return true
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return strings.EqualFold(origin, scheme+r.Host)
}

func quoteOr(s, none string) string {
	if s == "" {
		return none
	}
	return `"` + s + `"`
}
