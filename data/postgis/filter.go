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

// queryables are what a filter on a layer may name: its filterable
// properties, its temporal property, and its geometry as "geometry", the
// name GeoJSON gives it; the same, with the same types, as data/gpkg's.
func queryables(layer data.Layer) []cql2.Queryable {
	types := map[byte]cql2.Type{'s': cql2.String, 'i': cql2.Integer, 'f': cql2.Number, 't': cql2.Timestamp}
	var qs []cql2.Queryable
	for _, name := range data.Filterable[layer] {
		qs = append(qs, cql2.Queryable{Name: name, Type: types[kindOf(layer, name)], Column: name})
	}
	if t := data.TimeProperty[layer]; t != "" {
		qs = append(qs, cql2.Queryable{Name: t, Type: cql2.Timestamp, Column: t})
	}
	return append(qs, cql2.Queryable{Name: "geometry", Type: cql2.Geometry, Column: "geom"})
}
