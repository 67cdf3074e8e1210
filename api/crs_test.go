package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

const (
	crs84URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	epsg4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
	epsg4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
)

// positions lists every position of a GeoJSON geometry in order.
func positions(t *testing.T, raw json.RawMessage) []orb.Point {
	t.Helper()
	g, err := geojson.UnmarshalGeometry(raw)
	if err != nil {
		t.Fatalf("geometry %.200s: %v", raw, err)
	}
	var out []orb.Point
	spatial.TransformGeometry(g.Geometry(), func(p orb.Point) orb.Point { out = append(out, p); return p })
	return out
}

// geometries returns the geometries of a FeatureCollection's features.
func geometries(t *testing.T, body []byte) []json.RawMessage {
	t.Helper()
	var fc struct {
		Features []struct {
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	decode(t, body, &fc)
	out := make([]json.RawMessage, len(fc.Features))
	for i, f := range fc.Features {
		out[i] = f.Geometry
	}
	return out
}

// sameIn checks that every position of got is the position of want mapped
// by conv, to 1e-9° (well under a millimetre).
func sameIn(t *testing.T, what string, want, got []json.RawMessage, conv func(orb.Point) orb.Point) {
	t.Helper()
	if len(want) != len(got) || len(want) == 0 {
		t.Fatalf("%s: %d geometries, want %d (and some)", what, len(got), len(want))
	}
	for i := range want {
		w, g := positions(t, want[i]), positions(t, got[i])
		if len(w) != len(g) {
			t.Fatalf("%s: feature %d has %d positions, want %d", what, i, len(g), len(w))
		}
		for j := range w {
			c := conv(w[j])
			if math.Abs(c[0]-g[j][0]) > 1e-9 || math.Abs(c[1]-g[j][1]) > 1e-9 {
				t.Fatalf("%s: feature %d position %d is %v, want %v (from %v)", what, i, j, g[j], c, w[j])
			}
		}
	}
}

func swap(p orb.Point) orb.Point { return orb.Point{p[1], p[0]} }

// TestOutputCRS asks every GeoJSON answer for its geometry in GCJ-02,
// BD-09 and the Part 2 URIs on the Beijing lattice, where the offsets
// apply, and compares with the WGS 84 answer converted by spatial.
func TestOutputCRS(t *testing.T) {
	ca, _ := latticeCell(2, 2)
	f := beijingFixture(t, nil, []data.Camera{{ID: "a", Point: ca, Azimuth: 0, FOV: 360, RangeM: 100, Status: "online"}})
	// The published pair of coordtransform: WGS 84 (116.404, 39.915) is
	// GCJ-02 (116.41024449916938, 39.91640428150164).
	wgs := orb.Point{116.404, 39.915}
	gcj := orb.Point{116.41024449916938, 39.91640428150164}
	res, body := f.do(t, "POST", "/collections/hazards/items?crs=gcj02", fmt.Sprintf(`{"type": "Feature",
		"geometry": {"type": "Point", "coordinates": [%v, %v]}, "properties": {"category": "fire", "severity": 2}}`, gcj[0], gcj[1]))
	var h gjFeature
	decode(t, body, &h)
	if res.StatusCode != 201 {
		t.Fatalf("POST: %d %s", res.StatusCode, body)
	}
	if c := h.Geometry.Coordinates; math.Abs(c[0]-gcj[0]) > 1e-9 || math.Abs(c[1]-gcj[1]) > 1e-9 {
		t.Errorf("POST in gcj02 answered %v, want the GCJ-02 point %v", c, gcj)
	}
	item := fmt.Sprintf("/collections/hazards/items/%d", h.ID)

	t.Run("item", func(t *testing.T) {
		for _, tc := range []struct {
			crs, header string
			want        orb.Point
			tol         float64
		}{
			{"", "<" + crs84URI + ">", wgs, 1e-7},
			{"wgs84", "<" + crs84URI + ">", wgs, 1e-7},
			{crs84URI, "<" + crs84URI + ">", wgs, 1e-7},
			{"gcj02", "", gcj, 1e-7},
			// coordtransform gcj02tobd09 of that GCJ-02 point is computed
			// by spatial here; the published BD-09 pairs are in spatial's tests.
			{"bd09", "", spatial.WGS84ToBD09(wgs), 1e-7},
			{epsg4326, "<" + epsg4326 + ">", swap(wgs), 1e-7},
			{epsg4490, "<" + epsg4490 + ">", swap(wgs), 1e-7},
		} {
			res, body := f.do(t, "GET", item+"?crs="+url.QueryEscape(tc.crs), nil)
			var got gjFeature
			decode(t, body, &got)
			c := got.Geometry.Coordinates
			if res.StatusCode != 200 || math.Abs(c[0]-tc.want[0]) > tc.tol || math.Abs(c[1]-tc.want[1]) > tc.tol {
				t.Errorf("crs=%s: %d %v, want %v", tc.crs, res.StatusCode, c, tc.want)
			}
			if h := res.Header.Get("Content-Crs"); h != tc.header {
				t.Errorf("crs=%s: Content-Crs %q, want %q", tc.crs, h, tc.header)
			}
		}
	})

	t.Run("write in EPSG:4490", func(t *testing.T) {
		// Part 2's lat, lon order on the way in too; the answer in it.
		res, body := f.do(t, "POST", "/collections/hazards/items?crs="+url.QueryEscape(epsg4490), fmt.Sprintf(`{"type": "Feature",
			"geometry": {"type": "Point", "coordinates": [%v, %v]}, "properties": {"category": "fire", "severity": 1}}`, wgs[1]+0.001, wgs[0]))
		var got gjFeature
		decode(t, body, &got)
		if c := got.Geometry.Coordinates; res.StatusCode != 201 || math.Abs(c[0]-wgs[1]-0.001) > 1e-9 || math.Abs(c[1]-wgs[0]) > 1e-9 {
			t.Fatalf("POST in EPSG:4490: %d %s", res.StatusCode, body)
		}
		_, body = f.do(t, "GET", fmt.Sprintf("/collections/hazards/items/%d", got.ID), nil)
		decode(t, body, &got)
		if c := got.Geometry.Coordinates; math.Abs(c[0]-wgs[0]) > 1e-9 || math.Abs(c[1]-wgs[1]-0.001) > 1e-9 {
			t.Errorf("stored at %v, want [%v, %v]", c, wgs[0], wgs[1]+0.001)
		}
		f.do(t, "DELETE", fmt.Sprintf("/collections/hazards/items/%d", got.ID), nil)
	})

	t.Run("items", func(t *testing.T) {
		for _, layer := range []string{"grids", "areas", "hazards", "cameras"} {
			_, plain := f.do(t, "GET", "/collections/"+layer+"/items?limit=100", nil)
			for _, tc := range []struct {
				crs  string
				conv func(orb.Point) orb.Point
			}{
				{"gcj02", spatial.WGS84ToGCJ02},
				{"bd09", spatial.WGS84ToBD09},
				{epsg4490, swap},
				{epsg4326, swap},
			} {
				res, body := f.do(t, "GET", "/collections/"+layer+"/items?limit=100&crs="+url.QueryEscape(tc.crs), nil)
				if res.StatusCode != 200 {
					t.Fatalf("%s crs=%s: %d %s", layer, tc.crs, res.StatusCode, body)
				}
				sameIn(t, layer+" crs="+tc.crs, geometries(t, plain), geometries(t, body), tc.conv)
			}
		}
	})

	t.Run("bbox-crs", func(t *testing.T) {
		// A 20 m box around the GCJ-02 point holds the hazard in GCJ-02
		// and not in WGS 84, where the hazard is 570 m away.
		d := 0.0001
		gbox := fmt.Sprintf("%v,%v,%v,%v", gcj[0]-d, gcj[1]-d, gcj[0]+d, gcj[1]+d)
		for _, tc := range []struct {
			q    string
			want int
		}{
			{"bbox=" + gbox, 0},
			{"bbox=" + gbox + "&bbox-crs=gcj02", 1},
			{"bbox=" + gbox + "&bbox-crs=" + url.QueryEscape(crs84URI), 0},
			{fmt.Sprintf("bbox=%v,%v,%v,%v&bbox-crs=%s", wgs[1]-d, wgs[0]-d, wgs[1]+d, wgs[0]+d, url.QueryEscape(epsg4490)), 1},
			{fmt.Sprintf("bbox=%v,%v,%v,%v&bbox-crs=%s", wgs[1]-d, wgs[0]-d, wgs[1]+d, wgs[0]+d, url.QueryEscape(epsg4326)), 1},
			{fmt.Sprintf("bbox=%v,%v,%v,%v", wgs[0]-d, wgs[1]-d, wgs[0]+d, wgs[1]+d), 1},
		} {
			var fc gjCollection
			_, body := f.do(t, "GET", "/collections/hazards/items?"+tc.q, nil)
			decode(t, body, &fc)
			if fc.NumberMatched != tc.want {
				t.Errorf("%s: %d matched, want %d", tc.q, fc.NumberMatched, tc.want)
			}
		}
	})

	t.Run("nearby", func(t *testing.T) {
		// The point in GCJ-02, the answer in GCJ-02 too.
		res, body := f.do(t, "GET", fmt.Sprintf("/v1/nearby?kind=hazards&radius_m=5&lon=%v&lat=%v&crs=gcj02", gcj[0], gcj[1]), nil)
		var fc gjCollection
		decode(t, body, &fc)
		if res.StatusCode != 200 || len(fc.Features) != 1 {
			t.Fatalf("nearby: %d %s", res.StatusCode, body)
		}
		if c := fc.Features[0].Geometry.Coordinates; math.Abs(c[0]-gcj[0]) > 1e-7 || math.Abs(c[1]-gcj[1]) > 1e-7 {
			t.Errorf("nearby in gcj02 answered %v, want %v", c, gcj)
		}
		_, body = f.do(t, "GET", fmt.Sprintf("/v1/nearby?kind=hazards&radius_m=5&lon=%v&lat=%v&crs=%s", wgs[0], wgs[1], url.QueryEscape(epsg4490)), nil)
		decode(t, body, &fc)
		if len(fc.Features) != 1 || math.Abs(fc.Features[0].Geometry.Coordinates[0]-wgs[1]) > 1e-7 {
			t.Errorf("nearby in EPSG:4490: %s", body)
		}
	})

	t.Run("hotspots and gaps", func(t *testing.T) {
		for _, path := range []string{"/v1/hotspots?res=9", "/v1/coverage/gaps?res=11"} {
			_, plain := f.do(t, "GET", path, nil)
			res, body := f.do(t, "GET", path+"&crs=gcj02", nil)
			if res.StatusCode != 200 {
				t.Fatalf("%s: %d %s", path, res.StatusCode, body)
			}
			sameIn(t, path, geometries(t, plain), geometries(t, body), spatial.WGS84ToGCJ02)
			_, body = f.do(t, "GET", path+"&crs="+url.QueryEscape(epsg4490), nil)
			sameIn(t, path, geometries(t, plain), geometries(t, body), swap)
		}
	})
}

// TestCRSParameters checks the Part 2 metadata and the 400s on the shared
// server.
func TestCRSParameters(t *testing.T) {
	_, body := get(t, "/collections/hazards")
	var c struct {
		CRS        []string
		StorageCRS string `json:"storageCrs"`
	}
	decode(t, body, &c)
	if !slices.Equal(c.CRS, []string{crs84URI, epsg4326, epsg4490}) || c.StorageCRS != crs84URI {
		t.Errorf("collection crs %v, storageCrs %q", c.CRS, c.StorageCRS)
	}
	_, body = get(t, "/conformance")
	if !strings.Contains(string(body), `"http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"`) {
		t.Errorf("conformance without Part 2 crs: %s", body)
	}
	// Outside China EPSG:4490 is the CRS84 numbers, lat first.
	_, plain := get(t, "/collections/hazards/items?limit=20")
	res, body := get(t, "/collections/hazards/items?limit=20&crs="+url.QueryEscape(epsg4490))
	if res.Header.Get("Content-Crs") != "<"+epsg4490+">" {
		t.Errorf("Content-Crs %q", res.Header.Get("Content-Crs"))
	}
	sameIn(t, "hazards in EPSG:4490", geometries(t, plain), geometries(t, body), swap)
	for _, path := range []string{
		"/collections/hazards/items?crs=EPSG:3857",
		"/collections/hazards/items/1?crs=http://www.opengis.net/def/crs/EPSG/0/3857",
		"/collections/hazards/items?bbox=9,47,10,48&bbox-crs=mercator",
		"/v1/hotspots?crs=utm",
		"/v1/nearby?kind=hazards&lon=9.5&lat=47.1&crs=itrf",
	} {
		status, detail := problemOf(t, path)
		name := "crs"
		if strings.Contains(path, "bbox-crs") {
			name = "bbox-crs"
		}
		if status != 400 || !strings.Contains(detail, "parameter "+name+":") || !strings.Contains(detail, epsg4490) || !strings.Contains(detail, "gcj02") {
			t.Errorf("%s: %d %q, want a 400 naming %s and the values allowed", path, status, detail, name)
		}
	}
}

// TestGCJ02TilesHTTP asks for the Beijing lattice's tiles in GCJ-02: the
// tile over the GCJ-02 image of a grid corner is not empty, has its own
// ETag (and a 304 for it), a write drops it, TileJSON points at GCJ-02
// tiles, and BD-09 is refused.
func TestGCJ02TilesHTTP(t *testing.T) {
	f := beijingFixture(t, nil, nil)
	p := spatial.WGS84ToGCJ02(orb.Point{latticeLon0 + 3*latticeStep, latticeLat0 + 2*latticeStep})
	path := tilePath("grids,hazards", p, 18)
	res, body := f.getWith(t, path+"?crs=gcj02")
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || len(body) == 0 || !strings.HasPrefix(etag, `"gcj02-`) {
		t.Fatalf("gcj02 tile: %d, %d bytes, ETag %s", res.StatusCode, len(body), etag)
	}
	if res, _ := f.getWith(t, path+"?crs=gcj02", "If-None-Match", etag); res.StatusCode != 304 {
		t.Errorf("If-None-Match: %d, want 304", res.StatusCode)
	}
	if res, _ := f.getWith(t, path, "If-None-Match", etag); res.StatusCode == 304 {
		t.Error("the WGS 84 tile answered 304 to the GCJ-02 tile's ETag")
	}
	// A hazard reported at that GCJ-02 point is drawn in that tile.
	res, body = f.do(t, "POST", "/collections/hazards/items?crs=gcj02", fmt.Sprintf(`{"type": "Feature",
		"geometry": {"type": "Point", "coordinates": [%v, %v]}, "properties": {"category": "fire", "severity": 2}}`, p[0], p[1]))
	if res.StatusCode != 201 {
		t.Fatalf("POST: %d %s", res.StatusCode, body)
	}
	if res, _ := f.getWith(t, path+"?crs=gcj02", "If-None-Match", etag); res.StatusCode != 200 {
		t.Errorf("after a write in the tile: %d, want 200 with a new tile", res.StatusCode)
	}
	_, body = f.getWith(t, "/tiles/grids.json?crs=gcj02")
	var tj struct{ Tiles []string }
	decode(t, body, &tj)
	if len(tj.Tiles) != 1 || !strings.HasSuffix(tj.Tiles[0], "/tiles/grids/{z}/{x}/{y}.mvt?crs=gcj02") {
		t.Errorf("TileJSON tiles %v", tj.Tiles)
	}
	for _, q := range []string{"?crs=bd09", "?crs=" + url.QueryEscape(epsg4490), "?crs=mars"} {
		res, body := f.getWith(t, path+q)
		if res.StatusCode != 400 || !strings.Contains(string(body), "parameter crs") {
			t.Errorf("%s: %d %s", q, res.StatusCode, body)
		}
	}
}
