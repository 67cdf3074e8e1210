package api

import (
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
	"github.com/wangge/wangge/tiles"
)

// Prometheus metrics, for operators: GET /metrics on the API (admin only)
// and, with serve --metrics-addr, on a listener of their own (Metrics).
// Each Server has its own registry. Everything but the request metrics is
// read when scraped, from the state the server keeps anyway; the request
// metrics are updated by every request, so their per-route series are
// resolved once, when the routes are registered, and a request costs a few
// atomic additions and no allocation.

// metrics is a Server's registry and its request metrics.
type metrics struct {
	handler http.Handler
	// byRoute holds the request metrics of each route of the router, by
	// method (authenticate finds them from the route mux matched).
	byRoute map[*mux.Route][]*routeMetrics
	// unmatched counts requests answered before a route was chosen: no
	// route (404), a method the route does not take (405), CORS
	// preflights, malformed query strings, Wangge-Min-Version timeouts.
	// They are counted by method, the last being every other method, so
	// that clients cannot make series up.
	unmatched []*routeMetrics
}

// routeMetrics are the request metrics of one route and method.
type routeMetrics struct {
	route, method string
	duration      prometheus.Observer
	requests      *prometheus.CounterVec
	// codes holds the counters of the status codes answered so far, copied
	// on write: a route answers few distinct codes, and a request finds
	// its own by a scan without a lock.
	codes atomic.Pointer[[]codeCounter]
	mu    sync.Mutex // serializes writers of codes
}

type codeCounter struct {
	code int
	c    prometheus.Counter
}

// newMetrics builds s's registry and the request metrics of every route of
// s.router and s.exact, which it wraps to say which route they serve.
func newMetrics(s *Server) *metrics {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wangge_http_requests_total",
		Help: "HTTP requests answered, by route template, method and status code; route is \"unmatched\" for those answered before a route was chosen (404 without a route, 405, CORS preflights, malformed queries).",
	}, []string{"route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "wangge_http_request_duration_seconds",
		Help: "Time to answer an HTTP request, by route template and method, until the handler returns (a streamed body included).",
		// From a locate answered from memory (tens of µs) to a large page
		// of items or a coverage computation (seconds).
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method"})
	m := &metrics{byRoute: map[*mux.Route][]*routeMetrics{}}
	resolve := func(route, method string) *routeMetrics {
		return &routeMetrics{route: route, method: method, duration: duration.WithLabelValues(route, method), requests: requests}
	}
	byKey := map[string]*routeMetrics{}
	s.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := r.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, _ := r.GetMethods()
		for _, meth := range methods {
			rm := resolve(tpl, meth)
			byKey[meth+" "+tpl] = rm
			m.byRoute[r] = append(m.byRoute[r], rm)
		}
		return nil
	})
	for key, h := range s.exact {
		if rm := byKey[key]; rm != nil {
			s.exact[key] = &observed{rm: rm, next: h}
		}
	}
	for _, meth := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, "OTHER"} {
		m.unmatched = append(m.unmatched, resolve("unmatched", meth))
	}
	reg.MustRegister(requests, duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewBuildInfoCollector(),
		tileMetrics(s.live.TileCache()), feedMetrics(s.live), jobMetrics(s.live))
	switch st := s.store.(type) {
	case poolStore:
		reg.MustRegister(poolMetrics(st))
	case fileStore:
		reg.MustRegister(fileMetrics(st))
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
	return m
}

// Metrics is the Prometheus exposition of the server's metrics, without
// authentication: for a listener of its own on an internal network (serve
// --metrics-addr). The API serves the same at GET /metrics, to admins.
func (s *Server) Metrics() http.Handler { return s.metrics.handler }

