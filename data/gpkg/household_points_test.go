package gpkg_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// TestHouseholdPoints reads the same points and counts as EachHousehold,
// in the same order, over fids with gaps and in as many ranges as
// GOMAXPROCS allows (blobs of other tools: TestDecodePoint).
func TestHouseholdPoints(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	rng := rand.New(rand.NewPCG(3, 9))
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for i := range 9000 {
		p := orb.Point{-180 + rng.Float64()*360, -90 + rng.Float64()*180}
		if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("h%d", i), Point: p, Households: 1 + rng.IntN(400)}); err != nil {
			t.Fatal(err)
		}
	}
	// Gaps in the fids, as deletions leave them.
	for fid := int64(100); fid < 9000; fid += 37 {
		if err := tx.Delete(ctx, data.LayerHouseholds, fid); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var want []data.Household
	if err := s.EachHousehold(ctx, func(h data.Household) error { want = append(want, h); return nil }); err != nil {
		t.Fatal(err)
	}
	pts, counts, err := s.HouseholdPoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != len(want) || len(counts) != len(want) {
		t.Fatalf("%d points and %d counts, want %d", len(pts), len(counts), len(want))
	}
	for i, h := range want {
		if pts[i] != h.Point || int(counts[i]) != h.Households {
			t.Errorf("row %d: %v × %d, want %v × %d", i, pts[i], counts[i], h.Point, h.Households)
		}
	}

}
