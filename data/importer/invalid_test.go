package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
)

// readAll reads every record of a file and returns the count of valid
// records, the row errors and the whole-file error, if any.
func readAll(t testing.TB, input []byte, name string, layer data.Layer) (records int, rows []*RowError, fileErr error) {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(input), name, layer)
	if err != nil {
		return 0, nil, err
	}
	for {
		_, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return records, rows, nil
		}
		var re *RowError
		switch {
		case errors.As(err, &re):
			rows = append(rows, re)
		case err != nil:
			return records, rows, err
		default:
			records++
		}
	}
}

// TestInvalidGeoJSONFiles decides the fate of each of the 44 files of
// geojsonhint's bad-input suite. Imported as households, each gives a
// whole-file error or row errors, never a panic and never a record. Most of
// them are a bare geometry or a single Feature, which are whole-file errors
// by design (see the package doc); for those, inner says what the same
// geometry, or the same feature, would give inside a FeatureCollection
// ("" = accepted), so the geometry checks are decided for every file too.
func TestInvalidGeoJSONFiles(t *testing.T) {
	const (
		bareGeometry  = "not a FeatureCollection: features need properties"
		singleFeature = "a single Feature, not a FeatureCollection"
	)
	tests := []struct {
		file    string
		fileErr string     // substring of the whole-file error; "" if none
		rows    []string   // substrings of the row errors, in order
		inner   string     // outcome of the inner geometry or feature; "" = accepted
		layer   data.Layer // layer for a single Feature's inner check
	}{
		{file: "bad-duplicate-properties", fileErr: `:3: "type" appears twice in the top-level object`},
		{file: "bad-featurelist", fileErr: bareGeometry, inner: "Polygon coordinates[0]: a number, want a ring"},
		// Invalid JSON further on; the bare MultiPoint is found first.
		{file: "bad-json", fileErr: "bare MultiPoint geometry"},
		{file: "bad-object-type", fileErr: `the top-level "type" is an object`},
		// Holes wound either way are accepted: winding is not checked.
		{file: "bad-polygon-interiorring-rhr", fileErr: bareGeometry, inner: ""},
		{file: "bad-polygonloop", fileErr: singleFeature, layer: data.LayerAreas,
			inner: "Polygon coordinates[0]: a position, want a ring (an array of positions): the polygon needs one more level of brackets"},
		{file: "bad-properties-as-array", fileErr: singleFeature, layer: data.LayerHouseholds,
			inner: `"properties" is an array, want an object or null`},
		{file: "badcoord", fileErr: bareGeometry, inner: "Point coordinates[2]: a string, want a number"},
		{file: "badcoordtype", rows: []string{"badcoordtype.geojson:4: feature 1: the geometry is a MultiPolygon, want a Point for households"},
			layer: data.LayerAreas, inner: "MultiPolygon coordinates[0][0][0]: a number, want a position [lon, lat]"},
		{file: "badfeature", rows: []string{"badfeature.geojson:1: feature 1: the feature is null"}},
		{file: "badfeatureid", rows: []string{"badfeatureid.geojson:4: feature 1: the feature id is an object, want a string or a number"}},
		// bbox members are ignored, well-formed or not.
		{file: "bbox-4or6elements", fileErr: bareGeometry, inner: ""},
		{file: "bbox-contains-string", fileErr: bareGeometry, inner: ""},
		{file: "bbox-string", fileErr: bareGeometry, inner: ""},
		{file: "different-first-last", fileErr: bareGeometry,
			inner: "Polygon coordinates[0]: the ring is not closed: the first position [100 0] differs from the last [100 1]"},
		// Rings are closed in lon, lat; the altitude on one end is dropped.
		{file: "different-first-size", fileErr: bareGeometry, inner: ""},
		// Excess precision is kept as it is.
		{file: "excessive_precision_truncated", fileErr: bareGeometry, inner: ""},
		{file: "expected_object", fileErr: singleFeature, layer: data.LayerHouseholds,
			inner: `"properties" is a number, want an object or null`},
		{file: "false", fileErr: bareGeometry, inner: "geometries[0]: the geometry is a boolean, want a geometry object"},
		// A Feature's forbidden "features" member is ignored; the id is missing.
		{file: "feature_changed_semantics", fileErr: singleFeature, layer: data.LayerHouseholds,
			inner: "missing id: set properties.id or the feature's id"},
		{file: "featurecollection-obj", fileErr: `:1: "features" is an object, want an array of features`},
		{file: "featurecollection-type-case", fileErr: `type is "featurecollection", want "FeatureCollection" (GeoJSON type names are case-sensitive)`},
		{file: "featurecollection", fileErr: `the FeatureCollection has no "features" member`},
		// The FeatureCollection's forbidden "properties" and "coordinates" are
		// ignored: its features are read, and judged on their own.
		{file: "featurecollection_changed_semantics", rows: []string{
			"featurecollection_changed_semantics.geojson:5: feature 1: missing id",
			"featurecollection_changed_semantics.geojson:9: feature 2: the geometry is a LineString, want a Point",
			"featurecollection_changed_semantics.geojson:21: feature 3: the geometry is a Polygon, want a Point",
		}},
		{file: "geometry_changed_semantics", fileErr: bareGeometry, inner: ""},
		// Nested collections are accepted as geometry; no layer takes them.
		{file: "geometrycollection_nested", fileErr: bareGeometry, inner: ""},
		{file: "geometrycollection_single", fileErr: bareGeometry, inner: ""},
		{file: "multiple_problems", rows: []string{
			"multiple_problems.geojson:4: feature 1: the feature id is an object",
			"multiple_problems.geojson:16: feature 2: missing id",
			`multiple_problems.geojson:27: feature 3: the feature's type is "Foo", want "Feature"`,
			`multiple_problems.geojson:38: feature 4: the feature's type is "Foo", want "Feature"`,
		}},
		{file: "multipoint-multidimension", fileErr: bareGeometry, inner: "MultiPoint coordinates[0][0]: an array, want a number"},
		{file: "multipoint-nondimension", fileErr: bareGeometry, inner: "MultiPoint coordinates[0]: a number, want a position [lon, lat]"},
		{file: "nofeaturetype", rows: []string{`nofeaturetype.geojson:4: feature 1: the feature's type is "Featre", want "Feature"`}},
		{file: "notype", fileErr: `the top-level object has no "type"`},
		{file: "point-labeled-as-a-multipolygon", fileErr: singleFeature, layer: data.LayerAreas,
			inner: "MultiPolygon coordinates[0]: a number, want a polygon (an array of rings)"},
		{file: "point-string", fileErr: bareGeometry, inner: "Point coordinates[0]: a string, want a number"},
		{file: "point-toofew", fileErr: bareGeometry, inner: "Point coordinates: a position of 1 number(s), want [lon, lat]"},
		{file: "point-toomany", fileErr: bareGeometry, inner: "Point coordinates: a position of 4 numbers, want 2 or 3"},
		{file: "point", fileErr: bareGeometry, inner: `the Point has no "coordinates"`},
		// Winding order is not checked (RFC 7946 says SHOULD).
		{file: "polygon_winding_order", fileErr: bareGeometry, inner: ""},
		{file: "rootstring", fileErr: "rootstring.geojson:1: the top-level value is null, not a FeatureCollection object"},
		{file: "short-line", fileErr: bareGeometry, inner: "LineString coordinates: 1 position(s), want at least 2"},
		{file: "short-linearring", fileErr: bareGeometry, inner: "Polygon coordinates[0]: a ring of 3 position(s), want at least 4"},
		{file: "short-multilinestring", fileErr: bareGeometry, inner: "MultiLineString coordinates[1]: 1 position(s), want at least 2"},
		{file: "stringcoord", rows: []string{
			"stringcoord.geojson:4: feature 1: Point coordinates[1]: a string, want a number",
			"stringcoord.geojson:15: feature 2: missing id",
		}},
		{file: "unknowntype", fileErr: `the top-level type is "FooBar", want "FeatureCollection"`},
	}

	files, err := filepath.Glob("testdata/geojson-invalid/*.geojson")
	if err != nil {
		t.Fatal(err)
	}
	listed := make(map[string]bool)
	for _, tt := range tests {
		listed[tt.file+".geojson"] = true
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s has no row in the table", filepath.Base(f))
		}
	}
	if len(tests) != 44 || len(files) != 44 {
		t.Errorf("%d cases for %d files, want 44 of each", len(tests), len(files))
	}

	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			name := tt.file + ".geojson"
			input, err := os.ReadFile(filepath.Join("testdata", "geojson-invalid", name))
			if err != nil {
				t.Fatal(err)
			}
			records, rows, fileErr := readAll(t, input, name, data.LayerHouseholds)
			if records != 0 {
				t.Errorf("%d records accepted, want none", records)
			}
			switch {
			case tt.fileErr == "" && fileErr != nil:
				t.Errorf("file error %v, want none", fileErr)
			case tt.fileErr != "" && (fileErr == nil || !strings.Contains(fileErr.Error(), tt.fileErr)):
				t.Errorf("file error %v, want one containing %q", fileErr, tt.fileErr)
			}
			if fileErr != nil && data.ErrorCode(fileErr) != data.EINVALID {
				t.Errorf("file error code %s, want %s", data.ErrorCode(fileErr), data.EINVALID)
			}
			if len(rows) != len(tt.rows) {
				t.Fatalf("row errors %v, want %d", rows, len(tt.rows))
			}
			for i, want := range tt.rows {
				if got := rows[i].Error(); !strings.Contains(got, want) {
					t.Errorf("row error %d = %q, want it to contain %q", i, got, want)
				}
			}

			if got, ok := innerOutcome(input, tt.layer); ok && !(tt.inner == "" && got == "" || tt.inner != "" && strings.Contains(got, tt.inner)) {
				t.Errorf("inner outcome %q, want %q", got, tt.inner)
			} else if !ok && tt.inner != "" {
				t.Errorf("no inner outcome, want %q", tt.inner)
			}
		})
	}
}

// innerOutcome checks the content of a bare geometry as a geometry, of a
// single Feature as a feature of layer, and of the first feature of a
// collection as a feature of layer when layer is set. ok is false when
// there is nothing to check.
func innerOutcome(input []byte, layer data.Layer) (reason string, ok bool) {
	var top struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if json.Unmarshal(input, &top) != nil {
		return "", false
	}
	switch {
	case isGeometryType(top.Type):
		_, err := parseGeometry(input)
		return reasonOf(err), true
	case layer == "":
		return "", false
	case top.Type == "Feature":
		r := &Reader{name: "inner", layer: layer}
		return reasonOf(r.decodeFeature(input, &Record{})), true
	case top.Type == "FeatureCollection" && len(top.Features) > 0:
		r := &Reader{name: "inner", layer: layer}
		return reasonOf(r.decodeFeature(top.Features[0], &Record{})), true
	}
	return "", false
}

// reasonOf is the reason a RowError would give for err, "" for none.
func reasonOf(err error) string {
	if err == nil {
		return ""
	}
	return data.ErrorMessage(err)
}
