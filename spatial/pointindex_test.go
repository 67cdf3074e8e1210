package spatial

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"
)

func TestPointIndexNearbyMatchesBruteForce(t *testing.T) {
	pts := randomPoints(5000, montevideoBound, 21)
	x := NewPointIndex[int64]()
	entries := make([]PointItem[int64], len(pts))
	for i, p := range pts {
		if err := x.Insert(int64(i), p); err != nil {
			t.Fatal(err)
		}
		entries[i] = PointItem[int64]{int64(i), p}
	}
	for qi, q := range randomPoints(200, padBound(montevideoBound, 0.1), 22) {
		radius := []float64{0, 150, 800, 3000, 1e5}[qi%5]
		limit := []int{0, 1, 10, 50}[qi%4]
		want := bruteNearby(entries, q, radius, limit)
		got := x.Nearby(q, radius, limit)
		if len(got) != len(want) {
			t.Fatalf("Nearby(%v, %v, %d): %d results, want %d", q, radius, limit, len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID || math.Abs(got[i].DistanceM-want[i].DistanceM) > 1e-6 {
				t.Fatalf("Nearby(%v, %v, %d)[%d] = %+v, want %+v", q, radius, limit, i, got[i], want[i])
			}
		}
	}
}

// bruteNearby is Nearby by measuring every entry.
func bruteNearby(entries []PointItem[int64], q orb.Point, radius float64, limit int) []Neighbor[int64] {
	var want []Neighbor[int64]
	for _, it := range entries {
		if d := geo.DistanceHaversine(q, it.Point); d <= radius {
			want = append(want, Neighbor[int64]{it.ID, it.Point, d})
		}
	}
	slices.SortFunc(want, func(a, b Neighbor[int64]) int {
		return cmp.Or(cmp.Compare(a.DistanceM, b.DistanceM), cmp.Compare(a.ID, b.ID))
	})
	if limit > 0 && len(want) > limit {
		want = want[:limit]
	}
	return want
}

func TestPointIndexWithinIntersects(t *testing.T) {
	pts := randomPoints(3000, montevideoBound, 23)
	x := NewPointIndex[int64]()
	for i, p := range pts {
		if err := x.Insert(int64(i), p); err != nil {
			t.Fatal(err)
		}
	}
	b := orb.Bound{Min: orb.Point{-56.3, -34.9}, Max: orb.Point{-56.1, -34.8}}
	poly := Sector(orb.Point{-56.2, -34.85}, 45, 90, 5000, 16)
	var wantB, wantP []int64
	for i, p := range pts {
		if b.Contains(p) {
			wantB = append(wantB, int64(i))
		}
		if planar.PolygonContains(poly, p) {
			wantP = append(wantP, int64(i))
		}
	}
	ids := func(items []PointItem[int64]) []int64 {
		var out []int64
		for _, it := range items {
			out = append(out, it.ID)
			if it.Point != pts[it.ID] {
				t.Fatalf("item %d has point %v, want %v", it.ID, it.Point, pts[it.ID])
			}
		}
		slices.Sort(out)
		return out
	}
	if got := ids(x.Within(b)); !slices.Equal(got, wantB) {
		t.Errorf("Within: %d ids, want %d", len(got), len(wantB))
	}
	if got := ids(x.Intersects(poly)); !slices.Equal(got, wantP) || len(wantP) == 0 {
		t.Errorf("Intersects: %d ids, want %d (>0)", len(got), len(wantP))
	}
}

func TestPointIndexWrites(t *testing.T) {
	x := NewPointIndex[int64]()
	p, q := orb.Point{-56.2, -34.9}, orb.Point{-56.1, -34.8}
	if err := x.Insert(1, p); err != nil {
		t.Fatal(err)
	}
	if err := x.Insert(2, orb.Point{math.NaN(), 0}); !errors.Is(err, ErrInvalidPoint) {
		t.Errorf("Insert NaN: %v, want ErrInvalidPoint", err)
	}
	if err := x.Move(3, p, q); !errors.Is(err, ErrNotFound) {
		t.Errorf("Move missing: %v, want ErrNotFound", err)
	}
	if err := x.Move(1, q, p); !errors.Is(err, ErrNotFound) {
		t.Errorf("Move from where it is not: %v, want ErrNotFound", err)
	}
	if err := x.Move(1, p, orb.Point{0, 91}); !errors.Is(err, ErrInvalidPoint) {
		t.Errorf("Move to an invalid point: %v, want ErrInvalidPoint", err)
	}
	if err := x.Move(1, p, p); err != nil {
		t.Errorf("Move in place: %v", err)
	}
	if err := x.Move(1, p, q); err != nil {
		t.Fatal(err)
	}
	if got := x.Nearby(p, 100, 0); len(got) != 0 {
		t.Errorf("old position still found: %v", got)
	}
	if got := x.Nearby(q, 1, 0); len(got) != 1 || got[0].ID != 1 || got[0].DistanceM != 0 {
		t.Errorf("new position: %v", got)
	}
	if x.Delete(1, p) || x.Len() != 1 {
		t.Error("Delete at the old position removed something")
	}
	if !x.Delete(1, q) || x.Delete(1, q) || x.Len() != 0 {
		t.Error("Delete did not remove exactly once")
	}
	if got := x.Within(orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}); len(got) != 0 {
		t.Errorf("deleted point still found: %v", got)
	}
}

