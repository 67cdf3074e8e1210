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
// A camera covers the sector of its range and field of view (true metres:
// distance and bearing are measured in a local equirectangular frame at the
// camera, within 0.1 % of great-circle figures at the 10 km maximum range).
// Households are tested exactly against every online camera whose sector's
// box holds them. Covered area is measured on a raster of square cells of
// a few metres over the plan: a cell is covered when its centre is in a
// sector, and counts for the grid containing its centre, so the estimate is
// unbiased and off by at most a cell's width along each sector's edge.
//
// The result is computed on first use and kept until the plan, a camera or
// a household point changes (the service counts each in a generation).

const (
	// coverageCellM is the raster cell size unless the plan is too large
	// for maxCoverageCells at it.
	coverageCellM    = 5.0
	maxCoverageCells = 1 << 28 // 32 MiB of bits
	metresPerDegree  = orb.EarthRadius * math.Pi / 180
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
	r    raster
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
func (c *Coverage) CellM() float64 { return c.r.cellM }

// Covered reports whether p is in a raster cell whose centre an online
// camera covers.
func (c *Coverage) Covered(p orb.Point) bool { return c.r.covered(p) }

// raster is a bitset of covered cells over a bound.
type raster struct {
	minX, minY float64
	dx, dy     float64 // cell size in degrees
	nx, ny     int
	cellM      float64
	bits       []uint64
}

func newRaster(b orb.Bound) raster {
	lat0 := (b.Min[1] + b.Max[1]) / 2
	cosLat := math.Max(math.Cos(lat0*math.Pi/180), 0.01)
	wM := (b.Max[0] - b.Min[0]) * metresPerDegree * cosLat
	hM := (b.Max[1] - b.Min[1]) * metresPerDegree
	cell := coverageCellM
	for (wM/cell+1)*(hM/cell+1) > maxCoverageCells {
		cell *= 1.25
	}
	r := raster{minX: b.Min[0], minY: b.Min[1], cellM: cell, dy: cell / metresPerDegree, dx: cell / (metresPerDegree * cosLat)}
	r.nx = int(math.Ceil((b.Max[0]-b.Min[0])/r.dx)) + 1
	r.ny = int(math.Ceil((b.Max[1]-b.Min[1])/r.dy)) + 1
	r.bits = make([]uint64, (r.nx*r.ny+63)/64)
	return r
}

func (r *raster) covered(p orb.Point) bool {
	c := int(math.Floor((p[0] - r.minX) / r.dx))
	row := int(math.Floor((p[1] - r.minY) / r.dy))
	if c < 0 || row < 0 || c >= r.nx || row >= r.ny {
		return false
	}
	i := row*r.nx + c
	return r.bits[i>>6]&(1<<(i&63)) != 0
}

// sector is a camera's coverage prepared for point tests.
type sector struct {
	cx, cy   float64 // centre, degrees
	kx, ky   float64 // metres per degree at the centre
	ux, uy   float64 // unit vector of the azimuth (east, north)
	cosHalf  float64 // cos(fov/2); a point is in when its angle to u is within fov/2
	r2       float64
	full     bool // fov ≥ 360
	box      orb.Bound
	cameraID int64
}

func newSector(c data.Camera) sector {
	ky := metresPerDegree
	kx := ky * math.Cos(c.Point[1]*math.Pi/180)
	az := c.Azimuth * math.Pi / 180
	s := sector{cx: c.Point[0], cy: c.Point[1], kx: kx, ky: ky, ux: math.Sin(az), uy: math.Cos(az),
		cosHalf: math.Cos(c.FOV / 2 * math.Pi / 180), r2: c.RangeM * c.RangeM, full: c.FOV >= 360, cameraID: c.FID}
	// The box holds the centre, both arc ends and the arc's points due
	// north, east, south and west when the arc passes them.
	b := orb.Bound{Min: c.Point, Max: c.Point}
	at := func(bearing float64) orb.Point {
		t := bearing * math.Pi / 180
		return orb.Point{c.Point[0] + c.RangeM*math.Sin(t)/kx, c.Point[1] + c.RangeM*math.Cos(t)/ky}
	}
	if s.full {
		b = b.Extend(at(0)).Extend(at(90)).Extend(at(180)).Extend(at(270))
	} else {
		b = b.Extend(at(c.Azimuth - c.FOV/2)).Extend(at(c.Azimuth + c.FOV/2))
		for q := 0.0; q < 360; q += 90 {
			if d := math.Mod(q-c.Azimuth+540, 360) - 180; math.Abs(d) <= c.FOV/2 {
				b = b.Extend(at(q))
			}
		}
	}
	s.box = b
	return s
}

// contains reports whether p is within range and within the field of view.
func (s *sector) contains(x, y float64) bool {
	dx, dy := (x-s.cx)*s.kx, (y-s.cy)*s.ky
	d2 := dx*dx + dy*dy
	if d2 > s.r2 {
		return false
	}
	return s.full || d2 == 0 || dx*s.ux+dy*s.uy >= math.Sqrt(d2)*s.cosHalf
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
	var secs []sector
	s.EachCamera(func(c data.Camera) {
		if c.Status != "online" {
			return
		}
		secs = append(secs, newSector(c))
		if gi, ok := pp.Locator.Locate(c.Point); ok {
			cov.Grids[gi].CamerasOnline++
		}
	})
	cov.Online = len(secs)

	// Area: mark the raster cells whose centres are in a sector; each newly
	// marked cell counts for the grid containing its centre.
	cov.r = newRaster(pp.Locator.Bound())
	r := &cov.r
	cellM2 := r.dx * r.dy * metresPerDegree * metresPerDegree
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
		if gi, ok := pp.Locator.Locate(orb.Point{sc.cx, sc.cy}); ok &&
			pp.Locator.DistanceToBoundaryM(orb.Point{sc.cx, sc.cy}, gi) > math.Sqrt(sc.r2)+2*r.cellM {
			inside = gi
		}
		c0 := max(0, int(math.Floor((sc.box.Min[0]-r.minX)/r.dx)))
		c1 := min(r.nx-1, int(math.Floor((sc.box.Max[0]-r.minX)/r.dx)))
		r0 := max(0, int(math.Floor((sc.box.Min[1]-r.minY)/r.dy)))
		r1 := min(r.ny-1, int(math.Floor((sc.box.Max[1]-r.minY)/r.dy)))
		for row := r0; row <= r1; row++ {
			y := r.minY + (float64(row)+0.5)*r.dy
			rowM2 := cellM2 * math.Cos(y*math.Pi/180)
			for col := c0; col <= c1; col++ {
				x := r.minX + (float64(col)+0.5)*r.dx
				idx := row*r.nx + col
				if r.bits[idx>>6]&(1<<(idx&63)) != 0 || !sc.contains(x, y) {
					continue
				}
				r.bits[idx>>6] |= 1 << (idx & 63)
				if inside >= 0 {
					cov.Grids[inside].CoveredM2 += rowM2
				} else if gi, ok := pp.Locator.Locate(orb.Point{x, y}); ok {
					cov.Grids[gi].CoveredM2 += rowM2
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
	b := buckets{minX: r.minX, minY: r.minY, dx: r.dx * 20, dy: r.dy * 20}
	b.nx, b.ny = r.nx/20+1, r.ny/20+1
	b.start = make([]int32, b.nx*b.ny+1)
	for _, h := range pts {
		b.start[b.cell(h.p)+1]++
	}
	for i := 1; i < len(b.start); i++ {
		b.start[i] += b.start[i-1]
	}
	order := make([]int32, len(pts))
	fill := append([]int32(nil), b.start[:len(b.start)-1]...)
	for i, h := range pts {
		c := b.cell(h.p)
		order[fill[c]] = int32(i)
		fill[c]++
	}
	for i := range secs {
		sc := &secs[i]
		c0, r0 := b.colRow(sc.box.Min)
		c1, r1 := b.colRow(sc.box.Max)
		for row := r0; row <= r1; row++ {
			for col := c0; col <= c1; col++ {
				cell := row*b.nx + col
				for _, k := range order[b.start[cell]:b.start[cell+1]] {
					h := &pts[k]
					if !h.covered && sc.contains(h.p[0], h.p[1]) {
						h.covered = true
						cov.Grids[h.grid].HouseholdsCovered += h.n
					}
				}
			}
		}
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
		"households", len(pts), "cell_m", r.cellM, "dur", cov.Took.Round(time.Millisecond))
	return cov, nil
}

// buckets is a uniform grid of point lists over the plan's raster.
type buckets struct {
	minX, minY, dx, dy float64
	nx, ny             int
	start              []int32 // points of cell c are order[start[c]:start[c+1]]
}

func (b *buckets) colRow(p orb.Point) (int, int) {
	c := int(math.Floor((p[0] - b.minX) / b.dx))
	r := int(math.Floor((p[1] - b.minY) / b.dy))
	return min(max(c, 0), b.nx-1), min(max(r, 0), b.ny-1)
}

func (b *buckets) cell(p orb.Point) int {
	c, r := b.colRow(p)
	return r*b.nx + c
}

func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }
