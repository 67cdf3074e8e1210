// Package demo holds wangge's own demo data, a copy of the Liechtenstein
// OpenStreetMap extract (ODbL, see ATTRIBUTION.md), embedded in the binary
// so that a fresh clone serves something real, and an invented roster of
// grid workers for the demo's plan (Roster): fictional names and numbers.
package demo

import (
	"bytes"
	"context"
	"embed"
	"fmt"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/importer"
)

//go:embed households.csv boundaries.geojson hazards.csv cameras.csv streets.geojson units.geojson ATTRIBUTION.md
var files embed.FS

// Attribution is the notice the ODbL requires wherever the data is shown.
const Attribution = "© OpenStreetMap contributors, ODbL 1.0"

// Files lists the demo files by layer, in the order they are loaded.
var Files = []struct {
	Layer data.Layer
	Name  string
}{
	{data.LayerAreas, "boundaries.geojson"},
	{data.LayerHouseholds, "households.csv"},
	{data.LayerHazards, "hazards.csv"},
	{data.LayerCameras, "cameras.csv"},
	// Streets and units shape the demo plan (gridgen draws along the
	// streets and keeps units whole), so they are loaded before it is drawn.
	{data.LayerStreets, "streets.geojson"},
	{data.LayerUnits, "units.geojson"},
}

// Open returns the contents of one demo file.
func Open(name string) ([]byte, error) { return files.ReadFile(name) }

// Load imports every demo file into store, each layer in its own
// transaction, checking hazards against the built-in taxonomy. The demo
// data is clean: any rejected record is a bug.
func Load(ctx context.Context, store data.Store) (map[data.Layer]importer.Result, error) {
	return LoadWith(ctx, store, nil)
}

// LoadWith is Load with the taxonomy the server runs with (nil: the
// built-in one), so that a deployment's taxonomy that lacks the demo's
// hazard categories says so at once rather than serving categories it
// does not know.
func LoadWith(ctx context.Context, store data.Store, tax *data.Taxonomy) (map[data.Layer]importer.Result, error) {
	out := map[data.Layer]importer.Result{}
	for _, f := range Files {
		b, err := files.ReadFile(f.Name)
		if err != nil {
			return out, err
		}
		res, err := importer.Import(ctx, store, f.Layer, bytes.NewReader(b), "demo/"+f.Name, importer.Options{Taxonomy: tax})
		out[f.Layer] = res
		if err != nil {
			return out, fmt.Errorf("demo: load %s: %w", f.Name, err)
		}
	}
	return out, nil
}
