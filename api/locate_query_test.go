package api

import (
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// slowLocatePoint is what locate did before plainLocateQuery: the query
// parsed into url.Values, unknown parameters refused, then lon, lat, crs.
func slowLocatePoint(raw string) (orb.Point, error) {
	v, _ := url.ParseQuery(raw)
	if err := queryOnly(v, "lon", "lat", "crs"); err != nil {
		return orb.Point{}, err
	}
	return parsePoint(v)
}

// checkPlainLocateQuery fails when the shortcut takes raw and answers
// differently from url.ParseQuery, or when locatePoint (either way) does,
// or echoes a coordinate other than as strconv.AppendFloat writes it.
func checkPlainLocateQuery(t *testing.T, raw string) {
	t.Helper()
	want, werr := slowLocatePoint(raw)
	same := func(how string, got orb.Point, gerr error) {
		if got != want || (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Errorf("query %q: %s %v, %v; url.ParseQuery %v, %v", raw, how, got, gerr, want, werr)
		}
	}
	if lon, lat, crs, ok := plainLocateQuery(raw); ok {
		got, gerr := pointValue(lon, lat, crs)
		same("shortcut", got, gerr)
	}
	if v, _ := url.ParseQuery(raw); queryOnly(v, "lon", "lat", "crs") != nil {
		return // refused before locate (strictQuery)
	}
	p, at, err := locatePoint(raw)
	same("locatePoint", p, err)
	if at != (pointText{}) {
		for i, s := range []string{at.lon, at.lat} {
			if f := string(strconv.AppendFloat(nil, p[i], 'f', -1, 64)); s != f {
				t.Errorf("query %q: echoes %q for %q", raw, s, f)
			}
		}
	}
}

func TestPlainLocateQuery(t *testing.T) {
	for _, tc := range []struct {
		raw      string
		shortcut bool
	}{
		{"lon=-56.1&lat=-34.9", true},
		{"lat=-34.9&lon=-56.1&crs=gcj02", true},
		{"lon=1&lon=2&lat=3", true}, // first value wins, as with Get
		{"lon=1&&lat=3&", true},
		{"lon&lat=3", true},
		{"lon=&lat=", true},
		{"lon=abc&lat=1", true},
		{"lon=200&lat=1", true},
		{"lon=NaN&lat=1", true},
		{"lon=1&lat=1&crs=mars", true},
		{"", true},
		{"lon=1&lat=2&zoom=3", false},
		{"=1&lon=1&lat=2", false},
		{"lon=%31&lat=2", false},
		{"lon=+1&lat=2", false},
		{"lon=1;lat=2", false},
		{"lon=-56.1645000&lat=-34.90110", true},
		{"lon=-0.0&lat=0&crs=gcj02", true},
		{"lon=180.0000000000000000000001&lat=1", true},
		{"lon=0.0000000000000000000001&lat=1", true},
		{"lon=123.456789012345&lat=1.0", true},
		{"lon=12.3456789012345678&lat=1", true},
		{"lon=1.5&lat=2.&crs=EPSG:4326", true},
		{"lon=01.5&lat=2", true},
		{"lon=1e1&lat=-.5", true},
	} {
		if _, _, _, ok := plainLocateQuery(tc.raw); ok != tc.shortcut {
			t.Errorf("query %q: shortcut taken %v, want %v", tc.raw, ok, tc.shortcut)
		}
		checkPlainLocateQuery(t, tc.raw)
	}
}

func FuzzPlainLocateQuery(f *testing.F) {
	for _, s := range []string{"lon=-56.1&lat=-34.9", "lon=1&lon=2&lat=3&crs=bd09", "lon&lat", "lat=1e3&lon=0x1p-2", "lon= 1 &lat=2",
		"lon=-56.16450&lat=-34.9011000", "lon=-0&lat=0.000"} {
		f.Add(s)
	}
	f.Fuzz(checkPlainLocateQuery)
}

// checkPlainCoord fails when plainCoord takes s with a number other than
// ParseFloat's, bit for bit, or a shortest form other than AppendFloat's,
// or refuses a coordinate of its grammar.
func checkPlainCoord(t *testing.T, s string) {
	t.Helper()
	f, short, ok := plainCoord(s, 180)
	want, err := strconv.ParseFloat(s, 64)
	if !ok {
		if plainGrammar(s) && err == nil && want >= -180 && want <= 180 {
			t.Errorf("%q: refused", s)
		}
		return
	}
	if err != nil || math.Float64bits(f) != math.Float64bits(want) {
		t.Fatalf("%q: read %v (%x), ParseFloat %v (%x), %v", s, f, math.Float64bits(f), want, math.Float64bits(want), err)
	}
	if w := string(strconv.AppendFloat(nil, want, 'f', -1, 64)); short != w {
		t.Fatalf("%q: shortest form %q, AppendFloat %q", s, short, w)
	}
}

// plainGrammar is what plainCoord takes, said another way: a plain
// decimal with at most 15 significant digits and 22 after the point.
func plainGrammar(s string) bool {
	t := strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(t, ".")
	if whole == "" || (dot && frac == "") || (len(whole) > 1 && whole[0] == '0') || strings.Trim(whole+frac, "0123456789") != "" {
		return false
	}
	frac = strings.TrimRight(frac, "0")
	digits := strings.TrimLeft(whole+frac, "0")
	return len(digits) <= 15 && len(frac) <= 22
}

func TestPlainCoord(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 12))
	nums := []string{"0", "-0", "0.0", "-0.000", "180", "-180", "180.0000", "180.000000000000001", "180.1", "-56.1645000",
		"0.0000000000000000000001", "0.00000000000000000000001", "0.0000000000000000000000", "123.456789012345", "123.4567890123456",
		"99.999999999999999", "1.000000000000001", "007", "1.", ".5", "1e2", "+1", "", "-", "1.5x", "1234567890123456789012345"}
	for range 200000 {
		// Up to 17 digits after the point, leading and trailing zeros kept.
		fp := strconv.FormatUint(1e17+rng.Uint64N(1e17), 10)[1:]
		n := strconv.Itoa(rng.IntN(181)) + "." + fp[:1+rng.IntN(17)]
		if rng.IntN(2) == 0 {
			n = "-" + n
		}
		nums = append(nums, n, strconv.FormatFloat(rng.Float64()*360-180, 'f', -1, 64), strconv.FormatFloat(rng.Float64()*360-180, 'f', rng.IntN(16), 64))
	}
	for _, n := range nums {
		checkPlainCoord(t, n)
	}
}

