package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// householdPoints is what both stores offer gridgen and coverage beside
// data.Store: the household points and counts without their ids.
type householdPoints interface {
	HouseholdPoints(ctx context.Context) ([]data.HouseholdPoint, error)
}

// testHouseholdPoints: the points are EachHousehold's without their ids,
// in fid order, whether the fids run without gaps or not (the places of
// deleted fids closed up), none when the layer is empty, and a cancelled
// read says so.
func testHouseholdPoints(t *testing.T, s data.Store) {
	ctx := context.Background()
	hp, ok := s.(householdPoints)
	if !ok {
		t.Fatalf("%T does not read household points alone (HouseholdPoints)", s)
	}
	if got, err := hp.HouseholdPoints(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty: %d points, %v", len(got), err)
	}
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		h := data.Household{ID: fmt.Sprintf("hh/%d", i), Point: orb.Point{9.5 + float64(i)*1e-4, 47.1 - float64(i%37)*1e-5}, Households: 1 + i%4}
		if _, err := tx.AddHousehold(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var fids []int64
	check := func(name string) {
		t.Helper()
		var want []data.HouseholdPoint
		fids = fids[:0]
		if err := s.EachHousehold(ctx, func(h data.Household) error {
			want = append(want, data.HouseholdPoint{Point: h.Point, Households: int32(h.Households)})
			fids = append(fids, h.FID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err := hp.HouseholdPoints(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d points, want %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: point %d is %+v, want %+v", name, i, got[i], want[i])
			}
		}
	}
	check("fids without gaps")
	tx, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 16, 499, 998} {
		if err := tx.Delete(ctx, data.LayerHouseholds, fids[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	check("fids with gaps")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if got, err := hp.HouseholdPoints(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %d points, %v; want context.Canceled", len(got), err)
	}
}
