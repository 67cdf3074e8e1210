package tiles

import (
	"context"
	"sync"

	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
)

// Scene is everything the tiles of one data version are drawn from. Build
// one per version; its parts may be shared with the scenes of other
// versions when they did not change (a hazard write leaves the grids
// alone). A Scene is safe for concurrent use.
type Scene struct {
	Version uint64
	Grids   *Polygons // the published plan's grids; nil when none is published
	Areas   *Polygons
	Hazards *Points
	Cameras *Points
	// Study is the hotspot study area; the hotspots layer is computed from
	// it and Hazards on first use.
	Study *Study

	hotOnce sync.Once
	hot     *hotspotLayer
	hotErr  error
}

// Render encodes the tile t with the named layers, in the order named. A
// tile with no feature in any layer is nil.
func (s *Scene) Render(ctx context.Context, layers []string, t maptile.Tile) ([]byte, error) {
	f := newFrame(t)
	z := int(t.Z)
	var sc scratch
	var out []byte
	for _, name := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lw := NewLayerWriter(name, Extent)
		switch name {
		case LayerGrids:
			s.Grids.render(lw, f, z, &sc)
		case LayerAreas:
			s.Areas.render(lw, f, z, &sc)
		case LayerHazards:
			s.Hazards.render(lw, f, z, &sc)
		case LayerCameras:
			s.Cameras.render(lw, f, z, &sc)
		case LayerHotspots:
			hot, err := s.hotspots(ctx)
			if err != nil {
				return nil, err
			}
			if z >= HotspotCellZoom {
				hot.cells.render(lw, f, z, &sc)
			} else {
				hot.bins.render(lw, f, z, &sc)
			}
		}
		out = lw.AppendTo(out)
	}
	return out, nil
}

// HazardList returns the scene's hazards in FID order.
func (s *Scene) HazardList() []data.Hazard {
	if s.Hazards == nil {
		return nil
	}
	return s.Hazards.hazards
}

// hotspots computes the hotspots layer once per scene: Gi* over all
// hazards at the default resolution.
func (s *Scene) hotspots(ctx context.Context) (*hotspotLayer, error) {
	s.hotOnce.Do(func() {
		// Shared by every request of this version: one caller going away
		// must not spoil it for the others.
		r, err := Hotspots(context.WithoutCancel(ctx), s.HazardList(), s.Study, HotspotQuery{})
		if err != nil {
			s.hotErr = err
			return
		}
		s.hot, s.hotErr = newHotspotLayer(r)
	})
	return s.hot, s.hotErr
}
