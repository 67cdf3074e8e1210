package cql2

import (
	"strings"

	"github.com/paulmach/orb"
)

// The spatial part of the grammar: S_INTERSECTS and the geometry literals
// (WKT points, lines, polygons, their multi- forms, and BBOX) it takes.

// intersects reads S_INTERSECTS(a, b), one a property and one a geometry
// literal in either order.
func (p *parser) intersects() (*Expr, error) {
	t := p.next()
	if err := p.predicate(t.pos); err != nil {
		return nil, err
	}
	if err := p.expect("(", "after S_INTERSECTS"); err != nil {
		return nil, err
	}
	a, err := p.spatialOperand()
	if err != nil {
		return nil, err
	}
	if err := p.expect(",", "between the arguments of S_INTERSECTS"); err != nil {
		return nil, err
	}
	b, err := p.spatialOperand()
	if err != nil {
		return nil, err
	}
	if err := p.expect(")", "to close S_INTERSECTS("); err != nil {
		return nil, err
	}
	switch {
	case a.val == nil && b.val == nil:
		return nil, errorf(t.pos, "S_INTERSECTS of two properties is not supported: give a geometry literal such as BBOX(…) or POLYGON((…))")
	case a.val != nil && b.val != nil:
		return nil, errorf(t.pos, "S_INTERSECTS needs the geometry property as one of its arguments")
	case a.val != nil:
		a, b = b, a
	}
	return &Expr{Kind: SIntersects, Pos: t.pos, Property: a.prop, PropPos: a.pos, Values: []Value{*b.val}}, nil
}

func (p *parser) spatialOperand() (operand, error) {
	t := p.peek()
	if t.kind == tQuoted || (t.kind == tIdent && (geometryWords[strings.ToUpper(t.text)] || !keywords[strings.ToUpper(t.text)])) {
		return p.operand()
	}
	return operand{}, errorf(t.pos, "expected the geometry property or a geometry such as BBOX(…), POINT(…) or POLYGON((…)), found %s", describe(t))
}

var geometryWords = wordSet(`BBOX POINT LINESTRING POLYGON MULTIPOINT MULTILINESTRING MULTIPOLYGON GEOMETRYCOLLECTION`)

// geometry reads a spatial literal: a BBOX or a WKT geometry (2D; a Z
// coordinate is read and dropped).
func (p *parser) geometry() (orb.Geometry, error) {
	t := p.next()
	up := strings.ToUpper(t.text)
	if up == "BBOX" {
		return p.bbox(t)
	}
	if z := p.peek(); is(z, "Z") {
		p.next()
	}
	switch up {
	case "POINT":
		if err := p.expect("(", "after POINT"); err != nil {
			return nil, err
		}
		pt, err := p.point()
		if err != nil {
			return nil, err
		}
		return pt, p.expect(")", "to close POINT(")
	case "LINESTRING":
		return p.lineString()
	case "POLYGON":
		return p.polygon()
	case "MULTIPOINT":
		return p.multiPoint()
	case "MULTILINESTRING":
		var m orb.MultiLineString
		err := p.list("MULTILINESTRING", func() error {
			l, err := p.lineString()
			m = append(m, l)
			return err
		})
		return m, err
	case "MULTIPOLYGON":
		var m orb.MultiPolygon
		err := p.list("MULTIPOLYGON", func() error {
			pg, err := p.polygon()
			m = append(m, pg)
			return err
		})
		return m, err
	case "GEOMETRYCOLLECTION":
		var c orb.Collection
		err := p.list("GEOMETRYCOLLECTION", func() error {
			m := p.peek()
			if !geometryWords[strings.ToUpper(m.text)] || is(m, "BBOX") || is(m, "GEOMETRYCOLLECTION") || m.kind != tIdent {
				return errorf(m.pos, "expected a POINT, LINESTRING, POLYGON or MULTI… in GEOMETRYCOLLECTION, found %s", describe(m))
			}
			g, err := p.geometry()
			c = append(c, g)
			return err
		})
		return c, err
	}
	return nil, errorf(t.pos, "expected a geometry, found %s", describe(t))
}

