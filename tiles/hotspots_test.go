package tiles

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// The study area remembers each hazard's cell between analyses. The
// counts must be those of placing every selected hazard afresh: on the
// first analysis (placed on every core: more hazards than two goroutines'
// share) and after writes that move, add and delete hazards (only those
// placed again), for every query and with hazards outside the area.
func TestHotspotCountsAsPlacedAfresh(t *testing.T) {
	ctx := context.Background()
	hz := metroHazards(4*placeChunk, 9)
	// The hazards span (-56.7…-55.7, -35.0…-34.4); the area is its west half.
	area := orb.MultiPolygon{orb.Bound{Min: orb.Point{-56.7, -35.0}, Max: orb.Point{-56.2, -34.4}}.ToPolygon()}
	study := NewStudy(area)
	cat := data.DefaultTaxonomy().CategoryCodes()[0]
	queries := []HotspotQuery{{Res: 7}, {Res: 7, Category: cat}, {Res: 8}}
	check := func(when string, sc *Scene, list []data.Hazard) {
		t.Helper()
		for _, q := range queries {
			got, err := sc.Hotspots(ctx, q)
			if err != nil {
				t.Fatalf("%s, %+v: %v", when, q, err)
			}
			cells, err := spatial.StudyCells(area, q.Res)
			if err != nil {
				t.Fatal(err)
			}
			var pts []orb.Point
			for _, h := range list {
				if q.Category == "" || h.Category == q.Category {
					pts = append(pts, h.Point)
				}
			}
			want, outside, err := spatial.CellCounts(cells, pts)
			if err != nil {
				t.Fatal(err)
			}
			if got.Outside != outside || got.Incidents != len(pts)-outside || outside == 0 || outside == len(pts) {
				t.Errorf("%s, %+v: %d incidents and %d outside, want %d and %d (some of each)", when, q, got.Incidents, got.Outside, len(pts)-outside, outside)
			}
			if len(got.Cells) != len(want) {
				t.Fatalf("%s, %+v: %d cells, want %d", when, q, len(got.Cells), len(want))
			}
			for i := range want {
				if got.Cells[i].Cell != want[i].Cell || got.Cells[i].Value != want[i].Value {
					t.Fatalf("%s, %+v: cell %d is %v with %v, want %v with %v", when, q, i, got.Cells[i].Cell, got.Cells[i].Value, want[i].Cell, want[i].Value)
				}
			}
		}
	}
	sc := &Scene{Hazards: HazardPoints(hz), Study: study}
	check("first analysis", sc, hz)

	// Move a thousand hazards (some across the area's edge), delete 500
	// and add 500 with new FIDs.
	rng := rand.New(rand.NewPCG(4, 4))
	list := append([]data.Hazard(nil), hz...)
	var put []data.Hazard
	for range 1000 {
		i := rng.IntN(len(list))
		list[i].Point = orb.Point{-56.7 + rng.Float64(), -35.0 + rng.Float64()*0.6}
		put = append(put, list[i])
	}
	var del []int64
	for _, i := range rng.Perm(len(list))[:500] {
		del = append(del, list[i].FID)
	}
	next := list[:0:0]
	for _, h := range list {
		if !containsFID(del, h.FID) {
			next = append(next, h)
		}
	}
	var kept []data.Hazard
	for _, h := range put {
		if !containsFID(del, h.FID) {
			kept = append(kept, h)
		}
	}
	for i, h := range metroHazards(500, 10) {
		h.FID = int64(len(hz) + 1 + i)
		kept = append(kept, h)
		next = append(next, h)
	}
	sc, _ = sc.WithHazards(kept, del)
	check("after writes", sc, next)
}

// placeCells finds each hazard's cell as H3 does, on any number of
// goroutines, and leaves the hazards placed before as they were.
func TestPlaceCellsOnGoroutines(t *testing.T) {
	hz := metroHazards(3*placeChunk, 11)
	area := orb.MultiPolygon{orb.Bound{Min: orb.Point{-56.7, -35.0}, Max: orb.Point{-56.2, -34.4}}.ToPolygon()}
	const res = 8
	cells, err := spatial.StudyCells(area, res)
	if err != nil {
		t.Fatal(err)
	}
	index := map[h3.Cell]int32{}
	for i, c := range cells {
		index[c] = int32(i)
	}
	const before = 1234 // a cell index no hazard is in: placed before, kept
	memo := func() *hazardMemo {
		m := &hazardMemo{}
		for i, h := range hz {
			m.fids, m.pts = append(m.fids, h.FID), append(m.pts, h.Point)
			at := notPlaced
			if i%7 == 0 {
				at = before
			}
			m.at = append(m.at, at)
		}
		return m
	}
	for _, workers := range []int{1, 2, 3, 5} {
		m := memo()
		placeCells(m, index, res, workers)
		inside := 0
		for i, h := range hz {
			want := int32(before)
			if i%7 != 0 {
				want = -1
				c, err := spatial.PointToCell(h.Point, res)
				if k, ok := index[c]; err == nil && ok {
					want = k
					inside++
				}
			}
			if m.at[i] != want {
				t.Fatalf("%d goroutines: hazard %d placed in %d, want %d", workers, i, m.at[i], want)
			}
		}
		if inside == 0 {
			t.Fatal("no hazard in the area")
		}
	}
}

func containsFID(fids []int64, fid int64) bool {
	for _, f := range fids {
		if f == fid {
			return true
		}
	}
	return false
}
