package spatial

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

// The scales are pinned to the figures written out where they were
// copies (the locator, coverage, gridgen), bit for bit: plans, distances
// and coverage computed before they moved here stay the same.
func TestMetresPerDegree(t *testing.T) {
	if got, want := MetresPerDegree, 111319.49079327357; math.Abs(got-want) > 1e-9 {
		t.Errorf("MetresPerDegree = %v, want %v", got, want)
	}
	for _, lat := range []float64{-89.9, -34.9, 0, 0.1, 39.9, 47.14, 60, 90} {
		if got, want := MetresPerDegreeLon(lat), orb.EarthRadius*math.Pi/180*math.Cos(lat*math.Pi/180); got != want {
			t.Errorf("MetresPerDegreeLon(%v) = %v, want %v", lat, got, want)
		}
		kx, ky := EquatorMetresPerDegree(lat)
		if want := 111320 * math.Cos(lat*math.Pi/180); kx != want || ky != 110574 {
			t.Errorf("EquatorMetresPerDegree(%v) = %v, %v, want %v, 110574", lat, kx, ky, want)
		}
	}
	// At 60° a degree of longitude is half the equator's.
	near(t, "MetresPerDegreeLon(60)", MetresPerDegreeLon(60), MetresPerDegree/2, 1e-12)
}
