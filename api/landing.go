package api

import (
	_ "embed"
	"net/http"
	"strconv"
	"strings"
)

//go:embed page/index.html
var mapPage []byte

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
	if err := checkParams(r, "f"); err != nil {
		return err
	}
	w.Header().Add("Vary", "Accept")
	if wantsHTML(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self' data:")
		_, err := w.Write(mapPage)
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

func (s *Server) conformance(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"conformsTo": []string{
			"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
			"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
			"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
		},
	})
}

// openAPI serves the OpenAPI 3.0 document built from the route table.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	paths := map[string]any{}
	for _, rt := range s.routes {
		var params []map[string]any
		for _, p := range rt.params {
			params = append(params, map[string]any{
				"name": p.name, "in": p.in, "description": p.desc, "required": p.required, "schema": p.schema,
				"style": "form", "explode": false,
			})
		}
		responses := map[string]any{}
		for code, desc := range rt.responses {
			resp := map[string]any{"description": desc}
			ct := rt.produces
			if code >= 400 {
				ct = "application/problem+json"
			}
			resp["content"] = map[string]any{ct: map[string]any{"schema": map[string]any{"type": "object"}}}
			responses[strconv.Itoa(code)] = resp
		}
		op := map[string]any{"operationId": rt.id, "summary": rt.summary, "tags": []string{rt.tag}, "responses": responses}
		if len(params) > 0 {
			op["parameters"] = params
		}
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title": s.cfg.Title, "version": "1.0.0",
			"description": "wangge HTTP API: OGC API Features over areas, grids, hazards and cameras. Errors are RFC 7807 problem+json.",
			"license":     map[string]any{"name": "data: ODbL 1.0 (OpenStreetMap contributors)"},
		},
		"servers": []map[string]any{{"url": s.baseURL(r)}},
		"paths":   paths,
	}
	return writeJSON(w, http.StatusOK, "application/vnd.oai.openapi+json;version=3.0", doc)
}
