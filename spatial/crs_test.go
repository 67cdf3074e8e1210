package spatial

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// Published reference pairs. Only the numbers are taken, as test data:
//
//   - googollee/eviltransform, python/test.py: WGS-84 → GCJ-02 for Shanghai,
//     Shenzhen and Beijing. (Its BD-09 pairs are not used: eviltransform's
//     BD-09 variant scales the wobble by π instead of Baidu's 3000π/180, and
//     disagrees with Baidu, coordtransform and gcoord by up to 40 m.)
//   - wandergis/coordtransform, test/app.js (the "//result" block) for the
//     point (116.404, 39.915): wgs84togcj02, gcj02tobd09, bd09togcj02.
//     Its gcj02towgs84 is the one-step approximation, so it is only checked
//     to the few metres that approximation is good for.
//   - hujiulong/gcoord, test/unit/crs/GCJ02.spec.js: GCJ02→WGS84 and
//     GCJ02→BD09 at (123, 45), to 5 decimals, and "not in China" at lon 183;
//     test/unit/crs/BD09.spec.js: BD09→GCJ02 and BD09→WGS84 at (123, 45).
func TestCRSReferencePairs(t *testing.T) {
	type pair struct {
		name     string
		from, to CRS
		in, want orb.Point
		tol      float64 // degrees
	}
	tests := []pair{
		{"eviltransform shanghai wgs→gcj", WGS84, GCJ02, orb.Point{121.5272106, 31.1774276}, orb.Point{121.531541859215, 31.17530398364597}, 1e-9},
		{"eviltransform shenzhen wgs→gcj", WGS84, GCJ02, orb.Point{113.912316, 22.543847}, orb.Point{113.9171764808363, 22.540796131694766}, 1e-9},
		{"eviltransform beijing wgs→gcj", WGS84, GCJ02, orb.Point{116.377817, 39.911954}, orb.Point{116.38404722455657, 39.91334545536069}, 1e-9},
		// The same pairs backwards: the iterated inverse must land within 1e-7°.
		{"eviltransform shanghai gcj→wgs", GCJ02, WGS84, orb.Point{121.531541859215, 31.17530398364597}, orb.Point{121.5272106, 31.1774276}, 1e-7},
		{"eviltransform shenzhen gcj→wgs", GCJ02, WGS84, orb.Point{113.9171764808363, 22.540796131694766}, orb.Point{113.912316, 22.543847}, 1e-7},
		{"eviltransform beijing gcj→wgs", GCJ02, WGS84, orb.Point{116.38404722455657, 39.91334545536069}, orb.Point{116.377817, 39.911954}, 1e-7},
		{"coordtransform wgs→gcj", WGS84, GCJ02, orb.Point{116.404, 39.915}, orb.Point{116.41024449916938, 39.91640428150164}, 1e-9},
		{"coordtransform gcj→bd", GCJ02, BD09, orb.Point{116.404, 39.915}, orb.Point{116.41036949371029, 39.92133699351021}, 1e-9},
		// coordtransform's bd09togcj02 is the closed-form inverse, good to about
		// 5e-7°; ours refines it until GCJ02ToBD09 gives the input back.
		{"coordtransform bd→gcj", BD09, GCJ02, orb.Point{116.404, 39.915}, orb.Point{116.39762729119315, 39.90865673957631}, 1e-6},
		{"gcoord gcj→bd", GCJ02, BD09, orb.Point{123, 45}, orb.Point{123.00636499, 45.00636899}, 5e-6},
		// hujiulong/gcoord, test/unit/crs/BD09.spec.js: BD09→GCJ02 and
		// BD09→WGS84 at (123, 45), to 5 decimals.
		{"gcoord bd→gcj", BD09, GCJ02, orb.Point{123, 45}, orb.Point{122.99363304, 44.99365430}, 5e-6},
		{"gcoord bd→wgs", BD09, WGS84, orb.Point{123, 45}, orb.Point{122.98762210, 44.99171540}, 5e-6},
		// The exact inverse: compare with gcoord to the 5 decimals it publishes.
		{"gcoord gcj→wgs", GCJ02, WGS84, orb.Point{123, 45}, orb.Point{122.99395597, 44.99804071}, 5e-6},
		// coordtransform's one-step gcj02towgs84 is within a few metres (≈3e-5°).
		{"coordtransform gcj→wgs (approx)", GCJ02, WGS84, orb.Point{116.404, 39.915}, orb.Point{116.39775550083061, 39.91359571849836}, 3e-5},
		{"gcoord outside china", GCJ02, WGS84, orb.Point{183, 45}, orb.Point{183, 45}, 0},
		{"montevideo is not offset", WGS84, GCJ02, orb.Point{-56.16, -34.9}, orb.Point{-56.16, -34.9}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.to.FromWGS84(tc.from.ToWGS84(tc.in))
			if d := math.Max(math.Abs(got[0]-tc.want[0]), math.Abs(got[1]-tc.want[1])); d > tc.tol {
				t.Errorf("%v→%v %v = %.12f, want %.12f (off by %.3g°, tol %.3g°)", tc.from, tc.to, tc.in, got, tc.want, d, tc.tol)
			}
		})
	}
}

