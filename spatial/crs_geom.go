package spatial

import (
	"math"

	"github.com/paulmach/orb"
)

// Whole geometries and bounds in another CRS: what the HTTP answers and the
// GCJ-02 tiles use to draw WGS 84 data where a Chinese base map expects it.

// TransformGeometry returns a copy of g with every position mapped by f.
// g is not changed; nil and unknown geometry types give nil.
func TransformGeometry(g orb.Geometry, f func(orb.Point) orb.Point) orb.Geometry {
	switch g := g.(type) {
	case orb.Point:
		return f(g)
	case orb.MultiPoint:
		return orb.MultiPoint(transformPoints(g, f))
	case orb.LineString:
		return orb.LineString(transformPoints(g, f))
	case orb.MultiLineString:
		out := make(orb.MultiLineString, len(g))
		for i, l := range g {
			out[i] = transformPoints(l, f)
		}
		return out
	case orb.Ring:
		return orb.Ring(transformPoints(g, f))
	case orb.Polygon:
		return transformPolygon(g, f)
	case orb.MultiPolygon:
		out := make(orb.MultiPolygon, len(g))
		for i, p := range g {
			out[i] = transformPolygon(p, f)
		}
		return out
	case orb.Collection:
		out := make(orb.Collection, len(g))
		for i, x := range g {
			out[i] = TransformGeometry(x, f)
		}
		return out
	case orb.Bound:
		return orb.Bound{Min: f(g.Min), Max: f(g.Max)}
	}
	return nil
}

func transformPoints[S ~[]orb.Point](pts S, f func(orb.Point) orb.Point) []orb.Point {
	out := make([]orb.Point, len(pts))
	for i, p := range pts {
		out[i] = f(p)
	}
	return out
}

func transformPolygon(p orb.Polygon, f func(orb.Point) orb.Point) orb.Polygon {
	out := make(orb.Polygon, len(p))
	for i, r := range p {
		out[i] = transformPoints(r, f)
	}
	return out
}

// FromWGS84Geometry returns a copy of the WGS 84 geometry g in c; for
// WGS84 it returns g itself.
func (c CRS) FromWGS84Geometry(g orb.Geometry) orb.Geometry {
	if c == WGS84 || g == nil {
		return g
	}
	return TransformGeometry(g, c.FromWGS84)
}

// offsetSlope bounds how fast the GCJ-02 and BD-09 offsets change, in
// degrees of offset per degree moved (measured: under 0.025 anywhere in
// China, TestOffsetBoundsHold). The bounds below widen by it so that a
// point inside the box whose image is not at a corner's is still inside.
const offsetSlope = 0.05

// offsetSlack is a constant widening of those bounds, in degrees (about
// 1 m), for the rounding of the iterated inverses.
const offsetSlack = 1e-5

// BoundFromWGS84 returns a lon/lat bound that holds the image in c of
// every point of the WGS 84 bound b, and b itself. The offsets are smooth
// within China, so the images of the corners widened by offsetSlope of the
// box's size hold every interior point's; b is included because the
// offset stops at the edge of the box outsideChina tests, where points a
// metre apart may be 500 m apart in c.
func (c CRS) BoundFromWGS84(b orb.Bound) orb.Bound {
	if c == WGS84 {
		return b
	}
	return imageBound(b, c.FromWGS84)
}

// BoundToWGS84 returns a WGS 84 bound that holds every point whose image
// in c lies in b (b given in c), and b itself: what to search in WGS 84
// data for the features to draw in a box of c.
func (c CRS) BoundToWGS84(b orb.Bound) orb.Bound {
	if c == WGS84 {
		return b
	}
	return imageBound(b, c.ToWGS84)
}

func imageBound(b orb.Bound, f func(orb.Point) orb.Point) orb.Bound {
	out := b
	for _, p := range [4]orb.Point{b.Min, b.Max, {b.Min[0], b.Max[1]}, {b.Max[0], b.Min[1]}} {
		out = out.Extend(f(p))
	}
	pad := offsetSlope*math.Max(b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]) + offsetSlack
	return out.Pad(pad)
}
