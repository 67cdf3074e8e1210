package tiles

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
)

func randomCameras(n int, seed uint64) []data.Camera {
	rng := rand.New(rand.NewPCG(seed, 3))
	cs := make([]data.Camera, n)
	for i := range cs {
		cs[i] = randomCamera(rng, int64(i+1))
	}
	return cs
}

func randomCamera(rng *rand.Rand, fid int64) data.Camera {
	return data.Camera{FID: fid, ID: "c" + strconv.FormatInt(fid, 10), Point: orb.Point{-56.3 + rng.Float64()*0.25, -34.92 + rng.Float64()*0.15},
		Azimuth: float64(rng.IntN(360)), FOV: float64(20 + rng.IntN(120)), RangeM: float64(20 + rng.IntN(300)),
		Status: data.CameraStatuses()[rng.IntN(len(data.CameraStatuses()))]}
}

func randomHazard(rng *rand.Rand, fid int64) data.Hazard {
	h := randomHazards(1, rng.Uint64())[0]
	h.FID, h.ID = fid, "h"+strconv.FormatInt(fid, 10)
	return h
}

// withTuning runs fn with the compaction thresholds set, then restores them.
func withTuning(minCompact, maxCompact, syncBelow int, fn func()) {
	old := pointTuning
	defer func() { pointTuning = old }()
	pointTuning.minCompact, pointTuning.maxCompact, pointTuning.syncBelow = minCompact, maxCompact, syncBelow
	fn()
}

// waitCompaction waits for the background compaction of p's lineage, if
// one runs, so that the next write adopts it.
func waitCompaction(p *Points) {
	p.lin.mu.Lock()
	done := p.lin.done
	p.lin.mu.Unlock()
	if done != nil {
		<-done
	}
}

// history is a random sequence of writes that turns a random start into
// the final records: records at their final value, at another value, or
// missing; records that must go; writes that are undone later.
type history[R any] struct {
	start []R
	steps []step[R]
}

type step[R any] struct {
	put []R
	del []int64
}

func makeHistory[R any](final []R, fid func(R) int64, variant func(*rand.Rand, int64) R, extra int, seed uint64) history[R] {
	rng := rand.New(rand.NewPCG(seed, 7))
	state := map[int64]R{}
	want := map[int64]R{}
	var h history[R]
	for _, r := range final {
		want[fid(r)] = r
		switch x := rng.IntN(20); {
		case x < 17:
			state[fid(r)] = r
		case x < 19:
			state[fid(r)] = variant(rng, fid(r))
		}
	}
	top := fid(final[len(final)-1])
	for i := range extra {
		k := top + 1 + int64(i)
		state[k] = variant(rng, k)
	}
	for _, r := range state {
		h.start = append(h.start, r)
	}
	rng.Shuffle(len(h.start), func(i, j int) { h.start[i], h.start[j] = h.start[j], h.start[i] })
	// Noise: puts and deletes that later steps correct.
	keys := make([]int64, 0, len(want)+extra)
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for range 150 {
		var s step[R]
		for range 1 + rng.IntN(4) {
			k := keys[rng.IntN(len(keys))]
			if rng.IntN(3) == 0 {
				s.del = append(s.del, k)
				delete(state, k)
			} else {
				v := variant(rng, k)
				s.put = append(s.put, v)
				state[k] = v
			}
		}
		h.steps = append(h.steps, s)
	}
	// Corrections, in random batches.
	var fix []step[R]
	for k, v := range state {
		w, ok := want[k]
		switch {
		case !ok:
			fix = append(fix, step[R]{del: []int64{k}})
		case !reflect.DeepEqual(v, w):
			fix = append(fix, step[R]{put: []R{w}})
		}
	}
	for k, w := range want {
		if _, ok := state[k]; !ok {
			fix = append(fix, step[R]{put: []R{w}})
		}
	}
	rng.Shuffle(len(fix), func(i, j int) { fix[i], fix[j] = fix[j], fix[i] })
	for len(fix) > 0 {
		n := min(len(fix), 1+rng.IntN(8))
		var s step[R]
		for _, f := range fix[:n] {
			s.put = append(s.put, f.put...)
			s.del = append(s.del, f.del...)
		}
		h.steps = append(h.steps, s)
		fix = fix[n:]
	}
	return h
}

