package cql2

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hazards are the queryables of wangge's hazards layer as data/gpkg gives them.
var hazards = []Queryable{
	{Name: "category", Type: String, Column: "category"},
	{Name: "status", Type: String, Column: "status"},
	{Name: "severity", Type: Integer, Column: "severity"},
	{Name: "reported_at", Type: Timestamp, Column: "reported_at"},
	{Name: "geometry", Type: Geometry, Column: "geom", RTree: "rtree_hazards_geom", FID: "hazards.fid"},
}

// sqlOf returns the SQL of a filter in a dialect and its arguments.
func sqlOf(t *testing.T, d Dialect, filter string) (string, []any, error) {
	t.Helper()
	e, err := Parse(filter)
	if err != nil {
		t.Fatalf("Parse(%q): %v", filter, err)
	}
	var args []any
	sql, err := e.SQL(d, hazards, func(v any) string {
		args = append(args, v)
		if d == PostGIS {
			return "$" + strconv.Itoa(len(args))
		}
		return "?"
	})
	return sql, args, err
}

func TestSQL(t *testing.T) {
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		filter   string
		sqlite   string
		postgis  string
		args     []any // SQLite's; PostGIS's are the same but for times
		pgTimes  []any // PostGIS's arguments where they differ
		skipArgs bool
	}{
		{filter: "category = 'fire'",
			sqlite: "(category = ?)", postgis: "(category = $1::text)", args: []any{"fire"}},
		{filter: "category = 'x'' OR 1=1 --'",
			sqlite: "(category = ?)", postgis: "(category = $1::text)", args: []any{"x' OR 1=1 --"}},
		{filter: "category < 'g'",
			sqlite: "(category < ?)", postgis: `(category COLLATE "C" < $1::text)`, args: []any{"g"}},
		{filter: "severity >= 2 AND NOT status <> 'open' OR severity = 2.5",
			sqlite:  "(((severity >= ?) AND (NOT (status <> ?))) OR (severity = ?))",
			postgis: "(((severity >= $1::bigint) AND (NOT (status <> $2::text))) OR (severity = $3::double precision))",
			args:    []any{int64(2), "open", 2.5}},
		{filter: "severity NOT BETWEEN 1 AND 2",
			sqlite:  "(NOT ((severity >= ?) AND (severity <= ?)))",
			postgis: "(NOT ((severity >= $1::bigint) AND (severity <= $2::bigint)))", args: []any{int64(1), int64(2)}},
		{filter: "category IN ('fire', 'water')",
			sqlite: "(category IN (?, ?))", postgis: "(category IN ($1::text, $2::text))", args: []any{"fire", "water"}},
		{filter: "status IS NOT NULL",
			sqlite: "(status IS NOT NULL)", postgis: "(status IS NOT NULL)"},
		{filter: "TRUE AND NOT FALSE",
			sqlite: "((1 = 1) AND (NOT (1 = 0)))", postgis: "((1 = 1) AND (NOT (1 = 0)))"},
		{filter: "category LIKE 'f_r%' AND status NOT LIKE 'a*b?[c]\\%\\_%'",
			sqlite:  "((category GLOB ?) AND (NOT (status GLOB ?)))",
			postgis: "((category LIKE $1::text) AND (NOT (status LIKE $2::text)))",
			args:    []any{"f?r*", "a[*]b[?][[]c]%_*"}, pgTimes: []any{"f_r%", `a*b?[c]\%\_%`}},
		{filter: "reported_at > TIMESTAMP('2025-03-01T09:30:15.1234567Z')",
			sqlite:  "((strftime('%Y-%m-%dT%H:%M:%f', reported_at) || '000') > ?)",
			postgis: "(reported_at > $1::timestamptz)",
			args:    []any{"2025-03-01T09:30:15.123456"}, pgTimes: []any{time.Date(2025, 3, 1, 9, 30, 15, 123456000, time.UTC)}},
		{filter: "reported_at = DATE('2025-03-01')",
			sqlite:  "((strftime('%Y-%m-%dT%H:%M:%f', reported_at) || '000') >= ? AND (strftime('%Y-%m-%dT%H:%M:%f', reported_at) || '000') < ?)",
			postgis: "(reported_at >= $1::timestamptz AND reported_at < $2::timestamptz)",
			args:    []any{"2025-03-01T00:00:00.000000", "2025-03-02T00:00:00.000000"}, pgTimes: []any{day, day.AddDate(0, 0, 1)}},
		{filter: "S_INTERSECTS(geometry, BBOX(9.5, 47.1, 9.6, 47.2))",
			sqlite:  "(hazards.fid IN (SELECT id FROM rtree_hazards_geom WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?) AND wg_intersects(geom, ?, ?, ?, ?))",
			postgis: "ST_Intersects(geom, ST_SetSRID(ST_MakeBox2D(ST_MakePoint($1::double precision, $2::double precision), ST_MakePoint($3::double precision, $4::double precision))::geometry, 4326))",
			args:    []any{9.6, 9.5, 47.2, 47.1, 9.5, 47.1, 9.6, 47.2}, pgTimes: []any{9.5, 47.1, 9.6, 47.2}},
		{filter: "S_INTERSECTS(geometry, POINT(9.5 47.1))",
			sqlite:  "(hazards.fid IN (SELECT id FROM rtree_hazards_geom WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?) AND wg_intersects_wkb(geom, ?))",
			postgis: "(ST_Intersects(geom, ST_GeomFromWKB($1::bytea, 4326)))", skipArgs: true},
		{filter: "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(1 2), MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((0 0, 1 0, 1 1, 0 0)))))",
			sqlite:  "(hazards.fid IN (SELECT id FROM rtree_hazards_geom WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?) AND wg_intersects_wkb(geom, ?))",
			postgis: "(ST_Intersects(geom, ST_GeomFromWKB($1::bytea, 4326)) OR ST_Intersects(geom, ST_GeomFromWKB($2::bytea, 4326)) OR ST_Intersects(geom, ST_GeomFromWKB($3::bytea, 4326)))", skipArgs: true},
		{filter: "reported_at = TIMESTAMP('2025-03-01T09:30:15.1234567Z')",
			sqlite:  "((strftime('%Y-%m-%dT%H:%M:%f', reported_at) || '000') > ? AND (strftime('%Y-%m-%dT%H:%M:%f', reported_at) || '000') < ?)",
			postgis: "(reported_at > $1::timestamptz AND reported_at < $2::timestamptz)",
			args:    []any{"2025-03-01T09:30:15.123456", "2025-03-01T09:30:15.123457"},
			pgTimes: []any{time.Date(2025, 3, 1, 9, 30, 15, 123456000, time.UTC), time.Date(2025, 3, 1, 9, 30, 15, 123457000, time.UTC)}},
	}
	for _, tc := range tests {
		for _, d := range []Dialect{SQLite, PostGIS} {
			sql, args, err := sqlOf(t, d, tc.filter)
			want, wantArgs := tc.sqlite, tc.args
			if d == PostGIS {
				want = tc.postgis
				if tc.pgTimes != nil {
					wantArgs = tc.pgTimes
				}
			}
			if err != nil || sql != want {
				t.Errorf("%q in dialect %d:\n got %s, %v\nwant %s", tc.filter, d, sql, err, want)
				continue
			}
			if !tc.skipArgs && fmt.Sprint(args) != fmt.Sprint(wantArgs) {
				t.Errorf("%q in dialect %d: args %#v, want %#v", tc.filter, d, args, wantArgs)
			}
			if n := strings.Count(sql, "?") + strings.Count(sql, "$"); n != len(args) {
				t.Errorf("%q in dialect %d: %d placeholders, %d args", tc.filter, d, n, len(args))
			}
		}
	}
}

