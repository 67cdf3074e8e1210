package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
)

// rolesOf indexes the roles of routes by "METHOD template": a Server's
// policy, for needs. Review who may do what in the route table (each
// route's role); some handlers check more, by the resource asked for:
// cameras and households need planner wherever they appear (collections,
// tiles, nearby), and only planners edit or delete what others reported.
func rolesOf(routes []route) map[string]data.Role {
	m := make(map[string]data.Role, len(routes))
	for _, rt := range routes {
		m[rt.method+" "+rt.path] = rt.needs()
	}
	return m
}

// needs returns the role a route needs; admin for a template that is no
// route's, so that nothing opens by mistake.
func (s *Server) needs(method, template string) data.Role {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	// The key is built on the stack: indexing a map with string(bytes)
	// does not allocate, and this runs on every request.
	var key [96]byte
	role, ok := s.policy[string(append(append(append(key[:0], method...), ' '), template...))]
	if !ok {
		return data.RoleAdmin
	}
	return role
}

// principal is who a request acts for.
type principal struct {
	keyID string    // "" when anonymous
	role  data.Role // "" when anonymous without public access
	addr  string    // client address, for anonymous rate limits
	// worker is the roster's worker the key is tied to, "" if none: a
	// field key moves the events assigned to that worker.
	worker string
}

// who is the principal as an event write names it.
func (p principal) who() live.Who {
	return live.Who{Actor: p.actor(), Role: p.role, Worker: p.worker}
}

// actor is how the audit log names the principal.
func (p principal) actor() string {
	if p.keyID != "" {
		return "key:" + p.keyID
	}
	return "anonymous"
}

type principalKey struct{}

// principalCtx carries the principal in a request's context: one
// allocation, where context.WithValue takes two (the context and the
// principal boxed in an interface).
type principalCtx struct {
	context.Context
	p principal
}

func (c *principalCtx) Value(key any) any {
	if _, ok := key.(principalKey); ok {
		return &c.p
	}
	return c.Context.Value(key)
}

// contextFor returns parent with principal p. The first time for a
// request it is the context ServeHTTP allocated with its recorder, which
// saves an allocation a request; another time (a handler serving a second
// one through the same writer) a new one, since parent may be the first.
func contextFor(w http.ResponseWriter, parent context.Context, p principal) context.Context {
	if rec, ok := w.(*statusRecorder); ok && !rec.pcUsed {
		rec.pcUsed = true
		rec.pc = principalCtx{Context: parent, p: p}
		return &rec.pc
	}
	return &principalCtx{Context: parent, p: p}
}

// principalFrom is the principal of request r, answered through w: the
// one its writer holds for a route that takes it from there (guarded's
// inWriter), else the one of its context.
func principalFrom(w http.ResponseWriter, r *http.Request) principal {
	if rec, ok := w.(*statusRecorder); ok && rec.held {
		return rec.pc.p
	}
	return principalOf(r.Context())
}

func principalOf(ctx context.Context) principal {
	if p, ok := ctx.Value(principalKey{}).(*principal); ok {
		return *p
	}
	return principal{}
}

// authorize answers whether the request's principal has role need; the
// error is a 401 for anonymous requests, a 403 otherwise.
func authorize(r *http.Request, need data.Role, what string) error {
	return authorizeAs(principalOf(r.Context()), need, what)
}

// authorizeAs is authorize for principal p.
func authorizeAs(p principal, need data.Role, what string) error {
	if need == "" {
		return nil
	}
	if p.role.Allows(need) {
		return nil
	}
	if p.keyID == "" {
		return &authError{status: http.StatusUnauthorized, msg: what + " needs an API key with role " + string(need) + " or higher (header Authorization: Bearer wg_…)"}
	}
	return &authError{status: http.StatusForbidden, msg: "role " + string(p.role) + " may not " + what + "; it needs role " + string(need) + " or higher"}
}

// authError is a 401 or 403.
type authError struct {
	status int
	msg    string
}

func (e *authError) Error() string { return e.msg }

