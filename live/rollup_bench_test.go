package live

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/tiles"
)

// Rollups over five years of a county's events (60,000 a year, 2021–2025,
// 300,000 in all), judged on 2026-01-15:
//
//   - a county of 300 grids (20 × 15 squares of 0.01°) in 10 streets of 3
//     communities;
//   - a city of 5,000 grids (100 × 50 squares of 0.005°, about 42 km ×
//     28 km) in 20 streets of 10 communities.
//
// The assignment (every event located, repeats found) is what the first
// request after a change pays; the rollups what every request pays.

// rollupArea is a tree of streets (columns of grids) and communities (row
// bands of a street) over a lattice of cols × rows grids of step degrees:
// its areas and plan.
func rollupArea(lon0, lat0, step float64, cols, rows, streets, bands int) ([]data.Area, data.Plan) {
	var areas []data.Area
	colsPer, rowsPer := cols/streets, rows/bands
	for s := range streets {
		x0, x1 := lon0+float64(s*colsPer)*step, lon0+float64((s+1)*colsPer)*step
		street := fmt.Sprintf("S%02d", s)
		areas = append(areas, data.Area{Code: street, Name: street, Level: 1, Geometry: statsBox(x0, lat0, x1, lat0+float64(rows)*step)})
		for b := range bands {
			y0, y1 := lat0+float64(b*rowsPer)*step, lat0+float64((b+1)*rowsPer)*step
			areas = append(areas, data.Area{Code: fmt.Sprintf("%sC%02d", street, b), Name: "community", Level: 2, ParentCode: street,
				Geometry: statsBox(x0, y0, x1, y1)})
		}
	}
	plan := data.Plan{Target: 300, Resolution: 10}
	for r := range rows {
		for c := range cols {
			x, y := lon0+float64(c)*step, lat0+float64(r)*step
			parent := fmt.Sprintf("S%02dC%02d", c/colsPer, r/rowsPer)
			plan.Grids = append(plan.Grids, data.Grid{FID: int64(len(plan.Grids) + 1), Code: fmt.Sprintf("%s%04d", parent, len(plan.Grids)),
				Name: "grid", ParentCode: parent, Households: 300, Geometry: statsBox(x, y, x+step, y+step)})
		}
	}
	return areas, plan
}

// yearsOfEvents returns perYear seeded events a year for the years given,
// as countyEventsOf makes one year's, over the bound [lon0, lon0+w) ×
// [lat0, lat0+h), with FIDs from 1.
func yearsOfEvents(perYear int, years []int, lon0, lat0, w, h float64, tax *data.Taxonomy) []data.Hazard {
	var out []data.Hazard
	for _, year := range years {
		rng := rand.New(rand.NewPCG(uint64(year), 60))
		var hot []orb.Point
		for range 200 {
			hot = append(hot, orb.Point{lon0 + 0.01 + rng.Float64()*(w-0.02), lat0 + 0.01 + rng.Float64()*(h-0.02)})
		}
		cats := tax.Categories
		open := []data.Status{data.StatusReported, data.StatusAccepted, data.StatusAssigned, data.StatusInProgress, data.StatusEscalated, data.StatusReopened}
		t0 := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range perYear {
			var p orb.Point
			if rng.IntN(2) == 0 {
				c := hot[rng.IntN(len(hot))]
				p = orb.Point{c[0] + rng.NormFloat64()*0.00176, c[1] + rng.NormFloat64()*0.00135}
			} else {
				p = orb.Point{lon0 + rng.Float64()*w, lat0 + rng.Float64()*h}
			}
			p[0] = math.Min(math.Max(p[0], lon0+1e-6), lon0+w-1e-6)
			p[1] = math.Min(math.Max(p[1], lat0+1e-6), lat0+h-1e-6)
			cat := cats[rng.IntN(len(cats))]
			reported := t0.Add(time.Duration(rng.IntN(365*24*60)) * time.Minute)
			ev := data.Hazard{FID: int64(len(out) + 1), ID: fmt.Sprintf("%d/%d", year, i), Point: p, Category: cat.Code, Severity: cat.Severity,
				Status: open[rng.IntN(len(open))], ReportedAt: reported}
			if rng.IntN(5) > 0 {
				ev.DueAt = reported.Add(cat.Deadline())
			}
			toClose := time.Duration(math.Exp(math.Log(30)+rng.NormFloat64()) * float64(time.Hour)).Truncate(time.Second)
			switch u := rng.Float64(); {
			case u < 0.04:
				ev.Status = data.StatusRejected
			case u < 0.10:
			case reported.Add(toClose).Before(countyNow):
				ev.Status = []data.Status{data.StatusClosed, data.StatusClosed, data.StatusClosed, data.StatusVerified, data.StatusResolved}[rng.IntN(5)]
				if rng.IntN(100) >= 3 {
					ev.ResolvedAt = reported.Add(toClose)
				}
			}
			out = append(out, ev)
		}
	}
	return out
}

