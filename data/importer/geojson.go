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
				if err := topLevelType(raw); err != nil {
					return Record{}, r.fail(line, "%v", err)
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
			case "crs":
				var raw json.RawMessage
				if err := g.dec.Decode(&raw); err != nil {
					return Record{}, r.syntaxFail(err)
				}
				if err := r.crsMember(raw, line); err != nil {
					return Record{}, err
				}
			default:
				// Foreign members, bbox, name…: read past them.
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
			if err := r.decodeFeature(raw, &rec); err != nil {
				return Record{}, r.rowError(line, g.feature, err)
			}
			return rec, nil

		default:
			return Record{}, io.EOF
		}
	}
}

// topLevelType checks the top-level "type" and says what the file is when
// it is not a FeatureCollection.
func topLevelType(raw json.RawMessage) error {
	var t string
	if json.Unmarshal(raw, &t) != nil {
		return fmt.Errorf(`the top-level "type" is %s, want "FeatureCollection"`, jsonKind(raw))
	}
	switch {
	case t == "FeatureCollection":
		return nil
	case strings.EqualFold(t, "FeatureCollection"):
		return fmt.Errorf(`the top-level type is %q, want "FeatureCollection" (GeoJSON type names are case-sensitive)`, t)
	case t == "Feature":
		return errors.New(`the top-level object is a single Feature, not a FeatureCollection: put it in {"type": "FeatureCollection", "features": [...]}`)
	case isGeometryType(t):
		return fmt.Errorf(`the top-level object is a bare %s geometry, not a FeatureCollection: features need properties to import`, t)
	}
	return fmt.Errorf(`the top-level type is %q, want "FeatureCollection"`, t)
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

// decodeFeature checks one feature and fills rec.
func (r *Reader) decodeFeature(raw json.RawMessage, rec *Record) error {
	if k := jsonKind(raw); k != "an object" {
		if k == "null" {
			return invalid("", "the feature is null")
		}
		return invalid("", "the feature is %s, want a Feature object", k)
	}
	var f rawFeature
	if err := json.Unmarshal(raw, &f); err != nil {
		return invalid("", "bad feature: %v", err)
	}
	if len(f.Type) == 0 {
		return invalid("", `the feature has no "type"`)
	}
	var typ string
	if json.Unmarshal(f.Type, &typ) != nil {
		return invalid("", `the feature's "type" is %s, want "Feature"`, jsonKind(f.Type))
	}
	if typ != "Feature" {
		return invalid("", `the feature's type is %q, want "Feature"`, typ)
	}

	fs := &r.fields
	fs.reset()
	switch k := jsonKind(f.Properties); k {
	case "missing", "null":
	case "an object":
		clear(r.gj.props)
		if err := json.Unmarshal(f.Properties, &r.gj.props); err != nil {
			return invalid("", "bad properties: %v", err)
		}
		cols, _ := columns(r.layer)
		for _, c := range cols {
			v, ok := r.gj.props[c.name()]
			if !ok {
				continue
			}
			s, present, err := propertyString(c, c.name(), v)
			if err != nil {
				return err
			}
			fs.vals[c], fs.present[c] = s, present
		}
	default:
		return invalid("", `"properties" is %s, want an object or null`, k)
	}

	// The id of a point, or the code of an area, may be the feature's id.
	// Its absence is reported after the geometry's problems, which say more.
	idCol := colID
	if r.layer == data.LayerAreas {
		idCol = colCode
	}
	if fs.vals[idCol] == "" && len(f.ID) > 0 {
		s, present, err := propertyString(idCol, "the feature id", f.ID)
		if err != nil {
			return err
		}
		if present {
			fs.vals[idCol], fs.present[idCol] = s, true
		}
	}
	// A street line without an id is known by its OSM id.
	if r.layer == data.LayerStreets && fs.vals[idCol] == "" && fs.vals[colOSMID] != "" {
		fs.vals[idCol], fs.present[idCol] = fs.vals[colOSMID], true
	}

	switch k := jsonKind(f.Geometry); k {
	case "missing":
		return invalid("geometry", `the feature has no "geometry"`)
	case "null":
		return invalid("geometry", "the geometry is null: every %s record needs a location", r.layer)
	case "an object":
	default:
		return invalid("geometry", `"geometry" is %s, want a geometry object`, k)
	}
	g, typ, err := geometryHeader(f.Geometry)
	if err != nil {
		return err
	}
	if r.layer == data.LayerAreas {
		if typ != "Polygon" && typ != "MultiPolygon" {
			return invalid("geometry", "the geometry is a %s, want a Polygon or MultiPolygon for areas", typ)
		}
		geom, err := buildGeometry(g, typ, 0)
		if err != nil {
			return err
		}
		var mp orb.MultiPolygon
		switch v := geom.(type) {
		case orb.Polygon:
			mp = orb.MultiPolygon{v}
		case orb.MultiPolygon:
			mp = v
		}
		if len(mp) == 0 {
			return invalid("geometry", "the MultiPolygon has no polygons")
		}
		if !fs.present[idCol] {
			return invalid("code", "missing code: set properties.code or the feature's id")
		}
		return fs.area(mp, rec)
	}
	switch r.layer {
	case data.LayerStreets:
		if typ != "LineString" && typ != "MultiLineString" {
			return invalid("geometry", "the geometry is a %s, want a LineString or MultiLineString for streets", typ)
		}
		geom, err := buildGeometry(g, typ, 0)
		if err != nil {
			return err
		}
		var ml orb.MultiLineString
		switch v := geom.(type) {
		case orb.LineString:
			ml = orb.MultiLineString{v}
		case orb.MultiLineString:
			ml = v
		}
		if !fs.present[idCol] {
			return invalid("id", "missing id: set properties.id, properties.osm_id or the feature's id")
		}
		return fs.street(ml, rec)
	case data.LayerUnits:
		if typ != "Point" && typ != "Polygon" && typ != "MultiPolygon" {
			return invalid("geometry", "the geometry is a %s, want a Point, Polygon or MultiPolygon for units", typ)
		}
		geom, err := buildGeometry(g, typ, 0)
		if err != nil {
			return err
		}
		if p, ok := geom.(orb.Polygon); ok {
			geom = orb.MultiPolygon{p}
		}
		if mp, ok := geom.(orb.MultiPolygon); ok && len(mp) == 0 {
			return invalid("geometry", "the MultiPolygon has no polygons")
		}
		if !fs.present[idCol] {
			return invalid("id", "missing id: set properties.id or the feature's id")
		}
		return fs.unit(geom, rec)
	}
	if typ != "Point" {
		return invalid("geometry", "the geometry is a %s, want a Point for %s", typ, r.layer)
	}
	geom, err := buildGeometry(g, typ, 0)
	if err != nil {
		return err
	}
	pt := geom.(orb.Point)
	if !fs.present[idCol] {
		return invalid("id", "missing id: set properties.id or the feature's id")
	}
	return fs.check(r.layer, &pt, rec)
}

// propertyString turns the value of column c's property (or of what stands
// for it, named label in messages) into the string the validators take:
// strings as they are, numbers as written (so an id of 12 is "12"), null as
// absent. Objects, arrays and booleans are never what we want.
func propertyString(c col, label string, raw json.RawMessage) (s string, present bool, err error) {
	switch k := jsonKind(raw); k {
	case "null":
		return "", false, nil
	case "a string":
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, invalid(c.name(), "%s: %v", label, err)
		}
		return strings.TrimSpace(s), true, nil
	case "a number":
		return string(bytes.TrimSpace(raw)), true, nil
	default:
		return "", false, invalid(c.name(), "%s is %s, want a string or a number", label, k)
	}
}