// list reads "(" item {"," item} ")".
func (p *parser) list(what string, item func() error) error {
	if err := p.expect("(", "after "+what); err != nil {
		return err
	}
	for {
		if err := item(); err != nil {
			return err
		}
		t := p.next()
		if isPunct(t, ")") {
			return nil
		}
		if !isPunct(t, ",") {
			return errorf(t.pos, "expected \",\" or \")\" in %s, found %s", what, describe(t))
		}
	}
}

func (p *parser) coordinate() (float64, error) {
	t := p.next()
	if t.kind != tNumber {
		return 0, errorf(t.pos, "expected a coordinate, found %s", describe(t))
	}
	v, err := number(t)
	return v.Num, err
}

// point reads "x y [z]".
func (p *parser) point() (orb.Point, error) {
	pos := p.peek().pos
	p.npoints++
	if p.npoints > MaxPoints {
		return orb.Point{}, errorf(pos, "the filter's geometries have more than %d points", MaxPoints)
	}
	x, err := p.coordinate()
	if err != nil {
		return orb.Point{}, err
	}
	y, err := p.coordinate()
	if err != nil {
		return orb.Point{}, err
	}
	if p.peek().kind == tNumber {
		p.next()
	}
	return orb.Point{x, y}, nil
}

// points reads "(" point {"," point} ")".
func (p *parser) points(what string) ([]orb.Point, error) {
	var ps []orb.Point
	err := p.list(what, func() error {
		pt, err := p.point()
		ps = append(ps, pt)
		return err
	})
	return ps, err
}

func (p *parser) lineString() (orb.LineString, error) {
	pos := p.peek().pos
	ps, err := p.points("LINESTRING")
	if err != nil {
		return nil, err
	}
	if len(ps) < 2 {
		return nil, errorf(pos, "a line needs at least 2 points")
	}
	return ps, nil
}

func (p *parser) polygon() (orb.Polygon, error) {
	var pg orb.Polygon
	pos := p.peek().pos
	err := p.list("POLYGON", func() error {
		pos := p.peek().pos
		ps, err := p.points("a POLYGON ring")
		if err != nil {
			return err
		}
		if len(ps) < 4 || ps[0] != ps[len(ps)-1] {
			return errorf(pos, "a polygon ring needs at least 4 points, the last the same as the first")
		}
		pg = append(pg, ps)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if msg := invalidPolygon(pg); msg != "" {
		return nil, errorf(pos, "invalid polygon: %s", msg)
	}
	return pg, nil
}

// multiPoint reads MULTIPOINT((1 2), (3 4)) and the common MULTIPOINT(1 2, 3 4).
func (p *parser) multiPoint() (orb.MultiPoint, error) {
	var m orb.MultiPoint
	err := p.list("MULTIPOINT", func() error {
		paren := isPunct(p.peek(), "(")
		if paren {
			p.next()
		}
		pt, err := p.point()
		if err != nil {
			return err
		}
		m = append(m, pt)
		if paren {
			return p.expect(")", "to close the point")
		}
		return nil
	})
	return m, err
}

// bbox reads BBOX(west, south, east, north) or, with elevations,
// BBOX(west, south, min, east, north, max); elevations are dropped.
func (p *parser) bbox(t token) (orb.Geometry, error) {
	var n []float64
	err := p.list("BBOX", func() error {
		f, err := p.coordinate()
		n = append(n, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	switch len(n) {
	case 4:
	case 6:
		n = []float64{n[0], n[1], n[3], n[4]}
	default:
		return nil, errorf(t.pos, "BBOX needs 4 numbers (west, south, east, north) or 6, found %d", len(n))
	}
	b := orb.Bound{Min: orb.Point{n[0], n[1]}, Max: orb.Point{n[2], n[3]}}
	if b.Min[1] > b.Max[1] {
		return nil, errorf(t.pos, "BBOX: south %v is greater than north %v", b.Min[1], b.Max[1])
	}
	if b.Min[0] > b.Max[0] {
		return nil, errorf(t.pos, "BBOX: west %v is greater than east %v (boxes across the antimeridian are not supported)", b.Min[0], b.Max[0])
	}
	return b, nil
}
