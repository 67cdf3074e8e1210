// Package api is wangge's HTTP interface: OGC API Features over the store,
// health and readiness, the OpenAPI document, and the map page. Routes are
// declared once in a table that both the router and the OpenAPI document are
// built from, so the document cannot miss a route.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
)

// Config is what a Server needs.
type Config struct {
	Store   data.Store
	Logger  *slog.Logger
	Title   string // shown on the landing page
	BaseURL string // absolute URL prefix for links, "" to derive from the request
	// MaxBodyBytes limits request bodies; 0 means 1 MiB.
	MaxBodyBytes int64
	// BaseMap is an optional raster tile URL template (https://…/{z}/{x}/{y}.png)
	// the map page draws under its layers; "" draws none (see ValidBaseMap).
	BaseMap string
	// ArchiveURL, when set, makes /style.json draw from this PMTiles
	// archive (pmtiles://URL) instead of the tile endpoints: an absolute
	// http(s) URL, or a path on this server (see ValidArchiveURL).
	ArchiveURL string
	// TileCacheBytes bounds the tile cache; 0 means 256 MiB, negative turns
	// caching off (for benchmarks of rendering).
	TileCacheBytes int
	// Anonymous is the role of requests without an API key: "" (the
	// default) refuses them everywhere but the public routes; RoleViewer
	// opens read access for public dashboards (--public-read).
	Anonymous data.Role
	// RateLimit is the requests a second each key (or each address, for
	// anonymous requests) may make on average, with bursts of RateBurst;
	// 0 means no limit.
	RateLimit float64
	RateBurst int
	// Live is the live state the server reads; nil builds one over Store
	// (Load then loads it and follows the store's change feed).
	Live *live.Service
	// CORSOrigins lists the browser origins allowed to call the API from
	// other sites ("https://dash.example.gov"); empty allows none.
	CORSOrigins []string
	// TrustedProxies are the load balancers in front (proxy.go): for
	// requests from them, the client's address is taken from
	// X-Forwarded-For, for rate limits and the audit log.
	TrustedProxies []netip.Prefix
	// FeedKeep is how many change-feed entries pruning keeps; 0 means
	// live.DefaultFeedKeep.
	FeedKeep int
	// Taxonomy is the event categories and worker roles in use; nil means
	// data.DefaultTaxonomy.
	Taxonomy *data.Taxonomy
	// Risk is the risk rules of the grids (GET /v1/stats, tiles); nil
	// means data.DefaultRiskRules.
	Risk *data.RiskRules
	// Webhooks is how webhooks are delivered; with an empty allow-list
	// none is, and none can be made.
	Webhooks live.HookConfig
	// Rules are the deployment's notification rules; nil means none.
	Rules *data.NotifyRules
	// Stream tunes the change stream, GET /v1/changes (changes.go).
	Stream StreamConfig
}

// Server serves wangge's HTTP API.
type Server struct {
	store  data.Store
	log    *slog.Logger
	cfg    Config
	router *mux.Router
	routes []route
	// policy is the role each route needs by "METHOD template" (auth.go).
	policy map[string]data.Role
	ready  atomic.Bool
	// draining is set by Drain, before a graceful shutdown.
	draining atomic.Bool
	started  time.Time
	live     *live.Service
	// follow stops following the feed; set by Load.
	followMu sync.Mutex
	follow   context.CancelFunc
	limiter  *limiter
	// exact holds the routes without path variables by "METHOD /path",
	// each behind the same authentication as the router's: ServeHTTP
	// finds them with one map lookup instead of the router's regular
	// expressions and its two copies of the request.
	exact      map[string]http.Handler
	answerBufs sync.Pool // *[]byte for small JSON answers (locate.go)
	recorders  sync.Pool // *statusRecorder, ServeHTTP's writers
	// codes is the published plan's grid codes as JSON strings, for batch
	// locate's codes answer (locate.go).
	codes   atomic.Pointer[quotedCodes]
	metrics *metrics  // Prometheus (metrics.go)
	streams streamHub // the change streams (changes.go)
	hdr     headerValues
}

