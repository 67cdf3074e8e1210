package gpkg

import (
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/cql2"
)

// filterSQL turns a CQL2 filter on a layer into a condition for where():
// every literal goes through arg. A filter that names what is not a
// queryable of the layer, or compares a value of the wrong type, is
// EINVALID with the character where it goes wrong.
//
// S_INTERSECTS narrows by the layer's R-tree in a subquery (a JOIN, as the
// bbox parameter uses, would not sit inside OR and NOT) and decides in Go:
// wg_intersects for a BBOX, wg_intersects_wkb (funcs.go) for any other
// geometry. Testing in Go after the query instead would break LIMIT, OFFSET
// and the count.
func filterSQL(layer data.Layer, e *cql2.Expr, arg func(any) string) (string, error) {
	qs := queryables(layer)
	cond, err := e.SQL(cql2.SQLite, qs, arg)
	if err != nil {
		return "", data.Wrap(data.EINVALID, err, "%s", err)
	}
	return cond, nil
}

// queryables are what a filter on a layer may name: data.Queryables, and
// its geometry as "geometry", the name GeoJSON gives it, narrowed by the
// layer's R-tree.
func queryables(layer data.Layer) []cql2.Queryable {
	return append(data.Queryables(layer), cql2.Queryable{Name: "geometry", Type: cql2.Geometry, Column: "geom",
		RTree: "rtree_" + string(layer) + "_geom", FID: string(layer) + ".fid"})
}
