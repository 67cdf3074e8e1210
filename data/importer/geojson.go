package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/paulmach/orb"
	"github.com/wangge/wangge/data"
)

// Where the token walk over the top-level object is.
const (
	gjStart    = iota // before the top-level value
	gjObject          // between members of the top-level object
	gjFeatures        // inside the "features" array
	gjDone            // after the top-level value
)

// geojsonState walks a FeatureCollection token by token and decodes one
// feature at a time, so a file of a million features never needs a
// million-element slice. "features" may come before or after "type".
type geojsonState struct {
	dec         *json.Decoder
	lines       *lineTracker
	state       int
	sawType     bool
	sawFeatures bool
	feature     int                        // features seen so far
	props       map[string]json.RawMessage // reused for every feature
}

func (g *geojsonState) init(r io.Reader) {
	g.lines = &lineTracker{r: r, line: 1}
	g.dec = json.NewDecoder(g.lines)
	g.props = make(map[string]json.RawMessage)
}

// syntaxFail turns a decoder error into a whole-file error with a line.
func (r *Reader) syntaxFail(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.fail(0, "unexpected end of file: the JSON is cut short")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return r.fail(r.gj.lines.lineAt(se.Offset), "not valid JSON: %v", se)
	}
	r.err = data.Wrap(data.EINVALID, err, "%s: %v", r.name, err)
	return r.err
}

func (r *Reader) nextGeoJSON() (Record, error) {
	g := &r.gj
	for {
		switch g.state {
		case gjStart:
			tok, err := g.dec.Token()
			if errors.Is(err, io.EOF) {
				return Record{}, r.fail(0, "the file is empty")
			}
			if err != nil {
				return Record{}, r.syntaxFail(err)
			}
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return Record{}, r.fail(1, "the top-level value is %s, not a FeatureCollection object", tokenKind(tok))
			}
			g.state = gjObject

		case gjObject:
			if !g.dec.More() {
				if _, err := g.dec.Token(); err != nil { // the closing '}'
					return Record{}, r.syntaxFail(err)
				}
				g.state = gjDone
				if !g.sawType {
					return Record{}, r.fail(0, `the top-level object has no "type": want a FeatureCollection`)
				}
				if !g.sawFeatures {
					return Record{}, r.fail(0, `the FeatureCollection has no "features" member`)
				}
				switch tok, err := g.dec.Token(); {
				case errors.Is(err, io.EOF):
					return Record{}, io.EOF
				case err != nil:
					return Record{}, r.syntaxFail(err)
				default:
					return Record{}, r.fail(r.gj.lines.lineAt(g.dec.InputOffset()), "unexpected %s after the FeatureCollection", tokenKind(tok))
				}
			}
			tok, err := g.dec.Token()
			if err != nil {
				return Record{}, r.syntaxFail(err)
			}
			key, _ := tok.(string) // the decoder only gives strings as keys
			line := g.lines.lineAt(g.dec.InputOffset())
			switch key {
			case "type":
				if g.sawType {
					return Record{}, r.fail(line, `"type" appears twice in the top-level object`)
				}
				g.sawType = true
				var raw json.RawMessage
				if err := g.dec.Decode(&raw); err != nil {
					return Record{}, r.syntaxFail(err)
				}
				if reason := topLevelType(raw); reason != "" {
					return Record{}, r.fail(line, "%s", reason)
				}
			case "features":
				if g.sawFeatures {
					return Record{}, r.fail(line, `"features" appears twice in the top-level object`)
				}
				g.sawFeatures = true
				tok, err := g.dec.Token()
				if err != nil {
					return Record{}, r.syntaxFail(err)
				}
				if d, ok := tok.(json.Delim); !ok || d != '[' {
					return Record{}, r.fail(line, `"features" is %s, want an array of features`, tokenKind(tok))
				}
				g.state = gjFeatures
			default:
				// Foreign members, bbox, crs, name…: read past them.
				if err := g.dec.Decode(&skipValue{}); err != nil {
					return Record{}, r.syntaxFail(err)
				}
			}

		case gjFeatures:
			if !g.dec.More() {
				if _, err := g.dec.Token(); err != nil { // the closing ']'
					return Record{}, r.syntaxFail(err)
				}
				g.state = gjObject
				continue
			}
			line := g.featureLine()
			var raw json.RawMessage
			if err := g.dec.Decode(&raw); err != nil {
				return Record{}, r.syntaxFail(err)
			}
			g.feature++
			rec := Record{Line: line, Feature: g.feature}
			if reason := r.decodeFeature(raw, &rec); reason != "" {
				return Record{}, r.rowError(line, g.feature, reason)
			}
			return rec, nil

		default:
			return Record{}, io.EOF
		}
	}
}

