package importer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// TestImportStreetsUnits checks the two layers of issue 16: good features
// land whole (a street without an id takes its osm_id, a Polygon unit
// becomes a MultiPolygon), a bad one is reported by feature number and
// field and rolls the import back unless skipped, and --replace replaces.
func TestImportStreetsUnits(t *testing.T) {
	ctx := context.Background()
	const streets = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"kind":"road","class":"primary","name":"Landstrasse","osm_id":"way/1"},"geometry":{"type":"LineString","coordinates":[[9.5,47.1],[9.51,47.11]]}},
{"type":"Feature","id":"r1","properties":{"kind":"water","class":"river"},"geometry":{"type":"MultiLineString","coordinates":[[[9.5,47.1],[9.5,47.2]],[[9.6,47.1],[9.6,47.2]]]}},
{"type":"Feature","properties":{"id":"bad","kind":"canal_boat"},"geometry":{"type":"LineString","coordinates":[[9.5,47.1],[9.51,47.11]]}},
{"type":"Feature","properties":{"id":"pt","kind":"road"},"geometry":{"type":"Point","coordinates":[9.5,47.1]}}
]}`
	const units = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"u1","kind":"school","name":"Primarschule"},"geometry":{"type":"Point","coordinates":[9.52,47.14]}},
{"type":"Feature","properties":{"id":"u2","kind":"landuse_industrial"},"geometry":{"type":"Polygon","coordinates":[[[9.5,47.1],[9.51,47.1],[9.51,47.11],[9.5,47.1]]]}},
{"type":"Feature","properties":{"id":"u3","name":"no kind"},"geometry":{"type":"Point","coordinates":[9.52,47.14]}}
]}`
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			s := sk.open(t)
			res, err := Import(ctx, s, data.LayerStreets, strings.NewReader(streets), "streets.geojson", Options{})
			if !errors.Is(err, ErrRejected) || res.Rejected != 2 || res.Imported != 0 {
				t.Fatalf("strict import: %+v, %v; want 2 rejected, rolled back", res, err)
			}
			if e := res.Errors[0]; e.Feature != 3 || !strings.Contains(e.Reason, "kind") {
				t.Errorf("first error %+v: want feature 3 naming kind", e)
			}
			if e := res.Errors[1]; e.Feature != 4 || !strings.Contains(e.Reason, "LineString") {
				t.Errorf("second error %+v: want feature 4 naming the geometry", e)
			}
			res, err = Import(ctx, s, data.LayerStreets, strings.NewReader(streets), "streets.geojson", Options{SkipInvalid: true})
			if err != nil || res.Imported != 2 {
				t.Fatalf("skip-invalid import: %+v, %v", res, err)
			}
			res, err = Import(ctx, s, data.LayerUnits, strings.NewReader(units), "units.geojson", Options{SkipInvalid: true})
			if err != nil || res.Imported != 2 || res.Rejected != 1 || res.Errors[0].Feature != 3 || !strings.Contains(res.Errors[0].Reason, "kind") {
				t.Fatalf("units import: %+v, %v", res, err)
			}
			if sk.name != "gpkg" {
				return
			}
			ss, err := s.Streets(ctx)
			if err != nil || len(ss) != 2 {
				t.Fatalf("Streets: %v, %v", ss, err)
			}
			if ss[0].ID != "way/1" || ss[0].Kind != "road" || ss[0].Class != "primary" || ss[0].Name != "Landstrasse" || len(ss[0].Geometry) != 1 {
				t.Errorf("street 1: %+v", ss[0])
			}
			if ss[1].ID != "r1" || ss[1].Kind != "water" || len(ss[1].Geometry) != 2 {
				t.Errorf("street 2: %+v", ss[1])
			}
			us, err := s.Units(ctx)
			if err != nil || len(us) != 2 {
				t.Fatalf("Units: %v, %v", us, err)
			}
			if _, ok := us[0].Geometry.(orb.Point); !ok || us[0].Name != "Primarschule" {
				t.Errorf("unit 1: %+v", us[0])
			}
			if _, ok := us[1].Geometry.(orb.MultiPolygon); !ok {
				t.Errorf("unit 2: %T, want a MultiPolygon", us[1].Geometry)
			}
			// Importing the same ids again is a conflict; --replace replaces.
			if _, err := Import(ctx, s, data.LayerUnits, strings.NewReader(units), "units.geojson", Options{SkipInvalid: true}); err != nil {
				t.Fatal(err)
			}
			if n, _ := s.Count(ctx, data.LayerUnits); n != 2 {
				t.Errorf("after a duplicate import: %d units, want 2", n)
			}
			if _, err := Import(ctx, s, data.LayerUnits, strings.NewReader(units), "units.geojson", Options{SkipInvalid: true, Replace: true}); err != nil {
				t.Fatal(err)
			}
			if n, _ := s.Count(ctx, data.LayerUnits); n != 2 {
				t.Errorf("after --replace: %d units, want 2", n)
			}
		})
	}
	t.Run("csv", func(t *testing.T) {
		if _, err := NewReader(strings.NewReader("id,kind\n1,road\n"), "s.csv", data.LayerStreets); data.ErrorCode(err) != data.EINVALID {
			t.Errorf("streets from CSV: %v, want EINVALID", err)
		}
	})
}

// TestImportLiechtensteinStreetsUnits imports the shared Liechtenstein
// files whole: every feature is good.
func TestImportLiechtensteinStreetsUnits(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "liechtenstein")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no ../shared/data (see /work/shared/data/README.md)")
	}
	s := storeKinds[0].open(t)
	for _, c := range []struct {
		layer data.Layer
		file  string
		n     int
	}{{data.LayerStreets, "streets.geojson", 2757}, {data.LayerUnits, "units.geojson", 266}} {
		f, err := os.Open(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Import(context.Background(), s, c.layer, f, c.file, Options{})
		f.Close()
		if err != nil || res.Imported != c.n {
			t.Fatalf("%s: %+v, %v; want %d imported", c.file, res, err, c.n)
		}
	}
}