// TestSQLDates: a timestamp compared with a DATE is compared by its UTC day.
func TestSQLDates(t *testing.T) {
	for _, tc := range []struct{ op, want string }{
		{"=", "(reported_at >= $1::timestamptz AND reported_at < $2::timestamptz)"},
		{"<>", "(reported_at < $1::timestamptz OR reported_at >= $2::timestamptz)"},
		{"<", "(reported_at < $1::timestamptz)"},
		{"<=", "(reported_at < $1::timestamptz)"},
		{">", "(reported_at >= $1::timestamptz)"},
		{">=", "(reported_at >= $1::timestamptz)"},
	} {
		sql, args, err := sqlOf(t, PostGIS, "reported_at "+tc.op+" DATE('2025-03-01')")
		if err != nil || sql != tc.want {
			t.Errorf("%s: %s, %v; want %s", tc.op, sql, err, tc.want)
		}
		day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		want := map[string][]any{"=": {day, day.AddDate(0, 0, 1)}, "<>": {day, day.AddDate(0, 0, 1)}, "<": {day},
			"<=": {day.AddDate(0, 0, 1)}, ">": {day.AddDate(0, 0, 1)}, ">=": {day}}[tc.op]
		if fmt.Sprint(args) != fmt.Sprint(want) {
			t.Errorf("%s: args %v, want %v", tc.op, args, want)
		}
	}
}

// TestSQLErrors: a filter that names what is not a queryable, or compares
// values of the wrong type, is refused with the place and the reason.
func TestSQLErrors(t *testing.T) {
	tests := []struct {
		filter string
		pos    int
		msg    string
	}{
		{"colour = 'red'", 1, `unknown property "colour"; queryables: category, status, severity, reported_at, geometry`},
		{"Category = 'fire'", 1, `unknown property "Category"`},
		{"category = 'fire' AND geom IS NULL", 23, `unknown property "geom"`},
		{"severity = 'high'", 12, "severity is an integer and cannot be compared with a string ('high')"},
		{"category = 3", 12, "category is a string and cannot be compared with a number (3)"},
		{"category = TRUE", 12, "cannot be compared with a boolean"},
		{"reported_at > 5", 15, "reported_at is a timestamp and cannot be compared with a number"},
		{"severity > TIMESTAMP('2025-01-01T00:00:00Z')", 12, "cannot be compared with a timestamp"},
		{"severity IN (1, 'two')", 17, "cannot be compared with a string ('two')"},
		{"severity BETWEEN 1 AND 'z'", 24, "cannot be compared with a string"},
		{"severity LIKE '1%'", 15, "LIKE matches strings and severity is an integer"},
		{"geometry = 'POINT(0 0)'", 1, "geometry is a geometry: test it with S_INTERSECTS or IS NULL"},
		{"category = POINT(0 0)", 12, "cannot be compared with a geometry (POINT(0 0))"},
		{"S_INTERSECTS(category, BBOX(0, 0, 1, 1))", 14, "S_INTERSECTS tests a geometry and category is a string"},
		{"S_INTERSECTS(nowhere, BBOX(0, 0, 1, 1))", 14, `unknown property "nowhere"`},
	}
	for _, tc := range tests {
		for _, d := range []Dialect{SQLite, PostGIS} {
			sql, _, err := sqlOf(t, d, tc.filter)
			var pe *Error
			if !errors.As(err, &pe) || pe.Pos != tc.pos || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("%q in dialect %d: %q, %v; want character %d: …%s…", tc.filter, d, sql, err, tc.pos, tc.msg)
			}
		}
		e, _ := Parse(tc.filter)
		if err := e.Check(hazards); err == nil {
			t.Errorf("Check(%q) passed", tc.filter)
		}
	}
}
