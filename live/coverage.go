package live

import (
	"context"
	"math"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// Camera coverage of the published plan's grids.
//
// A camera covers the sector of its range and field of view
// (spatial.PreparedSector: true metres, within 0.1 % of great-circle
// figures at the 10 km maximum range). Households are tested exactly
// against every online camera whose sector's box holds them. Covered area
// is measured on a raster of square cells of a few metres over the plan
// (spatial.Raster): a cell is covered when its centre is in a sector, and
// counts for the grid containing its centre, so the estimate is unbiased
// and off by at most a cell's width along each sector's edge. This file
// reads the cameras, households and plan and credits the grids; the
// geometry is spatial's.
//
// The result is computed on first use and kept until the plan, a camera or
// a household point changes (the service counts each in a generation).

const (
	// coverageCellM is the raster cell size unless the plan is too large
	// for maxCoverageCells at it.
	coverageCellM    = 5.0
	maxCoverageCells = 1 << 28 // 32 MiB of bits
	// bucketCells is the side of the household buckets in raster cells.
	bucketCells = 20
)

// Coverage is the camera coverage of one plan with one set of cameras.
// Callers share it: it must not be changed.
type Coverage struct {
	Plan     *Plan
	Computed time.Time
	Took     time.Duration
	// Online is the number of online cameras.
	Online int
	// Grids is each grid's coverage, by plan grid index.
	Grids []GridCoverage

	gens [2]uint64 // camera and household generations it was computed at
	r    *spatial.Raster
}

// GridCoverage is one grid's coverage, tagged as the API shows it.
type GridCoverage struct {
	Code                string  `json:"code,omitempty"` // empty in the total
	Households          int     `json:"households"`
	HouseholdsCovered   int     `json:"households_covered"`
	HouseholdsUncovered int     `json:"households_uncovered"`
	HouseholdsShare     float64 `json:"households_share"` // 0 for a grid without households
	AreaM2              float64 `json:"area_m2"`
	CoveredM2           float64 `json:"covered_m2"`
	AreaShare           float64 `json:"area_share"`
	CamerasOnline       int     `json:"cameras_online"` // online cameras standing in the grid
}

// CellM is the side of the raster's cells in metres, which bounds the
// error of the covered areas.
func (c *Coverage) CellM() float64 { return c.r.CellM() }

// Covered reports whether p is in a raster cell whose centre an online
// camera covers.
func (c *Coverage) Covered(p orb.Point) bool { return c.r.Marked(p) }

// Total sums the coverage of the grids with the given plan indexes (every
// grid when nil); its shares are of the sums, not means of the grids'.
func (c *Coverage) Total(grids []int) GridCoverage {
	var t GridCoverage
	add := func(g *GridCoverage) {
		t.Households += g.Households
		t.HouseholdsCovered += g.HouseholdsCovered
		t.HouseholdsUncovered += g.HouseholdsUncovered
		t.AreaM2 += g.AreaM2
		t.CoveredM2 += g.CoveredM2
		t.CamerasOnline += g.CamerasOnline
	}
	if grids == nil {
		for i := range c.Grids {
			add(&c.Grids[i])
		}
	}
	for _, i := range grids {
		add(&c.Grids[i])
	}
	if t.Households > 0 {
		t.HouseholdsShare = round4(float64(t.HouseholdsCovered) / float64(t.Households))
	}
	if t.AreaM2 > 0 {
		t.AreaShare = round4(t.CoveredM2 / t.AreaM2)
	}
	return t
}

// Coverage returns the camera coverage of the published plan, computing it
// if the plan, a camera or a household point changed since the last time:
// a computation takes seconds on a city, so callers in between share one.
func (s *Service) Coverage(ctx context.Context) (*Coverage, error) {
	pp := s.Published()
	if pp == nil {
		return nil, data.Errorf(data.ENOTFOUND, "no published plan: coverage is per grid of the published plan (POST /v1/plans, then publish)")
	}
	d := &s.derived
	d.mu.Lock()
	defer d.mu.Unlock()
	gens := [2]uint64{s.CameraGen(), s.HouseholdGen()}
	if c := d.coverage; c != nil && c.Plan == pp && c.gens == gens {
		return c, nil
	}
	c, err := s.computeCoverage(ctx, pp, gens)
	if err != nil {
		return nil, err
	}
	d.coverage = c
	return c, nil
}

func (s *Service) computeCoverage(ctx context.Context, pp *Plan, gens [2]uint64) (*Coverage, error) {
	start := time.Now()
	grids := pp.Plan.Grids
	cov := &Coverage{Plan: pp, gens: gens, Computed: start, Grids: make([]GridCoverage, len(grids))}
	for i, g := range grids {
		cov.Grids[i] = GridCoverage{Code: g.Code, AreaM2: spatial.AreaM2(g.Geometry)}
	}

	// Online cameras, as sectors.
	var secs []spatial.PreparedSector
	s.EachCamera(func(c data.Camera) {
		if c.Status != "online" {
			return
		}
		secs = append(secs, spatial.PrepareSector(c.Point, c.Azimuth, c.FOV, c.RangeM))
		if gi, ok := pp.Locator.Locate(c.Point); ok {
			cov.Grids[gi].CamerasOnline++
		}
	})
	cov.Online = len(secs)

	// Area: mark the raster cells whose centres are in a sector; each newly
	// marked cell counts for the grid containing its centre.
	cov.r = spatial.NewRaster(pp.Locator.Bound(), coverageCellM, maxCoverageCells)
	r := cov.r
	for i := range secs {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		sc := &secs[i]
		// A sector whose disc lies inside one grid, with a margin of two
		// cells for the raster and the flat-earth distances, credits all its
		// cells to that grid without a locate per cell: most sectors are a
		// few dozen metres across in grids of hundreds.
		inside := -1
		if gi, ok := pp.Locator.Locate(sc.Center()); ok &&
			pp.Locator.DistanceToBoundaryM(sc.Center(), gi) > sc.RangeM()+2*r.CellM() {
			inside = gi
		}
		c0, c1, r0, r1 := r.Cells(sc.Bound())
		for row := r0; row <= r1; row++ {
			m2 := r.CellM2(row)
			for col := c0; col <= c1; col++ {
				x, y := r.CellCentre(col, row)
				if r.CellMarked(col, row) || !sc.ContainsXY(x, y) {
					continue
				}
				r.MarkCell(col, row)
				if inside >= 0 {
					cov.Grids[inside].CoveredM2 += m2
				} else if gi, ok := pp.Locator.Locate(orb.Point{x, y}); ok {
					cov.Grids[gi].CoveredM2 += m2
				}
			}
		}
	}

	// Households: bucket them on a coarse grid, then test each camera
	// against the households in its box.
	type hh struct {
		p       orb.Point
		n       int
		grid    int
		covered bool
	}
	var pts []hh
	if err := s.store.EachHousehold(ctx, func(h data.Household) error {
		if gi, ok := pp.Locator.Locate(h.Point); ok {
			pts = append(pts, hh{p: h.Point, n: h.Households, grid: gi})
			cov.Grids[gi].Households += h.Households
		}
		return nil
	}); err != nil {
		return nil, err
	}
	ps := make([]orb.Point, len(pts))
	for i, h := range pts {
		ps[i] = h.p
	}
	b := r.Buckets(ps, bucketCells)
	for i := range secs {
		sc := &secs[i]
		b.Search(sc.Bound(), func(k int) {
			h := &pts[k]
			if !h.covered && sc.Contains(h.p) {
				h.covered = true
				cov.Grids[h.grid].HouseholdsCovered += h.n
			}
		})
	}

	for i := range cov.Grids {
		g := &cov.Grids[i]
		g.HouseholdsUncovered = g.Households - g.HouseholdsCovered
		if g.Households > 0 {
			g.HouseholdsShare = round4(float64(g.HouseholdsCovered) / float64(g.Households))
		}
		if g.AreaM2 > 0 {
			g.AreaShare = round4(math.Min(1, g.CoveredM2/g.AreaM2))
		}
		g.CoveredM2 = math.Round(math.Min(g.CoveredM2, g.AreaM2))
		g.AreaM2 = math.Round(g.AreaM2)
	}
	cov.Took = time.Since(start)
	s.log.Info("coverage computed", "plan", pp.Plan.ID, "grids", len(grids), "cameras_online", len(secs),
		"households", len(pts), "cell_m", r.CellM(), "dur", cov.Took.Round(time.Millisecond))
	return cov, nil
}

func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }
