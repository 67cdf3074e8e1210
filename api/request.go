package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// Reading requests: JSON bodies, paging, points and numbers in the query.
// Query parameter names are checked once for every route against the
// parameters its table entry declares (query.go); handlers read values.

// decodeBody reads a JSON body into v, rejecting unknown members, trailing
// data and bodies over the size limit with a 400 that says which. The
// write policy has checked the Content-Type before (writepolicy.go).
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonBodyError(err)
	}
	return decodeJSON(body, v)
}

// decodeJSON is decodeBody on a body already read.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonBodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("body: unexpected data after the JSON value")
	}
	return nil
}

// jsonBodyError turns an error reading or decoding a JSON body into a 400
// naming where the body went wrong: the one set of messages for every
// body.
func jsonBodyError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		return invalid("body is larger than %d bytes", big.Limit)
	case errors.Is(err, io.EOF):
		return invalid("body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body is not valid JSON: the JSON ends early")
	case errors.As(err, &syn):
		return invalid("body is not valid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		// Embedded structs (a plan request's gridgen.Request) prefix
		// their name to the field's.
		field := typ.Field[strings.LastIndexByte(typ.Field, '.')+1:]
		kind := jsonKind(typ.Type.Kind().String())
		switch {
		case field == "":
			return invalid("body must be %s, got JSON %s", kind, typ.Value)
		case kind == "an integer":
			// The Go type says what JSON's "number" does not; plan
			// clients have had this wording (field "target" must be int).
			return invalid("body: %s must be an integer, got JSON %s (field %q must be %s)", field, typ.Value, field, typ.Type)
		}
		return invalid("body: %s must be %s, got JSON %s", field, kind, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return invalid("body: unknown member %s (unknown field %s)", name, name)
	}
	return invalid("body: %v", err)
}

// jsonKind names a Go kind as a JSON client sees it.
func jsonKind(goKind string) string {
	switch goKind {
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr":
		return "an integer"
	}
	return "a number"
}

// intParam reads the integer parameter name, def when absent, refusing
// one outside [lo, hi].
func intParam(v url.Values, name string, def, lo, hi int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, invalid("parameter %s must be an integer from %d to %d, got %q", name, lo, hi, s)
	}
	return n, nil
}

// boolParam reads the boolean parameter name (true, false, 1 or 0, in any
// case), def when absent or empty.
func boolParam(v url.Values, name string, def bool) (bool, error) {
	switch s := strings.ToLower(v.Get(name)); s {
	case "":
		return def, nil
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	default:
		return false, invalid("parameter %s must be true or false, got %q", name, s)
	}
}

// parsePeriod reads since and until: each an RFC 3339 time or a date (UTC
// midnight), absent for no bound; since must come before until. The one
// reading of a reporting period, for every route that takes one.
func parsePeriod(v url.Values) (since, until time.Time, err error) {
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &since}, {"until", &until}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, s); err != nil {
				return since, until, invalid("parameter %s must be an RFC 3339 time (2025-05-01T09:00:00Z) or a date (2025-05-01), got %q", p.name, s)
			}
		}
		*p.dst = t.UTC()
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return since, until, invalid("parameter since (%s) must be before until (%s)", v.Get("since"), v.Get("until"))
	}
	return since, until, nil
}

// parsePage reads limit (def when absent) and offset. A limit above
// maxN is refused, or with clamp taken as maxN, as OGC API Features asks
// of items (/req/core/fc-limit-response-1 C), whose next link says so.
func parsePage(v url.Values, def, maxN int, clamp bool) (limit, offset int, err error) {
	top := maxN
	if clamp {
		top = math.MaxInt
	}
	if limit, err = intParam(v, "limit", def, 1, top); err != nil {
		return 0, 0, invalid("parameter limit must be an integer from 1 to %d, got %q", maxN, v.Get("limit"))
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, 0, invalid("parameter offset must be a non-negative integer, got %q", s)
		}
		offset = n
	}
	return min(limit, maxN), offset, nil
}

