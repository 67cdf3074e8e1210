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

// routeTable lists every route. Each resource declares its routes in its
// own file; a new resource adds its group here.
func (s *Server) routeTable() []route {
	var all []route
	for _, group := range [][]route{
		s.capabilityRoutes(),
		s.pageRoutes(),
		s.featureRoutes(),
		s.tileRoutes(),
		s.locateRoutes(),
		s.planRoutes(),
		s.adminRoutes(),
	} {
		all = append(all, group...)
	}
	return all
}

// withProblems adds the problem+json responses to a route's responses.
func withProblems(m map[int]string) map[int]string {
	for k, v := range problems {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return m
}

func (s *Server) capabilityRoutes() []route {
	return []route{
		{method: "GET", path: "/", id: "getLandingPage", tag: "Capabilities", summary: "Landing page: JSON for API clients, the map page for browsers",
			params: []param{fParam}, responses: map[int]string{200: "landing page"}, produces: "application/json", handler: s.landing},
		{method: "GET", path: "/conformance", id: "getConformance", tag: "Capabilities", summary: "OGC API conformance classes implemented",
			responses: map[int]string{200: "conformance declaration"}, produces: "application/json", handler: s.conformance},
		{method: "GET", path: "/api", id: "getAPI", tag: "Capabilities", summary: "This OpenAPI 3 document",
			responses: map[int]string{200: "OpenAPI document"}, produces: "application/vnd.oai.openapi+json;version=3.0", handler: s.openAPI},
		{method: "GET", path: "/healthz", id: "getHealth", tag: "Operations", summary: "Liveness: the process answers",
			responses: map[int]string{200: "alive"}, produces: "application/json", handler: s.healthz},
		{method: "GET", path: "/readyz", id: "getReady", tag: "Operations", summary: "Readiness to serve reads: indexes loaded, following the store's change feed, store readable (a standby or the primary); what a load balancer checks",
			responses: map[int]string{200: "ready", 503: "not ready"}, produces: "application/json", handler: s.readyz},
		{method: "GET", path: "/readyz/write", id: "getReadyWrite", tag: "Operations", summary: "Readiness to take writes: ready, and the primary answers and is not in recovery",
			responses: map[int]string{200: "ready to write", 503: "writes would fail now"}, produces: "application/json", handler: s.readyzWrite},
	}
}
