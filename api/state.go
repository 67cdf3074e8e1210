package api

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// live is the in-memory state derived from the store: the indexes that
// lookups and tiles read. The store stays the source of truth; live is
// rebuilt from it on start and updated after each committed write, never
// before, so a failed write changes neither.
type live struct {
	// version counts committed changes; tile caches key on it.
	version atomic.Uint64

	hazards *spatial.PointIndex[int64] // by fid
	cameras *spatial.PointIndex[int64]

	mu         sync.RWMutex // guards the maps below; indexes have their own locks
	hazardByID map[int64]data.Hazard
	cameraByID map[int64]data.Camera

	// writeMu serialises writes from read-modify-write to index update, so
	// the indexes change in the order the store committed.
	writeMu sync.Mutex

	// derived holds results computed from the indexes (coverage, stats),
	// each kept for one version.
	derived derivedCache

	// Swapped whole on publish, so a lookup sees one plan or the next.
	areas     atomic.Pointer[areaSet]
	published atomic.Pointer[publishedPlan]
}

// areaSet is every area, by code.
type areaSet struct {
	list   []data.Area
	byCode map[string]int
	// levels[i] locates the areas of level i+1 (locator id = index in list):
	// areas of one level do not overlap, so each level answers once.
	levels []*spatial.Locator
	// chains[i] is the JSON array of area i and its ancestors, nearest first,
	// rendered once so that locate only copies it.
	chains [][]byte
}

// publishedPlan is the published plan with its exact grid locator. Grid i
// of plan.Grids has locator id i.
type publishedPlan struct {
	plan    data.Plan
	locator *spatial.Locator
	byCode  map[string]int
	// gridJSON[i] is grid i as locate shows it, rendered once.
	gridJSON [][]byte
}

func newLive() *live {
	return &live{
		hazards:    spatial.NewPointIndex[int64](),
		cameras:    spatial.NewPointIndex[int64](),
		hazardByID: map[int64]data.Hazard{},
		cameraByID: map[int64]data.Camera{},
	}
}

// Load builds every in-memory index from the store and marks the server
// ready. Serve calls it once on start.
func (s *Server) Load(ctx context.Context) error {
	start := time.Now()
	hz, err := s.store.Hazards(ctx)
	if err != nil {
		return err
	}
	cams, err := s.store.Cameras(ctx)
	if err != nil {
		return err
	}
	s.live.mu.Lock()
	for _, h := range hz {
		s.live.hazardByID[h.FID] = h
		if err := s.live.hazards.Insert(h.FID, h.Point); err != nil {
			s.live.mu.Unlock()
			return fmt.Errorf("index hazard %d: %w", h.FID, err)
		}
	}
	for _, c := range cams {
		s.live.cameraByID[c.FID] = c
		if err := s.live.cameras.Insert(c.FID, c.Point); err != nil {
			s.live.mu.Unlock()
			return fmt.Errorf("index camera %d: %w", c.FID, err)
		}
	}
	s.live.mu.Unlock()
	if err := s.reloadAreas(ctx); err != nil {
		return err
	}
	if err := s.reloadPlan(ctx); err != nil {
		return err
	}
	s.live.version.Add(1)
	s.log.Info("indexes loaded", "hazards", len(hz), "cameras", len(cams), "dur", time.Since(start).Round(time.Millisecond))
	s.SetReady(true)
	return nil
}

func (s *Server) reloadAreas(ctx context.Context) error {
	areas, err := s.store.Areas(ctx)
	if err != nil {
		return err
	}
	set := &areaSet{list: areas, byCode: make(map[string]int, len(areas))}
	for i, a := range areas {
		set.byCode[a.Code] = i
	}
	if set.levels, err = areaLocators(areas); err != nil {
		return err
	}
	set.chains = areaChains(set)
	s.live.areas.Store(set)
	return nil
}

// reloadPlan rebuilds the locator of the published plan and swaps it in
// while lookups go on against the previous one.
func (s *Server) reloadPlan(ctx context.Context) error {
	p, err := s.store.PublishedPlan(ctx)
	if data.ErrorCode(err) == data.ENOTFOUND {
		s.live.published.Store(nil)
		return nil
	}
	if err != nil {
		return err
	}
	grids := make([]spatial.LocatorGrid, len(p.Grids))
	byCode := make(map[string]int, len(p.Grids))
	for i, g := range p.Grids {
		grids[i] = spatial.LocatorGrid{ID: i, Geom: g.Geometry}
		byCode[g.Code] = i
	}
	loc, err := spatial.NewLocator(grids)
	switch {
	case errors.Is(err, spatial.ErrInvalidGeometry):
		return data.Wrap(data.EINVALID, err, "plan %d has an invalid grid geometry: %v", p.ID, err)
	case err != nil:
		return fmt.Errorf("build locator for plan %d: %w", p.ID, err)
	}
	s.live.published.Store(&publishedPlan{plan: p, locator: loc, byCode: byCode, gridJSON: renderGrids(p)})
	s.live.version.Add(1)
	return nil
}
