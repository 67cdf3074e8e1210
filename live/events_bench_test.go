package live

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"

	"github.com/wangge/wangge/data"
)

// A county's year of events: 60,000 reports over 2025 on a synthetic plan
// of 300 grids (20 × 15 squares of 0.01°, about 850 m × 1,110 m, 17 km ×
// 17 km in all, near Beijing), judged on 2026-01-15.
const (
	countyLon0, countyLat0 = 116.30, 39.85
	countyCols, countyRows = 20, 15
	countyEvents           = 60_000
)

var countyNow = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

func countyPlan() data.Plan {
	p := data.Plan{Target: 300, Resolution: 10}
	for r := range countyRows {
		for c := range countyCols {
			x, y := countyLon0+float64(c)*statsStep, countyLat0+float64(r)*statsStep
			p.Grids = append(p.Grids, data.Grid{Code: fmt.Sprintf("G%02d%02d", r, c), Name: "grid", ParentCode: "S", Households: 300,
				Geometry: statsBox(x, y, x+statsStep, y+statsStep)})
		}
	}
	return p
}

// countyEventsOf returns n seeded events: half around 200 hot places (a
// normal spread of 150 m, so that repeats occur), the rest uniform; a
// category uniform over the taxonomy's; reported uniformly over 2025.
// 4% are rejected and 6% are stuck open (the backlog); of the rest, an
// event whose time to close (log-normal, median 30 h) has passed by
// countyNow is done (closed, verified or resolved), 3% of them without a
// resolved_at (older data), and the others are open. Open events are in
// one of the six open states. A fifth have no due_at (older data), so
// their due time comes from the taxonomy.
func countyEventsOf(n int, tax *data.Taxonomy) []data.Hazard {
	rng := rand.New(rand.NewPCG(60, 2025))
	w, h := countyCols*statsStep, countyRows*statsStep
	var hot []orb.Point
	for range 200 {
		hot = append(hot, orb.Point{countyLon0 + 0.01 + rng.Float64()*(w-0.02), countyLat0 + 0.01 + rng.Float64()*(h-0.02)})
	}
	cats := tax.Categories
	open := []data.Status{data.StatusReported, data.StatusAccepted, data.StatusAssigned, data.StatusInProgress, data.StatusEscalated, data.StatusReopened}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]data.Hazard, n)
	for i := range out {
		var p orb.Point
		if rng.IntN(2) == 0 {
			c := hot[rng.IntN(len(hot))]
			// 150 m: 0.00135° of latitude, 0.00176° of longitude at 40°N.
			p = orb.Point{c[0] + rng.NormFloat64()*0.00176, c[1] + rng.NormFloat64()*0.00135}
		} else {
			p = orb.Point{countyLon0 + rng.Float64()*w, countyLat0 + rng.Float64()*h}
		}
		p[0] = math.Min(math.Max(p[0], countyLon0+1e-6), countyLon0+w-1e-6)
		p[1] = math.Min(math.Max(p[1], countyLat0+1e-6), countyLat0+h-1e-6)
		cat := cats[rng.IntN(len(cats))]
		reported := t0.Add(time.Duration(rng.IntN(365*24*60)) * time.Minute)
		ev := data.Hazard{ID: fmt.Sprintf("county/%d", i), Point: p, Category: cat.Code, Severity: cat.Severity, Status: open[rng.IntN(len(open))],
			ReportedAt: reported}
		if rng.IntN(5) > 0 {
			ev.DueAt = reported.Add(cat.Deadline())
		}
		toClose := time.Duration(math.Exp(math.Log(30)+rng.NormFloat64()) * float64(time.Hour)).Truncate(time.Second)
		switch u := rng.Float64(); {
		case u < 0.04:
			ev.Status = data.StatusRejected
		case u < 0.10:
			// Stuck: stays in its open state.
		case reported.Add(toClose).Before(countyNow):
			ev.Status = []data.Status{data.StatusClosed, data.StatusClosed, data.StatusClosed, data.StatusVerified, data.StatusResolved}[rng.IntN(5)]
			if rng.IntN(100) >= 3 {
				ev.ResolvedAt = reported.Add(toClose)
			}
		}
		out[i] = ev
	}
	return out
}

