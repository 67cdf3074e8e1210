package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestMalformedQueryRefused: pairs Go's parser would drop silently are
// refused, naming the pair, so a misspelt filter never returns everything.
func TestMalformedQueryRefused(t *testing.T) {
	_, ts, tokens := authServer(t, Config{})
	for _, tc := range []struct{ path, pair string }{
		{"/collections/hazards/items?category=fire%zz", "category=fire%zz"},
		{"/collections/hazards/items?category=fire;status=open", "category=fire;status=open"},
		{"/collections/hazards/items?limit=5&category=fire%2", "category=fire%2"},
		{"/v1/nearby?lon=9.52&lat=47.14&radius_m=5%zz", "radius_m=5%zz"},
		{"/v1/locate?lon=9.52;lat=47.14", "lon=9.52;lat=47.14"},
	} {
		res, body := do(t, "GET", ts.URL+tc.path, tokens["planner"], "")
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.pair) {
			t.Errorf("GET %s: %d %s; want 400 naming %q", tc.path, res.StatusCode, body, tc.pair)
		}
	}
	// Escapes that are right still pass.
	if res, body := do(t, "GET", ts.URL+"/collections/hazards/items?category=%66ire&limit=1", tokens["planner"], ""); res.StatusCode != http.StatusOK {
		t.Errorf("a well-escaped query was refused: %d %s", res.StatusCode, body)
	}
}

// FuzzRawQuery: whatever checkRawQuery lets through, Go's parser reads
// whole: no pair is dropped behind the routes' backs.
func FuzzRawQuery(f *testing.F) {
	for _, s := range []string{"category=fire%zz", "category=fire;status=open", "lon=0x1p3&lat=1_0", "a=%", "a=%4", "a=%41&b=%zz", "&&=&", "bbox=1,2,3,4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if checkRawQuery(raw) != nil {
			return
		}
		if _, err := url.ParseQuery(raw); err != nil {
			t.Fatalf("checkRawQuery accepted %q, which url.ParseQuery reads only in part: %v", raw, err)
		}
	})
}
