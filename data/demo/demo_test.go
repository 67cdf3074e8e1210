package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/gpkg"
)

// records counts the records of a demo file as its format defines them,
// without the importer: the features of a GeoJSON file, the rows after the
// header of a CSV file.
func records(t *testing.T, name string) int {
	t.Helper()
	b, err := Open(name)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".geojson") {
		var fc struct{ Features []json.RawMessage }
		if err := json.Unmarshal(b, &fc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return len(fc.Features)
	}
	return bytes.Count(bytes.TrimRight(b, "\n"), []byte("\n"))
}

// TestLoad: every demo file, streets and units included, goes into the
// store whole through the importer, and the store counts what the file
// holds; a record the importer rejects or leaves out is a bug in the demo.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	s, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "demo.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := Load(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, layer := range []data.Layer{data.LayerStreets, data.LayerUnits} {
		if _, ok := res[layer]; !ok {
			t.Errorf("layer %s not loaded", layer)
		}
	}
	for _, f := range Files {
		r := res[f.Layer]
		want := records(t, f.Name)
		if r.Rejected != 0 || r.Imported != want {
			t.Errorf("%s: imported %d, rejected %d (%v), want %d imported", f.Name, r.Imported, r.Rejected, r.Errors, want)
		}
		n, err := s.Count(ctx, f.Layer)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s: the store counts %d %s, want %d", f.Name, n, f.Layer, want)
		}
	}
}
