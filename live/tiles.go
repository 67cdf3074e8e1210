package live

import (
	"context"
	"slices"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
	"github.com/wangge/wangge/tiles"
)

// tileState is the tile scene of the current version and the cache of
// encoded tiles. A write replaces the scene with one that shares every
// unchanged part and drops only the cached tiles the change can reach.
type tileState struct {
	mu    sync.Mutex // held by writers of scene (the follower) only
	scene *tiles.Scene
	// Parts kept while the data they come from is the same.
	plan  *Plan
	staff *Staffed // the staff the grids' worker names came from
	grids *tiles.Polygons
	area  *Areas
	areas *tiles.Polygons
	study *tiles.Study
	// The streets and units layers, reloaded whole on any change of
	// theirs (streets.go).
	streets *tiles.Lines
	units   *tiles.Units

	cache *tiles.Cache
}

// sceneDelta is one batch of point changes for the scene, and the places
// the old points stood.
type sceneDelta struct {
	hazardPuts []data.Hazard
	hazardDels []int64
	cameraPuts []data.Camera
	cameraDels []int64
	shapes     bool // areas, the plan or the roster changed
	// streets holds the streets or units layer reloaded (nil: unchanged).
	streets streetLayers
}

// Scene returns the tile scene of the current version.
func (s *Service) Scene() *tiles.Scene {
	ts := &s.tiles
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.scene
}

// TileCache returns the cache of encoded tiles.
func (s *Service) TileCache() *tiles.Cache { return s.tiles.cache }

// Tile returns the encoded tile t of layers, rendered from the current
// scene when it is not cached. The scene is read inside the render, after
// the cache has noted the render's start, so that a render of a scene a
// write has just replaced is never kept.
func (s *Service) Tile(ctx context.Context, layers []string, t maptile.Tile) (*tiles.Encoded, error) {
	return s.TileIn(ctx, layers, t, spatial.WGS84)
}

// TileIn is Tile drawn in c (GCJ-02 for AMap and Tencent base maps): its
// own cache entry (tiles.TileKeyIn), invalidated where the GCJ-02 image of
// a change reaches, and ETags prefixed with the CRS.
func (s *Service) TileIn(ctx context.Context, layers []string, t maptile.Tile, c spatial.CRS) (*tiles.Encoded, error) {
	if slices.Contains(layers, tiles.LayerGrids) {
		// Grid tiles draw the risk of this version (risk.go).
		s.riskForTiles(ctx)
	}
	prefix := ""
	if c != spatial.WGS84 {
		prefix = c.String()
	}
	return s.tiles.cache.GetIn(tiles.TileKeyIn(layers, t, c), layers, t, c, func() (*tiles.Encoded, error) {
		raw, err := s.Scene().RenderIn(context.WithoutCancel(ctx), layers, t, c)
		if err != nil {
			return nil, err
		}
		return tiles.EncodeTagged(raw, prefix), nil
	})
}

// reshaped says which polygon layers shapes rebuilt.
type reshaped struct{ grids, areas, study bool }

// shapes refreshes the polygon layers whose source changed: the grids when
// the plan or its staff did, the areas when the areas did, and the
// hotspots' study area when what it is drawn from did (the leaf areas, or
// the plan where there are none). Only those: a plan published rebuilds
// the grids alone, and the study keeps the cells it has counted. The
// caller holds ts.mu.
func (s *Service) shapes(ts *tileState) reshaped {
	plan, areas, staff := s.published.Load(), s.areas.Load(), s.Staffed()
	var r reshaped
	planChanged := plan != ts.plan
	if planChanged || staff != ts.staff || ts.grids == nil {
		r.grids = true
		ts.plan, ts.staff, ts.grids = plan, staff, nil
		if plan != nil {
			ts.grids = tiles.NewPolygons(tiles.GridFeatures(withWorkers(plan, staff)))
		}
	}
	var list []data.Area
	if areas != nil {
		list = areas.List
	}
	if areas != ts.area || ts.areas == nil {
		ts.area, r.areas = areas, true
		ts.areas = tiles.NewPolygons(tiles.AreaFeatures(list))
	}
	if r.areas || ts.study == nil || (planChanged && len(leafAreas(list)) == 0) {
		r.study = true
		ts.study = tiles.NewStudy(studyArea(list, plan))
	}
	return r
}

// withWorkers is the plan with each grid's worker named as the map labels
// it (the tiles' worker): the plan's own name for it, else the first
// worker of its staff from the roster; the plan is not changed.
func withWorkers(p *Plan, st *Staffed) data.Plan {
	if st == nil || st.Plan != p {
		return p.Plan
	}
	out := p.Plan
	out.Grids = slices.Clone(p.Plan.Grids)
	for i := range out.Grids {
		if out.Grids[i].Worker == "" && i < len(st.Staff) && len(st.Staff[i].Workers) > 0 {
			out.Grids[i].Worker = st.Staff[i].Workers[0].Name
		}
	}
	return out
}

