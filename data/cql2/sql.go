package cql2

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// Queryable is a property a filter may name, and how the store reads it.
type Queryable struct {
	Name string // as filters spell it (case matters)
	Type Type   // String, Integer, Number, Boolean, Timestamp or Geometry
	// Column is the SQL that reads the property: a column name of the
	// store's own, never text from a request.
	Column string
	// RTree and FID, for a Geometry in the SQLite dialect: the GeoPackage
	// R-tree of the column (rtree_<table>_<column>) and the row's id column
	// its ids match (<table>.fid). Both empty: no R-tree narrowing.
	RTree, FID string
}

// Dialect is the SQL a store speaks.
type Dialect uint8

const (
	// SQLite is data/gpkg's: the GeoPackage R-tree narrows spatial tests,
	// which the Go functions wg_intersects(geom, minx, miny, maxx, maxy) and
	// wg_intersects_wkb(geom, wkb) make exact; timestamps are ISO 8601 text.
	SQLite Dialect = iota + 1
	// PostGIS is data/postgis's: ST_Intersects, timestamptz.
	PostGIS
)

// names lists the names of queryables, for messages.
func names(qs []Queryable) string {
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.Name
	}
	return strings.Join(names, ", ")
}

// Check holds the filter against the queryables: every property is one of
// them, and every value has a type the property can be compared with. An
// error is an *Error naming where the filter goes wrong.
func (e *Expr) Check(qs []Queryable) error {
	_, err := e.SQL(SQLite, qs, func(any) string { return "?" })
	return err
}

// SQL checks the filter against the queryables (see Check) and returns it
// as one SQL condition of the dialect. Every literal goes through arg, which
// binds it and returns its placeholder ("?", "$3"); arg is called in the
// order the placeholders appear. Values arg is given: string, int64,
// float64, bool, []byte (WKB), and time.Time for PostGIS. The condition
// follows CQL2's three-valued logic as SQL does: a comparison with a NULL
// property is unknown, and so excludes the row.
func (e *Expr) SQL(d Dialect, qs []Queryable, arg func(v any) string) (string, error) {
	if d != SQLite && d != PostGIS {
		return "", errorf(e.Pos, "unknown SQL dialect %d", d)
	}
	w := &sqlWriter{d: d, qs: qs, arg: arg}
	if err := w.expr(e); err != nil {
		return "", err
	}
	return w.b.String(), nil
}

type sqlWriter struct {
	d   Dialect
	qs  []Queryable
	arg func(any) string
	b   strings.Builder
}

func (w *sqlWriter) queryable(e *Expr) (Queryable, error) {
	for _, q := range w.qs {
		if q.Name == e.Property {
			return q, nil
		}
	}
	return Queryable{}, errorf(e.PropPos, "unknown property %q; queryables: %s", e.Property, names(w.qs))
}

// arity is how many Args and Values each kind of node has; -1 is one or
// more, -2 two or more.
var arity = map[Kind][2]int{And: {-2, 0}, Or: {-2, 0}, Not: {1, 0}, Bool: {0, 1}, Compare: {0, 1},
	Like: {0, 1}, Between: {0, 2}, In: {0, -1}, IsNull: {0, 0}, SIntersects: {0, 1}}

// wellFormed reports whether a node has the operands its kind needs, as
// Parse makes them; an Expr built by hand may not.
func wellFormed(e *Expr) bool {
	a, ok := arity[e.Kind]
	if !ok {
		return false
	}
	fits := func(want, n int) bool { return want == n || (want == -1 && n >= 1) || (want == -2 && n >= 2) }
	return fits(a[0], len(e.Args)) && fits(a[1], len(e.Values)) && !slices.Contains(e.Args, nil) &&
		(e.Kind != Compare || flipped[e.Op] != "")
}

