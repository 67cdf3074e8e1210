package spatial

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

func near(t *testing.T, name string, got, want, relTol float64) {
	t.Helper()
	if math.Abs(got-want) > relTol*math.Abs(want) {
		t.Errorf("%s = %.6g, want %.6g (±%.2g%%)", name, got, want, relTol*100)
	}
}

func TestMeasures(t *testing.T) {
	R := orb.EarthRadius
	// A 1°×1° box on the equator: on a sphere, R²·Δλ·(sin φ₂ − sin φ₁).
	box := orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}
	near(t, "AreaM2(1° box)", AreaM2(box), R*R*(math.Pi/180)*math.Sin(math.Pi/180), 1e-6)
	// One degree of the equator is R·π/180 = 111,319.49 m.
	near(t, "LengthM(1° of equator)", LengthM(orb.LineString{{0, 0}, {1, 0}}), R*math.Pi/180, 1e-9)
	near(t, "DistanceM", DistanceM(orb.Point{0, 0}, orb.Point{0, 1}), R*math.Pi/180, 1e-9)
	// An H3 cell: H3's own area (on its authalic sphere, radius 6,371,007 m)
	// scaled to orb's radius.
	c, err := PointToCell(orb.Point{-56.16, -34.9}, 9)
	if err != nil {
		t.Fatal(err)
	}
	poly, err := CellPolygon(c)
	if err != nil {
		t.Fatal(err)
	}
	h3Area, _ := h3.CellAreaM2(c)
	near(t, "AreaM2(res-9 cell)", AreaM2(poly), h3Area*math.Pow(R/6371007.180918475, 2), 1e-3)
	// Polsby-Popper: 4πA/P² is π·√3/6 ≈ 0.9069 for a regular hexagon; H3
	// cells are slightly irregular (0.896 here), hence 2%.
	near(t, "PolsbyPopper(hexagon)", PolsbyPopper(poly), math.Pi*math.Sqrt(3)/6, 0.02)
	if got := PolsbyPopper(orb.Polygon{}); got != 0 {
		t.Errorf("PolsbyPopper(empty) = %v", got)
	}
}
