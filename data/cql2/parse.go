package cql2

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parse reads a filter in CQL2 text. Keywords are matched without regard to
// case, property names with it. An error is an *Error naming the character
// where reading stopped. Parse does not know the queryables: Expr.Check and
// Expr.SQL hold a filter against them.
func Parse(text string) (*Expr, error) {
	if len(text) > MaxLength {
		return nil, errorf(1, "the filter is longer than %d bytes", MaxLength)
	}
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, errorf(1, "the filter is empty")
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, errorf(t.pos, "unexpected %s after a complete condition (missing AND or OR?)", describe(t))
	}
	return e, nil
}

type parser struct {
	toks    []token
	i       int
	depth   int // parentheses and NOTs open
	preds   int
	values  int
	npoints int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// is reports whether t is the keyword word (in capitals).
func is(t token, word string) bool { return t.kind == tIdent && strings.EqualFold(t.text, word) }

func isPunct(t token, sym string) bool { return t.kind == tPunct && t.text == sym }

func (p *parser) expect(sym, what string) error {
	t := p.next()
	if !isPunct(t, sym) {
		return errorf(t.pos, "expected %q %s, found %s", sym, what, describe(t))
	}
	return nil
}

// describe names a token for an error message.
func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "the end of the filter"
	case tString:
		s := t.text
		if r := []rune(s); len(r) > 20 {
			s = string(r[:20]) + "…"
		}
		return "the string '" + s + "'"
	case tQuoted:
		return `"` + t.text + `"`
	case tNumber:
		return "the number " + t.text
	case tIdent:
		if keywords[strings.ToUpper(t.text)] {
			return strings.ToUpper(t.text)
		}
		return strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxDepth {
		return errorf(pos, "the filter nests parentheses and NOTs more than %d deep", MaxDepth)
	}
	return nil
}

func (p *parser) predicate(pos int) error {
	p.preds++
	if p.preds > MaxPredicates {
		return errorf(pos, "the filter has more than %d conditions", MaxPredicates)
	}
	return nil
}

func (p *parser) value(pos int) error {
	p.values++
	if p.values > MaxValues {
		return errorf(pos, "the filter has more than %d values", MaxValues)
	}
	return nil
}

// or reads booleanExpression: booleanTerm {OR booleanTerm}.
func (p *parser) or() (*Expr, error) {
	return p.chain(Or, "OR", p.and)
}

// and reads booleanTerm: booleanFactor {AND booleanFactor}.
func (p *parser) and() (*Expr, error) {
	return p.chain(And, "AND", p.not)
}

// chain reads operands joined by a keyword into one flat node: a OR (b OR c)
// is the same Or of three as a OR b OR c.
func (p *parser) chain(kind Kind, word string, operand func() (*Expr, error)) (*Expr, error) {
	first, err := operand()
	if err != nil {
		return nil, err
	}
	if !is(p.peek(), word) {
		return first, nil
	}
	e := &Expr{Kind: kind, Pos: first.Pos}
	add := func(a *Expr) {
		if a.Kind == kind {
			e.Args = append(e.Args, a.Args...)
		} else {
			e.Args = append(e.Args, a)
		}
	}
	add(first)
	for is(p.peek(), word) {
		p.next()
		a, err := operand()
		if err != nil {
			return nil, err
		}
		add(a)
	}
	return e, nil
}

// not reads booleanFactor: [NOT] booleanPrimary.
func (p *parser) not() (*Expr, error) {
	t := p.peek()
	if !is(t, "NOT") {
		return p.primary()
	}
	p.next()
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	a, err := p.not()
	if err != nil {
		return nil, err
	}
	p.depth--
	return &Expr{Kind: Not, Pos: t.pos, Args: []*Expr{a}}, nil
}

// primary reads booleanPrimary: a parenthesised expression, a predicate or
// TRUE or FALSE on its own.
func (p *parser) primary() (*Expr, error) {
	t := p.peek()
	switch {
	case isPunct(t, "("):
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")", "to close the parenthesis opened at character "+strconv.Itoa(t.pos)); err != nil {
			return nil, err
		}
		p.depth--
		return e, nil
	case is(t, "S_INTERSECTS"):
		return p.intersects()
	case t.kind == tIdent && isPunct(p.peekAt(1), "("):
		if err := unsupportedFunction(t); err != nil {
			return nil, err
		}
	case (is(t, "TRUE") || is(t, "FALSE")) && !startsPredicate(p.peekAt(1)):
		p.next()
		if err := p.predicate(t.pos); err != nil {
			return nil, err
		}
		return &Expr{Kind: Bool, Pos: t.pos, Values: []Value{{Type: Boolean, Pos: t.pos, Bool: is(t, "TRUE")}}}, nil
	}
	return p.comparison()
}

