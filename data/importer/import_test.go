package importer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
)

// storeKinds are the stores the driver tests run against: the real
// GeoPackage store, and memStore, which can count commits and fail on cue.
var storeKinds = []struct {
	name string
	open func(t *testing.T) data.Store
}{
	{"gpkg", func(t *testing.T) data.Store {
		s, err := gpkg.Open(context.Background(), filepath.Join(t.TempDir(), "test.gpkg"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"mem", func(*testing.T) data.Store { return newMemStore() }},
}

func count(t *testing.T, s data.Store, layer data.Layer) int {
	t.Helper()
	n, err := s.Count(context.Background(), layer)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const threeHouseholds = "id,lon,lat,households\nh1,9.5,47.1,1\nh2,9.6,47.2,3\nh3,9.7,47.3,12\n"

// seed stores records before a test, through a committed transaction.
func seed(t *testing.T, s data.Store, layer data.Layer, input, name string) {
	t.Helper()
	if _, err := Import(context.Background(), s, layer, strings.NewReader(input), name, Options{}); err != nil {
		t.Fatalf("seeding: %v", err)
	}
}

func TestImportPolicy(t *testing.T) {
	tests := []struct {
		name    string
		seed    string // households committed before the import
		layer   data.Layer
		file    string
		input   string
		opt     Options
		wantErr string // substring of the error; "" for success
		wantRej bool   // the error wraps ErrRejected
		read    int
		imp     int
		rej     int
		stored  int
		reasons []string // substrings of Result.Errors, in order
	}{
		{
			name: "valid file commits", layer: data.LayerHouseholds, file: "h.csv", input: threeHouseholds,
			read: 3, imp: 3, stored: 3,
		},
		{
			name: "one bad row aborts and reports", layer: data.LayerHouseholds, file: "h.csv",
			input:   "id,lon,lat,households\nh1,9.5,47.1,1\nh2,9.6,97.2,3\nh3,9.7,47.3,12\n",
			wantErr: "1 of 3 records are invalid", wantRej: true, read: 3, rej: 1,
			reasons: []string{"h.csv:3: latitude 97.2 is out of range"},
		},
		{
			name: "every bad row is reported before the rollback", layer: data.LayerHouseholds, file: "h.csv",
			input:   "id,lon,lat,households\nh1,x,47.1,1\nh2,9.6,47.2,0\nh3,9.7,47.3,12\n,9.7,47.3,1\n",
			wantErr: "3 of 4 records", wantRej: true, read: 4, rej: 3,
			reasons: []string{`h.csv:2: lon "x" is not a number`, "h.csv:3: households 0 is less than 1", "h.csv:5: id is empty"},
		},
		{
			name: "skip-invalid commits the rest", layer: data.LayerHouseholds, file: "h.csv",
			input: "id,lon,lat,households\nh1,9.5,47.1,1\nh2,9.6,97.2,3\nh3,9.7,47.3,12\n",
			opt:   Options{SkipInvalid: true}, read: 3, imp: 2, rej: 1, stored: 2,
			reasons: []string{"h.csv:3: latitude"},
		},
		{
			name: "duplicate id from the store aborts", layer: data.LayerHouseholds, file: "h.csv",
			input:   "id,lon,lat,households\nh1,9.5,47.1,1\nh1,9.6,47.2,3\n",
			wantErr: "invalid", wantRej: true, read: 2, rej: 1,
			reasons: []string{`h.csv:3: duplicate id "h1"`},
		},
		{
			name: "duplicate id skipped", layer: data.LayerHouseholds, file: "h.csv",
			input: "id,lon,lat,households\nh1,9.5,47.1,1\nh1,9.6,47.2,3\nh2,9.6,47.2,3\n",
			opt:   Options{SkipInvalid: true}, read: 3, imp: 2, rej: 1, stored: 2,
			reasons: []string{`h.csv:3: duplicate id "h1"`},
		},
		{
			name: "duplicates after a bad row are still found", layer: data.LayerHouseholds, file: "h.csv",
			input:   "id,lon,lat,households\nh1,9.5,47.1,-1\nh2,9.6,47.2,3\nh2,9.6,47.2,3\n",
			wantErr: "2 of 3", wantRej: true, read: 3, rej: 2,
			reasons: []string{"h.csv:2: households -1", `h.csv:4: duplicate id "h2"`},
		},
		{
			name: "an id already stored conflicts", seed: threeHouseholds, layer: data.LayerHouseholds, file: "more.csv",
			input:   "id,lon,lat,households\nh3,9.5,47.1,1\nh4,9.6,47.2,3\n",
			wantErr: "1 of 2", wantRej: true, read: 2, rej: 1, stored: 3,
			reasons: []string{`more.csv:2: duplicate id "h3"`},
		},
		{
			name: "replace clears the layer in the same transaction", seed: threeHouseholds, layer: data.LayerHouseholds,
			file: "new.csv", input: "id,lon,lat,households\nh3,9.5,47.1,1\nh4,9.6,47.2,3\n",
			opt: Options{Replace: true}, read: 2, imp: 2, stored: 2,
		},
		{
			name: "a failed replace keeps the old rows", seed: threeHouseholds, layer: data.LayerHouseholds,
			file: "new.csv", input: "id,lon,lat,households\nh3,9.5,47.1,1\nh4,9.6,47.2,nope\n",
			opt: Options{Replace: true}, wantErr: "1 of 2", wantRej: true, read: 2, rej: 1, stored: 3,
		},
		{
			name: "missing column stops before any row", layer: data.LayerHouseholds, file: "h.csv",
			input:   "id,lon,lat\nh1,9.5,47.1\n",
			wantErr: "h.csv:1: missing required column(s) households",
		},
		{
			name: "a broken GeoJSON file rolls back even with skip-invalid", layer: data.LayerHouseholds, file: "h.geojson",
			input: `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"a","households":1},"geometry":{"type":"Point","coordinates":[9.5,47.1]}},
{"type":"Feature","properties":{"id":"b","households":1},"geometry":{"type":"Point","coordinates":[9.5,47.1]}}
`,
			opt: Options{SkipInvalid: true}, wantErr: "unexpected end of file", read: 2,
		},
		{
			name: "hazards", layer: data.LayerHazards, file: "hz.csv",
			input: "id,lon,lat,category,severity,status,reported_at\nz1,9.5,47.1,fire,3,open,2024-11-26T09:00:00Z\nz2,9.5,47.1,Traffic,1,resolved,2024-11-26\n",
			read:  2, imp: 2, stored: 2,
		},
		{
			name: "cameras", layer: data.LayerCameras, file: "c.csv",
			input: "id,lon,lat,azimuth,fov,range_m,status\nc1,9.5,47.1,0,360,50,online\nc2,9.5,47.1,359.9,1,0.5,maintenance\n",
			read:  2, imp: 2, stored: 2,
		},
	}
	for _, kind := range storeKinds {
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				s := kind.open(t)
				if tt.seed != "" {
					seed(t, s, data.LayerHouseholds, tt.seed, "seed.csv")
				}
				res, err := Import(context.Background(), s, tt.layer, strings.NewReader(tt.input), tt.file, tt.opt)
				switch {
				case tt.wantErr == "" && err != nil:
					t.Fatalf("err = %v, want nil", err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if got := errors.Is(err, ErrRejected); got != tt.wantRej {
					t.Errorf("errors.Is(err, ErrRejected) = %v, want %v", got, tt.wantRej)
				}
				if err != nil && data.ErrorCode(err) != data.EINVALID {
					t.Errorf("error code = %s, want %s", data.ErrorCode(err), data.EINVALID)
				}
				if res.Read != tt.read || res.Imported != tt.imp || res.Rejected != tt.rej {
					t.Errorf("result read/imported/rejected = %d/%d/%d, want %d/%d/%d",
						res.Read, res.Imported, res.Rejected, tt.read, tt.imp, tt.rej)
				}
				if got := count(t, s, tt.layer); got != tt.stored {
					t.Errorf("stored %d records, want %d", got, tt.stored)
				}
				if len(res.Errors) != len(tt.reasons) && tt.reasons != nil {
					t.Fatalf("errors = %v, want %d", res.Errors, len(tt.reasons))
				}
				for i, want := range tt.reasons {
					if got := res.Errors[i].Error(); !strings.Contains(got, want) {
						t.Errorf("error %d = %q, want it to contain %q", i, got, want)
					}
				}
			})
		}
	}
}

func TestImportTransaction(t *testing.T) {
	t.Run("rollback leaves no trace", func(t *testing.T) {
		s := newMemStore()
		_, err := Import(context.Background(), s, data.LayerHouseholds,
			strings.NewReader("id,lon,lat,households\nh1,9.5,47.1,1\nh2,9.6,47.2,x\n"), "h.csv", Options{})
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("err = %v", err)
		}
		if s.commits != 0 || s.rollbacks != 1 {
			t.Errorf("commits/rollbacks = %d/%d, want 0/1", s.commits, s.rollbacks)
		}
	})
	t.Run("store failure rolls back and is returned", func(t *testing.T) {
		s := newMemStore()
		s.failAt = 2
		res, err := Import(context.Background(), s, data.LayerHouseholds, strings.NewReader(threeHouseholds), "h.csv",
			Options{SkipInvalid: true})
		if data.ErrorCode(err) != data.EUNAVAILABLE {
			t.Fatalf("err = %v, want the store's EUNAVAILABLE", err)
		}
		if s.count(data.LayerHouseholds) != 0 || s.commits != 0 || s.rollbacks != 1 || res.Imported != 0 {
			t.Errorf("stored %d, commits %d, rollbacks %d, imported %d; want 0, 0, 1, 0",
				s.count(data.LayerHouseholds), s.commits, s.rollbacks, res.Imported)
		}
	})
	t.Run("cancelled context stops the import", func(t *testing.T) {
		s := newMemStore()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Import(ctx, s, data.LayerHouseholds, strings.NewReader(threeHouseholds), "h.csv", Options{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if s.count(data.LayerHouseholds) != 0 || s.rollbacks != 1 {
			t.Errorf("stored %d, rollbacks %d; want 0, 1", s.count(data.LayerHouseholds), s.rollbacks)
		}
	})
	t.Run("not importable layer", func(t *testing.T) {
		_, err := Import(context.Background(), newMemStore(), data.LayerGrids, strings.NewReader(threeHouseholds), "h.csv", Options{})
		if err == nil || !strings.Contains(err.Error(), "cannot import") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestImportErrorCapAndReport(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,lon,lat,households\n")
	const bad = 250
	for i := range bad {
		fmt.Fprintf(&b, "h%d,9.5,47.1,0\n", i)
	}
	b.WriteString("ok,9.5,47.1,1\n")
	var reported int
	res, err := Import(context.Background(), newMemStore(), data.LayerHouseholds, strings.NewReader(b.String()), "h.csv",
		Options{SkipInvalid: true, Report: func(RowError) { reported++ }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected != bad || len(res.Errors) != MaxErrors || reported != bad || res.Imported != 1 {
		t.Errorf("rejected %d, kept %d, reported %d, imported %d; want %d, %d, %d, 1",
			res.Rejected, len(res.Errors), reported, res.Imported, bad, MaxErrors, bad)
	}
}

func TestImportProgress(t *testing.T) {
	var last int64
	calls := 0
	_, err := Import(context.Background(), newMemStore(), data.LayerHouseholds, strings.NewReader(threeHouseholds), "h.csv",
		Options{Progress: func(n int64) {
			if n < last {
				t.Errorf("progress went back from %d to %d", last, n)
			}
			last = n
			calls++
		}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != int64(len(threeHouseholds)) {
		t.Errorf("progress: %d calls, last %d; want some calls ending at %d", calls, last, len(threeHouseholds))
	}
}

// square returns a closed ring around [x0,y0]-[x1,y1], as GeoJSON.
func square(x0, y0, x1, y1 float64) string {
	return fmt.Sprintf("[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]", x0, y0, x1, y0, x1, y1, x0, y1, x0, y0)
}

// areaFeature returns a GeoJSON area feature; parent "" leaves parent_code out.
func areaFeature(code, parent string, level int, geomType, coords string) string {
	props := fmt.Sprintf(`"code":%q,"name":%q,"admin_level":%d`, code, "Area "+code, level)
	if parent != "" {
		props += fmt.Sprintf(`,"parent_code":%q`, parent)
	}
	return fmt.Sprintf(`{"type":"Feature","properties":{%s},"geometry":{"type":%q,"coordinates":%s}}`, props, geomType, coords)
}

func featureCollection(features ...string) string {
	return `{"type":"FeatureCollection","features":[` + "\n" + strings.Join(features, ",\n") + "\n]}\n"
}

func storedAreas(t *testing.T, s data.Store) map[string]data.Area {
	t.Helper()
	areas, _ := s.Areas(context.Background())
	m := make(map[string]data.Area)
	for _, a := range areas {
		m[a.Code] = a
	}
	return m
}

func TestImportAreasNesting(t *testing.T) {
	// Children come first in the file, to show parents are written first.
	file := featureCollection(
		areaFeature("C1", "", 8, "Polygon", "["+square(0.1, 0.1, 0.4, 0.4)+"]"),
		// Two parts that do not touch, both in S1.
		areaFeature("C2", "", 8, "MultiPolygon", "[["+square(0.5, 0.5, 0.6, 0.6)+"],["+square(0.7, 0.1, 0.8, 0.2)+"]]"),
		// In S2 by its parent_code, whatever its geometry says.
		areaFeature("C3", "S2", 8, "Polygon", "["+square(2.1, 0.1, 2.2, 0.2)+"]"),
		// In the hole of S1: inside nothing.
		areaFeature("X1", "", 8, "Polygon", "["+square(0.46, 0.46, 0.47, 0.47)+"]"),
		// A parent that is in neither the file nor the store.
		areaFeature("G1", "NOPE", 8, "Polygon", "["+square(0.2, 0.2, 0.3, 0.3)+"]"),
		// Same admin level as C1 and inside it: not C1's child, and as
		// they would overlap, rejected.
		areaFeature("E1", "", 8, "Polygon", "["+square(0.2, 0.2, 0.25, 0.25)+"]"),
		areaFeature("S1", "", 6, "Polygon", "["+square(0, 0, 1, 1)+","+square(0.45, 0.45, 0.48, 0.48)+"]"),
		areaFeature("S2", "", 6, "Polygon", "["+square(2, 0, 3, 1)+"]"),
	)

	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) { testAreasNesting(t, kind.open, file) })
	}
}

func testAreasNesting(t *testing.T, open func(*testing.T) data.Store, file string) {
	t.Run("default aborts on the unknown parent", func(t *testing.T) {
		s := open(t)
		res, err := Import(context.Background(), s, data.LayerAreas, strings.NewReader(file), "areas.geojson", Options{})
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("err = %v, want ErrRejected", err)
		}
		if count(t, s, data.LayerAreas) != 0 || res.Rejected != 2 || !strings.Contains(res.Errors[0].Error(), `areas.geojson:6: feature 5: parent_code "NOPE" is not an area`) ||
			!strings.Contains(res.Errors[1].Error(), `areas.geojson:7: feature 6: overlaps area "C1"`) {
			t.Errorf("stored %d, result %+v", count(t, s, data.LayerAreas), res)
		}
	})

	t.Run("nesting by geometry and by code", func(t *testing.T) {
		s := open(t)
		res, err := Import(context.Background(), s, data.LayerAreas, strings.NewReader(file), "areas.geojson", Options{SkipInvalid: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Read != 8 || res.Imported != 6 || res.Rejected != 2 {
			t.Errorf("result %+v", res)
		}
		want := map[string]struct {
			parent string
			level  int
			parts  int
		}{
			"S1": {"", 1, 1}, "S2": {"", 1, 1}, "X1": {"", 1, 1},
			"C1": {"S1", 2, 1}, "C2": {"S1", 2, 2}, "C3": {"S2", 2, 1},
		}
		got := storedAreas(t, s)
		for code, w := range want {
			a, ok := got[code]
			if !ok {
				t.Errorf("%s not stored", code)
				continue
			}
			if a.ParentCode != w.parent || a.Level != w.level || len(a.Geometry) != w.parts {
				t.Errorf("%s: parent %q level %d parts %d, want %q %d %d", code, a.ParentCode, a.Level, len(a.Geometry), w.parent, w.level, w.parts)
			}
		}
		// Parents before children in the order of writing.
		if ms, ok := s.(*memStore); ok {
			seen := map[string]bool{}
			for _, r := range ms.rows[data.LayerAreas] {
				a := r.(data.Area)
				if a.ParentCode != "" && !seen[a.ParentCode] {
					t.Errorf("%s written before its parent %s", a.Code, a.ParentCode)
				}
				seen[a.Code] = true
			}
		}
	})

	t.Run("parents from the store", func(t *testing.T) {
		s := open(t)
		seed(t, s, data.LayerAreas, featureCollection(
			areaFeature("S1", "", 6, "Polygon", "["+square(0, 0, 1, 1)+"]"),
			areaFeature("S2", "", 6, "Polygon", "["+square(2, 0, 3, 1)+"]"),
		), "streets.geojson")
		_, err := Import(context.Background(), s, data.LayerAreas, strings.NewReader(featureCollection(
			areaFeature("C1", "", 8, "Polygon", "["+square(0.1, 0.1, 0.4, 0.4)+"]"),
			areaFeature("C3", "S2", 8, "Polygon", "["+square(2.1, 0.1, 2.2, 0.2)+"]"),
		)), "communities.geojson", Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := storedAreas(t, s)
		if got["C1"].ParentCode != "S1" || got["C1"].Level != 2 || got["C3"].ParentCode != "S2" || got["C3"].Level != 2 {
			t.Errorf("C1 %q/%d, C3 %q/%d", got["C1"].ParentCode, got["C1"].Level, got["C3"].ParentCode, got["C3"].Level)
		}
	})

	t.Run("rejected parents take their children with them", func(t *testing.T) {
		s := open(t)
		res, err := Import(context.Background(), s, data.LayerAreas, strings.NewReader(featureCollection(
			areaFeature("A", "B", 0, "Polygon", "["+square(0, 0, 1, 1)+"]"),
			areaFeature("B", "A", 0, "Polygon", "["+square(2, 0, 3, 1)+"]"),
			areaFeature("C", "B", 0, "Polygon", "["+square(2, 0, 2.5, 0.5)+"]"),
			areaFeature("D", "", 0, "Polygon", "["+square(5, 5, 6, 6)+"]"),
			areaFeature("D", "", 0, "Polygon", "["+square(7, 5, 8, 6)+"]"),
		)), "cycle.geojson", Options{SkipInvalid: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Imported != 1 || res.Rejected != 4 {
			t.Fatalf("result %+v", res)
		}
		for i, want := range []string{"cycle", "was rejected", "was rejected", `code "D" appears twice`} {
			if !strings.Contains(res.Errors[i].Reason, want) {
				t.Errorf("error %d = %v, want %q", i, res.Errors[i], want)
			}
		}
	})

	t.Run("a parent the store refuses rejects its children", func(t *testing.T) {
		s := open(t)
		seed(t, s, data.LayerAreas, featureCollection(areaFeature("S1", "", 6, "Polygon", "["+square(10, 10, 11, 11)+"]")), "old.geojson")
		res, err := Import(context.Background(), s, data.LayerAreas, strings.NewReader(featureCollection(
			areaFeature("S1", "", 6, "Polygon", "["+square(0, 0, 1, 1)+"]"),
			areaFeature("C1", "", 8, "Polygon", "["+square(0.1, 0.1, 0.4, 0.4)+"]"),
		)), "new.geojson", Options{SkipInvalid: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Imported != 0 || res.Rejected != 2 || !strings.Contains(res.Errors[1].Reason, `parent "S1" was not imported`) {
			t.Errorf("result %+v", res)
		}
	})

	t.Run("areas need GeoJSON", func(t *testing.T) {
		_, err := Import(context.Background(), open(t), data.LayerAreas, strings.NewReader("code,name\n1,a\n"), "a.csv", Options{})
		if err == nil || !strings.Contains(err.Error(), "GeoJSON only") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestInteriorPoint(t *testing.T) {
	tests := []struct {
		name string
		poly orb.Polygon
	}{
		{"square", orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}},
		{"hole in the middle", orb.Polygon{{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}, {{1, 1}, {3, 1}, {3, 3}, {1, 3}, {1, 1}}}},
		{"U shape", orb.Polygon{{{0, 0}, {3, 0}, {3, 3}, {2, 3}, {2, 1}, {1, 1}, {1, 3}, {0, 3}, {0, 0}}}},
		{"vertex on the scan line", orb.Polygon{{{0, 0}, {2, 1}, {0, 2}, {1, 1}, {0, 0}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := interiorPoint(tt.poly)
			if !polygonStrictlyContains(tt.poly, p) {
				t.Errorf("interiorPoint = %v, not inside", p)
			}
		})
	}
}

// polygonStrictlyContains checks p with a nudge in four directions, so a
// point on the boundary does not pass.
func polygonStrictlyContains(poly orb.Polygon, p orb.Point) bool {
	const e = 1e-9
	for _, d := range []orb.Point{{e, 0}, {-e, 0}, {0, e}, {0, -e}} {
		q := orb.Point{p[0] + d[0], p[1] + d[1]}
		in := ringContains(poly[0], q)
		for _, h := range poly[1:] {
			if ringContains(h, q) {
				in = false
			}
		}
		if !in {
			return false
		}
	}
	return true
}

func ringContains(r orb.Ring, p orb.Point) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

// sharedData is the project's shared real data, when it is there.
func sharedData(t *testing.T, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{"..", "..", "..", "shared", "data"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data not found (%v): these tests read ../shared/data next to the repository", err)
	}
	return p
}

func TestImportLiechtenstein(t *testing.T) {
	dir := sharedData(t, "liechtenstein")
	s := storeKinds[0].open(t) // the real GeoPackage store
	for _, f := range []struct {
		layer data.Layer
		file  string
		n     int
	}{
		{data.LayerAreas, "boundaries.geojson", 17},
		{data.LayerHouseholds, "households.csv", 11935},
		{data.LayerHazards, "hazards.csv", 766},
		{data.LayerCameras, "cameras.csv", 2},
	} {
		fh, err := os.Open(filepath.Join(dir, f.file))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Import(context.Background(), s, f.layer, fh, f.file, Options{SkipInvalid: true})
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.file, err)
		}
		// Real data has duplicates, and four exclaves that are also parts
		// of their municipalities; they must be the only rejections.
		for _, e := range res.Errors {
			if !strings.Contains(e.Reason, "duplicate") && !(f.layer == data.LayerAreas && strings.Contains(e.Reason, "overlaps area")) {
				t.Errorf("%s: %v", f.file, e)
			}
		}
		if f.layer == data.LayerAreas && res.Rejected != 4 {
			t.Errorf("%d areas rejected, want the 4 exclave copies", res.Rejected)
		}
		if res.Imported+res.Rejected != f.n || res.Read != f.n {
			t.Errorf("%s: %+v, want %d records", f.file, res, f.n)
		}
		t.Logf("%s: read %d, imported %d, rejected %d", f.file, res.Read, res.Imported, res.Rejected)
	}

	areas := storedAreas(t, s)
	const unterland, oberland = "relation/1156141", "relation/1156142"
	for code, a := range areas {
		switch {
		case a.AdminLevel == 6:
			if a.Level != 1 || a.ParentCode != "" {
				t.Errorf("%s (%s): level %d parent %q, want a top-level region", code, a.Name, a.Level, a.ParentCode)
			}
		case a.Level != 2 || (a.ParentCode != unterland && a.ParentCode != oberland):
			t.Errorf("%s (%s): level %d parent %q, want level 2 in a region", code, a.Name, a.Level, a.ParentCode)
		}
	}
	for _, code := range []string{"LI-02", "LI-03", "LI-04", "LI-06", "LI-08"} {
		if areas[code].ParentCode != unterland {
			t.Errorf("%s (%s) is in %q, want Unterland", code, areas[code].Name, areas[code].ParentCode)
		}
	}
	for _, code := range []string{"LI-01", "LI-05", "LI-07", "LI-09", "LI-10", "LI-11"} {
		if areas[code].ParentCode != oberland {
			t.Errorf("%s (%s) is in %q, want Oberland", code, areas[code].Name, areas[code].ParentCode)
		}
	}
	if n := len(areas["LI-11"].Geometry); n != 7 {
		t.Errorf("Vaduz has %d parts, want its 7 kept", n)
	}
}
