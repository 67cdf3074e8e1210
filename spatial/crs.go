package spatial

import (
	"fmt"
	"math"
	"strings"

	"github.com/paulmach/orb"
)

// CRS is a geographic coordinate reference system a client may send points in.
type CRS uint8

// The coordinate systems phones in China report. CGCS2000 differs from WGS 84
// by up to about a metre (plate motion since its epoch 2000.0), less than
// phone positions resolve, and is treated as WGS84.
const (
	WGS84 CRS = iota // WGS 84 (EPSG:4326), what wangge stores
	GCJ02            // GCJ-02, the obfuscated "Mars" system of AMap and Tencent
	BD09             // BD-09, Baidu's further offset of GCJ-02
)

// ParseCRS returns the CRS for a name such as "wgs84", "gcj02" or "bd09"
// (case and a hyphen are ignored; "epsg:4326" and "cgcs2000" mean WGS84).
func ParseCRS(s string) (CRS, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "") {
	case "wgs84", "epsg:4326", "4326", "cgcs2000", "epsg:4490":
		return WGS84, nil
	case "gcj02", "gcj":
		return GCJ02, nil
	case "bd09", "bd09ll", "baidu":
		return BD09, nil
	}
	return 0, fmt.Errorf("%w: %q (want wgs84, gcj02 or bd09)", ErrUnknownCRS, s)
}

// String returns the canonical lower-case name that ParseCRS accepts.
func (c CRS) String() string {
	switch c {
	case WGS84:
		return "wgs84"
	case GCJ02:
		return "gcj02"
	case BD09:
		return "bd09"
	}
	return fmt.Sprintf("CRS(%d)", uint8(c))
}

// ToWGS84 converts p from c to WGS 84. An unknown c returns p unchanged.
func (c CRS) ToWGS84(p orb.Point) orb.Point {
	switch c {
	case GCJ02:
		return GCJ02ToWGS84(p)
	case BD09:
		return BD09ToWGS84(p)
	}
	return p
}

// FromWGS84 converts a WGS 84 point p to c. An unknown c returns p unchanged.
func (c CRS) FromWGS84(p orb.Point) orb.Point {
	switch c {
	case GCJ02:
		return WGS84ToGCJ02(p)
	case BD09:
		return WGS84ToBD09(p)
	}
	return p
}

// GCJ-02 constants. The obfuscation is defined on the Krasovsky 1940
// ellipsoid, not on WGS 84, which is why a and ee differ from orb's.
const (
	gcjA  = 6378245.0
	gcjEE = 0.00669342162296594323
	// bdXPi scales degrees for Baidu's small rotational wobble.
	bdXPi = math.Pi * 3000.0 / 180.0
)

// outsideChina reports whether the GCJ-02 offset does not apply at p. The box
// is the one used by the published algorithm and every common port of it, so
// that our outputs match what phones and map SDKs produce; it is coarse
// (Mongolia, Korea and Japan fall inside), which is the standard's choice.
func outsideChina(p orb.Point) bool {
	return p[0] < 72.004 || p[0] > 137.8347 || p[1] < 0.8293 || p[1] > 55.8271
}

// gcjOffset returns the GCJ-02 shift in degrees at WGS 84 point p.
func gcjOffset(p orb.Point) (dLon, dLat float64) {
	x, y := p[0]-105.0, p[1]-35.0
	// The two polynomial-plus-sinusoid fields of the published obfuscation, in metres-ish units.
	common := 0.1*x*y + (20.0*math.Sin(6.0*x*math.Pi)+20.0*math.Sin(2.0*x*math.Pi))*2.0/3.0
	fLat := -100.0 + 2.0*x + 3.0*y + 0.2*y*y + common + 0.2*math.Sqrt(math.Abs(x)) +
		(20.0*math.Sin(y*math.Pi)+40.0*math.Sin(y/3.0*math.Pi))*2.0/3.0 +
		(160.0*math.Sin(y/12.0*math.Pi)+320.0*math.Sin(y*math.Pi/30.0))*2.0/3.0
	fLon := 300.0 + x + 2.0*y + 0.1*x*x + common + 0.1*math.Sqrt(math.Abs(x)) +
		(20.0*math.Sin(x*math.Pi)+40.0*math.Sin(x/3.0*math.Pi))*2.0/3.0 +
		(150.0*math.Sin(x/12.0*math.Pi)+300.0*math.Sin(x/30.0*math.Pi))*2.0/3.0

	// Convert the metre-like shifts to degrees with the Krasovsky radii of curvature.
	lat := p[1] * math.Pi / 180.0
	s := math.Sin(lat)
	w := 1 - gcjEE*s*s
	sw := math.Sqrt(w)
	dLat = fLat * 180.0 / ((gcjA * (1 - gcjEE)) / (w * sw) * math.Pi)
	dLon = fLon * 180.0 / (gcjA / sw * math.Cos(lat) * math.Pi)
	return dLon, dLat
}

