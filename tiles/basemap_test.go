package tiles

import (
	"math"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/spatial"
)

// TestStyleCenterOverAMap: over AMap the style's centre is the data's
// WGS 84 centre in GCJ-02, the CRS the whole style draws in there (the
// reference pair is coordtransform's wgs84togcj02(116.404, 39.915));
// without a base map and over Tianditu it stays WGS 84.
func TestStyleCenterOverAMap(t *testing.T) {
	b := orb.Bound{Min: orb.Point{116.394, 39.905}, Max: orb.Point{116.414, 39.925}} // centre (116.404, 39.915)
	amap, err := BaseMapPreset("amap", "")
	if err != nil {
		t.Fatal(err)
	}
	tdt, err := BaseMapPreset("tianditu", "0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		bm   *BaseMap
		want orb.Point
	}{
		{"none", nil, orb.Point{116.404, 39.915}},
		{"tianditu", tdt, orb.Point{116.404, 39.915}},
		{"amap", amap, orb.Point{116.41024449916938, 39.91640428150164}},
	} {
		st := Style("http://h", "http://h/tiles/x.json", tc.bm, b, true, nil)
		c := st["center"].([]float64)
		if math.Abs(c[0]-tc.want[0]) > 1e-6 || math.Abs(c[1]-tc.want[1]) > 1e-6 {
			t.Errorf("%s: centre %v, want %v", tc.name, c, tc.want)
		}
	}
	// The same conversion as the GCJ-02 tiles (spatial's), to the rounding.
	st := Style("http://h", "http://h/tiles/x.json", amap, b, true, nil)
	c, g := st["center"].([]float64), spatial.WGS84ToGCJ02(b.Center())
	if c[0] != round6(g[0]) || c[1] != round6(g[1]) {
		t.Errorf("centre %v, spatial.WGS84ToGCJ02 %v", c, g)
	}
	// No data: no centre to convert.
	if c := Style("http://h", "x", amap, orb.Bound{}, false, nil)["center"].([]float64); c[0] != 0 || c[1] != 0 {
		t.Errorf("empty: centre %v", c)
	}
}
