package api

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
)

func TestParseDatetime(t *testing.T) {
	at := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	day, dayEnd := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond)
	for _, tc := range []struct {
		in   string
		want data.TimeRange
	}{
		{"2025-03-01T09:30:00Z", data.TimeRange{Start: at, End: at}},
		{"2025-03-01t09:30:00z", data.TimeRange{Start: at, End: at}},
		{"2025-03-01T17:30:00+08:00", data.TimeRange{Start: at, End: at}},
		{"2025-03-01T09:30:00.250Z", data.TimeRange{Start: at.Add(250 * time.Millisecond), End: at.Add(250 * time.Millisecond)}},
		{"2025-03-01", data.TimeRange{Start: day, End: dayEnd}},
		{"2025-03-01T09:30:00Z/2025-03-01T10:30:00Z", data.TimeRange{Start: at, End: at.Add(time.Hour)}},
		{"2025-03-01/2025-03-01", data.TimeRange{Start: day, End: dayEnd}},
		{"../2025-03-01T09:30:00Z", data.TimeRange{End: at}},
		{"/2025-03-01T09:30:00Z", data.TimeRange{End: at}},
		{"2025-03-01T09:30:00Z/..", data.TimeRange{Start: at}},
		{"2025-03-01T09:30:00Z/", data.TimeRange{Start: at}},
		{"2025-03-01/..", data.TimeRange{Start: day}},
		{"../2025-03-01", data.TimeRange{End: dayEnd}},
		{"2025-03-01T09:30:00Z/2025-03-01T09:30:00Z", data.TimeRange{Start: at, End: at}},
	} {
		got, err := parseDatetime("datetime", tc.in)
		if err != nil || !got.Start.Equal(tc.want.Start) || !got.End.Equal(tc.want.End) {
			t.Errorf("%q: %v – %v, %v; want %v – %v", tc.in, got.Start, got.End, err, tc.want.Start, tc.want.End)
		}
	}
	for _, bad := range []string{"", "..", "/", "../..", "../", "/..", "x", "2025-03-01T09:30:00", "2025-03-01 09:30:00Z",
		"2025-03-01T09:30Z", "2025-03-01T24:00:00Z", "2025-02-29", "25-03-01", "2025-03-01T09:30:00Z/2025-03-01T09:29:59Z",
		"2025-03-01/2025-02-28", "a/b", "2025-03-01T09:30:00Z//", "2025-03-01T09:30:00Z/../..", "9999-12-31T23:00:00-02:00",
		"0000-01-01T00:00:00+00:01"} {
		if _, err := parseDatetime("datetime", bad); data.ErrorCode(err) != data.EINVALID || !strings.Contains(err.Error(), "parameter datetime") {
			t.Errorf("%q: %v, want EINVALID naming datetime", bad, err)
		}
	}
}

func FuzzDatetime(f *testing.F) {
	for _, s := range []string{"2025-03-01T09:30:00Z", "2025-03-01", "../2025-03-01T09:30:00Z", "2025-03-01T09:30:00.123456789+08:00/..",
		"2025-03-01/2025-03-31", "/", "../..", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2025-03-01T09:30:00Z/2025-03-01T09:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseDatetime("datetime", s)
		if err != nil {
			if data.ErrorCode(err) != data.EINVALID {
				t.Fatalf("%q: %v is not EINVALID", s, err)
			}
			return
		}
		if r.Start.IsZero() && r.End.IsZero() {
			t.Fatalf("%q: both ends open", s)
		}
		if !r.Start.IsZero() && !r.End.IsZero() && r.Start.After(r.End) {
			t.Fatalf("%q: start %v after end %v", s, r.Start, r.End)
		}
		for _, e := range []time.Time{r.Start, r.End} {
			if !e.IsZero() && (e.Location() != time.UTC || e.Year() < 0 || e.Year() > 9999) {
				t.Fatalf("%q: end %v not UTC within 0000–9999", s, e)
			}
		}
		// Printed back as an interval, it reads the same.
		end := func(e time.Time) string {
			if e.IsZero() {
				return ".."
			}
			return e.Format(time.RFC3339Nano)
		}
		again, err := parseDatetime("datetime", end(r.Start)+"/"+end(r.End))
		if err != nil || !again.Start.Equal(r.Start) || !again.End.Equal(r.End) {
			t.Fatalf("%q: %v–%v printed and read back is %v–%v, %v", s, r.Start, r.End, again.Start, again.End, err)
		}
	})
}

// The shared query check runs on every request, locate's included: a good
// query costs no allocation.
func TestCheckNamesAllocatesNothing(t *testing.T) {
	known := []string{"lon", "lat", "crs", "f"}
	if n := testing.AllocsPerRun(100, func() {
		if err := checkNames("lon=9.5209&lat=47.1410&crs=gcj02&f=json", known, false); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("checkNames allocates %v times a call", n)
	}
	for raw, want := range map[string]int{
		"lon=1&lat=2": 0, "": 0, "&&lon=1&": 0, "%6Con=1": 0, "f=json": 0, "f=": 0,
		"lat=1&zzz=2": 400, "=1": 400, "f=html": 406, "f=%68tml": 406, "f=xml": 400,
	} {
		err := checkNames(raw, known, false)
		var na *notAcceptable
		switch {
		case want == 0 && err != nil, want == 400 && data.ErrorCode(err) != data.EINVALID, want == 406 && !errors.As(err, &na):
			t.Errorf("%q: %v, want %d", raw, err, want)
		}
	}
	if err := checkNames("f=html", known, true); err != nil {
		t.Errorf("f=html where html is served: %v", err)
	}
	if err := checkNames("a=1", nil, false); err == nil || !strings.Contains(err.Error(), "takes none") {
		t.Errorf("a route without parameters: %v", err)
	}
}