// TestPointIndexConcurrent runs one writer against several readers; run it
// with -race.
func TestPointIndexConcurrent(t *testing.T) {
	x := NewPointIndex[int64]()
	pts := randomPoints(2000, montevideoBound, 24)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		at := map[int64]orb.Point{} // where the writer put each id
		for i, p := range pts {
			_ = x.Insert(int64(i), p)
			at[int64(i)] = p
			if from, ok := at[int64(i/2)]; i%3 == 0 && ok {
				to := pts[(i*7)%len(pts)]
				if err := x.Move(int64(i/2), from, to); err != nil {
					t.Error(err)
				}
				at[int64(i/2)] = to
			}
			if p, ok := at[int64(i/3)]; i%5 == 0 && ok {
				if !x.Delete(int64(i/3), p) {
					t.Errorf("Delete(%d) found nothing", i/3)
				}
				delete(at, int64(i/3))
			}
		}
	}()
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, q := range randomPoints(300, montevideoBound, uint64(30+r)) {
				_ = x.Nearby(q, 2000, 5)
				_ = x.Within(orb.Bound{Min: q, Max: orb.Point{q[0] + 0.01, q[1] + 0.01}})
			}
		}()
	}
	wg.Wait()
}

// BenchmarkNearby45k is the county of issue 4: 45,000 cameras, the 10
// nearest within 500 m, in an index filled by Insert and in one built by
// NewPointIndexOf (packed).
func BenchmarkNearby45k(b *testing.B) {
	pts := randomPoints(45_000, montevideoBound, 25)
	inserted := NewPointIndex[int64]()
	items := make([]PointItem[int64], len(pts))
	for i, p := range pts {
		if err := inserted.Insert(int64(i), p); err != nil {
			b.Fatal(err)
		}
		items[i] = PointItem[int64]{int64(i), p}
	}
	packed, err := NewPointIndexOf(items)
	if err != nil {
		b.Fatal(err)
	}
	qs := randomPoints(1<<12, montevideoBound, 26)
	for _, c := range []struct {
		name string
		x    *PointIndex[int64]
	}{{"inserted", inserted}, {"packed", packed}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_ = c.x.Nearby(qs[i&(len(qs)-1)], 500, 10)
				i++
			}
		})
	}
}

