package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wangge/wangge/data"
)

// checkRawQuery refuses a query string that Go's parser would silently
// shorten: it drops pairs it cannot decode (a bad %-escape) and pairs with
// a ';' in them, so a misspelt filter would return everything. Each route
// then checks names and values; this check sees what they cannot. It
// allocates nothing for a good query (every request passes through it).
func checkRawQuery(raw string) error {
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ';':
			return invalid("query parameter %q: ';' does not separate parameters here; use '&'", pairAt(raw, i))
		case '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return invalid("query parameter %q: '%%' must start an escape of two hex digits (%%20, %%2C, …)", pairAt(raw, i))
			}
			i += 2
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// pairAt returns the name=value pair of raw around byte i, as sent.
func pairAt(raw string, i int) string {
	start := strings.LastIndexByte(raw[:i], '&') + 1
	end := strings.IndexByte(raw[i:], '&')
	if end < 0 {
		return raw[start:]
	}
	return raw[start : i+end]
}

// strictQuery wraps rt's handler in the query check every route shares: a
// parameter rt does not declare is a 400 (OGC API Features
// /req/core/query-param-unknown), so that a misspelt filter never answers
// with everything; and f, where declared, must name a format rt serves:
// html where only JSON is served is a 406. The declared parameters are
// those of the OpenAPI document, so what it says and what is accepted
// cannot drift. Handlers still check values, and names that depend on the
// path (a collection's filters).
func strictQuery(rt route) handlerFunc {
	var known []string
	html := false
	for _, p := range rt.params {
		if p.in != "query" {
			continue
		}
		known = append(known, p.name)
		if enum, ok := p.schema["enum"].([]string); ok && p.name == "f" {
			html = slices.Contains(enum, "html")
		}
	}
	next := rt.handler
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.RawQuery != "" {
			if err := checkNames(r.URL.RawQuery, known, html); err != nil {
				return err
			}
		}
		return next(w, r)
	}
}

// checkNames checks the names of a raw query string (already through
// checkRawQuery) against known, and the value of f. It allocates only to
// unescape a name or a value of f that is escaped: locate runs it on every
// request.
func checkNames(raw string, known []string, html bool) error {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue // Go's parser skips empty pairs too
		}
		name, value, _ := strings.Cut(pair, "=")
		name = unescape(name)
		if !slices.Contains(known, name) {
			return unknownParam(name, known)
		}
		if name != "f" {
			continue
		}
		switch value = unescape(value); {
		case value == "" || value == "json":
		case value == "html" && !html:
			return &notAcceptable{"f=html: this resource is served as JSON only (f=json); the landing page / is the only HTML page"}
		case value == "html":
		case html:
			return invalid("parameter f must be json or html, got %q", value)
		default:
			return invalid("parameter f must be json, got %q", value)
		}
	}
	return nil
}

// unknownParam is the 400 for a query parameter name outside known.
func unknownParam(name string, known []string) error {
	if len(known) == 0 {
		return invalid("unknown query parameter %q: this route takes none", name)
	}
	return invalid("unknown query parameter %q (known here: %s)", name, strings.Join(known, ", "))
}

// unescape decodes a query-string name or value; one that cannot be
// decoded (checkRawQuery refused those) is kept as it is.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// notJSON describes the 406 of routes whose f takes json alone.
const notJSON = "f=html: only JSON is served here"

// notAcceptable is a 406: the resource has no representation in the format
// the request asked for.
type notAcceptable struct{ msg string }

func (e *notAcceptable) Error() string { return e.msg }

// parseDatetime reads the datetime parameter of OGC API Features
// (/req/core/fc-time-definition, fc-time-response): an RFC 3339 date-time
// (5.6), or an interval "start/end" of two, where ".." or nothing is an
// open end (not both). A bare date (2025-03-01) stands for that whole UTC
// day, an extension. Times are kept to the years 0000–9999 in UTC.
func parseDatetime(name, s string) (data.TimeRange, error) {
	start, end, interval := strings.Cut(s, "/")
	if !interval {
		lo, hi, err := parseInstant(name, s)
		return data.TimeRange{Start: lo, End: hi}, err
	}
	if strings.Contains(end, "/") {
		return data.TimeRange{}, invalid("parameter %s: an interval is start/end with one '/', got %q", name, s)
	}
	open := func(v string) bool { return v == "" || v == ".." }
	if open(start) && open(end) {
		return data.TimeRange{}, invalid("parameter %s: an interval needs a start or an end (2025-03-01T00:00:00Z/.., ../2025-03-31T23:59:59Z), got %q", name, s)
	}
	var r data.TimeRange
	if !open(start) {
		lo, _, err := parseInstant(name, start)
		if err != nil {
			return r, err
		}
		r.Start = lo
	}
	if !open(end) {
		_, hi, err := parseInstant(name, end)
		if err != nil {
			return r, err
		}
		r.End = hi
	}
	if !r.Start.IsZero() && !r.End.IsZero() && r.Start.After(r.End) {
		return r, invalid("parameter %s: the interval's start %s is after its end %s", name, start, end)
	}
	return r, nil
}

// parseInstant reads one RFC 3339 date-time, or a date, into the first and
// last moment it stands for: the same instant twice, or a date's whole UTC
// day.
func parseInstant(name, s string) (time.Time, time.Time, error) {
	// RFC 3339 allows a lower-case t and z; Go's parser does not.
	if t, err := time.Parse(time.RFC3339, strings.ToUpper(s)); err == nil {
		t = t.UTC()
		if t.Year() < 0 || t.Year() > 9999 {
			return time.Time{}, time.Time{}, invalid("parameter %s: %q is outside the years 0000 to 9999 in UTC", name, s)
		}
		return t, t, nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d, d.AddDate(0, 0, 1).Add(-time.Nanosecond), nil
	}
	return time.Time{}, time.Time{}, invalid("parameter %s: %q is not an RFC 3339 date-time (2025-03-01T09:30:00Z, 2025-03-01T17:30:00.250+08:00) "+
		"or a date (2025-03-01)", name, s)
}
