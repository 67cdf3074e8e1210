package api

import (
	"math"
	"math/bits"
	"strconv"
)

// A reader of POST /v1/locate bodies for the common case, without
// reflection or a slice per position: {"points": [[lon, lat], …], "crs":
// "…", "answer": "…"} with the members in any order. Anything else it
// does not take (another member, a position that is not two numbers, an
// escape in a string) leaves ok false, and the body is read again by
// encoding/json, which also names what is wrong.

type batchScanner struct {
	b []byte
	i int
}

func (s *batchScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *batchScanner) byte(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (s *batchScanner) str() (string, bool) {
	if !s.byte('"') {
		return "", false
	}
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			out := string(s.b[start:s.i])
			s.i++
			return out, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			// Escapes and non-ASCII (encoding/json mends invalid UTF-8)
			// are left to encoding/json.
			return "", false
		}
		s.i++
	}
	return "", false
}

// num reads a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
//
// Coordinates are short decimals, and strconv.ParseFloat was half the time
// of a batch. While checking the grammar, num also gathers the digits into
// an integer mantissa m and a power of ten e, and roundDecimal rounds m·10^e
// to the same bits as ParseFloat. Anything else (more than 19 digits, an
// exponent) goes to ParseFloat.
func (s *batchScanner) num() (float64, bool) {
	s.space()
	b, start := s.b, s.i
	i := start
	var m uint64
	nd, e := 0, 0 // significant digits gathered into m, its power of ten
	// digits skips a run of digits; into the mantissa when take, with
	// frac marking those after the point. Past 19 digits m would
	// overflow, but such a number goes to ParseFloat anyway.
	digits := func(take, frac bool) int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if d := uint64(b[i] - '0'); take && nd < 19 {
				if m != 0 || d != 0 {
					nd++
				}
				m = m*10 + d
				if frac {
					e--
				}
			} else if take {
				nd++
			}
			i++
			n++
		}
		return n
	}
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits(true, false) == 0:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits(true, true) == 0 {
			return 0, false
		}
	}
	exp := false
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		exp = true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits(false, false) == 0 {
			return 0, false
		}
	}
	s.i = i
	if !exp && nd <= 19 && e >= -19 {
		if f, ok := roundDecimal(m, -e); ok {
			if neg {
				f = -f
			}
			return f, true
		}
	}
	f, err := strconv.ParseFloat(string(b[start:i]), 64)
	return f, err == nil
}

// roundDecimal returns m / 10^k rounded to the nearest float64 (ties to even),
// the bits ParseFloat gives, for k ≤ 19. Up to 2^53 with k ≤ 22 one
// float64 operation rounds once (Clinger's fast path); beyond that, the
// longest coordinates (JSON.stringify of a GPS fix writes 16–17 digits),
// the quotient is taken with 128-bit integer division: 64 or more exact
// bits, the 53 kept rounded by the bits below them and the remainder.
func roundDecimal(m uint64, k int) (float64, bool) {
	if m == 0 {
		return 0, true
	}
	if m < 1<<53 {
		f := float64(m)
		if k > 0 {
			f /= pow10[k-1]
		}
		return f, true
	}
	if k == 0 {
		return 0, false
	}
	d := uint64(1)
	for range k {
		d *= 10
	}
	// m·2^lm has its top bit at 63, and (m·2^lm)·2^64 / d ≥ 2^63.
	lm := bits.LeadingZeros64(m)
	mn := m << lm
	q1, r1 := mn/d, mn%d
	q0, r := bits.Div64(r1, 0, d)
	// Shift the 128-bit quotient (q1:q0) up until its top bit is at 127.
	lq := bits.LeadingZeros64(q1)
	if q1 == 0 {
		lq = 64 + bits.LeadingZeros64(q0)
	}
	var th, tl uint64
	switch {
	case lq >= 64:
		th, tl = q0<<(lq-64), 0
	case lq == 0:
		th, tl = q1, q0
	default:
		th, tl = q1<<lq|q0>>(64-lq), q0<<lq
	}
	// m/10^k = th · 2^(-lm-lq) + less than one unit of th.
	mant, rest := th>>11, th&0x7ff
	if rest > 0x400 || rest == 0x400 && (tl != 0 || r != 0 || mant&1 == 1) {
		mant++ // to 2^53 at most, still exact
	}
	return math.Ldexp(float64(mant), 11-lm-lq), true
}

// pow10[k] is 10^(k+1): every power up to 10^22 is exact in a float64.
var pow10 = [...]float64{1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// scanBatch reads a batch body the fast way; ok is false when it could not.
func scanBatch(body []byte) (pts [][2]float64, crs, answer string, ok bool) {
	s := &batchScanner{b: body}
	if !s.byte('{') {
		return nil, "", "", false
	}
	seen := 0
	for first := true; ; first = false {
		if s.byte('}') {
			break
		}
		if !first && !s.byte(',') {
			return nil, "", "", false
		}
		key, kok := s.str()
		if !kok || !s.byte(':') {
			return nil, "", "", false
		}
		switch key {
		case "points":
			if seen&1 != 0 || !s.byte('[') {
				return nil, "", "", false
			}
			seen |= 1
			pts = make([][2]float64, 0, len(body)/24)
			for n := 0; ; n++ {
				if s.byte(']') {
					break
				}
				if n > 0 && !s.byte(',') {
					return nil, "", "", false
				}
				var p [2]float64
				var a, b bool
				if !s.byte('[') {
					return nil, "", "", false
				}
				if p[0], a = s.num(); !a || !s.byte(',') {
					return nil, "", "", false
				}
				if p[1], b = s.num(); !b || !s.byte(']') {
					return nil, "", "", false
				}
				pts = append(pts, p)
			}
		case "crs", "answer":
			v, vok := s.str()
			if !vok {
				return nil, "", "", false
			}
			bit := 2
			if key == "answer" {
				bit = 4
				answer = v
			} else {
				crs = v
			}
			if seen&bit != 0 {
				return nil, "", "", false
			}
			seen |= bit
		default:
			return nil, "", "", false
		}
	}
	s.space()
	return pts, crs, answer, seen&1 != 0 && s.i == len(s.b)
}