func BenchmarkPointIndexUpdate45k(b *testing.B) {
	x := NewPointIndex[int64]()
	pts := randomPoints(45_000, montevideoBound, 27)
	for i, p := range pts {
		if err := x.Insert(int64(i), p); err != nil {
			b.Fatal(err)
		}
	}
	moves := randomPoints(1<<12, montevideoBound, 28)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := i % len(pts)
		to := moves[i&(len(moves)-1)]
		if err := x.Move(int64(id), pts[id], to); err != nil {
			b.Fatal(err)
		}
		pts[id] = to
		i++
	}
}

// NewPointIndexOf answers as an index filled by Insert, and refuses the
// invalid points Insert refuses.
func TestNewPointIndexOf(t *testing.T) {
	pts := randomPoints(5000, montevideoBound, 31)
	items := make([]PointItem[int64], len(pts))
	one := NewPointIndex[int64]()
	for i, p := range pts {
		items[i] = PointItem[int64]{int64(i * 7), p}
		if err := one.Insert(int64(i*7), p); err != nil {
			t.Fatal(err)
		}
	}
	bulk, err := NewPointIndexOf(items)
	if err != nil {
		t.Fatal(err)
	}
	if bulk.Len() != one.Len() {
		t.Fatalf("%d points, want %d", bulk.Len(), one.Len())
	}
	for qi, q := range randomPoints(100, padBound(montevideoBound, 0.1), 32) {
		radius := []float64{150, 800, 3000}[qi%3]
		if got, want := bulk.Nearby(q, radius, 0), one.Nearby(q, radius, 0); !slices.Equal(got, want) {
			t.Fatalf("Nearby(%v, %v): %d results, Insert's index %d", q, radius, len(got), len(want))
		}
	}
	// Still an index to change: moves and deletes find the points.
	if err := bulk.Move(7, pts[1], orb.Point{-56.2, -34.9}); err != nil {
		t.Fatal(err)
	}
	if !bulk.Delete(14, pts[2]) || bulk.Len() != len(pts)-1 {
		t.Fatal("Delete of a bulk-loaded point failed")
	}
	if got := bulk.Within(orb.Bound{Min: orb.Point{-56.2, -34.9}, Max: orb.Point{-56.2, -34.9}}); len(got) != 1 || got[0].ID != 7 {
		t.Fatalf("moved point: Within found %v", got)
	}
	if _, err := NewPointIndexOf([]PointItem[int64]{{1, orb.Point{200, 0}}}); !errors.Is(err, ErrInvalidPoint) {
		t.Errorf("an invalid point: %v, want ErrInvalidPoint", err)
	}
}

