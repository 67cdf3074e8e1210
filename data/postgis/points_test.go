package postgis_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// TestHouseholdPoints: the points gridgen reads are EachHousehold's without
// their ids, in fid order, and none when the layer is empty.
func TestHouseholdPoints(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	if got, err := s.HouseholdPoints(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty: %d points, %v", len(got), err)
	}
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		h := data.Household{ID: fmt.Sprintf("hh/%d", i), Point: orb.Point{9.5 + float64(i)*1e-4, 47.1 - float64(i%37)*1e-5}, Households: 1 + i%4}
		if _, err := tx.AddHousehold(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var want []data.HouseholdPoint
	if err := s.EachHousehold(ctx, func(h data.Household) error {
		want = append(want, data.HouseholdPoint{Point: h.Point, Households: int32(h.Households)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.HouseholdPoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) != 300 {
		t.Fatalf("%d points, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("point %d is %+v, want %+v", i, got[i], want[i])
		}
	}
}
