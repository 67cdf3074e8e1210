package tiles

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
)

// cached reports whether key is in c, rendered.
func (c *Cache) cached(key string) (*Encoded, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[key]
	if !ok || n.el == nil {
		return nil, false
	}
	return n.val, true
}

// renderWith renders a tile of sc, uncompressed (gzip would only slow the
// tests down).
func renderWith(sc *Scene, layers []string, t maptile.Tile) func() (*Encoded, error) {
	return func() (*Encoded, error) {
		raw, err := sc.Render(context.Background(), layers, t)
		if err != nil {
			return nil, err
		}
		return &Encoded{Raw: raw}, nil
	}
}

// TestInvalidatePrecise: after a few writes, every cached tile whose bytes
// the writes change is gone, and most of the others are still there: the
// areas layer entirely, the tiles away from the changes.
func TestInvalidatePrecise(t *testing.T) {
	hz := randomHazards(3000, 41)
	cams := randomCameras(300, 42)
	s0 := &Scene{Version: 1, Hazards: HazardPoints(hz), Cameras: CameraPoints(cams)}
	c := NewCache(1 << 30)

	center := hz[100].Point
	moved := hz[100]
	moved.Point = orb.Point{center[0] + 0.002, center[1] - 0.001}
	moved.Severity = 3
	added := randomHazard(rand.New(rand.NewPCG(4, 4)), 9000)
	added.Point = orb.Point{center[0] - 0.0004, center[1] + 0.0003}
	cam := cams[10]
	cam.Azimuth, cam.Status = cam.Azimuth+120, "offline"

	type entry struct {
		key    string
		layers []string
		tile   maptile.Tile
	}
	var entries []entry
	sets := [][]string{{LayerHazards}, {LayerCameras}, {LayerHazards, LayerCameras}, {LayerAreas}, {LayerHotspots}}
	for z := maptile.Zoom(6); z <= 18; z++ {
		for _, p := range []orb.Point{center, hz[150].Point, cam.Point} {
			at := maptile.At(p, z)
			r := 3
			if p != center {
				r = 1
			}
			for dx := -r; dx <= r; dx++ {
				for dy := -r; dy <= r; dy++ {
					tile := maptile.New(uint32(int(at.X)+dx), uint32(int(at.Y)+dy), z)
					for _, ls := range sets {
						if ls[0] == LayerHotspots && (z > HotspotCellZoom || p != center) {
							continue
						}
						entries = append(entries, entry{TileKey(ls, tile), ls, tile})
					}
				}
			}
		}
	}
	was := map[string][]byte{}
	for _, e := range entries {
		enc, err := c.Get(e.key, e.layers, e.tile, renderWith(s0, e.layers, e.tile))
		if err != nil {
			t.Fatal(err)
		}
		was[e.key] = enc.Raw
	}
	before := c.Stats().Entries

	s1, d1 := s0.WithHazards([]data.Hazard{moved, added}, []int64{hz[150].FID})
	s2, d2 := s1.WithCameras([]data.Camera{cam}, nil)
	n1 := c.Invalidate(d1...)
	n2 := c.Invalidate(d2...)

	var changed, keptSame, droppedSame int
	for _, e := range entries {
		old, ok := c.cached(e.key)
		now, err := renderWith(s2, e.layers, e.tile)()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(was[e.key], now.Raw) {
			changed++
		}
		if !ok {
			if e.layers[0] == LayerAreas {
				t.Errorf("areas tile %s dropped by a hazard or camera write", e.key)
			}
			if e.layers[0] != LayerHotspots && e.tile.Z >= ClusterBelow {
				droppedSame++
			}
			continue
		}
		if e.layers[0] == LayerHotspots {
			t.Errorf("hotspots tile %s kept after a hazard write", e.key)
		}
		if !bytes.Equal(old.Raw, now.Raw) {
			t.Errorf("tile %s changed and is still cached", e.key)
			continue
		}
		if e.tile.Z >= ClusterBelow {
			keptSame++
		}
	}
	t.Logf("%d tiles cached, %d dropped (%d+%d), %d changed; from z%d: %d kept, %d dropped", before, n1+n2, n1, n2, changed, ClusterBelow, keptSame, droppedSame)
	if changed == 0 {
		t.Fatal("the writes changed no tile: the test tests nothing")
	}
	if keptSame < 4*droppedSame {
		t.Errorf("from z%d, %d tiles dropped for %d kept: not precise", ClusterBelow, droppedSame, keptSame)
	}
}

