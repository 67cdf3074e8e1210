package storetest

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// The contract of writing: refusals, duplicates, updates, deletes, clears
// and what a rolled back or finished transaction leaves.

// Bad records are refused one by one, with a message naming the problem,
// and the transaction goes on.
func testRejects(t *testing.T, s data.Store) {
	ctx := context.Background()
	fill(t, s)
	tx := begin(t, s)
	p := orb.Point{9.5, 47.1}
	open := func(h data.Hazard) data.Hazard {
		h.Point, h.Category, h.Severity, h.Status, h.ReportedAt = p, "fire", 1, data.StatusReported, at
		return h
	}
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"duplicate household", second(tx.AddHousehold(ctx, data.Household{ID: "h1", Point: p, Households: 1})), data.ECONFLICT, `duplicate id "h1"`},
		{"households 0", second(tx.AddHousehold(ctx, data.Household{ID: "h9", Point: p})), data.EINVALID, "households must be at least 1"},
		{"empty id", second(tx.AddHousehold(ctx, data.Household{Point: p, Households: 1})), data.EINVALID, "id is empty"},
		{"latitude", second(tx.AddHousehold(ctx, data.Household{ID: "h9", Point: orb.Point{9.5, 97.1}, Households: 1})), data.EINVALID, "latitude out of range"},
		{"NaN", second(tx.AddHousehold(ctx, data.Household{ID: "h9", Point: orb.Point{math.NaN(), 47}, Households: 1})), data.EINVALID, "longitude is not a finite number"},
		{"duplicate hazard", second(tx.AddHazard(ctx, open(data.Hazard{ID: "z2"}))), data.ECONFLICT, `duplicate id "z2"`},
		// Categories are checked against a taxonomy above the store; the
		// store keeps codes well-formed.
		{"category", second(tx.AddHazard(ctx, data.Hazard{ID: "z9", Point: p, Category: "UFO!", Severity: 1, Status: "reported", ReportedAt: at})), data.EINVALID, `category "UFO!" is not a category code`},
		{"status", second(tx.AddHazard(ctx, data.Hazard{ID: "z9", Point: p, Category: "fire", Severity: 1, Status: "open", ReportedAt: at})), data.EINVALID, `unknown status "open"`},
		{"resp_level", second(tx.AddHazard(ctx, open(data.Hazard{ID: "z9", RespLevel: -1}))), data.EINVALID, "resp_level"},
		{"note", second(tx.AddHazard(ctx, open(data.Hazard{ID: "z9", Note: "\xff"}))), data.EINVALID, "note"},
		{"severity", second(tx.AddHazard(ctx, data.Hazard{ID: "z9", Point: p, Category: "fire", Severity: 4, Status: "reported", ReportedAt: at})), data.EINVALID, "severity must be 1, 2 or 3"},
		{"no time", second(tx.AddHazard(ctx, data.Hazard{ID: "z9", Point: p, Category: "fire", Severity: 1, Status: "reported"})), data.EINVALID, "reported_at"},
		{"duplicate camera", second(tx.AddCamera(ctx, data.Camera{ID: "c1", Point: p, Azimuth: 1, FOV: 1, RangeM: 1, Status: "online"})), data.ECONFLICT, `duplicate id "c1"`},
		{"range", second(tx.AddCamera(ctx, data.Camera{ID: "c9", Point: p, Azimuth: 1, FOV: 1, RangeM: 0, Status: "online"})), data.EINVALID, "range_m"},
		{"azimuth", second(tx.AddCamera(ctx, data.Camera{ID: "c9", Point: p, Azimuth: 360, FOV: 1, RangeM: 1, Status: "online"})), data.EINVALID, "azimuth"},
		{"duplicate area", second(tx.AddArea(ctx, data.Area{Code: "A", Level: 1, Geometry: square})), data.ECONFLICT, `duplicate area code "A"`},
		{"unclosed", second(tx.AddArea(ctx, data.Area{Code: "X", Level: 1, Geometry: orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}}})), data.EINVALID, "not closed"},
		{"level", second(tx.AddArea(ctx, data.Area{Code: "X", Level: 0, Geometry: square})), data.EINVALID, "level"},
		{"no polygon", second(tx.AddArea(ctx, data.Area{Code: "X", Level: 1})), data.EINVALID, "no polygon"},
		{"publish missing", tx.PublishPlan(ctx, 424242), data.ENOTFOUND, "no plan 424242"},
		{"plan target", second(tx.SavePlan(ctx, data.Plan{Target: 0})), data.EINVALID, "target"},
		{"delete missing", tx.Delete(ctx, data.LayerHazards, 424242), data.ENOTFOUND, "424242"},
		{"delete unknown layer", tx.Delete(ctx, "roads", 1), data.ENOTFOUND, "roads"},
		{"clear unknown layer", tx.Clear(ctx, "roads"), data.ENOTFOUND, "roads"},
	}
	for _, tc := range tests {
		wantCode(t, tc.name, tc.err, tc.code, tc.msg)
	}
	// The rejected records did not spoil the transaction.
	ok(t)(tx.AddHousehold(ctx, data.Household{ID: "h3", Point: p, Households: 1}))
	ok(t)(tx.AddHazard(ctx, open(data.Hazard{ID: "z4"})))
	ok(t)(tx.AddArea(ctx, data.Area{Code: "X", Level: 1, Geometry: square}))
	commit(t, tx)
	for l, n := range map[data.Layer]int{data.LayerHouseholds: 3, data.LayerHazards: 4, data.LayerAreas: 4, data.LayerCameras: 2} {
		if c := count(t, s, l); c != n {
			t.Errorf("Count(%s) = %d, want %d", l, c, n)
		}
	}
}

