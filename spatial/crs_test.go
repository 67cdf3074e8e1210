package spatial

import (
	"errors"
	"math"
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
//     GCJ02→BD09 at (123, 45), to 5 decimals, and "not in China" at lon 183.
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
