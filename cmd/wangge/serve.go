package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/wangge/wangge/api"
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/demo"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/postgis"
	"github.com/wangge/wangge/gridgen"
	"github.com/wangge/wangge/live"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	addr := fs.String("addr", env("addr", ":8080"), "listen address (WANGGE_ADDR)")
	db := fs.String("db", env("db", "wangge.gpkg"), "GeoPackage file, created when missing (WANGGE_DB)")
	durable := fs.Bool("durable", envBool("durable"), "GeoPackage: every write waits until it is on disk (PRAGMA synchronous=FULL), so a power loss cannot undo it; by default a power loss may lose the last writes, never the file (WANGGE_DURABLE)")
	withDemo := fs.Bool("demo", envBool("demo"), "load the embedded Liechtenstein demo data when the store is empty (WANGGE_DEMO)")
	baseURL := fs.String("base-url", env("base_url", ""), "absolute URL prefix for links, when behind a proxy (WANGGE_BASE_URL)")
	archiveURL := fs.String("archive-url", env("archive_url", ""), "PMTiles archive (wangge export --format pmtiles) that /style.json draws from as pmtiles://URL instead of /tiles: an absolute http(s) URL or a path on this server (WANGGE_ARCHIVE_URL)")
	baseMap := fs.String("basemap", env("basemap", ""), "raster tile URL template with {z}, {x}, {y} drawn under the map page; none by default (WANGGE_BASEMAP)")
	anonymous := fs.String("anonymous", env("anonymous", ""), "role of requests without an API key: none (default), viewer, field, planner or admin (WANGGE_ANONYMOUS)")
	publicRead := fs.Bool("public-read", envBool("public_read"), "let requests without a key read areas, grids, hazards, tiles and hotspots (the viewer role), for public dashboards (WANGGE_PUBLIC_READ)")
	rateLimit := fs.Float64("rate-limit", envFloat("rate_limit", 200), "requests a second each API key (or address, without a key) may make on average; 0 for no limit (WANGGE_RATE_LIMIT)")
	rateBurst := fs.Int("rate-burst", int(envFloat("rate_burst", 0)), "requests a key may make at once above the rate; 0 means twice the rate (WANGGE_RATE_BURST)")
	connsPerAddr := fs.Int("max-conns-per-addr", int(envFloat("max_conns_per_addr", api.DefaultConnsPerAddr)), "connections one client address may hold open at once; 0 for no limit; raise it behind a proxy (WANGGE_MAX_CONNS_PER_ADDR)")
	var readDBs []string
	fs.Func("read-db", "PostgreSQL URL of a hot standby to send reads to; repeat the flag or separate URLs with commas (WANGGE_READ_DB). Writes go to --db, which may list several hosts with target_session_attrs=read-write", func(v string) error {
		readDBs = append(readDBs, splitList(v)...)
		return nil
	})
	drain := fs.Duration("drain", envDuration("drain", 0), "on SIGTERM, answer /readyz 503 for this long before shutting down, so a load balancer stops sending requests first; e.g. 2s behind HAProxy (WANGGE_DRAIN)")
	trustedProxies := fs.String("trusted-proxies", env("trusted_proxies", ""), "comma-separated addresses or CIDR prefixes of load balancers in front (e.g. 127.0.0.1 for scripts/cluster.sh's HAProxy): for their requests the client address, which rate limits and the audit log use, comes from X-Forwarded-For (WANGGE_TRUSTED_PROXIES)")
	metricsAddr := fs.String("metrics-addr", env("metrics_addr", ""), "listen address of a second listener serving Prometheus metrics at /metrics without authentication, for an internal network; off by default (the API's GET /metrics needs an admin key) (WANGGE_METRICS_ADDR)")
	feedKeep := fs.Int("feed-keep", int(envFloat("feed_keep", live.DefaultFeedKeep)), "change-feed entries kept when pruning; a replica further behind reloads in full. Raise it when writes are many (docs/SCALING.md) (WANGGE_FEED_KEEP)")
	taxonomyFile := fs.String("taxonomy", env("taxonomy", ""), "JSON file of event kinds, categories (labels, deadline, default severity) and worker roles; the built-in default is data/taxonomy.json (WANGGE_TAXONOMY)")
	riskFile := fs.String("risk", env("risk", ""), "JSON file of the grids' risk levels (红橙黄蓝 or 红黄蓝) and the rules that give them; the built-in default is data/risk.json (WANGGE_RISK)")
	hookAllow := fs.String("webhook-allow", env("webhook_allow", ""), "comma-separated hosts webhooks may send to: names, IPs or CIDR prefixes, each with an optional :port (e.g. hooks.example.gov.cn,10.1.0.0/16:8443); empty: no webhooks (WANGGE_WEBHOOK_ALLOW)")
	hookFailures := fs.Int("webhook-max-failures", int(envFloat("webhook_max_failures", 10)), "failed attempts in a row (1 s, 2 s, 4 s … up to 5 min apart) after which a webhook is paused until an admin resumes it (WANGGE_WEBHOOK_MAX_FAILURES)")
	hookBackoff := fs.Duration("webhook-backoff", envDuration("webhook_backoff", time.Second), "wait after a webhook's first failed attempt, doubled after each next one up to 5 min (WANGGE_WEBHOOK_BACKOFF)")
	rulesFile := fs.String("rules", env("rules", ""), "JSON file of notification rules: an event of these categories reported inside this area notifies its grid's workers and chief, by the change stream and webhooks (WANGGE_RULES)")
	memLimit := fs.String("memory-limit", env("memory_limit", defaultMemoryLimit()), "soft limit of the Go heap (e.g. 900MiB, 2GiB; 0 for none), 900MiB unless GOMEMLIMIT is set: the collector works harder as the heap nears it, keeping a province's views (16× Montevideo) under 1 GiB of memory; SQLite's page caches (16 MiB a connection) come on top. Raise it when the data need more: views held above it make the collector run much of the time (WANGGE_MEMORY_LIMIT)")
	corsOrigins := fs.String("cors-origins", env("cors_origins", ""), "comma-separated browser origins allowed to call the API, e.g. https://dash.example.gov (WANGGE_CORS_ORIGINS)")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	if len(readDBs) == 0 {
		readDBs = splitList(env("read_db", ""))
	}
	if len(readDBs) > 0 && !postgis.IsURL(*db) {
		return usageError{fmt.Errorf("--read-db needs --db to be a PostgreSQL URL (postgres://…): a GeoPackage has no standbys")}
	}
	if *durable && postgis.IsURL(*db) {
		return usageError{fmt.Errorf("--durable is for a GeoPackage; PostgreSQL's synchronous_commit (on by default) decides for PostGIS")}
	}
	for _, u := range readDBs {
		if !postgis.IsURL(u) {
			return usageError{fmt.Errorf("--read-db: %q is not a PostgreSQL URL (postgres://user@host:port/db)", u)}
		}
	}
	if err := api.ValidBaseMap(*baseMap); err != nil {
		return err
	}
	if err := api.ValidArchiveURL(*archiveURL); err != nil {
		return usageError{fmt.Errorf("--archive-url: %s", data.ErrorMessage(err))}
	}
	anon := data.Role("")
	switch {
	case *anonymous != "" && *anonymous != "none":
		r, err := data.ParseRole(*anonymous)
		if err != nil {
			return usageError{fmt.Errorf("--anonymous: %s", data.ErrorMessage(err))}
		}
		anon = r
	case *publicRead:
		anon = data.RoleViewer
	}
	if *feedKeep < 1 {
		return usageError{fmt.Errorf("--feed-keep must be at least 1, got %d", *feedKeep)}
	}
	proxies, err := api.ParseProxies(*trustedProxies)
	if err != nil {
		return usageError{fmt.Errorf("--trusted-proxies: %v", err)}
	}
	var origins []string
	for _, o := range strings.Split(*corsOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	taxonomy, err := loadTaxonomy(*taxonomyFile)
	if err != nil {
		return err
	}
	risk := data.DefaultRiskRules()
	if *riskFile != "" {
		if risk, err = data.LoadRiskRules(*riskFile); err != nil {
			return usageError{fmt.Errorf("--risk: %s", data.ErrorMessage(err))}
		}
	}
	if err := risk.CheckTaxonomy(taxonomy); err != nil {
		return usageError{fmt.Errorf("--risk: %s", data.ErrorMessage(err))}
	}
	allow, err := live.ParseAllowList(*hookAllow)
	if err != nil {
		return usageError{fmt.Errorf("--webhook-allow: %s", data.ErrorMessage(err))}
	}
	if *hookFailures < 1 || *hookBackoff <= 0 {
		return usageError{fmt.Errorf("--webhook-max-failures must be ≥ 1 and --webhook-backoff > 0")}
	}
	var rules *data.NotifyRules
	if *rulesFile != "" {
		if rules, err = data.LoadNotifyRules(*rulesFile, taxonomy); err != nil {
			return usageError{fmt.Errorf("--rules: %s", data.ErrorMessage(err))}
		}
	}
	limit, err := parseBytes(*memLimit)
	if err != nil {
		return usageError{fmt.Errorf("--memory-limit: %v", err)}
	}
	log := newLogger(stderr)
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}

	store, err := openStoreWith(ctx, *db, gpkg.Options{Durable: *durable}, readDBs...)
	if err != nil {
		return err
	}
	defer store.Close()

	// Start-up reads go to the primary: a standby may not have replayed
	// the migrations just applied, nor what another replica wrote.
	startCtx := data.ReadPrimary(ctx)
	if *withDemo {
		if err := loadDemo(startCtx, store, taxonomy, log); err != nil {
			return err
		}
	}

	srv := api.New(api.Config{Store: store, Logger: log, BaseURL: *baseURL, BaseMap: *baseMap, ArchiveURL: *archiveURL,
		Anonymous: anon, RateLimit: *rateLimit, RateBurst: *rateBurst, CORSOrigins: origins, TrustedProxies: proxies, FeedKeep: *feedKeep, Taxonomy: taxonomy, Risk: risk,
		Webhooks: live.HookConfig{Allow: allow, MaxFailures: *hookFailures, Backoff: *hookBackoff}, Rules: rules})
	if anon != "" {
		log.Warn("requests without an API key act with role "+string(anon), "role", anon)
	}
	defer srv.Close()
	if err := loadViews(startCtx, srv.Load); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ln = api.LimitListener(ln, *connsPerAddr)
	if *metricsAddr != "" {
		stop, err := listenMetrics(*metricsAddr, srv.Metrics(), log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		// Idle keep-alive connections cost a file each: half a minute is
		// enough for a dashboard's next tile, and frees them soon after.
		IdleTimeout: 30 * time.Second,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Requests must outlive the signal: SIGTERM cancels ctx, and
		// requests still in flight during the drain and Shutdown finish.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	log.Info("serving", "addr", ln.Addr().String(), "db", redactURL(*db), "read_dbs", len(readDBs))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if *drain > 0 {
		// The balancer learns from /readyz that this replica is going and
		// sends new requests elsewhere; those it already sent finish.
		log.Info("draining before shutdown", "for", *drain)
		srv.Drain()
		time.Sleep(*drain)
	}
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadDemo fills an empty store with the embedded demo data, checked
// against the taxonomy the server runs with. A store that holds anything,
// a roster included, is left alone: the demo never mixes with real data.
func loadDemo(ctx context.Context, store data.Store, taxonomy *data.Taxonomy, log *slog.Logger) error {
	for _, l := range data.Layers() {
		n, err := store.Count(ctx, l)
		if err != nil {
			return err
		}
		if n > 0 {
			log.Info("demo: store not empty, demo data not loaded", "layer", l, "features", n)
			return nil
		}
	}
	if ws, err := store.Workers(ctx); err != nil {
		return err
	} else if len(ws) > 0 {
		log.Info("demo: store has a roster, demo data not loaded", "workers", len(ws))
		return nil
	}
	// The roster's roles are checked before anything is written: a store
	// left with the demo but without its roster would not be filled again.
	for _, role := range []string{demo.RoleWorker, demo.RoleChief} {
		if err := taxonomy.CheckWorker(data.Worker{Role: role}); err != nil {
			return fmt.Errorf("demo: the demo roster needs the worker roles %s and %s of the built-in taxonomy: %s",
				demo.RoleWorker, demo.RoleChief, data.ErrorMessage(err))
		}
	}
	start := time.Now()
	res, err := demo.LoadWith(ctx, store, taxonomy)
	if err != nil {
		return err
	}
	for l, r := range res {
		log.Info("demo: loaded", "layer", l, "imported", r.Imported)
	}
	// A published plan, so that locate, tiles and the map page work on the
	// first run.
	in, err := gridgen.LoadInput(ctx, store, gridgen.Request{Target: demoTarget, Resolution: demoResolution})
	if err != nil {
		return err
	}
	plan, err := gridgen.Generate(ctx, in, gridgen.Options{})
	if err != nil {
		return fmt.Errorf("demo: generate grids: %w", err)
	}
	id, err := savePlan(ctx, store, plan, true)
	if err != nil {
		return err
	}
	log.Info("demo: plan published", "plan", id, "grids", len(plan.Grids), "target", demoTarget, "res", plan.Resolution)
	// An invented roster for the published plan, as stored (the grids
	// locate serves): a worker for every grid and a chief for every leaf
	// area, so that locate names someone everywhere. One audited
	// transaction, recorded as an import is: counts, no phone numbers.
	areas, err := store.Areas(ctx)
	if err != nil {
		return err
	}
	published, err := store.PublishedPlan(ctx)
	if err != nil {
		return err
	}
	roster := demo.Roster(areas, published.Grids)
	if _, err := data.Audited(ctx, store, cliActor(), func(tx data.Tx) ([]data.AuditEntry, error) {
		for _, w := range roster {
			if err := tx.AddWorker(ctx, w); err != nil {
				return nil, fmt.Errorf("demo: roster: worker %s: %w", w.ID, err)
			}
		}
		after := fmt.Sprintf(`{"file":"demo roster","plan":%d,"imported":%d}`, published.ID, len(roster))
		return []data.AuditEntry{{Action: "import.workers", Target: "workers", After: []byte(after)}}, nil
	}); err != nil {
		return err
	}
	log.Info("demo: roster written (invented names and numbers)", "workers", len(roster))
	log.Info("demo: done", "dur", time.Since(start).Round(time.Millisecond), "attribution", demo.Attribution)
	return nil
}

// demoTarget is the households per grid of the demo plan: the middle of the
// 200–500 households a grid worker usually serves.
const demoTarget = 300

// demoResolution is fixed rather than automatic (which picks 11 for the
// demo): at 10 the demo's grids are as balanced (docs/BENCHMARKS.md,
// gridgen) and the first start takes a quarter of the time.
const demoResolution = 10

// loadViews runs load (the server's views) with the collector paused when
// a memory limit bounds the heap: the runtime still collects as the heap
// nears the limit.
// A load allocates what the views keep, so a collection on the way frees
// little, and while one runs every write into the new views pays for it
// and the heap's growth is returned to the system and faulted in again.
// At 16× Montevideo (docs/BENCHMARKS.md, issue 20) the load took 1.7 s
// without collections against 2.3 s with them, and half the system CPU.
func loadViews(ctx context.Context, load func(context.Context) error) error {
	if debug.SetMemoryLimit(-1) == math.MaxInt64 {
		return load(ctx)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	return load(ctx)
}

// defaultMemoryLimit is --memory-limit's default: 900 MiB, or "" (the
// runtime's own, from GOMEMLIMIT) when GOMEMLIMIT is set. At 16×
// Montevideo (docs/BENCHMARKS.md, issue 20) the views hold about 750 MB of
// heap, and the collector's usual headroom (as much again) took the
// process to 1.5 GiB; at 900 MiB it stays under 1 GiB with SQLite's
// caches. A city's views never come near it.
func defaultMemoryLimit() string {
	if os.Getenv("GOMEMLIMIT") != "" {
		return ""
	}
	return "900MiB"
}

// parseBytes reads a size in bytes, KiB, MiB or GiB ("900MiB", "2GiB",
// "0"); "" is 0.
func parseBytes(text string) (int64, error) {
	v := strings.TrimSpace(text)
	if v == "" {
		return 0, nil
	}
	unit := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			v, unit = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || !(n >= 0) || n*float64(unit) > 1<<62 {
		return 0, fmt.Errorf("%q is not a size such as 900MiB, 2GiB or 0", text)
	}
	return int64(n * float64(unit)), nil
}
