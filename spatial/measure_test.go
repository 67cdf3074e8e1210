package spatial

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
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

func TestSector(t *testing.T) {
	c := orb.Point{-56.16, -34.9}
	tests := []struct {
		name            string
		az, fov, rangeM float64
		steps           int
		area            float64 // expected, m²
		tol             float64
	}{
		// A circle of 1 km: πr²; 360 chords lose (2π/n)²/6 ≈ 5e-5 of it.
		{"circle", 0, 360, 1000, 360, math.Pi * 1e6, 1e-3},
		// A quarter disc of 100 m: πr²/4.
		{"90° sector", 45, 90, 100, 64, math.Pi * 1e4 / 4, 1e-3},
		// A 60° sector of 250 m facing west: πr²/6.
		{"60° sector", 270, 60, 250, 64, math.Pi * 250 * 250 / 6, 1e-3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Sector(c, tc.az, tc.fov, tc.rangeM, tc.steps)
			if len(s) != 1 || s[0][0] != s[0][len(s[0])-1] {
				t.Fatalf("not a closed single ring: %v", s)
			}
			if geo.SignedArea(s[0]) <= 0 {
				t.Error("ring is clockwise; RFC 7946 wants counter-clockwise")
			}
			near(t, "area", AreaM2(s), tc.area, tc.tol)
			for _, p := range s[0] {
				if p == c {
					continue
				}
				near(t, "arc radius", DistanceM(c, p), tc.rangeM, 1e-9)
			}
			if tc.fov < 360 {
				// The middle of the arc lies on the azimuth.
				mid := s[0][1+tc.steps/2]
				near(t, "mid bearing", math.Mod(geo.Bearing(c, mid)+360, 360), tc.az, 1e-6)
			}
		})
	}
	// Facing north, the arc's middle is due north of the camera.
	mid := Sector(c, 0, 40, 500, 2)[0][2]
	if math.Abs(mid[0]-c[0]) > 1e-12 || mid[1] <= c[1] {
		t.Errorf("north-facing sector's mid-arc point %v is not north of %v", mid, c)
	}
	for _, bad := range [][3]float64{{0, 90, 0}, {0, 0, 100}, {math.NaN(), 90, 100}, {0, 90, math.Inf(1)}} {
		if s := Sector(c, bad[0], bad[1], bad[2], 8); s != nil {
			t.Errorf("Sector(az %v, fov %v, range %v) = %v, want nil", bad[0], bad[1], bad[2], s)
		}
	}
}
