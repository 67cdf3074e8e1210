package live

import (
	"context"

	"github.com/wangge/wangge/data"
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
