package cql2

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// TestParse reads valid filters and writes them back: String shows what
// Parse understood (flattened, property on the left, keywords in capitals).
func TestParse(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"equal", "category = 'fire'", "category = 'fire'"},
		{"keywords any case", "category = 'fire' and NOT status <> 'open' Or severity >= 2",
			"category = 'fire' AND NOT status <> 'open' OR severity >= 2"},
		{"precedence", "a = 1 OR b = 2 AND c = 3", "a = 1 OR b = 2 AND c = 3"},
		{"parentheses kept where needed", "(a = 1 OR b = 2) AND c = 3", "(a = 1 OR b = 2) AND c = 3"},
		{"parentheses dropped where not", "((a = 1)) AND ((b = 2 AND c = 3))", "a = 1 AND b = 2 AND c = 3"},
		{"flattened or", "a = 1 OR (b = 2 OR c = 3)", "a = 1 OR b = 2 OR c = 3"},
		{"not of and", "NOT (a = 1 AND b = 2)", "NOT (a = 1 AND b = 2)"},
		{"not not", "NOT NOT a = 1", "NOT NOT a = 1"},
		{"all operators", "a=1 AND a<>1 AND a<1 AND a<=1 AND a>1 AND a>=1", "a = 1 AND a <> 1 AND a < 1 AND a <= 1 AND a > 1 AND a >= 1"},
		{"literal on the left", "2 < severity", "severity > 2"},
		{"literal on the left, equal", "'fire' = category", "category = 'fire'"},
		{"escaped quote", "category = 'x'' OR 1=1 --'", "category = 'x'' OR 1=1 --'"},
		{"backslash quote", `name = 'dell\'Avvento'`, "name = 'dell''Avvento'"},
		{"backslash kept", `name LIKE 'a\%b'`, `name LIKE 'a\\%b'`},
		{"backslash backslash", `name = 'a\\b'`, `name = 'a\\b'`},
		{"control escapes", `name = 'a\tb\nc'`, "name = 'a\tb\nc'"},
		{"unicode string", "name = '阿尔法一 ✓'", "name = '阿尔法一 ✓'"},
		{"unicode property", "名称 = 'x'", "名称 = 'x'"},
		{"quoted property", `"level" = 1`, "level = 1"},
		{"quoted keyword property", `"date" = 'x'`, `"date" = 'x'`},
		{"colon and dot in a name", "eo:cloud.cover < 10", "eo:cloud.cover < 10"},
		{"numbers", "a = -1.5 OR a = +2 OR a = .5 OR a = 1e3 OR a = 2.5E-3 OR a = 7.",
			"a = -1.5 OR a = 2 OR a = 0.5 OR a = 1000 OR a = 0.0025 OR a = 7"},
		{"huge integer", "a = 123456789012345678901234567890", "a = 1.2345678901234568e+29"},
		{"int64 exactly", "a = 9223372036854775807", "a = 9223372036854775807"},
		{"boolean", "flag = true AND TRUE", "flag = TRUE AND TRUE"},
		{"boolean alone", "FALSE", "FALSE"},
		{"not true", "NOT true", "NOT TRUE"},
		{"timestamp", "reported_at > TIMESTAMP('2025-03-01T09:30:15.123Z')", "reported_at > TIMESTAMP('2025-03-01T09:30:15.123Z')"},
		{"timestamp lower case", "reported_at > timestamp('2025-03-01t09:30:15z')", "reported_at > TIMESTAMP('2025-03-01T09:30:15Z')"},
		{"date", "reported_at >= DATE('2025-03-01')", "reported_at >= DATE('2025-03-01')"},
		{"like", "category LIKE 'fi%' AND status NOT LIKE '_pen'", "category LIKE 'fi%' AND status NOT LIKE '_pen'"},
		{"between", "severity BETWEEN 1 AND 2 AND status = 'open'", "severity BETWEEN 1 AND 2 AND status = 'open'"},
		{"not between", "severity NOT BETWEEN 1 AND 2", "severity NOT BETWEEN 1 AND 2"},
		{"in", "category IN ('fire','water')", "category IN ('fire', 'water')"},
		{"not in", "severity NOT IN (1, 3)", "severity NOT IN (1, 3)"},
		{"is null", "parent_code IS NULL OR parent_code IS NOT NULL", "parent_code IS NULL OR parent_code IS NOT NULL"},
		{"bbox", "S_INTERSECTS(geometry, BBOX(9.5, 47.1, 9.6, 47.2))", "S_INTERSECTS(geometry, BBOX(9.5, 47.1, 9.6, 47.2))"},
		{"bbox 6", "s_intersects(geometry, bbox(9.5, 47.1, 0, 9.6, 47.2, 100))", "S_INTERSECTS(geometry, BBOX(9.5, 47.1, 9.6, 47.2))"},
		{"literal first", "S_INTERSECTS(POINT(1 2), geometry)", "S_INTERSECTS(geometry, POINT(1 2))"},
		{"point z", "S_INTERSECTS(geometry, POINT Z (1 2 3))", "S_INTERSECTS(geometry, POINT(1 2))"},
		{"polygon", "S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 0), (0.1 0.05, 0.2 0.05, 0.2 0.1, 0.1 0.05)))",
			"S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 0), (0.1 0.05, 0.2 0.05, 0.2 0.1, 0.1 0.05)))"},
		{"linestring", "S_INTERSECTS(geometry, LINESTRING(0 0, 1 1))", "S_INTERSECTS(geometry, LINESTRING(0 0, 1 1))"},
		{"multipoint both forms", "S_INTERSECTS(geometry, MULTIPOINT((0 0), 1 1))", "S_INTERSECTS(geometry, MULTIPOINT((0 0), (1 1)))"},
		{"multilinestring", "S_INTERSECTS(geometry, MULTILINESTRING((0 0, 1 1), (2 2, 3 3)))", "S_INTERSECTS(geometry, MULTILINESTRING((0 0, 1 1), (2 2, 3 3)))"},
		{"multipolygon", "S_INTERSECTS(geometry, MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5))))",
			"S_INTERSECTS(geometry, MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5))))"},
		{"collection", "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 1 1)))",
			"S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 1 1)))"},
		{"whitespace", "\t category\n=\u00a0'fire'\u3000", "category = 'fire'"},
	}
	for _, tc := range tests {
		e, err := Parse(tc.in)
		if err != nil {
			t.Errorf("%s: Parse(%q): %v", tc.name, tc.in, err)
			continue
		}
		if got := e.String(); got != tc.want {
			t.Errorf("%s: Parse(%q) = %s, want %s", tc.name, tc.in, got, tc.want)
			continue
		}
		again, err := Parse(e.String())
		if err != nil || again.String() != tc.want {
			t.Errorf("%s: String does not read back: %q: %v, %v", tc.name, e.String(), again, err)
		}
	}
}

