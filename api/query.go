package api

import "strings"

// checkRawQuery refuses a query string that Go's parser would silently
// shorten: it drops pairs it cannot decode (a bad %-escape) and pairs with
// a ';' in them, so a misspelt filter would return everything. Each route
// then checks names and values; this check sees what they cannot. It
// allocates nothing for a good query (every request passes through it).
func checkRawQuery(raw string) error {
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ';':
			return invalid("query parameter %q: ';' does not separate parameters here; use '&'", pairAt(raw, i))
		case '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return invalid("query parameter %q: '%%' must start an escape of two hex digits (%%20, %%2C, …)", pairAt(raw, i))
			}
			i += 2
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// pairAt returns the name=value pair of raw around byte i, as sent.
func pairAt(raw string, i int) string {
	start := strings.LastIndexByte(raw[:i], '&') + 1
	end := strings.IndexByte(raw[i:], '&')
	if end < 0 {
		return raw[start:]
	}
	return raw[start : i+end]
}