// topLevelType checks the top-level "type" and says what the file is when
// it is not a FeatureCollection.
func topLevelType(raw json.RawMessage) string {
	var t string
	if json.Unmarshal(raw, &t) != nil {
		return fmt.Sprintf(`the top-level "type" is %s, want "FeatureCollection"`, jsonKind(raw))
	}
	switch {
	case t == "FeatureCollection":
		return ""
	case strings.EqualFold(t, "FeatureCollection"):
		return fmt.Sprintf(`the top-level type is %q, want "FeatureCollection" (GeoJSON type names are case-sensitive)`, t)
	case t == "Feature":
		return `the top-level object is a single Feature, not a FeatureCollection: put it in {"type": "FeatureCollection", "features": [...]}`
	case isGeometryType(t):
		return fmt.Sprintf(`the top-level object is a bare %s geometry, not a FeatureCollection: features need properties to import`, t)
	}
	return fmt.Sprintf(`the top-level type is %q, want "FeatureCollection"`, t)
}

// skipValue reads past a JSON value without keeping it.
type skipValue struct{}

// UnmarshalJSON does nothing: the value is not wanted.
func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// featureLine returns the line where the next feature starts: the line of
// the decoder's offset plus the newlines in the space and comma before it.
func (g *geojsonState) featureLine() int {
	line := g.lines.lineAt(g.dec.InputOffset())
	br, ok := g.dec.Buffered().(io.ByteReader)
	if !ok {
		return line
	}
	for {
		c, err := br.ReadByte()
		if err != nil {
			return line
		}
		switch c {
		case '\n':
			line++
		case ' ', '\t', '\r', ',':
		default:
			return line
		}
	}
}

// lineTracker counts lines in what the JSON decoder has consumed. It keeps
// only the bytes read but not yet counted, so its memory is bounded by the
// decoder's look-ahead, not by the file.
type lineTracker struct {
	r       io.Reader
	pending []byte // read, not yet counted; pending[head:] is live
	head    int
	base    int64 // decoder offset of pending[head]
	line    int   // line at base, 1-based
}

func (t *lineTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if t.head > 0 && t.head >= len(t.pending)/2 {
		t.pending = t.pending[:copy(t.pending, t.pending[t.head:])]
		t.head = 0
	}
	t.pending = append(t.pending, p[:n]...)
	return n, err
}

// lineAt returns the line of decoder offset off; offsets must not go back.
func (t *lineTracker) lineAt(off int64) int {
	k := off - t.base
	if k <= 0 {
		return t.line
	}
	live := t.pending[t.head:]
	if k > int64(len(live)) {
		k = int64(len(live))
	}
	t.line += bytes.Count(live[:k], []byte{'\n'})
	t.head += int(k)
	t.base += k
	return t.line
}

// rawFeature is a feature with its members left raw, so that every kind of
// wrong value gets a reason of ours rather than an encoding/json message.
type rawFeature struct {
	Type       json.RawMessage `json:"type"`
	ID         json.RawMessage `json:"id"`
	Properties json.RawMessage `json:"properties"`
	Geometry   json.RawMessage `json:"geometry"`
}

