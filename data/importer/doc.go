// Package importer reads household points, areas, hazards, cameras,
// streets, units and the roster of grid workers from CSV and GeoJSON files
// and writes them to a data.Store in one transaction. It is what
// `wangge import households|areas|hazards|cameras|streets|units|workers FILE` runs.
//
// # Formats
//
// CSV files need a header row. Columns are found by name (case-insensitive,
// surrounding spaces ignored), in any order; extra columns are ignored, a
// missing required column aborts the import before any row is read:
//
//	households  id,lon,lat,households
//	hazards     id,lon,lat,category,severity,status,reported_at
//	            [,note,assignee,due_at,resolved_at,closed_at]
//	cameras     id,lon,lat,azimuth,fov,range_m,status
//	workers     id,name,role,grid_codes[,phone]
//
// Hazards are events (data/events.go): their category is one of the
// taxonomy's (Options.Taxonomy, else the built-in data/taxonomy.json), and
// a category the taxonomy does not know is a bad record whose reason lists
// the known ones. Status is one of the event states; "open", the first
// state of files written before the event workflow, is read as
// "reported" (in_progress and resolved kept their names). The optional
// columns are the event's note, the assignee's worker id, and three times;
// a missing due_at is reported_at plus the category's deadline
// (deadline_hours), as for a new report, and no time may be before
// reported_at. The assignee is not looked up on the roster, which may be
// imported later.
//
// The roster (LayerWorkers) is CSV only: grid_codes is a ';'-separated
// list of the grid or area codes a worker serves, the role one of the
// taxonomy's worker roles, the phone optional. A duplicate id is reported
// with the line where it first came; an id already on the roster is a
// bad record unless Options.Replace replaces the whole roster.
//
// Streets are LineString or MultiLineString features with properties kind
// (road, water or rail), class, name and osm_id; their id is properties.id,
// else the feature's id, else osm_id. Units are Point, Polygon or
// MultiPolygon features with properties id (else the feature's id), kind
// (required, free text) and name. Both come from GeoJSON only, and a bad
// feature is reported by number with the field it is about, as for the
// other layers.
//
// Areas come from GeoJSON only. A GeoJSON file must be a FeatureCollection.
// Households, hazards and cameras are Point features whose properties carry
// the CSV columns above (the id comes from properties.id, else from the
// feature's id); areas are Polygon or MultiPolygon features with properties
// code (else the feature id), name, name_en, admin_level, parent_code
// (optional) and osm_id. Numeric properties may be JSON numbers or strings
// holding a number, because spreadsheets and some converters quote
// everything. Category and status values are matched case-insensitively
// and stored in lower case. reported_at is an RFC 3339 time or a plain
// YYYY-MM-DD date (midnight UTC).
//
// The format is found from the content (first non-space byte '{' means
// GeoJSON), else from the file name (.geojson, .json), else CSV. A UTF-8 byte
// order mark is skipped.
//
// Both readers stream: CSV rows are read with a reused record and GeoJSON
// features are decoded one at a time from the "features" array, which may
// come before or after the other members, so memory stays flat however
// large the file. Only areas, which are few, are held in memory, because
// their nesting needs all of them at once.
//
// # What is accepted and what is not
//
// Every record is validated: numbers must be finite decimals (no NaN, Inf,
// hexadecimal or decimal commas), longitude in [-180, 180], latitude in
// [-90, 90], households a whole number from 1 to 1,000,000, ids non-empty,
// severity 1–3, azimuth in [0, 360), fov in (0, 360], range_m > 0, category
// and worker role from the taxonomy, statuses from package data; last, the
// domain type's own Validate runs, so every record a Reader returns is one
// the store accepts.
// Geometries follow RFC 7946 with these deliberate choices:
//
//   - A top-level value that is not a FeatureCollection (a bare geometry, a
//     single Feature, null, …) is a whole-file error: the import needs a list
//     of features with properties, and guessing would hide mistakes.
//   - Type names are case-sensitive ("point" is not "Point"), as RFC 7946 says.
//   - A member repeated in the top-level object (two "type"s, two
//     "features") is a whole-file error, since which one is meant is a guess.
//     Inside a feature, encoding/json keeps the last of repeated members and
//     matches member names case-insensitively; we accept that.
//   - Foreign members are ignored, including those RFC 7946 §7.1 forbids
//     (a FeatureCollection with "properties" or "coordinates"): their
//     presence does not change what the features mean to us.
//   - bbox members are ignored: the store computes its own envelopes.
//   - Positions need 2 or 3 numbers (a third, the altitude, is dropped); more
//     than 3 is rejected. Excess decimal places are accepted as they are.
//   - Rings need at least 4 positions and must be closed (first and last
//     position equal in longitude and latitude). Winding order is not
//     checked: the right-hand rule is a SHOULD in RFC 7946, and area and
//     containment do not depend on it. Self-intersection is not checked.
//   - A null geometry is rejected: every layer needs a location.
//   - GeometryCollections are parsed (no layer takes one) down to 8 levels of
//     nesting; deeper is rejected rather than recursed into.
//
// # Errors and the transaction
//
// A bad record is reported as a RowError with the file name, the line (for
// CSV the line where the row starts, for GeoJSON the line where the feature
// starts) and, for GeoJSON, the 1-based feature number, and a reason.
// Whole-file problems (not JSON, not a FeatureCollection, a missing CSV
// column, a read error) are *data.Error values with code EINVALID that name
// the file and, where known, the line.
//
// Import writes through a single data.Tx, so a file is imported whole or not
// at all. By default any bad record aborts the import: reading goes on to the
// end so that every bad record is reported (the first MaxErrors are kept in
// Result.Errors, all are counted and passed to Options.Report), then the
// transaction is rolled back and Import returns an error wrapping
// ErrRejected. With Options.SkipInvalid bad records are reported and skipped
// and the rest is committed. A duplicate id is found by the store (ECONFLICT
// from Tx.Add…), not by an in-memory set, and counts as a bad record like
// any other. Options.Replace clears the layer first, inside the same
// transaction, so a failed replace leaves the old data in place.
//
// # Areas
//
// An area's parent is its parent_code when given (it must be an area of the
// file or of the store). Otherwise it is found by geometry: the smallest area
// (by area on the sphere) that contains it, where "contains" means that a
// strict majority of the area's polygon parts have an interior point inside
// the candidate. A candidate must be strictly larger, and when both have an
// admin_level, the candidate's must be lower (OSM numbers bigger units with
// smaller levels); this keeps an exclave that duplicates a part of its
// municipality from becoming that municipality's child. Level is the depth
// in the nesting tree, 1 at the top. MultiPolygons are kept as they are,
// separate parts included. Parents are written before their children, and a
// child whose parent was rejected is rejected too. Areas already in the store
// are never re-parented, so import the larger units first or in the same
// file.
package importer
