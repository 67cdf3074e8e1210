package tiles

import (
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

// BenchmarkRender renders a z13 and a z15 tile of a 40×30 lattice of
// jittered ~1 km grids with 60,000 seeded hazards, uncached: the work of
// one cache miss without HTTP.
func BenchmarkRender(b *testing.B) {
	sc := &Scene{Grids: NewPolygons(lattice(40, 30, 3)), Hazards: HazardPoints(randomHazards(60000, 3))}
	for _, z := range []maptile.Zoom{10, 13, 15} {
		tile := maptile.At(orb.Point{-56.05, -34.78}, z)
		sc.Grids.ps.arcsAt(int(z)) // simplification is once per zoom, not per tile
		b.Run("z"+string(rune('0'+z/10))+string(rune('0'+z%10)), func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				raw, err := sc.Render(context.Background(), []string{LayerGrids, LayerHazards}, tile)
				if err != nil {
					b.Fatal(err)
				}
				n = len(raw)
			}
			b.ReportMetric(float64(n), "bytes")
		})
	}
}

// metroHazards returns n seeded hazards spread uniformly over a 1° × 0.6°
// box around Montevideo (about 90 × 67 km): at 960,000, some 600 to a z14
// tile and 150,000 to a z10 one.
func metroHazards(n int, seed uint64) []data.Hazard {
	rng := rand.New(rand.NewPCG(seed, 5))
	hz := make([]data.Hazard, n)
	cats, statuses := data.DefaultTaxonomy().CategoryCodes(), data.Statuses()
	for i := range hz {
		hz[i] = data.Hazard{FID: int64(i + 1), ID: "h" + strconv.Itoa(i), Point: orb.Point{-56.7 + rng.Float64(), -35.0 + rng.Float64()*0.6},
			Category: cats[rng.IntN(len(cats))], Severity: 1 + rng.IntN(3),
			Status: statuses[rng.IntN(len(statuses))], ReportedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(365*24)) * time.Hour)}
	}
	return hz
}

var (
	bigOnce sync.Once
	bigHz   []data.Hazard
	bigPts  *Points
)

// big is the 960,000-hazard layer the write benchmarks share.
func big() ([]data.Hazard, *Points) {
	bigOnce.Do(func() {
		bigHz = metroHazards(960_000, 1)
		bigPts = HazardPoints(bigHz)
	})
	return bigHz, bigPts
}

// BenchmarkHazardPoints builds the layer of 960,000 hazards at once, as a
// load does.
func BenchmarkHazardPoints(b *testing.B) {
	hz, _ := big()
	b.ReportAllocs()
	for b.Loop() {
		HazardPoints(hz)
	}
}

// BenchmarkWithHazards moves one hazard of 960,000: "once" from the same
// freshly built layer every time, "stream" as a chain of writes (each on
// the last one's layer, compactions included: in the background here).
func BenchmarkWithHazards(b *testing.B) {
	hz, p0 := big()
	move := func(rng *rand.Rand) data.Hazard {
		h := hz[rng.IntN(len(hz))]
		h.Point = orb.Point{-56.7 + rng.Float64(), -35.0 + rng.Float64()*0.6}
		return h
	}
	b.Run("once", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 1))
		b.ReportAllocs()
		for b.Loop() {
			p0.WithHazards([]data.Hazard{move(rng)}, nil)
		}
	})
	b.Run("stream", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(2, 1))
		p := p0
		b.ReportAllocs()
		for b.Loop() {
			p = p.WithHazards([]data.Hazard{move(rng)}, nil)
		}
		b.ReportMetric(float64(len(p.over)+len(p.dead)), "overlay")
	})
}

// BenchmarkTileAfterWrite is the first tile after a write at 960,000
// hazards: from a layer whose overlay already holds half a compaction's
// worth of earlier moves, derive the scene with one hazard moved
// into the tile and render the z14 or z10 tile uncached. "render only"
// renders the same tile of the freshly built layer, for comparison.
func BenchmarkTileAfterWrite(b *testing.B) {
	hz, p0 := big()
	rng := rand.New(rand.NewPCG(3, 1))
	pending := p0
	for range compactAt(len(hz)) / 4 { // each a put and a delete
		h := hz[rng.IntN(len(hz))]
		h.Point = orb.Point{-56.7 + rng.Float64(), -35.0 + rng.Float64()*0.6}
		pending = pending.WithHazards([]data.Hazard{h}, nil)
	}
	for _, z := range []maptile.Zoom{14, 10} {
		tile := maptile.At(orb.Point{-56.2, -34.7}, z)
		tb := tile.Bound()
		name := "z" + strconv.Itoa(int(z))
		b.Run(name+"/render only", func(b *testing.B) {
			sc := &Scene{Hazards: p0}
			b.ReportAllocs()
			var n int
			for b.Loop() {
				raw, _ := sc.Render(context.Background(), []string{LayerHazards}, tile)
				n = len(raw)
			}
			b.ReportMetric(float64(n), "bytes")
		})
		b.Run(name+"/write+render", func(b *testing.B) {
			sc := &Scene{Hazards: pending}
			b.ReportAllocs()
			var n int
			for b.Loop() {
				h := hz[rng.IntN(len(hz))]
				h.Point = orb.Point{tb.Min[0] + rng.Float64()*(tb.Max[0]-tb.Min[0]), tb.Min[1] + rng.Float64()*(tb.Max[1]-tb.Min[1])}
				next, _ := sc.WithHazards([]data.Hazard{h}, nil)
				raw, _ := next.Render(context.Background(), []string{LayerHazards}, tile)
				n = len(raw)
			}
			b.ReportMetric(float64(n), "bytes")
			b.ReportMetric(float64(len(pending.over)+len(pending.dead)), "overlay")
		})
	}
}

