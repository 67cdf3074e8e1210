package storetest

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// testStreetsUnits: the layers of issue 16 round-trip with their
// properties, are served as features with filters, refuse what the domain
// refuses, and are in the change feed.
func testStreetsUnits(t *testing.T, s data.Store) {
	ctx := context.Background()
	before := lastSeq(t, s)
	streets := []data.Street{
		{ID: "way/1", Kind: data.StreetRoad, Class: "primary", Name: "Landstrasse", OSMID: "way/1",
			Geometry: orb.MultiLineString{{{9.5, 47.1}, {9.51, 47.11}}}},
		{ID: "r1", Kind: data.StreetWater, Class: "river", Geometry: orb.MultiLineString{{{9.5, 47.1}, {9.5, 47.2}}, {{9.6, 47.1}, {9.6, 47.2}}}},
	}
	units := []data.Unit{
		{ID: "u1", Kind: "school", Name: "Primarschule", Geometry: orb.Point{9.52, 47.14}},
		{ID: "u2", Kind: "landuse_industrial", Geometry: orb.MultiPolygon{{{{9.5, 47.1}, {9.51, 47.1}, {9.51, 47.11}, {9.5, 47.1}}}}},
	}
	tx := begin(t, s)
	var fids []int64
	for _, st := range streets {
		fid, err := tx.AddStreet(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		fids = append(fids, fid)
	}
	for _, u := range units {
		fid, err := tx.AddUnit(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		fids = append(fids, fid)
	}
	_, err := tx.AddStreet(ctx, streets[0])
	wantCode(t, "duplicate street", err, data.ECONFLICT, "way/1")
	_, err = tx.AddStreet(ctx, data.Street{ID: "x", Kind: "canal_boat", Geometry: streets[0].Geometry})
	wantCode(t, "street kind", err, data.EINVALID, "kind")
	_, err = tx.AddStreet(ctx, data.Street{ID: "x", Kind: data.StreetRail, Geometry: orb.MultiLineString{{{9.5, 47.1}}}})
	wantCode(t, "one-point line", err, data.EINVALID, "positions")
	_, err = tx.AddUnit(ctx, data.Unit{ID: "x", Kind: "office", Geometry: orb.LineString{{9.5, 47.1}, {9.6, 47.1}}})
	wantCode(t, "line unit", err, data.EINVALID, "Point or a MultiPolygon")
	_, err = tx.AddUnit(ctx, data.Unit{ID: "x", Geometry: orb.Point{9.5, 47.1}})
	wantCode(t, "unit without kind", err, data.EINVALID, "kind")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	gotS, err := s.Streets(ctx)
	if err != nil || len(gotS) != 2 {
		t.Fatalf("Streets = %v, %v", gotS, err)
	}
	for i, st := range streets {
		st.FID = fids[i]
		if g := gotS[i]; g.FID != st.FID || g.ID != st.ID || g.Kind != st.Kind || g.Class != st.Class || g.Name != st.Name ||
			g.OSMID != st.OSMID || !orb.Equal(g.Geometry, st.Geometry) {
			t.Errorf("street %d = %+v, want %+v", i, g, st)
		}
	}
	gotU, err := s.Units(ctx)
	if err != nil || len(gotU) != 2 {
		t.Fatalf("Units = %v, %v", gotU, err)
	}
	for i, u := range units {
		if g := gotU[i]; g.FID != fids[2+i] || g.ID != u.ID || g.Kind != u.Kind || g.Name != u.Name || !orb.Equal(g.Geometry, u.Geometry) {
			t.Errorf("unit %d = %+v, want %+v", i, g, u)
		}
	}
	page, err := s.Items(ctx, data.LayerStreets, data.Query{Limit: 10, Filter: map[string]string{"kind": "water"}})
	if err != nil || page.Matched != 1 || len(page.Features) != 1 || page.Features[0].Properties["class"] != "river" {
		t.Errorf("Items(streets, kind=water) = %+v, %v", page, err)
	}
	f, err := s.Item(ctx, data.LayerUnits, fids[2])
	if err != nil || f.Properties["name"] != "Primarschule" || f.Properties["kind"] != "school" {
		t.Errorf("Item(units) = %+v, %v", f, err)
	}
	if b, ok, err := s.Extent(ctx, data.LayerStreets); err != nil || !ok || b.Min[0] != 9.5 || b.Max[1] != 47.2 {
		t.Errorf("Extent(streets) = %v, %v, %v", b, ok, err)
	}

	tx = begin(t, s)
	if err := tx.Delete(ctx, data.LayerStreets, fids[0]); err != nil {
		t.Fatal(err)
	}
	if err := tx.Clear(ctx, data.LayerUnits); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, data.LayerUnits); n != 0 {
		t.Errorf("units after Clear: %d", n)
	}
	S, U := string(data.LayerStreets), string(data.LayerUnits)
	got := sortedEntries(entries(feed(t, s, before)))
	want := sortedEntries([]entry{{S, fids[0], data.OpInsert}, {S, fids[1], data.OpInsert}, {U, fids[2], data.OpInsert}, {U, fids[3], data.OpInsert},
		{S, fids[0], data.OpDelete}, {U, fids[2], data.OpDelete}, {U, fids[3], data.OpDelete}})
	if len(got) != len(want) {
		t.Fatalf("feed = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("feed = %v, want %v", got, want)
			break
		}
	}
}