var fiveYears = []int{2021, 2022, 2023, 2024, 2025}

// BenchmarkRollups times GridAssignment.Rollup (GET /v1/stats without its
// JSON) over 300,000 events, on the county and on the city; assign+ is
// the assignment plus the rollup (the first request after a change);
// postgis-sql is the peer: the county's rollup by street and month, with
// the month before, as one SQL query over the same rows (WANGGE_TEST_PG).
func BenchmarkRollups(b *testing.B) {
	tax := data.DefaultTaxonomy()
	since, until := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, place := range []struct {
		name                 string
		step                 float64
		cols, rows, st, band int
	}{
		{"county", 0.01, 20, 15, 10, 3},
		{"city", 0.005, 100, 50, 20, 10},
	} {
		areaList, plan := rollupArea(countyLon0, countyLat0, place.step, place.cols, place.rows, place.st, place.band)
		w, h := float64(place.cols)*place.step, float64(place.rows)*place.step
		hz := yearsOfEvents(countyEvents, fiveYears, countyLon0, countyLat0, w, h, tax)
		pp, err := NewPlan(plan)
		if err != nil {
			b.Fatal(err)
		}
		areas, err := NewAreas(areaList)
		if err != nil {
			b.Fatal(err)
		}
		a := assignList(pp, hz)
		q := func(level int, period Period, cat bool) RollupQuery {
			return RollupQuery{Now: countyNow, Taxonomy: tax, Level: level, ByArea: true, ByCategory: cat, Period: period, Since: since, Until: until}
		}
		r, err := a.Rollup(q(0, PeriodNone, false), areas)
		if err != nil {
			b.Fatal(err)
		}
		t := r.Rows[0].Figures
		b.Logf("%s: %d grids, %d events; reported %d, closed %d, open %d, overdue %d, rejected %d, repeat %d; closure %.4f, on time %.4f, median %.2f h, p90 %.2f h",
			place.name, len(plan.Grids), len(hz), t.Reported, t.Closed, t.Open, t.Overdue, t.Rejected, t.Repeat,
			*t.ClosureRate, *t.OnTimeRate, *t.MedianHoursToClose, *t.P90HoursToClose)
		for _, c := range []struct {
			name   string
			q      RollupQuery
			assign bool
		}{
			{"level0", q(0, PeriodNone, false), false},
			{"level1", q(1, PeriodNone, false), false},
			{"level2", q(2, PeriodNone, false), false},
			{"level1-month", q(1, PeriodMonth, false), false},
			{"level2-month", q(2, PeriodMonth, false), false},
			{"level0-category-month", q(0, PeriodMonth, true), false},
			{"assign+level1", q(1, PeriodNone, false), true},
		} {
			b.Run(place.name+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				var rows int
				for range b.N {
					aa := a
					if c.assign {
						aa = assignList(pp, hz)
					}
					r, err := aa.Rollup(c.q, areas)
					if err != nil {
						b.Fatal(err)
					}
					rows = len(r.Rows)
				}
				b.ReportMetric(float64(rows), "rows")
			})
		}
		if place.name != "county" {
			continue
		}
		b.Run("county/postgis-sql-level1-month", func(b *testing.B) {
			url := os.Getenv("WANGGE_TEST_PG")
			if url == "" {
				b.Skip("WANGGE_TEST_PG not set: run under scripts/testdb.sh for the PostGIS peer")
			}
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				b.Fatalf("connect to WANGGE_TEST_PG: %v", err)
			}
			defer conn.Close(ctx)
			if err := loadPeer(ctx, conn, plan, tax, hz); err != nil {
				b.Fatal(err)
			}
			if err := loadRollupPeer(ctx, conn, plan); err != nil {
				b.Fatal(err)
			}
			sql := rollupPeerSQL()
			var got map[[2]string][7]float64
			b.ResetTimer()
			for range b.N {
				if got, err = runRollupPeer(ctx, conn, sql); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// The peer must compute what we do.
			want, err := a.Rollup(q(1, PeriodMonth, false), areas)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for _, row := range want.Rows {
				f := row.Figures
				if f.Reported == 0 {
					continue
				}
				n++
				key := [2]string{want.Units[row.Unit].Code, want.Periods[row.Period].Label}
				g, ok := got[key]
				prev := 0.0
				if row.Previous != nil {
					prev = float64(row.Previous.Reported)
				}
				if !ok || g[0] != float64(f.Reported) || g[1] != float64(f.Closed) || g[2] != float64(f.Open) || g[3] != float64(f.Overdue) ||
					g[4] != float64(f.Repeat) || math.Abs(g[5]-*f.MedianHoursToClose) > 1e-6 || g[6] != prev {
					b.Errorf("%v: the peer has %v, we have %+v (previous reported %v)", key, g, f, prev)
					break
				}
			}
			if n != len(got) {
				b.Errorf("the peer has %d rows with events, we have %d", len(got), n)
			}
			b.ReportMetric(float64(len(got)), "rows")
		})
	}
}