// Duplicates within one transaction are found however many records came
// between (imports of a million rows, buffered or not).
func testDuplicatesInOneTx(t *testing.T, s data.Store) {
	ctx := context.Background()
	tx := begin(t, s)
	const n = 3000
	fidOf := map[string]int64{}
	var last int64
	for i := range n {
		id := fmt.Sprintf("p%05d", i)
		fid := ok(t)(tx.AddHousehold(ctx, data.Household{ID: id, Point: orb.Point{9.5 + float64(i)/1e5, 47.1}, Households: 1 + i%5}))
		if fid <= last {
			t.Fatalf("fid %d after %d: fids must grow in insertion order", fid, last)
		}
		last = fid
		fidOf[id] = fid
		// Repeat an early id, the previous id, and now and then the one just added.
		if i%500 == 499 {
			for _, dup := range []string{"p00000", fmt.Sprintf("p%05d", i-1), id} {
				_, err := tx.AddHousehold(ctx, data.Household{ID: dup, Point: orb.Point{9.5, 47.1}, Households: 1})
				wantCode(t, "duplicate "+dup, err, data.ECONFLICT, fmt.Sprintf("duplicate id %q", dup))
			}
		}
	}
	commit(t, tx)
	if c := count(t, s, data.LayerHouseholds); c != n {
		t.Errorf("households = %d, want %d", c, n)
	}
	seen := 0
	err := s.EachHousehold(ctx, func(h data.Household) error {
		if fidOf[h.ID] != h.FID {
			return fmt.Errorf("household %s has fid %d, Add returned %d", h.ID, h.FID, fidOf[h.ID])
		}
		seen++
		return nil
	})
	if err != nil || seen != n {
		t.Errorf("EachHousehold: %d, %v", seen, err)
	}
}

// A second import finds the ids of the first, both the first few records
// and after many.
func testDuplicatesAgainstStored(t *testing.T, s data.Store) {
	ctx := context.Background()
	tx := begin(t, s)
	for i := range 500 {
		ok(t)(tx.AddHazard(ctx, data.Hazard{ID: fmt.Sprintf("x%d", i), Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 1, Status: "reported", ReportedAt: at}))
	}
	commit(t, tx)
	tx = begin(t, s)
	added, refused := 0, 0
	for i := 400; i < 1200; i++ {
		_, err := tx.AddHazard(ctx, data.Hazard{ID: fmt.Sprintf("x%d", i), Point: orb.Point{9.5, 47.1}, Category: "water", Severity: 2, Status: "reported", ReportedAt: at})
		switch {
		case err == nil:
			added++
		case data.ErrorCode(err) == data.ECONFLICT:
			refused++
		default:
			t.Fatalf("x%d: %v", i, err)
		}
	}
	commit(t, tx)
	if added != 700 || refused != 100 || count(t, s, data.LayerHazards) != 1200 {
		t.Errorf("added %d refused %d stored %d; want 700 100 1200", added, refused, count(t, s, data.LayerHazards))
	}
}

