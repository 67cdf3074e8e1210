package live

import (
	"sync"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// derivedCache holds results derived from the views, each with the state
// it was computed from.
type derivedCache struct {
	mu       sync.Mutex // one computation at a time; later callers reuse it
	coverage *Coverage
	stats    *GridAssignment
}

// GridAssignment is every hazard and camera assigned to its grid of one
// plan, for one data version: assigning is a locate per feature, cheap but
// not worth repeating on every request, nor for every hazard after one
// changed. Callers share it: it must not be changed.
type GridAssignment struct {
	Plan *Plan
	// Hazards holds the hazards inside a grid, in no order.
	Hazards []GridHazard
	// Cameras counts the cameras of each grid, by plan grid index.
	Cameras []GridCameras

	version [2]uint64 // hazard and camera generations
	// located is where each hazard was found, so that the next assignment
	// for the same plan locates only the hazards that are new or moved.
	located map[int64]locatedAt
}

// locatedAt is a hazard's point and its grid there, -1 for none.
type locatedAt struct {
	p    orb.Point
	grid int
}

// GridHazard is what statistics need of a hazard: its grid and the fields
// they count by.
type GridHazard struct {
	Grid       int // plan grid index
	Category   string
	Status     string
	ReportedAt time.Time
}

// GridCameras counts a grid's cameras.
type GridCameras struct{ Online, Total int }

// GridAssignment returns the hazards and cameras by grid of pp, computing
// it when pp, a hazard or a camera changed since the last time. A hazard
// whose point is as it was for the last assignment of pp keeps its grid
// without a locate: after a write only the written hazard is located.
func (s *Service) GridAssignment(pp *Plan) *GridAssignment {
	d := &s.derived
	version := [2]uint64{s.HazardGen(), s.CameraGen()}
	d.mu.Lock()
	defer d.mu.Unlock()
	if a := d.stats; a != nil && a.Plan == pp && a.version == version {
		return a
	}
	var known map[int64]locatedAt
	if prev := d.stats; prev != nil && prev.Plan == pp {
		known = prev.located
	}
	a := &GridAssignment{Plan: pp, version: version, Cameras: make([]GridCameras, len(pp.Plan.Grids)),
		located: make(map[int64]locatedAt, len(known))}
	s.EachHazard(func(h data.Hazard) {
		l, ok := known[h.FID]
		if !ok || l.p != h.Point {
			l = locatedAt{p: h.Point, grid: -1}
			if gi, ok := pp.Locator.Locate(h.Point); ok {
				l.grid = gi
			}
		}
		a.located[h.FID] = l
		if l.grid >= 0 {
			a.Hazards = append(a.Hazards, GridHazard{Grid: l.grid, Category: h.Category, Status: h.Status, ReportedAt: h.ReportedAt})
		}
	})
	s.EachCamera(func(c data.Camera) {
		if gi, ok := pp.Locator.Locate(c.Point); ok {
			a.Cameras[gi].Total++
			if c.Status == "online" {
				a.Cameras[gi].Online++
			}
		}
	})
	d.stats = a
	return a
}
