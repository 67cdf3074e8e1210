package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// GeoJSON geometry, read with the path to a bad coordinate
// ("coordinates[2][0]: …") so that an error names where in the feature it
// is.

// rawGeometry is a geometry object with its members left raw.
type rawGeometry struct {
	Type        json.RawMessage `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
	Geometries  json.RawMessage `json:"geometries"`
}

func isGeometryType(t string) bool {
	switch t {
	case "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection":
		return true
	}
	return false
}

// geometryHeader decodes a geometry object's members and checks its type,
// so the layer can refuse a wrong type before its coordinates are parsed.
func geometryHeader(raw json.RawMessage) (rawGeometry, string, error) {
	var g rawGeometry
	if k := jsonKind(raw); k != "an object" {
		return g, "", invalid("geometry", "the geometry is %s, want a geometry object", k)
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return g, "", invalid("geometry", "bad geometry: %v", err)
	}
	if len(g.Type) == 0 {
		return g, "", invalid("geometry", `the geometry has no "type"`)
	}
	var typ string
	if json.Unmarshal(g.Type, &typ) != nil {
		return g, "", invalid("geometry", `the geometry's "type" is %s, want a string`, jsonKind(g.Type))
	}
	if !isGeometryType(typ) {
		for _, t := range []string{"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"} {
			if strings.EqualFold(t, typ) {
				return g, "", invalid("geometry", "unknown geometry type %q (did you mean %q? GeoJSON type names are case-sensitive)", typ, t)
			}
		}
		return g, "", invalid("geometry", "unknown geometry type %q", typ)
	}
	return g, typ, nil
}

// parseGeometry parses and checks any GeoJSON geometry object.
func parseGeometry(raw json.RawMessage) (orb.Geometry, error) {
	g, typ, err := geometryHeader(raw)
	if err != nil {
		return nil, err
	}
	return buildGeometry(g, typ, 0)
}

// maxCollectionDepth bounds GeometryCollection nesting. RFC 7946 advises
// against nesting at all; the bound keeps hostile input from recursing deep.
const maxCollectionDepth = 8

// buildGeometry turns a geometry of a known type into an orb.Geometry.
func buildGeometry(g rawGeometry, typ string, depth int) (orb.Geometry, error) {
	if typ == "GeometryCollection" {
		if depth >= maxCollectionDepth {
			return nil, invalid("geometry", "GeometryCollections are nested too deep")
		}
		if len(g.Geometries) == 0 {
			return nil, invalid("geometry", `the GeometryCollection has no "geometries"`)
		}
		var parts []json.RawMessage
		if json.Unmarshal(g.Geometries, &parts) != nil {
			return nil, invalid("geometry", `"geometries" is %s, want an array`, jsonKind(g.Geometries))
		}
		c := make(orb.Collection, 0, len(parts))
		for i, p := range parts {
			pg, ptyp, err := geometryHeader(p)
			if err == nil {
				var geom orb.Geometry
				geom, err = buildGeometry(pg, ptyp, depth+1)
				c = append(c, geom)
			}
			if err != nil {
				return nil, invalid("geometry", "geometries[%d]: %s", i, data.ErrorMessage(err))
			}
		}
		return c, nil
	}

	switch jsonKind(g.Coordinates) {
	case "missing":
		return nil, invalid("geometry", `the %s has no "coordinates"`, typ)
	case "null":
		return nil, invalid("geometry", `the %s's "coordinates" are null`, typ)
	}
	var v any
	if err := json.Unmarshal(g.Coordinates, &v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && strings.HasPrefix(te.Value, "number") {
			return nil, invalid("geometry", "coordinates: a number is out of range")
		}
		return nil, invalid("geometry", "bad coordinates: %v", err)
	}
	var geom orb.Geometry
	var err error
	switch typ {
	case "Point":
		geom, err = toPosition(v)
	case "MultiPoint":
		geom, err = toPositions(v, 0)
		if err == nil {
			geom = orb.MultiPoint(geom.(orb.LineString))
		}
	case "LineString":
		geom, err = toPositions(v, 2)
	case "MultiLineString":
		geom, err = toLines(v)
	case "Polygon":
		geom, err = toPolygon(v)
	case "MultiPolygon":
		geom, err = toMultiPolygon(v)
	}
	if err != nil {
		var ce *coordError
		if errors.As(err, &ce) {
			err = invalid("geometry", "%s coordinates%s: %s", typ, ce.path, ce.reason)
		}
		return nil, err
	}
	return geom, nil
}