// BenchmarkGridStatsEvents60k times the figures of /v1/grids/stats over a
// county's year of events (countyEventsOf) held by a service over a
// GeoPackage:
//
//   - cold: every event located in its grid, repeats found, figures of
//     every grid and the total (what the first request after start pays);
//   - one-event-changed: one event's state and place changed from another
//     handle on the file and followed (not timed), then the same figures
//     (only that event is located again; repeats are found again for all);
//   - figures-only: the figures again with the assignment kept (a second
//     request, with another period);
//   - postgis-sql: the peer, the same figures as one SQL query in PostGIS
//     over the same rows (WANGGE_TEST_PG; skipped without it).
func BenchmarkGridStatsEvents60k(b *testing.B) {
	tax := data.DefaultTaxonomy()
	plan, hz := countyPlan(), countyEventsOf(countyEvents, tax)
	svc, other := statsService(b, tax, plan, hz)
	pp := svc.Published()
	q := FigureQuery{Now: countyNow, Taxonomy: tax}
	_, total := svc.GridAssignment(pp).Figures(q, nil)
	b.Logf("%d events in %d grids: open %d, overdue %d, done %d, rejected %d, repeat %d; closure %.4f, on time %.4f, median %.2f h, p90 %.2f h",
		total.Reported, len(plan.Grids), total.Open, total.Overdue, total.Done, total.Rejected, total.Repeat,
		*total.ClosureRate, *total.OnTimeRate, *total.MedianHoursToClose, *total.P90HoursToClose)

	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			a := assign(pp, [2]uint64{}, nil, svc.hazardCount(), svc.EachHazard, svc.EachCamera)
			a.Figures(q, nil)
		}
	})

	b.Run("one-event-changed", func(b *testing.B) {
		ctx := context.Background()
		var fids []int64
		svc.EachHazard(func(h data.Hazard) { fids = append(fids, h.FID) })
		slices.Sort(fids)
		rng := rand.New(rand.NewPCG(1, 1))
		svc.GridAssignment(pp)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			h, _ := svc.Hazard(fids[rng.IntN(len(fids))])
			// A worker resolves an event and corrects its place by a few metres.
			if h.Status.Done() {
				h.Status, h.ResolvedAt = data.StatusReopened, time.Time{}
			} else {
				h.Status, h.ResolvedAt = data.StatusResolved, countyNow.Add(-time.Hour)
			}
			h.Point[0] += 5e-5
			tx, err := other.Begin(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := tx.UpdateHazard(ctx, h); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.Sync(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			svc.GridAssignment(pp).Figures(q, nil)
		}
	})

	b.Run("figures-only", func(b *testing.B) {
		a := svc.GridAssignment(pp)
		b.ReportAllocs()
		for range b.N {
			a.Figures(FigureQuery{Since: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), Now: countyNow, Taxonomy: tax}, nil)
		}
	})

	// Loaded once, closed with the parent: b.Run calls the function more
	// than once, and runs a sub-benchmark's cleanups after each call.
	var peer *pgx.Conn
	parent := b
	b.Run("postgis-sql", func(b *testing.B) {
		url := os.Getenv("WANGGE_TEST_PG")
		if url == "" {
			b.Skip("WANGGE_TEST_PG not set: run under scripts/testdb.sh for the PostGIS peer")
		}
		ctx := context.Background()
		if peer == nil {
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				b.Fatalf("connect to WANGGE_TEST_PG: %v", err)
			}
			var all []data.Hazard
			svc.EachHazard(func(h data.Hazard) { all = append(all, h) })
			if err := loadPeer(ctx, conn, plan, tax, all); err != nil {
				conn.Close(ctx)
				b.Fatal(err)
			}
			peer = conn
			parent.Cleanup(func() { conn.Close(context.Background()) })
		}
		conn := peer
		sql := peerSQL(tax)
		var err error
		var rows int
		var got peerTotal
		b.ResetTimer()
		for range b.N {
			rows, got, err = runPeer(ctx, conn, sql)
			if err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		// The peer must compute what we do.
		a := svc.GridAssignment(pp)
		_, want := a.Figures(q, nil)
		b.Logf("peer: %d rows; total %+v", rows, got)
		if got.reported != want.Reported || got.open != want.Open || got.overdue != want.Overdue || got.done != want.Done ||
			got.rejected != want.Rejected || got.repeat != want.Repeat ||
			math.Abs(got.closure-*want.ClosureRate) > 1e-9 || math.Abs(got.onTime-*want.OnTimeRate) > 1e-9 ||
			math.Abs(got.median-*want.MedianHoursToClose) > 1e-6 || math.Abs(got.p90-*want.P90HoursToClose) > 1e-6 {
			b.Errorf("the peer's total differs from ours: %+v, want %+v", got, want)
		}
	})
}

