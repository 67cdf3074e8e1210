package importer

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

type readerCase struct {
	name    string
	layer   data.Layer
	file    string // file name; decides the format when the content does not
	input   string
	records int      // valid records
	rows    []string // substrings of the row errors, in order
	fileErr string   // substring of the whole-file error
}

func runReaderCases(t *testing.T, tests []readerCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			records, rows, fileErr := readAll(t, []byte(tt.input), tt.file, tt.layer)
			switch {
			case tt.fileErr == "" && fileErr != nil:
				t.Fatalf("file error %v, want none", fileErr)
			case tt.fileErr != "" && (fileErr == nil || !strings.Contains(fileErr.Error(), tt.fileErr)):
				t.Fatalf("file error %v, want one containing %q", fileErr, tt.fileErr)
			}
			if records != tt.records {
				t.Errorf("%d records, want %d", records, tt.records)
			}
			if len(rows) != len(tt.rows) {
				t.Fatalf("row errors %v, want %d", rows, len(tt.rows))
			}
			for i, want := range tt.rows {
				if got := rows[i].Error(); !strings.Contains(got, want) {
					t.Errorf("row error %d = %q, want it to contain %q", i, got, want)
				}
			}
		})
	}
}

const (
	hh = data.LayerHouseholds
	hz = data.LayerHazards
	cm = data.LayerCameras
	ar = data.LayerAreas
)

func TestCSVFile(t *testing.T) {
	runReaderCases(t, []readerCase{
		{name: "empty", layer: hh, file: "h.csv", input: "", fileErr: "h.csv: the file is empty"},
		{name: "only space", layer: hh, file: "h.csv", input: " \n\r\n", fileErr: "the file is empty"},
		{name: "only a BOM", layer: hh, file: "h.csv", input: "\uFEFF", fileErr: "the file is empty"},
		{name: "header only", layer: hh, file: "h.csv", input: "id,lon,lat,households\n"},
		{name: "missing column is named", layer: hh, file: "h.csv", input: "id,lon,lat\nh1,1,2\n",
			fileErr: "h.csv:1: missing required column(s) households (header has id, lon, lat; households need id,lon,lat,households)"},
		{name: "two missing columns", layer: hz, file: "z.csv", input: "id,lon,lat,category,status\n",
			fileErr: "missing required column(s) severity, reported_at"},
		{name: "semicolons get a hint", layer: hh, file: "h.csv", input: "id;lon;lat;households\nh1;1;2;3\n",
			fileErr: "columns must be separated by commas"},
		{name: "column twice", layer: hh, file: "h.csv", input: "id,lon,lat,households,LON\n", fileErr: `column "lon" appears twice`},
		{name: "bad quote in the header", layer: hh, file: "h.csv", input: "id,\"lon,lat,households\n", fileErr: "bad CSV header"},
		{name: "areas are GeoJSON only", layer: ar, file: "a.csv", input: "code,name\n", fileErr: "areas are imported from GeoJSON only"},
		{name: "BOM, any order, any case, extra columns", layer: hh, file: "h.csv",
			input: "\uFEFFHouseholds , note,LAT,lon,id\n3,hello,47.1,9.5,h1\n 1 ,,47.2, 9.6 ,h2\n", records: 2},
		{name: "CRLF line ends", layer: hh, file: "h.csv", input: "id,lon,lat,households\r\nh1,9.5,47.1,1\r\n", records: 1},
		{name: "quoted field over two lines keeps line numbers", layer: hh, file: "h.csv",
			input: "id,lon,lat,households\n\"h\n1\",9.5,47.1,1\nh2,x,47.1,1\n", records: 1,
			rows: []string{`h.csv:4: lon "x" is not a number`}},
		{name: "format by name when content is not JSON", layer: hh, file: "h.txt", input: "id,lon,lat,households\nh1,9.5,47.1,1\n", records: 1},
	})
}

