package gridgen

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/uber/h3-go/v4"
)

// TestDistinctParents: counting the parents that change along sorted cells
// gives as many as a set of every cell's parent, at every coarser
// resolution, for households spread over Montevideo and Vaduz (base cells
// far apart) and bunched in a few streets.
func TestDistinctParents(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 64))
	var cells []h3.Cell
	for _, c := range []struct{ lat, lng, spread float64 }{{-34.88, -56.17, 0.1}, {47.14, 9.52, 0.05}, {-34.90, -56.19, 0.001}} {
		for range 5000 {
			ll := h3.LatLng{Lat: c.lat + (rng.Float64()-0.5)*c.spread, Lng: c.lng + (rng.Float64()-0.5)*c.spread}
			cell, err := h3.LatLngToCell(ll, autoMaxRes)
			if err != nil {
				t.Fatal(err)
			}
			cells = append(cells, cell)
		}
	}
	slices.Sort(cells)
	for res := MinResolution; res <= autoMaxRes; res++ {
		set := map[h3.Cell]bool{}
		for _, c := range cells {
			p, err := c.Parent(res)
			if err != nil {
				t.Fatal(err)
			}
			set[p] = true
		}
		if got := distinctParents(cells, res); got != len(set) {
			t.Errorf("res %d: %d distinct parents, want %d", res, got, len(set))
		}
	}
}