// decodeFeature checks one feature and fills rec, or returns a reason.
func (r *Reader) decodeFeature(raw json.RawMessage, rec *Record) string {
	if k := jsonKind(raw); k != "an object" {
		if k == "null" {
			return "the feature is null"
		}
		return fmt.Sprintf("the feature is %s, want a Feature object", k)
	}
	var f rawFeature
	if err := json.Unmarshal(raw, &f); err != nil {
		return "bad feature: " + err.Error()
	}
	if len(f.Type) == 0 {
		return `the feature has no "type"`
	}
	var typ string
	if json.Unmarshal(f.Type, &typ) != nil {
		return fmt.Sprintf(`the feature's "type" is %s, want "Feature"`, jsonKind(f.Type))
	}
	if typ != "Feature" {
		return fmt.Sprintf(`the feature's type is %q, want "Feature"`, typ)
	}

	fs := &r.fields
	fs.reset()
	switch k := jsonKind(f.Properties); k {
	case "missing", "null":
	case "an object":
		clear(r.gj.props)
		if err := json.Unmarshal(f.Properties, &r.gj.props); err != nil {
			return "bad properties: " + err.Error()
		}
		cols, _ := columns(r.layer)
		for _, c := range cols {
			v, ok := r.gj.props[c.name()]
			if !ok {
				continue
			}
			s, present, reason := propertyString(c.name(), v)
			if reason != "" {
				return reason
			}
			fs.vals[c], fs.present[c] = s, present
		}
	default:
		return fmt.Sprintf(`"properties" is %s, want an object or null`, k)
	}

	// The id of a point, or the code of an area, may be the feature's id.
	// Its absence is reported after the geometry's problems, which say more.
	idCol := colID
	if r.layer == data.LayerAreas {
		idCol = colCode
	}
	if fs.vals[idCol] == "" && len(f.ID) > 0 {
		s, present, reason := propertyString("the feature id", f.ID)
		if reason != "" {
			return reason
		}
		if present {
			fs.vals[idCol], fs.present[idCol] = s, true
		}
	}

	switch k := jsonKind(f.Geometry); k {
	case "missing":
		return `the feature has no "geometry"`
	case "null":
		return "the geometry is null: every " + string(r.layer) + " record needs a location"
	case "an object":
	default:
		return fmt.Sprintf(`"geometry" is %s, want a geometry object`, k)
	}
	g, typ, reason := geometryHeader(f.Geometry)
	if reason != "" {
		return reason
	}
	if r.layer == data.LayerAreas {
		if typ != "Polygon" && typ != "MultiPolygon" {
			return fmt.Sprintf("the geometry is a %s, want a Polygon or MultiPolygon for areas", typ)
		}
		geom, reason := buildGeometry(g, typ, 0)
		if reason != "" {
			return reason
		}
		var mp orb.MultiPolygon
		switch v := geom.(type) {
		case orb.Polygon:
			mp = orb.MultiPolygon{v}
		case orb.MultiPolygon:
			mp = v
		}
		if len(mp) == 0 {
			return "the MultiPolygon has no polygons"
		}
		if !fs.present[idCol] {
			return "missing code: set properties.code or the feature's id"
		}
		return fs.area(mp, rec)
	}
	if typ != "Point" {
		return fmt.Sprintf("the geometry is a %s, want a Point for %s", typ, r.layer)
	}
	geom, reason := buildGeometry(g, typ, 0)
	if reason != "" {
		return reason
	}
	pt := geom.(orb.Point)
	if !fs.present[idCol] {
		return "missing id: set properties.id or the feature's id"
	}
	switch r.layer {
	case data.LayerHouseholds:
		return fs.household(&pt, rec)
	case data.LayerHazards:
		return fs.hazard(&pt, rec)
	case data.LayerCameras:
		return fs.camera(&pt, rec)
	}
	return "unsupported layer"
}