func TestCSVHouseholdRows(t *testing.T) {
	const head = "id,lon,lat,households\n"
	row := func(name, line, want string) readerCase {
		return readerCase{name: name, layer: hh, file: "h.csv", input: head + line + "\n", rows: []string{"h.csv:2: " + want}}
	}
	runReaderCases(t, []readerCase{
		{name: "valid", layer: hh, file: "h.csv", input: head + "h1,9.5,47.1,1\nh2,-180,-90,1000000\nh3,180,90,3.0\n", records: 3},
		row("empty id", ",9.5,47.1,1", "id is empty"),
		row("blank id", "  ,9.5,47.1,1", "id is empty"),
		row("lon not a number", "h1,abc,47.1,1", `lon "abc" is not a number`),
		row("lon empty", "h1,,47.1,1", "lon is empty"),
		row("lat NaN", "h1,9.5,NaN,1", `lat "NaN" is not a finite number`),
		row("lon Inf", "h1,-Inf,47.1,1", `lon "-Inf" is not a finite number`),
		row("lon too big for a float", "h1,1e400,47.1,1", `lon "1e400" is out of range for a number`),
		row("hexadecimal", "h1,0x1p3,47.1,1", `lon "0x1p3" is not a decimal number`),
		row("decimal comma", "h1,\"9,5\",47.1,1", `lon "9,5" is not a number`),
		row("lon out of range", "h1,180.5,47.1,1", "longitude 180.5 is out of range [-180, 180]"),
		row("lat out of range", "h1,9.5,-90.01,1", "latitude -90.01 is out of range [-90, 90]"),
		row("projected metres", "h1,1058000,5977000,1", "longitude 1.058e+06 is out of range [-180, 180] (coordinates must be WGS 84 lon, lat)"),
		row("households zero", "h1,9.5,47.1,0", "households 0 is less than 1"),
		row("households negative", "h1,9.5,47.1,-2", "households -2 is less than 1"),
		row("households fraction", "h1,9.5,47.1,2.5", "households 2.5 is not a whole number"),
		row("households word", "h1,9.5,47.1,many", `households "many" is not a number`),
		row("households huge", "h1,9.5,47.1,1e12", "households 1e+12 is more than 1000000"),
		row("too few fields", "h1,9.5,47.1", "row has 3 fields, the header has 4"),
		row("too many fields", "h1,9.5,47.1,1,x", "row has 5 fields, the header has 4"),
		row("bare quote", `h"1,9.5,47.1,1`, `bad CSV: bare " in non-quoted-field`),
		{name: "reading goes on after bad rows", layer: hh, file: "h.csv",
			input: head + "h1,x,1,1\nh2,9.5,47.1,1\nh3,9.5,47.1\nh4,9.5,47.1,1\n", records: 2,
			rows: []string{"h.csv:2: lon", "h.csv:4: row has 3 fields"}},
	})
}