// TestInvalidateDuringRender: a render that an Invalidate covers after it
// began is not stored, and requests after the Invalidate do not wait for
// it; renders it does not cover are stored.
func TestInvalidateDuringRender(t *testing.T) {
	c := NewCache(1 << 20)
	p := orb.Point{-56.18, -34.85}
	layers := []string{LayerHazards}
	tile := maptile.At(p, 15)
	key := TileKey(layers, tile)
	enc := func(s string) func() (*Encoded, error) {
		return func() (*Encoded, error) { return Encode([]byte(s)), nil }
	}
	block := func(key string, layers []string, tile maptile.Tile) (started chan struct{}, release chan struct{}, done chan *Encoded) {
		started, release, done = make(chan struct{}), make(chan struct{}), make(chan *Encoded)
		go func() {
			e, _ := c.Get(key, layers, tile, func() (*Encoded, error) {
				close(started)
				<-release
				return Encode([]byte("old")), nil
			})
			done <- e
		}()
		<-started
		return started, release, done
	}

	_, release, done := block(key, layers, tile)
	if n := c.Invalidate(Dirty{Layer: LayerHazards, Bound: p.Bound()}); n != 0 {
		t.Errorf("dropped %d cached tiles, none was cached", n)
	}
	// A request after the write does not wait for the old render.
	if e, _ := c.Get(key, layers, tile, enc("new")); string(e.Raw) != "new" {
		t.Errorf("after the write: %q", e.Raw)
	}
	close(release)
	if e := <-done; string(e.Raw) != "old" {
		t.Errorf("the old request got %q", e.Raw)
	}
	if e, _ := c.Get(key, layers, tile, enc("again")); string(e.Raw) != "new" {
		t.Errorf("cached %q, want new", e.Raw)
	}

	// Renders the Invalidate does not cover, elsewhere or of another
	// layer, are stored.
	far := maptile.At(orb.Point{9.5, 47.1}, 15)
	for _, tc := range []struct {
		layers []string
		tile   maptile.Tile
	}{{layers, far}, {[]string{LayerAreas}, tile}} {
		k := TileKey(tc.layers, tc.tile)
		_, release, done := block(k, tc.layers, tc.tile)
		c.Invalidate(Dirty{Layer: LayerHazards, Bound: p.Bound()})
		close(release)
		<-done
		if _, ok := c.cached(k); !ok {
			t.Errorf("%s: a render not covered was not stored", k)
		}
	}
	if _, ok := c.cached(key); ok {
		t.Errorf("the tile at the writes is still cached")
	}
}

