package live_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/live"
)

// Montevideo's bound. 60,000 hazards are seeded in it, and n hazards in a
// square of n/60,000 such bounds growing east and south from it: a province
// of cities as dense as this one, as issue "One truth" measured
// (960,000 hazards over 16 Montevideos).
var montevideo = orb.Bound{Min: orb.Point{-56.43, -34.94}, Max: orb.Point{-56.02, -34.70}}

// seedBound is where n hazards are seeded.
func seedBound(n int) orb.Bound {
	k := math.Sqrt(float64(n) / 60_000)
	w, h := montevideo.Max[0]-montevideo.Min[0], montevideo.Max[1]-montevideo.Min[1]
	return orb.Bound{Min: orb.Point{montevideo.Min[0], montevideo.Max[1] - k*h}, Max: orb.Point{montevideo.Min[0] + k*w, montevideo.Max[1]}}
}

// benchService is a service over a GeoPackage holding n seeded hazards.
func benchService(b *testing.B, n int) (*live.Service, data.Store) {
	return benchServiceCache(b, n, 0)
}

// benchServiceCache is benchService with a tile cache of cacheBytes
// (negative: none).
func benchServiceCache(b *testing.B, n, cacheBytes int) (*live.Service, data.Store) {
	b.Helper()
	ctx := context.Background()
	store, err := gpkg.Open(ctx, filepath.Join(b.TempDir(), "bench.gpkg"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	tx, err := store.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	area := seedBound(n)
	categories := data.DefaultTaxonomy().CategoryCodes()
	for i := range n {
		h := data.Hazard{ID: fmt.Sprintf("seed/%d", i), Point: randomPoint(rng, area), Category: categories[i%len(categories)],
			Severity: 1 + i%3, Status: data.StatusReported, ReportedAt: at.Add(time.Duration(i) * time.Minute)}
		if _, err := tx.AddHazard(ctx, h); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	svc := live.New(live.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TileCacheBytes: cacheBytes})
	if err := svc.Load(ctx); err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	b.Cleanup(cancel)
	go svc.Run(runCtx)
	return svc, store
}

func randomPoint(rng *rand.Rand, b orb.Bound) orb.Point {
	return orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
}

// benchHazard is the i-th hazard a benchmark writes.
func benchHazard(i int, p orb.Point) data.Hazard {
	return data.Hazard{ID: fmt.Sprintf("bench/%d", i), Point: p, Category: "fire", Severity: 2, Status: data.StatusReported,
		ReportedAt: time.Now().UTC().Truncate(time.Millisecond)}
}

var benchSizes = []int{60_000, 960_000}

// BenchmarkWrite is one hazard created through the service ("live": the
// audited transaction, the feed, and the wait until every view shows it)
// and, as its floor, the same audited transaction straight on the store
// ("store": no view to update).
func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	for _, n := range benchSizes {
		for _, path := range []struct {
			name  string
			write func(svc *live.Service, store data.Store, h data.Hazard) error
		}{
			{"live", func(svc *live.Service, _ data.Store, h data.Hazard) error {
				_, err := svc.CreateHazard(ctx, "bench", h)
				return err
			}},
			{"store", func(_ *live.Service, store data.Store, h data.Hazard) error {
				_, err := data.Audited(ctx, store, "bench", func(tx data.Tx) ([]data.AuditEntry, error) {
					_, err := tx.AddHazard(ctx, h)
					return []data.AuditEntry{{Action: "hazard.create"}}, err
				})
				return err
			}},
		} {
			b.Run(fmt.Sprintf("%s/hazards=%d", path.name, n), func(b *testing.B) {
				svc, store := benchService(b, n)
				rng := rand.New(rand.NewPCG(2, 2))
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if err := path.write(svc, store, benchHazard(i, randomPoint(rng, montevideo))); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkTileAfterWrite is the first request of a cached z14 tile after
// a write that changed it: the write is not timed, the tile is (reported as
// tile-ms, with its p99 over the run).
func BenchmarkTileAfterWrite(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("hazards=%d", n), func(b *testing.B) {
			svc, _ := benchService(b, n)
			ctx := context.Background()
			layers := []string{"hazards"}
			centre := montevideo.Center()
			tile := maptile.At(centre, 14)
			if _, err := svc.Tile(ctx, layers, tile); err != nil {
				b.Fatal(err)
			}
			var took []time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				if _, err := svc.CreateHazard(ctx, "bench", benchHazard(i, orb.Point{centre[0] + float64(i%100)*1e-6, centre[1]})); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				if _, err := svc.Tile(ctx, layers, tile); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkTileRender is the floor of BenchmarkTileAfterWrite: the same
// tile rendered with no cache and no write before it.
func BenchmarkTileRender(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("hazards=%d", n), func(b *testing.B) {
			svc, _ := benchServiceCache(b, n, -1)
			tile := maptile.At(montevideo.Center(), 14)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := svc.Tile(context.Background(), []string{"hazards"}, tile); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
