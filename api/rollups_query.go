package api

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wangge/wangge/live"
)

// This file holds how a /v1/stats request is read: its time zone, window,
// scope, grouping, format and language.

// rollupQuery is a /v1/stats request as read.
type rollupQuery struct {
	live.RollupQuery
	loc      *time.Location
	tz       string // as the answer names it
	groupBy  []string
	coverage bool
	csv      bool
	lang     string // "zh" or "en"
}

var tzOffsetRE = regexp.MustCompile(`^([+-])(\d{2}):?(\d{2})?$`)

// parseTZ reads the calendar's time zone: Z or UTC, a UTC offset (+08:00,
// +0800, +08), or an IANA name the system knows (Asia/Shanghai). A "+"
// left unescaped in a URL arrives as a space, which is read as "+".
func parseTZ(s string) (*time.Location, string, error) {
	if strings.HasPrefix(s, " ") {
		s = "+" + strings.TrimLeft(s, " ")
	}
	switch s {
	case "", "Z", "UTC", "+00:00":
		return time.UTC, "Z", nil
	}
	if m := tzOffsetRE.FindStringSubmatch(s); m != nil {
		h, _ := strconv.Atoi(m[2])
		mins := 0
		if m[3] != "" {
			mins, _ = strconv.Atoi(m[3])
		}
		if h > 14 || mins > 59 || h*60+mins > 14*60 {
			return nil, "", invalid("parameter tz: %q is not a UTC offset (−14:00 to +14:00)", s)
		}
		off := h*3600 + mins*60
		if m[1] == "-" {
			off = -off
		}
		name := m[1] + m[2] + ":" + max(m[3], "00")
		return time.FixedZone(name, off), name, nil
	}
	if loc, err := time.LoadLocation(s); err == nil && s != "Local" {
		return loc, s, nil
	}
	return nil, "", invalid("parameter tz must be Z, a UTC offset (+08:00; %%2B08:00 in a URL) or a time zone name (Asia/Shanghai), got %q", s)
}

// parseWhenIn reads since or until: an RFC 3339 time, or a date taken as
// midnight in loc.
func parseWhenIn(name, s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, invalid("parameter %s must be a date (2025-05-01, midnight in tz) or an RFC 3339 time (2025-05-01T09:00:00+08:00), got %q", name, s)
}

// groupings are the values of group_by.
var groupings = []string{"area", "category", "month", "week"}

func parseRollupQuery(r *http.Request) (rollupQuery, error) {
	v := r.URL.Query()
	q := rollupQuery{coverage: true}
	q.Now = time.Now()
	var err error
	if q.loc, q.tz, err = parseTZ(v.Get("tz")); err != nil {
		return q, err
	}
	q.Loc = q.loc
	if q.Since, err = parseWhenIn("since", v.Get("since"), q.loc); err != nil {
		return q, err
	}
	if q.Until, err = parseWhenIn("until", v.Get("until"), q.loc); err != nil {
		return q, err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return q, invalid("parameter since (%s) must be before until (%s)", v.Get("since"), v.Get("until"))
	}
	_, hasLevel := v["level"]
	_, q.HasParent = v["parent"]
	switch {
	case hasLevel && q.HasParent:
		return q, invalid("parameters level and parent: give one (level for the areas of one level, parent for one area's children)")
	case hasLevel:
		if q.Level, err = intParam(v, "level", 0, 0, 99); err != nil {
			return q, err
		}
	}
	q.Parent = v.Get("parent")
	q.groupBy = []string{"area"}
	if g, ok := v["group_by"]; ok {
		q.groupBy = nil
		for _, part := range strings.Split(g[0], ",") {
			part = strings.TrimSpace(part)
			switch {
			case part == "":
				continue
			case !slices.Contains(groupings, part):
				return q, invalid("parameter group_by: unknown grouping %q (known: %s)", part, strings.Join(groupings, ", "))
			case slices.Contains(q.groupBy, part):
				return q, invalid("parameter group_by: %q named twice", part)
			}
			q.groupBy = append(q.groupBy, part)
		}
	}
	q.ByArea, q.ByCategory = slices.Contains(q.groupBy, "area"), slices.Contains(q.groupBy, "category")
	switch month, week := slices.Contains(q.groupBy, "month"), slices.Contains(q.groupBy, "week"); {
	case month && week:
		return q, invalid("parameter group_by: month and week cannot be combined")
	case month:
		q.Period = live.PeriodMonth
	case week:
		q.Period = live.PeriodWeek
	}
	// Any value is accepted: one the taxonomy in use does not have counts
	// nothing, as every read filter does.
	q.Category, q.Kind = v.Get("category"), v.Get("kind")
	if q.coverage, err = boolParam(v, "coverage", true); err != nil {
		return q, err
	}
	switch f := v.Get("format"); f {
	case "json":
	case "csv":
		q.csv = true
	case "":
		q.csv = prefersCSV(r.Header.Get("Accept"))
	default:
		return q, invalid("parameter format must be json or csv, got %q", f)
	}
	switch l := v.Get("lang"); l {
	case "zh", "en":
		q.lang = l
	case "":
		q.lang = langOf(r.Header.Get("Accept-Language"))
	default:
		return q, invalid("parameter lang must be zh or en, got %q", l)
	}
	return q, nil
}

// prefersCSV reports whether an Accept header asks for text/csv before
// (or without) JSON.
func prefersCSV(accept string) bool {
	best, csvQ := -1.0, -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := weight(params)
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "text/csv":
			csvQ = max(csvQ, q)
		case "application/json", "*/*", "application/*":
			best = max(best, q)
		}
	}
	return csvQ > 0 && csvQ >= best
}

// langOf is zh when the Accept-Language header's most preferred language
// is Chinese, en otherwise.
func langOf(header string) string {
	best, lang := 0.0, "en"
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := weight(params)
		if tag == "" || q <= best {
			continue
		}
		best, lang = q, "en"
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(tag)), "zh") {
			lang = "zh"
		}
	}
	return lang
}