// coordError is a problem in a geometry's coordinates at a JSON path below
// them. The to… functions return it: each level of nesting puts its index
// in front of the path on the way out (at), and buildGeometry names the
// geometry, as in `Polygon coordinates[0][1]: a string, want a number`.
type coordError struct {
	path   string // "[0][1]"; "" for the value the reason is about
	reason string
}

func (e *coordError) Error() string { return "coordinates" + e.path + ": " + e.reason }

// badCoords is a problem with the value being read.
func badCoords(format string, args ...any) error {
	return &coordError{reason: fmt.Sprintf(format, args...)}
}

// at puts index i in front of the path of err, a *coordError.
func at(i int, err error) error {
	var ce *coordError
	if errors.As(err, &ce) {
		ce.path = fmt.Sprintf("[%d]", i) + ce.path
	}
	return err
}

// anyKind names the kind of a decoded JSON value for messages.
func anyKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "something else"
}

// toPosition checks one position: 2 or 3 numbers, lon and lat in range.
func toPosition(v any) (orb.Point, error) {
	arr, ok := v.([]any)
	if !ok {
		return orb.Point{}, badCoords("%s, want a position [lon, lat]", anyKind(v))
	}
	if len(arr) < 2 {
		return orb.Point{}, badCoords("a position of %d number(s), want [lon, lat]", len(arr))
	}
	if len(arr) > 3 {
		return orb.Point{}, badCoords("a position of %d numbers, want 2 or 3 (lon, lat[, altitude])", len(arr))
	}
	var p orb.Point
	for i, e := range arr {
		f, ok := e.(float64)
		if !ok {
			return orb.Point{}, at(i, badCoords("%s, want a number", anyKind(e)))
		}
		if i < 2 {
			p[i] = f
		}
	}
	if err := lonLat(p[0], p[1]); err != nil {
		return orb.Point{}, badCoords("%s", data.ErrorMessage(err))
	}
	return p, nil
}

// toPositions checks an array of at least min positions.
func toPositions(v any, min int) (orb.LineString, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, badCoords("%s, want an array of positions", anyKind(v))
	}
	if len(arr) < min {
		return nil, badCoords("%d position(s), want at least %d", len(arr), min)
	}
	ls := make(orb.LineString, len(arr))
	for i, e := range arr {
		p, err := toPosition(e)
		if err != nil {
			return nil, at(i, err)
		}
		ls[i] = p
	}
	return ls, nil
}

func toLines(v any) (orb.MultiLineString, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, badCoords("%s, want an array of line strings", anyKind(v))
	}
	ml := make(orb.MultiLineString, len(arr))
	for i, e := range arr {
		ls, err := toPositions(e, 2)
		if err != nil {
			return nil, at(i, err)
		}
		ml[i] = ls
	}
	return ml, nil
}

// toRing checks a linear ring: at least 4 positions, first equal to last
// in lon and lat (an altitude on one end only does not open a ring).
func toRing(v any) (orb.Ring, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, badCoords("%s, want a ring (an array of positions)", anyKind(v))
	}
	if len(arr) == 2 || len(arr) == 3 {
		// A polygon written as a bare list of positions, one level short.
		if _, ok := arr[0].(float64); ok {
			return nil, badCoords("a position, want a ring (an array of positions): the polygon needs one more level of brackets")
		}
	}
	ls, err := toPositions(v, 0)
	if err != nil {
		return nil, err
	}
	if len(ls) < 4 {
		return nil, badCoords("a ring of %d position(s), want at least 4", len(ls))
	}
	if ls[0] != ls[len(ls)-1] {
		return nil, badCoords("the ring is not closed: the first position %v differs from the last %v", ls[0], ls[len(ls)-1])
	}
	return orb.Ring(ls), nil
}

func toPolygon(v any) (orb.Polygon, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, badCoords("%s, want an array of rings", anyKind(v))
	}
	if len(arr) == 0 {
		return nil, badCoords("an empty polygon, want at least an outer ring")
	}
	p := make(orb.Polygon, len(arr))
	for i, e := range arr {
		r, err := toRing(e)
		if err != nil {
			return nil, at(i, err)
		}
		p[i] = r
	}
	return p, nil
}

func toMultiPolygon(v any) (orb.MultiPolygon, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, badCoords("%s, want an array of polygons", anyKind(v))
	}
	mp := make(orb.MultiPolygon, len(arr))
	for i, e := range arr {
		if _, ok := e.([]any); !ok {
			return nil, at(i, badCoords("%s, want a polygon (an array of rings)", anyKind(e)))
		}
		p, err := toPolygon(e)
		if err != nil {
			return nil, at(i, err)
		}
		mp[i] = p
	}
	return mp, nil
}