// pagingParams declares limit and offset for a list of what, def a page.
func pagingParams(what string, def int) []param {
	return []param{
		queryParam("limit", what+" per page", map[string]any{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": def}),
		queryParam("offset", what+" to skip", map[string]any{"type": "integer", "minimum": 0, "default": 0}),
	}
}

// page is the page of list at offset, at most limit long.
func page[T any](list []T, limit, offset int) []T {
	if offset >= len(list) {
		return []T{}
	}
	return list[offset:min(len(list), offset+limit)]
}

// queryOnly refuses parameters of v outside known, with the message of
// the route-level check (checkNames), on a query already parsed: what
// locate did before its fast path, which a test compares it with.
func queryOnly(v url.Values, known ...string) error {
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(known, name) {
			return unknownParam(name, known)
		}
	}
	return nil
}

// coordValue checks the first value s of a required longitude or latitude
// parameter ("" when absent).
func coordValue(name, s string, limit float64) (float64, error) {
	if s == "" {
		return 0, invalid("parameter %s is required", name)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, invalid("parameter %s must be a number, got %q", name, s)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, invalid("parameter %s must be a finite number, got %q", name, s)
	}
	if !decimal(strings.TrimSpace(s)) {
		return 0, invalid("parameter %s must be a decimal number, got %q", name, s)
	}
	if f < -limit || f > limit {
		return 0, invalid("parameter %s must be within [%v, %v], got %v", name, -limit, limit, f)
	}
	return f, nil
}

// crsValue checks the first value s of the crs parameter ("" when absent):
// either vocabulary of parseCRS. A point given by lon and lat needs no axis
// order, so EPSG:4326 and EPSG:4490 are WGS 84 here.
func crsValue(s string) (spatial.CRS, error) {
	o, err := crsNamed("parameter crs", s)
	return o.c, err
}

// parsePoint reads lon, lat and crs and returns the point in WGS 84.
func parsePoint(v url.Values) (orb.Point, error) {
	return pointValue(v.Get("lon"), v.Get("lat"), v.Get("crs"))
}

// pointValue checks the first values of lon, lat and crs ("" when absent),
// in that order, and returns the point in WGS 84.
func pointValue(lonS, latS, crsS string) (orb.Point, error) {
	lon, err := coordValue("lon", lonS, 180)
	if err != nil {
		return orb.Point{}, err
	}
	lat, err := coordValue("lat", latS, 90)
	if err != nil {
		return orb.Point{}, err
	}
	c, err := crsValue(crsS)
	if err != nil {
		return orb.Point{}, err
	}
	return toWGS84(c, orb.Point{lon, lat}, "the point")
}

// toWGS84 converts p from c, refusing a result outside WGS 84's range:
// GCJ-02 and BD-09 are offsets defined around China, and near the poles
// BD-09's formula leaves the globe ([-180.0067, -90.0055] from [-180, -90]).
func toWGS84(c spatial.CRS, p orb.Point, what string) (orb.Point, error) {
	return toWGS84Named(c, p, func() string { return what })
}

// toWGS84Named is toWGS84 with the point's name made only for the error:
// a batch names each of its 10,000 points, and formatting every name was a
// quarter of its time.
func toWGS84Named(c spatial.CRS, p orb.Point, what func() string) (orb.Point, error) {
	w := c.ToWGS84(p)
	if !spatial.ValidLonLat(w) {
		return orb.Point{}, invalid("%s [%v, %v] in %s converts to [%v, %v], outside WGS 84's range; %s is an offset defined around China",
			what(), p[0], p[1], c, w[0], w[1], c)
	}
	return w, nil
}

// parsePosition reads one [lon, lat] position; the error completes a
// sentence that starts with the position's name.
func parsePosition(raw json.RawMessage) (orb.Point, error) {
	var xy []float64
	if err := json.Unmarshal(raw, &xy); err != nil || len(xy) != 2 {
		return orb.Point{}, fmt.Errorf("must be [lon, lat] (two numbers), got %.40s", string(raw))
	}
	p := orb.Point{xy[0], xy[1]}
	if err := data.CheckPoint(p); err != nil {
		return p, errors.New(data.ErrorMessage(err))
	}
	return p, nil
}

// decimal reports whether s is written as a plain decimal number: Go's
// ParseFloat also reads hex floats (0x1p3 is 8) and digit separators
// (1_0), which no client means in a coordinate.
func decimal(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '.', c == '-', c == '+', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}