func testUpdateDelete(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	tx := begin(t, s)
	h := f.hazards[0]
	h.Status, h.Point, h.Severity, h.ReportedAt = "resolved", orb.Point{9.9, 47.9}, 3, at.Add(time.Minute)
	if err := tx.UpdateHazard(ctx, h); err != nil {
		t.Fatal(err)
	}
	c := f.cameras[0]
	c.ID, c.Azimuth, c.Status = "c1-renamed", 270, "offline"
	if err := tx.UpdateCamera(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(ctx, data.LayerCameras, f.cameras[1].FID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(ctx, data.LayerHouseholds, f.households[0].FID); err != nil {
		t.Fatal(err)
	}
	missing := h
	missing.FID = 424242
	wantCode(t, "update missing hazard", tx.UpdateHazard(ctx, missing), data.ENOTFOUND, "424242")
	mc := c
	mc.FID = 424242
	wantCode(t, "update missing camera", tx.UpdateCamera(ctx, mc), data.ENOTFOUND, "424242")
	wantCode(t, "delete twice", tx.Delete(ctx, data.LayerCameras, f.cameras[1].FID), data.ENOTFOUND, "")
	taken := h
	taken.ID = "z2"
	wantCode(t, "update to a taken id", tx.UpdateHazard(ctx, taken), data.ECONFLICT, `duplicate id "z2"`)
	bad := h
	bad.Severity = 0
	wantCode(t, "update invalid", tx.UpdateHazard(ctx, bad), data.EINVALID, "severity")
	// The transaction is still good: the old id of the renamed camera is free.
	ok(t)(tx.AddCamera(ctx, data.Camera{ID: "c1", Point: orb.Point{9.51, 47.11}, Azimuth: 1, FOV: 1, RangeM: 1, Status: "online"}))
	wantCode(t, "new id of the renamed camera", second(tx.AddCamera(ctx, data.Camera{ID: "c1-renamed", Point: orb.Point{9.51, 47.11}, Azimuth: 1, FOV: 1, RangeM: 1, Status: "online"})), data.ECONFLICT, "c1-renamed")
	commit(t, tx)

	got, err := s.Hazard(ctx, h.FID)
	if err != nil || !equalHazard(got, h) {
		t.Errorf("after update: %+v, %v; want %+v", got, err, h)
	}
	gc, err := s.Camera(ctx, c.FID)
	if err != nil || gc != c {
		t.Errorf("after update: %+v, %v; want %+v", gc, err, c)
	}
	_, err = s.Camera(ctx, f.cameras[1].FID)
	wantCode(t, "deleted camera", err, data.ENOTFOUND, "")
	if n := count(t, s, data.LayerHouseholds); n != 1 {
		t.Errorf("households = %d, want 1", n)
	}
	// The index moved with the point: the old box is empty, the new one finds it.
	for _, tc := range []struct {
		b    orb.Bound
		want int
	}{
		{orb.Bound{Min: orb.Point{9.51, 47.11}, Max: orb.Point{9.53, 47.13}}, 0},
		{orb.Bound{Min: orb.Point{9.89, 47.89}, Max: orb.Point{9.91, 47.91}}, 1},
	} {
		page, err := s.Items(ctx, data.LayerHazards, data.Query{BBox: &tc.b, Limit: 5})
		if err != nil || page.Matched != tc.want {
			t.Errorf("bbox %v: %d, %v; want %d", tc.b, page.Matched, err, tc.want)
		}
	}
}

// A record deleted in a transaction frees its id for the same transaction.
func testDeleteThenReAdd(t *testing.T, s data.Store) {
	ctx := context.Background()
	tx := begin(t, s)
	var first int64
	for i := range 100 {
		fid := ok(t)(tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("d%d", i), Point: orb.Point{9.5, 47.1}, Households: 1}))
		if i == 0 {
			first = fid
		}
	}
	if err := tx.Delete(ctx, data.LayerHouseholds, first); err != nil {
		t.Fatal(err)
	}
	ok(t)(tx.AddHousehold(ctx, data.Household{ID: "d0", Point: orb.Point{9.6, 47.2}, Households: 2}))
	_, err := tx.AddHousehold(ctx, data.Household{ID: "d1", Point: orb.Point{9.6, 47.2}, Households: 2})
	wantCode(t, "d1 again", err, data.ECONFLICT, `"d1"`)
	commit(t, tx)
	if n := count(t, s, data.LayerHouseholds); n != 100 {
		t.Errorf("households = %d, want 100", n)
	}
}