func (w *sqlWriter) expr(e *Expr) error {
	if e == nil || !wellFormed(e) {
		pos := 1
		if e != nil {
			pos = e.Pos
		}
		return errorf(pos, "malformed condition")
	}
	switch e.Kind {
	case And, Or:
		sep := " AND "
		if e.Kind == Or {
			sep = " OR "
		}
		w.b.WriteByte('(')
		for i, a := range e.Args {
			if i > 0 {
				w.b.WriteString(sep)
			}
			if err := w.expr(a); err != nil {
				return err
			}
		}
		w.b.WriteByte(')')
		return nil
	case Not:
		w.b.WriteString("(NOT ")
		if err := w.expr(e.Args[0]); err != nil {
			return err
		}
		w.b.WriteByte(')')
		return nil
	case Bool:
		if e.Values[0].Bool {
			w.b.WriteString("(1 = 1)")
		} else {
			w.b.WriteString("(1 = 0)")
		}
		return nil
	}
	q, err := w.queryable(e)
	if err != nil {
		return err
	}
	switch e.Kind {
	case IsNull:
		w.b.WriteString("(" + q.Column + " IS" + not(e.Negated) + " NULL)")
		return nil
	case SIntersects:
		return w.intersects(e, q)
	}
	if q.Type == Geometry {
		return errorf(e.Pos, "%s is a geometry: test it with S_INTERSECTS or IS NULL", q.Name)
	}
	for _, v := range e.Values {
		if err := compatible(q, v, e.Kind); err != nil {
			return err
		}
	}
	switch e.Kind {
	case Compare:
		w.compare(q, e.Op, e.Values[0])
	case Between:
		w.negate(e.Negated, func() {
			w.b.WriteByte('(')
			w.compare(q, ">=", e.Values[0])
			w.b.WriteString(" AND ")
			w.compare(q, "<=", e.Values[1])
			w.b.WriteByte(')')
		})
	case In:
		w.negate(e.Negated, func() { w.in(q, e) })
	case Like:
		w.negate(e.Negated, func() { w.like(q, e) })
	}
	return nil
}

// negate writes body, inside NOT (…) for NOT LIKE, NOT BETWEEN, NOT IN.
func (w *sqlWriter) negate(negated bool, body func()) {
	if negated {
		w.b.WriteString("(NOT ")
	}
	body()
	if negated {
		w.b.WriteByte(')')
	}
}

// compatible checks that a value can be compared with a property.
func compatible(q Queryable, v Value, k Kind) error {
	if k == Like && q.Type != String {
		return errorf(v.Pos, "LIKE matches strings and %s is %s %s", q.Name, article(q.Type), q.Type)
	}
	ok := false
	switch q.Type {
	case String:
		ok = v.Type == String
	case Integer, Number:
		ok = v.Type == Number
	case Boolean:
		ok = v.Type == Boolean
	case Timestamp:
		ok = v.Type == Timestamp || v.Type == Date
	}
	if !ok {
		return errorf(v.Pos, "%s is %s %s and cannot be compared with %s", q.Name, article(q.Type), q.Type, describeValue(v))
	}
	if k == Between && q.Type == Boolean {
		return errorf(v.Pos, "BETWEEN orders values and %s is a boolean", q.Name)
	}
	return nil
}

func article(t Type) string {
	if t == Integer {
		return "an"
	}
	return "a"
}

func describeValue(v Value) string {
	var b strings.Builder
	writeValue(&b, v)
	s := []rune(b.String())
	if len(s) > 40 {
		s = append(s[:40], '…')
	}
	return fmt.Sprintf("%s %s", article(v.Type), v.Type) + " (" + string(s) + ")"
}

// column returns the SQL of a property to compare with op. Strings order by
// code point in both dialects: SQLite's BINARY collation, PostgreSQL's "C"
// rather than the database's locale.
func (w *sqlWriter) column(q Queryable, op string) string {
	switch {
	case q.Type == Timestamp && w.d == SQLite:
		// Stored as ISO 8601 text ("2025-03-01T09:30:15.123Z", or as GDAL
		// writes it): normalised to UTC with milliseconds, padded to the
		// microseconds the literal is written with, so that text order is
		// time order whatever the writer's precision or zone.
		return "(strftime('%Y-%m-%dT%H:%M:%f', " + q.Column + ") || '000')"
	case q.Type == String && w.d == PostGIS && op != "=" && op != "<>":
		return q.Column + ` COLLATE "C"`
	}
	return q.Column
}

