package cql2

import (
	"testing"

	"github.com/paulmach/orb"
)

func TestIntersects(t *testing.T) {
	square := orb.Polygon{{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}}
	holed := orb.Polygon{square[0], {{1, 1}, {1, 3}, {3, 3}, {3, 1}, {1, 1}}}
	open := orb.Polygon{{{0, 0}, {4, 0}, {4, 4}, {0, 4}}} // not closed: read as closed
	tests := []struct {
		name string
		a, b orb.Geometry
		want bool
	}{
		{"point inside", orb.Point{2, 2}, square, true},
		{"point on an edge", orb.Point{4, 2}, square, true},
		{"point on a vertex", orb.Point{4, 4}, square, true},
		{"point outside", orb.Point{5, 2}, square, false},
		{"point outside, in the envelope of a triangle", orb.Point{3.5, 3.5}, orb.Polygon{{{0, 0}, {4, 0}, {0, 4}, {0, 0}}}, false},
		{"point in the hole", orb.Point{2, 2}, holed, false},
		{"point on the hole's edge", orb.Point{1, 2}, holed, true},
		{"point in the ring of a holed polygon", orb.Point{0.5, 2}, holed, true},
		{"unclosed ring", orb.Point{2, 2}, open, true},
		{"same points", orb.Point{1, 1}, orb.Point{1, 1}, true},
		{"different points", orb.Point{1, 1}, orb.Point{1, 2}, false},
		{"point on a line", orb.Point{1, 1}, orb.LineString{{0, 0}, {2, 2}}, true},
		{"point off a line", orb.Point{1, 1.5}, orb.LineString{{0, 0}, {2, 2}}, false},
		{"crossing lines", orb.LineString{{0, 0}, {2, 2}}, orb.LineString{{0, 2}, {2, 0}}, true},
		{"touching lines", orb.LineString{{0, 0}, {1, 1}}, orb.LineString{{1, 1}, {2, 0}}, true},
		{"collinear overlapping lines", orb.LineString{{0, 0}, {2, 0}}, orb.LineString{{1, 0}, {3, 0}}, true},
		{"parallel lines", orb.LineString{{0, 0}, {2, 0}}, orb.LineString{{0, 1}, {2, 1}}, false},
		{"line across a polygon", orb.LineString{{-1, 2}, {5, 2}}, square, true},
		{"line inside a polygon", orb.LineString{{0.5, 0.5}, {0.6, 0.6}}, square, true},
		{"line inside the hole", orb.LineString{{1.5, 1.5}, {2.5, 2.5}}, holed, false},
		{"line touching a vertex", orb.LineString{{4, 4}, {5, 5}}, square, true},
		{"line outside", orb.LineString{{5, 5}, {6, 6}}, square, false},
		{"overlapping polygons", square, orb.Polygon{{{3, 3}, {5, 3}, {5, 5}, {3, 5}, {3, 3}}}, true},
		{"polygon inside", orb.Polygon{{{1, 1}, {2, 1}, {2, 2}, {1, 1}}}, square, true},
		{"polygon around", square, orb.Polygon{{{1, 1}, {2, 1}, {2, 2}, {1, 1}}}, true},
		{"polygon in the hole", orb.Polygon{{{1.5, 1.5}, {2.5, 1.5}, {2.5, 2.5}, {1.5, 1.5}}}, holed, false},
		{"polygon across the hole's edge", orb.Polygon{{{0.5, 1.5}, {2.5, 1.5}, {2.5, 2.5}, {0.5, 1.5}}}, holed, true},
		{"polygons sharing an edge", square, orb.Polygon{{{4, 0}, {8, 0}, {8, 4}, {4, 4}, {4, 0}}}, true},
		{"polygons apart", square, orb.Polygon{{{5, 0}, {8, 0}, {8, 4}, {5, 0}}}, false},
		{"triangle envelope only", orb.Polygon{{{0, 0}, {4, 0}, {0, 4}, {0, 0}}}, orb.Polygon{{{3, 3}, {4, 3}, {4, 4}, {3, 3}}}, false},
		{"bound", orb.Bound{Min: orb.Point{3, 3}, Max: orb.Point{5, 5}}, square, true},
		{"bound in the hole", orb.Bound{Min: orb.Point{1.5, 1.5}, Max: orb.Point{2.5, 2.5}}, holed, false},
		{"degenerate bound: a point", orb.Bound{Min: orb.Point{4, 4}, Max: orb.Point{4, 4}}, square, true},
		{"degenerate bound: a line", orb.Bound{Min: orb.Point{4, 1}, Max: orb.Point{6, 1}}, square, true},
		{"multipolygon", orb.MultiPolygon{{{{10, 10}, {11, 10}, {11, 11}, {10, 10}}}, square}, orb.Point{2, 2}, true},
		{"multipoint", orb.MultiPoint{{9, 9}, {3, 3}}, square, true},
		{"collection", orb.Collection{orb.Point{9, 9}, orb.LineString{{5, 5}, {3, 3}}}, square, true},
		{"collection apart", orb.Collection{orb.Point{9, 9}}, square, false},
		{"empty", orb.MultiPolygon{}, square, false},
		{"nil", nil, square, false},
	}
	for _, tc := range tests {
		if got := Intersects(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Intersects(a, b) = %v, want %v", tc.name, got, tc.want)
		}
		if got := Intersects(tc.b, tc.a); got != tc.want {
			t.Errorf("%s: Intersects(b, a) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
