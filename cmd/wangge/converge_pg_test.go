package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/storetest"
)

// TestConvergePostGIS: two replicas of `wangge serve` on one PostGIS
// database, and SQL sent straight to the database as psql would. Writes
// through either replica or SQL show on both within a second; a published
// plan and a revoked key too; replicas at one version serve the same tile
// bytes; Wangge-Min-Version gives read-your-writes across replicas;
// concurrent PATCHes lose nothing and stale If-Match tags get 412;
// overlapping publishes leave both replicas on the store's plan; and the
// views keep converging after every database connection is killed.
func TestConvergePostGIS(t *testing.T) {
	c := startPostGISPair(t, "conv")
	ctx := context.Background()
	var delays []time.Duration // a write acknowledged by one replica → shown by the other

	t.Run("writes through one replica show on the other", func(t *testing.T) {
		for i, d := range []struct {
			from, to *replica
			at       pt
		}{{c.a, c.b, pt{9.52071, 47.14117}}, {c.b, c.a, pt{9.50963, 47.16512}}} {
			_, code := mustLocate(t, d.to, d.at)
			counts := mustGridHazards(t, d.to, code)
			h, ans, err := createHazard(d.from, d.at, map[string]any{"category": "fire", "severity": 2, "source_id": fmt.Sprintf("conv/ab%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			acked := time.Now()
			counts = counts.with(h, +1)
			readsOwnWrite(t, d.from, ans, h.FID, &h, d.at, code, counts)
			delays = append(delays, mustConverge(t, acked, fmt.Sprintf("%v created through %s, on %s", h, d.from.name, d.to.name), func() error {
				return hazardShown(d.to, h.FID, &h, d.at, code, counts)
			}))

			p, ans, err := patchHazard(d.from, h.FID, map[string]any{"status": "in_progress", "severity": 3})
			if err != nil {
				t.Fatal(err)
			}
			acked = time.Now()
			counts = counts.with(h, -1).with(p, +1)
			readsOwnWrite(t, d.from, ans, h.FID, &p, d.at, code, counts)
			delays = append(delays, mustConverge(t, acked, fmt.Sprintf("%v patched through %s, on %s", p, d.from.name, d.to.name), func() error {
				return hazardShown(d.to, h.FID, &p, d.at, code, counts)
			}))

			ans, err = deleteHazard(d.from, h.FID)
			if err != nil {
				t.Fatal(err)
			}
			acked = time.Now()
			counts = counts.with(p, -1)
			readsOwnWrite(t, d.from, ans, h.FID, nil, d.at, code, counts)
			delays = append(delays, mustConverge(t, acked, fmt.Sprintf("hazard %d deleted through %s, on %s", h.FID, d.from.name, d.to.name), func() error {
				return hazardShown(d.to, h.FID, nil, d.at, code, counts)
			}))
			agreesWithItems(t, d.to, h.FID, nil)
		}
	})

	t.Run("psql writes show on both", func(t *testing.T) {
		at := pt{9.52213, 47.21088}
		_, code := mustLocate(t, c.a, at)
		counts := mustGridHazards(t, c.a, code)
		h := hazard{SourceID: "conv/psql", Category: "water", Severity: 1, Status: "reported", ReportedAt: time.Date(2025, 6, 5, 7, 0, 0, 0, time.UTC), Lon: at[0], Lat: at[1]}
		var err error
		if h.FID, err = pgInsertHazard(ctx, c.pg, h); err != nil {
			t.Fatal(err)
		}
		acked := time.Now()
		counts = counts.with(h, +1)
		c.bothShow(t, acked, "psql INSERT of "+h.String(), h.FID, &h, at, code, counts)
		for _, r := range c.both() {
			agreesWithItems(t, r, h.FID, &h)
		}

		u := h
		u.Status, u.Category = "resolved", "electrical"
		if _, err := c.pg.Exec(ctx, `UPDATE hazards SET status = $1, category = $2 WHERE fid = $3`, u.Status, u.Category, h.FID); err != nil {
			t.Fatal(err)
		}
		acked = time.Now()
		counts = counts.with(h, -1).with(u, +1)
		c.bothShow(t, acked, "psql UPDATE to "+u.String(), h.FID, &u, at, code, counts)

		if _, err := c.pg.Exec(ctx, `DELETE FROM hazards WHERE fid = $1`, h.FID); err != nil {
			t.Fatal(err)
		}
		acked = time.Now()
		counts = counts.with(u, -1)
		c.bothShow(t, acked, fmt.Sprintf("psql DELETE of hazard %d", h.FID), h.FID, nil, at, code, counts)
	})

	t.Run("Wangge-Min-Version", func(t *testing.T) {
		at := pt{9.52811, 47.10688}
		h, ans, err := createHazard(c.a, at, map[string]any{"category": "traffic", "severity": 1})
		if err != nil {
			t.Fatal(err)
		}
		v := ans.header.Get("Wangge-Version")
		// At once, without polling: B waits until its views are at v.
		near, _, err := c.b.nearby(at, 5, "Wangge-Min-Version", v)
		if err != nil {
			t.Fatalf("GET nearby on B with Wangge-Min-Version %s from A's write: %v", v, err)
		}
		if got, ok := near[h.FID]; !ok {
			t.Errorf("B answered nearby with Wangge-Min-Version %s (A's write of %v) without the hazard: %v", v, h, near)
		} else if d := h.diff(got); d != "" {
			t.Errorf("B with Wangge-Min-Version %s shows hazard %d with %s", v, h.FID, d)
		}
		got, found, err := c.b.item(h.FID, "Wangge-Min-Version", v)
		if err != nil || !found || h.diff(got) != "" || got.etag != ans.header.Get("ETag") {
			t.Errorf("B's /collections item with Wangge-Min-Version %s: %v (found %v, ETag %s; A's ETag %s): %v", v, got, found, got.etag, ans.header.Get("ETag"), err)
		}
		// A version beyond the store's feed was never given out: 400 at
		// once, not a wait that would keep the follower at the primary.
		n, _ := strconv.ParseInt(v, 10, 64)
		a, err := c.b.do("GET", "/v1/locate?lon=9.5209&lat=47.141", nil, "Wangge-Min-Version", strconv.FormatInt(n+1_000_000, 10))
		switch {
		case err != nil:
			t.Error(err)
		case a.status != http.StatusBadRequest || !strings.Contains(a.header.Get("Content-Type"), "problem+json") || !strings.Contains(string(a.body), "newer than any write"):
			t.Errorf("Wangge-Min-Version beyond the feed: %v %s, want 400 problem+json naming it", a, a.body)
		}
		if a, err := c.b.do("GET", "/v1/locate?lon=9.5209&lat=47.141", nil, "Wangge-Min-Version", "soon"); err != nil || a.status != http.StatusBadRequest {
			t.Errorf("Wangge-Min-Version: soon → %v %v, want 400", a, err)
		}
	})

	var plan1 int64
	t.Run("plan published on A is what B locates with", func(t *testing.T) {
		plan1 = newPlan(t, c.a, 250)
		old, _ := mustLocate(t, c.b, vaduz)
		ans, err := c.a.do("POST", fmt.Sprintf("/v1/plans/%d/publish", plan1), nil)
		if err != nil || ans.status != http.StatusOK {
			t.Fatalf("publish plan %d on A: %v %v", plan1, ans, err)
		}
		acked := time.Now()
		wantVersion(t, c.a, ans)
		stored, grids := pgPublishedPlan(t, c.pg)
		if stored != plan1 {
			t.Fatalf("after publishing plan %d the store's published plan is %d", plan1, stored)
		}
		if err := planShown(c.a, plan1, grids); err != nil {
			t.Errorf("A right after its own publish (read your writes): %v", err)
		}
		took := mustConverge(t, acked, fmt.Sprintf("plan %d published on A (B was on plan %d)", plan1, old), func() error {
			return planShown(c.b, plan1, grids)
		})
		t.Logf("publish A → B in %v", took.Round(time.Millisecond))
	})

	t.Run("key revoked on A is refused on B", func(t *testing.T) {
		planner := strings.TrimSpace(runWangge(t, c.bin, "keys", "create", "--role", "planner", "--name", "converge", "--db", c.url))
		admin := strings.TrimSpace(runWangge(t, c.bin, "keys", "create", "--role", "admin", "--name", "converge admin", "--db", c.url))
		created := time.Now()
		id, _, ok := data.ParseToken(planner)
		if !ok {
			t.Fatalf("keys create printed %q, not a key", planner)
		}
		locate := "/v1/locate?lon=9.5209&lat=47.141"
		for _, r := range c.both() {
			mustConverge(t, created, "a key created with the CLI, usable on "+r.name, func() error {
				for _, tok := range []string{planner, admin} {
					if a, err := r.do("GET", locate, nil, "Authorization", "Bearer "+tok); err != nil || a.status != http.StatusOK {
						return fmt.Errorf("%s: locate with a new key: %v %v", r.name, a, err)
					}
				}
				return nil
			})
		}
		ans, err := c.a.do("DELETE", "/v1/keys/"+id, nil, "Authorization", "Bearer "+admin)
		if err != nil || ans.status != http.StatusNoContent {
			t.Fatalf("revoke key %s on A: %v %v", id, ans, err)
		}
		acked := time.Now()
		wantVersion(t, c.a, ans)
		if a, err := c.a.do("GET", locate, nil, "Authorization", "Bearer "+planner); err != nil || a.status != http.StatusUnauthorized {
			t.Errorf("A right after revoking key %s: locate with it → %v %v, want 401", id, a, err)
		}
		took := mustConverge(t, acked, fmt.Sprintf("key %s revoked on A, refused on B", id), func() error {
			a, err := c.b.do("GET", locate, nil, "Authorization", "Bearer "+planner)
			if err != nil {
				return err
			}
			if a.status != http.StatusUnauthorized {
				return fmt.Errorf("B: locate with the revoked key → %v, want 401", a)
			}
			return nil
		})
		t.Logf("key revocation A → B in %v", took.Round(time.Millisecond))
		if a, err := c.b.do("GET", locate, nil, "Authorization", "Bearer "+admin); err != nil || a.status != http.StatusOK {
			t.Errorf("B refuses the admin key too: %v %v", a, err)
		}
	})

	t.Run("same version, same tiles", func(t *testing.T) {
		c.sameTiles(t)
	})

	t.Run("concurrent PATCHes lose nothing", func(t *testing.T) {
		at := pt{9.51984, 47.14233}
		h, _, err := createHazard(c.a, at, map[string]any{"category": "other", "severity": 1})
		if err != nil {
			t.Fatal(err)
		}
		var category string
		var severity int
		for i := range 30 {
			categories := data.DefaultTaxonomy().CategoryCodes()
			category, severity = categories[i%len(categories)], i%3+1
			var wg sync.WaitGroup
			var errA, errB error
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, _, errA = patchHazard(c.a, h.FID, map[string]any{"category": category})
			}()
			go func() {
				defer wg.Done()
				_, _, errB = patchHazard(c.b, h.FID, map[string]any{"severity": severity})
			}()
			wg.Wait()
			if err := errors.Join(errA, errB); err != nil {
				t.Errorf("round %d: %v", i, err)
				continue
			}
			s, ok, err := pgHazard(ctx, c.pg, h.FID)
			if err != nil || !ok {
				t.Fatalf("round %d: hazard %d in the store: %v %v", i, h.FID, ok, err)
			}
			if s.Category != category || s.Severity != severity {
				t.Errorf("round %d: lost update: A set category %s and B severity %d at once; the store holds category %s, severity %d",
					i, category, severity, s.Category, s.Severity)
			}
		}
		s, _, err := pgHazard(ctx, c.pg, h.FID)
		if err != nil {
			t.Fatal(err)
		}
		c.bothShow(t, time.Now(), "the hazard after 30 rounds of concurrent PATCHes", h.FID, &s, at, "", hazardCounts{})
	})

	t.Run("If-Match", func(t *testing.T) {
		at := pt{9.51102, 47.16601}
		h, created, err := createHazard(c.a, at, map[string]any{"category": "building", "severity": 2})
		if err != nil {
			t.Fatal(err)
		}
		stale := created.header.Get("ETag")
		if stale == "" || strings.HasPrefix(stale, "W/") {
			t.Errorf("POST answered ETag %q, want a strong tag", stale)
		}
		for _, r := range c.both() {
			got, found, err := r.item(h.FID, "Wangge-Min-Version", created.header.Get("Wangge-Version"))
			if err != nil || !found || got.etag != stale {
				t.Errorf("%s: GET hazard %d has ETag %q (found %v, %v), the POST answered %q", r.name, h.FID, got.etag, found, err, stale)
			}
		}
		_, fresh, err := patchHazard(c.b, h.FID, map[string]any{"status": "in_progress"})
		if err != nil {
			t.Fatal(err)
		}
		current := fresh.header.Get("ETag")
		if current == stale || current == "" {
			t.Errorf("PATCH answered ETag %q, the tag before it was %q", current, stale)
		}
		for _, req := range []struct {
			r      *replica
			method string
			body   any
		}{{c.a, "PATCH", map[string]any{"type": "Feature", "properties": map[string]any{"status": "resolved"}}}, {c.b, "DELETE", nil}} {
			a, err := req.r.do(req.method, fmt.Sprintf("/collections/hazards/items/%d", h.FID), req.body, "If-Match", stale)
			if err != nil {
				t.Fatal(err)
			}
			if a.status != http.StatusPreconditionFailed || !strings.Contains(a.header.Get("Content-Type"), "problem+json") {
				t.Errorf("%s %s hazard %d with the stale If-Match %s: %v, want 412 problem+json", req.r.name, req.method, h.FID, stale, a)
			}
		}
		if s, ok, err := pgHazard(ctx, c.pg, h.FID); err != nil || !ok || s.Status != "in_progress" {
			t.Errorf("after two refused writes the store holds %v (found %v, %v), want status in_progress", s, ok, err)
		}
		a, err := c.a.do("PATCH", fmt.Sprintf("/collections/hazards/items/%d", h.FID), map[string]any{"properties": map[string]any{"status": "resolved"}}, "If-Match", current)
		if err != nil || a.status != http.StatusOK {
			t.Errorf("PATCH on A with the current If-Match %s: %v %v, want 200", current, a, err)
		}
		a, err = c.b.do("DELETE", fmt.Sprintf("/collections/hazards/items/%d", h.FID), nil, "If-Match", a.header.Get("ETag"), "Wangge-Min-Version", a.header.Get("Wangge-Version"))
		if err != nil || a.status != http.StatusNoContent {
			t.Errorf("DELETE on B with the current If-Match: %v %v, want 204", a, err)
		}
	})

	t.Run("overlapping publishes", func(t *testing.T) {
		if plan1 == 0 { // the publish step failed, or was not run
			plan1 = newPlan(t, c.a, 250)
		}
		plan2 := newPlan(t, c.b, 350)
		plans := [2]int64{plan1, plan2}
		var took []time.Duration
		for round := range 20 {
			var wg sync.WaitGroup
			answers := make([]string, 2)
			durs := make([]time.Duration, 2)
			for i, r := range c.both() {
				id := plans[(round+i)%2]
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now()
					a, err := r.do("POST", fmt.Sprintf("/v1/plans/%d/publish", id), nil)
					durs[i] = time.Since(start)
					switch {
					case err != nil:
						answers[i] = err.Error()
					case a.status != http.StatusOK && !(a.status == http.StatusServiceUnavailable && a.header.Get("Retry-After") != ""):
						answers[i] = fmt.Sprintf("%s: publish %d: %v", r.name, id, a)
					}
				}()
			}
			wg.Wait()
			took = append(took, durs...)
			for _, a := range answers {
				if a != "" {
					t.Errorf("round %d: %s", round, a)
				}
			}
			acked := time.Now()
			stored, grids := pgPublishedPlan(t, c.pg)
			for _, r := range c.both() {
				if _, err := within(acked, convergeLimit, 5*time.Millisecond, func() error { return planShown(r, stored, grids) }); err != nil {
					t.Errorf("round %d (A published %d, B %d): the store's published plan is %d, but after %v: %v", round, plans[round%2], plans[(round+1)%2], stored, convergeLimit, err)
				}
			}
		}
		t.Logf("%d overlapping publishes answered in p50 %v, p99 %v", len(took), percentile(took, 50), percentile(took, 99))
	})

	t.Run("propagation delay", func(t *testing.T) {
		for i := range 20 {
			from, to := c.a, c.b
			if i%2 == 1 {
				from, to = c.b, c.a
			}
			at := pt{9.515 + float64(i)*0.001, 47.138 + float64(i%5)*0.002}
			h, _, err := createHazard(from, at, map[string]any{"category": "traffic", "severity": 1})
			if err != nil {
				t.Fatal(err)
			}
			took, err := within(time.Now(), convergeLimit, 2*time.Millisecond, func() error {
				near, _, err := to.nearby(at, 5)
				if _, ok := near[h.FID]; err == nil && !ok {
					err = fmt.Errorf("%s: nearby does not show %v", to.name, h)
				}
				return err
			})
			if err != nil {
				t.Errorf("%v written through %s: %v", h, from.name, err)
				continue
			}
			delays = append(delays, took)
		}
		t.Logf("write acknowledged by one replica → shown by the other, %d writes: p50 %v, p99 %v, max %v",
			len(delays), percentile(delays, 50), percentile(delays, 99), percentile(delays, 100))
	})

	t.Run("connections killed", func(t *testing.T) {
		rows, err := c.pg.Query(ctx, `SELECT pid, application_name, left(query, 60) FROM pg_stat_activity
			WHERE pid <> pg_backend_pid() AND datname = current_database() AND (application_name = ANY($1) OR query LIKE 'LISTEN%')`, c.apps[:])
		if err != nil {
			t.Fatal(err)
		}
		type backend struct {
			pid        int32
			app, query string
		}
		backends, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (backend, error) {
			var b backend
			return b, row.Scan(&b.pid, &b.app, &b.query)
		})
		if err != nil {
			t.Fatal(err)
		}
		listens := 0
		for _, b := range backends {
			if strings.HasPrefix(b.query, "LISTEN") {
				listens++
			}
			if _, err := c.pg.Exec(ctx, `SELECT pg_terminate_backend($1)`, b.pid); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("terminated %d backends of the replicas, %d of them LISTENing", len(backends), listens)
		if listens < 2 {
			t.Errorf("%d LISTEN connections found for 2 replicas on PostGIS: %+v", listens, backends)
		}
		at := pt{9.50012, 47.06611}
		_, code := mustLocate(t, c.a, at)
		counts := mustGridHazards(t, c.a, code)
		h := hazard{SourceID: "conv/after-kill", Category: "fire", Severity: 3, Status: "reported", ReportedAt: time.Date(2025, 6, 6, 6, 0, 0, 0, time.UTC), Lon: at[0], Lat: at[1]}
		if h.FID, err = pgInsertHazard(ctx, c.pg, h); err != nil {
			t.Fatal(err)
		}
		acked := time.Now()
		for _, r := range c.both() {
			took, err := within(acked, 3*time.Second, 5*time.Millisecond, func() error {
				return hazardShown(r, h.FID, &h, at, code, counts.with(h, +1))
			})
			if err != nil {
				t.Errorf("after the kill, psql INSERT of %v not shown on %s within 3 s: %v", h, r.name, err)
				continue
			}
			t.Logf("after the kill, a psql INSERT shown on %s in %v", r.name, took.Round(time.Millisecond))
			if took > convergeLimit {
				t.Errorf("after the kill, a psql INSERT took %v to show on %s, over %v", took, r.name, convergeLimit)
			}
		}
		// And the replicas write again (a refused first try, 503 with
		// Retry-After, is allowed once).
		for _, r := range c.both() {
			var last string
			ok := false
			for try := range 2 {
				a, err := r.do("PATCH", fmt.Sprintf("/collections/hazards/items/%d", h.FID), map[string]any{"properties": map[string]any{"severity": 1 + try}})
				if err == nil && a.status == http.StatusOK {
					ok = true
					break
				}
				last = fmt.Sprintf("%v %v", a, err)
				t.Logf("%s: PATCH after the kill, try %d: %s", r.name, try+1, last)
				time.Sleep(time.Second)
			}
			if !ok {
				t.Errorf("%s: no write works after the kill: %s", r.name, last)
			}
		}
	})
}

// pgPair is two replicas on one PostGIS schema and a pool of our own on it.
type pgPair struct {
	bin  string
	url  string // the schema, for the CLI and pgx
	a, b *replica
	pg   *pgxpool.Pool
	apps [2]string // application_name of A's and B's connections
}

func (c *pgPair) both() []*replica { return []*replica{c.a, c.b} }

// startPostGISPair builds the binary and starts A (which loads the demo)
// and B on a fresh schema of WANGGE_TEST_PG.
func startPostGISPair(t *testing.T, prefix string) *pgPair {
	t.Helper()
	url := storetest.PostgresSchema(t)
	c := &pgPair{bin: buildShipped(t), url: url}
	b := make([]byte, 3)
	rand.Read(b)
	c.apps = [2]string{prefix + "-a-" + hex.EncodeToString(b), prefix + "-b-" + hex.EncodeToString(b)}
	c.a = startReplica(t, c.bin, "A", storetest.WithParam(t, url, "application_name", c.apps[0]), "--demo", "--anonymous", "planner")
	c.b = startReplica(t, c.bin, "B", storetest.WithParam(t, url, "application_name", c.apps[1]), "--anonymous", "planner")
	pool, err := pgxpool.New(context.Background(), storetest.WithParam(t, url, "application_name", prefix+"-psql"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c.pg = pool
	return c
}

// bothShow fails the test unless both replicas show hazard fid as want
// (nil: gone) within convergeLimit of acked.
func (c *pgPair) bothShow(t *testing.T, acked time.Time, what string, fid int64, want *hazard, at pt, code string, counts hazardCounts) {
	t.Helper()
	for _, r := range c.both() {
		took := mustConverge(t, acked, what+" on "+r.name, func() error {
			return hazardShown(r, fid, want, at, code, counts)
		})
		t.Logf("%s shown on %s in %v", what, r.name, took.Round(time.Millisecond))
	}
}

// sameTiles waits until A and B stand at one version and checks that they
// answer several tiles with the same bytes and ETag.
func (c *pgPair) sameTiles(t *testing.T) {
	t.Helper()
	tiles := []struct {
		layers string
		z      int
		p      pt
	}{
		{"grids,areas,hazards", 0, vaduz}, {"grids,areas,hazards", 8, vaduz}, {"hazards", 10, schaan},
		{"grids,hazards", 12, triesen}, {"grids,areas,hazards", 14, vaduz}, {"hazards", 14, schaan},
		{"grids", 13, eschen}, {"areas,grids", 11, balzers},
	}
	for attempt := 0; ; attempt++ {
		va, errA := c.a.version()
		vb, errB := c.b.version()
		if err := errors.Join(errA, errB); err != nil {
			t.Fatal(err)
		}
		if va != vb {
			if attempt > 200 {
				t.Fatalf("A stays at version %d, B at %d", va, vb)
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		var diffs []string
		for _, tl := range tiles {
			x, y := tileOf(tl.p, tl.z)
			path := fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", tl.layers, tl.z, x, y)
			ta, errA := c.a.do("GET", path, nil)
			tb, errB := c.b.do("GET", path, nil)
			if err := errors.Join(errA, errB); err != nil {
				t.Fatal(err)
			}
			switch {
			case ta.status != tb.status:
				diffs = append(diffs, fmt.Sprintf("%s: A %v, B %v", path, ta, tb))
			case ta.status != http.StatusOK && ta.status != http.StatusNoContent:
				diffs = append(diffs, fmt.Sprintf("%s: %v", path, ta))
			case string(ta.body) != string(tb.body):
				diffs = append(diffs, fmt.Sprintf("%s: A sent %d bytes, B %d, not the same", path, len(ta.body), len(tb.body)))
			case ta.header.Get("ETag") == "" || ta.header.Get("ETag") != tb.header.Get("ETag"):
				diffs = append(diffs, fmt.Sprintf("%s: same bytes, ETag %q on A, %q on B", path, ta.header.Get("ETag"), tb.header.Get("ETag")))
			}
		}
		va2, _ := c.a.version()
		vb2, _ := c.b.version()
		if va2 != va || vb2 != vb {
			continue // something was written meanwhile: compare again
		}
		if len(diffs) > 0 {
			t.Errorf("A and B at version %d serve different tiles:\n%s", va, strings.Join(diffs, "\n"))
		}
		return
	}
}

// createHazard POSTs a hazard at p with props (and headers hdr) through r
// and returns it as answered (status 201, with an ETag and a Wangge-Version).
func createHazard(r *replica, p pt, props map[string]any, hdr ...string) (hazard, answer, error) {
	a, err := r.do("POST", "/collections/hazards/items", map[string]any{"type": "Feature",
		"geometry": map[string]any{"type": "Point", "coordinates": []float64{p[0], p[1]}}, "properties": props}, hdr...)
	if err != nil {
		return hazard{}, a, err
	}
	if a.status != http.StatusCreated {
		return hazard{}, a, fmt.Errorf("%s: POST hazard %v: %v, want 201", r.name, props, a)
	}
	h, err := writeAnswer(r, "POST", a)
	return h, a, err
}

// patchHazard PATCHes the properties of hazard fid through r (200).
func patchHazard(r *replica, fid int64, props map[string]any, hdr ...string) (hazard, answer, error) {
	a, err := r.do("PATCH", fmt.Sprintf("/collections/hazards/items/%d", fid), map[string]any{"type": "Feature", "properties": props}, hdr...)
	if err != nil {
		return hazard{}, a, err
	}
	if a.status != http.StatusOK {
		return hazard{}, a, fmt.Errorf("%s: PATCH hazard %d %v: %v, want 200", r.name, fid, props, a)
	}
	h, err := writeAnswer(r, "PATCH", a)
	return h, a, err
}

// deleteHazard DELETEs hazard fid through r (204, with a Wangge-Version).
func deleteHazard(r *replica, fid int64, hdr ...string) (answer, error) {
	a, err := r.do("DELETE", fmt.Sprintf("/collections/hazards/items/%d", fid), nil, hdr...)
	if err != nil {
		return a, err
	}
	if a.status != http.StatusNoContent {
		return a, fmt.Errorf("%s: DELETE hazard %d: %v, want 204", r.name, fid, a)
	}
	if _, err := strconv.ParseInt(a.header.Get("Wangge-Version"), 10, 64); err != nil {
		return a, fmt.Errorf("%s: DELETE hazard %d: Wangge-Version %q", r.name, fid, a.header.Get("Wangge-Version"))
	}
	return a, nil
}

// writeAnswer reads the feature a write answered with and checks its
// headers.
func writeAnswer(r *replica, method string, a answer) (hazard, error) {
	var f geoFeature
	if err := json.Unmarshal(a.body, &f); err != nil {
		return hazard{}, fmt.Errorf("%s: %s: %v in %v", r.name, method, err, a)
	}
	h, err := f.hazard()
	if err != nil {
		return h, err
	}
	h.etag = a.header.Get("ETag")
	if h.etag == "" || strings.HasPrefix(h.etag, "W/") {
		return h, fmt.Errorf("%s: %s hazard %d answered ETag %q, want a strong tag", r.name, method, h.FID, h.etag)
	}
	if _, err := strconv.ParseInt(a.header.Get("Wangge-Version"), 10, 64); err != nil {
		return h, fmt.Errorf("%s: %s hazard %d answered Wangge-Version %q", r.name, method, h.FID, a.header.Get("Wangge-Version"))
	}
	return h, nil
}

// readsOwnWrite checks that the replica that answered a write shows it at
// once, and that its Wangge-Version is not ahead of its views.
func readsOwnWrite(t *testing.T, r *replica, a answer, fid int64, want *hazard, p pt, code string, counts hazardCounts) {
	t.Helper()
	wantVersion(t, r, a)
	if err := hazardShown(r, fid, want, p, code, counts); err != nil {
		t.Errorf("right after its own write (answered %s, Wangge-Version %s): %v", a.header.Get("ETag"), a.header.Get("Wangge-Version"), err)
	}
}

// wantVersion checks that a write's Wangge-Version is a version r's views
// have reached.
func wantVersion(t *testing.T, r *replica, a answer) {
	t.Helper()
	w, err := strconv.ParseInt(a.header.Get("Wangge-Version"), 10, 64)
	if err != nil {
		t.Errorf("%s: the write answered Wangge-Version %q: %v", r.name, a.header.Get("Wangge-Version"), err)
		return
	}
	if v, err := r.version(); err != nil || v < w {
		t.Errorf("%s: the write answered Wangge-Version %d, but /readyz says its views are at %d (%v)", r.name, w, v, err)
	}
}

// newPlan generates a plan for target households per grid through r and
// returns its id once the job is done.
func newPlan(t *testing.T, r *replica, target int) int64 {
	t.Helper()
	var job struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		PlanID int64  `json:"plan_id"`
		Error  string `json:"error"`
	}
	a, err := r.do("POST", "/v1/plans", map[string]any{"target": target})
	if err != nil || a.status != http.StatusAccepted {
		t.Fatalf("%s: POST /v1/plans: %v %v", r.name, a, err)
	}
	if err := json.Unmarshal(a.body, &job); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); job.Status != "done"; time.Sleep(100 * time.Millisecond) {
		if job.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("%s: plan job %s: %s %s", r.name, job.ID, job.Status, job.Error)
		}
		if err := r.getJSON("/v1/plans/"+job.ID, &job); err != nil {
			t.Fatal(err)
		}
	}
	return job.PlanID
}

// pgHazardCols reads a hazard row.
const pgHazardCols = `SELECT fid, ST_X(geom), ST_Y(geom), source_id, category, severity, status, reported_at FROM hazards`

func scanPGHazard(row pgx.Row) (hazard, error) {
	var h hazard
	err := row.Scan(&h.FID, &h.Lon, &h.Lat, &h.SourceID, &h.Category, &h.Severity, &h.Status, &h.ReportedAt)
	h.ReportedAt = h.ReportedAt.UTC()
	return h, err
}

// pgHazard reads hazard fid from the database; ok is false when there is none.
func pgHazard(ctx context.Context, pg *pgxpool.Pool, fid int64) (hazard, bool, error) {
	h, err := scanPGHazard(pg.QueryRow(ctx, pgHazardCols+` WHERE fid = $1`, fid))
	if errors.Is(err, pgx.ErrNoRows) {
		return h, false, nil
	}
	return h, err == nil, err
}

// pgHazards reads every hazard from the database.
func pgHazards(ctx context.Context, pg *pgxpool.Pool, where string, args ...any) (map[int64]hazard, error) {
	rows, err := pg.Query(ctx, pgHazardCols+" "+where, args...)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (hazard, error) { return scanPGHazard(row) })
	if err != nil {
		return nil, err
	}
	out := make(map[int64]hazard, len(list))
	for _, h := range list {
		out[h.FID] = h
	}
	return out, nil
}

// pgInsertHazard inserts h as psql would and returns its fid.
func pgInsertHazard(ctx context.Context, pg *pgxpool.Pool, h hazard) (int64, error) {
	var fid int64
	err := pg.QueryRow(ctx, `INSERT INTO hazards (geom, source_id, category, severity, status, reported_at)
		VALUES (ST_SetSRID(ST_MakePoint($1, $2), 4326), $3, $4, $5, $6, $7) RETURNING fid`,
		h.Lon, h.Lat, h.SourceID, h.Category, h.Severity, h.Status, h.ReportedAt).Scan(&fid)
	return fid, err
}

// pgPublishedPlan returns the store's published plan and its grid count.
func pgPublishedPlan(t *testing.T, pg *pgxpool.Pool) (int64, int) {
	t.Helper()
	id, n, err := pgPlan(context.Background(), pg)
	if err != nil {
		t.Fatalf("published plan in the store: %v", err)
	}
	return id, n
}

func pgPlan(ctx context.Context, pg *pgxpool.Pool) (int64, int, error) {
	var id int64
	var n int
	err := pg.QueryRow(ctx, `SELECT id, (SELECT count(*) FROM grids WHERE plan_id = plans.id) FROM plans WHERE published`).Scan(&id, &n)
	return id, n, err
}