// loadRollupPeer adds the grids' streets to the peer's tables (loadPeer).
func loadRollupPeer(ctx context.Context, conn *pgx.Conn, plan data.Plan) error {
	if _, err := conn.Exec(ctx, `DROP TABLE IF EXISTS rollup_peer_units; CREATE TABLE rollup_peer_units (idx int PRIMARY KEY, street text NOT NULL)`); err != nil {
		return fmt.Errorf("peer: %w", err)
	}
	var rows [][]any
	for i, g := range plan.Grids {
		rows = append(rows, []any{i, g.ParentCode[:3]})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"rollup_peer_units"}, []string{"idx", "street"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("peer: copy units: %w", err)
	}
	_, err := conn.Exec(ctx, `ANALYZE rollup_peer_units`)
	return err
}

// rollupPeerSQL is the rollup by street and month (UTC) as one query: the
// events joined to their grid and street, judged as peerSQL judges them,
// counted per street and month, with the month before beside each.
func rollupPeerSQL() string {
	done := `status IN ('resolved', 'verified', 'closed')`
	open := `status NOT IN ('resolved', 'verified', 'closed', 'rejected')`
	radius := RepeatRadiusM * 6371008.7714 / orb.EarthRadius
	return fmt.Sprintf(`
WITH ev AS (
  SELECT e.status, e.reported_at, e.resolved_at, u.street,
         date_trunc('month', e.reported_at AT TIME ZONE 'UTC') AS month,
         COALESCE(e.due_at, e.reported_at + make_interval(hours => c.deadline_hours)) AS due,
         EXISTS (SELECT 1 FROM stats_peer_events d
                 WHERE d.category = e.category AND d.fid <> e.fid AND d.%[1]s AND d.resolved_at IS NOT NULL
                   AND e.reported_at >= d.resolved_at AND e.reported_at <= d.resolved_at + interval '90 days'
                   AND ST_DWithin(d.geom::geography, e.geom::geography, %[3]v, false)) AS repeat
  FROM stats_peer_events e
  JOIN stats_peer_grids g ON ST_Intersects(g.geom, e.geom)
  JOIN rollup_peer_units u ON u.idx = g.idx
  LEFT JOIN stats_peer_categories c ON c.code = e.category
  WHERE e.reported_at >= '2021-01-01' AND e.reported_at < '2026-01-01'
), agg AS (
  SELECT street, month, count(*) AS reported,
    count(*) FILTER (WHERE %[1]s) AS closed,
    count(*) FILTER (WHERE %[2]s) AS open,
    count(*) FILTER (WHERE %[2]s AND $1 > due) AS overdue,
    count(*) FILTER (WHERE status = 'rejected') AS rejected,
    count(*) FILTER (WHERE repeat) AS repeat,
    (count(*) FILTER (WHERE %[1]s))::float8 / NULLIF(count(*) FILTER (WHERE status <> 'rejected'), 0) AS closure_rate,
    (count(*) FILTER (WHERE %[1]s AND resolved_at IS NOT NULL AND due IS NOT NULL AND resolved_at <= due))::float8
      / NULLIF(count(*) FILTER (WHERE %[1]s AND resolved_at IS NOT NULL AND due IS NOT NULL), 0) AS on_time_rate,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - reported_at) / 3600) FILTER (WHERE %[1]s AND resolved_at IS NOT NULL) AS median_hours,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - reported_at) / 3600) FILTER (WHERE %[1]s AND resolved_at IS NOT NULL) AS p90_hours
  FROM ev GROUP BY street, month
)
SELECT a.street, to_char(a.month, 'YYYY-MM'), a.reported, a.closed, a.open, a.overdue, a.repeat, a.median_hours,
       COALESCE(p.reported, 0) AS previous_reported, a.closure_rate, a.on_time_rate, a.p90_hours
FROM agg a LEFT JOIN agg p ON p.street = a.street AND p.month = a.month - interval '1 month'
ORDER BY a.street, a.month`, done, open, radius)
}

