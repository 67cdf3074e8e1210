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

// Sector returns a camera's coverage: the area within rangeM metres of
// center whose bearing lies within fovDeg/2 of azimuthDeg (degrees clockwise
// from north). The arc is steps segments of true great-circle destination
// points; fovDeg >= 360 gives a circle. The ring is closed and
// counter-clockwise as RFC 7946 asks. It returns nil for a non-positive or
// non-finite range or field of view; steps < 1 is taken as 1 (a circle gets
// at least 3).
func Sector(center orb.Point, azimuthDeg, fovDeg, rangeM float64, steps int) orb.Polygon {
	if !(rangeM > 0) || !(fovDeg > 0) || math.IsInf(rangeM, 0) || math.IsInf(fovDeg, 0) ||
		math.IsNaN(azimuthDeg) || math.IsInf(azimuthDeg, 0) || !ValidLonLat(center) {
		return nil
	}
	steps = max(steps, 1)
	if fovDeg >= 360 {
		steps = max(steps, 3)
		ring := make(orb.Ring, 0, steps+1)
		// Bearings decrease so that the ring runs counter-clockwise.
		for i := range steps {
			ring = append(ring, geo.PointAtBearingAndDistance(center, azimuthDeg-360*float64(i)/float64(steps), rangeM))
		}
		return orb.Polygon{append(ring, ring[0])}
	}
	ring := make(orb.Ring, 0, steps+3)
	ring = append(ring, center)
	from := azimuthDeg + fovDeg/2
	for i := 0; i <= steps; i++ {
		ring = append(ring, geo.PointAtBearingAndDistance(center, from-fovDeg*float64(i)/float64(steps), rangeM))
	}
	return orb.Polygon{append(ring, center)}
}
