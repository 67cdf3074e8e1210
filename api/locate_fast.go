package api

import (
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
func (s *batchScanner) num() (float64, bool) {
	s.space()
	b, start := s.b, s.i
	i := start
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(b[start:i]), 64)
	s.i = i
	return f, err == nil
}

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