// propertyString turns a property value into the string the validators
// take: strings as they are, numbers as written (so an id of 12 is "12"),
// null as absent. Objects, arrays and booleans are never what we want.
func propertyString(name string, raw json.RawMessage) (s string, present bool, reason string) {
	switch k := jsonKind(raw); k {
	case "null":
		return "", false, ""
	case "a string":
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, fmt.Sprintf("%s: %v", name, err)
		}
		return strings.TrimSpace(s), true, ""
	case "a number":
		return string(bytes.TrimSpace(raw)), true, ""
	default:
		return "", false, fmt.Sprintf("%s is %s, want a string or a number", name, k)
	}
}

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
func geometryHeader(raw json.RawMessage) (rawGeometry, string, string) {
	var g rawGeometry
	if k := jsonKind(raw); k != "an object" {
		return g, "", fmt.Sprintf("the geometry is %s, want a geometry object", k)
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return g, "", "bad geometry: " + err.Error()
	}
	if len(g.Type) == 0 {
		return g, "", `the geometry has no "type"`
	}
	var typ string
	if json.Unmarshal(g.Type, &typ) != nil {
		return g, "", fmt.Sprintf(`the geometry's "type" is %s, want a string`, jsonKind(g.Type))
	}
	if !isGeometryType(typ) {
		for _, t := range []string{"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"} {
			if strings.EqualFold(t, typ) {
				return g, "", fmt.Sprintf("unknown geometry type %q (did you mean %q? GeoJSON type names are case-sensitive)", typ, t)
			}
		}
		return g, "", fmt.Sprintf("unknown geometry type %q", typ)
	}
	return g, typ, ""
}

// parseGeometry parses and checks any GeoJSON geometry object.
func parseGeometry(raw json.RawMessage) (orb.Geometry, string) {
	g, typ, reason := geometryHeader(raw)
	if reason != "" {
		return nil, reason
	}
	return buildGeometry(g, typ, 0)
}

// maxCollectionDepth bounds GeometryCollection nesting. RFC 7946 advises
// against nesting at all; the bound keeps hostile input from recursing deep.
const maxCollectionDepth = 8

