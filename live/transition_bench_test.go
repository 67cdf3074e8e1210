package live_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/data/postgis"
	"github.com/wangge/wangge/data/storetest"
	"github.com/wangge/wangge/live"
)

// transitionCycle is the moves a benchmark makes, over and over, on one
// event: handled, resolved, reopened (all a planner's to make).
var transitionCycle = []data.Status{data.StatusResolved, data.StatusReopened, data.StatusInProgress}

// BenchmarkEventTransition is one move of an event (issue "Grid workers
// and the event loop": transition latency), on a store holding 60,000
// events, the size of a county's year:
//
//   - live: through the service, as PATCH does: the row held, If-Match,
//     the state machine, the history step and the audit entry in one
//     transaction, then the wait until this replica's views show it;
//   - store: the same transaction straight on the store, no views (the
//     floor of live);
//   - sql (PostGIS only), the peer: PostgreSQL doing the same writes with
//     no application at all: SELECT … FOR UPDATE, UPDATE of the event,
//     INSERT of the history row and the audit row, in one transaction
//     over one connection.
//
// PostGIS runs under scripts/testdb.sh (WANGGE_TEST_PG); without it only
// the GeoPackage is measured.
func BenchmarkEventTransition(b *testing.B) {
	const n = 60_000
	for _, kind := range []string{"gpkg", "postgis"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			store, url := transitionStore(b, kind)
			fid := seedEvents(b, store, n)
			svc := live.New(live.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err := svc.Load(ctx); err != nil {
				b.Fatal(err)
			}
			runCtx, cancel := context.WithCancel(ctx)
			b.Cleanup(cancel)
			go svc.Run(runCtx)
			who := live.Who{Actor: "bench", Role: data.RolePlanner}
			// The event's next move: kept across the sub-benchmarks, and
			// across the runs of each, as the event stays where the last
			// move left it.
			step := 0
			next := func() data.Status { step++; return transitionCycle[(step-1)%3] }

			b.Run("live", func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					if _, err := svc.UpdateEvent(ctx, who, fid, "", nil, &live.Move{To: next(), Note: "bench"}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("store", func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					to := next()
					_, err := data.Audited(ctx, store, "bench", func(tx data.Tx) ([]data.AuditEntry, error) {
						h, err := tx.HazardForUpdate(ctx, fid)
						if err != nil {
							return nil, err
						}
						if err := data.CheckTransition(data.RolePlanner, h.Status, to, false); err != nil {
							return nil, err
						}
						from := h.Status
						h.Status = to
						if err := tx.UpdateHazard(ctx, h); err != nil {
							return nil, err
						}
						_, err = tx.AddEventStep(ctx, data.EventStep{FID: fid, At: time.Now(), Actor: "bench", From: from, To: to, Note: "bench"})
						return []data.AuditEntry{{Action: "hazard." + string(to), Target: fmt.Sprintf("hazards/%d", fid)}}, err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			if kind != "postgis" {
				return
			}
			b.Run("sql", func(b *testing.B) {
				conn, err := pgx.Connect(ctx, url)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Close(ctx)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					to := string(next())
					err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
						var from string
						if err := tx.QueryRow(ctx, `SELECT status FROM hazards WHERE fid = $1 FOR UPDATE`, fid).Scan(&from); err != nil {
							return err
						}
						if _, err := tx.Exec(ctx, `UPDATE hazards SET status = $1 WHERE fid = $2`, to, fid); err != nil {
							return err
						}
						if _, err := tx.Exec(ctx, `INSERT INTO wangge_event_history (hazard_fid, at, actor, from_status, to_status, note) VALUES ($1, now(), 'bench', $2, $3, 'bench')`, fid, from, to); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, `INSERT INTO wangge_audit (at, actor, action, target) VALUES (now(), 'bench', $1, $2)`, "hazard."+to, fmt.Sprintf("hazards/%d", fid))
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// transitionStore opens an empty store of kind: a GeoPackage in a
// temporary directory, or a fresh schema of WANGGE_TEST_PG, whose URL it
// returns for the sql peer.
func transitionStore(b *testing.B, kind string) (data.Store, string) {
	ctx := context.Background()
	var store data.Store
	var url string
	var err error
	switch kind {
	case "gpkg":
		store, err = gpkg.Open(ctx, filepath.Join(b.TempDir(), "bench.gpkg"))
	default:
		if os.Getenv("WANGGE_TEST_PG") == "" {
			b.Skip("WANGGE_TEST_PG not set: run under scripts/testdb.sh for PostGIS and its peer")
		}
		url = storetest.PostgresSchema(b)
		store, err = postgis.Open(ctx, url)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return store, url
}

// seedEvents stores n events spread over Montevideo and a year, and
// returns the fid of one in progress for the benchmark to move.
func seedEvents(b *testing.B, store data.Store, n int) int64 {
	ctx := context.Background()
	tx, err := store.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	rng := rand.New(rand.NewPCG(7, 7))
	cats := data.DefaultTaxonomy().CategoryCodes()
	statuses := data.Statuses()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var fid int64
	for i := range n {
		h := data.Hazard{ID: fmt.Sprintf("seed/%d", i), Point: randomPoint(rng, montevideo), Category: cats[i%len(cats)], Severity: 1 + i%3,
			Status: statuses[i%len(statuses)], ReportedAt: start.Add(time.Duration(i) * 525 * time.Second)}
		if i == n/2 {
			h.Status = data.StatusInProgress
		}
		id, err := tx.AddHazard(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		if i == n/2 {
			fid = id
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return fid
}
