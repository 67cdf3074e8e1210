package tiles

import (
	"context"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
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
