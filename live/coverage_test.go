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

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
)

// randomCamera is a camera somewhere over statsPlan's two grids and a
// little beyond, of 10–300 m, online three times in four.
func randomCamera(rng *rand.Rand, id string) data.Camera {
	status := "online"
	if rng.IntN(4) == 0 {
		status = "offline"
	}
	return data.Camera{ID: id,
		Point:   orb.Point{statsLon0 - 0.002 + rng.Float64()*(2*statsStep+0.004), statsLat0 - 0.002 + rng.Float64()*(statsStep+0.004)},
		Azimuth: rng.Float64() * 359, FOV: 10 + rng.Float64()*350, RangeM: 10 + rng.Float64()*290, Status: status}
}

// TestCoverageIncremental changes cameras one or a few at a time (create,
// move, turn, switch off and on, delete) from another handle on the store
// and checks after each step that the coverage the service derives from
// the previous one, by recomputing only where the cameras touched, is the
// coverage computed whole.
func TestCoverageIncremental(t *testing.T) {
	ctx := context.Background()
	svc, other := statsService(t, nil, statsPlan(), nil)
	rng := rand.New(rand.NewPCG(20, 4))
	var fids []int64
	covCommit(t, other, func(ctx context.Context, tx data.Tx) error {
		for i := range 3000 {
			p := orb.Point{statsLon0 + rng.Float64()*2*statsStep, statsLat0 + rng.Float64()*statsStep}
			if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("h%d", i), Point: p, Households: 1 + rng.IntN(9)}); err != nil {
				return err
			}
		}
		for i := range 40 {
			fid, err := tx.AddCamera(ctx, randomCamera(rng, fmt.Sprintf("c%d", i)))
			if err != nil {
				return err
			}
			fids = append(fids, fid)
		}
		return nil
	})
	cameras := func() int { n := 0; svc.EachCamera(func(data.Camera) { n++ }); return n }
	covEventually(t, "40 cameras", func() bool { return cameras() == 40 })
	first, err := svc.Coverage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Incremental || first.Total(nil).Households == 0 || first.Online == 0 {
		t.Fatalf("first coverage: incremental %v, %+v, %d online", first.Incremental, first.Total(nil), first.Online)
	}
	next := 40
	for step := range 40 {
		gen := svc.CameraGen()
		what := ""
		covCommit(t, other, func(ctx context.Context, tx data.Tx) error {
			for range 1 + rng.IntN(3) {
				i := rng.IntN(len(fids))
				switch op := rng.IntN(5); {
				case op == 0: // a new camera
					fid, err := tx.AddCamera(ctx, randomCamera(rng, fmt.Sprintf("c%d", next)))
					if err != nil {
						return err
					}
					next++
					fids = append(fids, fid)
					what += " create"
				case op == 1 && len(fids) > 5: // deleted
					if err := tx.Delete(ctx, data.LayerCameras, fids[i]); err != nil {
						return err
					}
					fids = append(fids[:i], fids[i+1:]...)
					what += " delete"
				default: // moved, turned, switched
					c, err := tx.CameraForUpdate(ctx, fids[i])
					if err != nil {
						return err
					}
					n := randomCamera(rng, c.ID)
					switch op {
					case 2:
						c.Point = n.Point
					case 3:
						c.Azimuth, c.FOV, c.RangeM = n.Azimuth, n.FOV, n.RangeM
					default:
						c.Status = map[string]string{"online": "offline", "offline": "online"}[c.Status]
					}
					if err := tx.UpdateCamera(ctx, c); err != nil {
						return err
					}
					what += fmt.Sprintf(" update%d", op)
				}
			}
			return nil
		})
		covEventually(t, "the change", func() bool { return svc.CameraGen() != gen })
		got, err := svc.Coverage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Incremental {
			t.Fatalf("step %d (%s): computed whole, want incremental", step, what)
		}
		want, err := svc.computeCoverage(ctx, got.Plan, got.gens, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Online != want.Online {
			t.Fatalf("step %d (%s): %d online, want %d", step, what, got.Online, want.Online)
		}
		for i := range want.Grids {
			g, w := got.Grids[i], want.Grids[i]
			// Areas are sums of cells in another order: equal to the m².
			if math.Abs(g.CoveredM2-w.CoveredM2) > 1 || math.Abs(g.AreaShare-w.AreaShare) > 1e-4 {
				t.Errorf("step %d (%s) grid %s: covered %v m² (%v), want %v m² (%v)", step, what, w.Code, g.CoveredM2, g.AreaShare, w.CoveredM2, w.AreaShare)
			}
			g.CoveredM2, g.AreaShare = w.CoveredM2, w.AreaShare
			if g != w {
				t.Errorf("step %d (%s) grid %s:\n got %+v\nwant %+v", step, what, w.Code, g, w)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

func covCommit(t *testing.T, s data.Store, fn func(ctx context.Context, tx data.Tx) error) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := fn(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func covEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within 5 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkCoverageProvince computes the whole coverage of the GeoPackage
// named by WANGGE_PROVINCE (bench/province.sh's province.gpkg: 16×
// Montevideo, 3.29M household points, 32,000 cameras, 10,976 grids); it is
// skipped without it. The file is opened for reading only by this process
// but SQLite may write its WAL beside it: pass a copy.
func BenchmarkCoverageProvince(b *testing.B) {
	path := os.Getenv("WANGGE_PROVINCE")
	if path == "" {
		b.Skip("WANGGE_PROVINCE is not set: run bench/province.sh and pass a copy of its province.gpkg")
	}
	ctx := context.Background()
	store, err := gpkg.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	svc := New(Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := svc.Load(ctx); err != nil {
		b.Fatal(err)
	}
	pp := svc.Published()
	if pp == nil {
		b.Fatal("no published plan")
	}
	gens := [2]uint64{svc.CameraGen(), svc.HouseholdGen()}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.computeCoverage(ctx, pp, gens, nil); err != nil {
			b.Fatal(err)
		}
	}
}