// TestParseErrors: every refusal is an *Error that names the character
// where the filter goes wrong and says what is wrong.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		pos      int
		msg      string
	}{
		{"empty", "", 1, "empty"},
		{"blank", "  ", 1, "empty"},
		{"missing value", "category =", 11, "expected a property or a value, found the end"},
		{"missing operator", "category 'fire'", 10, "expected a comparison"},
		{"unclosed string", "category = 'fire", 12, "not closed"},
		{"unclosed paren", "(category = 'fire'", 19, `expected ")" to close the parenthesis opened at character 1`},
		{"stray paren", "category = 'fire')", 18, "unexpected \")\" after a complete condition"},
		{"two conditions", "a = 1 b = 2", 7, `unexpected "b" after a complete condition (missing AND or OR?)`},
		{"bang equal", "a != 1", 3, "not equal is written <>"},
		{"double equal", "a == 1", 4, "expected a property or a value"},
		{"arithmetic", "a = 1 + 2", 7, "arithmetic is not supported"},
		{"keyword as property", "date = 1", 1, "double quotes"},
		{"and without right", "a = 1 AND", 10, "found the end of the filter"},
		{"not without like", "a NOT = 1", 7, "expected LIKE, BETWEEN or IN after NOT"},
		{"is without null", "a IS 1", 6, "expected NULL after IS"},
		{"between without and", "a BETWEEN 1 OR 2", 13, "expected AND in BETWEEN"},
		{"in without paren", "a IN 1", 6, `expected "(" after IN`},
		{"in unclosed", "a IN (1, 2", 11, `expected "," or ")" in the IN list`},
		{"in property", "a IN (b)", 7, "IN lists values"},
		{"like number", "a LIKE 5", 8, "LIKE needs a pattern"},
		{"two properties", "a = b", 1, "comparing two properties"},
		{"two values", "1 = 2", 1, "two values"},
		{"value is null", "1 IS NULL", 1, "IS NULL needs a property on its left"},
		{"function", "upper(name) = 'X'", 1, `unknown function "upper"`},
		{"casei", "CASEI(name) = 'x'", 1, "CASEI is not supported"},
		{"other spatial", "S_WITHIN(geometry, BBOX(0,0,1,1))", 1, "only S_INTERSECTS"},
		{"temporal", "T_AFTER(reported_at, TIMESTAMP('2025-01-01T00:00:00Z'))", 1, "temporal functions are not"},
		{"interval", "reported_at = INTERVAL('2025-01-01', '..')", 15, "INTERVAL is not supported"},
		{"array", "A_CONTAINS(tags, ('a'))", 1, "array functions"},
		{"bad timestamp", "t > TIMESTAMP('2025-03-01')", 15, "not a UTC timestamp"},
		{"timestamp with offset", "t > TIMESTAMP('2025-03-01T09:00:00+08:00')", 15, "not a UTC timestamp"},
		{"impossible date", "t > DATE('2025-02-30')", 10, "not a date"},
		{"short date", "t > DATE('2025-3-1')", 10, "not a date"},
		{"timestamp unquoted", "t > TIMESTAMP(2025)", 15, "expected a quoted timestamp"},
		{"huge number", "a = 1e999", 5, "too large"},
		{"malformed number", "a = 12abc", 5, "malformed number"},
		{"bbox 3", "S_INTERSECTS(geometry, BBOX(1, 2, 3))", 24, "BBOX needs 4 numbers"},
		{"bbox upside down", "S_INTERSECTS(geometry, BBOX(0, 2, 1, 1))", 24, "south 2 is greater than north 1"},
		{"bbox antimeridian", "S_INTERSECTS(geometry, BBOX(170, 0, -170, 1))", 24, "antimeridian"},
		{"open ring", "S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 1)))", 32, "the last the same as the first"},
		{"short ring", "S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 0 0)))", 32, "at least 4 points"},
		{"one point line", "S_INTERSECTS(geometry, LINESTRING(0 0))", 34, "at least 2 points"},
		{"point one coordinate", "S_INTERSECTS(geometry, POINT(1))", 31, "expected a coordinate"},
		{"two properties intersect", "S_INTERSECTS(geometry, geom)", 1, "two properties"},
		{"two literals intersect", "S_INTERSECTS(POINT(0 0), POINT(0 0))", 1, "geometry property as one"},
		{"string in intersects", "S_INTERSECTS(geometry, 'POINT(0 0)')", 24, "expected the geometry property or a geometry"},
		{"bowtie", "S_INTERSECTS(geometry, POLYGON((1 1, 3 3, 3 1, 1 3, 1 1)))", 31, "invalid polygon: its edges cross"},
		{"spike", "S_INTERSECTS(geometry, POLYGON((0 0, 2 0, 2 2, 4 2, 2 2, 0 2, 0 0)))", 31, "invalid polygon"},
		{"flat ring", "S_INTERSECTS(geometry, POLYGON((1 1, 2 2, 3 3, 1 1)))", 31, "folds back"},
		{"repeated corner only", "S_INTERSECTS(geometry, POLYGON((1 1, 2 2, 2 2, 1 1)))", 31, "3 distinct corners"},
		{"hole touching the shell", "S_INTERSECTS(geometry, POLYGON((0 0, 2 0, 2 2, 0 2, 0 0), (0 0, 1 0, 1 1, 0 0)))", 31, "cross or touch"},
		{"hole outside", "S_INTERSECTS(geometry, POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (20 20, 21 20, 21 21, 20 20)))", 31, "hole 1 is not inside"},
		{"overlapping holes", "S_INTERSECTS(geometry, POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 5 1, 5 5, 1 5, 1 1), (2 2, 6 2, 6 6, 2 6, 2 2)))", 31, "cross or touch"},
		{"nested holes", "S_INTERSECTS(geometry, POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 5 1, 5 5, 1 5, 1 1), (2 2, 3 2, 3 3, 2 2)))", 31, "hole 2 is inside hole 1"},
		{"invalid in a multipolygon", "S_INTERSECTS(geometry, MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((1 1, 3 3, 3 1, 1 3, 1 1))))", 61, "invalid polygon"},
		{"nested collection", "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(GEOMETRYCOLLECTION(POINT(0 0))))", 43, "expected a POINT"},
		{"unicode position", "名称 = 'x' AND ?", 14, `unexpected character '?'`},
		{"control character", "a = 'x\x00y'", 7, "control character"},
		{"invalid utf-8", "a = 'x\xffy'", 7, "not valid UTF-8"},
		{"unclosed quoted name", `"a = 1`, 1, "not closed"},
		{"bad quoted name", `"a b" = 1`, 1, `"a b" is not a property name`},
		{"deep", strings.Repeat("(", MaxDepth+1) + "a = 1" + strings.Repeat(")", MaxDepth+1), MaxDepth + 1, "more than 32 deep"},
		{"deep not", strings.Repeat("NOT ", MaxDepth+1) + "a = 1", 4*MaxDepth + 1, "more than 32 deep"},
		{"many", strings.Repeat("a = 1 AND ", MaxPredicates) + "a = 1", 10*MaxPredicates + 1, "more than 256 conditions"},
		{"many points", "S_INTERSECTS(geometry, MULTIPOINT(" + strings.Repeat("1 2, ", MaxPoints) + "1 2))", 35 + 5*MaxPoints, "more than 2000 points"},
		{"many values", "a IN (" + strings.Repeat("1, ", MaxValues) + "1)", 7 + 3*MaxValues, "more than 1000 values"},
	}
	for _, tc := range tests {
		e, err := Parse(tc.in)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%s: Parse(%q) = %v, %v; want an *Error", tc.name, tc.in, e, err)
			continue
		}
		if pe.Pos != tc.pos || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("%s: Parse(%q):\n got %v\nwant character %d: …%s…", tc.name, tc.in, err, tc.pos, tc.msg)
		}
		if !strings.HasPrefix(err.Error(), "filter, character ") {
			t.Errorf("%s: message %q does not say where", tc.name, err)
		}
	}
}

