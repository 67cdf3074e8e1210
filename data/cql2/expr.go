package cql2

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Error is a filter that cannot be read, or that does not fit the queryables
// it is checked against. Pos is where the problem is: a 1-based count of
// characters (not bytes) into the filter text.
type Error struct {
	Pos int
	Msg string
}

// Error formats the error as "filter, character N: message".
func (e *Error) Error() string { return fmt.Sprintf("filter, character %d: %s", e.Pos, e.Msg) }

func errorf(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Kind is what a node of a filter does.
type Kind uint8

// The kinds of Expr.
const (
	And         Kind = iota + 1 // all of Args (two or more) hold
	Or                          // any of Args (two or more) holds
	Not                         // Args[0] does not hold
	Bool                        // TRUE or FALSE on its own: Values[0]
	Compare                     // Property Op Values[0]
	Like                        // Property [NOT] LIKE Values[0]
	Between                     // Property [NOT] BETWEEN Values[0] AND Values[1]
	In                          // Property [NOT] IN (Values...)
	IsNull                      // Property IS [NOT] NULL
	SIntersects                 // S_INTERSECTS(Property, Values[0])
)

// Type is the type of a literal or of a queryable.
type Type uint8

// The types of CQL2 values. Date is a literal type only; a queryable is one
// of the others.
const (
	String Type = iota + 1
	Integer
	Number
	Boolean
	Timestamp
	Date
	Geometry
)

// String returns the type's name as a queryables schema writes it.
func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Integer:
		return "integer"
	case Number:
		return "number"
	case Boolean:
		return "boolean"
	case Timestamp:
		return "timestamp"
	case Date:
		return "date"
	case Geometry:
		return "geometry"
	}
	return "unknown"
}

// Expr is a parsed filter, or one node of it. Predicates are kept with the
// property on the left: Parse turns 5 < severity into severity > 5.
type Expr struct {
	Kind Kind
	Pos  int // 1-based character of the node in the filter text

	Args []*Expr // And, Or, Not

	Property string // the queryable a predicate tests
	PropPos  int    // where the property is named
	Op       string // Compare: "=", "<>", "<", "<=", ">" or ">="
	Negated  bool   // NOT LIKE, NOT BETWEEN, NOT IN, IS NOT NULL
	Values   []Value
}

// Value is a literal of a filter.
type Value struct {
	Type  Type
	Pos   int
	Str   string       // String: the text, escapes resolved
	Num   float64      // Number
	Int   int64        // Number, when IsInt
	IsInt bool         // the number is a whole one that fits an int64 exactly
	Bool  bool         // Boolean
	Time  time.Time    // Timestamp (UTC), Date (its midnight, UTC)
	Geom  orb.Geometry // Geometry; a BBOX is an orb.Bound
}

// Properties returns the properties a filter names, each once, in the order
// they first appear.
func (e *Expr) Properties() []string {
	var out []string
	e.walk(func(n *Expr) {
		if n.Property != "" && !contains(out, n.Property) {
			out = append(out, n.Property)
		}
	})
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (e *Expr) walk(fn func(*Expr)) {
	fn(e)
	for _, a := range e.Args {
		a.walk(fn)
	}
}

// String returns the filter as CQL2 text that Parse reads back to the same
// Expr (positions aside): keywords in capitals, one space between tokens.
func (e *Expr) String() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e *Expr) write(b *strings.Builder) {
	switch e.Kind {
	case And, Or:
		sep := " AND "
		if e.Kind == Or {
			sep = " OR "
		}
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(sep)
			}
			// AND binds tighter than OR: an Or inside an And needs
			// parentheses (inside an Or they are harmless).
			paren := a.Kind == Or
			if paren {
				b.WriteByte('(')
			}
			a.write(b)
			if paren {
				b.WriteByte(')')
			}
		}
	case Not:
		b.WriteString("NOT ")
		a := e.Args[0]
		paren := a.Kind == And || a.Kind == Or
		if paren {
			b.WriteByte('(')
		}
		a.write(b)
		if paren {
			b.WriteByte(')')
		}
	case Bool:
		writeValue(b, e.Values[0])
	case Compare:
		writeProperty(b, e.Property)
		b.WriteString(" " + e.Op + " ")
		writeValue(b, e.Values[0])
	case Like:
		writeProperty(b, e.Property)
		b.WriteString(not(e.Negated) + " LIKE ")
		writeValue(b, e.Values[0])
	case Between:
		writeProperty(b, e.Property)
		b.WriteString(not(e.Negated) + " BETWEEN ")
		writeValue(b, e.Values[0])
		b.WriteString(" AND ")
		writeValue(b, e.Values[1])
	case In:
		writeProperty(b, e.Property)
		b.WriteString(not(e.Negated) + " IN (")
		for i, v := range e.Values {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, v)
		}
		b.WriteByte(')')
	case IsNull:
		writeProperty(b, e.Property)
		b.WriteString(" IS")
		b.WriteString(not(e.Negated))
		b.WriteString(" NULL")
	case SIntersects:
		b.WriteString("S_INTERSECTS(")
		writeProperty(b, e.Property)
		b.WriteString(", ")
		writeValue(b, e.Values[0])
		b.WriteByte(')')
	}
}

