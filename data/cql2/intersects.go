package cql2

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/paulmach/orb"
)

// Intersects reports whether a and b share at least one point in the plane
// of their coordinates, as S_INTERSECTS and PostGIS's ST_Intersects define
// it: touching counts, a polygon's holes are outside it. Any orb geometry
// works, a Bound as the box it is; an empty or nil one intersects nothing.
// The tests are exact for exact inputs; where floating point rounds (a point
// a hair off a slanted edge), they may differ from PostGIS's robust ones.
func Intersects(a, b orb.Geometry) bool {
	if a == nil || b == nil || !a.Bound().Intersects(b.Bound()) {
		return false
	}
	pa, pb := parts(a, nil), parts(b, nil)
	for _, x := range pa {
		for _, y := range pb {
			if partsIntersect(x, y) {
				return true
			}
		}
	}
	return false
}

// part is a point (one element), a line, or a polygon.
type part struct {
	kind  byte // 'p' point, 'l' line, 'a' area
	line  []orb.Point
	rings []orb.Ring
	bound orb.Bound
}

// parts splits g into points, lines and polygons.
func parts(g orb.Geometry, out []part) []part {
	switch g := g.(type) {
	case orb.Point:
		out = append(out, part{kind: 'p', line: []orb.Point{g}, bound: g.Bound()})
	case orb.MultiPoint:
		for _, p := range g {
			out = parts(p, out)
		}
	case orb.LineString:
		out = lineParts(g, out)
	case orb.MultiLineString:
		for _, l := range g {
			out = lineParts(l, out)
		}
	case orb.Ring:
		out = parts(orb.Polygon{g}, out)
	case orb.Polygon:
		if len(g) > 0 && len(g[0]) > 0 {
			out = append(out, part{kind: 'a', rings: g, bound: g.Bound()})
		}
	case orb.MultiPolygon:
		for _, p := range g {
			out = parts(p, out)
		}
	case orb.Collection:
		for _, m := range g {
			out = parts(m, out)
		}
	case orb.Bound:
		switch {
		case g.IsEmpty():
		case g.Min == g.Max:
			out = parts(g.Min, out)
		case g.Min[0] == g.Max[0] || g.Min[1] == g.Max[1]:
			out = parts(orb.LineString{g.Min, g.Max}, out)
		default:
			out = parts(g.ToPolygon(), out)
		}
	}
	return out
}

func lineParts(l orb.LineString, out []part) []part {
	switch len(l) {
	case 0:
		return out
	case 1:
		return parts(l[0], out)
	}
	return append(out, part{kind: 'l', line: l, bound: l.Bound()})
}

// partsIntersect tests two parts, the lower kind first.
func partsIntersect(x, y part) bool {
	if !x.bound.Intersects(y.bound) {
		return false
	}
	if rank(x.kind) > rank(y.kind) {
		x, y = y, x
	}
	switch {
	case x.kind == 'p' && y.kind == 'p':
		return x.line[0] == y.line[0]
	case x.kind == 'p' && y.kind == 'l':
		return onLine(x.line[0], y.line)
	case x.kind == 'p':
		return inPolygon(x.line[0], y.rings)
	case x.kind == 'l' && y.kind == 'l':
		return linesCross(x.line, y.line, y.bound)
	case x.kind == 'l':
		// The line crosses or touches an edge, or lies inside.
		for _, r := range y.rings {
			if linesCross(x.line, closed(r), y.bound) {
				return true
			}
		}
		return inPolygon(x.line[0], y.rings)
	}
	// Two polygons: edges meet, or one lies inside the other.
	for _, r := range x.rings {
		for _, s := range y.rings {
			if linesCross(closed(r), closed(s), y.bound) {
				return true
			}
		}
	}
	return inPolygon(x.rings[0][0], y.rings) || inPolygon(y.rings[0][0], x.rings)
}

func rank(kind byte) int {
	switch kind {
	case 'p':
		return 0
	case 'l':
		return 1
	}
	return 2
}

// closed returns the ring with its last point the same as its first.
func closed(r orb.Ring) []orb.Point {
	if len(r) > 1 && r[0] != r[len(r)-1] {
		return append(r[:len(r):len(r)], r[0])
	}
	return r
}

// inPolygon reports whether p is inside the polygon or on its boundary.
func inPolygon(p orb.Point, rings []orb.Ring) bool {
	in, on := inRing(p, rings[0])
	if on {
		return true
	}
	if !in {
		return false
	}
	for _, h := range rings[1:] {
		in, on := inRing(p, h)
		if on {
			return true
		}
		if in {
			return false
		}
	}
	return true
}

// inRing reports whether p is inside the ring, and whether it is on it.
func inRing(p orb.Point, r orb.Ring) (in, on bool) {
	pts := closed(r)
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		if onSegment(p, a, b) {
			return false, true
		}
		// Crossing number: a ray to +x crosses the edge.
		if (a[1] > p[1]) != (b[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if p[0] < x {
				in = !in
			}
		}
	}
	return in, false
}

