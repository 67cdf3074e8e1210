package api_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestCQL2Filter: filter= in CQL2 text selects what the equivalent query
// parameters select, keeps its place in the next link, and a bad filter is
// a 400 that says where.
func TestCQL2Filter(t *testing.T) {
	items := "/collections/hazards/items?limit=5&"
	byParams, _ := matched(t, items+"category=fire&severity=3")
	if byParams == 0 {
		t.Fatal("the demo has no severity-3 fires to compare with")
	}
	n, p := matched(t, items+"filter-lang=cql2-text&filter="+url.QueryEscape("category = 'fire' AND severity >= 3"))
	if n != byParams {
		t.Errorf("filter matched %d, the query parameters %d", n, byParams)
	}
	for _, f := range p.Features {
		if f.Properties["category"] != "fire" || f.Properties["severity"].(float64) < 3 {
			t.Errorf("feature %d does not match the filter: %v", f.ID, f.Properties)
		}
	}
	all, _ := matched(t, items)
	notFire, _ := matched(t, items+"filter="+url.QueryEscape("NOT (category = 'fire') OR category IS NULL"))
	fires, _ := matched(t, items+"category=fire")
	if notFire+fires != all {
		t.Errorf("fire %d + not fire %d != all %d", fires, notFire, all)
	}
	// A box around Vaduz: the filter and bbox agree.
	inBox, _ := matched(t, items+"bbox=9.50,47.12,9.54,47.16")
	n, _ = matched(t, items+"filter="+url.QueryEscape("S_INTERSECTS(geometry, POLYGON((9.50 47.12, 9.54 47.12, 9.54 47.16, 9.50 47.16, 9.50 47.12)))"))
	if n != inBox || n == 0 {
		t.Errorf("S_INTERSECTS with a polygon matched %d, bbox %d", n, inBox)
	}
	// The next link keeps the filter.
	res, body := get(t, "/collections/hazards/items?limit=2&filter="+url.QueryEscape("category = 'fire'"))
	if res.StatusCode != 200 || !strings.Contains(string(body), "filter=category") {
		t.Errorf("next link without the filter: %d %s", res.StatusCode, body)
	}
	// Injection stays a string.
	if n, _ := matched(t, items+"filter="+url.QueryEscape("category = 'x'' OR 1=1 --'")); n != 0 {
		t.Errorf("an injection attempt matched %d", n)
	}
	for _, c := range []struct{ query, want string }{
		{"filter=" + url.QueryEscape("category = "), "character"},
		{"filter=" + url.QueryEscape("colour = 'red'"), `unknown property "colour"`},
		{"filter=" + url.QueryEscape("severity = 'high'"), "severity"},
		{"filter-lang=cql2-json&filter=" + url.QueryEscape("category = 'fire'"), "filter-lang"},
		{"filter-crs=EPSG:3857&filter=" + url.QueryEscape("category = 'fire'"), "filter-crs"},
		{"filter=", "filter is empty"},
	} {
		code, detail := problemOf(t, items+c.query)
		if code != 400 || !strings.Contains(detail, c.want) {
			t.Errorf("%s: %d %q, want 400 naming %q", c.query, code, detail, c.want)
		}
	}
}
