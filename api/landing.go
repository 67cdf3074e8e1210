package api

import (
	"bytes"
	"embed"
	"hash/crc32"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/cql2"
	"github.com/wangge/wangge/tiles"
)

// pageFiles holds the map page. page/dist is what `npm run build` in web/
// writes (gitignored); page/index.html is the committed fallback served when
// the binary was built without it, so `go build` works on a fresh clone
// without Node.js. See docs/DESIGN.md, "Map page".
//
//go:embed all:page
var pageFiles embed.FS

const (
	builtIndex    = "page/dist/index.html"
	fallbackIndex = "page/index.html"
	assetDir      = "page/dist/assets"
)

// pageCSP is the Content-Security-Policy of the built map page: scripts,
// styles, the MapLibre worker and every request from this origin only. The
// page uses MapLibre's CSP build, whose worker is a file here rather than a
// blob: URL, so neither blob: workers nor 'unsafe-eval' are needed. img-src
// allows data: and blob: because MapLibre turns images into blobs.
const pageCSP = "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// fallbackCSP is for the fallback page, which keeps its script and style
// inline so that it is one committed file.
const fallbackCSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// mapPage returns the page to serve and its CSP: the built page when the
// binary has it, else the fallback. A configured base map is named in the
// page's wangge-basemap meta tag, and its origin is let through the CSP;
// so are the tile hosts of the Chinese base map the address asks for
// (basemap, see pageBaseMap), and only those: a page without one keeps
// its requests on this origin.
func (s *Server) mapPage(r *http.Request) ([]byte, string, error) {
	b, err := pageFiles.ReadFile(builtIndex)
	if err != nil {
		b, err := pageFiles.ReadFile(fallbackIndex)
		return b, fallbackCSP, err
	}
	csp := pageCSP
	if s.cfg.BaseMap != "" {
		origin := baseMapOrigin(s.cfg.BaseMap)
		b = bytes.Replace(b, []byte(`<meta name="wangge-basemap" content="">`),
			[]byte(`<meta name="wangge-basemap" content="`+html.EscapeString(s.cfg.BaseMap)+`">`), 1)
		csp = strings.Replace(csp, "img-src 'self'", "img-src 'self' "+origin, 1)
		csp = strings.Replace(csp, "connect-src 'self'", "connect-src 'self' "+origin, 1)
	}
	if bm := pageBaseMap(r); bm != nil {
		origins := strings.Join(bm.Origins(), " ")
		csp = strings.Replace(csp, "img-src 'self'", "img-src 'self' "+origins, 1)
		csp = strings.Replace(csp, "connect-src 'self'", "connect-src 'self' "+origins, 1)
	}
	if origin := archiveOrigin(s.cfg.ArchiveURL); origin != "" {
		// The page reads the style's archive with range requests.
		csp = strings.Replace(csp, "connect-src 'self'", "connect-src 'self' "+origin, 1)
	}
	return b, csp, nil
}

// PageDist is the built map page as the binary embeds it (index.html, the
// hashed assets, the glyphs, the manifest, the service worker), for
// `wangge export --format site`, which copies it to a static host. A binary
// built without the page (only the fallback) has none to give.
func PageDist() (fs.FS, error) {
	if _, err := pageFiles.ReadFile(builtIndex); err != nil {
		return nil, data.Errorf(data.ENOTFOUND, "this binary was built without the map page (api/page/dist): build it with `make web build`")
	}
	return fs.Sub(pageFiles, "page/dist")
}

// siteMeta is the built page's tag that names a static site's config; the
// page (web/src/site.js) starts in static mode when it is not empty.
const siteMeta = `<meta name="wangge-site" content="">`

// SitePage returns the built page's index.html for a static site whose
// config (site.json) is at the page-relative URL config.
func SitePage(config string) ([]byte, error) {
	b, err := pageFiles.ReadFile(builtIndex)
	if err != nil {
		return nil, data.Errorf(data.ENOTFOUND, "this binary was built without the map page (api/page/dist): build it with `make web build`")
	}
	if !bytes.Contains(b, []byte(siteMeta)) {
		return nil, data.Errorf(data.EINTERNAL, "the embedded map page has no wangge-site tag: it is older than this binary; rebuild it with `make web build`")
	}
	return bytes.Replace(b, []byte(siteMeta), []byte(`<meta name="wangge-site" content="`+html.EscapeString(config)+`">`), 1), nil
}

// pageBaseMap is the Chinese base map the page's address asks for
// (?basemap=amap, ?basemap=tianditu&tk=KEY), the preset /style.json draws,
// or nil: none asked, or one the style would refuse, whose page then shows
// the style's 400 and needs no tile host. The page itself reads the
// choice (web/src/basemap.js) and puts one kept on the device into the
// address, so that the server sees it here.
func pageBaseMap(r *http.Request) *tiles.BaseMap {
	q := r.URL.Query()
	name := q.Get("basemap")
	if name == "" || name == "none" {
		return nil
	}
	bm, err := tiles.BaseMapPreset(name, q.Get("tk"))
	if err != nil {
		return nil
	}
	return bm
}

