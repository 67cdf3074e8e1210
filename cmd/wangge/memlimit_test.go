package main

import (
	"context"
	"errors"
	"math"
	"runtime/debug"
	"testing"
)

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

// The collector pauses during the load only when a memory limit bounds
// the heap, and runs as before afterwards, the load failing or not.
func TestLoadViewsPausesCollectorUnderLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	percentIn := func() int {
		var in int
		failed := errors.New("load failed")
		err := loadViews(context.Background(), func(context.Context) error {
			in = debug.SetGCPercent(-1)
			debug.SetGCPercent(in)
			return failed
		})
		if err != failed {
			t.Fatalf("loadViews returned %v, want the load's error", err)
		}
		if after := debug.SetGCPercent(100); after != 100 {
			t.Errorf("after the load the collector's percent is %d, want 100", after)
		}
		return in
	}
	if in := percentIn(); in != 100 {
		t.Errorf("without a memory limit, the collector's percent during the load is %d, want 100", in)
	}
	debug.SetMemoryLimit(900 << 20)
	if in := percentIn(); in != -1 {
		t.Errorf("under a memory limit, the collector's percent during the load is %d, want -1 (paused)", in)
	}
}