// value binds a literal and returns its placeholder.
func (w *sqlWriter) value(v Value) string {
	switch v.Type {
	case Number:
		if v.IsInt {
			return w.cast(v.Int, "bigint")
		}
		return w.cast(v.Num, "double precision")
	case Boolean:
		return w.cast(v.Bool, "boolean")
	case Timestamp:
		// Microseconds, what PostgreSQL keeps: compare writes finer
		// literals as spans.
		t := v.Time.UTC()
		if w.d == SQLite {
			return w.arg(t.Format("2006-01-02T15:04:05.000000"))
		}
		return w.cast(t, "timestamptz")
	}
	return w.cast(v.Str, "text")
}

// cast binds v; PostgreSQL is told its type, as the column's would
// otherwise be assumed (severity is a smallint: 100000 would not fit).
func (w *sqlWriter) cast(v any, pgType string) string {
	if w.d == PostGIS {
		return w.arg(v) + "::" + pgType
	}
	return w.arg(v)
}

// compare writes column op value. Two kinds of value stand for a span of
// the column's instants rather than one: a DATE, compared with a timestamp
// by its UTC day (= holds from midnight to midnight), and a timestamp finer
// than the microsecond both dialects keep, which lies strictly between two
// of them. Their comparisons are written with the span's ends, exactly.
func (w *sqlWriter) compare(q Queryable, op string, v Value) {
	lo, hi, ok := span(v)
	if !ok {
		w.b.WriteString("(" + w.column(q, op) + " " + op + " " + w.value(v) + ")")
		return
	}
	col := w.column(q, op)
	at := func(op string, t time.Time) string {
		return col + " " + op + " " + w.value(Value{Type: Timestamp, Time: t})
	}
	var sql string
	if v.Type == Date { // the day [lo, hi)
		switch op {
		case "=":
			sql = at(">=", lo) + " AND " + at("<", hi)
		case "<>":
			sql = at("<", lo) + " OR " + at(">=", hi)
		case "<":
			sql = at("<", lo)
		case "<=":
			sql = at("<", hi)
		case ">":
			sql = at(">=", hi)
		case ">=":
			sql = at(">=", lo)
		}
	} else { // strictly between lo and hi, where no stored instant is
		switch op {
		case "=":
			sql = at(">", lo) + " AND " + at("<", hi)
		case "<>":
			sql = at("<=", lo) + " OR " + at(">=", hi)
		case "<":
			sql = at("<", hi)
		case "<=":
			sql = at("<=", lo)
		case ">":
			sql = at(">", lo)
		case ">=":
			sql = at(">=", hi)
		}
	}
	w.b.WriteString("(" + sql + ")")
}

// span returns the instants a DATE, or a timestamp finer than the
// microsecond, falls between.
func span(v Value) (lo, hi time.Time, ok bool) {
	switch {
	case v.Type == Date:
		return v.Time, v.Time.AddDate(0, 0, 1), true
	case v.Type == Timestamp && !v.Time.Truncate(time.Microsecond).Equal(v.Time):
		lo = v.Time.Truncate(time.Microsecond)
		return lo, lo.Add(time.Microsecond), true
	}
	return time.Time{}, time.Time{}, false
}

// in writes column IN (values), or, when a DATE or a timestamp finer than
// a microsecond is among them, the equivalent OR of comparisons.
func (w *sqlWriter) in(q Queryable, e *Expr) {
	w.b.WriteByte('(')
	spans := false
	for _, v := range e.Values {
		_, _, ok := span(v)
		spans = spans || ok
	}
	if spans {
		for i, v := range e.Values {
			if i > 0 {
				w.b.WriteString(" OR ")
			}
			w.compare(q, "=", v)
		}
	} else {
		w.b.WriteString(w.column(q, "=") + " IN (")
		for i, v := range e.Values {
			if i > 0 {
				w.b.WriteString(", ")
			}
			w.b.WriteString(w.value(v))
		}
		w.b.WriteByte(')')
	}
	w.b.WriteByte(')')
}

