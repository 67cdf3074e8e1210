package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// The contract under concurrency: readers beside a writer, cancelled calls.

// Readers running while a large write commits see the state before or the
// state after, never a part.
func testConcurrentReaders(t *testing.T, s data.Store) {
	ctx := context.Background()
	fill(t, s)
	const n = 4000
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for reads := 0; !stop.Load() || reads == 0; reads++ {
				var got int
				var err error
				if r%2 == 0 {
					got, err = s.Count(ctx, data.LayerHouseholds)
				} else {
					var page data.Page
					page, err = s.Items(ctx, data.LayerHouseholds, data.Query{Limit: 5})
					got = page.Matched
				}
				if err != nil {
					errs <- err
					return
				}
				if got != 2 && got != 2+n {
					errs <- fmt.Errorf("reader %d saw %d households, want 2 or %d", r, got, 2+n)
					return
				}
				if hz, err := s.Hazards(ctx); err != nil || len(hz) != 3 {
					errs <- fmt.Errorf("reader %d: %d hazards, %v", r, len(hz), err)
					return
				}
			}
		}()
	}
	tx := begin(t, s)
	for i := range n {
		if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("w%d", i), Point: orb.Point{9.5 + float64(i%100)/1000, 47.1 + float64(i/100)/1000}, Households: 1}); err != nil {
			t.Fatal(err)
		}
	}
	commit(t, tx)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := count(t, s, data.LayerHouseholds); c != 2+n {
		t.Errorf("households after commit = %d", c)
	}
}

// A cancelled context stops reads and writes with the context's error.
func testCancelled(t *testing.T, s data.Store) {
	fill(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Items(ctx, data.LayerHazards, data.Query{Limit: 10}); !errors.Is(err, context.Canceled) {
		t.Errorf("Items: %v, want context.Canceled", err)
	}
	if _, err := s.Hazards(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Hazards: %v, want context.Canceled", err)
	}
	if err := s.EachHousehold(ctx, func(data.Household) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("EachHousehold: %v, want context.Canceled", err)
	}
	if _, err := s.Begin(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Begin: %v, want context.Canceled", err)
	}
	// The store still works for others.
	if n := count(t, s, data.LayerHazards); n != 3 {
		t.Errorf("hazards = %d", n)
	}
}