// scenePoints is the hazards and cameras layers of a scene, prepared from
// the lists the views were loaded from (reloadPoints).
type scenePoints struct{ hazards, cameras *tiles.Points }

// warmHotspots runs the default hotspot analysis of the scene (every
// hazard, tiles.DefaultHotspotRes), which the hotspot tile layer and
// /v1/hotspots without a query read, so that their first request finds it
// or waits for it under way: at 16× Montevideo it places 960,000 hazards
// in cells, half a second of CPU, and the first page took 0.46–0.63 s. A
// study area too large for the analysis is no warning here: the request
// says so.
func (s *Service) warmHotspots(ctx context.Context) {
	sc := s.Scene()
	if sc == nil || ctx.Err() != nil {
		return
	}
	if _, err := sc.Hotspots(ctx, tiles.HotspotQuery{}); err != nil && data.ErrorCode(err) != data.EINVALID {
		s.log.Warn("hotspots not computed in advance; the first request computes them", "err", err)
	}
}

// prepareShapes makes the scene's polygon layers of the plan, staff and
// areas as they are, which the next rebuildScene or updateScene finds
// made.
func (s *Service) prepareShapes() {
	ts := &s.tiles
	ts.mu.Lock()
	defer ts.mu.Unlock()
	s.shapes(ts)
}

// rebuildScene builds the whole scene, with the point layers given, and
// drops every cached tile: after a load or a layer reloaded whole.
func (s *Service) rebuildScene(pts scenePoints) {
	ts := &s.tiles
	ts.mu.Lock()
	defer ts.mu.Unlock()
	s.shapes(ts)
	ts.scene = &tiles.Scene{Grids: ts.grids, Areas: ts.areas, Study: ts.study, Hazards: pts.hazards, Cameras: pts.cameras,
		Streets: ts.streets, Units: ts.units}
	ts.cache.Invalidate(tiles.Dirty{All: true})
}

// updateScene derives the next scene from the current one and d, and
// drops the cached tiles that the old or new places of d's points reach.
// The scene is swapped before the cache is invalidated: a render that
// reads the old scene after the swap started before the invalidation, and
// the cache does not keep it.
func (s *Service) updateScene(d *sceneDelta) {
	ts := &s.tiles
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.scene == nil {
		return
	}
	next := ts.scene
	var dirty []tiles.Dirty
	if r := (reshaped{}); d.shapes {
		if r = s.shapes(ts); r.grids || r.areas || r.study {
			next = &tiles.Scene{Version: next.Version + 1, Grids: ts.grids, Areas: ts.areas, Study: ts.study,
				Hazards: next.Hazards, Cameras: next.Cameras, Streets: next.Streets, Units: next.Units}
		}
		if r.grids {
			dirty = append(dirty, tiles.Dirty{Layer: tiles.LayerGrids, All: true})
		}
		if r.areas {
			dirty = append(dirty, tiles.Dirty{Layer: tiles.LayerAreas, All: true})
		}
		if r.study {
			dirty = append(dirty, tiles.Dirty{Layer: tiles.LayerHotspots, All: true})
		}
	}
	if d.streets.streets != nil || d.streets.units != nil {
		ts.setStreets(d.streets)
		next = next.WithStreets(d.streets.streets, d.streets.units)
		if d.streets.streets != nil {
			dirty = append(dirty, tiles.Dirty{Layer: tiles.LayerStreets, All: true})
		}
		if d.streets.units != nil {
			dirty = append(dirty, tiles.Dirty{Layer: tiles.LayerUnits, All: true})
		}
	}
	if len(d.hazardPuts)+len(d.hazardDels) > 0 {
		var dd []tiles.Dirty
		next, dd = next.WithHazards(d.hazardPuts, d.hazardDels)
		dirty = append(dirty, dd...)
	}
	if len(d.cameraPuts)+len(d.cameraDels) > 0 {
		var dd []tiles.Dirty
		next, dd = next.WithCameras(d.cameraPuts, d.cameraDels)
		dirty = append(dirty, dd...)
	}
	if len(dirty) == 0 {
		return
	}
	ts.scene = next
	ts.cache.Invalidate(dirty...)
}

// studyArea is where the hotspot analysis counts zeros: the leaf areas,
// else the published grids, else nothing (then the incidents' bounding
// box).
func studyArea(areas []data.Area, plan *Plan) orb.MultiPolygon {
	mp := leafAreas(areas)
	if len(mp) == 0 && plan != nil {
		for _, g := range plan.Plan.Grids {
			mp = append(mp, g.Geometry...)
		}
	}
	return mp
}

// leafAreas is the union of the areas no other area names as parent; empty
// when there are none (no areas, or parent codes in a cycle written by
// psql).
func leafAreas(areas []data.Area) orb.MultiPolygon {
	parents := map[string]bool{}
	for _, a := range areas {
		parents[a.ParentCode] = true
	}
	var mp orb.MultiPolygon
	for _, a := range areas {
		if !parents[a.Code] {
			mp = append(mp, a.Geometry...)
		}
	}
	return mp
}
