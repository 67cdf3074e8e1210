package postgis

import (
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/cql2"
)

// filterSQL turns a CQL2 filter on a layer into a condition for where():
// every literal goes through arg as a $n parameter. A filter that names what
// is not a queryable of the layer, or compares a value of the wrong type, is
// EINVALID with the character where it goes wrong.
func filterSQL(layer data.Layer, e *cql2.Expr, arg func(any) string) (string, error) {
	cond, err := e.SQL(cql2.PostGIS, queryables(layer), arg)
	if err != nil {
		return "", data.Wrap(data.EINVALID, err, "%s", err)
	}
	return cond, nil
}

// queryables are what a filter on a layer may name: data.Queryables, and
// its geometry as "geometry", the name GeoJSON gives it.
func queryables(layer data.Layer) []cql2.Queryable {
	return append(data.Queryables(layer), cql2.Queryable{Name: "geometry", Type: cql2.Geometry, Column: "geom"})
}
