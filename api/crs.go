package api

import (
	"net/http"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/wangge/wangge/spatial"
)

// The coordinate systems of the answers (OGC API Features Part 2, and
// wangge's short names). Data is stored in WGS 84; a GeoJSON answer is
// written in the crs its request names by outCRS.geometry, the one place
// geometry leaves the server. Two vocabularies share the parameter:
//
//   - Part 2 URIs: CRS84 (lon, lat; the default), EPSG:4326 and EPSG:4490
//     (CGCS2000), both lat, lon as their EPSG definitions order the axes.
//     CGCS2000 and WGS 84 differ by up to about a metre (plate motion since
//     CGCS2000's epoch 2000.0), below what wangge's data resolves, so
//     EPSG:4490 is the WGS 84 numbers with the axes swapped, as EPSG:4326
//     is (docs/DESIGN.md, "Coordinates").
//   - the short names of the Chinese map SDKs: wgs84, gcj02 (AMap,
//     Tencent), bd09 (Baidu), in lon, lat order (spatial.ParseCRS). Where
//     the parameter also names the CRS of an input point (nearby, writes),
//     the answer's geometry is in the same CRS.
const (
	epsg4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
	epsg4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
)

// crsURIs are the Part 2 CRSs of every collection, the storage CRS first.
var crsURIs = []string{crs84, epsg4326, epsg4490}

// crsNames are all the values the crs parameters take, for the 400s and
// the OpenAPI document.
var crsNames = append(append([]string{}, crsURIs...), "wgs84", "gcj02", "bd09")

// outCRS is the coordinate system of an answer's geometry.
type outCRS struct {
	c      spatial.CRS
	latLon bool   // the axis order is lat, lon (EPSG:4326, EPSG:4490)
	uri    string // the Part 2 URI, for Content-Crs; "" for GCJ-02 and BD-09, which have none
}

// defaultCRS is CRS84, GeoJSON's own.
var defaultCRS = outCRS{c: spatial.WGS84, uri: crs84}

// parseCRS reads the crs-like parameter name (crs, bbox-crs) of v: CRS84
// when absent. Both vocabularies are accepted; anything else is a 400
// naming the parameter and the values it takes.
func parseCRS(v interface{ Get(string) string }, name string) (outCRS, error) {
	return crsNamed("parameter "+name, v.Get(name))
}

// crsNamed is parseCRS for the value s of the field that what names
// ("parameter crs", "body: crs"): the one parser of both vocabularies, so
// query parameters and bodies take the same values.
func crsNamed(what, s string) (outCRS, error) {
	switch strings.TrimSpace(s) {
	case "", crs84, "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "[OGC:CRS84]":
		return defaultCRS, nil
	case epsg4326, "urn:ogc:def:crs:EPSG::4326", "[EPSG:4326]":
		return outCRS{c: spatial.WGS84, latLon: true, uri: epsg4326}, nil
	case epsg4490, "urn:ogc:def:crs:EPSG::4490", "[EPSG:4490]":
		return outCRS{c: spatial.WGS84, latLon: true, uri: epsg4490}, nil
	}
	c, err := spatial.ParseCRS(s)
	if err != nil {
		return outCRS{}, invalid("%s: unknown coordinate system %q; allowed: %s", what, s, strings.Join(crsNames, ", "))
	}
	if c == spatial.WGS84 {
		// The short names are lon, lat, whatever EPSG code they spell.
		return defaultCRS, nil
	}
	return outCRS{c: c}, nil
}

// geometry is the WGS 84 geometry g as the answer writes it: converted to
// the CRS, axes swapped where it orders them lat, lon.
func (o outCRS) geometry(g orb.Geometry) *geojson.Geometry {
	if g == nil {
		return nil
	}
	return geojson.NewGeometry(o.convert(g))
}

// convert is geometry before it is wrapped for GeoJSON: a copy of g
// converted, or g itself in CRS84.
func (o outCRS) convert(g orb.Geometry) orb.Geometry {
	if g == nil || (o.c == spatial.WGS84 && !o.latLon) {
		return g
	}
	return spatial.TransformGeometry(g, o.point)
}

// point converts one WGS 84 position.
func (o outCRS) point(p orb.Point) orb.Point {
	p = o.c.FromWGS84(p)
	if o.latLon {
		p[0], p[1] = p[1], p[0]
	}
	return p
}

// header sets Content-Crs (Part 2, /req/crs/ogc-crs-header) where the CRS
// has a URI.
func (o outCRS) header(w http.ResponseWriter) {
	if o.uri != "" {
		w.Header().Set("Content-Crs", "<"+o.uri+">")
	}
}

// bound reads a bbox given in the CRS as a WGS 84 bound: corners in its
// axis order, converted corner by corner (GCJ-02 and BD-09 boxes are
// therefore off by up to a few metres along their edges, which the offset's
// slope makes of a box a few kilometres wide).
func (o outCRS) bound(b orb.Bound) orb.Bound {
	if o.c == spatial.WGS84 {
		return b
	}
	out := orb.Bound{Min: o.c.ToWGS84(b.Min), Max: o.c.ToWGS84(b.Min)}
	for _, p := range [3]orb.Point{b.Max, {b.Min[0], b.Max[1]}, {b.Max[0], b.Min[1]}} {
		out = out.Extend(o.c.ToWGS84(p))
	}
	return out
}

// outCRSParam is the crs parameter of the GeoJSON answers that take only
// an output CRS (hotspots, coverage gaps).
var outCRSParam = queryParam("crs", "coordinate system of the answer's geometry: "+crs84+" (default; lon, lat), "+
	epsg4326+" or "+epsg4490+" (CGCS2000; both lat, lon), or wgs84, gcj02 (AMap, Tencent), bd09 (Baidu), lon, lat",
	map[string]any{"type": "string", "enum": crsNames})
