package spatial

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// Measures on the sphere. These are orb/geo's functions (a sphere of radius
// orb.EarthRadius), named for their units so callers need not remember
// which orb package measures in metres. On a sphere of the equatorial radius
// areas run about 0.3–0.7% above the WGS 84 ellipsoid's at mid-latitudes,
// well inside what grid planning needs.

// AreaM2 returns the area of a polygon or multipolygon in square metres.
func AreaM2(g orb.Geometry) float64 { return geo.Area(g) }

// LengthM returns the length of a line, or the perimeter of a polygon, in metres.
func LengthM(g orb.Geometry) float64 { return geo.LengthHaversine(g) }

// DistanceM returns the great-circle distance between a and b in metres.
func DistanceM(a, b orb.Point) float64 { return geo.DistanceHaversine(a, b) }

// PolsbyPopper returns the compactness 4πA/P² of a polygon or
// multipolygon: 1 for a disc, about 0.91 for a hexagon, towards 0 for
// ragged shapes. It returns 0 for a shape without perimeter.
func PolsbyPopper(g orb.Geometry) float64 {
	p := LengthM(g)
	if p == 0 {
		return 0
	}
	return 4 * math.Pi * AreaM2(g) / (p * p)
}