func TestCSVHazardAndCameraRows(t *testing.T) {
	const hzHead = "id,lon,lat,category,severity,status,reported_at\n"
	hzRow := func(name, line, want string) readerCase {
		return readerCase{name: name, layer: hz, file: "z.csv", input: hzHead + line + "\n", rows: []string{"z.csv:2: " + want}}
	}
	const cmHead = "id,lon,lat,azimuth,fov,range_m,status\n"
	cmRow := func(name, line, want string) readerCase {
		return readerCase{name: name, layer: cm, file: "c.csv", input: cmHead + line + "\n", rows: []string{"c.csv:2: " + want}}
	}
	runReaderCases(t, []readerCase{
		{name: "valid hazards", layer: hz, file: "z.csv", input: hzHead +
			"z1,9.5,47.1,fire,1,open,2024-11-26T09:00:00Z\n" +
			"z2,9.5,47.1,WATER,2,In_Progress,2024-11-26T09:00:00.5+08:00\n" +
			"z3,9.5,47.1,other,3,resolved,2024-11-26\n" +
			"z4,9.5,47.1,neighbours,1,Escalated,2024-11-26\n" +
			"z5,9.5,47.1,fire,3,closed,2024-11-26\n", records: 5},
		hzRow("unknown category", "z1,9.5,47.1,flood,1,open,2024-11-26",
			`unknown category "flood" (known: `+strings.Join(data.DefaultTaxonomy().CategoryCodes(), ", ")+")"),
		hzRow("severity 4", "z1,9.5,47.1,fire,4,open,2024-11-26", "severity 4 is not 1, 2 or 3"),
		hzRow("severity 0", "z1,9.5,47.1,fire,0,open,2024-11-26", "severity 0 is not 1, 2 or 3"),
		hzRow("severity fraction", "z1,9.5,47.1,fire,1.5,open,2024-11-26", "severity 1.5 is not 1, 2 or 3"),
		hzRow("severity word", "z1,9.5,47.1,fire,high,open,2024-11-26", `severity "high" is not a number`),
		hzRow("unknown status", "z1,9.5,47.1,fire,1,pending,2024-11-26",
			`unknown status "pending" (want one of `+strings.Join(data.StatusNames(), ", ")+"; open, from older files, is read as reported)"),
		hzRow("bad time", "z1,9.5,47.1,fire,1,open,26/11/2024", `reported_at "26/11/2024" is not an RFC 3339 time`),
		hzRow("time without zone", "z1,9.5,47.1,fire,1,open,2024-11-26T09:00:00", `reported_at "2024-11-26T09:00:00" is not an RFC 3339 time`),
		hzRow("impossible date", "z1,9.5,47.1,fire,1,open,2024-02-30", `reported_at "2024-02-30" is not an RFC 3339 time`),
		hzRow("empty time", "z1,9.5,47.1,fire,1,open,", "reported_at is empty"),
		{name: "valid cameras", layer: cm, file: "c.csv", input: cmHead +
			"c1,9.5,47.1,0,360,50,online\nc2,9.5,47.1,359.99,0.1,0.5,Offline\nc3,9.5,47.1,90,60,100,maintenance\n", records: 3},
		cmRow("azimuth 360", "c1,9.5,47.1,360,90,50,online", "azimuth 360 is out of range [0, 360)"),
		cmRow("azimuth negative", "c1,9.5,47.1,-1,90,50,online", "azimuth -1 is out of range [0, 360)"),
		cmRow("fov 0", "c1,9.5,47.1,0,0,50,online", "fov 0 is out of range (0, 360]"),
		cmRow("fov 361", "c1,9.5,47.1,0,361,50,online", "fov 361 is out of range (0, 360]"),
		cmRow("range 0", "c1,9.5,47.1,0,90,0,online", "range_m 0 is not greater than 0"),
		cmRow("range negative", "c1,9.5,47.1,0,90,-5,online", "range_m -5 is not greater than 0"),
		cmRow("range beyond the domain's limit", "c1,9.5,47.1,0,90,20000,online", "range_m must be in (0, 10000]"),
		cmRow("unknown status", "c1,9.5,47.1,0,90,50,broken", `unknown status "broken" (want one of online, offline, maintenance)`),
	})
}