// WGS84ToGCJ02 applies the GCJ-02 offset; outside China it returns p unchanged.
func WGS84ToGCJ02(p orb.Point) orb.Point {
	if outsideChina(p) {
		return p
	}
	dLon, dLat := gcjOffset(p)
	return orb.Point{p[0] + dLon, p[1] + dLat}
}

// gcjTolerance is the convergence threshold of the inverse, in degrees
// (about 0.1 mm), well inside the 1e-7° the API promises.
const gcjTolerance = 1e-10

// GCJ02ToWGS84 inverts WGS84ToGCJ02 by fixed-point iteration to better than
// 1e-7°. The common one-step inverse is off by up to a few metres, enough to
// put a point on a grid edge in the wrong grid.
func GCJ02ToWGS84(g orb.Point) orb.Point {
	if outsideChina(g) || !finite(g) {
		return g
	}
	// The offset changes slowly (its gradient is ~1e-3), so each step gains
	// about three digits; 20 steps is a bound that is never reached.
	w := g
	for range 20 {
		f := WGS84ToGCJ02(w)
		ex, ey := g[0]-f[0], g[1]-f[1]
		w[0] += ex
		w[1] += ey
		if math.Abs(ex) < gcjTolerance && math.Abs(ey) < gcjTolerance {
			break
		}
	}
	return w
}

// GCJ02ToBD09 applies Baidu's offset to a GCJ-02 point.
func GCJ02ToBD09(g orb.Point) orb.Point {
	x, y := g[0], g[1]
	z := math.Hypot(x, y) + 0.00002*math.Sin(y*bdXPi)
	t := math.Atan2(y, x) + 0.000003*math.Cos(x*bdXPi)
	return orb.Point{z*math.Cos(t) + 0.0065, z*math.Sin(t) + 0.006}
}

// BD09ToGCJ02 inverts GCJ02ToBD09: the usual closed-form approximation
// followed by fixed-point refinement, so the round trip is exact to 1e-10°.
func BD09ToGCJ02(b orb.Point) orb.Point {
	if !finite(b) {
		return b
	}
	x, y := b[0]-0.0065, b[1]-0.006
	z := math.Hypot(x, y) - 0.00002*math.Sin(y*bdXPi)
	t := math.Atan2(y, x) - 0.000003*math.Cos(x*bdXPi)
	g := orb.Point{z * math.Cos(t), z * math.Sin(t)}
	for range 10 {
		f := GCJ02ToBD09(g)
		ex, ey := b[0]-f[0], b[1]-f[1]
		g[0] += ex
		g[1] += ey
		if math.Abs(ex) < gcjTolerance && math.Abs(ey) < gcjTolerance {
			break
		}
	}
	return g
}

// WGS84ToBD09 converts WGS 84 to BD-09 through GCJ-02, as Baidu does.
func WGS84ToBD09(p orb.Point) orb.Point { return GCJ02ToBD09(WGS84ToGCJ02(p)) }

// BD09ToWGS84 converts BD-09 to WGS 84 through GCJ-02.
func BD09ToWGS84(b orb.Point) orb.Point { return GCJ02ToWGS84(BD09ToGCJ02(b)) }

// finite reports whether both coordinates are finite numbers.
func finite(p orb.Point) bool {
	return !math.IsNaN(p[0]) && !math.IsNaN(p[1]) && !math.IsInf(p[0], 0) && !math.IsInf(p[1], 0)
}

// ValidLonLat reports whether p is a finite point with lon in [-180, 180]
// and lat in [-90, 90].
func ValidLonLat(p orb.Point) bool {
	return p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90
}