func FuzzPlainCoord(f *testing.F) {
	for _, s := range []string{"-56.1645", "0.000", "-0", "179.999999999999", "1e2", "00.1"} {
		f.Add(s)
	}
	f.Fuzz(checkPlainCoord)
}

// TestAppendTenths: the distance to the boundary is written as
// AppendFloat writes it rounded to a tenth, for the distances of a city
// and on the edges (-0, halves, NaN, the largest whole numbers of tenths
// written the short way and the first ones past them).
func TestAppendTenths(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 13))
	ds := []float64{0, math.Copysign(0, -1), -0.04, -0.05, -1, 0.04, 0.05, 0.15, 0.25, 1.05, 75.75, 99.95, math.NaN(), math.Inf(1),
		math.Inf(-1), 1e14 - 0.05, 1e14, 1e14 + 0.05, 1e15, 1e20, math.MaxFloat64}
	for range 200000 {
		ds = append(ds, rng.Float64()*5000, rng.ExpFloat64()*100, float64(rng.IntN(100000))/10, float64(rng.IntN(100000))/100+0.05)
	}
	for _, d := range ds {
		want := string(strconv.AppendFloat(nil, math.Round(d*10)/10, 'f', -1, 64))
		if got := string(appendTenths(nil, d)); got != want {
			t.Fatalf("%v (%x): %q, AppendFloat %q", d, math.Float64bits(d), got, want)
		}
	}
}

func TestExactRoutes(t *testing.T) {
	s := New(Config{})
	// The busiest routes skip the router; routes with path variables never do.
	for _, key := range []string{"GET /v1/locate", "HEAD /v1/locate", "POST /v1/locate", "GET /v1/nearby", "GET /healthz"} {
		if s.exact[key] == nil {
			t.Errorf("%s is not served without the router", key)
		}
	}
	for key := range s.exact {
		if _, path, _ := strings.Cut(key, " "); path == "" || strings.Contains(path, "{") {
			t.Errorf("exact route %q", key)
		}
	}
}