// basemapPageParam and tkPageParam are the page's base map, read by the
// page; the server lets the base map's tile hosts through the page's CSP.
var (
	basemapPageParam = queryParam("basemap", "the map page's base map: none, amap (高德; the page then works in GCJ-02) or "+
		"tianditu (天地图, with tk); the default is the one kept on the device; the JSON answer ignores it",
		map[string]any{"type": "string", "enum": append([]string{"none"}, tiles.BaseMapNames()...)})
	tkPageParam = queryParam("tk", "the user's Tianditu key, for basemap=tianditu", str)
)

// ValidBaseMap checks a base-map URL template: "" (none), or an absolute
// http(s) URL with {z}, {x} and {y} and no characters that would break out
// of the page's CSP.
func ValidBaseMap(tmpl string) error {
	if tmpl == "" {
		return nil
	}
	for _, p := range []string{"{z}", "{x}", "{y}"} {
		if !strings.Contains(tmpl, p) {
			return data.Errorf(data.EINVALID, "base map %q: the URL template needs {z}, {x} and {y}", tmpl)
		}
	}
	if strings.Contains(tmpl, "{s}") {
		return data.Errorf(data.EINVALID, "base map %q: MapLibre does not expand {s}; name one host", tmpl)
	}
	u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0", "{r}", "").Replace(tmpl))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(tmpl, " ;,'\"\n") {
		return data.Errorf(data.EINVALID, "base map %q: want an absolute http(s) URL template such as https://tile.example.org/{z}/{x}/{y}.png", tmpl)
	}
	return nil
}

// baseMapOrigin is the scheme and host of a valid template.
func baseMapOrigin(tmpl string) string {
	u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0", "{r}", "").Replace(tmpl))
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (s *Server) pageRoutes() []route {
	return []route{
		{method: "GET", path: "/assets/{file}", role: public, id: "getPageAsset", tag: "Capabilities",
			summary: "A file of the map page (script, style, MapLibre worker); names carry a content hash and never change",
			params:  []param{pathParam("file", "file name")}, responses: withProblems(map[int]string{200: "the file", 304: "not modified"}),
			produces: "application/javascript", handler: s.pageAsset},
		{method: "GET", path: "/sw.js", role: public, id: "getServiceWorker", tag: "Capabilities",
			summary:   "The map page's service worker (its field view works without signal); served from the root so that its scope is the page",
			responses: withProblems(map[int]string{200: "the script", 304: "not modified"}), produces: "text/javascript", handler: s.pageRootFile("sw.js")},
		{method: "GET", path: "/manifest.webmanifest", role: public, id: "getWebManifest", tag: "Capabilities",
			summary:   "The map page's web app manifest (installable field page)",
			responses: withProblems(map[int]string{200: "the manifest", 304: "not modified"}), produces: "application/manifest+json", handler: s.pageRootFile("manifest.webmanifest")},
	}
}

// swCSP is the service worker's own Content-Security-Policy (a worker
// script's policy comes with its response, not from the page): it only
// fetches from this origin.
const swCSP = "default-src 'none'; connect-src 'self'"

// pageRootFile serves a file the page build writes next to index.html:
// the service worker and the manifest. Their names are fixed, so browsers
// revalidate them (no-cache); the worker may control the whole site
// (Service-Worker-Allowed), which its place at the root gives it anyway,
// also behind a proxy that adds a prefix.
func (s *Server) pageRootFile(name string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := pageFiles.ReadFile("page/dist/" + name)
		if err != nil {
			return data.Errorf(data.ENOTFOUND, "no %s: the map page is served from the binary; rebuild it with `make web build`", name)
		}
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		if name == "sw.js" {
			h.Set("Content-Type", "text/javascript; charset=utf-8")
			h.Set("Service-Worker-Allowed", "./")
			h.Set("Content-Security-Policy", swCSP)
		} else {
			h.Set("Content-Type", "application/manifest+json")
		}
		etag := `"` + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 16) + `"`
		h.Set("ETag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			return nil
		}
		_, err = w.Write(body)
		return err
	}
}

// assetTypes are the content types of the files the page build writes.
var assetTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".map":  "application/json",
	".png":  "image/png",
	".svg":  "image/svg+xml",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