// runRollupPeer runs the peer's query and returns, by street and month:
// reported, closed, open, overdue, repeat, median hours, the month
// before's reported.
func runRollupPeer(ctx context.Context, conn *pgx.Conn, sql string) (map[[2]string][7]float64, error) {
	rows, err := conn.Query(ctx, sql, countyNow)
	if err != nil {
		return nil, fmt.Errorf("peer query: %w", err)
	}
	defer rows.Close()
	out := map[[2]string][7]float64{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, fmt.Errorf("peer row: %w", err)
		}
		var v [7]float64
		for k := range 7 {
			switch x := vals[k+2].(type) {
			case int64:
				v[k] = float64(x)
			case float64:
				v[k] = x
			case nil:
				v[k] = math.NaN()
			}
		}
		out[[2]string{vals[0].(string), vals[1].(string)}] = v
	}
	return out, rows.Err()
}

// BenchmarkRisk times one computation of the grids' risk with the default
// rules on the county (no cameras, so no coverage): what the risk worker
// does after each batch of changes, and what a grid tile waits for when it
// asks before the worker is done. 1y is 60,000 events (2025), 5y 300,000;
// the hotspot window is 365 days either way.
func BenchmarkRisk(b *testing.B) {
	tax := data.DefaultTaxonomy()
	areaList, plan := rollupArea(countyLon0, countyLat0, 0.01, 20, 15, 10, 3)
	pp, err := NewPlan(plan)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		years []int
	}{{"county-1y", []int{2025}}, {"county-5y", fiveYears}} {
		hz := yearsOfEvents(countyEvents, c.years, countyLon0, countyLat0, 0.2, 0.15, tax)
		svc := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Taxonomy: tax})
		sc := &tiles.Scene{Hazards: tiles.HazardPoints(hz), Study: tiles.NewStudy(studyArea(areaList, pp))}
		k := riskKey{plan: pp, at: countyNow}
		ctx := context.Background()
		r, err := svc.computeRisk(ctx, k, sc) // the plan's cells, once
		if err != nil {
			b.Fatal(err)
		}
		count := map[string]int{}
		for _, g := range r.Grids {
			count[r.Rules.Levels[g.Level].Code]++
		}
		b.Logf("%s: %d events, levels %v", c.name, len(hz), count)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := svc.computeRisk(ctx, k, sc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
