package gpkg

import (
	"context"
	"fmt"

	"github.com/wangge/wangge/data"
)

// Schema version 6: the streets layer (roads, rivers and railways that
// grid boundaries follow) and the units layer (organisations a grid covers
// whole), issue 16. Both are layers like the others: in gpkg_contents with
// an R-tree, so GDAL and QGIS list them, and in the change feed.
var streetsLayerDefs = []layerDef{
	{"streets", "MULTILINESTRING", `source_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL CHECK (kind IN ('road', 'water', 'rail')),
		class TEXT NOT NULL DEFAULT '', name TEXT NOT NULL DEFAULT '', osm_id TEXT NOT NULL DEFAULT ''`,
		"streets, rivers and railways that grid boundaries follow"},
	// GEOMETRY: a unit is a Point or a MultiPolygon.
	{"units", "GEOMETRY", `source_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL CHECK (kind <> ''), name TEXT NOT NULL DEFAULT ''`,
		"units (schools, offices, factories) that one grid covers whole"},
}

// streetsSchema brings a file of schema version 5 to version 6. It runs
// once, in the transaction of createSchema or of migrate.
func streetsSchema() []string {
	var stmts []string
	for _, l := range streetsLayerDefs {
		t := l.table
		stmts = append(stmts,
			fmt.Sprintf(`CREATE TABLE %s (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom %s NOT NULL, %s)`, t, l.geomType, l.columns),
			fmt.Sprintf(`INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES ('%s', 'features', '%s', '%s', 4326)`, t, t, l.desc),
			fmt.Sprintf(`INSERT INTO gpkg_geometry_columns VALUES ('%s', 'geom', '%s', 4326, 0, 0)`, t, l.geomType),
		)
		stmts = append(stmts, rtreeStatements(t, "geom", "fid")...)
	}
	stmts = append(stmts, `CREATE INDEX streets_kind ON streets(kind, class)`)
	return append(stmts, feedTriggers(6)...)
}

// AddStreet stores a street line; ECONFLICT if its id exists.
func (t *Tx) AddStreet(ctx context.Context, s data.Street) (int64, error) {
	if err := s.Validate(); err != nil {
		return 0, err
	}
	return t.insert(ctx, "streets", dupKey{layer: data.LayerStreets, key: s.ID}, s.Geometry,
		`INSERT INTO streets (geom, source_id, kind, class, name, osm_id) VALUES (?, ?, ?, ?, ?, ?)`, s.ID, s.Kind, s.Class, s.Name, s.OSMID)
}

// AddUnit stores a unit; ECONFLICT if its id exists.
func (t *Tx) AddUnit(ctx context.Context, u data.Unit) (int64, error) {
	if err := u.Validate(); err != nil {
		return 0, err
	}
	return t.insert(ctx, "units", dupKey{layer: data.LayerUnits, key: u.ID}, u.Geometry,
		`INSERT INTO units (geom, source_id, kind, name) VALUES (?, ?, ?, ?)`, u.ID, u.Kind, u.Name)
}

// Streets returns every street line by fid.
func (s *Store) Streets(ctx context.Context) ([]data.Street, error) {
	return collect(ctx, s.db, "read streets", func(scan scanFunc) (data.Street, error) {
		f, err := data.ScanFeature(data.LayerStreets, scan, decodeGeom, true)
		if err != nil {
			return data.Street{}, err
		}
		return data.StreetOf(f)
	}, `SELECT `+data.FeatureColumns(data.LayerStreets)+` FROM streets ORDER BY fid`)
}

// Units returns every unit by fid.
func (s *Store) Units(ctx context.Context) ([]data.Unit, error) {
	return collect(ctx, s.db, "read units", func(scan scanFunc) (data.Unit, error) {
		f, err := data.ScanFeature(data.LayerUnits, scan, decodeGeom, true)
		if err != nil {
			return data.Unit{}, err
		}
		return data.UnitOf(f)
	}, `SELECT `+data.FeatureColumns(data.LayerUnits)+` FROM units ORDER BY fid`)
}