func BenchmarkPointIndexLoad1M(b *testing.B) {
	pts := randomPoints(1_000_000, montevideoBound, 33)
	items := make([]PointItem[int64], len(pts))
	for i, p := range pts {
		items[i] = PointItem[int64]{int64(i + 1), p}
	}
	b.Run("Insert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			x := NewPointIndex[int64]()
			for _, it := range items {
				if err := x.Insert(it.ID, it.Point); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("NewPointIndexOf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewPointIndexOf(items); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// An index from NewPointIndexOf (its packed part) answers as a list of its
// entries through every kind of change: inserts, moves and deletes of
// packed and inserted entries, repeats given to NewPointIndexOf, and more
// than half the packed entries deleted (packed again). Nearby is asked
// both ways: small circles (the box scan) and large ones with a small
// limit (best-first over both parts).
func TestPointIndexPackedAndChanged(t *testing.T) {
	pts := randomPoints(4000, montevideoBound, 41)
	model := map[PointItem[int64]]bool{}
	items := make([]PointItem[int64], 0, len(pts)+100)
	for i, p := range pts {
		it := PointItem[int64]{int64(i), p}
		items = append(items, it)
		model[it] = true
	}
	items = append(items, items[:100]...) // repeats, held once
	x, err := NewPointIndexOf(items)
	if err != nil {
		t.Fatal(err)
	}
	moves := randomPoints(6000, montevideoBound, 42)
	queries := randomPoints(40, padBound(montevideoBound, 0.1), 43)
	poly := Sector(orb.Point{-56.2, -34.85}, 45, 90, 5000, 16)
	check := func(step string) {
		t.Helper()
		if x.Len() != len(model) {
			t.Fatalf("%s: Len %d, want %d", step, x.Len(), len(model))
		}
		var all, inPoly []PointItem[int64]
		for it := range model {
			all = append(all, it)
			if planar.PolygonContains(poly, it.Point) {
				inPoly = append(inPoly, it)
			}
		}
		order := func(s []PointItem[int64]) []PointItem[int64] {
			slices.SortFunc(s, func(a, b PointItem[int64]) int {
				return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Point[0], b.Point[0]), cmp.Compare(a.Point[1], b.Point[1]))
			})
			return s
		}
		if got := order(x.Within(padBound(montevideoBound, 0.01))); !slices.Equal(got, order(all)) {
			t.Fatalf("%s: Within everything: %d entries, want %d", step, len(got), len(all))
		}
		if got := order(x.Intersects(poly)); !slices.Equal(got, order(inPoly)) {
			t.Fatalf("%s: Intersects: %d entries, want %d", step, len(got), len(inPoly))
		}
		for qi, q := range queries {
			radius, limit := []float64{300, 1500, 1e5}[qi%3], []int{0, 1, 7}[qi%3]
			want := bruteNearby(all, q, radius, limit)
			got := x.Nearby(q, radius, limit)
			if len(got) != len(want) {
				t.Fatalf("%s: Nearby(%v, %v, %d): %d results, want %d", step, q, radius, limit, len(got), len(want))
			}
			for i := range got {
				if got[i].ID != want[i].ID || got[i].Point != want[i].Point || math.Abs(got[i].DistanceM-want[i].DistanceM) > 1e-6 {
					t.Fatalf("%s: Nearby(%v, %v, %d)[%d] = %+v, want %+v", step, q, radius, limit, i, got[i], want[i])
				}
			}
		}
	}
	check("packed")
	// Move a third of the packed entries (some twice), insert new ones,
	// delete inserted and packed ones, then delete until it packs again.
	for i := range 1500 {
		id := int64(i * 2 % len(pts))
		to := moves[i]
		if err := x.Move(id, pts[id], to); err != nil {
			t.Fatalf("move %d: %v", id, err)
		}
		delete(model, PointItem[int64]{id, pts[id]})
		model[PointItem[int64]{id, to}] = true
		pts[id] = to
	}
	for i := range 500 {
		it := PointItem[int64]{int64(10_000 + i), moves[1500+i]}
		if err := x.Insert(it.ID, it.Point); err != nil {
			t.Fatal(err)
		}
		model[it] = true
	}
	check("moved and inserted")
	if x.Delete(3, moves[0]) || x.Delete(99_999, pts[5]) {
		t.Fatal("Delete removed an entry that is not there")
	}
	if err := x.Move(1, moves[0], moves[1]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Move from where it is not: %v", err)
	}
	for i := range 2600 {
		var it PointItem[int64]
		if i%5 == 0 {
			if i/5 >= 500 {
				continue
			}
			it = PointItem[int64]{int64(10_000 + i/5), moves[1500+i/5]}
		} else {
			id := int64(i*3%len(pts)) | 1
			it = PointItem[int64]{id, pts[id]}
			if !model[it] {
				continue
			}
		}
		if !x.Delete(it.ID, it.Point) || x.Delete(it.ID, it.Point) {
			t.Fatalf("Delete %v did not remove it exactly once", it)
		}
		delete(model, it)
		if i == 500 {
			check("deleted some")
		}
	}
	check("deleted most, packed again")
	if len(x.base.items) >= len(pts) {
		t.Errorf("%d packed entries after more than half were deleted: not packed again", len(x.base.items))
	}
}
