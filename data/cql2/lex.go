package cql2

import (
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // a bare identifier: a property name or a keyword
	tQuoted         // a "double-quoted" property name
	tString         // a 'character literal', escapes resolved
	tNumber         // a signed number as written
	tPunct          // ( ) , = <> < <= > >=
)

type token struct {
	kind tokKind
	pos  int    // 1-based character where the token starts
	text string // the name, the resolved string, the number or the symbol
}

// keywords are the words of CQL2 text (OGC 21-065r2, 8.1), matched without
// regard to case; a property spelled like one must be double-quoted.
var keywords = wordSet(`A_EQUALS A_CONTAINS A_CONTAINEDBY A_OVERLAPS ACCENTI AND BBOX BETWEEN
		CASEI DATE DIV FALSE GEOMETRYCOLLECTION IN IS LIKE LINESTRING MULTILINESTRING MULTIPOINT MULTIPOLYGON
		NOT NULL OR POINT POLYGON S_INTERSECTS S_EQUALS S_DISJOINT S_TOUCHES S_WITHIN S_OVERLAPS S_CROSSES
		S_CONTAINS T_AFTER T_BEFORE T_CONTAINS T_DISJOINT T_DURING T_EQUALS T_FINISHEDBY T_FINISHES
		T_INTERSECTS T_MEETS T_METBY T_OVERLAPPEDBY T_OVERLAPS T_STARTEDBY T_STARTS TIMESTAMP TRUE`)

func wordSet(words string) map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// lex splits a filter into tokens, ending with a tEOF.
func lex(text string) ([]token, error) {
	if !utf8.ValidString(text) {
		n := 1
		for i, r := range text {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(text[i:]); size == 1 {
					return nil, errorf(n, "the filter is not valid UTF-8")
				}
			}
			n++
		}
	}
	rs := []rune(text)
	var toks []token
	for i := 0; i < len(rs); {
		r := rs[i]
		pos := i + 1
		next := func(k int) rune {
			if i+k < len(rs) {
				return rs[i+k]
			}
			return 0
		}
		switch {
		case isSpace(r):
			i++
		case r == '(' || r == ')' || r == ',' || r == '=':
			toks = append(toks, token{tPunct, pos, string(r)})
			i++
		case r == '<' || r == '>':
			sym := string(r)
			if n := next(1); n == '=' || (r == '<' && n == '>') {
				sym += string(n)
			}
			toks = append(toks, token{tPunct, pos, sym})
			i += len(sym)
		case r == '!' && next(1) == '=':
			return nil, errorf(pos, "unexpected \"!=\": not equal is written <>")
		case r == '\'':
			s, n, err := lexString(rs, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tString, pos, s})
			i = n
		case r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			if j == len(rs) {
				return nil, errorf(pos, "a double quote opens a property name that is not closed")
			}
			name := string(rs[i+1 : j])
			if !isIdentifier(rs[i+1 : j]) {
				return nil, errorf(pos, "%q is not a property name", name)
			}
			toks = append(toks, token{tQuoted, pos, name})
			i = j + 1
		case isDigit(r) || (r == '.' && isDigit(next(1))) ||
			((r == '+' || r == '-') && (isDigit(next(1)) || (next(1) == '.' && isDigit(next(2))))):
			n := lexNumber(rs, i)
			if n < len(rs) && isIdentPart(rs[n]) {
				return nil, errorf(pos, "malformed number %q", string(rs[i:n+1]))
			}
			toks = append(toks, token{tNumber, pos, string(rs[i:n])})
			i = n
		case isIdentStart(r):
			j := i + 1
			for j < len(rs) && isIdentPart(rs[j]) {
				j++
			}
			toks = append(toks, token{tIdent, pos, string(rs[i:j])})
			i = j
		case r == '+' || r == '-' || r == '*' || r == '/' || r == '%' || r == '^':
			return nil, errorf(pos, "unexpected %q: arithmetic is not supported", r)
		default:
			return nil, errorf(pos, "unexpected character %q", r)
		}
	}
	return append(toks, token{tEOF, len(rs) + 1, ""}), nil
}