// startsPredicate reports whether t, after a value, makes it the left side
// of a predicate.
func startsPredicate(t token) bool {
	if t.kind == tPunct {
		return t.text != "(" && t.text != ")" && t.text != ","
	}
	return is(t, "NOT") || is(t, "LIKE") || is(t, "BETWEEN") || is(t, "IN") || is(t, "IS")
}

// unsupportedFunction refuses a name followed by "(" where a predicate
// begins, saying what it is; it returns nil for the literal constructors,
// which the comparison reads.
func unsupportedFunction(t token) error {
	up := strings.ToUpper(t.text)
	switch {
	case up == "TIMESTAMP" || up == "DATE" || geometryWords[up]:
		return nil
	case strings.HasPrefix(up, "S_") && keywords[up]:
		return errorf(t.pos, "%s is not supported: of the spatial functions only S_INTERSECTS is", up)
	case strings.HasPrefix(up, "T_") && keywords[up]:
		return errorf(t.pos, "%s is not supported: temporal functions are not; compare instants with <, >, = …", up)
	case strings.HasPrefix(up, "A_") && keywords[up]:
		return errorf(t.pos, "%s is not supported: array functions are not", up)
	case up == "CASEI" || up == "ACCENTI":
		return errorf(t.pos, "%s is not supported: comparisons are case- and accent-sensitive", up)
	case keywords[up]:
		return errorf(t.pos, "unexpected %s", up)
	}
	return errorf(t.pos, "unknown function %q: functions are not supported", t.text)
}

// operand is one side of a predicate: a property or a literal.
type operand struct {
	prop string
	pos  int
	val  *Value
}

// operand reads a property name or a literal.
func (p *parser) operand() (operand, error) {
	t := p.peek()
	switch t.kind {
	case tQuoted:
		p.next()
		return operand{prop: t.text, pos: t.pos}, nil
	case tString:
		p.next()
		return p.literal(Value{Type: String, Pos: t.pos, Str: t.text})
	case tNumber:
		p.next()
		v, err := number(t)
		if err != nil {
			return operand{}, err
		}
		return p.literal(v)
	case tIdent:
		up := strings.ToUpper(t.text)
		switch {
		case up == "TRUE" || up == "FALSE":
			p.next()
			return p.literal(Value{Type: Boolean, Pos: t.pos, Bool: up == "TRUE"})
		case (up == "TIMESTAMP" || up == "DATE") && isPunct(p.peekAt(1), "("):
			v, err := p.instant()
			if err != nil {
				return operand{}, err
			}
			return p.literal(v)
		case geometryWords[up] && (isPunct(p.peekAt(1), "(") || is(p.peekAt(1), "Z")):
			g, err := p.geometry()
			if err != nil {
				return operand{}, err
			}
			return p.literal(Value{Type: Geometry, Pos: t.pos, Geom: g})
		case isPunct(p.peekAt(1), "("):
			if up == "INTERVAL" {
				return operand{}, errorf(t.pos, "INTERVAL is not supported: temporal functions are not; compare instants with <, >, = …")
			}
			return operand{}, unsupportedFunction(t)
		case keywords[up]:
			return operand{}, errorf(t.pos, "expected a property or a value, found %s (a property spelled like a keyword is written in double quotes)", up)
		}
		p.next()
		return operand{prop: t.text, pos: t.pos}, nil
	}
	return operand{}, errorf(t.pos, "expected a property or a value, found %s", describe(t))
}

func (p *parser) literal(v Value) (operand, error) {
	if err := p.value(v.Pos); err != nil {
		return operand{}, err
	}
	return operand{pos: v.Pos, val: &v}, nil
}

// number reads a numeric literal: whole numbers that fit an int64 keep
// their exact value besides the float64.
func number(t token) (Value, error) {
	f, err := strconv.ParseFloat(t.text, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) && f != 0 {
			return Value{}, errorf(t.pos, "the number %s is too large", t.text)
		}
		if !errors.Is(err, strconv.ErrRange) {
			return Value{}, errorf(t.pos, "malformed number %s", t.text)
		}
		// Underflow: a tiny number reads as 0.
	}
	v := Value{Type: Number, Pos: t.pos, Num: f}
	if n, err := strconv.ParseInt(strings.TrimPrefix(t.text, "+"), 10, 64); err == nil {
		v.Int, v.IsInt = n, true
	} else if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		v.Int, v.IsInt = int64(f), true
	}
	if v.IsInt && v.Int == 0 {
		v.Num = 0 // no negative zero
	}
	return v, nil
}