// TestRecordValues checks that what is read is what is in the file.
func TestRecordValues(t *testing.T) {
	first := func(t *testing.T, layer data.Layer, name, input string) Record {
		t.Helper()
		rd, err := NewReader(strings.NewReader(input), name, layer)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rd.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("second Next = %v, want io.EOF", err)
		}
		return rec
	}
	t.Run("household CSV", func(t *testing.T) {
		rec := first(t, hh, "h.csv", "households,lat,lon,id\n12,47.25,9.5,node/1\n")
		want := data.Household{ID: "node/1", Point: orb.Point{9.5, 47.25}, Households: 12}
		if rec.Household != want || rec.Line != 2 || rec.Feature != 0 {
			t.Errorf("got %+v line %d feature %d, want %+v line 2", rec.Household, rec.Line, rec.Feature, want)
		}
	})
	t.Run("hazard CSV with a plain date", func(t *testing.T) {
		rec := first(t, hz, "z.csv", "id,lon,lat,category,severity,status,reported_at\nz,1,2,Fire,2,OPEN,2024-05-01\n")
		// open, from files older than the event workflow, is reported; the
		// event is due its category's deadline (fire: 24 hours) later.
		want := data.Hazard{ID: "z", Point: orb.Point{1, 2}, Category: "fire", Severity: 2, Status: data.StatusReported,
			ReportedAt: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), DueAt: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)}
		if rec.Hazard != want {
			t.Errorf("got %+v, want %+v", rec.Hazard, want)
		}
	})
	t.Run("camera GeoJSON with numeric strings and a numeric feature id", func(t *testing.T) {
		rec := first(t, cm, "c.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature","id":17,
			"properties":{"azimuth":"45","fov":90,"range_m":"50.5","status":"online"},
			"geometry":{"type":"Point","coordinates":[9.5,47.1,455.2]}}]}`)
		want := data.Camera{ID: "17", Point: orb.Point{9.5, 47.1}, Azimuth: 45, FOV: 90, RangeM: 50.5, Status: "online"}
		if rec.Camera != want || rec.Line != 1 || rec.Feature != 1 {
			t.Errorf("got %+v line %d feature %d, want %+v", rec.Camera, rec.Line, rec.Feature, want)
		}
	})
	t.Run("area Polygon becomes a MultiPolygon", func(t *testing.T) {
		rec := first(t, ar, "a.geojson", featureCollection(
			`{"type":"Feature","id":"F","properties":{"name":"Vaduz","name_en":"Vaduz","admin_level":"8","osm_id":1155956,"parent_code":null},
			"geometry":{"type":"Polygon","coordinates":[`+square(0, 0, 1, 1)+`]}}`))
		a := rec.Area
		if a.Code != "F" || a.Name != "Vaduz" || a.AdminLevel != 8 || a.OSMID != "1155956" || a.ParentCode != "" || len(a.Geometry) != 1 || len(a.Geometry[0][0]) != 5 {
			t.Errorf("got %+v", a)
		}
	})
	t.Run("properties.id wins over the feature id", func(t *testing.T) {
		rec := first(t, hh, "h.geojson", `{"features":[{"type":"Feature","id":"f","properties":{"id":"p","households":2},
			"geometry":{"type":"Point","coordinates":[1,2]}}],"type":"FeatureCollection"}`)
		if rec.Household.ID != "p" {
			t.Errorf("id %q, want p", rec.Household.ID)
		}
	})
}

// gjPoint is a households feature with the given geometry JSON.
func gjPoint(id string, geometry string) string {
	return `{"type":"Feature","properties":{"id":"` + id + `","households":1},"geometry":` + geometry + `}`
}

func TestGeoJSONFile(t *testing.T) {
	good := gjPoint("a", `{"type":"Point","coordinates":[9.5,47.1]}`)
	runReaderCases(t, []readerCase{
		{name: "features before type, foreign members skipped", layer: hh, file: "h.geojson",
			input: `{"name":"x","features":[` + good + `],"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"bbox":[1,2,3,4],"type":"FeatureCollection"}`, records: 1},
		{name: "empty collection", layer: hh, file: "h.geojson", input: `{"type":"FeatureCollection","features":[]}`},
		{name: "BOM and leading space", layer: hh, file: "h.json", input: "\uFEFF \n" + featureCollection(good), records: 1},
		{name: "content beats the name", layer: hh, file: "h.csv", input: featureCollection(good), records: 1},
		{name: "name decides for non-JSON content", layer: hh, file: "h.geojson", input: "id,lon,lat,households\n",
			fileErr: "h.geojson:1: not valid JSON"},
		{name: "top-level array", layer: hh, file: "h.geojson", input: "[" + good + "]", fileErr: "the top-level value is an array, not a FeatureCollection object"},
		{name: "top-level number", layer: hh, file: "h.geojson", input: "42", fileErr: "the top-level value is a number"},
		{name: "features is null", layer: hh, file: "h.geojson", input: `{"type":"FeatureCollection","features":null}`, fileErr: `"features" is null, want an array`},
		{name: "features is a string", layer: hh, file: "h.geojson", input: `{"type":"FeatureCollection","features":"[]"}`, fileErr: `"features" is a string`},
		{name: "features twice", layer: hh, file: "h.geojson", input: `{"type":"FeatureCollection","features":[],"features":[]}`, fileErr: `"features" appears twice`},
		{name: "no type", layer: hh, file: "h.geojson", input: `{"features":[]}`, fileErr: `has no "type"`},
		{name: "type after features is still checked", layer: hh, file: "h.geojson", input: `{"features":[` + good + `],"type":"GeometryCollection"}`,
			records: 1, fileErr: "bare GeometryCollection geometry"},
		{name: "truncated", layer: hh, file: "h.geojson", input: `{"type":"FeatureCollection","features":[` + good, records: 1,
			fileErr: "unexpected end of file"},
		{name: "syntax error has a line", layer: hh, file: "h.geojson", input: "{\"type\":\"FeatureCollection\",\n\"features\":[\n" + good + ",\n{\"type\" \"Feature\"}]}",
			records: 1, fileErr: "h.geojson:4: not valid JSON: invalid character"},
		{name: "trailing data", layer: hh, file: "h.geojson", input: featureCollection(good) + `{}`, records: 1, fileErr: "unexpected an object after the FeatureCollection"},
		{name: "trailing space is fine", layer: hh, file: "h.geojson", input: featureCollection(good) + "\n\n  ", records: 1},
		{name: "line and number of each feature", layer: hh, file: "h.geojson",
			input:   "{\"type\":\"FeatureCollection\",\"features\":[\n" + good + ",\n\n  " + gjPoint("", `{"type":"Point","coordinates":[1,2]}`) + "\n,\n" + gjPoint("c", "null") + "]}",
			records: 1, rows: []string{"h.geojson:4: feature 2: id is empty", "h.geojson:6: feature 3: the geometry is null"}},
	})
}

