// Package spatial is wangge's geometry on orb: coordinate systems used by
// Chinese phones (GCJ-02, BD-09), the exact grid locator, point indexes on
// tidwall/rtree, camera sectors (drawn, and prepared for point tests), a
// raster for covered areas, area and length on the sphere, metres per
// degree for local flat frames, H3 helpers and Getis-Ord Gi* hotspot
// statistics.
//
// The package is pure: it does no I/O, holds no package-level mutable state
// and imports nothing else of wangge, so every other package can use it.
// Coordinates are orb.Point{lon, lat} in degrees, WGS 84 unless a function
// says otherwise.
package spatial

import "errors"

// Sentinel errors; wrap them with fmt.Errorf("…: %w", err) to add detail.
var (
	// ErrUnknownCRS is returned by ParseCRS for a name it does not know.
	ErrUnknownCRS = errors.New("spatial: unknown coordinate reference system")
	// ErrInvalidGeometry is returned for empty, unclosed or non-finite geometry.
	ErrInvalidGeometry = errors.New("spatial: invalid geometry")
	// ErrInvalidPoint is returned for a point with NaN, infinite or out-of-range coordinates.
	ErrInvalidPoint = errors.New("spatial: invalid point")
	// ErrDuplicateID is returned when an id is added twice.
	ErrDuplicateID = errors.New("spatial: duplicate id")
	// ErrNotFound is returned when an id is not in an index.
	ErrNotFound = errors.New("spatial: id not found")
	// ErrInvalidArgument is returned for a parameter outside its documented range.
	ErrInvalidArgument = errors.New("spatial: invalid argument")
)
