package api

import (
	"net/url"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// slowLocatePoint is what locate did before plainLocateQuery: the query
// parsed into url.Values, unknown parameters refused, then lon, lat, crs.
func slowLocatePoint(raw string) (orb.Point, error) {
	v, _ := url.ParseQuery(raw)
	if err := queryOnly(v, "lon", "lat", "crs"); err != nil {
		return orb.Point{}, err
	}
	return parsePoint(v)
}

// checkPlainLocateQuery fails when the shortcut takes raw and answers
// differently from url.ParseQuery.
func checkPlainLocateQuery(t *testing.T, raw string) {
	t.Helper()
	lon, lat, crs, ok := plainLocateQuery(raw)
	if !ok {
		return
	}
	got, gerr := pointValue(lon, lat, crs)
	want, werr := slowLocatePoint(raw)
	if got != want || (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		t.Errorf("query %q: shortcut %v, %v; url.ParseQuery %v, %v", raw, got, gerr, want, werr)
	}
}

func TestPlainLocateQuery(t *testing.T) {
	for _, tc := range []struct {
		raw      string
		shortcut bool
	}{
		{"lon=-56.1&lat=-34.9", true},
		{"lat=-34.9&lon=-56.1&crs=gcj02", true},
		{"lon=1&lon=2&lat=3", true}, // first value wins, as with Get
		{"lon=1&&lat=3&", true},
		{"lon&lat=3", true},
		{"lon=&lat=", true},
		{"lon=abc&lat=1", true},
		{"lon=200&lat=1", true},
		{"lon=NaN&lat=1", true},
		{"lon=1&lat=1&crs=mars", true},
		{"", true},
		{"lon=1&lat=2&zoom=3", false},
		{"=1&lon=1&lat=2", false},
		{"lon=%31&lat=2", false},
		{"lon=+1&lat=2", false},
		{"lon=1;lat=2", false},
	} {
		if _, _, _, ok := plainLocateQuery(tc.raw); ok != tc.shortcut {
			t.Errorf("query %q: shortcut taken %v, want %v", tc.raw, ok, tc.shortcut)
		}
		checkPlainLocateQuery(t, tc.raw)
	}
}

func FuzzPlainLocateQuery(f *testing.F) {
	for _, s := range []string{"lon=-56.1&lat=-34.9", "lon=1&lon=2&lat=3&crs=bd09", "lon&lat", "lat=1e3&lon=0x1p-2", "lon= 1 &lat=2"} {
		f.Add(s)
	}
	f.Fuzz(checkPlainLocateQuery)
}

func TestExactRoutes(t *testing.T) {
	s := New(Config{})
	// The busiest routes skip the router; routes with path variables never do.
	for _, key := range []string{"GET /v1/locate", "HEAD /v1/locate", "POST /v1/locate", "GET /v1/nearby", "GET /healthz"} {
		if s.exact[key] == nil {
			t.Errorf("%s is not served without the router", key)
		}
	}
	for key := range s.exact {
		if _, path, _ := strings.Cut(key, " "); path == "" || strings.Contains(path, "{") {
			t.Errorf("exact route %q", key)
		}
	}
}