// New builds a Server. It is not ready (GET /readyz answers 503) until Load
// has built the in-memory indexes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Title == "" {
		cfg.Title = "wangge"
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	burst := float64(cfg.RateBurst)
	if burst < 1 {
		burst = max(1, 2*cfg.RateLimit)
	}
	lv := cfg.Live
	if lv == nil {
		lv = live.New(live.Config{Store: cfg.Store, Logger: cfg.Logger, TileCacheBytes: cfg.TileCacheBytes, FeedKeep: cfg.FeedKeep, Taxonomy: cfg.Taxonomy, Risk: cfg.Risk,
			Webhooks: cfg.Webhooks, Rules: cfg.Rules})
	}
	s := &Server{store: cfg.Store, log: cfg.Logger, cfg: cfg, started: time.Now(), live: lv,
		limiter: &limiter{rate: cfg.RateLimit, burst: burst}, hdr: newHeaderValues()}
	s.routes = s.routeTable()
	s.policy = rolesOf(s.routes)
	for i := range s.routes {
		s.routes[i].handler = strictQuery(s.routes[i]) // one rule for query parameters (query.go)
	}
	s.router = mux.NewRouter()
	s.router.Use(s.authenticate)
	registered := make([]*mux.Route, len(s.routes))
	for i, rt := range s.routes {
		registered[i] = s.router.Handle(rt.path, s.handle(rt.handler)).Methods(rt.methods()...)
	}
	s.exact = map[string]http.Handler{}
	for i, rt := range s.routes {
		if strings.Contains(rt.path, "{") {
			continue
		}
		// Only where the router itself picks this route for this method
		// and path, so the shortcut never answers differently.
		h := s.handle(rt.handler)
		for _, m := range rt.methods() {
			var match mux.RouteMatch
			req := &http.Request{Method: m, URL: &url.URL{Path: rt.path}, Header: http.Header{}}
			if s.router.Match(req, &match) && match.Route == registered[i] {
				key := m + " " + rt.path
				s.exact[key] = s.guarded(m, rt.path, principalInWriter(key), h)
			}
		}
	}
	s.router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "no route "+r.URL.Path+"; the API is described at /api")
	})
	s.router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// RFC 9110: a 405 names the methods the resource does take.
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			var match mux.RouteMatch
			if s.router.Match(&http.Request{Method: m, URL: r.URL, Header: http.Header{}}, &match) && match.MatchErr == nil {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, r, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path+" (allowed: "+strings.Join(allow, ", ")+")")
	})
	s.metrics = newMetrics(s)
	return s
}