// lexString reads the character literal opening at rs[i] and returns its
// value and the index after it. A quote is doubled (”) or escaped (\'); \\
// is a backslash and \a \b \t \n \v \f \r the control characters (OGC
// 21-065r2, /req/cql2-text/escaping). Any other backslash stays as it is,
// so that LIKE sees its own escapes: 'a\%' is the pattern a\%.
func lexString(rs []rune, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(rs); j++ {
		r := rs[j]
		switch {
		case r == '\'':
			if j+1 < len(rs) && rs[j+1] == '\'' {
				b.WriteRune('\'')
				j++
				continue
			}
			return b.String(), j + 1, nil
		case r == '\\' && j+1 < len(rs):
			j++
			switch e := rs[j]; e {
			case '\'', '\\':
				b.WriteRune(e)
			case 'a':
				b.WriteRune('\a')
			case 'b':
				b.WriteRune('\b')
			case 't':
				b.WriteRune('\t')
			case 'n':
				b.WriteRune('\n')
			case 'v':
				b.WriteRune('\v')
			case 'f':
				b.WriteRune('\f')
			case 'r':
				b.WriteRune('\r')
			default:
				j-- // not an escape: the backslash is itself, the next character is read next
				b.WriteRune('\\')
			}
		case r < 0x20 && !isSpace(r) && r != '\a' && r != '\b':
			// NUL and the other controls the grammar leaves out; PostgreSQL
			// would refuse a NUL in text anyway.
			return "", 0, errorf(j+1, "control character %U in a string; escape it (\\n, \\t …) or leave it out", r)
		default:
			b.WriteRune(r)
		}
	}
	return "", 0, errorf(i+1, "a quote opens a string that is not closed")
}

// lexNumber returns the index after the number starting at rs[i]:
// [sign] digits [. [digits]] | [sign] . digits, then [E [sign] digits].
func lexNumber(rs []rune, i int) int {
	if rs[i] == '+' || rs[i] == '-' {
		i++
	}
	for i < len(rs) && isDigit(rs[i]) {
		i++
	}
	if i < len(rs) && rs[i] == '.' {
		i++
		for i < len(rs) && isDigit(rs[i]) {
			i++
		}
	}
	if i < len(rs) && (rs[i] == 'e' || rs[i] == 'E') {
		j := i + 1
		if j < len(rs) && (rs[j] == '+' || rs[j] == '-') {
			j++
		}
		if j < len(rs) && isDigit(rs[j]) {
			for j < len(rs) && isDigit(rs[j]) {
				j++
			}
			i = j
		}
	}
	return i
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isSpace is the grammar's whitespace.
func isSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// isIdentStart and isIdentPart are the grammar's identifierStart and
// identifierPart.
func isIdentStart(r rune) bool {
	switch {
	case r == ':' || r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z'):
		return true
	case r < 0xC0:
		return false
	}
	for _, rg := range identRanges {
		if r >= rg[0] && r <= rg[1] {
			return true
		}
	}
	return false
}

var identRanges = [][2]rune{
	{0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x2FF}, {0x370, 0x37D}, {0x37F, 0x1FFE}, {0x200C, 0x200D},
	{0x2070, 0x218F}, {0x2C00, 0x2FEF}, {0x3001, 0xD7FF}, {0xF900, 0xFDCF}, {0xFDF0, 0xFFFD}, {0x10000, 0xEFFFF},
}

func isIdentPart(r rune) bool {
	return isIdentStart(r) || r == '.' || isDigit(r) || (r >= 0x300 && r <= 0x36F) || r == 0x203F || r == 0x2040
}

func isIdentifier(rs []rune) bool {
	if len(rs) == 0 || !isIdentStart(rs[0]) {
		return false
	}
	for _, r := range rs[1:] {
		if !isIdentPart(r) {
			return false
		}
	}
	return true
}
