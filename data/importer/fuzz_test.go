package importer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/wangge/wangge/data"
)

// fuzzLayers are the layers a fuzz input is read as, picked by a byte.
var fuzzLayers = [...]data.Layer{data.LayerHouseholds, data.LayerHazards, data.LayerCameras, data.LayerAreas}

// fuzzCSVLayers are those with a CSV form: not areas, but the roster.
var fuzzCSVLayers = [...]data.Layer{data.LayerHouseholds, data.LayerHazards, data.LayerCameras, LayerWorkers}

// checkReader reads input to the end and checks what a reader promises
// whatever the input: no panic, progress on every call, valid records,
// row errors that say where and why, and whole-file errors that stick.
func checkReader(t *testing.T, input []byte, name string, layer data.Layer) {
	rd, err := NewReader(bytes.NewReader(input), name, layer)
	if err != nil {
		if data.ErrorCode(err) != data.EINVALID || err.Error() == "" {
			t.Fatalf("NewReader error %v has code %s, want %s", err, data.ErrorCode(err), data.EINVALID)
		}
		return
	}
	// Every call consumes at least one byte (a row, a feature, a token), so
	// more calls than bytes means the reader is stuck.
	for calls := 0; ; calls++ {
		if calls > len(input)+2 {
			t.Fatalf("%d calls to Next on %d bytes: no progress", calls, len(input))
		}
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		var re *RowError
		if errors.As(err, &re) {
			if re.Reason == "" || re.File != name || re.Line < 0 || re.Feature < 0 {
				t.Fatalf("row error without a place or a reason: %#v", re)
			}
			continue
		}
		if err != nil {
			if data.ErrorCode(err) != data.EINVALID {
				t.Fatalf("file error %v has code %s, want %s", err, data.ErrorCode(err), data.EINVALID)
			}
			if _, again := rd.Next(); again != err {
				t.Fatalf("file error %v did not stick: then %v", err, again)
			}
			return
		}
		var verr error
		switch layer {
		case data.LayerHouseholds:
			verr = rec.Household.Validate()
		case data.LayerHazards:
			verr = rec.Hazard.Validate()
		case data.LayerCameras:
			verr = rec.Camera.Validate()
		case data.LayerAreas:
			verr = rec.Area.Validate()
		case LayerWorkers:
			if verr = rec.Worker.Validate(); verr == nil {
				verr = data.DefaultTaxonomy().CheckWorker(rec.Worker)
			}
		}
		if verr != nil {
			t.Fatalf("reader returned a record the domain rejects: %v: %+v", verr, rec)
		}
	}
}

func FuzzCSV(f *testing.F) {
	seeds := []string{
		"id,lon,lat,households\nnode/315636967,9.5228187,47.1400138,1\nnode/336434357,9.5187954,47.1427372,12\n",
		"\uFEFFhouseholds,lat,lon,id,extra\r\n3,47.1,9.5,a,x\r\n",
		"id,lon,lat,households\nh1,NaN,47.1,1\nh2,9.5,1e400,1\nh3,0x1p3,47.1,1\n,9.5,47.1,0\n",
		"id,lon,lat,households\n\"h\n1\",9.5,47.1,1\nh\"2,9.5,47.1,1\nh3,9.5\n",
		"id,lon,lat,category,severity,status,reported_at\nnode/30603864,9.5203855,47.1705163,traffic,1,open,2024-11-26T09:00:00Z\nz,1,2,Fire,3,resolved,2024-11-26\n",
		"id,lon,lat,azimuth,fov,range_m,status\nnode/2426798937,9.5051498,47.2177585,359.0,90,50,online\nc,1,2,360,0,-1,broken\n",
		"id;lon;lat;households\n",
		"\uFEFFid,name,role,grid_codes,phone\r\nw1,示例·王芳,grid_chief,LI-01,+86 100 0000 0001\r\nw2,b,Full_Time, G1 ;G2,\r\nw3,,boss,G1;;G1,x\r\n",
		"",
	}
	for i, s := range seeds {
		f.Add(byte(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which byte, input []byte) {
		layer := fuzzCSVLayers[int(which)%len(fuzzCSVLayers)]
		checkReader(t, input, "fuzz.csv", layer)
	})
}

func FuzzGeoJSON(f *testing.F) {
	files, err := filepath.Glob("testdata/geojson-invalid/*.geojson")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files: %v", err)
	}
	for i, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(i), b)
	}
	valid := []string{
		featureCollection(gjPoint("a", `{"type":"Point","coordinates":[9.5,47.1]}`), gjPoint("b", `{"type":"Point","coordinates":[9.6,47.2,3]}`)),
		featureCollection(areaFeature("S1", "", 6, "Polygon", "["+square(0, 0, 1, 1)+","+square(0.4, 0.4, 0.6, 0.6)+"]"),
			areaFeature("C1", "", 8, "MultiPolygon", "[["+square(0.1, 0.1, 0.2, 0.2)+"],["+square(0.7, 0.7, 0.8, 0.8)+"]]"),
			areaFeature("C2", "S1", 8, "Polygon", "["+square(0.3, 0.3, 0.35, 0.35)+"]")),
		`{"features":[{"type":"Feature","id":7,"properties":{"category":"fire","severity":"2","status":"open","reported_at":"2024-05-01"},"geometry":{"type":"Point","coordinates":[1,2]}}],"type":"FeatureCollection"}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"c","azimuth":10,"fov":90,"range_m":50,"status":"online"},"geometry":{"type":"Point","coordinates":[1,2]}}]}`,
	}
	for i, s := range valid {
		f.Add(byte(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which byte, input []byte) {
		layer := fuzzLayers[int(which)%len(fuzzLayers)]
		checkReader(t, input, "fuzz.geojson", layer)
		_, _ = parseGeometry(input)
		// Areas go through Import too, for the nesting code.
		if layer == data.LayerAreas {
			_, err := Import(context.Background(), newMemStore(), layer, bytes.NewReader(input), "fuzz.geojson", Options{SkipInvalid: true})
			if err != nil && data.ErrorCode(err) != data.EINVALID {
				t.Fatalf("Import: %v", err)
			}
		}
	})
}