// Load loads the live state from the store, starts following the store's
// change feed for as long as the server lives, and marks the server ready.
func (s *Server) Load(ctx context.Context) error {
	if err := s.live.Load(ctx); err != nil {
		return err
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.followMu.Lock()
	if s.follow != nil {
		s.follow()
	}
	s.follow = cancel
	s.followMu.Unlock()
	go s.live.Run(fctx)
	if s.cfg.Webhooks.Allow.Len() > 0 {
		go s.live.RunWebhooks(fctx, s.HookMessages)
	}
	s.SetReady(true)
	return nil
}

// Close cancels background jobs (plan generation) and stops following the
// feed. Call it after the HTTP server has shut down.
func (s *Server) Close() {
	s.live.Close()
	s.followMu.Lock()
	if s.follow != nil {
		s.follow()
	}
	s.followMu.Unlock()
}

// SetReady marks the server ready (or not) to serve lookups.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// ServeHTTP serves a request through the middleware chain.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The clock's monotonic reading alone, by its distance from the
	// server's start: time.Now reads the wall clock too, which only a
	// log line would need, and a log line has its own time.
	start := time.Since(s.started)
	rec, _ := s.recorders.Get().(*statusRecorder)
	if rec == nil {
		rec = new(statusRecorder)
	}
	*rec = statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			// A panic is our bug; the client gets a plain 500 and the log the stack.
			s.log.ErrorContext(r.Context(), "panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if !rec.wrote {
				writeProblem(rec, r, http.StatusInternalServerError, "internal error")
			}
		}
		level := slog.LevelInfo
		if rec.status < 400 && hotPath(r.URL.Path) {
			// Field apps and maps ask these thousands of times a second: a
			// line each would cost an eighth of the CPU (measured under wrk)
			// and bury everything else. Errors are still logged; writes
			// are in the audit log.
			level = slog.LevelDebug
		}
		if s.log.Enabled(r.Context(), level) {
			s.log.LogAttrs(r.Context(), level, "http",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Duration("dur", time.Since(s.started)-start))
		}
		s.metrics.observe(rec, r.Method, time.Since(s.started)-start)
		if !rec.pcUsed {
			// No context refers to it (contextFor), and the request is
			// answered: the next one may have it.
			*rec = statusRecorder{}
			s.recorders.Put(rec)
		}
	}()
	// A request without a body (every GET) has http.NoBody, which has
	// nothing to limit; wrapping it would cost an allocation a request.
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(rec, r.Body, s.cfg.MaxBodyBytes)
	}
	s.securityHeaders(rec.Header(), r)
	if s.cors(rec, r) {
		return // a preflight request, answered
	}
	if !s.checkOrigin(rec, r) {
		return
	}
	if r.URL.RawQuery != "" {
		if err := checkRawQuery(r.URL.RawQuery); err != nil {
			s.writeError(rec, r, err)
			return
		}
	}
	if v := headerValue(r.Header, minVersionHeader); v != "" && !s.atLeast(rec, r, v) {
		return
	}
	if !hotPath(r.URL.Path) {
		// Reads that reach the store (items, plans, the audit log) must not
		// be older than this replica's views, which the client may have
		// seen already: a standby behind them is passed over
		// (data.ReadAtLeast). The hot paths answer from memory.
		r = r.WithContext(data.ReadAtLeast(r.Context(), s.live.Version()))
	}
	// The key is built on the stack: indexing a map with string(bytes)
	// does not allocate.
	var key [64]byte
	if h, ok := s.exact[string(append(append(append(key[:0], r.Method...), ' '), r.URL.Path...))]; ok {
		h.ServeHTTP(rec, r)
		return
	}
	s.router.ServeHTTP(rec, r)
}

// hotPath reports whether successful requests to path are logged only at
// debug level.
func hotPath(path string) bool {
	return strings.HasPrefix(path, "/v1/locate") || strings.HasPrefix(path, "/tiles/") || strings.HasPrefix(path, "/v1/nearby") ||
		path == "/healthz" || strings.HasPrefix(path, "/readyz")
}

// headerValue is h.Get(key) for a key already in canonical form, without
// canonicalising it again: ServeHTTP reads a few headers of every request.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// headerValues are the header values every answer shares, built once:
// assigned straight into a response's header map under their canonical
// names, they cost neither canonicalisation nor an allocation a request
// (two of the locate answer's six went here, measured with
// BenchmarkLocateChain). Each slice holds one value at capacity one, so
// that an Add to the same header copies it instead of writing into the
// shared array; nothing in the server writes into a header value in place
// (net/http copies the map before it edits it).
type headerValues struct {
	nosniff, deny, noReferrer, sameOrigin, hsts, json []string
}

func newHeaderValues() headerValues {
	one := func(v string) []string { return []string{v} }
	return headerValues{nosniff: one("nosniff"), deny: one("DENY"), noReferrer: one("no-referrer"),
		sameOrigin: one("same-origin"), hsts: one("max-age=31536000"), json: one("application/json")}
}

// securityHeaders are set on every response; the map page adds its own
// Content-Security-Policy (landing.go).
func (s *Server) securityHeaders(h http.Header, r *http.Request) {
	h["X-Content-Type-Options"] = s.hdr.nosniff
	h["X-Frame-Options"] = s.hdr.deny
	h["Referrer-Policy"] = s.hdr.noReferrer
	h["Cross-Origin-Opener-Policy"] = s.hdr.sameOrigin
	if r.TLS != nil {
		h["Strict-Transport-Security"] = s.hdr.hsts
	}
}

