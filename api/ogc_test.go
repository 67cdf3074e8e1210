package api_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/storetest"
)

// demoHazard is a row of the demo hazards CSV, read without the importer.
type demoHazard struct {
	lon, lat float64
	category string
	at       time.Time
}

func demoHazardRows(t *testing.T) []demoHazard {
	t.Helper()
	b, err := demo.Open("hazards.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []demoHazard
	for _, r := range rows[1:] {
		lon, _ := strconv.ParseFloat(r[1], 64)
		lat, _ := strconv.ParseFloat(r[2], 64)
		at, err := time.Parse(time.RFC3339, r[6])
		if err != nil {
			t.Fatalf("demo hazard %s: %v", r[0], err)
		}
		out = append(out, demoHazard{lon, lat, r[3], at})
	}
	return out
}

func matched(t *testing.T, path string) (int, page) {
	t.Helper()
	res, body := get(t, path)
	var p page
	if err := json.Unmarshal(body, &p); err != nil || res.StatusCode != 200 {
		t.Fatalf("%s: %d %v\n%.300s", path, res.StatusCode, err, body)
	}
	return p.NumberMatched, p
}

func problemOf(t *testing.T, path string) (int, string) {
	t.Helper()
	res, body := get(t, path)
	var p struct{ Detail string }
	json.Unmarshal(body, &p)
	if res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s: %d %s, want problem+json", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	return res.StatusCode, p.Detail
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestDatetime: datetime selects hazards on reported_at, per OGC API
// Features /req/core/fc-time-definition and fc-time-response: an instant,
// closed and half-bounded intervals (".." or empty), ends included; a date
// is its whole UTC day. Counts come from the demo CSV.
func TestDatetime(t *testing.T) {
	hz := demoHazardRows(t)
	count := func(keep func(h demoHazard) bool) int {
		n := 0
		for _, h := range hz {
			if keep(h) {
				n++
			}
		}
		return n
	}
	in := func(lo, hi string) func(demoHazard) bool {
		return func(h demoHazard) bool {
			return (lo == "" || !h.at.Before(utc(lo))) && (hi == "" || !h.at.After(utc(hi)))
		}
	}
	first := hz[0].at.Format(time.RFC3339) // 2024-11-26T09:00:00Z
	tests := []struct {
		name, query string
		keep        func(demoHazard) bool
	}{
		{"instant", "datetime=" + first, in(first, first)},
		{"instant with an offset", "datetime=" + url.QueryEscape(hz[0].at.In(time.FixedZone("", 8*3600)).Format(time.RFC3339)), in(first, first)},
		{"instant with a fraction", "datetime=" + strings.Replace(first, "Z", ".000Z", 1), in(first, first)},
		{"lower-case t and z", "datetime=" + strings.ToLower(first), in(first, first)},
		{"instant a second late", "datetime=" + hz[0].at.Add(time.Second).Format(time.RFC3339), in(first, "1970-01-01T00:00:00Z")},
		{"closed", "datetime=2025-01-01T00:00:00Z/2025-03-31T23:59:59Z", in("2025-01-01T00:00:00Z", "2025-03-31T23:59:59Z")},
		{"ends included", "datetime=2024-11-26T09:00:00Z/2025-05-01T09:00:00Z", in("2024-11-26T09:00:00Z", "2025-05-01T09:00:00Z")},
		{"open start", "datetime=../2024-06-30T23:59:59Z", in("", "2024-06-30T23:59:59Z")},
		{"empty start", "datetime=/2024-06-30T23:59:59Z", in("", "2024-06-30T23:59:59Z")},
		{"open end", "datetime=2025-06-01T00:00:00Z/..", in("2025-06-01T00:00:00Z", "")},
		{"empty end", "datetime=2025-06-01T00:00:00Z/", in("2025-06-01T00:00:00Z", "")},
		{"date", "datetime=2024-11-26", in("2024-11-26T00:00:00Z", "2024-11-26T23:59:59.999Z")},
		{"dates", "datetime=2025-01-01/2025-01-31", in("2025-01-01T00:00:00Z", "2025-01-31T23:59:59.999Z")},
		{"with bbox and category", "datetime=2025-01-01T00:00:00Z/..&bbox=9.50,47.10,9.55,47.15&category=traffic", func(h demoHazard) bool {
			return in("2025-01-01T00:00:00Z", "")(h) && h.category == "traffic" && h.lon >= 9.50 && h.lon <= 9.55 && h.lat >= 47.10 && h.lat <= 47.15
		}},
		{"reported_at, the queryable", "reported_at=" + first, in(first, first)},
		{"reported_at and datetime", "reported_at=" + first + "&datetime=2025-01-01T00:00:00Z/..", in("2025-01-01T00:00:00Z", first)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := count(tc.keep)
			if got, _ := matched(t, "/collections/hazards/items?limit=1&"+tc.query); got != want {
				t.Errorf("numberMatched %d, want %d", got, want)
			}
		})
	}
	if n := count(in(first, first)); n == 0 || n == len(hz) {
		t.Fatalf("the instant matches %d of %d: a poor test", n, len(hz))
	}

	// Pages go on with the same interval: the next link carries it.
	want := count(in("2025-01-01T00:00:00Z", ""))
	path, seen := "/collections/hazards/items?limit=100&datetime=2025-01-01T00:00:00Z/..", 0
	for path != "" {
		_, p := matched(t, path)
		for _, f := range p.Features {
			if at := utc(f.Properties["reported_at"].(string)); at.Before(utc("2025-01-01T00:00:00Z")) {
				t.Errorf("feature %d reported at %s, before the interval", f.ID, at)
			}
			seen++
		}
		path = ""
		for _, l := range p.Links {
			if l.Rel == "next" {
				path = strings.TrimPrefix(l.Href, server.URL)
			}
		}
	}
	if seen != want {
		t.Errorf("paging with datetime saw %d hazards, want %d", seen, want)
	}

	// A collection without time matches every feature
	// (/req/core/fc-time-response C), but the value is still checked.
	if got, _ := matched(t, "/collections/areas/items?limit=1&datetime=2025-01-01T00:00:00Z/.."); got != 13 {
		t.Errorf("areas with datetime: %d, want all 13", got)
	}
	for _, bad := range []string{
		"yesterday", "2025-13-01T00:00:00Z", "2025-02-30", "2025-03-01T09:30:00", "2025-03-01T09:30Z", "2025-03-01T24:00:00Z",
		"../..", "/", "..", "2025-03-02T00:00:00Z/2025-03-01T00:00:00Z", "2025-03-01/2025-03-02/2025-03-03", "0000-01-01T00:00:00%2B01:00",
	} {
		for _, coll := range []string{"hazards", "areas"} {
			if status, detail := problemOf(t, "/collections/"+coll+"/items?datetime="+bad); status != 400 || !strings.Contains(detail, "parameter datetime") {
				t.Errorf("%s datetime=%s: %d %q, want 400 naming datetime", coll, bad, status, detail)
			}
		}
	}
	if status, detail := problemOf(t, "/collections/hazards/items?reported_at=2025-01-01T00:00:00Z/.."); status != 400 || !strings.Contains(detail, "parameter reported_at") {
		t.Errorf("reported_at with an interval: %d %q, want 400 naming reported_at", status, detail)
	}
	if status, detail := problemOf(t, "/collections/areas/items?reported_at="+first); status != 400 || !strings.Contains(detail, `"reported_at"`) {
		t.Errorf("reported_at on areas: %d %q, want 400 (unknown there)", status, detail)
	}
}

// TestTemporalExtent: hazards give the interval of reported_at in their
// extent (/req/core/fc-md-extent); collections without time give none.
func TestTemporalExtent(t *testing.T) {
	hz := demoHazardRows(t)
	lo, hi := hz[0].at, hz[0].at
	for _, h := range hz {
		if h.at.Before(lo) {
			lo = h.at
		}
		if h.at.After(hi) {
			hi = h.at
		}
	}
	type temporal struct {
		Interval [][]*string
		TRS      string
	}
	type coll struct {
		ID     string
		Extent struct{ Temporal *temporal }
	}
	_, body := get(t, "/collections")
	var doc struct{ Collections []coll }
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, "/collections/hazards")
	var one coll
	json.Unmarshal(body, &one)
	for _, c := range append(doc.Collections, one) {
		tp := c.Extent.Temporal
		if c.ID != "hazards" {
			if tp != nil {
				t.Errorf("%s has a temporal extent %+v but no time", c.ID, tp)
			}
			continue
		}
		if tp == nil || len(tp.Interval) != 1 || len(tp.Interval[0]) != 2 || tp.Interval[0][0] == nil || tp.Interval[0][1] == nil ||
			!utc(*tp.Interval[0][0]).Equal(lo) || !utc(*tp.Interval[0][1]).Equal(hi) ||
			tp.TRS != "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian" {
			t.Errorf("hazards temporal extent %+v, want [[%s, %s]] Gregorian", tp, lo, hi)
		}
	}
}