// testTiles are the tiles at z over the data: all of them when few, else
// those of the given points and their neighbours.
func testTiles(z maptile.Zoom, b orb.Bound, pts []orb.Point) []maptile.Tile {
	lo, hi := maptile.At(orb.Point{b.Min[0], b.Max[1]}, z), maptile.At(orb.Point{b.Max[0], b.Min[1]}, z)
	var ts []maptile.Tile
	if (hi.X-lo.X+1)*(hi.Y-lo.Y+1) <= 400 {
		for x := lo.X; x <= hi.X; x++ {
			for y := lo.Y; y <= hi.Y; y++ {
				ts = append(ts, maptile.New(x, y, z))
			}
		}
		return ts
	}
	seen := map[maptile.Tile]bool{}
	for _, p := range pts {
		t := maptile.At(p, z)
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				n := maptile.New(uint32(int(t.X)+dx), uint32(int(t.Y)+dy), z)
				if !seen[n] {
					seen[n] = true
					ts = append(ts, n)
				}
			}
		}
	}
	return ts
}

var canonicalZooms = []maptile.Zoom{0, 5, 10, ClusterBelow - 1, ClusterBelow, SectorZoom, 18}

// TestIncrementalEqualsRebuilt: a layer built at once from a set of records
// and one that reached the same set through hundreds of writes (with
// compactions in the caller, in the background, or none) draw the same
// bytes in every tile, and the layers of the way there are unchanged.
func TestIncrementalEqualsRebuilt(t *testing.T) {
	finalHz := randomHazards(3000, 11)
	finalCams := randomCameras(400, 12)
	hh := makeHistory(finalHz, func(h data.Hazard) int64 { return h.FID }, randomHazard, 60, 13)
	ch := makeHistory(finalCams, func(c data.Camera) int64 { return c.FID }, randomCamera, 20, 14)
	want := &Scene{Hazards: HazardPoints(finalHz), Cameras: CameraPoints(finalCams)}

	var pts []orb.Point
	for _, s := range hh.steps {
		for _, h := range s.put {
			pts = append(pts, h.Point)
		}
	}
	for _, s := range ch.steps {
		for _, c := range s.put {
			pts = append(pts, c.Point)
		}
	}
	for i := 0; i < len(finalHz); i += 40 {
		pts = append(pts, finalHz[i].Point)
	}
	area := orb.MultiPoint(pts).Bound()

	for _, tc := range []struct {
		name                  string
		minC, maxC, syncBelow int
		waitEvery             int
	}{
		{"overlay only", 1 << 30, 1 << 30, 0, 0},
		{"compact in caller", 16, 64, 1 << 30, 0},
		{"compact in background", 16, 64, 0, 7},
		{"background outrun", 8, 8, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withTuning(tc.minC, tc.maxC, tc.syncBelow, func() {
				got := &Scene{Hazards: HazardPoints(hh.start), Cameras: CameraPoints(ch.start)}
				// Layers on the way, with the bytes they drew then.
				type snap struct {
					sc   *Scene
					t    maptile.Tile
					want []byte
				}
				var snaps []snap
				n := max(len(hh.steps), len(ch.steps))
				for i := range n {
					if i < len(hh.steps) {
						got, _ = got.WithHazards(hh.steps[i].put, hh.steps[i].del)
					}
					if i < len(ch.steps) {
						got, _ = got.WithCameras(ch.steps[i].put, ch.steps[i].del)
					}
					if tc.waitEvery > 0 && i%tc.waitEvery == 0 {
						waitCompaction(got.Hazards)
						waitCompaction(got.Cameras)
					}
					if i%50 == 0 {
						tile := maptile.At(pts[i%len(pts)], SectorZoom)
						raw, err := got.Render(context.Background(), []string{LayerHazards, LayerCameras}, tile)
						if err != nil {
							t.Fatal(err)
						}
						snaps = append(snaps, snap{got, tile, raw})
					}
				}
				if got.Hazards.Len() != len(finalHz) || got.Cameras.Len() != len(finalCams) {
					t.Fatalf("%d hazards, %d cameras; want %d, %d", got.Hazards.Len(), got.Cameras.Len(), len(finalHz), len(finalCams))
				}
				if !reflect.DeepEqual(got.HazardList(), want.HazardList()) {
					t.Errorf("hazard lists differ")
				}
				b, ok := got.Hazards.Bound()
				for _, h := range finalHz {
					if !ok || !b.Contains(h.Point) {
						t.Fatalf("bound %v (%v) misses %v", b, ok, h.Point)
					}
				}
				compared, nonEmpty := 0, 0
				for _, z := range canonicalZooms {
					for _, tile := range testTiles(z, area, pts) {
						layers := []string{LayerHazards, LayerCameras}
						a, err1 := want.Render(context.Background(), layers, tile)
						g, err2 := got.Render(context.Background(), layers, tile)
						if err1 != nil || err2 != nil {
							t.Fatal(err1, err2)
						}
						if !bytes.Equal(a, g) {
							t.Fatalf("tile %d/%d/%d: %d bytes rebuilt, %d incremental", tile.Z, tile.X, tile.Y, len(a), len(g))
						}
						compared++
						if len(a) > 0 {
							nonEmpty++
						}
					}
				}
				if nonEmpty < 200 {
					t.Errorf("only %d of %d tiles compared have features", nonEmpty, compared)
				}
				for _, s := range snaps {
					raw, _ := s.sc.Render(context.Background(), []string{LayerHazards, LayerCameras}, s.t)
					if !bytes.Equal(raw, s.want) {
						t.Errorf("an earlier layer changed under later writes (tile %v)", s.t)
					}
				}
			})
		})
	}
}