func TestGeoJSONFeatures(t *testing.T) {
	fc := func(layer data.Layer, feature string, want string) readerCase {
		return readerCase{name: want, layer: layer, file: "f.geojson", input: featureCollection(feature), rows: []string{"f.geojson:2: feature 1: " + want}}
	}
	pt := func(props, geometry string) string {
		return `{"type":"Feature","properties":` + props + `,"geometry":` + geometry + `}`
	}
	const p1 = `{"type":"Point","coordinates":[9.5,47.1]}`
	const hhProps = `{"id":"a","households":1}`
	areaProps := `{"code":"A"}`
	poly := func(coords string) string { return pt(areaProps, `{"type":"Polygon","coordinates":`+coords+`}`) }
	multi := func(coords string) string { return pt(areaProps, `{"type":"MultiPolygon","coordinates":`+coords+`}`) }
	runReaderCases(t, []readerCase{
		fc(hh, `"Feature"`, "the feature is a string, want a Feature object"),
		fc(hh, `[]`, "the feature is an array, want a Feature object"),
		fc(hh, `{"properties":{},"geometry":null}`, `the feature has no "type"`),
		fc(hh, `{"type":1}`, `the feature's "type" is a number, want "Feature"`),
		fc(hh, `{"type":"feature","properties":{}}`, `the feature's type is "feature", want "Feature"`),
		fc(hh, `{"type":"Feature","properties":{"id":"a","households":1}}`, `the feature has no "geometry"`),
		fc(hh, pt(hhProps, `"Point"`), `"geometry" is a string, want a geometry object`),
		fc(hh, pt(hhProps, `{"coordinates":[1,2]}`), `the geometry has no "type"`),
		fc(hh, pt(hhProps, `{"type":["Point"],"coordinates":[1,2]}`), `the geometry's "type" is an array`),
		fc(hh, pt(hhProps, `{"type":"point","coordinates":[1,2]}`), `unknown geometry type "point" (did you mean "Point"?`),
		fc(hh, pt(hhProps, `{"type":"Circle","coordinates":[1,2]}`), `unknown geometry type "Circle"`),
		fc(hh, pt(hhProps, `{"type":"MultiPoint","coordinates":[[1,2]]}`), "the geometry is a MultiPoint, want a Point for households"),
		fc(hh, pt(hhProps, `{"type":"Point","coordinates":null}`), `the Point's "coordinates" are null`),
		fc(hh, pt(hhProps, `{"type":"Point","coordinates":[]}`), "Point coordinates: a position of 0 number(s)"),
		fc(hh, pt(hhProps, `{"type":"Point","coordinates":[1e400,2]}`), "coordinates: a number is out of range"),
		fc(hh, pt(hhProps, `{"type":"Point","coordinates":[1,true]}`), "Point coordinates[1]: a boolean, want a number"),
		fc(hh, pt(hhProps, `{"type":"Point","coordinates":[1,null]}`), "Point coordinates[1]: null, want a number"),
		fc(hh, pt(hhProps, `{"type":"Point","coordinates":{"x":1}}`), "Point coordinates: an object, want a position"),
		fc(hh, pt(hhProps, `{"type":"Point","coordinates":[200,0]}`), "Point coordinates: longitude 200 is out of range"),
		fc(hh, pt(`[]`, p1), `"properties" is an array, want an object or null`),
		fc(hh, pt(`{"id":"a","households":true}`, p1), "households is a boolean, want a string or a number"),
		fc(hh, pt(`{"id":"a","households":{"n":1}}`, p1), "households is an object"),
		fc(hh, pt(`{"id":"a"}`, p1), "missing households"),
		fc(hh, pt(`{"id":"a","households":null}`, p1), "missing households"),
		fc(hh, pt(`{"id":"a","households":""}`, p1), "households is empty"),
		fc(hh, pt(`{"id":"a","households":0.5}`, p1), "households 0.5 is not a whole number"),
		fc(hh, pt(`{"households":2}`, p1), "missing id: set properties.id or the feature's id"),
		fc(hh, pt(`{"id":["a"],"households":2}`, p1), "id is an array, want a string or a number"),
		fc(hh, pt(`null`, p1), "missing id"),
		fc(hz, pt(`{"id":"z","category":"fire","severity":2,"status":"open","reported_at":20241126}`, p1), `reported_at "20241126" is not an RFC 3339 time`),
		fc(hz, pt(`{"id":"z","category":"fire","severity":2,"status":"open"}`, p1), "missing reported_at"),
		fc(cm, pt(`{"id":"c","azimuth":400,"fov":90,"range_m":5,"status":"online"}`, p1), "azimuth 400 is out of range [0, 360)"),
		fc(ar, pt(areaProps, p1), "the geometry is a Point, want a Polygon or MultiPolygon for areas"),
		fc(ar, poly(`[]`), "Polygon coordinates: an empty polygon, want at least an outer ring"),
		fc(ar, poly(`[[]]`), "Polygon coordinates[0]: a ring of 0 position(s), want at least 4"),
		fc(ar, poly(`[[[0,0],[1,0],[0,0]]]`), "Polygon coordinates[0]: a ring of 3 position(s), want at least 4"),
		fc(ar, poly(`[[[0,0],[1,0],[1,1],[0,1]]]`), "Polygon coordinates[0]: the ring is not closed"),
		fc(ar, poly(`[`+square(0, 0, 1, 1)+`,[[0.2,0.2],[0.3,0.2],[0.2,0.3]]]`), "Polygon coordinates[1]: a ring of 3 position(s)"),
		fc(ar, poly(`[[[0,0],[1,0],[1,"1"],[0,1],[0,0]]]`), "Polygon coordinates[0][2][1]: a string, want a number"),
		fc(ar, poly(`[[[0,0],[1,0],[1,1],[0,1],[0]]]`), "Polygon coordinates[0][4]: a position of 1 number(s)"),
		fc(ar, multi(`[]`), "the MultiPolygon has no polygons"),
		fc(ar, multi(`[[`+square(0, 0, 1, 1)+`],[[[5,5],[6,5],[6,6],[5,6]]]]`), "MultiPolygon coordinates[1][0]: the ring is not closed"),
		fc(ar, multi(`[`+square(0, 0, 1, 1)+`]`), "MultiPolygon coordinates[0][0]: a position, want a ring"),
		fc(ar, pt(`{"name":"x"}`, `{"type":"Polygon","coordinates":[`+square(0, 0, 1, 1)+`]}`), "missing code: set properties.code or the feature's id"),
		fc(ar, pt(`{"code":"A","admin_level":"eight"}`, `{"type":"Polygon","coordinates":[`+square(0, 0, 1, 1)+`]}`), `admin_level "eight" is not a number`),
		fc(ar, pt(`{"code":"A","parent_code":"A"}`, `{"type":"Polygon","coordinates":[`+square(0, 0, 1, 1)+`]}`), `parent_code "A" is the area's own code`),
		fc(ar, pt(areaProps, `{"type":"GeometryCollection","geometries":[]}`), "the geometry is a GeometryCollection, want a Polygon or MultiPolygon"),
		{name: "valid area with hole and 3D positions", layer: ar, file: "a.geojson", records: 1,
			input: featureCollection(poly(`[` + square(0, 0, 1, 1) + `,[[0.2,0.2,5],[0.3,0.2,5],[0.3,0.3,5],[0.2,0.3,5],[0.2,0.2]]]`))},
	})
}