// instant reads TIMESTAMP('…') or DATE('…').
func (p *parser) instant() (Value, error) {
	kw := p.next()
	up := strings.ToUpper(kw.text)
	if err := p.expect("(", "after "+up); err != nil {
		return Value{}, err
	}
	s := p.next()
	if s.kind != tString {
		return Value{}, errorf(s.pos, "expected a quoted %s in %s(…), found %s", strings.ToLower(up), up, describe(s))
	}
	if err := p.expect(")", "to close "+up+"("); err != nil {
		return Value{}, err
	}
	if up == "DATE" {
		d, err := time.Parse(time.DateOnly, s.text)
		if err != nil || !fullDate(s.text) {
			return Value{}, errorf(s.pos, "DATE('%s') is not a date: write DATE('2025-03-01')", s.text)
		}
		return Value{Type: Date, Pos: kw.pos, Time: d}, nil
	}
	text := strings.ToUpper(s.text) // the grammar's T and Z are case-insensitive
	ts, err := time.Parse(time.RFC3339Nano, text)
	if err != nil || len(text) < 20 || !fullDate(text[:10]) || text[10] != 'T' || !strings.HasSuffix(text, "Z") {
		return Value{}, errorf(s.pos, "TIMESTAMP('%s') is not a UTC timestamp: write TIMESTAMP('2025-03-01T09:30:00Z'), with an optional fraction of a second", s.text)
	}
	return Value{Type: Timestamp, Pos: kw.pos, Time: ts.UTC()}, nil
}

// fullDate checks the shape YYYY-MM-DD, which time.Parse is lenient about.
func fullDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i, c := range []byte(s) {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// comparison reads a predicate that starts with a value: a binary
// comparison, LIKE, BETWEEN, IN or IS NULL. The property ends up on the left.
func (p *parser) comparison() (*Expr, error) {
	start := p.peek()
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	if err := p.predicate(start.pos); err != nil {
		return nil, err
	}
	t := p.next()
	negated := false
	if is(t, "NOT") {
		negated = true
		t = p.next()
		if !is(t, "LIKE") && !is(t, "BETWEEN") && !is(t, "IN") {
			return nil, errorf(t.pos, "expected LIKE, BETWEEN or IN after NOT, found %s", describe(t))
		}
	}
	e := &Expr{Pos: start.pos, Negated: negated, Property: left.prop, PropPos: left.pos}
	switch {
	case t.kind == tPunct && flipped[t.text] != "":
		right, err := p.operand()
		if err != nil {
			return nil, err
		}
		e.Kind, e.Op = Compare, t.text
		switch {
		case left.val == nil && right.val == nil:
			return nil, errorf(start.pos, "comparing two properties (%s, %s) is not supported: compare a property with a value", left.prop, right.prop)
		case left.val != nil && right.val != nil:
			return nil, errorf(start.pos, "a comparison needs a property on one side, found two values")
		case left.val != nil:
			e.Property, e.PropPos, e.Op = right.prop, right.pos, flipped[t.text]
			e.Values = []Value{*left.val}
		default:
			e.Values = []Value{*right.val}
		}
		return e, nil
	case is(t, "LIKE"):
		pat, err := p.operand()
		if err != nil {
			return nil, err
		}
		if pat.val == nil || pat.val.Type != String {
			return nil, errorf(pat.pos, "LIKE needs a pattern in quotes, such as 'fire%%'")
		}
		e.Kind, e.Values = Like, []Value{*pat.val}
	case is(t, "BETWEEN"):
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if and := p.next(); !is(and, "AND") {
			return nil, errorf(and.pos, "expected AND in BETWEEN … AND …, found %s", describe(and))
		}
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		if lo.val == nil || hi.val == nil {
			return nil, errorf(t.pos, "BETWEEN needs two values: comparing properties is not supported")
		}
		e.Kind, e.Values = Between, []Value{*lo.val, *hi.val}
	case is(t, "IN"):
		if err := p.expect("(", "after IN"); err != nil {
			return nil, err
		}
		e.Kind = In
		for {
			item, err := p.operand()
			if err != nil {
				return nil, err
			}
			if item.val == nil {
				return nil, errorf(item.pos, "IN lists values, found the property %s", item.prop)
			}
			e.Values = append(e.Values, *item.val)
			sep := p.next()
			if isPunct(sep, ")") {
				break
			}
			if !isPunct(sep, ",") {
				return nil, errorf(sep.pos, "expected \",\" or \")\" in the IN list, found %s", describe(sep))
			}
		}
	case is(t, "IS"):
		e.Kind = IsNull
		n := p.next()
		if is(n, "NOT") {
			e.Negated = true
			n = p.next()
		}
		if !is(n, "NULL") {
			return nil, errorf(n.pos, "expected NULL after IS, found %s", describe(n))
		}
	default:
		what := "the property " + left.prop
		if left.val != nil {
			what = "the value"
		}
		return nil, errorf(t.pos, "expected a comparison (=, <>, <, <=, >, >=), LIKE, BETWEEN, IN or IS NULL after %s, found %s", what, describe(t))
	}
	if left.val != nil {
		return nil, errorf(start.pos, "%s needs a property on its left, found a value", kindWord[e.Kind])
	}
	return e, nil
}

// flipped maps each comparison operator to the one that holds with its
// sides swapped.
var flipped = map[string]string{"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

var kindWord = map[Kind]string{Like: "LIKE", Between: "BETWEEN", In: "IN", IsNull: "IS NULL"}