func not(negated bool) string {
	if negated {
		return " NOT"
	}
	return ""
}

// writeProperty writes a name bare when it reads back as the same property,
// in double quotes when it is a keyword.
func writeProperty(b *strings.Builder, name string) {
	if keywords[strings.ToUpper(name)] {
		b.WriteString(`"` + name + `"`)
		return
	}
	b.WriteString(name)
}

func writeValue(b *strings.Builder, v Value) {
	switch v.Type {
	case String:
		b.WriteByte('\'')
		for _, r := range v.Str {
			switch r {
			case '\'':
				b.WriteString("''")
			case '\\':
				b.WriteString(`\\`)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('\'')
	case Number:
		b.WriteString(formatNumber(v))
	case Boolean:
		if v.Bool {
			b.WriteString("TRUE")
		} else {
			b.WriteString("FALSE")
		}
	case Timestamp:
		b.WriteString("TIMESTAMP('" + v.Time.UTC().Format(time.RFC3339Nano) + "')")
	case Date:
		b.WriteString("DATE('" + v.Time.Format(time.DateOnly) + "')")
	case Geometry:
		writeGeometry(b, v.Geom)
	}
}

func formatNumber(v Value) string {
	if v.IsInt {
		return strconv.FormatInt(v.Int, 10)
	}
	return strconv.FormatFloat(v.Num, 'g', -1, 64)
}

func writeGeometry(b *strings.Builder, g orb.Geometry) {
	switch g := g.(type) {
	case orb.Bound:
		fmt.Fprintf(b, "BBOX(%s, %s, %s, %s)", coord(g.Min[0]), coord(g.Min[1]), coord(g.Max[0]), coord(g.Max[1]))
	case orb.Point:
		b.WriteString("POINT(")
		writePoint(b, g)
		b.WriteByte(')')
	case orb.LineString:
		b.WriteString("LINESTRING")
		writePoints(b, g)
	case orb.Polygon:
		b.WriteString("POLYGON")
		writeRings(b, g)
	case orb.MultiPoint:
		b.WriteString("MULTIPOINT(")
		for i, p := range g {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			writePoint(b, p)
			b.WriteByte(')')
		}
		b.WriteByte(')')
	case orb.MultiLineString:
		b.WriteString("MULTILINESTRING(")
		for i, l := range g {
			if i > 0 {
				b.WriteString(", ")
			}
			writePoints(b, l)
		}
		b.WriteByte(')')
	case orb.MultiPolygon:
		b.WriteString("MULTIPOLYGON(")
		for i, p := range g {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRings(b, p)
		}
		b.WriteByte(')')
	case orb.Collection:
		b.WriteString("GEOMETRYCOLLECTION(")
		for i, m := range g {
			if i > 0 {
				b.WriteString(", ")
			}
			writeGeometry(b, m)
		}
		b.WriteByte(')')
	}
}

func coord(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func writePoint(b *strings.Builder, p orb.Point) {
	b.WriteString(coord(p[0]) + " " + coord(p[1]))
}

func writePoints(b *strings.Builder, ps []orb.Point) {
	b.WriteByte('(')
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		writePoint(b, p)
	}
	b.WriteByte(')')
}

func writeRings(b *strings.Builder, p orb.Polygon) {
	b.WriteByte('(')
	for i, r := range p {
		if i > 0 {
			b.WriteString(", ")
		}
		writePoints(b, r)
	}
	b.WriteByte(')')
}
