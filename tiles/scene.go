package tiles

import (
	"context"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// Scene is everything the tiles of one data version are drawn from. Build
// one per version; its parts may be shared with the scenes of other
// versions when they did not change (a hazard write leaves the grids
// alone), and WithHazards and WithCameras derive the next one in time
// proportional to the write. A Scene is safe for concurrent use.
type Scene struct {
	Version uint64
	Grids   *Polygons // the published plan's grids; nil when none is published
	Areas   *Polygons
	Hazards *Points
	Cameras *Points
	Streets *Lines // streets, rivers and railways
	Units   *Units
	// Study is the hotspot study area; the hotspots layer is computed from
	// it and Hazards on first use.
	Study *Study

	hotInit sync.Once
	hot     *lazyHotspots // shared with the scenes derived by WithCameras
}

// lazyHotspots is the hotspots layer of one set of hazards and study area,
// computed on first use.
type lazyHotspots struct {
	once  sync.Once
	layer *hotspotLayer
	err   error

	// The analyses /v1/hotspots asked for, by query: a client paging
	// through one gets the same cells on every page, computed once.
	mu      sync.Mutex
	results map[hotspotKey]*hotspotEntry
}

// hotspotKey is a HotspotQuery as a map key (times as Unix nanoseconds,
// the resolution defaulted).
type hotspotKey struct {
	category     string
	since, until int64
	res          int
}

type hotspotEntry struct {
	once sync.Once
	r    HotspotResult
	err  error
}

// maxHotspotResults bounds the analyses kept per set of hazards: each
// holds every study cell (about 10 MB at 16× Montevideo, res 9).
const maxHotspotResults = 8

// Render encodes the tile t with the named layers, in the order named. A
// tile with no feature in any layer is nil.
func (s *Scene) Render(ctx context.Context, layers []string, t maptile.Tile) ([]byte, error) {
	return s.RenderIn(ctx, layers, t, spatial.WGS84)
}

// RenderIn is Render with the features drawn in c: each vertex of the
// scene's WGS 84 data converted to c (exactly, or interpolated to a tenth
// of a tile unit, offsetGrid) before it is placed in the tile, so that a
// GCJ-02 tile lines up with AMap's and Tencent's base maps, whose tiles
// are Web Mercator tiles of GCJ-02 positions. The conversion is done at
// render time, after the per-zoom simplification: the scene stays one for
// both CRSs (a write derives one scene, not two), shared arcs stay shared
// (the same function of the same points), and the cost falls on cache
// misses only (BenchmarkRenderGCJ02). Clusters are the mean of their
// points converted, and bins are bins of the converted positions.
func (s *Scene) RenderIn(ctx context.Context, layers []string, t maptile.Tile, c spatial.CRS) ([]byte, error) {
	f := newFrameIn(t, c)
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
		case LayerStreets:
			s.Streets.render(lw, f, z, &sc)
		case LayerUnits:
			s.Units.render(lw, f, z, &sc)
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

// eachHazard calls fn with each of the scene's hazards in FID order,
// without copying them; fn must not keep or change them.
func (s *Scene) eachHazard(fn func(*data.Hazard)) {
	p := s.Hazards
	if p == nil || p.base.kind != kindHazards {
		return
	}
	if p.base.list != nil && len(p.over) == 0 && len(p.dead) == 0 {
		for i := range p.base.list {
			fn(&p.base.list[i])
		}
		return
	}
	p.eachByFID(func(e fidEntry) { fn(e.r.hz) })
}

// EachHazard calls fn with each of the scene's hazards in FID order,
// without copying them (HazardList copies every hazard once a write has
// been made); fn must not keep or change them.
func (s *Scene) EachHazard(fn func(*data.Hazard)) { s.eachHazard(fn) }

// HotspotsNow is Hotspots computed for the caller alone and not kept with
// the scene (the risk worker's window moves with the clock: its queries
// would crowd out the clients'), reading the hazards where they are.
func (s *Scene) HotspotsNow(ctx context.Context, q HotspotQuery) (HotspotResult, error) {
	return hotspots(ctx, s.eachHazard, s.Hazards.Len(), s.Study, q)
}

// Bound is the lon/lat extent of what the named layers draw: hotspots
// where the hazards are; false when they draw nothing.
func (s *Scene) Bound(layers []string) (orb.Bound, bool) {
	var b orb.Bound
	have := false
	add := func(x orb.Bound, ok bool) {
		if !ok {
			return
		}
		if !have {
			b, have = x, true
			return
		}
		b = b.Union(x)
	}
	for _, l := range layers {
		switch l {
		case LayerGrids:
			add(s.Grids.Bound())
		case LayerAreas:
			add(s.Areas.Bound())
		case LayerHazards, LayerHotspots:
			add(s.Hazards.Bound())
		case LayerCameras:
			add(s.Cameras.Bound())
		case LayerStreets:
			add(s.Streets.Bound())
		case LayerUnits:
			add(s.Units.Bound())
		}
	}
	return b, have
}

// HazardList returns the scene's hazards in FID order. It is shared: the
// caller must not change it. After writes it is merged once per layer, in
// O(n).
func (s *Scene) HazardList() []data.Hazard {
	return s.Hazards.hazardList()
}

// WithHazards returns the scene after a write: s with the hazards put
// (inserted, or replacing the hazard of the same FID) and the FIDs del
// deleted, Version one more; and where its tiles changed, for
// Cache.Invalidate: the hazards layer at the old and the new place of
// every hazard touched, and all of hotspots. s is unchanged and stays
// usable. The cost is O(k·log n) for k changes plus a bounded overlay copy
// (Points.WithHazards); the hotspots layer is computed again, in O(n), on
// its first use.
func (s *Scene) WithHazards(put []data.Hazard, del []int64) (*Scene, []Dirty) {
	hz, removed := s.Hazards.withHazards(put, del)
	n := &Scene{Version: s.Version + 1, Grids: s.Grids, Areas: s.Areas, Hazards: hz, Cameras: s.Cameras, Streets: s.Streets, Units: s.Units, Study: s.Study}
	dirty := make([]Dirty, 0, len(removed)+len(put)+1)
	for _, it := range removed {
		dirty = append(dirty, HazardDirty(*it.r.hz))
	}
	for _, h := range put {
		dirty = append(dirty, HazardDirty(h))
	}
	return n, append(dirty, Dirty{Layer: LayerHotspots, All: true})
}

// WithCameras is WithHazards for cameras: the cameras layer is dirty where
// each camera touched, and its sector, was and is. Hotspots stay, and are
// not computed again.
func (s *Scene) WithCameras(put []data.Camera, del []int64) (*Scene, []Dirty) {
	cams, removed := s.Cameras.withCameras(put, del)
	n := &Scene{Version: s.Version + 1, Grids: s.Grids, Areas: s.Areas, Hazards: s.Hazards, Cameras: cams, Streets: s.Streets, Units: s.Units, Study: s.Study,
		hot: s.lazyHot()}
	dirty := make([]Dirty, 0, len(removed)+len(put))
	for _, it := range removed {
		dirty = append(dirty, Dirty{Layer: LayerCameras, Bound: lonLatBound(it.r.cam.bound)})
	}
	for _, c := range put {
		dirty = append(dirty, CameraDirty(c))
	}
	return n, dirty
}

// WithGrids returns the scene with the grids layer g (the same grids with
// other extra properties, Polygons.WithExtra), Version one more; every
// other part, the hotspots layer included, is shared. The caller drops the
// cached grid tiles whose drawing changed.
func (s *Scene) WithGrids(g *Polygons) *Scene {
	return &Scene{Version: s.Version + 1, Grids: g, Areas: s.Areas, Hazards: s.Hazards, Cameras: s.Cameras, Streets: s.Streets, Units: s.Units, Study: s.Study,
		hot: s.lazyHot()}
}

// WithStreets returns the scene with the streets layer l and the units
// layer u (nil keeps the scene's own), Version one more; every other part,
// the hotspots layer included, is shared. The caller drops the cached
// tiles of the layers it replaced.
func (s *Scene) WithStreets(l *Lines, u *Units) *Scene {
	if l == nil {
		l = s.Streets
	}
	if u == nil {
		u = s.Units
	}
	return &Scene{Version: s.Version + 1, Grids: s.Grids, Areas: s.Areas, Hazards: s.Hazards, Cameras: s.Cameras, Streets: l, Units: u,
		Study: s.Study, hot: s.lazyHot()}
}

// lonLatBound is the lon/lat bound of a mercator bound.
func lonLatBound(m orb.Bound) orb.Bound {
	return orb.Bound{Min: unproject(mpt{m.Min[0], m.Max[1]}), Max: unproject(mpt{m.Max[0], m.Min[1]})}
}

func (s *Scene) lazyHot() *lazyHotspots {
	s.hotInit.Do(func() {
		if s.hot == nil {
			s.hot = &lazyHotspots{}
		}
	})
	return s.hot
}

// hotspots computes the hotspots layer once per set of hazards: Gi* over
// all hazards at the default resolution.
func (s *Scene) hotspots(ctx context.Context) (*hotspotLayer, error) {
	h := s.lazyHot()
	h.once.Do(func() {
		r, err := s.Hotspots(ctx, HotspotQuery{})
		if err != nil {
			h.err = err
			return
		}
		h.layer, h.err = newHotspotLayer(*r)
	})
	return h.layer, h.err
}

// Hotspots is the Gi* analysis (Hotspots) of the scene's hazards that q
// selects, over its study area, computed once per set of hazards and query
// and shared: the caller must not change it. An invalid query is EINVALID
// and not kept.
func (s *Scene) Hotspots(ctx context.Context, q HotspotQuery) (*HotspotResult, error) {
	if q.Res == 0 {
		q.Res = DefaultHotspotRes
	}
	key := hotspotKey{category: q.Category, res: q.Res}
	if !q.Since.IsZero() {
		key.since = q.Since.UnixNano()
	}
	if !q.Until.IsZero() {
		key.until = q.Until.UnixNano()
	}
	h := s.lazyHot()
	h.mu.Lock()
	e, ok := h.results[key]
	if !ok {
		e = &hotspotEntry{}
		if h.results == nil {
			h.results = map[hotspotKey]*hotspotEntry{}
		}
		if len(h.results) < maxHotspotResults {
			h.results[key] = e
		}
	}
	h.mu.Unlock()
	e.once.Do(func() {
		// Shared by every request of this version: one caller going away
		// must not spoil it for the others.
		// The hazards are read where they are, not copied into a list
		// (after a write that would be a copy of every hazard).
		e.r, e.err = hotspots(context.WithoutCancel(ctx), s.eachHazard, s.Hazards.Len(), s.Study, q)
	})
	if e.err != nil {
		h.mu.Lock()
		if h.results[key] == e {
			delete(h.results, key) // not kept: a later call tries again
		}
		h.mu.Unlock()
		return nil, e.err
	}
	return &e.r, nil
}