// loadPeer writes the grids, the taxonomy's categories and the events into
// tables of their own, indexed as a PostGIS user would index them.
func loadPeer(ctx context.Context, conn *pgx.Conn, plan data.Plan, tax *data.Taxonomy, hz []data.Hazard) error {
	for _, q := range []string{
		`DROP TABLE IF EXISTS stats_peer_grids, stats_peer_events, stats_peer_categories, stats_peer_stage, stats_peer_ev_stage`,
		`CREATE TABLE stats_peer_grids (idx int PRIMARY KEY, geom geometry(MultiPolygon, 4326) NOT NULL)`,
		`CREATE TABLE stats_peer_categories (code text PRIMARY KEY, kind text NOT NULL, deadline_hours int NOT NULL)`,
		`CREATE TABLE stats_peer_events (fid bigint PRIMARY KEY, geom geometry(Point, 4326) NOT NULL, category text NOT NULL,
			status text NOT NULL, reported_at timestamptz NOT NULL, due_at timestamptz, resolved_at timestamptz)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("peer: %s: %w", q, err)
		}
	}
	var grids [][]any
	for i, g := range plan.Grids {
		grids = append(grids, []any{i, wkt.MarshalString(g.Geometry)})
	}
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE stats_peer_stage (idx int, w text)`); err != nil {
		return fmt.Errorf("peer: stage: %w", err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"stats_peer_stage"}, []string{"idx", "w"}, pgx.CopyFromRows(grids)); err != nil {
		return fmt.Errorf("peer: copy grids: %w", err)
	}
	var cats [][]any
	for _, c := range tax.Categories {
		cats = append(cats, []any{c.Code, c.Kind, c.DeadlineHours})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"stats_peer_categories"}, []string{"code", "kind", "deadline_hours"}, pgx.CopyFromRows(cats)); err != nil {
		return fmt.Errorf("peer: copy categories: %w", err)
	}
	nullTime := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t
	}
	var evs [][]any
	for _, h := range hz {
		evs = append(evs, []any{h.FID, fmt.Sprintf("SRID=4326;POINT(%.17g %.17g)", h.Point[0], h.Point[1]), h.Category, string(h.Status),
			h.ReportedAt, nullTime(h.DueAt), nullTime(h.ResolvedAt)})
	}
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE stats_peer_ev_stage (fid bigint, w text, category text, status text,
		reported_at timestamptz, due_at timestamptz, resolved_at timestamptz)`); err != nil {
		return fmt.Errorf("peer: stage: %w", err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"stats_peer_ev_stage"}, []string{"fid", "w", "category", "status", "reported_at", "due_at", "resolved_at"},
		pgx.CopyFromRows(evs)); err != nil {
		return fmt.Errorf("peer: copy events: %w", err)
	}
	for _, q := range []string{
		`INSERT INTO stats_peer_grids SELECT idx, ST_Multi(ST_GeomFromText(w, 4326)) FROM stats_peer_stage`,
		`INSERT INTO stats_peer_events SELECT fid, ST_GeomFromEWKT(w), category, status, reported_at, due_at, resolved_at FROM stats_peer_ev_stage`,
		`CREATE INDEX ON stats_peer_grids USING gist (geom)`,
		`CREATE INDEX ON stats_peer_events USING gist (geom)`,
		// For the repeats: ST_DWithin on geography uses an index on it. A
		// b-tree on (category, resolved_at) as well made the planner AND
		// both bitmaps, at 0.2 ms an event (13 s in all): left out.
		`CREATE INDEX ON stats_peer_events USING gist ((geom::geography))`,
		`ANALYZE stats_peer_grids`, `ANALYZE stats_peer_events`, `ANALYZE stats_peer_categories`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("peer: %s: %w", q, err)
		}
	}
	return nil
}

// peerSQL is the figures of every grid and their total (the ROLLUP row) as
// one query: the same definitions as EventFigures, with counts by kind,
// category and status as columns. Distances: PostGIS's sphere has the
// mean radius (6,371,008.8 m) where orb's has the equatorial one
// (6,378,137 m), so the repeat radius is scaled to the same angle.
func peerSQL(tax *data.Taxonomy) string {
	done := `status IN ('resolved', 'verified', 'closed')`
	open := `status NOT IN ('resolved', 'verified', 'closed', 'rejected')`
	var cols []string
	for _, k := range tax.KindCodes() {
		cols = append(cols, fmt.Sprintf(`count(*) FILTER (WHERE kind = '%s')`, k))
	}
	for _, c := range tax.CategoryCodes() {
		cols = append(cols, fmt.Sprintf(`count(*) FILTER (WHERE category = '%s')`, c))
	}
	for _, st := range data.StatusNames() {
		cols = append(cols, fmt.Sprintf(`count(*) FILTER (WHERE status = '%s')`, st))
	}
	radius := RepeatRadiusM * 6371008.7714 / orb.EarthRadius
	return fmt.Sprintf(`
