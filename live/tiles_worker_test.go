package live_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
)

// TestGridTilesNameTheirWorker: the grids layer names each grid's worker
// from the roster (the map labels it from z16), and follows a renamed
// worker written by another process.
func TestGridTilesNameTheirWorker(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pp := f.publishElsewhere(t, leafPlan(t, f.svc))
	// A worker of the roster for the first grid, written by another process.
	g := pp.Plan.Grids[0]
	w := data.Worker{ID: "tilew1", Name: "示例·标注员", Role: "full_time", GridCodes: []string{g.Code}}
	commit(t, f.other, func(ctx context.Context, tx data.Tx) error { return tx.AddWorker(ctx, w) })
	eventually(t, "the worker on the roster", func() bool {
		st := f.svc.Staffed()
		return st != nil && st.Plan == pp && len(st.Staff[0].Workers) > 0
	})
	// The tile's value table holds the grid's code and its worker's name
	// as strings (decoding it is tiles' and test/tiles' business).
	tile := func() []byte {
		enc, err := f.svc.Tile(ctx, []string{"grids"}, maptile.At(g.Geometry[0][0][0], 14))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(enc.Raw, []byte(g.Code)) {
			t.Fatalf("grid %s not in its tile", g.Code)
		}
		return enc.Raw
	}
	eventually(t, "the worker in the grid's tile", func() bool { return bytes.Contains(tile(), []byte(w.Name)) })
	renamed := w
	renamed.Name = w.Name + "二"
	commit(t, f.other, func(ctx context.Context, tx data.Tx) error { return tx.UpdateWorker(ctx, renamed) })
	eventually(t, "the renamed worker in the grid's tile", func() bool { return bytes.Contains(tile(), []byte(renamed.Name)) })
}
