package live_test

import (
	"context"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/tiles"
)

// withoutStreets clears the demo's streets and units (another process's
// write) and waits until the scene has none: the tests below start from a
// store without them.
func withoutStreets(t *testing.T, f fixture) {
	t.Helper()
	commit(t, f.other, func(ctx context.Context, tx data.Tx) error {
		if err := tx.Clear(ctx, data.LayerStreets); err != nil {
			return err
		}
		return tx.Clear(ctx, data.LayerUnits)
	})
	eventually(t, "no streets or units in the scene", func() bool {
		return f.svc.Scene().Streets.Len() == 0 && f.svc.Scene().Units.Len() == 0
	})
}

// TestStreetTilesFollowFeed: streets and units written by another process
// reach the tile scene, and the cached (empty) tiles of their layers are
// dropped, while a cached tile of another layer is kept.
func TestStreetTilesFollowFeed(t *testing.T) {
	f := newFixture(t)
	withoutStreets(t, f)
	ctx := context.Background()
	tile := maptile.At(vaduz, 15)
	get := func(layer string) *tiles.Encoded {
		t.Helper()
		e, err := f.svc.Tile(ctx, []string{layer}, tile)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if e := get(tiles.LayerStreets); e.Raw != nil {
		t.Fatal("a streets tile before any street")
	}
	get(tiles.LayerUnits)
	areas := get(tiles.LayerAreas)

	st := data.Street{ID: "w1", Kind: data.StreetRoad, Class: "primary", Name: "Aeulestrasse",
		Geometry: orb.MultiLineString{{{vaduz[0] - 0.005, vaduz[1]}, {vaduz[0] + 0.005, vaduz[1] + 0.0001}}}}
	var fid int64
	commit(t, f.other, func(ctx context.Context, tx data.Tx) (err error) { fid, err = tx.AddStreet(ctx, st); return err })
	eventually(t, "street in the scene", func() bool { return f.svc.Scene().Streets.Len() == 1 })
	if e := get(tiles.LayerStreets); e.Raw == nil {
		t.Fatal("the streets tile is still the empty one cached before the street")
	}
	if e := get(tiles.LayerUnits); e.Raw != nil {
		t.Fatal("a units tile before any unit")
	}

	u := data.Unit{ID: "school-1", Kind: "school", Name: "Primarschule", Geometry: vaduz}
	commit(t, f.other, func(ctx context.Context, tx data.Tx) error { _, err := tx.AddUnit(ctx, u); return err })
	eventually(t, "unit in the scene", func() bool { return f.svc.Scene().Units.Len() == 1 })
	if e := get(tiles.LayerUnits); e.Raw == nil {
		t.Fatal("the units tile is still the empty one cached before the unit")
	}
	if f.svc.Scene().Streets.Len() != 1 {
		t.Fatal("the streets layer lost with a unit write")
	}
	if e := get(tiles.LayerAreas); e != areas {
		t.Error("an areas tile dropped by a street or unit write")
	}

	commit(t, f.other, func(ctx context.Context, tx data.Tx) error { return tx.Delete(ctx, data.LayerStreets, fid) })
	eventually(t, "street deleted from the scene", func() bool { return f.svc.Scene().Streets.Len() == 0 })
	if e := get(tiles.LayerStreets); e.Raw != nil {
		t.Fatal("the street's tile still cached after it was deleted")
	}
}

// TestStreetSharesKept: a plan's street shares are measured once while the
// streets stay, and again after they change; none without streets.
func TestStreetSharesKept(t *testing.T) {
	f := newFixture(t)
	withoutStreets(t, f)
	ctx := context.Background()
	p := leafPlan(t, f.svc)
	p.ID = 7
	if sh, err := f.svc.StreetShares(ctx, p); err != nil || sh != nil {
		t.Fatalf("without streets: %v, %v", sh, err)
	}
	add := func(id string) {
		st := data.Street{ID: id, Kind: data.StreetRoad, Class: "primary",
			Geometry: orb.MultiLineString{{{vaduz[0] - 0.005, vaduz[1]}, {vaduz[0] + 0.005, vaduz[1] + 0.0001}}}}
		n := f.svc.Scene().Streets.Len()
		commit(t, f.other, func(ctx context.Context, tx data.Tx) error { _, err := tx.AddStreet(ctx, st); return err })
		eventually(t, "street in the scene", func() bool { return f.svc.Scene().Streets.Len() == n+1 })
	}
	add("w1")
	a, err := f.svc.StreetShares(ctx, p)
	if err != nil || len(a) != len(p.Grids) {
		t.Fatalf("%d shares for %d grids, %v", len(a), len(p.Grids), err)
	}
	if b, _ := f.svc.StreetShares(ctx, p); &b[0] != &a[0] {
		t.Error("measured again with the same streets")
	}
	add("w2")
	if c, _ := f.svc.StreetShares(ctx, p); len(c) != len(a) || &c[0] == &a[0] {
		t.Error("not measured again after the streets changed")
	}
}
