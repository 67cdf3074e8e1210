package spatial

import (
	"fmt"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

// H3 helpers convert between orb's lon/lat order and H3's lat/lng order in
// one place, so no caller gets the axes swapped.

// PointToCell returns the H3 cell of resolution res containing p.
func PointToCell(p orb.Point, res int) (h3.Cell, error) {
	if !ValidLonLat(p) {
		return 0, fmt.Errorf("%w: %v", ErrInvalidPoint, p)
	}
	return h3.LatLngToCell(h3.LatLng{Lat: p[1], Lng: p[0]}, res)
}

// CellPolygon returns the boundary of cell c as a closed counter-clockwise ring.
func CellPolygon(c h3.Cell) (orb.Polygon, error) {
	b, err := h3.CellToBoundary(c)
	if err != nil {
		return nil, err
	}
	return orb.Polygon{loopToRing(b)}, nil
}

// CellCenter returns the centre of cell c.
func CellCenter(c h3.Cell) (orb.Point, error) {
	ll, err := h3.CellToLatLng(c)
	if err != nil {
		return orb.Point{}, err
	}
	return orb.Point{ll.Lng, ll.Lat}, nil
}

// CellsToMultiPolygon returns the outline of a set of cells of one
// resolution (no duplicates), with holes, as a MultiPolygon.
func CellsToMultiPolygon(cells []h3.Cell) (orb.MultiPolygon, error) {
	gps, err := h3.CellsToMultiPolygon(cells)
	if err != nil {
		return nil, err
	}
	mp := make(orb.MultiPolygon, 0, len(gps))
	for _, gp := range gps {
		poly := orb.Polygon{loopToRing(gp.GeoLoop)}
		for _, h := range gp.Holes {
			poly = append(poly, loopToRing(h))
		}
		mp = append(mp, poly)
	}
	return mp, nil
}

// PolygonToCells returns the cells of resolution res whose centres lie in poly.
func PolygonToCells(poly orb.Polygon, res int) ([]h3.Cell, error) {
	if len(poly) == 0 {
		return nil, fmt.Errorf("%w: empty polygon", ErrInvalidGeometry)
	}
	gp := h3.GeoPolygon{GeoLoop: ringToLoop(poly[0])}
	for _, h := range poly[1:] {
		gp.Holes = append(gp.Holes, ringToLoop(h))
	}
	return h3.PolygonToCells(gp, res)
}

// loopToRing converts an H3 loop to a closed orb ring.
func loopToRing(loop []h3.LatLng) orb.Ring {
	r := make(orb.Ring, 0, len(loop)+1)
	for _, ll := range loop {
		r = append(r, orb.Point{ll.Lng, ll.Lat})
	}
	if len(r) > 0 && r[0] != r[len(r)-1] {
		r = append(r, r[0])
	}
	return r
}

// ringToLoop converts an orb ring to an H3 loop (H3 wants it open).
func ringToLoop(r orb.Ring) h3.GeoLoop {
	n := len(r)
	if n > 1 && r[0] == r[n-1] {
		n--
	}
	loop := make(h3.GeoLoop, n)
	for i, p := range r[:n] {
		loop[i] = h3.LatLng{Lat: p[1], Lng: p[0]}
	}
	return loop
}
