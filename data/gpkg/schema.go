package gpkg

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// layerDef describes one feature table: its geometry type and columns after
// fid and geom.
type layerDef struct {
	table    string
	geomType string // GeoPackage geometry_type_name
	columns  string // SQL column definitions
	desc     string
}

var layerDefs = []layerDef{
	{"areas", "MULTIPOLYGON", `code TEXT NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT '', name_en TEXT NOT NULL DEFAULT '',
		level INTEGER NOT NULL CHECK (level >= 1), admin_level INTEGER, parent_code TEXT, osm_id TEXT`,
		"administrative areas: level 1 streets/townships, level 2 communities/villages"},
	{"grids", "MULTIPOLYGON", `plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE, code TEXT NOT NULL,
		parent_code TEXT NOT NULL, name TEXT NOT NULL DEFAULT '', households INTEGER NOT NULL CHECK (households >= 0),
		area_m2 REAL NOT NULL, worker TEXT NOT NULL DEFAULT '', cells TEXT NOT NULL DEFAULT '', UNIQUE (plan_id, code)`,
		"management grids of every stored plan (plan_id); the published plan is in plans"},
	// Schema 4 adds the columns of the events' workflow (events.go).
	{"hazards", "POINT", `source_id TEXT NOT NULL UNIQUE, category TEXT NOT NULL, severity INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 3),
		status TEXT NOT NULL, reported_at DATETIME NOT NULL`,
		"hazard reports"},
	{"cameras", "POINT", `source_id TEXT NOT NULL UNIQUE, azimuth REAL NOT NULL, fov REAL NOT NULL, range_m REAL NOT NULL CHECK (range_m > 0),
		status TEXT NOT NULL`,
		"surveillance cameras"},
	{"households", "POINT", `source_id TEXT NOT NULL UNIQUE, households INTEGER NOT NULL CHECK (households >= 1)`,
		"household points (personal data)"},
}

// schemaVersion is bumped with every change to the statements below; a file
// with a newer version is refused rather than misread.
const schemaVersion = 6

func createSchema(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var stmts []string
	stmts = append(stmts,
		`PRAGMA application_id = 1196444487`, // "GPKG"
		`PRAGMA user_version = 10300`,        // GeoPackage 1.3
		`CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
			organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)`,
		`INSERT INTO gpkg_spatial_ref_sys VALUES
			('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
			('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
			('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')`,
		`CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
			description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
			min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
			CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))`,
		`CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
			srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
			CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT uk_gc_table_name UNIQUE (table_name),
			CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
			CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))`,
		`CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
			definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))`,
		// plans is an attributes table, so GDAL and QGIS list it too.
		`CREATE TABLE plans (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at DATETIME NOT NULL, target INTEGER NOT NULL CHECK (target > 0),
			resolution INTEGER NOT NULL, base_id INTEGER, published INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)), report TEXT NOT NULL)`,
		`CREATE UNIQUE INDEX plans_one_published ON plans(published) WHERE published = 1`,
		`INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES ('plans', 'attributes', 'plans', 'grid plans and their quality reports')`,
		// wangge_meta is deliberately not in gpkg_contents: it is ours, not a layer.
		`CREATE TABLE wangge_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		fmt.Sprintf(`INSERT INTO wangge_meta VALUES ('schema_version', '%d')`, schemaVersion),
	)
	for _, l := range layerDefs {
		t := l.table
		stmts = append(stmts,
			fmt.Sprintf(`CREATE TABLE %s (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom %s NOT NULL, %s)`, t, l.geomType, l.columns),
			fmt.Sprintf(`INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES ('%s', 'features', '%s', '%s', 4326)`, t, t, l.desc),
			fmt.Sprintf(`INSERT INTO gpkg_geometry_columns VALUES ('%s', 'geom', '%s', 4326, 0, 0)`, t, l.geomType),
		)
		stmts = append(stmts, rtreeStatements(t, "geom", "fid")...)
	}
	stmts = append(stmts, `CREATE INDEX grids_plan ON grids(plan_id)`, `CREATE INDEX hazards_category ON hazards(category, status)`)
	// The later versions' steps, as migrate runs them on an older file:
	// a new file and a migrated one have the same tables.
	stmts = append(stmts, authSchema...)
	stmts = append(stmts, feedSchema()...)
	stmts = append(stmts, eventsSchema()...)
	stmts = append(stmts, hooksSchema...)
	stmts = append(stmts, streetsSchema()...)
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("gpkg: create schema: %w (in %.60s…)", err, strings.TrimSpace(s))
		}
	}
	return tx.Commit()
}

// rtreeStatements creates the spatial index of GeoPackage 1.3 Annex F.3
// (extension gpkg_rtree_index) with the triggers that keep it in step.
// Element 2 is the insert trigger, which Tx drops and restores.
func rtreeStatements(t, c, i string) []string {
	r := fmt.Sprintf("rtree_%s_%s", t, c)
	set := fmt.Sprintf(`INSERT OR REPLACE INTO %s VALUES (NEW.%s, ST_MinX(NEW.%s), ST_MaxX(NEW.%s), ST_MinY(NEW.%s), ST_MaxY(NEW.%s));`, r, i, c, c, c, c)
	return []string{
		fmt.Sprintf(`CREATE VIRTUAL TABLE %s USING rtree(id, minx, maxx, miny, maxy)`, r),
		fmt.Sprintf(`INSERT INTO gpkg_extensions VALUES ('%s', '%s', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')`, t, c),
		fmt.Sprintf(`CREATE TRIGGER %s_insert AFTER INSERT ON %s WHEN (new.%s NOT NULL AND NOT ST_IsEmpty(NEW.%s)) BEGIN %s END`, r, t, c, c, set),
		fmt.Sprintf(`CREATE TRIGGER %s_update1 AFTER UPDATE OF %s ON %s WHEN OLD.%s = NEW.%s AND (NEW.%s NOTNULL AND NOT ST_IsEmpty(NEW.%s)) BEGIN %s END`, r, c, t, i, i, c, c, set),
		fmt.Sprintf(`CREATE TRIGGER %s_update2 AFTER UPDATE OF %s ON %s WHEN OLD.%s = NEW.%s AND (NEW.%s ISNULL OR ST_IsEmpty(NEW.%s)) BEGIN DELETE FROM %s WHERE id = OLD.%s; END`, r, c, t, i, i, c, c, r, i),
		fmt.Sprintf(`CREATE TRIGGER %s_update3 AFTER UPDATE ON %s WHEN OLD.%s != NEW.%s AND (NEW.%s NOTNULL AND NOT ST_IsEmpty(NEW.%s)) BEGIN DELETE FROM %s WHERE id = OLD.%s; %s END`, r, t, i, i, c, c, r, i, set),
		fmt.Sprintf(`CREATE TRIGGER %s_update4 AFTER UPDATE ON %s WHEN OLD.%s != NEW.%s AND (NEW.%s ISNULL OR ST_IsEmpty(NEW.%s)) BEGIN DELETE FROM %s WHERE id IN (OLD.%s, NEW.%s); END`, r, t, i, i, c, c, r, i, i),
		fmt.Sprintf(`CREATE TRIGGER %s_delete AFTER DELETE ON %s WHEN old.%s NOT NULL BEGIN DELETE FROM %s WHERE id = OLD.%s; END`, r, t, c, r, i),
	}
}
