// Package cql2 reads filters in the text encoding of OGC CQL2 (OGC 21-065r2,
// the language of OGC API - Features - Part 3: Filtering) and turns them into
// SQL for wangge's two stores, GeoPackage (SQLite) and PostGIS.
//
// Parse reads a filter into an Expr; Expr.SQL checks it against the
// queryables of a layer (names, case-sensitive, and types) and writes one SQL
// condition in which every literal is a bound argument: no text of the filter
// reaches the SQL but through the arg callback. Intersects is the planar
// meaning of S_INTERSECTS, for stores that evaluate it in Go.
//
// What is supported: comparisons (=, <>, <, <=, >, >=) of a property with a
// string, number, boolean, TIMESTAMP or DATE literal; AND, OR, NOT and
// parentheses; IS [NOT] NULL; [NOT] LIKE, [NOT] BETWEEN and [NOT] IN;
// S_INTERSECTS of the geometry with BBOX, POINT, LINESTRING, POLYGON,
// MULTIPOINT, MULTILINESTRING, MULTIPOLYGON or GEOMETRYCOLLECTION (Z
// coordinates are read and dropped). Not supported: functions, arithmetic,
// CASEI/ACCENTI, property-property comparisons, the temporal and array
// functions and the other spatial functions; each is refused with an error
// that says so.
//
// Extensions beyond the standard, both harmless: a literal may stand left of
// the property (5 < severity), and BETWEEN orders strings and instants as
// well as numbers. A timestamp property compared with a DATE is compared by
// its UTC day: reported_at = DATE('2025-03-01') holds all day long.
//
// The package imports nothing of wangge, so that data.Query can hold an
// *Expr: its errors are *Error, which a caller turns into data.EINVALID.
package cql2

// Conformance class URIs of CQL2 1.0 this package implements, for a server's
// /conformance (with cql2-text, as it reads the text encoding).
const (
	ConfBasicCQL2                   = "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2"
	ConfAdvancedComparisonOperators = "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators"
	ConfBasicSpatialFunctions       = "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions"
	ConfBasicSpatialFunctionsPlus   = "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus"
	ConfCQL2Text                    = "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text"
)

// Conformance returns the CQL2 conformance classes this package meets.
func Conformance() []string {
	return []string{ConfBasicCQL2, ConfAdvancedComparisonOperators, ConfBasicSpatialFunctions,
		ConfBasicSpatialFunctionsPlus, ConfCQL2Text}
}

// Limits on one filter. They keep the SQL within what SQLite accepts (an
// expression tree at most 1,000 deep, a bounded number of arguments) and the
// cost of one request bounded; a filter beyond them is refused, not cut.
const (
	MaxLength     = 1 << 20 // bytes of filter text
	MaxDepth      = 32      // parentheses and NOTs nested
	MaxPredicates = 256     // comparisons, LIKEs, S_INTERSECTS… in all
	MaxValues     = 1000    // literals in all, IN list items included
	MaxPoints     = 2000    // coordinates of geometry literals in all
)
