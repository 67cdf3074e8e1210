package cql2_test

import (
	"fmt"
	"strconv"

	"github.com/wangge/wangge/data/cql2"
)

func ExampleParse() {
	e, err := cql2.Parse("category IN ('fire', 'water') and 2 <= severity")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)
	fmt.Println(e.Properties())

	_, err = cql2.Parse("category = 'fire' AND")
	fmt.Println(err)
	// Output:
	// category IN ('fire', 'water') AND severity >= 2
	// [category severity]
	// filter, character 22: expected a property or a value, found the end of the filter
}

func ExampleExpr_SQL() {
	qs := []cql2.Queryable{
		{Name: "category", Type: cql2.String, Column: "category"},
		{Name: "severity", Type: cql2.Integer, Column: "severity"},
		{Name: "geometry", Type: cql2.Geometry, Column: "geom"},
	}
	e, _ := cql2.Parse("category = 'x'' OR 1=1 --' OR severity > 2")
	var args []any
	sql, err := e.SQL(cql2.PostGIS, qs, func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	})
	fmt.Println(sql, args, err)

	e, _ = cql2.Parse("colour = 'red'")
	_, err = e.SQL(cql2.PostGIS, qs, func(v any) string { return "$1" })
	fmt.Println(err)
	// Output:
	// ((category = $1::text) OR (severity > $2::bigint)) [x' OR 1=1 -- 2] <nil>
	// filter, character 1: unknown property "colour"; queryables: category, severity, geometry
}