func TestGeometryCollections(t *testing.T) {
	tests := []struct {
		name, geometry, want string
	}{
		{"nested deep", strings.Repeat(`{"type":"GeometryCollection","geometries":[`, 10) + strings.Repeat("]}", 10), "nested too deep"},
		{"geometries missing", `{"type":"GeometryCollection"}`, `has no "geometries"`},
		{"geometries an object", `{"type":"GeometryCollection","geometries":{}}`, `"geometries" is an object, want an array`},
		{"member invalid", `{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,2]},{"type":"LineString","coordinates":[[1,2]]}]}`,
			"geometries[1]: LineString coordinates: 1 position(s), want at least 2"},
		{"valid", `{"type":"GeometryCollection","geometries":[{"type":"MultiLineString","coordinates":[[[1,2],[3,4]]]}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseGeometry([]byte(tt.geometry))
			got := reasonOf(err)
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestReaderAfterFileError checks that a whole-file error sticks.
func TestReaderAfterFileError(t *testing.T) {
	rd, err := NewReader(strings.NewReader(`{"type":"Point","coordinates":[1,2]}`), "p.geojson", hh)
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := rd.Next()
	_, err2 := rd.Next()
	if err1 == nil || err1 != err2 {
		t.Errorf("errors %v then %v, want the same whole-file error", err1, err2)
	}
	if rd.Format() != GeoJSON || rd.Format().String() != "GeoJSON" {
		t.Errorf("format %v", rd.Format())
	}
}

// errReader fails after its data, as a broken disk or network would.
type errReader struct{ data io.Reader }

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.data.Read(p)
	if errors.Is(err, io.EOF) {
		return n, errors.New("read failed")
	}
	return n, err
}

func TestReadErrors(t *testing.T) {
	for _, input := range []string{"id,lon,lat,households\nh1,1,2,3\n", featureCollection(gjPoint("a", `{"type":"Point","coordinates":[1,2]}`))} {
		_, _, fileErr := readAll(t, []byte{}, "x", hh) // the empty file, for contrast
		if fileErr == nil {
			t.Fatal("empty file accepted")
		}
		rd, err := NewReader(&errReader{strings.NewReader(input)}, "x", hh)
		if err != nil {
			if !strings.Contains(err.Error(), "read failed") {
				t.Errorf("err = %v", err)
			}
			continue
		}
		for {
			_, err = rd.Next()
			var re *RowError
			if err != nil && !errors.As(err, &re) {
				break
			}
		}
		if errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "read failed") {
			t.Errorf("err = %v, want the read error", err)
		}
	}
}