// TestInvalidateRace: readers render and cache while a writer changes
// tiles and invalidates them. No reader ever gets a tile older than the
// last write whose Invalidate had returned before its Get began, and once
// all are done no cached tile is out of date. Run with -race.
func TestInvalidateRace(t *testing.T) {
	c := NewCache(1 << 20)
	var world struct {
		sync.Mutex
		content map[maptile.Tile]int // writes to the tile
		settled map[maptile.Tile]int // writes to the tile invalidated
	}
	world.content, world.settled = map[maptile.Tile]int{}, map[maptile.Tile]int{}
	var ts []maptile.Tile
	for x := uint32(300); x < 304; x++ {
		for y := uint32(600); y < 604; y++ {
			ts = append(ts, maptile.New(x, y, 10))
		}
	}
	// A write at a tile's centre changes that tile only.
	layers := []string{LayerHazards}
	var readers, writer sync.WaitGroup
	stop := make(chan struct{})
	writer.Go(func() {
		rng := rand.New(rand.NewPCG(1, 1))
		for {
			select {
			case <-stop:
				return
			default:
			}
			tl := ts[rng.IntN(len(ts))]
			world.Lock()
			world.content[tl]++
			n := world.content[tl]
			world.Unlock()
			c.Invalidate(Dirty{Layer: LayerHazards, Bound: tl.Center().Bound()})
			world.Lock()
			world.settled[tl] = max(world.settled[tl], n)
			world.Unlock()
			time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
		}
	})
	for r := range 6 {
		readers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 2))
			for range 400 {
				tl := ts[rng.IntN(len(ts))]
				world.Lock()
				floor := world.settled[tl]
				world.Unlock()
				sleep := time.Duration(rng.IntN(300)) * time.Microsecond
				e, err := c.Get(TileKey(layers, tl), layers, tl, func() (*Encoded, error) {
					world.Lock() // the data, read when the render runs
					n := world.content[tl]
					world.Unlock()
					time.Sleep(sleep)
					return &Encoded{Raw: []byte(strconv.Itoa(n))}, nil
				})
				if err != nil || e == nil {
					t.Errorf("get %v: %v", tl, err)
					return
				}
				if got, _ := strconv.Atoi(string(e.Raw)); got < floor {
					t.Errorf("%v: got the tile after %d writes, %d were invalidated before the request", tl, got, floor)
					return
				}
				if r == 0 {
					c.Stats()
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	writer.Wait()
	stale := 0
	for _, tl := range ts {
		want := strconv.Itoa(world.content[tl])
		if e, ok := c.cached(TileKey(layers, tl)); ok && string(e.Raw) != want {
			stale++
		}
	}
	if stale > 0 {
		t.Errorf("%d of %d tiles cached out of date", stale, len(ts))
	}
	if st := c.Stats(); st.Hits == 0 || st.Invalidated == 0 {
		t.Errorf("the test did not exercise the cache: %+v", st)
	}
}

// TestInvalidateLayers: All drops one layer's tiles, or, without a layer,
// every entry; a bound drops only its layer, at every zoom.
func TestInvalidateLayers(t *testing.T) {
	c := NewCache(1 << 20)
	p := orb.Point{-56.18, -34.85}
	type entry struct {
		layers []string
		tile   maptile.Tile
	}
	var es []entry
	for z := maptile.Zoom(0); z <= MaxZoom; z++ {
		for _, ls := range [][]string{{LayerGrids}, {LayerAreas, LayerGrids}, {LayerAreas}, {LayerHazards, LayerAreas}} {
			es = append(es, entry{ls, maptile.At(p, z)})
		}
	}
	fill := func() {
		for _, e := range es {
			c.Get(TileKey(e.layers, e.tile), e.layers, e.tile, func() (*Encoded, error) { return Encode([]byte("x")), nil })
		}
		c.Get("style.json", nil, maptile.Tile{}, func() (*Encoded, error) { return Encode([]byte("{}")), nil })
	}
	fill()
	n := MaxZoom + 1
	if got := c.Invalidate(Dirty{Layer: LayerGrids, All: true}); got != 2*n {
		t.Errorf("grids All dropped %d, want %d", got, 2*n)
	}
	if got := c.Invalidate(Dirty{Layer: LayerHazards, Bound: p.Bound()}); got != n {
		t.Errorf("a hazard at the tiles' point dropped %d, want %d", got, n)
	}
	if got := c.Invalidate(Dirty{Layer: LayerAreas, Bound: orb.Point{9.5, 47.1}.Bound()}); got != 1 {
		t.Errorf("an areas change far away dropped %d, want 1 (the world at z0)", got)
	}
	if got := c.Invalidate(Dirty{All: true}); got != n {
		t.Errorf("All dropped %d, want %d", got, n)
	}
	if st := c.Stats(); st.Entries != 0 || st.Bytes != 0 || st.Invalidated != uint64(4*n+1) || st.Version != 4 {
		t.Errorf("after dropping all: %+v", st)
	}
	// A bound over the whole world scans rather than walks the tiles.
	fill()
	if got := c.Invalidate(Dirty{Layer: LayerAreas, Bound: orb.Bound{Min: orb.Point{-180, -85}, Max: orb.Point{180, 85}}}); got != 3*n {
		t.Errorf("a world bound dropped %d of the areas tiles, want %d", got, 3*n)
	}
}
