package spatial

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

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

// A prepared sector agrees with the polygon Sector draws: points a little
// inside the polygon's arc and sides are in, points a little outside are
// out, and its box holds the whole polygon.
func TestPreparedSector(t *testing.T) {
	c := orb.Point{116.4, 39.9}
	for _, tc := range []struct {
		name            string
		az, fov, rangeM float64
	}{
		{"circle", 0, 360, 1000},
		{"quarter NE", 45, 90, 100},
		{"wide west", 270, 200, 250},
		{"narrow across north", 350, 30, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := PrepareSector(c, tc.az, tc.fov, tc.rangeM)
			if s.Center() != c || math.Abs(s.RangeM()-tc.rangeM) > 1e-9 {
				t.Errorf("centre %v, range %v", s.Center(), s.RangeM())
			}
			if !s.Contains(c) {
				t.Error("the centre is not in its sector")
			}
			// The box holds the polygon to within the frames' 0.1 %.
			b := s.Bound()
			for _, p := range Sector(c, tc.az, tc.fov, tc.rangeM, 90)[0] {
				if !b.Pad(1e-3 * tc.rangeM / MetresPerDegree).Contains(p) {
					t.Errorf("box %v misses the sector's point %v", b, p)
				}
			}
			for _, f := range []float64{-0.49, -0.25, 0, 0.25, 0.49} {
				bearing := tc.az + f*math.Min(tc.fov, 359)
				in := geo.PointAtBearingAndDistance(c, bearing, 0.99*tc.rangeM)
				if !s.Contains(in) {
					t.Errorf("bearing %v at 99 %% of the range is out", bearing)
				}
				if !b.Contains(in) {
					t.Errorf("box %v misses %v, in the sector", b, in)
				}
				if out := geo.PointAtBearingAndDistance(c, bearing, 1.01*tc.rangeM); s.Contains(out) {
					t.Errorf("bearing %v at 101 %% of the range is in", bearing)
				}
			}
			if tc.fov < 360 {
				for _, side := range []float64{-1, 1} {
					bearing := tc.az + side*(tc.fov/2+2)
					if p := geo.PointAtBearingAndDistance(c, bearing, tc.rangeM/2); s.Contains(p) {
						t.Errorf("bearing %v, 2° outside the field of view, is in", bearing)
					}
				}
			}
		})
	}
}