func onLine(p orb.Point, l []orb.Point) bool {
	for i := 1; i < len(l); i++ {
		if onSegment(p, l[i-1], l[i]) {
			return true
		}
	}
	return false
}

// linesCross reports whether any segment of a meets any segment of b; bb is
// b's bound, to skip segments of a that cannot reach it.
func linesCross(a, b []orb.Point, bb orb.Bound) bool {
	for i := 1; i < len(a); i++ {
		p, q := a[i-1], a[i]
		sb := orb.Bound{Min: p, Max: p}.Extend(q)
		if !sb.Intersects(bb) {
			continue
		}
		for j := 1; j < len(b); j++ {
			if segmentsMeet(p, q, b[j-1], b[j]) {
				return true
			}
		}
	}
	return false
}

// orient is the sign of the turn a→b→c: >0 left, <0 right, 0 collinear.
func orient(a, b, c orb.Point) int {
	v := (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// within reports whether c is inside the box of a and b.
func within(c, a, b orb.Point) bool {
	return min(a[0], b[0]) <= c[0] && c[0] <= max(a[0], b[0]) && min(a[1], b[1]) <= c[1] && c[1] <= max(a[1], b[1])
}

func onSegment(p, a, b orb.Point) bool { return orient(a, b, p) == 0 && within(p, a, b) }

func segmentsMeet(p1, p2, q1, q2 orb.Point) bool {
	d1, d2 := orient(q1, q2, p1), orient(q1, q2, p2)
	d3, d4 := orient(p1, p2, q1), orient(p1, p2, q2)
	if d1*d2 < 0 && d3*d4 < 0 {
		return true
	}
	return (d1 == 0 && within(p1, q1, q2)) || (d2 == 0 && within(p2, q1, q2)) ||
		(d3 == 0 && within(q1, p1, p2)) || (d4 == 0 && within(q2, p1, p2))
}

// invalidPolygon says what makes a polygon literal invalid, or returns "".
// PostGIS (GEOS) can fail a query outright on an invalid polygon ("side
// location conflict"), so a filter must not carry one. The test is stricter
// than OGC validity: no two edges of any rings may meet but consecutive
// edges at their shared corner, so a hole may not touch its shell at all;
// every hole lies inside the shell and outside the other holes. Its cost is
// quadratic in the worst case (a star, whose edges' boxes all overlap):
// MaxPoints bounds it to tens of milliseconds.
func invalidPolygon(pg orb.Polygon) string {
	type seg struct {
		a, b       orb.Point
		ring, i, n int // ring, index of the edge in it, edges in the ring
	}
	var segs []seg
	rings := make([][]orb.Point, len(pg))
	for r, ring := range pg {
		var pts []orb.Point
		for _, p := range ring {
			if len(pts) == 0 || pts[len(pts)-1] != p {
				pts = append(pts, p)
			}
		}
		if len(pts) < 4 {
			return "a ring needs 3 distinct corners"
		}
		rings[r] = pts
		for i := 1; i < len(pts); i++ {
			segs = append(segs, seg{pts[i-1], pts[i], r, i - 1, len(pts) - 1})
		}
	}
	// Sort and sweep along x: only edges whose x ranges overlap are paired.
	minx := func(s seg) float64 { return min(s.a[0], s.b[0]) }
	slices.SortFunc(segs, func(s, t seg) int { return cmp.Compare(minx(s), minx(t)) })
	for i, s := range segs {
		sMaxX := max(s.a[0], s.b[0])
		sMinY, sMaxY := min(s.a[1], s.b[1]), max(s.a[1], s.b[1])
		for _, t := range segs[i+1:] {
			if minx(t) > sMaxX {
				break
			}
			if max(t.a[1], t.b[1]) < sMinY || min(t.a[1], t.b[1]) > sMaxY {
				continue
			}
			if s.ring == t.ring && (t.i-s.i == 1 || s.i-t.i == 1 || (s.i == 0 && t.i == s.n-1) || (t.i == 0 && s.i == t.n-1)) {
				// Consecutive edges share a corner; they must not fold back
				// over each other there.
				p, q, r := s.a, s.b, t.b
				if s.b != t.a {
					p, q, r = t.a, t.b, s.b
				}
				if orient(p, q, r) == 0 && (within(r, p, q) || within(p, q, r)) {
					return fmt.Sprintf("the ring folds back on itself at (%s %s)", coord(q[0]), coord(q[1]))
				}
				continue
			}
			if segmentsMeet(s.a, s.b, t.a, t.b) {
				return fmt.Sprintf("its edges cross or touch near (%s %s)", coord(s.a[0]), coord(s.a[1]))
			}
		}
	}
	// No edges meet: a ring is wholly inside another or wholly outside.
	for h := 1; h < len(rings); h++ {
		if in, _ := inRing(rings[h][0], rings[0]); !in {
			return fmt.Sprintf("hole %d is not inside the outer ring", h)
		}
		for o := 1; o < len(rings); o++ {
			if in, _ := inRing(rings[h][0], rings[o]); o != h && in {
				return fmt.Sprintf("hole %d is inside hole %d", h, o)
			}
		}
	}
	return ""
}