// TestWithHazards checks the edge cases of a write: a nil or empty layer,
// a FID both put and deleted, a FID put twice, deleting what is not there.
func TestWithHazards(t *testing.T) {
	hz := randomHazards(10, 1)
	var p *Points
	p = p.WithHazards(hz[:3], nil)
	if p.Len() != 3 {
		t.Fatalf("len %d", p.Len())
	}
	moved := hz[1]
	moved.Point = orb.Point{-56.1, -34.8}
	p2 := p.WithHazards([]data.Hazard{hz[1], moved}, []int64{hz[1].FID, 999})
	if p2.Len() != 3 || p.Len() != 3 {
		t.Fatalf("len %d, before %d", p2.Len(), p.Len())
	}
	if l := p2.hazardList(); l[1].Point != moved.Point {
		t.Errorf("put twice: the first won: %v", l[1].Point)
	}
	if l := p.hazardList(); l[1].Point != hz[1].Point {
		t.Errorf("the original changed")
	}
	p3 := p2.WithHazards(nil, []int64{1, 2, 3})
	if p3.Len() != 0 {
		t.Fatalf("len %d after deleting all", p3.Len())
	}
	if _, ok := p3.Bound(); ok {
		t.Errorf("an empty layer has a bound")
	}
	p4 := p3.WithHazards(hz[5:6], nil)
	if b, ok := p4.Bound(); !ok || b.Min != hz[5].Point || b.Max != hz[5].Point {
		t.Errorf("bound %v %v, want the point %v", b, ok, hz[5].Point)
	}
	// Repeated FIDs in a build: the last wins, as in a write.
	dup := HazardPoints([]data.Hazard{hz[2], hz[0], moved, hz[1]})
	if dup.Len() != 3 || dup.hazardList()[1].Point != hz[1].Point {
		t.Errorf("build with a repeated FID: len %d, %v", dup.Len(), dup.hazardList())
	}
	defer func() {
		if recover() == nil {
			t.Errorf("WithCameras on hazards did not panic")
		}
	}()
	p.WithCameras(nil, nil)
}

