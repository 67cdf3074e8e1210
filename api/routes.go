package api

import (
	"net/http"
	"strings"

	"github.com/wangge/wangge/data"
)

// route is one HTTP route: how to serve it and how to describe it in the
// OpenAPI document.
type route struct {
	method string
	path   string
	// role is the role the route needs (auth.go): public, or the least
	// role allowed. Some handlers check more, by the resource asked for.
	role      data.Role
	id        string // OpenAPI operationId
	tag       string
	summary   string
	params    []param
	responses map[int]string // status → description; see allResponses for the rest
	produces  string         // main content type of the 200 response
	// plain lists error statuses (≥ 400) the handler may answer with a
	// body of type produces rather than problem+json: readiness' 503
	// says which check failed.
	plain   []int
	handler handlerFunc
}

func (rt route) methods() []string {
	if rt.method == http.MethodGet {
		return []string{http.MethodGet, http.MethodHead}
	}
	return []string{rt.method}
}

// param describes a query, path or header parameter.
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

func headerParam(name, desc string) param {
	return param{name: name, in: "header", desc: desc, schema: map[string]any{"type": "string"}}
}

var (
	str      = map[string]any{"type": "string"}
	fParam   = queryParam("f", "response format: json, the only one here (html is a 406)", map[string]any{"type": "string", "enum": []string{"json"}})
	problems = map[int]string{400: "bad parameter"}
	// lonParam, latParam and crsParam are the point of the routes that
	// take one in the query (parsePoint).
	lonParam = param{name: "lon", in: "query", desc: "longitude", schema: map[string]any{"type": "number", "minimum": -180, "maximum": 180}, required: true}
	latParam = param{name: "lat", in: "query", desc: "latitude", schema: map[string]any{"type": "number", "minimum": -90, "maximum": 90}, required: true}
	crsParam = queryParam("crs", "coordinate system of the point, and of the answer's geometry where there is one: wgs84 (default), "+
		"gcj02 (AMap, Tencent) or bd09 (Baidu); the OGC URIs "+crs84+", "+epsg4326+" and "+epsg4490+" (CGCS2000) are WGS 84, "+
		"the last two with lat, lon geometry", map[string]any{"type": "string", "enum": crsNames, "default": "wgs84"})
)

// public marks the routes anyone may call, without an API key. It is
// written out on each of them and is not a role: a route whose role was
// left out needs admin, so nothing opens by mistake (TestPublicRoutes lists
// the public ones).
const public data.Role = "public"

// needs is the role rt needs: "" for a public route, admin for one whose
// role nobody set.
func (rt route) needs() data.Role {
	switch rt.role {
	case public:
		return ""
	case "":
		return data.RoleAdmin
	}
	return rt.role
}

// routeTable lists every route: the only place a route is declared, with
// its role. Each resource declares its routes in its own file; a new
// resource adds its group here. It reads no field of s (handlers are
// method values), so the roles can be indexed without a Server (policy).
func (s *Server) routeTable() []route {
	var all []route
	for _, group := range [][]route{
		s.capabilityRoutes(),
		s.pageRoutes(),
		s.glyphRoutes(),
		s.featureRoutes(),
		s.hotspotRoutes(),
		s.tileRoutes(),
		s.locateRoutes(),
		s.nearbyRoutes(),
		s.writeRoutes(),
		s.eventRoutes(),
		s.workerRoutes(),
		s.webhookRoutes(),
		s.coverageRoutes(),
		s.statsRoutes(),
		s.rollupRoutes(),
		s.planRoutes(),
		s.changeRoutes(),
		// Keys and the audit log are for admins, every route of them.
		withRole(data.RoleAdmin, s.adminRoutes()),
		s.metricsRoutes(),
	} {
		all = append(all, group...)
	}
	return all
}

// withRole sets the role of every route of a group that needs one role.
func withRole(role data.Role, group []route) []route {
	for i := range group {
		group[i].role = role
	}
	return group
}

