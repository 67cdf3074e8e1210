package gridgen

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/importer"
)

// sharedData is where the real test data lives (see /work/shared/data/README.md).
var sharedData = filepath.Join("..", "..", "shared", "data")

func skipIfMissing(tb testing.TB, path string) {
	tb.Helper()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("real data %s not found: put the shared OSM extracts next to the repository (../shared/data) to run this", path)
	}
}

func loadHouseholds(tb testing.TB, path string) []data.Household {
	tb.Helper()
	skipIfMissing(tb, path)
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	hh, err := importer.ReadHouseholds(f, path)
	if err != nil {
		tb.Fatal(err)
	}
	return hh
}

// loadLeaves returns the admin_level 8 areas of a boundaries file.
func loadLeaves(tb testing.TB, path string) []data.Area {
	tb.Helper()
	skipIfMissing(tb, path)
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		tb.Fatal(err)
	}
	var out []data.Area
	for _, f := range fc.Features {
		if f.Properties.MustInt("admin_level", 0) != 8 {
			continue
		}
		var mp orb.MultiPolygon
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			mp = orb.MultiPolygon{g}
		case orb.MultiPolygon:
			mp = g
		}
		out = append(out, data.Area{Code: f.Properties.MustString("code"), Name: f.Properties.MustString("name", ""), Level: 2, AdminLevel: 8, Geometry: mp})
	}
	return out
}

func liechtenstein(tb testing.TB) ([]data.Household, []data.Area) {
	hh := loadHouseholds(tb, filepath.Join(sharedData, "liechtenstein", "households.csv"))
	return hh, loadLeaves(tb, filepath.Join(sharedData, "liechtenstein", "boundaries.geojson"))
}

// readLayer reads every record of a GeoJSON file of layer (streets, units)
// from the shared data.
func readLayer(tb testing.TB, path string, layer data.Layer) []importer.Record {
	tb.Helper()
	skipIfMissing(tb, path)
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rd, err := importer.NewReader(f, path, layer)
	if err != nil {
		tb.Fatal(err)
	}
	var out []importer.Record
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, rec)
	}
}

// liechtensteinStreets returns the streets, rivers and railways of the
// Liechtenstein extract.
func liechtensteinStreets(tb testing.TB) []data.Street {
	var out []data.Street
	for _, r := range readLayer(tb, filepath.Join(sharedData, "liechtenstein", "streets.geojson"), data.LayerStreets) {
		out = append(out, r.Street)
	}
	return out
}

// liechtensteinUnits returns the units of the Liechtenstein extract.
func liechtensteinUnits(tb testing.TB) []data.Unit {
	var out []data.Unit
	for _, r := range readLayer(tb, filepath.Join(sharedData, "liechtenstein", "units.geojson"), data.LayerUnits) {
		out = append(out, r.Unit)
	}
	return out
}
