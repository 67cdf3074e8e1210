package api

import "net/http"

// route is one HTTP route: how to serve it and how to describe it in the
// OpenAPI document.
type route struct {
	method    string
	path      string
	id        string // OpenAPI operationId
	tag       string
	summary   string
	params    []param
	responses map[int]string // status → description
	produces  string         // main content type of the 200 response
	handler   handlerFunc
}

func (rt route) methods() []string {
	if rt.method == http.MethodGet {
		return []string{http.MethodGet, http.MethodHead}
	}
	return []string{rt.method}
}

// param describes a query or path parameter.
type param struct {
	name, in, desc string
	schema         map[string]any
	required       bool
}

func pathParam(name, desc string) param {
	return param{name: name, in: "path", desc: desc, schema: map[string]any{"type": "string"}, required: true}
}

func queryParam(name, desc string, schema map[string]any) param {
	return param{name: name, in: "query", desc: desc, schema: schema}
}

var (
	str      = map[string]any{"type": "string"}
	fParam   = queryParam("f", "response format: json or html (default: by the Accept header)", map[string]any{"type": "string", "enum": []string{"json", "html"}})
	problems = map[int]string{400: "bad parameter (problem+json)", 404: "not found (problem+json)"}
)

func (s *Server) routeTable() []route {
	withProblems := func(m map[int]string) map[int]string {
		for k, v := range problems {
			if _, ok := m[k]; !ok {
				m[k] = v
			}
		}
		return m
	}
	itemsParams := []param{
		pathParam("collectionId", "collection id: areas, grids, hazards, cameras"),
		queryParam("limit", "page size", map[string]any{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit}),
		queryParam("offset", "features to skip, for paging (the next link sets it)", map[string]any{"type": "integer", "minimum": 0, "default": 0}),
		{name: "bbox", in: "query", desc: "minLon,minLat,maxLon,maxLat (WGS 84): features intersecting the box",
			schema: map[string]any{"type": "array", "minItems": 4, "maxItems": 6, "items": map[string]any{"type": "number"}}},
		queryParam("bbox-crs", "CRS of bbox; only "+crs84+" is supported", map[string]any{"type": "string", "format": "uri"}),
		queryParam("category", "hazards only: fire, traffic, building, electrical, water, other", str),
		queryParam("status", "hazards (open, in_progress, resolved) and cameras (online, offline, maintenance)", str),
		queryParam("severity", "hazards only: 1, 2 or 3", map[string]any{"type": "integer", "minimum": 1, "maximum": 3}),
		queryParam("level", "areas only: nesting level, 1 = top", map[string]any{"type": "integer", "minimum": 1}),
		queryParam("parent_code", "areas and grids: code of the parent area", str),
		fParam,
	}
	return []route{
		{method: "GET", path: "/", id: "getLandingPage", tag: "Capabilities", summary: "Landing page: JSON for API clients, the map page for browsers",
			params: []param{fParam}, responses: map[int]string{200: "landing page"}, produces: "application/json", handler: s.landing},
		{method: "GET", path: "/conformance", id: "getConformance", tag: "Capabilities", summary: "OGC API conformance classes implemented",
			responses: map[int]string{200: "conformance declaration"}, produces: "application/json", handler: s.conformance},
		{method: "GET", path: "/api", id: "getAPI", tag: "Capabilities", summary: "This OpenAPI 3 document",
			responses: map[int]string{200: "OpenAPI document"}, produces: "application/vnd.oai.openapi+json;version=3.0", handler: s.openAPI},
		{method: "GET", path: "/healthz", id: "getHealth", tag: "Operations", summary: "Liveness: the process answers",
			responses: map[int]string{200: "alive"}, produces: "application/json", handler: s.healthz},
		{method: "GET", path: "/readyz", id: "getReady", tag: "Operations", summary: "Readiness: store reachable and indexes loaded",
			responses: map[int]string{200: "ready", 503: "not ready"}, produces: "application/json", handler: s.readyz},
		{method: "GET", path: "/collections", id: "getCollections", tag: "Data", summary: "The feature collections: areas, grids (published plan), hazards, cameras",
			params: []param{fParam}, responses: map[int]string{200: "collections"}, produces: "application/json", handler: s.collections},
		{method: "GET", path: "/collections/{collectionId}", id: "describeCollection", tag: "Data", summary: "One collection's metadata",
			params: []param{pathParam("collectionId", "collection id"), fParam}, responses: withProblems(map[int]string{200: "collection"}), produces: "application/json", handler: s.collection},
		{method: "GET", path: "/collections/{collectionId}/items", id: "getFeatures", tag: "Data", summary: "Features of a collection, paged, filtered by bbox and properties",
			params: itemsParams, responses: withProblems(map[int]string{200: "GeoJSON FeatureCollection with numberMatched, numberReturned and links"}), produces: "application/geo+json", handler: s.items},
		{method: "GET", path: "/collections/{collectionId}/items/{featureId}", id: "getFeature", tag: "Data", summary: "One feature",
			params: []param{pathParam("collectionId", "collection id"), pathParam("featureId", "feature id (integer)"), fParam},
			responses: withProblems(map[int]string{200: "GeoJSON Feature"}), produces: "application/geo+json", handler: s.item},
	}
}