// pageAsset serves one built file. Names carry a content hash, so the file
// is cached for a year; a gzip twin written by the build is sent to clients
// that accept it (MapLibre is a megabyte, a quarter of that gzipped).
func (s *Server) pageAsset(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["file"]
	ct, ok := assetTypes[path.Ext(name)]
	if !ok || strings.HasPrefix(name, ".") || !fs.ValidPath(name) {
		return data.Errorf(data.ENOTFOUND, "no asset %q", name)
	}
	file := assetDir + "/" + name
	body, err := pageFiles.ReadFile(file)
	if err != nil {
		return data.Errorf(data.ENOTFOUND, "no asset %q: the map page is served from the binary; rebuild it with `make web build`", name)
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	return serveBuilt(w, r, file, body, ct, name)
}

// serveBuilt answers with a file of the page's build: its gzip twin to
// clients that accept it, an ETag made of tag (".gz" for the twin), 304 on
// If-None-Match, no body for HEAD. The caller sets Cache-Control.
func serveBuilt(w http.ResponseWriter, r *http.Request, file string, body []byte, contentType, tag string) error {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	etag := `"` + tag + `"`
	if gz, err := pageFiles.ReadFile(file + ".gz"); err == nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = gz, `"`+tag+`.gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(body)
	return err
}

// langPageParam is the map page's language, read by the page itself
// (web/src/i18n.js); the server serves the same page whatever it is.
var langPageParam = queryParam("lang", "the map page's language: zh-CN or en (default: the browser's); the JSON answer ignores it",
	map[string]any{"type": "string", "enum": []string{"zh-CN", "en"}})

// fPageParam is the landing page's f: it alone has an HTML page, so only it
// takes f=html (elsewhere fParam, and f=html is a 406).
var fPageParam = queryParam("f", "response format: json or html, the map page (default: by the Accept header)",
	map[string]any{"type": "string", "enum": []string{"json", "html"}})

// wantsHTML decides between the map page and JSON: f= wins, then the Accept
// header. Browsers ask for text/html first; curl and GDAL do not.
func wantsHTML(r *http.Request) bool {
	switch r.URL.Query().Get("f") {
	case "html":
		return true
	case "json":
		return false
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		switch mt {
		case "text/html", "application/xhtml+xml":
			return true
		case "application/json", "application/geo+json":
			return false
		}
	}
	return false
}

func (s *Server) landing(w http.ResponseWriter, r *http.Request) error {
	w.Header().Add("Vary", "Accept")
	if wantsHTML(r) {
		page, csp, err := s.mapPage(r)
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		if (s.cfg.BaseMap != "" || pageBaseMap(r) != nil) && csp != fallbackCSP {
			// Public tile servers ask who uses them: send the page's origin
			// (not its path) to the base map, where no-referrer sends nothing.
			h.Set("Referrer-Policy", "strict-origin")
		}
		// The page names its assets by content hash: revalidate the page,
		// keep the assets.
		h.Set("Cache-Control", "no-cache")
		_, err = w.Write(page)
		return err
	}
	base := s.baseURL(r)
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"title":       s.cfg.Title,
		"description": "wangge: grids for community governance (网格化管理) — areas, grids, hazards and cameras as OGC API Features",
		"attribution": attribution,
		"links": []link{
			{Href: base + "/?f=json", Rel: "self", Type: "application/json", Title: "this document"},
			{Href: base + "/?f=html", Rel: "alternate", Type: "text/html", Title: "the map page"},
			{Href: base + "/api", Rel: "service-desc", Type: "application/vnd.oai.openapi+json;version=3.0", Title: "the API definition"},
			{Href: base + "/conformance", Rel: "conformance", Type: "application/json", Title: "OGC API conformance classes"},
			{Href: base + "/collections", Rel: "data", Type: "application/json", Title: "the collections"},
		},
	})
}

// attribution is required by the ODbL for the OpenStreetMap-derived demo data.
const attribution = "Demo data © OpenStreetMap contributors, ODbL 1.0 (https://opendatacommons.org/licenses/odbl/1-0/)"

// conformsTo lists the conformance classes that hold, and only those: not
// Part 1's html class, since every resource but the landing page is JSON
// only (f=html is a 406 there). The Part 3 classes are for the queryables
// (queryables.go), the items' query parameters named after them, and the
// filter parameter in CQL2 text (data/cql2, whose classes follow).
func conformsTo() []string {
	return append([]string{
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
		"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
		// Part 2: the crs and bbox-crs parameters, Content-Crs, crs lists (crs.go).
		"http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
	}, cql2.Conformance()...)
}

func (s *Server) conformance(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{"conformsTo": conformsTo()})
}

// openAPI serves the OpenAPI 3.0 document built from the route table.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, "application/vnd.oai.openapi+json;version=3.0", s.openAPIDoc(s.baseURL(r)))
}

// openAPIDoc builds the OpenAPI 3.0 document of every route: each
// operation's security and answers come from the route's role and
// allResponses, so a new route is described as the middleware treats it.
// test/validators checks the result (api/openapi_test.go).
func (s *Server) openAPIDoc(base string) map[string]any {
	paths := map[string]any{}
	for _, rt := range s.routes {
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = operation(rt)
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title": s.cfg.Title, "version": "1.0.0",
			"description": "wangge HTTP API: OGC API Features over areas, grids, hazards and cameras. Errors are RFC 7807 problem+json. " +
				"Routes that need a role take an API key (Authorization: Bearer wg_<id>_<secret>); a server may let requests without one " +
				"act with a role of its choosing (wangge serve --anonymous, --public-read).",
			"license": map[string]any{"name": "data: ODbL 1.0 (OpenStreetMap contributors)", "url": "https://opendatacommons.org/licenses/odbl/1-0/"},
		},
		"servers": []map[string]any{{"url": base}},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "wg_<id>_<secret>",
					"description": "An API key from wangge keys create or POST /v1/keys, with role viewer, field, planner or admin (each includes the ones before)"},
			},
			"parameters": map[string]any{
				"minVersion": map[string]any{"name": minVersionHeader, "in": "header",
					"description": "answer from data at least this new: a " + versionHeader + " from an earlier answer (waits up to 1 s, then 503)",
					"schema":      map[string]any{"type": "integer", "minimum": 0}},
			},
			"schemas": map[string]any{
				"Problem": map[string]any{"type": "object", "description": "RFC 7807 problem details", "properties": map[string]any{
					"type": str, "title": str, "status": map[string]any{"type": "integer"}, "detail": str, "instance": str,
				}},
			},
		},
	}
}

// operation is the OpenAPI operation of rt.
func operation(rt route) map[string]any {
	need := rt.needs()
	params := []any{}
	for _, p := range rt.params {
		o := map[string]any{"name": p.name, "in": p.in, "description": p.desc, "required": p.required, "schema": p.schema}
		if p.in == "query" {
			// Arrays (bbox) are comma lists. Path and header parameters
			// keep the default style, simple, the only one path ones may have.
			o["style"], o["explode"] = "form", false
		}
		params = append(params, o)
	}
	params = append(params, map[string]any{"$ref": "#/components/parameters/minVersion"})
	responses := map[string]any{}
	for code, desc := range rt.allResponses() {
		responses[strconv.Itoa(code)] = response(rt, code, desc)
	}
	if rt.method == "POST" || rt.method == "PATCH" {
		params = append(params, map[string]any{"name": headerIdempotencyKey, "in": "header", "required": false, "schema": map[string]any{"type": "string", "maxLength": 255},
			"description": "a key of the client's (a UUID): a copy of this request with the same key, to any replica within 24 h, gets the first answer " +
				"(with " + headerReplayed + ": true) and changes nothing; the same key with another request is a 422"})
		if _, ok := responses["422"]; !ok {
			responses["422"] = response(rt, http.StatusUnprocessableEntity, "the Idempotency-Key was used with another request")
		}
	}
	op := map[string]any{"operationId": rt.id, "summary": rt.summary, "tags": []string{rt.tag}, "parameters": params, "responses": responses,
		"security": []any{}, "description": "Public: no API key needed."}
	if need != "" {
		op["security"] = []any{map[string]any{"bearer": []string{}}}
		op["description"] = "Needs an API key with role " + string(need) + " or higher."
	}
	return op
}

// response is the OpenAPI response of rt with status code.
func response(rt route, code int, desc string) map[string]any {
	resp := map[string]any{"description": desc}
	content := map[string]any{}
	switch {
	case code == http.StatusNoContent || code == http.StatusNotModified:
	case code < 400:
		content[rt.produces] = map[string]any{"schema": bodySchema(rt.produces)}
	default:
		content["application/problem+json"] = map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}
		if slices.Contains(rt.plain, code) {
			content[rt.produces] = map[string]any{"schema": bodySchema(rt.produces)}
		}
	}
	if len(content) > 0 {
		resp["content"] = content
	}
	header := func(name, desc string, schema map[string]any) {
		resp["headers"] = map[string]any{name: map[string]any{"description": desc, "schema": schema}}
	}
	switch code {
	case http.StatusCreated, http.StatusAccepted:
		header("Location", "where the new resource (or the job) is", str)
	case http.StatusUnauthorized:
		header("WWW-Authenticate", `Bearer realm="wangge"`, str)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		header("Retry-After", "seconds to wait before retrying", map[string]any{"type": "integer"})
	}
	return resp
}

// bodySchema is the schema of a body of content type ct: an object for
// JSON, a string for text, bytes for anything else (vector tiles).
func bodySchema(ct string) map[string]any {
	switch {
	case strings.Contains(ct, "json"):
		return map[string]any{"type": "object"}
	case strings.HasPrefix(ct, "text/") || strings.HasSuffix(ct, "javascript"):
		return str
	}
	return map[string]any{"type": "string", "format": "binary"}
}