// buildGeometry turns a geometry of a known type into an orb.Geometry.
func buildGeometry(g rawGeometry, typ string, depth int) (orb.Geometry, string) {
	if typ == "GeometryCollection" {
		if depth >= maxCollectionDepth {
			return nil, "GeometryCollections are nested too deep"
		}
		if len(g.Geometries) == 0 {
			return nil, `the GeometryCollection has no "geometries"`
		}
		var parts []json.RawMessage
		if json.Unmarshal(g.Geometries, &parts) != nil {
			return nil, fmt.Sprintf(`"geometries" is %s, want an array`, jsonKind(g.Geometries))
		}
		c := make(orb.Collection, 0, len(parts))
		for i, p := range parts {
			pg, ptyp, reason := geometryHeader(p)
			if reason == "" {
				var geom orb.Geometry
				geom, reason = buildGeometry(pg, ptyp, depth+1)
				c = append(c, geom)
			}
			if reason != "" {
				return nil, fmt.Sprintf("geometries[%d]: %s", i, reason)
			}
		}
		return c, ""
	}

	switch jsonKind(g.Coordinates) {
	case "missing":
		return nil, fmt.Sprintf(`the %s has no "coordinates"`, typ)
	case "null":
		return nil, fmt.Sprintf(`the %s's "coordinates" are null`, typ)
	}
	var v any
	if err := json.Unmarshal(g.Coordinates, &v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && strings.HasPrefix(te.Value, "number") {
			return nil, "coordinates: a number is out of range"
		}
		return nil, "bad coordinates: " + err.Error()
	}
	var geom orb.Geometry
	var path, reason string
	switch typ {
	case "Point":
		geom, path, reason = toPosition(v)
	case "MultiPoint":
		geom, path, reason = toPositions(v, 0)
		if reason == "" {
			geom = orb.MultiPoint(geom.(orb.LineString))
		}
	case "LineString":
		geom, path, reason = toPositions(v, 2)
	case "MultiLineString":
		geom, path, reason = toLines(v)
	case "Polygon":
		geom, path, reason = toPolygon(v)
	case "MultiPolygon":
		geom, path, reason = toMultiPolygon(v)
	}
	if reason != "" {
		return nil, fmt.Sprintf("%s coordinates%s: %s", typ, path, reason)
	}
	return geom, ""
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
// Like the other to… functions it returns a JSON path below the value and
// a reason that reads after it, as in `coordinates[0][1]: a string, want a number`.
func toPosition(v any) (orb.Point, string, string) {
	arr, ok := v.([]any)
	if !ok {
		return orb.Point{}, "", fmt.Sprintf("%s, want a position [lon, lat]", anyKind(v))
	}
	if len(arr) < 2 {
		return orb.Point{}, "", fmt.Sprintf("a position of %d number(s), want [lon, lat]", len(arr))
	}
	if len(arr) > 3 {
		return orb.Point{}, "", fmt.Sprintf("a position of %d numbers, want 2 or 3 (lon, lat[, altitude])", len(arr))
	}
	var p orb.Point
	for i, e := range arr {
		f, ok := e.(float64)
		if !ok {
			return orb.Point{}, fmt.Sprintf("[%d]", i), fmt.Sprintf("%s, want a number", anyKind(e))
		}
		if i < 2 {
			p[i] = f
		}
	}
	if reason := lonLat(p[0], p[1]); reason != "" {
		return orb.Point{}, "", reason
	}
	return p, "", ""
}

// toPositions checks an array of at least min positions.
func toPositions(v any, min int) (orb.LineString, string, string) {
	arr, ok := v.([]any)
	if !ok {
		return nil, "", fmt.Sprintf("%s, want an array of positions", anyKind(v))
	}
	if len(arr) < min {
		return nil, "", fmt.Sprintf("%d position(s), want at least %d", len(arr), min)
	}
	ls := make(orb.LineString, len(arr))
	for i, e := range arr {
		p, path, reason := toPosition(e)
		if reason != "" {
			return nil, fmt.Sprintf("[%d]%s", i, path), reason
		}
		ls[i] = p
	}
	return ls, "", ""
}

func toLines(v any) (orb.MultiLineString, string, string) {
	arr, ok := v.([]any)
	if !ok {
		return nil, "", fmt.Sprintf("%s, want an array of line strings", anyKind(v))
	}
	ml := make(orb.MultiLineString, len(arr))
	for i, e := range arr {
		ls, path, reason := toPositions(e, 2)
		if reason != "" {
			return nil, fmt.Sprintf("[%d]%s", i, path), reason
		}
		ml[i] = ls
	}
	return ml, "", ""
}

// toRing checks a linear ring: at least 4 positions, first equal to last
// in lon and lat (an altitude on one end only does not open a ring).
func toRing(v any) (orb.Ring, string, string) {
	arr, ok := v.([]any)
	if !ok {
		return nil, "", fmt.Sprintf("%s, want a ring (an array of positions)", anyKind(v))
	}
	if len(arr) == 2 || len(arr) == 3 {
		// A polygon written as a bare list of positions, one level short.
		if _, ok := arr[0].(float64); ok {
			return nil, "", "a position, want a ring (an array of positions): the polygon needs one more level of brackets"
		}
	}
	ls, path, reason := toPositions(v, 0)
	if reason != "" {
		return nil, path, reason
	}
	if len(ls) < 4 {
		return nil, "", fmt.Sprintf("a ring of %d position(s), want at least 4", len(ls))
	}
	if ls[0] != ls[len(ls)-1] {
		return nil, "", fmt.Sprintf("the ring is not closed: the first position %v differs from the last %v", ls[0], ls[len(ls)-1])
	}
	return orb.Ring(ls), "", ""
}

func toPolygon(v any) (orb.Polygon, string, string) {
	arr, ok := v.([]any)
	if !ok {
		return nil, "", fmt.Sprintf("%s, want an array of rings", anyKind(v))
	}
	if len(arr) == 0 {
		return nil, "", "an empty polygon, want at least an outer ring"
	}
	p := make(orb.Polygon, len(arr))
	for i, e := range arr {
		r, path, reason := toRing(e)
		if reason != "" {
			return nil, fmt.Sprintf("[%d]%s", i, path), reason
		}
		p[i] = r
	}
	return p, "", ""
}

func toMultiPolygon(v any) (orb.MultiPolygon, string, string) {
	arr, ok := v.([]any)
	if !ok {
		return nil, "", fmt.Sprintf("%s, want an array of polygons", anyKind(v))
	}
	mp := make(orb.MultiPolygon, len(arr))
	for i, e := range arr {
		if _, ok := e.([]any); !ok {
			return nil, fmt.Sprintf("[%d]", i), fmt.Sprintf("%s, want a polygon (an array of rings)", anyKind(e))
		}
		p, path, reason := toPolygon(e)
		if reason != "" {
			return nil, fmt.Sprintf("[%d]%s", i, path), reason
		}
		mp[i] = p
	}
	return mp, "", ""
}
