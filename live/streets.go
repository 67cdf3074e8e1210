package live

import (
	"context"
	"sync"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/gridgen"
	"github.com/wangge/wangge/tiles"
)

// Streets and units are held only as tile layers: nothing else in memory
// reads them (gridgen reads them from the store when a plan is drawn). They
// change in bulk (an import replaces a city's streets), so any change
// reloads the layer whole and drops all its cached tiles, rather than
// following rows by fid as hazards do.

// streetLayers are the streets and units tile layers built from the store.
type streetLayers struct {
	streets *tiles.Lines
	units   *tiles.Units
}

// loadStreets reads the streets (when streets) and the units (when units)
// from the store and builds their tile layers; the other stays nil.
func (s *Service) loadStreets(ctx context.Context, streets, units bool) (streetLayers, error) {
	var out streetLayers
	if streets {
		st, err := s.store.Streets(ctx)
		if err != nil {
			return out, err
		}
		out.streets = tiles.NewLines(tiles.StreetFeatures(st))
	}
	if units {
		us, err := s.store.Units(ctx)
		if err != nil {
			return out, err
		}
		out.units = tiles.NewUnits(us)
	}
	return out, nil
}

// setStreets keeps the layers of l that are not nil for the scenes built
// from now on. The caller holds ts.mu.
func (ts *tileState) setStreets(l streetLayers) {
	if l.streets != nil {
		ts.streets = l.streets
	}
	if l.units != nil {
		ts.units = l.units
	}
}

// reloadStreetLayers loads both layers whole into the tile state, for the
// scene rebuildScene makes next: at Load.
func (s *Service) reloadStreetLayers(ctx context.Context) error {
	l, err := s.loadStreets(ctx, true, true)
	if err != nil {
		return err
	}
	ts := &s.tiles
	ts.mu.Lock()
	ts.setStreets(l)
	ts.mu.Unlock()
	return nil
}

// feedStreets and feedUnits are the feed's names of the two layers.
const (
	feedStreets = string(data.LayerStreets)
	feedUnits   = string(data.LayerUnits)
)

// shareCache keeps the grids' street shares of the last plans asked for,
// with the streets layer they were measured against: measuring walks every
// shared boundary in 5 m pieces (a second or more for a city of thousands
// of grids), and the planner's comparison asks for two plans at a time.
type shareCache struct {
	mu      sync.Mutex
	entries []shareEntry // most recently used last
}

type shareEntry struct {
	plan    uint64       // gridsPrint of the plan
	streets *tiles.Lines // the tile layer of the streets measured against: a new one on every change
	shares  []gridgen.GridStreetShare
}

// maxShareEntries bounds the plans whose shares are kept: 16 bytes a
// grid, so the bound is for deployments that open many plans.
const maxShareEntries = 8

// StreetShares returns each grid's share of boundary along streets for
// the stored plan p (gridgen.StreetShares against the stored streets), in
// the order of p.Grids; nil when there are no streets. The shares are kept
// per plan, by a print of its grids (a plan's grids edited in place with
// GDAL are another plan here), until the streets change (the views reload
// them on any change).
func (s *Service) StreetShares(ctx context.Context, p data.Plan) ([]gridgen.GridStreetShare, error) {
	cur := s.Scene().Streets
	if cur.Len() == 0 {
		return nil, nil
	}
	fp := gridsPrint(&p)
	c := &s.shares
	c.mu.Lock()
	for i, e := range c.entries {
		if e.plan == fp && e.streets == cur && p.ID != 0 {
			c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), e)
			c.mu.Unlock()
			return e.shares, nil
		}
	}
	c.mu.Unlock()
	streets, err := s.store.Streets(ctx)
	if err != nil {
		return nil, err
	}
	shares := gridgen.StreetShares(p.Grids, streets)
	if p.ID == 0 {
		return shares, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, shareEntry{plan: fp, streets: cur, shares: shares})
	if len(c.entries) > maxShareEntries {
		c.entries = c.entries[len(c.entries)-maxShareEntries:]
	}
	return shares, nil
}
