package api

import "testing"

// TestAcceptsGzip follows RFC 9110 §12.5.3: gzip;q=0 refuses gzip, "*"
// accepts it unless gzip itself is listed with q=0, and a weight above 0
// accepts.
func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"identity", false},
		{"br", false},
		{"gzip", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"gzip, deflate, br", true},
		{"br;q=1.0, gzip;q=0.8", true},
		{"gzip;q=0", false},
		{"gzip; q=0", false},
		{"gzip;Q=0", false},
		{"gzip;q=0.0", false},
		{"gzip;q=0.000", false},
		{"gzip;q=0.001", true},
		{"gzip;q=1", true},
		{"gzip;q=nonsense", true},
		{"*", true},
		{"*;q=0", false},
		{"*;q=0.5", true},
		{"*, gzip;q=0", false},
		{"gzip;q=0, *", false},
		{"*;q=0, gzip", true},
		{"gzip, *;q=0", true},
		{"br, *", true},
		{"identity;q=1, *;q=0", false},
		{" gzip ; q=0.5 ", true},
	} {
		if got := acceptsGzip(tc.header); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}