// like writes the pattern match: CQL2's % and _ wildcards with \ escaping,
// case-sensitive. SQLite's LIKE ignores case, so SQLite gets the pattern
// as a GLOB; PostgreSQL's LIKE already escapes with \.
func (w *sqlWriter) like(q Queryable, e *Expr) {
	var pat strings.Builder
	rs := []rune(e.Values[0].Str)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		wild := r == '%' || r == '_'
		if r == '\\' && i+1 < len(rs) {
			i++
			r = rs[i]
		}
		switch {
		case wild && w.d == SQLite && r == '%':
			pat.WriteByte('*')
		case wild && w.d == SQLite:
			pat.WriteByte('?')
		case wild:
			pat.WriteRune(r)
		case w.d == SQLite && (r == '*' || r == '?' || r == '['):
			pat.WriteString("[" + string(r) + "]")
		case w.d == PostGIS && (r == '%' || r == '_' || r == '\\'):
			pat.WriteString(`\` + string(r))
		default:
			pat.WriteRune(r)
		}
	}
	op := " LIKE "
	if w.d == SQLite {
		op = " GLOB "
	}
	w.b.WriteString("(" + q.Column + op + w.cast(pat.String(), "text") + ")")
}

// intersects writes S_INTERSECTS of the geometry column with a literal.
func (w *sqlWriter) intersects(e *Expr, q Queryable) error {
	v := e.Values[0]
	if q.Type != Geometry {
		return errorf(e.PropPos, "S_INTERSECTS tests a geometry and %s is %s %s", q.Name, article(q.Type), q.Type)
	}
	if v.Type != Geometry || v.Geom == nil {
		return errorf(v.Pos, "S_INTERSECTS needs a geometry, found %s", describeValue(v))
	}
	g := v.Geom
	if w.d == PostGIS {
		if b, ok := g.(orb.Bound); ok {
			// A box2d cast to geometry stays valid when the box is a line
			// or a point, as data/postgis does for the bbox parameter.
			w.b.WriteString(fmt.Sprintf("ST_Intersects(%s, ST_SetSRID(ST_MakeBox2D(ST_MakePoint(%s, %s), ST_MakePoint(%s, %s))::geometry, 4326))",
				q.Column, w.cast(b.Min[0], "double precision"), w.cast(b.Min[1], "double precision"),
				w.cast(b.Max[0], "double precision"), w.cast(b.Max[1], "double precision")))
			return nil
		}
		// One ST_Intersects per polygon: GEOS fails on a collection or a
		// multipolygon whose polygons overlap (each is valid alone, see
		// invalidPolygon), and the union of the tests is what
		// S_INTERSECTS means.
		pieces := split(g, nil)
		w.b.WriteByte('(')
		for i, p := range pieces {
			if i > 0 {
				w.b.WriteString(" OR ")
			}
			w.b.WriteString(fmt.Sprintf("ST_Intersects(%s, ST_GeomFromWKB(%s, 4326))", q.Column, w.cast(wkb.MustMarshal(p), "bytea")))
		}
		w.b.WriteByte(')')
		return nil
	}
	// SQLite: the R-tree narrows to rows whose envelope meets the literal's
	// (its float32 boxes are rounded outwards, so none is missed), a Go
	// function decides exactly.
	b := g.Bound()
	w.b.WriteByte('(')
	if q.RTree != "" && q.FID != "" {
		w.b.WriteString(fmt.Sprintf("%s IN (SELECT id FROM %s WHERE minx <= %s AND maxx >= %s AND miny <= %s AND maxy >= %s) AND ",
			q.FID, q.RTree, w.arg(b.Max[0]), w.arg(b.Min[0]), w.arg(b.Max[1]), w.arg(b.Min[1])))
	}
	if _, ok := g.(orb.Bound); ok {
		w.b.WriteString(fmt.Sprintf("wg_intersects(%s, %s, %s, %s, %s)", q.Column, w.arg(b.Min[0]), w.arg(b.Min[1]), w.arg(b.Max[0]), w.arg(b.Max[1])))
	} else {
		w.b.WriteString(fmt.Sprintf("wg_intersects_wkb(%s, %s)", q.Column, w.arg(wkb.MustMarshal(g))))
	}
	w.b.WriteByte(')')
	return nil
}

// split returns the polygons of g one by one, and the rest of it whole.
func split(g orb.Geometry, out []orb.Geometry) []orb.Geometry {
	switch g := g.(type) {
	case orb.MultiPolygon:
		for _, p := range g {
			out = append(out, p)
		}
		return out
	case orb.Collection:
		for _, m := range g {
			out = split(m, out)
		}
		return out
	}
	return append(out, g)
}
