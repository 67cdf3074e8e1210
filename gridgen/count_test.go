package gridgen

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// A grid count per parent is met exactly, shared among the parent's parts
// by households: parent B has two parts with 600 and 300 households.
func TestGridCountPerParent(t *testing.T) {
	two := orb.MultiPolygon{square(120.03, 30.0, 120.045, 30.01), square(120.05, 30.0, 120.06, 30.008)}
	parents := []data.Area{{Code: "B", Geometry: two}}
	hh := append(scatter(orb.Bound{Min: orb.Point{120.031, 30.001}, Max: orb.Point{120.044, 30.009}}, 600, 1),
		scatter(orb.Bound{Min: orb.Point{120.051, 30.001}, Max: orb.Point{120.059, 30.007}}, 300, 1)...)
	tests := []struct {
		want, grids int
		perPart     [2]int // grids in the west part, the east part
	}{
		{1, 2, [2]int{1, 1}}, // fewer than parts: one each
		{2, 2, [2]int{1, 1}},
		{3, 3, [2]int{2, 1}},
		{5, 5, [2]int{3, 2}}, // 2 + 3 × 600/900 = 4 → 3 west; the east gets the remainder
		{9, 9, [2]int{6, 3}},
	}
	for _, tc := range tests {
		p, err := Generate(context.Background(), Input{Households: hh, Parents: parents, Target: 300, Grids: map[string]int{"B": tc.want}, Resolution: 11}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, p, parents)
		var west, east int
		for _, g := range p.Grids {
			if g.Geometry.Bound().Max[0] <= 120.045+1e-9 {
				west++
			} else {
				east++
			}
		}
		if len(p.Grids) != tc.grids || [2]int{west, east} != tc.perPart {
			t.Errorf("grids=%d: got %d (west %d, east %d), want %d (%v)", tc.want, len(p.Grids), west, east, tc.grids, tc.perPart)
		}
	}
}
