package tiles

import (
	"context"
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// streetScene is a primary road running east–west through Vaduz, wiggling
// by a few metres every 10 m, a residential street crossing it, and two
// units.
func streetScene() *Scene {
	var road orb.LineString
	for i := range 201 {
		x := 9.50 + float64(i)*0.0002
		road = append(road, orb.Point{x, 47.14 + 0.00003*math.Sin(float64(i))})
	}
	streets := []data.Street{
		{FID: 7, ID: "w7", Kind: data.StreetRoad, Class: "primary", Name: "Landstrasse", Geometry: orb.MultiLineString{road}},
		{FID: 8, ID: "w8", Kind: data.StreetRoad, Class: "residential", Geometry: orb.MultiLineString{{{9.52, 47.13}, {9.52, 47.15}}}},
	}
	units := []data.Unit{
		{FID: 1, ID: "school-1", Kind: "school", Name: "Primarschule", Geometry: orb.Point{9.521, 47.141}},
		{FID: 2, ID: "works-2", Kind: "landuse_industrial", Geometry: orb.MultiPolygon{{{{9.522, 47.142}, {9.523, 47.142}, {9.523, 47.143}, {9.522, 47.143}, {9.522, 47.142}}}}},
	}
	return &Scene{Streets: NewLines(StreetFeatures(streets)), Units: NewUnits(units)}
}

func renderLayer(t *testing.T, sc *Scene, layer string, tile maptile.Tile) (decLayer, bool) {
	t.Helper()
	b, err := sc.Render(context.Background(), []string{layer}, tile)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := decodeTile(b)
	if err != nil {
		t.Fatalf("tile does not decode: %v", err)
	}
	for _, l := range ls {
		if l.Name == layer {
			return l, true
		}
	}
	return decLayer{}, false
}

func TestStreetTiles(t *testing.T) {
	sc := streetScene()
	at := orb.Point{9.52, 47.14}
	for _, tc := range []struct {
		z     maptile.Zoom
		feats int // streets drawn: the residential one only from 14
	}{{9, 0}, {10, 1}, {13, 1}, {14, 2}, {18, 2}} {
		l, ok := renderLayer(t, sc, LayerStreets, maptile.At(at, tc.z))
		if got := len(l.Features); got != tc.feats || ok != (tc.feats > 0) {
			t.Errorf("z%d: %d features (layer present %v), want %d", tc.z, got, ok, tc.feats)
			continue
		}
		for _, f := range l.Features {
			if f.Type != GeomLineString {
				t.Errorf("z%d: feature %d is geometry type %d, want a line", tc.z, f.ID, f.Type)
			}
			parts, err := decodeGeometry(f.Type, f.Geometry)
			if err != nil {
				t.Fatalf("z%d feature %d: %v", tc.z, f.ID, err)
			}
			for _, p := range parts {
				if len(p) < 2 {
					t.Errorf("z%d feature %d: a line of %d points", tc.z, f.ID, len(p))
				}
				for _, q := range p {
					if !inside(q) {
						t.Errorf("z%d feature %d: point %v outside the tile's buffer", tc.z, f.ID, q)
					}
				}
			}
			props, err := f.props(l)
			if err != nil {
				t.Fatal(err)
			}
			if f.ID == 7 && (props["kind"] != "road" || props["class"] != "primary" || props["name"] != "Landstrasse") {
				t.Errorf("z%d: road properties %v", tc.z, props)
			}
		}
	}
	// Simplified per zoom: at 10 the wiggles (±3 m, under a pixel) are
	// gone, at 18 they are drawn.
	count := func(z maptile.Zoom) int {
		l, _ := renderLayer(t, sc, LayerStreets, maptile.At(at, z))
		n := 0
		for _, f := range l.Features {
			if f.ID == 7 {
				parts, _ := decodeGeometry(f.Type, f.Geometry)
				for _, p := range parts {
					n += len(p)
				}
			}
		}
		return n
	}
	if lo, hi := count(10), count(18); lo >= 10 || hi <= lo {
		t.Errorf("road vertices: %d at z10, %d at z18; want few at 10 and more at 18", lo, hi)
	}
}

func TestUnitTiles(t *testing.T) {
	sc := streetScene()
	at := orb.Point{9.522, 47.142}
	if _, ok := renderLayer(t, sc, LayerUnits, maptile.At(at, UnitMinZoom-1)); ok {
		t.Errorf("units drawn below zoom %d", UnitMinZoom)
	}
	l, ok := renderLayer(t, sc, LayerUnits, maptile.At(at, 15))
	if !ok || len(l.Features) != 2 {
		t.Fatalf("z15: %d units, want 2", len(l.Features))
	}
	types := map[uint64]GeomType{}
	for _, f := range l.Features {
		types[f.ID] = f.Type
		props, err := f.props(l)
		if err != nil {
			t.Fatal(err)
		}
		if f.ID == 1 && (props["id"] != "school-1" || props["kind"] != "school" || props["name"] != "Primarschule") {
			t.Errorf("school properties %v", props)
		}
	}
	if types[1] != GeomPoint || types[2] != GeomPolygon {
		t.Errorf("geometry types %v, want the school a point and the works a polygon", types)
	}
	if b, ok := sc.Bound([]string{LayerStreets, LayerUnits}); !ok || b.Min[0] > 9.5001 || b.Max[0] < 9.5399 {
		t.Errorf("bound %v %v", b, ok)
	}
}

// TestWithStreets: replacing the streets keeps the units, and the hotspots
// layer is shared, not computed again.
func TestWithStreets(t *testing.T) {
	sc := streetScene()
	n := sc.WithStreets(NewLines(nil), nil)
	if n.Streets.Len() != 0 || n.Units != sc.Units || n.Version != sc.Version+1 || n.lazyHot() != sc.lazyHot() {
		t.Errorf("WithStreets: streets %d, units kept %v, version %d, hotspots shared %v",
			n.Streets.Len(), n.Units == sc.Units, n.Version, n.lazyHot() == sc.lazyHot())
	}
}

func TestStreetMinZoom(t *testing.T) {
	for _, tc := range []struct {
		kind, class string
		z           int
	}{
		{"road", "motorway_link", 8}, {"road", "primary", 10}, {"water", "river", 10}, {"rail", "rail", 10},
		{"road", "secondary", 11}, {"road", "tertiary", 12}, {"road", "residential", 14}, {"water", "stream", 14},
		{"road", "footway", 15}, {"rail", "", 10}, {"water", "", 12}, {"road", "", 15},
	} {
		if got := StreetMinZoom(tc.kind, tc.class); got != tc.z {
			t.Errorf("StreetMinZoom(%q, %q) = %d, want %d", tc.kind, tc.class, got, tc.z)
		}
	}
}

// TestStreetTilesGCJ02: a street in Beijing drawn in GCJ-02 is the same
// line moved by the offset (some 140 m north here, hundreds of tile units
// at z14; both are clipped at the same tile edge, so the start moves north
// only), not dropped by the search box or the clip.
func TestStreetTilesGCJ02(t *testing.T) {
	at := orb.Point{116.397, 39.915}
	st := []data.Street{{FID: 1, ID: "w1", Kind: data.StreetRoad, Class: "primary",
		Geometry: orb.MultiLineString{{{116.370, 39.915}, {116.424, 39.9151}}}}}
	sc := &Scene{Streets: NewLines(StreetFeatures(st))}
	tile := maptile.At(spatial.GCJ02.FromWGS84(at), 14)
	first := func(c spatial.CRS) Point {
		b, err := sc.RenderIn(context.Background(), []string{LayerStreets}, tile, c)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := decodeTile(b)
		if err != nil || len(ls) != 1 || len(ls[0].Features) != 1 {
			t.Fatalf("%v: %d layers, err %v", c, len(ls), err)
		}
		parts, err := decodeGeometry(ls[0].Features[0].Type, ls[0].Features[0].Geometry)
		if err != nil {
			t.Fatal(err)
		}
		return parts[0][0]
	}
	w, g := first(spatial.WGS84), first(spatial.GCJ02)
	if d := math.Hypot(float64(g.X-w.X), float64(g.Y-w.Y)); d < 50 {
		t.Errorf("GCJ-02 line starts at %v, WGS 84 at %v: not shifted", g, w)
	}
}