// BenchmarkInvalidate drops the tiles of a one-hazard write from a cache
// of 20,000 tiles (layers grids,hazards; zooms 10–18 over the metro box,
// deeper zooms more often, as a map browses): "point" where tiles are
// cached at every zoom (the dropped tiles are put back, untimed), "far"
// where none is, "hotspots" a hazard write's Dirty with hotspots All over
// a cache that holds 2,000 hotspots tiles.
func BenchmarkInvalidate(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 1))
	layers := []string{LayerGrids, LayerHazards}
	hot := []string{LayerHotspots}
	type entry struct {
		layers []string
		tile   maptile.Tile
	}
	var es []entry
	seen := map[string]bool{}
	center := orb.Point{-56.2, -34.7}
	for len(es) < 20_000 {
		z := maptile.Zoom(10 + min(8, rng.IntN(12)))
		p := orb.Point{center[0] - 0.2 + rng.Float64()*0.4, center[1] - 0.15 + rng.Float64()*0.3}
		ls := layers
		if len(es)%10 == 0 {
			ls = hot
		}
		t := maptile.At(p, z)
		if k := TileKey(ls, t); !seen[k] {
			seen[k] = true
			es = append(es, entry{ls, t})
		}
	}
	enc := Encode(make([]byte, 1000))
	render := func() (*Encoded, error) { return enc, nil }
	fill := func(c *Cache, es []entry) {
		for _, e := range es {
			c.Get(TileKey(e.layers, e.tile), e.layers, e.tile, render)
		}
	}
	// Put a tile at every zoom under the write.
	for z := maptile.Zoom(10); z <= 18; z++ {
		es = append(es, entry{layers, maptile.At(center, z)})
	}
	for _, tc := range []struct {
		name  string
		dirty []Dirty
	}{
		{"point", []Dirty{{Layer: LayerHazards, Bound: center.Bound()}}},
		{"far", []Dirty{{Layer: LayerHazards, Bound: orb.Point{9.5, 47.1}.Bound()}}},
		{"hotspots", []Dirty{{Layer: LayerHazards, Bound: center.Bound()}, {Layer: LayerHotspots, All: true}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := NewCache(1 << 30)
			fill(c, es)
			var back []entry
			for _, e := range es {
				for _, d := range tc.dirty {
					if d.covers(e.layers, e.tile) {
						back = append(back, e)
						break
					}
				}
			}
			b.ReportAllocs()
			var dropped int
			for b.Loop() {
				dropped = c.Invalidate(tc.dirty...)
				if len(back) > 0 {
					b.StopTimer()
					fill(c, back)
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(dropped), "dropped")
			b.ReportMetric(float64(c.Stats().Entries), "entries")
		})
	}
}

// BenchmarkCompact merges 1,024 moved hazards into a base of 960,000: the
// work a background compaction does every compactAt changes.
func BenchmarkCompact(b *testing.B) {
	hz, p := big()
	rng := rand.New(rand.NewPCG(5, 1))
	for range 1024 {
		h := hz[rng.IntN(len(hz))]
		h.Point = orb.Point{-56.7 + rng.Float64(), -35.0 + rng.Float64()*0.6}
		p, _ = p.apply([]pointItem{{m: project(h.Point), r: rec{hz: &h}}}, nil)
	}
	b.ReportAllocs()
	for b.Loop() {
		compact(p)
	}
}

// BenchmarkHotspotsAfterWrite is /v1/hotspots' analysis at 960,000 hazards
// (the default query, res 9, over a study area of the metro box): "cold"
// with a fresh study area (no cell of a hazard known yet), "after write"
// on the scene a write of one hazard derived from one already analysed.
func BenchmarkHotspotsAfterWrite(b *testing.B) {
	hz, p0 := big()
	area := orb.MultiPolygon{orb.Bound{Min: orb.Point{-56.7, -35.0}, Max: orb.Point{-55.7, -34.4}}.ToPolygon()}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			sc := &Scene{Hazards: p0, Study: NewStudy(area)}
			if _, err := sc.Hotspots(context.Background(), HotspotQuery{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("after write", func(b *testing.B) {
		sc := &Scene{Hazards: p0, Study: NewStudy(area)}
		if _, err := sc.Hotspots(context.Background(), HotspotQuery{}); err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 2))
		b.ReportAllocs()
		for b.Loop() {
			h := hz[rng.IntN(len(hz))]
			h.Point = orb.Point{-56.7 + rng.Float64(), -35.0 + rng.Float64()*0.6}
			sc, _ = sc.WithHazards([]data.Hazard{h}, nil)
			if _, err := sc.Hotspots(context.Background(), HotspotQuery{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
