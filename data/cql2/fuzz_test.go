package cql2

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: whatever the text, Parse does not panic; a refusal is an
// *Error pointing into the text; an accepted filter writes back to text that
// reads as the same filter, and turns into SQL in both dialects (or a typed
// refusal) in which no text of the filter appears: every literal is an
// argument, and the placeholders match the arguments. `make fuzz` runs it;
// `go test` runs the seeds.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"category = 'fire'",
		"category = 'x'' OR 1=1 --'",
		`category = 'x\' OR 1=1 --'`,
		`name = '\\'' OR ''='`,
		"category = 'a'';DROP TABLE hazards;--'",
		`"category" = 'fire' AND "date" = 'x'`,
		"((((((a = 1))))))",
		"NOT (a = 1 OR NOT (b <> 'x' AND c IS NOT NULL))",
		"名称 = '阿尔法一' OR 'ǅ' = ǅ",
		"a = 'emoji 🔥 and \u0085 and \u2028'",
		"a = 123456789012345678901234567890 OR a = -9223372036854775808 OR a = 1e308 OR a = 1e-400",
		"a = .5e+3 OR a = -0 OR a = +.1",
		"severity BETWEEN 1 AND 3 AND category IN ('fire', 'water') AND status NOT LIKE 'o%\\_'",
		"reported_at > TIMESTAMP('2025-03-01T09:30:15.123456789Z') AND reported_at <= DATE('2025-03-02')",
		"S_INTERSECTS(geometry, BBOX(-180, -90, 180, 90))",
		"S_INTERSECTS(POLYGON((0 0, 1 0, 1 1, 0 0), (0.2 0.1, 0.3 0.1, 0.3 0.2, 0.2 0.1)), geometry)",
		"S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT Z(1 2 3), MULTIPOINT(1 2, (3 4)), MULTILINESTRING((0 0, 1 1))))",
		"S_INTERSECTS(geometry, MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0))))",
		"TRUE AND NOT FALSE",
		"a IN ()",
		"a = 'unterminated",
		"a = \x00",
		"a = '\xff'",
		"(((",
		")))",
		"S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1)))",
		"a = 1 AND",
		"'x' LIKE a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		e, err := Parse(text)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Msg == "" || pe.Pos < 1 || pe.Pos > utf8.RuneCountInString(text)+1 {
				t.Fatalf("Parse(%q) = %v: want an *Error with a position in the text", text, err)
			}
			return
		}
		s := e.String()
		again, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) reads, but its String %q does not: %v", text, s, err)
		}
		if again.String() != s {
			t.Fatalf("Parse(%q): String %q reads back as %q", text, s, again.String())
		}
		qs := fuzzQueryables(e)
		for _, d := range []Dialect{SQLite, PostGIS} {
			var args []any
			sql, err := e.SQL(d, qs, func(v any) string {
				args = append(args, v)
				if d == PostGIS {
					return "$" + strconv.Itoa(len(args))
				}
				return "?"
			})
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Pos < 1 {
					t.Fatalf("SQL of %q: %v, want an *Error", text, err)
				}
				continue
			}
			checkSQL(t, text, d, sql, len(args))
		}
	})
}

// fuzzQueryables makes every property of a filter a queryable, of the type
// of the first value it is tested with, so that most filters turn into SQL.
// The columns are named c0, c1…: no name from the filter reaches the SQL.
func fuzzQueryables(e *Expr) []Queryable {
	var qs []Queryable
	e.walk(func(n *Expr) {
		if n.Property == "" {
			return
		}
		for _, q := range qs {
			if q.Name == n.Property {
				return
			}
		}
		typ := String
		if len(n.Values) > 0 {
			switch typ = n.Values[0].Type; typ {
			case Date:
				typ = Timestamp
			}
		}
		col := "c" + strconv.Itoa(len(qs))
		q := Queryable{Name: n.Property, Type: typ, Column: col}
		if typ == Geometry {
			q.RTree, q.FID = "rtree_t_"+col, "t.fid"
		}
		qs = append(qs, q)
	})
	return qs
}

// checkSQL checks that SQL holds nothing of the filter's text: quotes only
// in the dialect's own constants, and one placeholder per argument.
func checkSQL(t *testing.T, text string, d Dialect, sql string, nargs int) {
	t.Helper()
	rest := sql
	for _, own := range []string{`'%Y-%m-%dT%H:%M:%f'`, `'000'`, `COLLATE "C"`} {
		rest = strings.ReplaceAll(rest, own, "")
	}
	if strings.ContainsAny(rest, `'";`) || strings.Contains(rest, "--") || strings.Contains(rest, "/*") {
		t.Fatalf("SQL of %q in dialect %d holds filter text: %s", text, d, sql)
	}
	for _, r := range rest {
		if r > 0x7e || (r < 0x20 && r != ' ') {
			t.Fatalf("SQL of %q in dialect %d holds %q: %s", text, d, r, sql)
		}
	}
	if d == SQLite {
		if n := strings.Count(sql, "?"); n != nargs {
			t.Fatalf("SQL of %q: %d placeholders for %d arguments: %s", text, n, nargs, sql)
		}
		return
	}
	for i := 1; i <= nargs; i++ {
		if !strings.Contains(sql, "$"+strconv.Itoa(i)+"::") {
			t.Fatalf("SQL of %q: no $%d for %d arguments: %s", text, i, nargs, sql)
		}
	}
	if strings.Contains(sql, "$"+strconv.Itoa(nargs+1)) || (nargs == 0 && strings.Contains(sql, "$")) {
		t.Fatalf("SQL of %q: a placeholder beyond the %d arguments: %s", text, nargs, sql)
	}
}
