package main

import "testing"

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"900MiB": 900 << 20, "2GiB": 2 << 30, "1.5GiB": 3 << 29, "512KiB": 512 << 10, "4096": 4096, "4096B": 4096,
		"0": 0, "": 0, " 900 MiB ": 900 << 20,
	} {
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"900MB", "lots", "-1GiB", "NaN", "1e30GiB", "MiB"} {
		if got, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) = %d, want an error", in, got)
		}
	}
}
