package api_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wangge/wangge/api"
)

// The map page names its assets; each is served with a year of caching, a
// gzip twin to clients that accept it, and 304 on a matching ETag. Without
// the built page (no npm when the binary was built) the fallback is served.
func TestMapPageAssets(t *testing.T) {
	res, body := get(t, "/?f=html")
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || csp == "" || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("GET /?f=html: %d, CSP %q", res.StatusCode, csp)
	}
	names := regexp.MustCompile(`assets/([A-Za-z0-9_.-]+\.(?:js|css))`).FindAllStringSubmatch(string(body), -1)
	if len(names) == 0 {
		if !strings.Contains(csp, "'unsafe-inline'") {
			t.Errorf("fallback page without 'unsafe-inline' in its CSP: %q", csp)
		}
		if os.Getenv("CI") != "" {
			t.Fatal("the map page is not built into this binary: make test builds it (make web) before go test")
		}
		t.Skip("the map page is not built into this binary (make web); the fallback page was served")
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("built page CSP allows inline or eval: %q", csp)
	}
	for _, m := range names {
		path := "/assets/" + m[1]
		res, raw := get(t, path, "Accept-Encoding", "identity")
		if res.StatusCode != 200 || len(raw) == 0 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Fatalf("%s: %d, %d bytes, Cache-Control %q", path, res.StatusCode, len(raw), res.Header.Get("Cache-Control"))
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") && !strings.HasPrefix(ct, "text/css") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		// Ask for gzip ourselves, so the transport hands over the raw body.
		req, _ := http.NewRequest("GET", server.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		gres, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(gres.Body)
		if err != nil || gres.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s with gzip: %v, Content-Encoding %q", path, err, gres.Header.Get("Content-Encoding"))
		}
		unz, err := io.ReadAll(zr)
		gres.Body.Close()
		if err != nil || string(unz) != string(raw) {
			t.Errorf("%s: the gzip twin differs from the file (%v)", path, err)
		}
		res, _ = get(t, path, "Accept-Encoding", "identity", "If-None-Match", res.Header.Get("ETag"))
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", path, res.StatusCode)
		}
	}
	for _, bad := range []string{"/assets/nope.js", "/assets/..%2fpage%2findex.html", "/assets/x.exe"} {
		res, body := get(t, bad)
		if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %s %s", bad, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
}

func TestBaseMap(t *testing.T) {
	for _, tc := range []struct {
		tmpl string
		ok   bool
	}{
		{"", true},
		{"https://tile.example.org/{z}/{x}/{y}.png", true},
		{"http://localhost:8081/tiles/{z}/{x}/{y}.png?key=1", true},
		{"https://tile.example.org/{z}/{x}.png", false},
		{"https://{s}.tile.example.org/{z}/{x}/{y}.png", false},
		{"ftp://tile.example.org/{z}/{x}/{y}.png", false},
		{"/tiles/{z}/{x}/{y}.png", false},
		{"https://tile.example.org/{z}/{x}/{y}.png; script-src *", false},
	} {
		if err := api.ValidBaseMap(tc.tmpl); (err == nil) != tc.ok {
			t.Errorf("ValidBaseMap(%q) = %v, want ok %v", tc.tmpl, err, tc.ok)
		}
	}
	srv := api.New(api.Config{BaseMap: "https://tile.example.org/{z}/{x}/{y}.png"})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/?f=html", nil)
	srv.ServeHTTP(rec, req)
	csp, body := rec.Header().Get("Content-Security-Policy"), rec.Body.String()
	if strings.Contains(csp, "'unsafe-inline'") {
		t.Skip("the map page is not built into this binary (make web): no base map on the fallback page")
	}
	if !strings.Contains(csp, "img-src 'self' https://tile.example.org") || !strings.Contains(csp, "connect-src 'self' https://tile.example.org") {
		t.Errorf("CSP does not let the base map through: %q", csp)
	}
	if rp := rec.Header().Get("Referrer-Policy"); rp != "strict-origin" {
		t.Errorf("Referrer-Policy with a base map = %q, want strict-origin (tile servers ask who uses them)", rp)
	}
	if !strings.Contains(body, `<meta name="wangge-basemap" content="https://tile.example.org/{z}/{x}/{y}.png">`) {
		t.Errorf("page does not name the base map")
	}
}

// TestPageBaseMapCSP: the page asked for a Chinese base map by its address
// lets that base map's tile hosts (tiles/basemap.go's, the ones
// /style.json draws) through its CSP and sends its origin to them; without
// one, or with one the style refuses (the page shows why), it stays on this
// origin.
func TestPageBaseMapCSP(t *testing.T) {
	srv := api.New(api.Config{})
	page := func(query string) (csp, referrer string) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/?f=html"+query, nil))
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
		}
		return rec.Header().Get("Content-Security-Policy"), rec.Header().Get("Referrer-Policy")
	}
	if csp, _ := page(""); strings.Contains(csp, "'unsafe-inline'") {
		t.Skip("the map page is not built into this binary (make web)")
	}
	for _, tc := range []struct {
		query, host, other string
	}{
		{"&basemap=amap", "https://webrd01.is.autonavi.com", "tianditu"},
		{"&basemap=tianditu&tk=0123456789abcdef", "https://t0.tianditu.gov.cn", "autonavi"},
	} {
		csp, rp := page(tc.query)
		for _, dir := range []string{"img-src", "connect-src"} {
			if !strings.Contains(csp, dir+" 'self' "+tc.host+" ") || !strings.Contains(csp, dir) {
				t.Errorf("%s: %s does not let %s through: %q", tc.query, dir, tc.host, csp)
			}
		}
		if strings.Contains(csp, tc.other) {
			t.Errorf("%s: the CSP lets the other base map through: %q", tc.query, csp)
		}
		if rp != "strict-origin" {
			t.Errorf("%s: Referrer-Policy %q, want strict-origin (Tianditu checks its keys' sites)", tc.query, rp)
		}
	}
	// The page says what is wrong with a base map it cannot draw (its style's 400).
	for _, q := range []string{"", "&basemap=none", "&basemap=tianditu", "&basemap=tianditu&tk=bad!", "&basemap=google"} {
		if csp, rp := page(q); strings.Contains(csp, "autonavi") || strings.Contains(csp, "tianditu") || rp == "strict-origin" {
			t.Errorf("%q: %q, Referrer-Policy %q: a tile host let through", q, csp, rp)
		}
	}
}