// Clear then add is how `import --replace` works: the old ids are free.
func testClearAndReplace(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	tx := begin(t, s)
	for _, l := range []data.Layer{data.LayerHouseholds, data.LayerHazards, data.LayerCameras, data.LayerAreas} {
		if err := tx.Clear(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	ok(t)(tx.AddHousehold(ctx, data.Household{ID: "h1", Point: orb.Point{1, 2}, Households: 7}))
	ok(t)(tx.AddHazard(ctx, f.hazards[1]))
	ok(t)(tx.AddArea(ctx, f.areas[0]))
	// Rows added before a Clear are cleared too.
	ok(t)(tx.AddCamera(ctx, f.cameras[0]))
	if err := tx.Clear(ctx, data.LayerCameras); err != nil {
		t.Fatal(err)
	}
	ok(t)(tx.AddCamera(ctx, f.cameras[1]))
	if err := tx.PublishPlan(ctx, f.plan.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Clear(ctx, data.LayerGrids); err != nil {
		t.Fatal(err)
	}
	commit(t, tx)
	for l, n := range map[data.Layer]int{data.LayerHouseholds: 1, data.LayerHazards: 1, data.LayerCameras: 1, data.LayerAreas: 1, data.LayerGrids: 0} {
		if c := count(t, s, l); c != n {
			t.Errorf("Count(%s) = %d, want %d", l, c, n)
		}
	}
	if p, err := s.Plans(ctx); err != nil || len(p) != 0 {
		t.Errorf("plans after clearing grids: %v, %v", p, err)
	}
	var hh []data.Household
	s.EachHousehold(ctx, func(h data.Household) error { hh = append(hh, h); return nil })
	if len(hh) != 1 || hh[0].Households != 7 || hh[0].Point != (orb.Point{1, 2}) {
		t.Errorf("households after replace: %+v", hh)
	}
}

// A rolled-back transaction leaves nothing behind, and readers never see
// half of it.
func testRollback(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		ok(t)(tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("r%d", i), Point: orb.Point{9.5, 47.1}, Households: 1}))
	}
	if err := tx.Clear(ctx, data.LayerHazards); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(ctx, data.LayerCameras, f.cameras[0].FID); err != nil {
		t.Fatal(err)
	}
	id := ok(t)(tx.SavePlan(ctx, data.Plan{Target: 10, Resolution: 8}))
	if err := tx.PublishPlan(ctx, id); err != nil {
		t.Fatal(err)
	}
	// A reader during the write sees the committed state.
	if n := count(t, s, data.LayerHouseholds); n != 2 {
		t.Errorf("households during write = %d; want 2", n)
	}
	if n := count(t, s, data.LayerHazards); n != 3 {
		t.Errorf("hazards during write = %d; want 3", n)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	for l, n := range map[data.Layer]int{data.LayerHouseholds: 2, data.LayerHazards: 3, data.LayerCameras: 2} {
		if c := count(t, s, l); c != n {
			t.Errorf("%s after rollback = %d, want %d", l, c, n)
		}
	}
	if p, err := s.Plans(ctx); err != nil || len(p) != 1 {
		t.Errorf("plans after rollback: %d, %v", len(p), err)
	}
	if _, err := s.PublishedPlan(ctx); data.ErrorCode(err) != data.ENOTFOUND {
		t.Errorf("published plan after rollback: %v", err)
	}
	// The ids of the rolled-back records are free again.
	tx = begin(t, s)
	ok(t)(tx.AddHousehold(ctx, data.Household{ID: "r0", Point: orb.Point{9.5, 47.1}, Households: 1}))
	commit(t, tx)
}

func testFinishedTx(t *testing.T, s data.Store) {
	ctx := context.Background()
	tx := begin(t, s)
	ok(t)(tx.AddHousehold(ctx, data.Household{ID: "f1", Point: orb.Point{9.5, 47.1}, Households: 1}))
	commit(t, tx)
	if err := tx.Rollback(); err != nil {
		t.Errorf("Rollback after Commit: %v, want nil", err)
	}
	if err := tx.Commit(); err == nil {
		t.Error("second Commit succeeded")
	}
	if n := count(t, s, data.LayerHouseholds); n != 1 {
		t.Errorf("households = %d", n)
	}
	tx = begin(t, s)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Errorf("second Rollback: %v", err)
	}
}