// cors answers cross-origin requests from the allow-list: it adds the
// CORS headers for an allowed Origin and answers preflight requests. It
// reports whether the request was a preflight, now answered. Origins not
// on the list get no CORS headers, so browsers refuse them the response.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := headerValue(r.Header, "Origin")
	if origin == "" {
		return false
	}
	w.Header().Add("Vary", "Origin")
	if !slices.Contains(s.cfg.CORSOrigins, origin) {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			writeProblem(w, r, http.StatusForbidden, "origin "+origin+" is not allowed (see --cors-origins)")
			return true
		}
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "ETag, Location, Retry-After, Wangge-Version")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PATCH, DELETE")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-None-Match, Wangge-Min-Version")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// statusRecorder is the writer ServeHTTP hands down: it keeps the status
// and the route for the request metrics and the access log, and the
// principal. Recorders are reused from request to request (Server's
// recorders), except one whose pc a context refers to.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	route  *routeMetrics // the route answering, for the request metrics
	// pc is the request's context with its principal (auth.go's
	// contextFor), allocated with the recorder; pcUsed once it is taken.
	// held: pc.p is the principal of a route that reads it from here
	// (principalFrom), and pc is no context.
	pc     principalCtx
	pcUsed bool
	held   bool
}

// hold keeps p as the request's principal for principalFrom, and reports
// whether it does: a writer serving a second request (a handler passing
// the request on) has given its principal already.
func (r *statusRecorder) hold(p principal) bool {
	if r.pcUsed || r.held {
		return false
	}
	r.pc.p, r.held = p, true
	return true
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{"status": "ok", "uptime_s": int(time.Since(s.started).Seconds())})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	return s.readiness(w, r, false)
}

func (s *Server) readyzWrite(w http.ResponseWriter, r *http.Request) error {
	return s.readiness(w, r, true)
}

// readiness answers /readyz and /readyz/write. Both report every check;
// they differ in which ones decide the status. Reads are served from the
// views and from a standby, so losing the primary leaves /readyz at 200
// and only /readyz/write at 503: a balancer checks /readyz, or every
// replica would leave it together with the primary and reads would fail
// for no reason.
func (s *Server) readiness(w http.ResponseWriter, r *http.Request, write bool) error {
	// A second is long for a store to answer a ping; a balancer polling
	// readiness should learn of a stall sooner than later.
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	checks := map[string]string{"store": "ok", "write": "ok", "indexes": "ok", "feed": "ok"}
	status := http.StatusOK
	// The two pings run at once: a primary that hangs must not delay the
	// answer about reads.
	werr := make(chan error, 1)
	go func() { werr <- s.store.PingWrite(ctx) }()
	if err := s.store.Ping(ctx); err != nil {
		checks["store"] = data.ErrorMessage(err)
		status = http.StatusServiceUnavailable
	}
	if err := <-werr; err != nil {
		checks["write"] = data.ErrorMessage(err)
		if write {
			status = http.StatusServiceUnavailable
		}
	}
	switch {
	case !s.ready.Load():
		checks["indexes"] = "loading"
		status = http.StatusServiceUnavailable
	case s.draining.Load():
		// Shutting down: the balancer should stop sending requests here
		// while those in flight finish.
		checks["indexes"] = "draining"
		status = http.StatusServiceUnavailable
	default:
		if err := s.live.Health(); err != nil {
			// Views that stopped following the store would answer with old
			// data: a balancer should send requests elsewhere until they catch up.
			checks["feed"] = err.Error()
			status = http.StatusServiceUnavailable
		}
	}
	w.Header().Set(versionHeader, strconv.FormatInt(s.live.Version(), 10))
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, status, "application/json", map[string]any{"ready": status == http.StatusOK, "checks": checks})
}

// Drain makes /readyz answer 503 from now on, so that a balancer stops
// sending requests here before the server shuts down (serve --drain).
func (s *Server) Drain() { s.draining.Store(true) }
