package live

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
	"github.com/wangge/wangge/spatial"
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
	hgen := svc.HouseholdGen()
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
	// The household points counted too: the service computed the coverage
	// when it started, before they were written.
	covEventually(t, "40 cameras and the household points", func() bool { return cameras() == 40 && svc.HouseholdGen() != hgen })
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
// skipped without it. "whole" is the first computation (the household
// points read from the store), "read" that read alone, "update" the
// coverage after one camera turned (updateCoverage). cpu-ms/op is the
// process's CPU time, steadier than the wall time on a shared machine.
// SQLite may write the file's WAL: pass a copy.
func BenchmarkCoverageProvince(b *testing.B) {
	path := os.Getenv("WANGGE_PROVINCE")
	if path == "" {
		b.Skip("WANGGE_PROVINCE is not set: run bench/province.sh and pass a copy of its province.gpkg")
	}
	// Cancellable, as the server's contexts are: the SQLite driver then
	// watches it on every row.
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
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
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var prev *Coverage // "update": one camera turned, from it
	var cam data.Camera
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"whole", func() error { _, err := svc.computeCoverage(ctx, pp, gens, nil); return err }},
		{"read", func() error { _, err := svc.householdPoints(ctx); return err }},
		{"update", func() error {
			if prev == nil {
				var err error
				if prev, err = svc.computeCoverage(ctx, pp, gens, nil); err != nil {
					return err
				}
				svc.EachCamera(func(c data.Camera) {
					if cam.ID == "" && c.Status == "online" {
						cam = c
					}
				})
			}
			turned := cam
			turned.Azimuth = math.Mod(cam.Azimuth+40, 360)
			if _, ok := svc.updateCoverage(ctx, prev, []camChange{{old: &cam, new: &turned}}, gens); !ok {
				return fmt.Errorf("camera %s: not updated", cam.ID)
			}
			return nil
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.name == "update" && prev == nil {
				if err := bc.run(); err != nil { // the whole coverage it starts from
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			runtime.GC()
			c0 := cpu()
			for b.Loop() {
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpu()-c0).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// TestCoverageReference checks the whole computation, on 1 to 7 workers,
// against a plain one: every household point located and tested against
// every online camera, every raster cell's centre tested against every
// sector and located. The cameras reach across the two grids' common
// boundary and beyond the plan, some are full circles, some offline; some
// household points lie outside every grid.
func TestCoverageReference(t *testing.T) {
	ctx := context.Background()
	svc, other := statsService(t, nil, statsPlan(), nil)
	rng := rand.New(rand.NewPCG(7, 31))
	covCommit(t, other, func(ctx context.Context, tx data.Tx) error {
		for i := range 4000 {
			p := orb.Point{statsLon0 - 0.001 + rng.Float64()*(2*statsStep+0.002), statsLat0 - 0.001 + rng.Float64()*(statsStep+0.002)}
			if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("h%d", i), Point: p, Households: 1 + rng.IntN(9)}); err != nil {
				return err
			}
		}
		for i := range 120 {
			c := randomCamera(rng, fmt.Sprintf("c%d", i))
			if i%10 == 0 {
				c.FOV = 360
			}
			if _, err := tx.AddCamera(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	covEventually(t, "120 cameras", func() bool { n := 0; svc.EachCamera(func(data.Camera) { n++ }); return n == 120 })
	pp := svc.Published()
	gens := [2]uint64{svc.CameraGen(), svc.HouseholdGen()}

	// The plain computation.
	var secs []spatial.PreparedSector
	cams := make([]int, len(pp.Plan.Grids))
	svc.EachCamera(func(c data.Camera) {
		if c.Status == "online" {
			secs = append(secs, spatial.PrepareSector(c.Point, c.Azimuth, c.FOV, c.RangeM))
			if gi, ok := pp.Locator.Locate(c.Point); ok {
				cams[gi]++
			}
		}
	})
	in := func(x, y float64) bool {
		for i := range secs {
			if secs[i].ContainsXY(x, y) {
				return true
			}
		}
		return false
	}
	households, covered := make([]int, len(pp.Plan.Grids)), make([]int, len(pp.Plan.Grids))
	outside := 0
	if err := svc.store.EachHousehold(ctx, func(h data.Household) error {
		gi, ok := pp.Locator.Locate(h.Point)
		if !ok {
			outside++
			return nil
		}
		households[gi] += h.Households
		if in(h.Point[0], h.Point[1]) {
			covered[gi] += h.Households
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if outside == 0 {
		t.Fatal("no household point outside the grids: the test does not exercise them")
	}
	r := spatial.NewRaster(pp.Locator.Bound(), coverageCellM, maxCoverageCells)
	_, nx1, _, ny1 := r.Cells(orb.Bound{Min: orb.Point{-360, -180}, Max: orb.Point{360, 180}})
	coveredM2 := make([]float64, len(pp.Plan.Grids))
	for row := 0; row <= ny1; row++ {
		for col := 0; col <= nx1; col++ {
			x, y := r.CellCentre(col, row)
			if !in(x, y) {
				continue
			}
			if gi, ok := pp.Locator.Locate(orb.Point{x, y}); ok {
				coveredM2[gi] += r.CellM2(row)
			}
		}
	}

	for _, workers := range []int{1, 2, 3, 7} {
		got, err := svc.computeCoverageOn(ctx, pp, gens, nil, workers)
		if err != nil {
			t.Fatal(err)
		}
		if got.Online != len(secs) {
			t.Errorf("%d workers: %d online, want %d", workers, got.Online, len(secs))
		}
		for gi, g := range got.Grids {
			if g.Households != households[gi] || g.HouseholdsCovered != covered[gi] || g.CamerasOnline != cams[gi] {
				t.Errorf("%d workers, grid %s: %d households, %d covered, %d cameras; want %d, %d, %d",
					workers, g.Code, g.Households, g.HouseholdsCovered, g.CamerasOnline, households[gi], covered[gi], cams[gi])
			}
			if want := math.Round(coveredM2[gi]); math.Abs(g.CoveredM2-want) > 1 {
				t.Errorf("%d workers, grid %s: covered %v m², want %v m²", workers, g.Code, g.CoveredM2, want)
			}
		}
		if covered[0] == 0 || covered[1] == 0 || coveredM2[0] == 0 || coveredM2[1] == 0 {
			t.Fatalf("a grid has nothing covered (%v, %v m²): the test does not exercise it", covered, coveredM2)
		}
		// Another plan (here the same grids) of the same household
		// generation locates got's household points again rather than
		// reading them: the same answer.
		other := *pp
		again, err := svc.computeCoverageOn(ctx, &other, gens, got, workers)
		if err != nil {
			t.Fatal(err)
		}
		if again.hh == got.hh || &again.hh.pts[0] != &got.hh.pts[0] {
			t.Errorf("%d workers: another plan did not reuse the household points, or reused their grids", workers)
		}
		if !slices.Equal(again.Grids, got.Grids) {
			t.Errorf("%d workers: another plan with the household points kept:\n got %+v\nwant %+v", workers, again.Grids, got.Grids)
		}
	}
}