// TestLimitCapped: a limit above 10,000 is 10,000, not an error
// (/req/core/fc-limit-response-1 C), and the paging links say so.
func TestLimitCapped(t *testing.T) {
	all, p := matched(t, "/collections/households/items?limit=20000")
	if all <= 10000 || p.NumberReturned != 10000 || len(p.Features) != 10000 {
		t.Fatalf("limit=20000: returned %d of %d, want 10000", p.NumberReturned, all)
	}
	next := ""
	for _, l := range p.Links {
		if l.Rel == "next" {
			next = l.Href
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Query().Get("limit") != "10000" || u.Query().Get("offset") != "10000" {
		t.Fatalf("next link %q, want limit=10000&offset=10000", next)
	}
	_, p = matched(t, strings.TrimPrefix(next, server.URL))
	if p.NumberReturned != all-10000 {
		t.Errorf("second page: %d, want %d", p.NumberReturned, all-10000)
	}
	for _, l := range p.Links {
		if u, _ := url.Parse(l.Href); l.Rel == "prev" && (u.Query().Get("limit") != "10000" || u.Query().Get("offset") != "0") {
			t.Errorf("prev link %q, want limit=10000&offset=0", l.Href)
		}
	}
	if n, p := matched(t, "/collections/hazards/items?limit=999999999999"); p.NumberReturned != n {
		t.Errorf("huge limit: returned %d of %d", p.NumberReturned, n)
	}
	for _, bad := range []string{"0", "-1", "ten", "1.5", ""} {
		if bad == "" {
			continue // an empty value is no value: the default
		}
		if status, detail := problemOf(t, "/collections/hazards/items?limit="+bad); status != 400 || !strings.Contains(detail, "limit") {
			t.Errorf("limit=%s: %d %q, want 400", bad, status, detail)
		}
	}
}

// TestFilterValuesOutsideLists: a value of the right type that no feature
// has (a category not in the list, a camera status on hazards) matches
// nothing; a value of the wrong type and an unknown parameter are 400s.
func TestFilterValuesOutsideLists(t *testing.T) {
	for _, q := range []string{
		"/collections/hazards/items?category=Fire", "/collections/hazards/items?category=ufo",
		"/collections/hazards/items?status=online", "/collections/hazards/items?severity=5",
		"/collections/cameras/items?status=open", "/collections/areas/items?parent_code=nowhere",
	} {
		if n, p := matched(t, q); n != 0 || len(p.Features) != 0 {
			t.Errorf("%s: %d matched, want 0", q, n)
		}
	}
	for q, detail := range map[string]string{
		"/collections/hazards/items?severity=high": "severity",
		"/collections/areas/items?level=0":         "level",
		"/collections/hazards/items?categroy=fire": `unknown query parameter "categroy"`,
	} {
		if status, d := problemOf(t, q); status != 400 || !strings.Contains(d, detail) {
			t.Errorf("%s: %d %q, want 400 with %q", q, status, d, detail)
		}
	}
}

// openAPIPaths returns the OpenAPI document's operations: path → methods.
func openAPIPaths(t *testing.T) map[string]map[string]json.RawMessage {
	t.Helper()
	_, body := get(t, "/api")
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Paths) < 10 {
		t.Fatalf("OpenAPI document: %v, %d paths", err, len(doc.Paths))
	}
	return doc.Paths
}

var concretePath = strings.NewReplacer(
	"{collectionId}", "hazards", "{featureId}", "999999", "{layers}", "grids", "{z}", "0", "{x}", "0", "{y}", "0",
	"{planId}", "999999", "{code}", "NOPE", "{keyId}", "nokey", "{file}", "nothing.js",
)

// TestUnknownParameterEveryRoute: every route, whatever its method, refuses
// a query parameter it does not declare (/req/core/query-param-unknown),
// before doing anything; the routes that declare f take f=json.
func TestUnknownParameterEveryRoute(t *testing.T) {
	n := 0
	for path, ops := range openAPIPaths(t) {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			method = strings.ToUpper(method)
			req, _ := http.NewRequest(method, server.URL+concretePath.Replace(path)+"?zzz=1", nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var p struct{ Detail string }
			json.NewDecoder(res.Body).Decode(&p)
			res.Body.Close()
			if res.StatusCode != 400 || !strings.Contains(p.Detail, `unknown query parameter "zzz"`) {
				t.Errorf("%s %s?zzz=1: %d %q, want 400 naming zzz", method, path, res.StatusCode, p.Detail)
			}
			n++
			if method == "GET" && strings.Contains(string(op), `"name":"f"`) && !strings.Contains(path, "{featureId}") && !strings.Contains(path, "{file}") {
				if res, _ := get(t, concretePath.Replace(path)+"?f=json"); res.StatusCode != 200 {
					t.Errorf("GET %s?f=json: %d", path, res.StatusCode)
				}
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d operations tried", n)
	}
}

// TestHTMLOnlyOnTheLandingPage: f=html is a 406 wherever only JSON is
// served, nothing links to text/html there, and /conformance does not
// claim Part 1's html class; the landing page is the map page.
func TestHTMLOnlyOnTheLandingPage(t *testing.T) {
	for _, path := range []string{"/collections", "/collections/hazards", "/collections/hazards/items", "/collections/hazards/items/1",
		"/collections/hazards/queryables", "/conformance", "/api"} {
		if status, detail := problemOf(t, path+"?f=html"); status != 406 || !strings.Contains(detail, "JSON") {
			t.Errorf("%s?f=html: %d %q, want 406", path, status, detail)
		}
		res, body := get(t, path+"?f=json")
		if res.StatusCode != 200 {
			t.Errorf("%s?f=json: %d", path, res.StatusCode)
		}
		if strings.Contains(string(body), `"text/html"`) {
			t.Errorf("%s links to text/html, which it does not serve", path)
		}
	}
	res, body := get(t, "/?f=html")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "<html") {
		t.Errorf("/?f=html: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	_, body = get(t, "/conformance")
	var conf struct{ ConformsTo []string }
	json.Unmarshal(body, &conf)
	for _, c := range conf.ConformsTo {
		if strings.HasSuffix(c, "/conf/html") {
			t.Errorf("conformance claims %s", c)
		}
	}
	for _, c := range []string{
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
	} {
		if !slices.Contains(conf.ConformsTo, c) {
			t.Errorf("conformance does not claim %s", c)
		}
	}
}

// TestQueryables: each collection's queryables are a JSON Schema
// (/req/queryables/get-queryables-response) linked from the collection and
// its items (/req/queryables/queryables-link), and each simple one is a
// query parameter of the items (/req/queryables-query-parameters/parameters).
func TestQueryables(t *testing.T) {
	for _, coll := range []string{"areas", "grids", "hazards", "cameras", "households"} {
		t.Run(coll, func(t *testing.T) {
			self := server.URL + "/collections/" + coll + "/queryables"
			res, body := get(t, "/collections/"+coll+"/queryables")
			var q struct {
				Schema     string                    `json:"$schema"`
				ID         string                    `json:"$id"`
				Type       string                    `json:"type"`
				Props      map[string]map[string]any `json:"properties"`
				Additional *bool                     `json:"additionalProperties"`
			}
			if err := json.Unmarshal(body, &q); err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/schema+json" {
				t.Fatalf("%d %s %v", res.StatusCode, res.Header.Get("Content-Type"), err)
			}
			if q.Schema != "https://json-schema.org/draft/2020-12/schema" || q.ID != self || q.Type != "object" || q.Additional == nil || *q.Additional {
				t.Errorf("$schema %q $id %q type %q additionalProperties %v", q.Schema, q.ID, q.Type, q.Additional)
			}
			want := append(slices.Clone(data.Filterable(data.Layer(coll))), "geometry")
			if p := data.TimeProperty(data.Layer(coll)); p != "" {
				want = append(want, p)
			}
			var got []string
			for name, schema := range q.Props {
				got = append(got, name)
				if name == "geometry" {
					if f, _ := schema["format"].(string); !strings.HasPrefix(f, "geometry-") || schema["type"] != nil {
						t.Errorf("geometry: %v, want a geometry-* format and no type", schema)
					}
					continue
				}
				if schema["type"] == nil {
					t.Errorf("%s has no type", name)
				}
				// The same name is a query parameter of the items, with a
				// value the schema allows.
				v := "x"
				switch {
				case schema["enum"] != nil:
					v = fmt.Sprint(schema["enum"].([]any)[0])
				case schema["format"] == "date-time":
					v = "2024-11-26T09:00:00Z"
				case schema["type"] == "integer":
					v = "1"
				}
				if res, body := get(t, "/collections/"+coll+"/items?limit=1&"+name+"="+url.QueryEscape(v)); res.StatusCode != 200 {
					t.Errorf("items?%s=%s: %d %s", name, v, res.StatusCode, body)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("queryables %v, want %v", got, want)
			}

			_, body = get(t, "/collections/"+coll)
			var doc struct {
				Links []struct{ Href, Rel, Type string }
			}
			json.Unmarshal(body, &doc)
			linked := false
			for _, l := range doc.Links {
				linked = linked || l.Rel == "http://www.opengis.net/def/rel/ogc/1.0/queryables" && l.Href == self && l.Type == "application/schema+json"
			}
			if !linked {
				t.Errorf("the collection does not link its queryables: %v", doc.Links)
			}
			res, _ = get(t, "/collections/"+coll+"/items?limit=1")
			if h := res.Header.Get("Link"); !strings.Contains(h, "<"+self+">") || !strings.Contains(h, `rel="http://www.opengis.net/def/rel/ogc/1.0/queryables"`) {
				t.Errorf("items Link header %q", h)
			}
		})
	}
	_, body := get(t, "/collections/hazards/queryables")
	var hz struct{ Properties map[string]map[string]any }
	json.Unmarshal(body, &hz)
	if r := hz.Properties["reported_at"]; r["format"] != "date-time" || r["x-ogc-role"] != "primary-instant" {
		t.Errorf("reported_at: %v", r)
	}
	// The categories of the taxonomy in use (the built-in one here).
	if e, _ := json.Marshal(hz.Properties["category"]["enum"]); string(e) != `["public_order","construction","traffic","fire","workplace","water","building","electrical","other","marriage_family","neighbours","labour","road_accident","land_demolition","dispute_other"]` {
		t.Errorf("category enum %s", e)
	}
	if status, _ := problemOf(t, "/collections/parks/queryables"); status != 404 {
		t.Errorf("queryables of no collection: %d", status)
	}
}

// TestOWSLib asks OWSLib's OGC API Features client (Debian python3-owslib,
// test/owslib/features.py) what it sees, and compares with the server's own
// numbers: collections, items, items in a box, items in an interval,
// queryables.
func TestOWSLib(t *testing.T) {
	python := "/usr/bin/python3" // Debian's, which has the owslib module
	if _, err := os.Stat(python); err != nil {
		python = storetest.NeedTool(t, "python3", "python3")
	}
	if out, err := exec.Command(python, "-c", "import owslib.ogcapi.features").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("OWSLib missing (%v: %s); scripts/deps.sh installs Debian python3-owslib", err, out)
		}
		t.Skipf("OWSLib missing: run scripts/deps.sh (Debian python3-owslib)")
	}
	const bbox, when = "9.50,47.10,9.55,47.15", "2025-01-01T00:00:00Z/2025-03-31T23:59:59Z"
	out, err := exec.Command(python, filepath.Join("..", "test", "owslib", "features.py"), server.URL+"/", bbox, when).CombinedOutput()
	if err != nil {
		t.Fatalf("features.py: %v\n%s", err, out)
	}
	var got struct {
		ConformsTo  []string
		Collections []string
		Items       struct{ Matched, Returned int }
		BBox        struct{ Matched, Returned int }
		Datetime    struct {
			Matched    int
			ReportedAt []string `json:"reported_at"`
		}
		Queryables struct {
			ID         string
			Properties []string
		}
		CRS struct {
			List             []string
			StorageCRS       string `json:"storageCrs"`
			EPSG4490LatFirst bool   `json:"epsg4490LatFirst"`
			IDs              []int64
			LonLat           [][2]float64
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("features.py printed %s: %v", out, err)
	}
	all, _ := matched(t, "/collections/hazards/items?limit=1")
	inBox, _ := matched(t, "/collections/hazards/items?limit=1&bbox="+bbox)
	inTime, p := matched(t, "/collections/hazards/items?limit=1000&datetime="+when)
	var times []string
	for _, f := range p.Features {
		times = append(times, f.Properties["reported_at"].(string))
	}
	slices.Sort(times)
	_, body := get(t, "/conformance")
	var conf struct{ ConformsTo []string }
	json.Unmarshal(body, &conf)
	_, body = get(t, "/collections/hazards/queryables")
	var q struct {
		ID         string `json:"$id"`
		Properties map[string]any
	}
	json.Unmarshal(body, &q)
	var props []string
	for name := range q.Properties {
		props = append(props, name)
	}
	slices.Sort(props)
	switch {
	case !slices.Equal(got.ConformsTo, conf.ConformsTo):
		t.Errorf("OWSLib conformance %v, want %v", got.ConformsTo, conf.ConformsTo)
	case strings.Join(got.Collections, ",") != "areas,grids,hazards,cameras,households,streets,units":
		t.Errorf("OWSLib collections %v", got.Collections)
	case got.Items.Matched != all || got.Items.Returned != 5:
		t.Errorf("OWSLib items: %+v, want %d matched, 5 returned", got.Items, all)
	case got.BBox.Matched != inBox || inBox == 0 || inBox == all || got.BBox.Returned != 1:
		t.Errorf("OWSLib bbox: %+v, want %d matched", got.BBox, inBox)
	case got.Datetime.Matched != inTime || inTime == 0 || inTime == all || !slices.Equal(got.Datetime.ReportedAt, times):
		t.Errorf("OWSLib datetime: %d matched, want %d; times equal: %v", got.Datetime.Matched, inTime, slices.Equal(got.Datetime.ReportedAt, times))
	case got.Queryables.ID != q.ID || !slices.Equal(got.Queryables.Properties, props):
		t.Errorf("OWSLib queryables %+v, want %s %v", got.Queryables, q.ID, props)
	case !slices.Contains(got.CRS.List, "http://www.opengis.net/def/crs/EPSG/0/4490") || !strings.HasSuffix(got.CRS.StorageCRS, "/CRS84"):
		t.Errorf("OWSLib collection crs %v, storageCrs %q", got.CRS.List, got.CRS.StorageCRS)
	case !got.CRS.EPSG4490LatFirst:
		t.Error("GDAL's osr does not order EPSG:4490 lat, lon: the check below would prove nothing")
	}
	// Items in EPSG:4490 as OWSLib read them, taken to CRS84 by PROJ, are
	// the CRS84 items: the axes are in EPSG:4490's order, the numbers WGS 84's.
	_, p84 := matched(t, "/collections/hazards/items?limit=5")
	if len(got.CRS.LonLat) != len(p84.Features) || len(p84.Features) == 0 {
		t.Fatalf("OWSLib read %d features in EPSG:4490, CRS84 has %d", len(got.CRS.LonLat), len(p84.Features))
	}
	for i, f := range p84.Features {
		c := f.Geometry["coordinates"].([]any)
		lon, lat := c[0].(float64), c[1].(float64)
		if g := got.CRS.LonLat[i]; got.CRS.IDs[i] != f.ID || math.Abs(g[0]-lon) > 1e-9 || math.Abs(g[1]-lat) > 1e-9 {
			t.Errorf("feature %d in EPSG:4490 via PROJ is %v, CRS84 says [%v, %v]", f.ID, g, lon, lat)
		}
	}
}

// recorder is a proxy in front of the shared server that keeps the query
// strings of the item requests a client sends.
type recorder struct {
	*httptest.Server
	mu      sync.Mutex
	queries []url.Values
}

func newRecorder(t *testing.T) *recorder {
	target, _ := url.Parse(server.URL)
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target) // keeps Host: links point back through the proxy
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/items") {
			rec.mu.Lock()
			rec.queries = append(rec.queries, r.URL.Query())
			rec.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) sent(name string) []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []string
	for _, q := range rec.queries {
		if v, ok := q[name]; ok {
			out = append(out, v[0])
		}
	}
	return out
}

// TestGDALFilters: GDAL's OGC API Features driver (QGIS's client) turns
// -where on a queryable into its query parameter and a time range into
// datetime, and pages with PAGE_SIZE=20000, above the maximum; its counts
// are the server's.
func TestGDALFilters(t *testing.T) {
	ogrinfo := storetest.NeedTool(t, "ogrinfo", "gdal-bin")
	count := regexp.MustCompile(`Feature Count: (\d+)`)
	run := func(args ...string) int {
		t.Helper()
		cmd := exec.Command(ogrinfo, append([]string{"-so", "--config", "GDAL_HTTP_TIMEOUT", "60"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ogrinfo %v: %v\n%s", args, err, out)
		}
		m := count.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("ogrinfo %v printed no feature count:\n%s", args, out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}

	t.Run("where on a queryable", func(t *testing.T) {
		rec := newRecorder(t)
		want, _ := matched(t, "/collections/hazards/items?limit=1&category=fire")
		if n := run("-where", "category = 'fire'", "OAPIF:"+rec.URL+"/collections/hazards", "hazards"); n != want || n == 0 {
			t.Errorf("GDAL counts %d fire hazards, want %d", n, want)
		}
		if sent := rec.sent("category"); len(sent) == 0 || sent[0] != "fire" {
			t.Errorf("GDAL sent category %v, want fire", sent)
		}
		// A value no hazard has is an empty layer, not an error.
		if n := run("-where", "category = 'Fire'", "OAPIF:"+rec.URL+"/collections/hazards", "hazards"); n != 0 {
			t.Errorf("GDAL counts %d hazards of category Fire, want 0", n)
		}
	})

	t.Run("datetime", func(t *testing.T) {
		rec := newRecorder(t)
		const lo, hi = "2025-01-01T00:00:00Z", "2025-03-31T23:59:59Z"
		want, _ := matched(t, "/collections/hazards/items?limit=1&datetime="+lo+"/"+hi)
		where := fmt.Sprintf("reported_at >= '%s' AND reported_at <= '%s'", lo, hi)
		if n := run("-where", where, "OAPIF:"+rec.URL+"/collections/hazards", "hazards"); n != want || n == 0 {
			t.Errorf("GDAL counts %d hazards in %s/%s, want %d", n, lo, hi, want)
		}
		if sent := rec.sent("datetime"); len(sent) == 0 || sent[0] != lo+"/"+hi {
			t.Errorf("GDAL sent datetime %v, want %s/%s", sent, lo, hi)
		}
	})

	t.Run("PAGE_SIZE above the maximum", func(t *testing.T) {
		rec := newRecorder(t)
		want, _ := matched(t, "/collections/households/items?limit=1")
		// A filter GDAL cannot send makes it read every page itself.
		n := run("-oo", "PAGE_SIZE=20000", "-where", "households >= 1", "OAPIF:"+rec.URL+"/collections/households", "households")
		if n != want || want <= 10000 {
			t.Errorf("GDAL with PAGE_SIZE=20000 counts %d household points, want %d", n, want)
		}
		limits := rec.sent("limit")
		if !slices.Contains(limits, "20000") || !slices.Contains(limits, "10000") {
			t.Errorf("GDAL sent limits %v, want 20000 and then the next link's 10000", limits)
		}
	})
}