// authenticate is the router middleware: it finds the principal from the
// bearer token (or anonymity), checks the route's policy and the rate
// limit, and passes the principal down in the context.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		template := ""
		if route := mux.CurrentRoute(r); route != nil {
			template, _ = route.GetPathTemplate()
			s.metrics.matched(w, route, r.Method)
		}
		s.serveAuthenticated(w, r, template, s.needs(r.Method, template), false, next)
	})
}

// guarded is authenticate for a handler whose method and route template
// are known, for the routes ServeHTTP serves without the router: the role
// they need is looked up once, here. With inWriter the handler reads the
// principal with principalFrom, and the request is not copied to carry it
// in its context.
func (s *Server) guarded(method, template string, inWriter bool, next http.Handler) http.Handler {
	need := s.needs(method, template)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveAuthenticated(w, r, template, need, inWriter, next)
	})
}

func (s *Server) serveAuthenticated(w http.ResponseWriter, r *http.Request, template string, need data.Role, inWriter bool, next http.Handler) {
	p, err := s.identify(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if rec, ok := w.(*statusRecorder); !inWriter || !ok || !rec.hold(p) {
		r = r.WithContext(contextFor(w, r.Context(), p))
	}
	// The refusal's message is built only for a refusal.
	if need != "" && !p.role.Allows(need) {
		s.writeError(w, r, authorizeAs(p, need, r.Method+" "+template))
		return
	}
	if need != "" && s.limiter.active() {
		if wait := s.limiter.take(p.limitKey(), time.Now()); wait > 0 {
			s.writeError(w, r, &rateLimited{retryAfter: wait})
			return
		}
	}
	next.ServeHTTP(w, r)
}

func (p principal) limitKey() string {
	if p.keyID != "" {
		return "key:" + p.keyID
	}
	return "ip:" + p.addr
}

// identify reads the Authorization header. A wrong, unknown or revoked key
// is a 401 even where anonymous access is open: a client that sends a key
// means to use it, and should learn that it does not work.
func (s *Server) identify(r *http.Request) (principal, error) {
	// The address is a rate limit's key and nothing else.
	host := ""
	if s.limiter.active() {
		host = clientAddr(r.RemoteAddr, r.Header["X-Forwarded-For"], s.cfg.TrustedProxies)
	}
	h := headerValue(r.Header, "Authorization")
	if h == "" {
		return principal{role: s.cfg.Anonymous, addr: host}, nil
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return principal{}, &authError{status: http.StatusUnauthorized, msg: "Authorization header must be \"Bearer wg_…\""}
	}
	id, secret, ok := data.ParseToken(strings.TrimSpace(token))
	if !ok {
		return principal{}, &authError{status: http.StatusUnauthorized, msg: "malformed API key: wangge keys look like wg_<id>_<secret>"}
	}
	k, found, err := s.live.Key(r.Context(), id)
	if err != nil {
		return principal{}, err
	}
	if !found || !k.Verify(secret) {
		return principal{}, &authError{status: http.StatusUnauthorized, msg: "unknown API key"}
	}
	if !k.RevokedAt.IsZero() {
		return principal{}, &authError{status: http.StatusUnauthorized, msg: "API key " + k.ID + " was revoked"}
	}
	return principal{keyID: k.ID, role: k.Role, addr: host, worker: k.Worker}, nil
}

// limiter is a token bucket per principal: rate requests a second on
// average, bursts of burst. Buckets idle for a minute are dropped, so
// memory follows the active clients, not every address ever seen.
type limiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*bucket
	swept       time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// active reports whether the limiter limits anything, so that callers
// need not build a key for one that does not.
func (l *limiter) active() bool { return l != nil && l.rate > 0 }

// take spends a token of key's bucket, or returns how long to wait.
func (l *limiter) take(key string, now time.Time) time.Duration {
	if !l.active() {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// rateLimited is a 429.
type rateLimited struct{ retryAfter time.Duration }

func (e *rateLimited) Error() string { return "too many requests for this key; slow down" }