// crsMember checks the legacy crs member of GeoJSON 2008 (RFC 7946 has
// none: coordinates are WGS 84 lon, lat). A name for WGS 84 passes; one
// for CGCS2000 (EPSG:4490, what Chinese surveying and planning data
// declares) is read as WGS 84, which it matches to about a metre (less
// than the data resolves), and the import's notes say so; any other system is refused, since its
// coordinates would land in the wrong place.
func (r *Reader) crsMember(raw json.RawMessage, line int) error {
	if string(raw) == "null" {
		return nil
	}
	var c struct {
		Type       string `json:"type"`
		Properties struct {
			Name string `json:"name"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(raw, &c)
	name := c.Properties.Name
	switch crsCode(name) {
	case "CRS84", "4326":
		return nil
	case "4490":
		r.notes = append(r.notes, fmt.Sprintf("the file declares CGCS2000 (crs %s); its coordinates are read as WGS 84 "+
			"longitude, latitude (they differ by up to about a metre)", name))
		return nil
	}
	if name == "" {
		name = string(raw)
	}
	return r.fail(line, "the file declares the coordinate system %.80s: wangge imports WGS 84 (CRS84, EPSG:4326) or CGCS2000 (EPSG:4490) "+
		"longitude, latitude; convert it first, e.g. ogr2ogr -t_srs EPSG:4326", name)
}

// crsCode reduces the usual spellings of a CRS name (urn:ogc:def:crs:…,
// EPSG:n, http://www.opengis.net/def/crs/…) to "CRS84" or the EPSG code.
func crsCode(name string) string {
	n := strings.ToUpper(strings.TrimSpace(name))
	switch {
	case strings.HasSuffix(n, "CRS84"):
		return "CRS84"
	case strings.HasPrefix(n, "URN:OGC:DEF:CRS:EPSG:"), strings.HasPrefix(n, "EPSG:"),
		strings.HasPrefix(n, "HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/"), strings.HasPrefix(n, "HTTPS://WWW.OPENGIS.NET/DEF/CRS/EPSG/"):
		return n[max(strings.LastIndex(n, ":"), strings.LastIndex(n, "/"))+1:]
	}
	return ""
}