// withProblems adds the 400 of a route that checks its parameters. Every
// route gets it anyway, with the other answers every route of its kind can
// give (allResponses); a route declares only its own: 404 where a lookup
// can fail without a path parameter, 409, a handler's 429.
func withProblems(m map[int]string) map[int]string {
	for k, v := range problems {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return m
}

// allResponses is every status rt can answer with its description: its
// own, and those the middleware and the shared handler code give every
// route of its kind and role.
// Deriving them here keeps the OpenAPI document complete for new routes.
func (rt route) allResponses() map[int]string {
	need := rt.needs()
	all := map[int]string{}
	add := func(code int, desc string) {
		if own, ok := all[code]; ok && own != desc {
			desc = own + "; or " + desc
		}
		all[code] = desc
	}
	for code, desc := range rt.responses {
		all[code] = desc
	}
	// Any query string is checked for escapes (checkRawQuery), any
	// Wangge-Min-Version header for a number: every route has a 400.
	add(http.StatusBadRequest, "bad query string or "+minVersionHeader+" header")
	if need != "" {
		add(http.StatusUnauthorized, "no API key, or an unknown, malformed or revoked one")
		add(http.StatusForbidden, "the key's role is below "+string(need))
		add(http.StatusTooManyRequests, "rate limit of this key (or address, without a key) reached; Retry-After says when to retry")
	} else {
		// identify refuses a bad key even where none is needed.
		add(http.StatusUnauthorized, "an unknown, malformed or revoked API key was sent; send none here")
	}
	if unsafeMethod(rt.method) {
		add(http.StatusForbidden, "a browser write from an Origin that is neither this server's nor on --cors-origins")
		add(http.StatusUnsupportedMediaType, "a request body that is compressed, or not "+strings.Join(writeTypes, ", "))
	}
	var vars []string
	for _, p := range rt.params {
		switch {
		case p.in == "path":
			vars = append(vars, p.name)
		case p.in == "header" && p.name == "If-Match":
			add(http.StatusPreconditionFailed, "If-Match does not match: the resource changed since it was read")
		}
	}
	if len(vars) > 0 {
		// Every path variable names something the handler looks up.
		add(http.StatusNotFound, "no such "+strings.Join(vars, " or "))
	}
	add(http.StatusInternalServerError, "internal error (logged; the answer says no more)")
	add(http.StatusServiceUnavailable, "the store is unavailable, the request was cancelled, or this replica is older than "+
		minVersionHeader+" after waiting; Retry-After says when to retry")
	return all
}

func (s *Server) capabilityRoutes() []route {
	return []route{
		{method: "GET", path: "/", role: public, id: "getLandingPage", tag: "Capabilities", summary: "Landing page: JSON for API clients, the map page for browsers",
			params: []param{fPageParam, langPageParam, basemapPageParam, tkPageParam}, responses: map[int]string{200: "landing page"}, produces: "application/json", handler: s.landing},
		{method: "GET", path: "/conformance", role: public, id: "getConformance", tag: "Capabilities", summary: "OGC API conformance classes implemented",
			params: []param{fParam}, responses: map[int]string{200: "conformance declaration", 406: notJSON}, produces: "application/json", handler: s.conformance},
		{method: "GET", path: "/api", role: public, id: "getAPI", tag: "Capabilities", summary: "This OpenAPI 3 document",
			params: []param{fParam}, responses: map[int]string{200: "OpenAPI document", 406: notJSON}, produces: "application/vnd.oai.openapi+json;version=3.0", handler: s.openAPI},
		{method: "GET", path: "/healthz", role: public, id: "getHealth", tag: "Operations", summary: "Liveness: the process answers",
			responses: map[int]string{200: "alive"}, produces: "application/json", handler: s.healthz},
		{method: "GET", path: "/readyz", role: public, id: "getReady", tag: "Operations", summary: "Readiness to serve reads: indexes loaded, following the store's change feed, store readable (a standby or the primary); what a load balancer checks",
			responses: map[int]string{200: "ready", 503: "not ready"}, produces: "application/json", plain: []int{503}, handler: s.readyz},
		{method: "GET", path: "/readyz/write", role: public, id: "getReadyWrite", tag: "Operations", summary: "Readiness to take writes: ready, and the primary answers and is not in recovery",
			responses: map[int]string{200: "ready to write", 503: "writes would fail now"}, produces: "application/json", plain: []int{503}, handler: s.readyzWrite},
	}
}