WITH ev AS (
  SELECT e.fid, e.category, e.status, e.reported_at, e.resolved_at, c.kind, g.idx AS grid,
         COALESCE(e.due_at, e.reported_at + make_interval(hours => c.deadline_hours)) AS due,
         EXISTS (SELECT 1 FROM stats_peer_events d
                 WHERE d.category = e.category AND d.fid <> e.fid AND d.%[1]s AND d.resolved_at IS NOT NULL
                   AND e.reported_at >= d.resolved_at AND e.reported_at <= d.resolved_at + interval '90 days'
                   AND ST_DWithin(d.geom::geography, e.geom::geography, %[3]v, false)) AS repeat
  FROM stats_peer_events e
  JOIN stats_peer_grids g ON ST_Intersects(g.geom, e.geom)
  LEFT JOIN stats_peer_categories c ON c.code = e.category
)
SELECT grid, count(*) AS reported,
  count(*) FILTER (WHERE %[2]s) AS open,
  count(*) FILTER (WHERE %[2]s AND $1 > due) AS overdue,
  count(*) FILTER (WHERE %[1]s) AS done,
  count(*) FILTER (WHERE status = 'rejected') AS rejected,
  count(*) FILTER (WHERE repeat) AS repeat,
  (count(*) FILTER (WHERE %[1]s))::float8 / NULLIF(count(*) FILTER (WHERE status <> 'rejected'), 0) AS closure_rate,
  (count(*) FILTER (WHERE %[1]s AND resolved_at IS NOT NULL AND due IS NOT NULL AND resolved_at <= due))::float8
    / NULLIF(count(*) FILTER (WHERE %[1]s AND resolved_at IS NOT NULL AND due IS NOT NULL), 0) AS on_time_rate,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - reported_at) / 3600) FILTER (WHERE %[1]s AND resolved_at IS NOT NULL) AS median_hours,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - reported_at) / 3600) FILTER (WHERE %[1]s AND resolved_at IS NOT NULL) AS p90_hours,
  %[4]s
FROM ev
GROUP BY ROLLUP (grid)`, done, open, radius, strings.Join(cols, ",\n  "))
}

// peerTotal is the total row of the peer's answer.
type peerTotal struct {
	reported, open, overdue, done, rejected, repeat int
	closure, onTime, median, p90                    float64
}

// runPeer runs the peer's query and reads every row, keeping the total.
func runPeer(ctx context.Context, conn *pgx.Conn, sql string) (int, peerTotal, error) {
	rows, err := conn.Query(ctx, sql, countyNow)
	if err != nil {
		return 0, peerTotal{}, fmt.Errorf("peer query: %w", err)
	}
	defer rows.Close()
	var n int
	var total peerTotal
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return 0, total, fmt.Errorf("peer row: %w", err)
		}
		n++
		if vals[0] != nil {
			continue
		}
		i := func(k int) int { return int(vals[k].(int64)) }
		f := func(k int) float64 {
			if vals[k] == nil {
				return math.NaN()
			}
			return vals[k].(float64)
		}
		total = peerTotal{reported: i(1), open: i(2), overdue: i(3), done: i(4), rejected: i(5), repeat: i(6),
			closure: f(7), onTime: f(8), median: f(9), p90: f(10)}
	}
	return n, total, rows.Err()
}