// TestGCJInverseAccuracy checks the inverse is accurate to 1e-7° (≈1 cm)
// over the whole of China, not only at the published points.
func TestGCJInverseAccuracy(t *testing.T) {
	worst := 0.0
	for lon := 73.0; lon < 135; lon += 1.37 {
		for lat := 18.0; lat < 53; lat += 0.71 {
			w := orb.Point{lon, lat}
			for _, c := range []CRS{GCJ02, BD09} {
				back := c.ToWGS84(c.FromWGS84(w))
				d := math.Max(math.Abs(back[0]-w[0]), math.Abs(back[1]-w[1]))
				worst = math.Max(worst, d)
			}
		}
	}
	if worst > 1e-7 {
		t.Fatalf("worst round-trip error %.3g°, want < 1e-7°", worst)
	}
	t.Logf("worst round-trip error %.3g°", worst)
}

func TestParseCRS(t *testing.T) {
	tests := []struct {
		in   string
		want CRS
		err  bool
	}{
		{"wgs84", WGS84, false}, {"WGS-84", WGS84, false}, {"EPSG:4326", WGS84, false}, {"cgcs2000", WGS84, false},
		{"gcj02", GCJ02, false}, {" GCJ-02 ", GCJ02, false},
		{"bd09", BD09, false}, {"BD-09", BD09, false},
		{"", 0, true}, {"mercator", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseCRS(tc.in)
		if tc.err {
			if !errors.Is(err, ErrUnknownCRS) {
				t.Errorf("ParseCRS(%q) err = %v, want ErrUnknownCRS", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseCRS(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if again, _ := ParseCRS(got.String()); again != got {
			t.Errorf("ParseCRS(%q.String()) = %v", got, again)
		}
	}
}

func TestCRSNonFinite(t *testing.T) {
	for _, c := range []CRS{WGS84, GCJ02, BD09} {
		got := c.ToWGS84(orb.Point{math.NaN(), 30})
		if ValidLonLat(got) {
			t.Errorf("%v.ToWGS84(NaN) = %v, want an invalid point", c, got)
		}
	}
}

func BenchmarkGCJ02ToWGS84(b *testing.B) {
	b.ReportAllocs()
	p := orb.Point{116.404, 39.915}
	for b.Loop() {
		_ = GCJ02ToWGS84(p)
	}
}

// TestOffsetBoundsHold checks BoundFromWGS84 and BoundToWGS84 against the
// images of points inside random boxes in and around China, and measures
// the slope of the offsets that their widening assumes.
func TestOffsetBoundsHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 2))
	slope := 0.0
	for range 2000 {
		lon, lat := 70+rng.Float64()*70, 15+rng.Float64()*42
		size := math.Pow(10, -5+rng.Float64()*5) // 1 m to 1°
		b := orb.Bound{Min: orb.Point{lon, lat}, Max: orb.Point{lon + size*rng.Float64(), lat + size*rng.Float64()}}
		for _, c := range []CRS{GCJ02, BD09} {
			out, in := c.BoundFromWGS84(b), c.BoundToWGS84(b)
			for range 20 {
				p := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
				if q := c.FromWGS84(p); !out.Contains(q) {
					t.Fatalf("%v: image %v of %v is outside BoundFromWGS84(%v) = %v", c, q, p, b, out)
				}
				if q := c.ToWGS84(p); !in.Contains(q) {
					t.Fatalf("%v: preimage %v of %v is outside BoundToWGS84(%v) = %v", c, q, p, b, in)
				}
			}
			// The slope of the offset, over a 1 km step.
			p := orb.Point{lon, lat}
			if outsideChina(p) || outsideChina(orb.Point{lon + 0.01, lat + 0.01}) {
				continue
			}
			o0 := c.FromWGS84(p)
			for _, d := range []orb.Point{{0.01, 0}, {0, 0.01}} {
				o1 := c.FromWGS84(orb.Point{lon + d[0], lat + d[1]})
				dx := (o1[0] - o0[0] - d[0]) / 0.01
				dy := (o1[1] - o0[1] - d[1]) / 0.01
				slope = math.Max(slope, math.Max(math.Abs(dx), math.Abs(dy)))
			}
		}
	}
	if slope > offsetSlope/2 {
		t.Errorf("offset slope %.3g, want under half offsetSlope %g", slope, offsetSlope)
	}
	t.Logf("largest offset slope %.3g°/°", slope)
}

func TestFromWGS84Geometry(t *testing.T) {
	w := orb.Polygon{{{116.40, 39.91}, {116.41, 39.91}, {116.41, 39.92}, {116.40, 39.91}}}
	g := GCJ02.FromWGS84Geometry(orb.Collection{w, orb.Point{116.404, 39.915}}).(orb.Collection)
	if got, want := g[1].(orb.Point), WGS84ToGCJ02(orb.Point{116.404, 39.915}); got != want {
		t.Errorf("point %v, want %v", got, want)
	}
	if got := g[0].(orb.Polygon)[0][2]; got != WGS84ToGCJ02(w[0][2]) {
		t.Errorf("vertex %v, want %v", got, WGS84ToGCJ02(w[0][2]))
	}
	if w[0][2] != (orb.Point{116.41, 39.92}) {
		t.Errorf("the input changed: %v", w)
	}
	if WGS84.FromWGS84Geometry(w).(orb.Polygon)[0][0] != w[0][0] {
		t.Error("WGS84 changed the geometry")
	}
}