// TestDirtyCoversChange: the Dirty of a write cover every tile whose bytes
// it changes (checked directly, without a cache, at every zoom).
func TestDirtyCoversChange(t *testing.T) {
	hz := randomHazards(2000, 21)
	cams := randomCameras(300, 22)
	s0 := &Scene{Hazards: HazardPoints(hz), Cameras: CameraPoints(cams)}
	moved := hz[100]
	moved.Point = orb.Point{moved.Point[0] + 0.003, moved.Point[1] - 0.002}
	cam := cams[7]
	cam.Azimuth += 90
	cam.Point[0] += 0.001
	s1, d1 := s0.WithHazards([]data.Hazard{moved, randomHazard(rand.New(rand.NewPCG(1, 1)), 5000)}, []int64{hz[200].FID})
	s2, d2 := s1.WithCameras([]data.Camera{cam}, []int64{cams[8].FID})
	dirty := append(d1, d2...)
	pts := []orb.Point{hz[100].Point, moved.Point, hz[200].Point, cams[7].Point, cam.Point, cams[8].Point}
	b := orb.MultiPoint(pts).Bound().Pad(0.01)
	for z := maptile.Zoom(0); z <= 18; z++ {
		for _, tile := range testTiles(z, b, pts) {
			for _, layer := range []string{LayerHazards, LayerCameras} {
				a, _ := s0.Render(context.Background(), []string{layer}, tile)
				c, _ := s2.Render(context.Background(), []string{layer}, tile)
				if bytes.Equal(a, c) {
					continue
				}
				covered := false
				for _, d := range dirty {
					covered = covered || d.covers([]string{layer}, tile)
				}
				if !covered {
					t.Errorf("%s tile %d/%d/%d changed, no Dirty covers it", layer, z, tile.X, tile.Y)
				}
			}
		}
	}
}

// TestSortItems: the radix sort of large layers orders as the comparison
// sort of small ones, ties by index included.
func TestSortItems(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	items := make([]pointItem, 20_000)
	hz := make([]data.Hazard, len(items))
	for i := range items {
		x := rng.Float64()*2 - 0.5
		switch rng.IntN(4) {
		case 0:
			x = float64(rng.IntN(50)) / 64 // ties
		case 1:
			x = math.Copysign(0, -1)
		}
		hz[i].FID = int64(i)
		items[i] = pointItem{m: mpt{x, 0}, r: rec{hz: &hz[i]}}
	}
	want := slices.Clone(items)
	slices.SortFunc(want, func(a, b pointItem) int { return cmpPoint(a.m[0], a.r.key(), b.m[0], b.r.key()) })
	sortItems(items)
	if !slices.Equal(items, want) {
		t.Errorf("radix and comparison sorts differ")
	}
}

// TestBackgroundCompactionAdopted: a large layer compacts in the
// background and a later write adopts the result.
func TestBackgroundCompactionAdopted(t *testing.T) {
	withTuning(4, 4, 0, func() {
		hz := randomHazards(1000, 31)
		p := HazardPoints(hz)
		base := p.base
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 5 {
			p = p.WithHazards([]data.Hazard{randomHazard(rng, int64(2000+i))}, nil)
		}
		waitCompaction(p)
		p = p.WithHazards(nil, []int64{1})
		if p.base == base {
			t.Fatalf("the finished compaction was not adopted")
		}
		if p.Len() != 1000+5-1 || len(p.over)+len(p.dead) > 2 {
			t.Errorf("len %d, overlay %d, dead %d", p.Len(), len(p.over), len(p.dead))
		}
	})
}

func ExampleScene_WithHazards() {
	c := NewCache(1 << 20)
	sc := &Scene{Hazards: HazardPoints([]data.Hazard{{FID: 1, ID: "h1", Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 2, Status: data.StatusReported}})}
	var mu sync.Mutex // guards sc
	layers := []string{LayerHazards}
	get := func(t maptile.Tile) {
		c.Get(TileKey(layers, t), layers, t, func() (*Encoded, error) {
			mu.Lock()
			s := sc // read when the render runs, not before Get
			mu.Unlock()
			raw, err := s.Render(context.Background(), layers, t)
			return Encode(raw), err
		})
	}
	near, far := maptile.At(orb.Point{9.5, 47.1}, 14), maptile.At(orb.Point{9.6, 47.1}, 14)
	get(near)
	get(far)

	// A write: derive the next scene, swap it in, then drop what changed.
	mu.Lock()
	next, dirty := sc.WithHazards([]data.Hazard{{FID: 1, ID: "h1", Point: orb.Point{9.5001, 47.1}, Category: "fire", Severity: 3, Status: data.StatusReported}}, nil)
	sc = next
	mu.Unlock()
	fmt.Println(c.Invalidate(dirty...), "tile dropped")
	fmt.Println(c.Stats().Entries, "tile kept")
	// Output:
	// 1 tile dropped
	// 1 tile kept
}