func TestParseValues(t *testing.T) {
	e, err := Parse("reported_at >= TIMESTAMP('2025-03-01T09:30:15.123456789Z') AND severity IN (2, 2.5, -0) AND S_INTERSECTS(geometry, BBOX(1, 2, 3, 4))")
	if err != nil {
		t.Fatal(err)
	}
	ts := e.Args[0].Values[0]
	if ts.Type != Timestamp || !ts.Time.Equal(time.Date(2025, 3, 1, 9, 30, 15, 123456789, time.UTC)) || ts.Pos != 16 {
		t.Errorf("timestamp = %+v", ts)
	}
	in := e.Args[1].Values
	if !in[0].IsInt || in[0].Int != 2 || in[1].IsInt || in[1].Num != 2.5 || !in[2].IsInt || in[2].Int != 0 {
		t.Errorf("in values = %+v", in)
	}
	if g := e.Args[2].Values[0].Geom; g != (orb.Bound{Min: orb.Point{1, 2}, Max: orb.Point{3, 4}}) {
		t.Errorf("bbox = %v", g)
	}
	if got := e.Properties(); strings.Join(got, ",") != "reported_at,severity,geometry" {
		t.Errorf("Properties = %v", got)
	}
	if e.Args[1].Pos != 64 || e.Args[1].PropPos != 64 {
		t.Errorf("IN at %d (property at %d), want 64", e.Args[1].Pos, e.Args[1].PropPos)
	}
}