// TestArchiveURL: serve --archive-url takes an absolute http(s) URL or a
// path on this origin, nothing that could break out of the style or the
// CSP; an absolute one's origin is let through the map page's CSP.
func TestArchiveURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"", true},
		{"https://cdn.example.org/city.pmtiles", true},
		{"http://localhost:8081/a/city.pmtiles?v=3", true},
		{"/static/city.pmtiles", true},
		{"//cdn.example.org/city.pmtiles", false},
		{"city.pmtiles", false},
		{"ftp://cdn.example.org/city.pmtiles", false},
		{"https://cdn.example.org/city.pmtiles; script-src *", false},
		{"https://cdn.example.org/a\"b.pmtiles", false},
	} {
		if err := api.ValidArchiveURL(tc.url); (err == nil) != tc.ok {
			t.Errorf("ValidArchiveURL(%q) = %v, want ok %v", tc.url, err, tc.ok)
		}
	}
	srv := api.New(api.Config{ArchiveURL: "https://cdn.example.org/city.pmtiles"})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/?f=html", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	if strings.Contains(csp, "'unsafe-inline'") {
		t.Skip("the map page is not built into this binary (make web): the fallback page reads no archive")
	}
	if !strings.Contains(csp, "connect-src 'self' https://cdn.example.org") {
		t.Errorf("CSP does not let the archive through: %q", csp)
	}
}

// TestServiceWorkerAndManifest: the field page's service worker and web app
// manifest are served from the root with their own types, the worker with
// its own CSP and Service-Worker-Allowed, both revalidated (no-cache); a
// binary built without the page answers 404.
func TestServiceWorkerAndManifest(t *testing.T) {
	srv := api.New(api.Config{})
	get := func(path string, hdr ...string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		srv.ServeHTTP(rec, req)
		return rec
	}
	sw := get("/sw.js")
	if sw.Code == http.StatusNotFound {
		t.Skip("the map page is not built into this binary (make web)")
	}
	if sw.Code != http.StatusOK {
		t.Fatalf("GET /sw.js: %d %s", sw.Code, sw.Body)
	}
	for k, want := range map[string]string{
		"Content-Type": "text/javascript; charset=utf-8", "Service-Worker-Allowed": "./", "Cache-Control": "no-cache",
		"Content-Security-Policy": "default-src 'none'; connect-src 'self'",
	} {
		if got := sw.Header().Get(k); got != want {
			t.Errorf("/sw.js %s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(sw.Body.String(), "wangge-shell-") {
		t.Errorf("/sw.js is not the built worker: %.200s", sw.Body)
	}
	if again := get("/sw.js", "If-None-Match", sw.Header().Get("ETag")); again.Code != http.StatusNotModified {
		t.Errorf("/sw.js with its ETag: %d, want 304", again.Code)
	}
	m := get("/manifest.webmanifest")
	if m.Code != http.StatusOK || m.Header().Get("Content-Type") != "application/manifest+json" {
		t.Fatalf("GET /manifest.webmanifest: %d %q", m.Code, m.Header().Get("Content-Type"))
	}
	var man struct {
		Name  string `json:"name"`
		Icons []struct {
			Src string `json:"src"`
		} `json:"icons"`
	}
	if err := json.Unmarshal(m.Body.Bytes(), &man); err != nil || man.Name != "网格 field" || len(man.Icons) == 0 {
		t.Fatalf("manifest: %v %+v", err, man)
	}
	if icon := get("/" + man.Icons[0].Src); icon.Code != http.StatusOK || icon.Header().Get("Content-Type") != "image/svg+xml" {
		t.Errorf("the manifest's icon %s: %d %q", man.Icons[0].Src, icon.Code, icon.Header().Get("Content-Type"))
	}
	// The page names the manifest, and its CSP lets it load.
	page := get("/?f=html")
	if !strings.Contains(page.Body.String(), `rel="manifest" href="manifest.webmanifest"`) || !strings.Contains(page.Header().Get("Content-Security-Policy"), "manifest-src 'self'") {
		t.Errorf("the page does not name its manifest, or its CSP refuses it")
	}
}

// TestSitePage: the live page's wangge-site tag is empty (a served page
// never asks for a site.json), and SitePage fills it for a static site,
// leaving the rest of the page as built.
func TestSitePage(t *testing.T) {
	if _, err := api.PageDist(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (make web)", err)
		}
		t.Skipf("%v", err)
	}
	const empty = `<meta name="wangge-site" content="">`
	_, live := get(t, "/?f=html")
	if !strings.Contains(string(live), empty) {
		t.Fatalf("the served page has no empty %s", empty)
	}
	site, err := api.SitePage("site.json")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(string(live), empty, `<meta name="wangge-site" content="site.json">`, 1)
	if string(site) != want {
		t.Errorf("SitePage differs from the served page by more than the wangge-site tag")
	}
}
