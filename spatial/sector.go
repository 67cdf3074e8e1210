package spatial

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// A camera's coverage is a sector: the points within a range of the camera
// whose bearing lies within half the field of view of its azimuth. This
// file draws it (Sector, for maps) and tests points against it
// (PreparedSector, for coverage counts).

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

// PreparedSector is the sector Sector draws, prepared for fast point tests.
// Distances and bearings are measured in a local equirectangular frame at
// the centre (MetresPerDegreeLon, MetresPerDegree), within 0.1 % of Sector's
// great-circle figures at ranges up to 10 km, and a test is a few
// multiplications, with no trigonometry per point.
type PreparedSector struct {
	cx, cy  float64 // centre, degrees
	kx, ky  float64 // metres per degree at the centre
	ux, uy  float64 // unit vector of the azimuth (east, north)
	cosHalf float64 // cos(fov/2); a point is in when its angle to u is within fov/2
	r2      float64
	full    bool // fov ≥ 360
	box     orb.Bound
}

// PrepareSector prepares the sector of radius rangeM metres around center
// whose bearings lie within fovDeg/2 of azimuthDeg (degrees clockwise from
// north); fovDeg >= 360 is the whole disc. Unlike Sector it does not check
// its arguments: callers pass validated cameras.
func PrepareSector(center orb.Point, azimuthDeg, fovDeg, rangeM float64) PreparedSector {
	ky := MetresPerDegree
	kx := MetresPerDegreeLon(center[1])
	az := azimuthDeg * math.Pi / 180
	s := PreparedSector{cx: center[0], cy: center[1], kx: kx, ky: ky, ux: math.Sin(az), uy: math.Cos(az),
		cosHalf: math.Cos(fovDeg / 2 * math.Pi / 180), r2: rangeM * rangeM, full: fovDeg >= 360}
	// The box holds the centre, both arc ends and the arc's points due
	// north, east, south and west when the arc passes them: the extremes of
	// a sector are among those.
	b := orb.Bound{Min: center, Max: center}
	at := func(bearing float64) orb.Point {
		t := bearing * math.Pi / 180
		return orb.Point{center[0] + rangeM*math.Sin(t)/kx, center[1] + rangeM*math.Cos(t)/ky}
	}
	if s.full {
		b = b.Extend(at(0)).Extend(at(90)).Extend(at(180)).Extend(at(270))
	} else {
		b = b.Extend(at(azimuthDeg - fovDeg/2)).Extend(at(azimuthDeg + fovDeg/2))
		for q := 0.0; q < 360; q += 90 {
			if d := math.Mod(q-azimuthDeg+540, 360) - 180; math.Abs(d) <= fovDeg/2 {
				b = b.Extend(at(q))
			}
		}
	}
	s.box = b
	return s
}

// Center returns the sector's centre, the camera's position.
func (s *PreparedSector) Center() orb.Point { return orb.Point{s.cx, s.cy} }

// RangeM returns the sector's radius in metres.
func (s *PreparedSector) RangeM() float64 { return math.Sqrt(s.r2) }

// Bound returns a box holding every point Contains accepts (and Sector's
// polygon to within 0.1 % of the range), so that a caller can narrow the
// points it tests with an index before calling Contains.
func (s *PreparedSector) Bound() orb.Bound { return s.box }

// Contains reports whether p is within range and within the field of view
// (boundaries included; the centre is always in).
func (s *PreparedSector) Contains(p orb.Point) bool { return s.ContainsXY(p[0], p[1]) }

// ContainsXY is Contains for the point (x, y), for loops over many points
// made on the fly (raster cells): Go keeps an orb.Point, an array, in
// memory where two floats stay in registers, which cost a sixth of the
// demo's whole coverage computation (516 cameras) in its raster loop.
func (s *PreparedSector) ContainsXY(x, y float64) bool {
	dx, dy := (x-s.cx)*s.kx, (y-s.cy)*s.ky
	d2 := dx*dx + dy*dy
	if d2 > s.r2 {
		return false
	}
	return s.full || d2 == 0 || dx*s.ux+dy*s.uy >= math.Sqrt(d2)*s.cosHalf
}
