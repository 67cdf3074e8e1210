package gpkg

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// HazardsInParts reads what Hazards reads, in the same order, whatever the
// parts and the gaps in the fids.
func TestHazardsInParts(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	check := func(label string) {
		t.Helper()
		want, err := s.Hazards(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, parts := range []int{1, 2, 3, 7, 500} {
			// The parts themselves, not HazardsInParts' fallback to one read.
			got, err := s.hazardsInParts(ctx, parts)
			if err != nil {
				t.Fatalf("%s, %d parts: %v", label, parts, err)
			}
			if len(got) == 0 && len(want) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, %d parts: %d hazards, Hazards reads %d (or they differ)", label, parts, len(got), len(want))
			}
		}
	}
	check("empty")
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 300 {
		if _, err := tx.AddHazard(ctx, data.Hazard{ID: fmt.Sprint("z", i), Point: orb.Point{9.5 + float64(i)*1e-4, 47.1}, Category: "fire",
			Severity: 1 + i%3, Status: "reported", ReportedAt: at.Add(time.Duration(i) * time.Minute), Note: fmt.Sprint("note ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	check("300 hazards")
	// Gaps: the first 100 and every third of the rest gone.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM hazards WHERE fid <= 100 OR fid % 3 = 0`); err != nil {
		t.Fatal(err)
	}
	check("with gaps")
	if hz, err := s.HazardsInParts(ctx, 1); err != nil || len(hz) != 133 {
		t.Errorf("HazardsInParts(1): %d hazards, %v; want 133", len(hz), err)
	}
}
