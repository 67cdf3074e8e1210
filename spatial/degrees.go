package spatial

import (
	"math"

	"github.com/paulmach/orb"
)

// How many metres a degree is, said once: code that measures in a local
// flat frame (lon/lat scaled to metres about a point) takes its scale from
// here rather than writing the figures out again.

// MetresPerDegree is the length of a degree of latitude, and of longitude
// at the equator, on orb's sphere (radius orb.EarthRadius, the WGS 84
// equatorial radius): 111,319.49 m. It is the sphere AreaM2, LengthM and
// DistanceM measure on, so local flat distances agree with them.
const MetresPerDegree = orb.EarthRadius * math.Pi / 180

// MetresPerDegreeLon returns the length in metres of a degree of longitude
// at latitude lat (degrees) on the same sphere: MetresPerDegree·cos(lat).
// With MetresPerDegree for latitude it is the scale of an equirectangular
// frame centred at lat, within 0.1 % of great-circle distances up to ten
// kilometres or so from that latitude.
func MetresPerDegreeLon(lat float64) float64 {
	return MetresPerDegree * math.Cos(lat*math.Pi/180)
}

// The WGS 84 ellipsoid's degrees at the equator, rounded to the metre: a
// degree of longitude is 111,320 m there (MetresPerDegree rounded) and a
// degree of latitude 110,574 m (the meridian is flattened; 111,694 m at the
// poles, 0.7 % shorter than the sphere's at the equator).
const (
	// EquatorDegreeLonM is the length of a degree of longitude at the equator.
	EquatorDegreeLonM = 111320
	// EquatorDegreeLatM is the length of a degree of latitude at the equator.
	EquatorDegreeLatM = 110574
)

// EquatorMetresPerDegree returns the metres per degree of longitude at
// latitude lat (EquatorDegreeLonM·cos(lat)) and of latitude
// (EquatorDegreeLatM), a flat frame that is MetresPerDegreeLon and
// MetresPerDegree to within 0.7 %. gridgen draws and numbers grids in it
// (piece positions, code bands, the report's gap and overlap areas); it is
// kept as its own frame, not replaced by the sphere's, because the piece
// positions steer the partition: other figures could draw other grids from
// the same input, and plans are reproduced bit for bit.
func EquatorMetresPerDegree(lat float64) (kx, ky float64) {
	return EquatorDegreeLonM * math.Cos(lat*math.Pi/180), EquatorDegreeLatM
}