func (s *Server) metricsRoutes() []route {
	return []route{
		{method: "GET", path: "/metrics", role: data.RoleAdmin, id: "getMetrics", tag: "Operations", summary: "Prometheus metrics: requests by route, tile cache, change feed, plan jobs, store connections, Go runtime",
			responses: map[int]string{200: "metrics in the Prometheus text format"}, produces: "text/plain; version=0.0.4", handler: s.serveMetrics},
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}

// observed is a handler of s.exact that tells ServeHTTP's recorder the
// route it serves.
type observed struct {
	rm   *routeMetrics
	next http.Handler
}

func (o *observed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rec, ok := w.(*statusRecorder); ok {
		rec.route = o.rm
	}
	o.next.ServeHTTP(w, r)
}

// matched tells ServeHTTP's recorder the route mux matched, from the
// router's middleware.
func (m *metrics) matched(w http.ResponseWriter, route *mux.Route, method string) {
	rec, ok := w.(*statusRecorder)
	if !ok || m == nil {
		return
	}
	for _, rm := range m.byRoute[route] {
		if rm.method == method {
			rec.route = rm
			return
		}
	}
}

// observe records a request answered: its route, method, status and time.
func (m *metrics) observe(rec *statusRecorder, method string, d time.Duration) {
	if m == nil {
		return
	}
	rm := rec.route
	if rm == nil {
		rm = m.unmatched[len(m.unmatched)-1]
		for _, u := range m.unmatched {
			if u.method == method {
				rm = u
				break
			}
		}
	}
	rm.duration.Observe(d.Seconds())
	rm.counter(rec.status).Inc()
}

// counter returns the request counter of code.
func (rm *routeMetrics) counter(code int) prometheus.Counter {
	if cs := rm.codes.Load(); cs != nil {
		for _, c := range *cs {
			if c.code == code {
				return c.c
			}
		}
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	var cs []codeCounter
	if p := rm.codes.Load(); p != nil {
		cs = *p
	}
	for _, c := range cs {
		if c.code == code {
			return c.c
		}
	}
	c := rm.requests.WithLabelValues(rm.route, rm.method, strconv.Itoa(code))
	next := append(slices.Clip(cs), codeCounter{code, c})
	rm.codes.Store(&next)
	return c
}

// scraped is a collector whose metrics are read when they are scraped.
type scraped struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (c *scraped) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *scraped) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// gauge and counter are the metrics a scraped collector sends.
func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

// tileMetrics reads the tile cache's counters.
func tileMetrics(cache *tiles.Cache) *scraped {
	var (
		hits        = prometheus.NewDesc("wangge_tile_cache_hits_total", "Tile requests answered from the tile cache.", nil, nil)
		misses      = prometheus.NewDesc("wangge_tile_cache_misses_total", "Tile requests that rendered their tile (concurrent requests for it wait for that render and count as neither).", nil, nil)
		evicted     = prometheus.NewDesc("wangge_tile_cache_evictions_total", "Cached tiles dropped, least recently used first, to stay within the byte bound.", nil, nil)
		invalidated = prometheus.NewDesc("wangge_tile_cache_invalidated_total", "Cached tiles dropped because a change reached them.", nil, nil)
		entries     = prometheus.NewDesc("wangge_tile_cache_entries", "Tiles in the tile cache.", nil, nil)
		size        = prometheus.NewDesc("wangge_tile_cache_bytes", "Bytes of the tiles in the tile cache (raw and gzipped).", nil, nil)
		maxSize     = prometheus.NewDesc("wangge_tile_cache_max_bytes", "The tile cache's byte bound; 0 when caching is off.", nil, nil)
	)
	return &scraped{
		descs: []*prometheus.Desc{hits, misses, evicted, invalidated, entries, size, maxSize},
		collect: func(ch chan<- prometheus.Metric) {
			st := cache.Stats()
			ch <- counter(hits, float64(st.Hits))
			ch <- counter(misses, float64(st.Misses))
			ch <- counter(evicted, float64(st.Evicted))
			ch <- counter(invalidated, float64(st.Invalidated))
			ch <- gauge(entries, float64(st.Entries))
			ch <- gauge(size, float64(st.Bytes))
			ch <- gauge(maxSize, float64(st.MaxBytes))
		},
	}
}

// feedMetrics reads how the views follow the store's change feed.
func feedMetrics(lv *live.Service) *scraped {
	var (
		version  = prometheus.NewDesc("wangge_feed_version", "Change-feed seq every in-memory view has applied (what Wangge-Version says).", nil, nil)
		storeSeq = prometheus.NewDesc("wangge_feed_store_seq", "The store's last change-feed seq when the follower last read the feed.", nil, nil)
		lag      = prometheus.NewDesc("wangge_feed_lag", "Changes the views were behind the store when the follower last read the feed (store seq − version).", nil, nil)
		age      = prometheus.NewDesc("wangge_feed_read_age_seconds", "Seconds since the change feed was last read without error; readiness fails past 3 s.", nil, nil)
		healthy  = prometheus.NewDesc("wangge_feed_healthy", "1 when the views are loaded and follow the feed (the feed check of /readyz), else 0.", nil, nil)
	)
	return &scraped{
		descs: []*prometheus.Desc{version, storeSeq, lag, age, healthy},
		collect: func(ch chan<- prometheus.Metric) {
			st := lv.FeedStatus()
			ch <- gauge(version, float64(st.Version))
			ch <- gauge(storeSeq, float64(st.StoreSeq))
			ch <- gauge(lag, float64(max(0, st.StoreSeq-st.Version)))
			if !st.LastRead.IsZero() {
				ch <- gauge(age, time.Since(st.LastRead).Seconds())
			}
			ok := 0.0
			if st.Health == nil {
				ok = 1
			}
			ch <- gauge(healthy, ok)
		},
	}
}

// jobMetrics reads the plan jobs. The service keeps every job for its
// lifetime, so a histogram built from them at each scrape only grows.
func jobMetrics(lv *live.Service) *scraped {
	running := prometheus.NewDesc("wangge_plan_jobs_running", "Plan generation jobs running in this process.", nil, nil)
	duration := prometheus.NewDesc("wangge_plan_job_duration_seconds", "Time plan generation jobs took from start to done or failed, saving and publishing included.", []string{"status"}, nil)
	// From the demo's plans (a second) to a province's.
	buckets := []float64{.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}
	type hist struct {
		count   uint64
		sum     float64
		buckets map[float64]uint64
	}
	return &scraped{
		descs: []*prometheus.Desc{running, duration},
		collect: func(ch chan<- prometheus.Metric) {
			// Both statuses from the start, so that rate() sees the
			// first job.
			byStatus := map[string]*hist{"done": {buckets: map[float64]uint64{}}, "failed": {buckets: map[float64]uint64{}}}
			n := 0
			for _, j := range lv.Jobs() {
				if j.Finished == nil {
					n++
					continue
				}
				h := byStatus[j.Status]
				if h == nil {
					h = &hist{buckets: map[float64]uint64{}}
					byStatus[j.Status] = h
				}
				d := j.Finished.Sub(j.Started).Seconds()
				h.count++
				h.sum += d
				for _, b := range buckets {
					if d <= b {
						h.buckets[b]++
					}
				}
			}
			ch <- gauge(running, float64(n))
			for status, h := range byStatus {
				ch <- prometheus.MustNewConstHistogram(duration, h.count, h.sum, h.buckets, status)
			}
		},
	}
}

// poolStore is a store with connection pools (data/postgis), by name:
// "primary", "standby1", …
type poolStore interface {
	PoolStats() map[string]*pgxpool.Stat
}

// poolMetrics reads the store's connection pools.
func poolMetrics(store poolStore) *scraped {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("wangge_store_pool_"+name, help, []string{"pool"}, nil)
	}
	var (
		acquired    = desc("acquired_conns", "Connections of the pool in use.")
		idle        = desc("idle_conns", "Idle connections of the pool.")
		total       = desc("total_conns", "Connections of the pool: in use, idle and being opened.")
		maxConns    = desc("max_conns", "The pool's connection bound (pool_max_conns).")
		acquires    = desc("acquires_total", "Connections acquired from the pool.")
		acquireTime = desc("acquire_seconds_total", "Time spent acquiring connections from the pool.")
		waits       = desc("empty_acquires_total", "Acquires that waited for a connection: none was idle.")
		waitTime    = desc("empty_acquire_wait_seconds_total", "Time acquires spent waiting for a connection when none was idle.")
		canceled    = desc("canceled_acquires_total", "Acquires given up because their request's context ended.")
		opened      = desc("new_conns_total", "Connections the pool opened.")
	)
	return &scraped{
		descs: []*prometheus.Desc{acquired, idle, total, maxConns, acquires, acquireTime, waits, waitTime, canceled, opened},
		collect: func(ch chan<- prometheus.Metric) {
			for name, st := range store.PoolStats() {
				ch <- gauge(acquired, float64(st.AcquiredConns()), name)
				ch <- gauge(idle, float64(st.IdleConns()), name)
				ch <- gauge(total, float64(st.TotalConns()), name)
				ch <- gauge(maxConns, float64(st.MaxConns()), name)
				ch <- counter(acquires, float64(st.AcquireCount()), name)
				ch <- counter(acquireTime, st.AcquireDuration().Seconds(), name)
				ch <- counter(waits, float64(st.EmptyAcquireCount()), name)
				ch <- counter(waitTime, st.EmptyAcquireWaitTime().Seconds(), name)
				ch <- counter(canceled, float64(st.CanceledAcquireCount()), name)
				ch <- counter(opened, float64(st.NewConnsCount()), name)
			}
		},
	}
}

// fileStore is a store in one file (data/gpkg).
type fileStore interface {
	Path() string
}

// fileMetrics reads the size of the store's file and of its write-ahead
// log, which grows between checkpoints.
func fileMetrics(store fileStore) *scraped {
	size := prometheus.NewDesc("wangge_store_file_bytes", "Size of the GeoPackage file (file=\"db\") and of its write-ahead log (file=\"wal\").", []string{"file"}, nil)
	return &scraped{
		descs: []*prometheus.Desc{size},
		collect: func(ch chan<- prometheus.Metric) {
			path := store.Path()
			for file, p := range map[string]string{"db": path, "wal": path + "-wal"} {
				if fi, err := os.Stat(p); err == nil {
					ch <- gauge(size, float64(fi.Size()), file)
				}
			}
		},
	}
}
