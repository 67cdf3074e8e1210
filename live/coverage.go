package live

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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
// The result is computed once in the background when the service starts
// following the store (warmCoverage), else on first use, and kept until
// the plan, a camera or a household point changes (the service counts each
// in a generation).

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
	// Incremental is true when it was derived from the previous coverage
	// by recomputing only the places the cameras changed since touched.
	Incremental bool
	// Online is the number of online cameras.
	Online int
	// Grids is each grid's coverage, by plan grid index.
	Grids []GridCoverage

	gens [2]uint64 // camera and household generations it was computed at
	r    *spatial.Raster

	// What an incremental update needs: each grid's area and covered area
	// unrounded, the households (shared between versions, never changed)
	// and which of them are covered, and the longest online range.
	areaM2    []float64
	coveredM2 []float64
	hh        *covHouseholds
	hhCovered []uint64 // bit k: household point k is covered
	maxRangeM float64
}

// covHouseholds is every household point with its grid in the published
// plan (−1: in none), bucketed over the coverage raster, shared by the
// coverages of one plan and household generation; pts by those of one
// household generation. pts is the store's answer as it came: copying it
// into slices of points and counts was a transient 66 MB and a pass at 16×
// Montevideo.
type covHouseholds struct {
	pts     []data.HouseholdPoint
	grid    []int32
	perGrid []int // households in each grid
	b       *spatial.Buckets
}

func (c *Coverage) hhIsCovered(k int) bool { return c.hhCovered[k>>6]&(1<<(k&63)) != 0 }
func (c *Coverage) hhSet(k int)            { c.hhCovered[k>>6] |= 1 << (k & 63) }
func (c *Coverage) hhClear(k int)          { c.hhCovered[k>>6] &^= 1 << (k & 63) }

// camChange is one camera as it was (nil: created) and is (nil: deleted).
type camChange struct {
	gen      uint64
	old, new *data.Camera
}

// camLog holds the camera changes of the last camera generations, so that
// the coverage of an older generation can be brought up to date by
// recomputing the places they touch. It keeps at most maxCamLog changes;
// a coverage older than what it holds is computed again whole.
type camLog struct {
	mu      sync.Mutex
	from    uint64 // every change of a generation > from is in entries
	entries []camChange
}

const maxCamLog = 4096

// add records the changes of one step of gen and takes that step, under
// the log's lock so that a reader sees a generation with its changes.
func (l *camLog) add(gen *atomic.Uint64, changes []camChange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := gen.Add(1)
	if len(l.entries)+len(changes) > maxCamLog {
		l.entries, l.from = l.entries[:0], g
		return
	}
	for _, c := range changes {
		c.gen = g
		l.entries = append(l.entries, c)
	}
}

// reset steps gen for a change not recorded (all cameras reloaded).
func (l *camLog) reset(gen *atomic.Uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries, l.from = nil, gen.Add(1)
}

// since returns the current generation and the changes after generation
// g up to it; ok is false when the log no longer holds them all.
func (l *camLog) since(gen *atomic.Uint64, g uint64) (now uint64, changes []camChange, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now = gen.Load()
	if g < l.from {
		return now, nil, false
	}
	for _, c := range l.entries {
		if c.gen > g && c.gen <= now {
			changes = append(changes, c)
		}
	}
	return now, changes, true
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
// After camera changes alone (the camera log holds them) the previous
// coverage is brought up to date by recomputing only the raster cells and
// households inside the sectors' boxes the changed cameras had and have.
func (s *Service) Coverage(ctx context.Context) (*Coverage, error) {
	pp := s.Published()
	if pp == nil {
		return nil, data.Errorf(data.ENOTFOUND, "no published plan: coverage is per grid of the published plan (POST /v1/plans, then publish)")
	}
	d := &s.derived
	d.mu.Lock()
	defer d.mu.Unlock()
	prev := d.coverage
	var since uint64
	if prev != nil {
		since = prev.gens[0]
	}
	camGen, changes, logged := s.camLog.since(&s.cameraGen, since)
	gens := [2]uint64{camGen, s.HouseholdGen()}
	if prev != nil && prev.Plan == pp && prev.gens == gens {
		return prev, nil
	}
	if prev != nil && prev.Plan == pp && prev.gens[1] == gens[1] && logged {
		if c, ok := s.updateCoverage(ctx, prev, changes, gens); ok {
			d.coverage = c
			return c, nil
		}
	}
	c, err := s.computeCoverage(ctx, pp, gens, prev)
	if err != nil {
		return nil, err
	}
	d.coverage = c
	return c, nil
}

// householdPointsReader is a store that reads the household points and
// counts alone, much cheaper than a record a row (both stores): at 16×
// Montevideo, EachHousehold was 93 % of a whole coverage computation.
type householdPointsReader interface {
	HouseholdPoints(ctx context.Context) ([]data.HouseholdPoint, error)
}

// householdPoints reads every household point and its count.
func (s *Service) householdPoints(ctx context.Context) ([]data.HouseholdPoint, error) {
	if st, ok := s.store.(householdPointsReader); ok {
		return st.HouseholdPoints(ctx)
	}
	var pts []data.HouseholdPoint
	err := s.store.EachHousehold(ctx, func(h data.Household) error {
		pts = append(pts, data.HouseholdPoint{Point: h.Point, Households: int32(min(max(h.Households, math.MinInt32), math.MaxInt32))})
		return nil
	})
	return pts, err
}

// covSector is an online camera's sector with what the raster pass needs
// of it: its range of raster cells, and the grid its disc lies inside of
// (−1: the cells are located one by one).
type covSector struct {
	spatial.PreparedSector
	c0, c1, r0, r1 int
	grid, inside   int32 // the camera's grid (−1: in none), and the disc's
}

// warmCoverage computes the coverage of the published plan, if there is
// one, so that the first request finds it, or waits for the computation
// under way rather than starting one: at 16× Montevideo it reads 3.29M
// household points.
func (s *Service) warmCoverage(ctx context.Context) {
	if s.Published() == nil {
		return
	}
	if _, err := s.Coverage(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("coverage not computed in advance; the first request computes it", "err", err)
	}
}

// computeCoverage computes the coverage of pp whole. The household points
// of prev are reused when its household generation is gens' (and their
// grids and buckets when its plan is pp), so that only the first
// computation after start or a household change reads them from the store.
//
// Every pass runs on GOMAXPROCS workers with counters of their own, added
// up at the end: households are located in chunks; cameras test the
// households of the buckets their sectors' boxes touch, a household's
// covered bit set with an atomic OR so that it counts once whichever
// camera sets it first; the raster is marked in bands of rows that start
// on a word of its bitset, each band by one worker, from the sectors
// sorted by their first row. The counts are the serial computation's;
// areas are the same sums in another order (equal to well below a m²).
func (s *Service) computeCoverage(ctx context.Context, pp *Plan, gens [2]uint64, prev *Coverage) (*Coverage, error) {
	return s.computeCoverageOn(ctx, pp, gens, prev, max(1, runtime.GOMAXPROCS(0)))
}

// computeCoverageOn is computeCoverage on the given number of workers.
func (s *Service) computeCoverageOn(ctx context.Context, pp *Plan, gens [2]uint64, prev *Coverage, workers int) (*Coverage, error) {
	start := time.Now()
	grids := pp.Plan.Grids
	loc := pp.Locator
	cov := &Coverage{Plan: pp, gens: gens, Computed: start, Grids: make([]GridCoverage, len(grids)),
		areaM2: make([]float64, len(grids)), coveredM2: make([]float64, len(grids))}
	for i, g := range grids {
		cov.Grids[i] = GridCoverage{Code: g.Code}
	}
	if err := inParallel(ctx, workers, len(grids), 64, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			cov.areaM2[i] = spatial.AreaM2(grids[i].Geometry)
		}
	}); err != nil {
		return nil, err
	}

	// Online cameras, as sectors over the raster.
	var cams []data.Camera
	s.EachCamera(func(c data.Camera) {
		if c.Status == "online" {
			cams = append(cams, c)
		}
	})
	cov.Online = len(cams)
	cov.r = spatial.NewRaster(loc.Bound(), coverageCellM, maxCoverageCells)
	r := cov.r
	secs := make([]covSector, len(cams))
	if err := inParallel(ctx, workers, len(cams), 256, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			c := &cams[i]
			sc := covSector{PreparedSector: spatial.PrepareSector(c.Point, c.Azimuth, c.FOV, c.RangeM), grid: -1, inside: -1}
			// A sector whose disc lies inside one grid, with a margin of
			// two cells for the raster and the flat-earth distances,
			// credits all its cells to that grid without a locate per
			// cell: most sectors are a few dozen metres across in grids of
			// hundreds.
			if gi, ok := loc.Locate(c.Point); ok {
				sc.grid = int32(gi)
				if loc.DistanceToBoundaryM(c.Point, gi) > sc.RangeM()+2*r.CellM() {
					sc.inside = int32(gi)
				}
			}
			sc.c0, sc.c1, sc.r0, sc.r1 = r.Cells(sc.Bound())
			secs[i] = sc
		}
	}); err != nil {
		return nil, err
	}
	for i := range secs {
		cov.maxRangeM = math.Max(cov.maxRangeM, cams[i].RangeM)
		if g := secs[i].grid; g >= 0 {
			cov.Grids[g].CamerasOnline++
		}
	}

	// Area: each worker marks the cells of a band of rows whose centres
	// are in a sector; each newly marked cell counts for the grid
	// containing its centre.
	if err := cov.markAll(ctx, workers, secs); err != nil {
		return nil, err
	}

	// Households.
	hh, err := s.coverageHouseholds(ctx, pp, r, workers, gens[1], prev)
	if err != nil {
		return nil, err
	}
	cov.hh = hh
	for gi, n := range hh.perGrid {
		cov.Grids[gi].Households = n
	}
	cov.hhCovered = make([]uint64, (len(hh.pts)+63)/64)
	covered := make([][]int, workers)
	if err := inParallel(ctx, workers, len(secs), 64, func(w, lo, hi int) {
		if covered[w] == nil {
			covered[w] = make([]int, len(grids))
		}
		counts := covered[w]
		for i := lo; i < hi; i++ {
			sc := &secs[i]
			hh.b.Search(sc.Bound(), func(k int) {
				g := hh.grid[k]
				word, bit := &cov.hhCovered[k>>6], uint64(1)<<(k&63)
				if g < 0 || atomic.LoadUint64(word)&bit != 0 || !sc.Contains(hh.pts[k].Point) {
					return
				}
				if atomic.OrUint64(word, bit)&bit == 0 {
					counts[g] += int(hh.pts[k].Households)
				}
			})
		}
	}); err != nil {
		return nil, err
	}
	for _, counts := range covered {
		for gi, n := range counts {
			cov.Grids[gi].HouseholdsCovered += n
		}
	}
	cov.finish()
	cov.Took = time.Since(start)
	s.log.Info("coverage computed", "plan", pp.Plan.ID, "grids", len(grids), "cameras_online", len(secs),
		"households", len(hh.pts), "cell_m", r.CellM(), "workers", workers, "dur", cov.Took.Round(time.Millisecond))
	return cov, nil
}

// coverageHouseholds returns the household points located in pp's grids
// and bucketed over r. The points are prev's when it has them for the same
// household generation (the follower counts household changes), located
// again for a new plan; for the same plan its grids and buckets are too (a
// plan's raster is a function of its bound, so the buckets are the same).
// Otherwise they are read from the store.
func (s *Service) coverageHouseholds(ctx context.Context, pp *Plan, r *spatial.Raster, workers int, gen uint64, prev *Coverage) (*covHouseholds, error) {
	hh := &covHouseholds{}
	if prev != nil && prev.hh != nil && prev.gens[1] == gen {
		if prev.Plan == pp {
			return prev.hh, nil
		}
		hh.pts = prev.hh.pts
	} else {
		var err error
		if hh.pts, err = s.householdPoints(ctx); err != nil {
			return nil, err
		}
	}
	ngrids := len(pp.Plan.Grids)
	hh.grid = make([]int32, len(hh.pts))
	per := make([][]int, workers)
	if err := inParallel(ctx, workers, len(hh.pts), 8192, func(w, lo, hi int) {
		if per[w] == nil {
			per[w] = make([]int, ngrids)
		}
		counts := per[w]
		for k := lo; k < hi; k++ {
			gi, ok := pp.Locator.Locate(hh.pts[k].Point)
			if !ok {
				hh.grid[k] = -1
				continue
			}
			hh.grid[k] = int32(gi)
			counts[gi] += int(hh.pts[k].Households)
		}
	}); err != nil {
		return nil, err
	}
	hh.perGrid = make([]int, ngrids)
	for _, counts := range per {
		for gi, n := range counts {
			hh.perGrid[gi] += n
		}
	}
	hh.b = r.Buckets(len(hh.pts), func(k int) orb.Point { return hh.pts[k].Point }, bucketCells)
	return hh, nil
}

// rowBand is the rows of raster cells one worker marks at a time, rounded
// up so that a band starts on a word of the raster's bitset.
const rowBand = 128

// markAll marks the raster cells of every sector in secs, by bands of
// rows on workers, and credits their area to the grids.
func (c *Coverage) markAll(ctx context.Context, workers int, secs []covSector) error {
	r := c.r
	// The raster's size: Cells clips a box to it.
	_, nx1, _, ny1 := r.Cells(orb.Bound{Min: orb.Point{-360, -180}, Max: orb.Point{360, 180}})
	nx, ny := nx1+1, ny1+1
	// Cell (col, row) is bit row·nx+col: a band starting at a row that is
	// a multiple of 64/gcd(nx, 64) starts on a new word, so two bands
	// never write the same word.
	step := 64
	for g := nx; step > 1 && g%2 == 0; g /= 2 {
		step /= 2
	}
	band := (rowBand + step - 1) / step * step
	order := make([]int32, 0, len(secs))
	span := 0
	for i := range secs {
		if sc := &secs[i]; sc.c0 <= sc.c1 && sc.r0 <= sc.r1 {
			order = append(order, int32(i))
			span = max(span, sc.r1-sc.r0)
		}
	}
	slices.SortFunc(order, func(a, b int32) int { return secs[a].r0 - secs[b].r0 })
	m2 := make([][]float64, workers)
	err := inParallel(ctx, workers, (ny+band-1)/band, 1, func(w, lo, hi int) {
		if m2[w] == nil {
			m2[w] = make([]float64, len(c.coveredM2))
		}
		for bi := lo; bi < hi; bi++ {
			b0, b1 := bi*band, min((bi+1)*band, ny)-1
			// The sectors reaching the band start at most span rows
			// before it.
			j, _ := slices.BinarySearchFunc(order, b0-span, func(i int32, row int) int { return secs[i].r0 - row })
			for ; j < len(order) && secs[order[j]].r0 <= b1; j++ {
				sc := &secs[order[j]]
				if r0, r1 := max(sc.r0, b0), min(sc.r1, b1); r0 <= r1 {
					c.markSector(&sc.PreparedSector, sc.c0, sc.c1, r0, r1, int(sc.inside), m2[w])
				}
			}
		}
	})
	for _, sums := range m2 {
		for gi, v := range sums {
			c.coveredM2[gi] += v
		}
	}
	return err
}

// inParallel calls fn(w, lo, hi) for the chunks [lo, hi) of [0, n), chunk
// long, on workers goroutines, w (0 ≤ w < workers) being the goroutine's,
// for counters of its own. It returns ctx's error when ctx ended before
// every chunk was done.
func inParallel(ctx context.Context, workers, n, chunk int, fn func(w, lo, hi int)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(workers, (n+chunk-1)/chunk) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				fn(w, lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// markSector marks the unmarked cells of the range whose centres sc holds
// and adds their area to coveredM2 for the grid of their centre (inside,
// or a locate per cell when inside is −1).
func (c *Coverage) markSector(sc *spatial.PreparedSector, c0, c1, r0, r1, inside int, coveredM2 []float64) {
	r, loc := c.r, c.Plan.Locator
	for row := r0; row <= r1; row++ {
		m2 := r.CellM2(row)
		for col := c0; col <= c1; col++ {
			x, y := r.CellCentre(col, row)
			if r.CellMarked(col, row) || !sc.ContainsXY(x, y) {
				continue
			}
			r.MarkCell(col, row)
			if inside >= 0 {
				coveredM2[inside] += m2
			} else if gi, ok := loc.Locate(orb.Point{x, y}); ok {
				coveredM2[gi] += m2
			}
		}
	}
}

// finish derives the shown figures of every grid from the counts.
func (c *Coverage) finish() {
	for i := range c.Grids {
		g := &c.Grids[i]
		g.HouseholdsUncovered = g.Households - g.HouseholdsCovered
		g.HouseholdsShare, g.AreaShare = 0, 0
		if g.Households > 0 {
			g.HouseholdsShare = round4(float64(g.HouseholdsCovered) / float64(g.Households))
		}
		area, covered := c.areaM2[i], math.Max(0, c.coveredM2[i])
		if area > 0 {
			g.AreaShare = round4(math.Min(1, covered/area))
		}
		g.CoveredM2 = math.Round(math.Min(covered, area))
		g.AreaM2 = math.Round(area)
	}
}

// maxDirtyCells bounds the raster cells an incremental update may visit;
// beyond it (cameras of kilometres changed) the whole is computed again.
const maxDirtyCells = 1 << 24

// updateCoverage derives the coverage after changes from prev: within the
// box of every changed camera's sector, before and after, the raster cells
// and households are cleared and tested again against the online cameras
// whose sectors reach there. ok is false when the changes reach too far
// for that to pay; the caller then computes the whole.
func (s *Service) updateCoverage(ctx context.Context, prev *Coverage, changes []camChange, gens [2]uint64) (*Coverage, bool) {
	start := time.Now()
	pp := prev.Plan
	c := &Coverage{Plan: pp, gens: gens, Computed: start, Incremental: true, Online: prev.Online,
		Grids: slices.Clone(prev.Grids), areaM2: prev.areaM2, coveredM2: slices.Clone(prev.coveredM2),
		hh: prev.hh, maxRangeM: prev.maxRangeM}
	var dirty []orb.Bound
	cells := 0
	for _, ch := range changes {
		for i, cam := range []*data.Camera{ch.old, ch.new} {
			if cam == nil || cam.Status != "online" {
				continue
			}
			sign := 1
			if i == 0 {
				sign = -1
			}
			c.Online += sign
			if gi, ok := pp.Locator.Locate(cam.Point); ok {
				c.Grids[gi].CamerasOnline += sign
			}
			c.maxRangeM = math.Max(c.maxRangeM, cam.RangeM)
			sec := spatial.PrepareSector(cam.Point, cam.Azimuth, cam.FOV, cam.RangeM)
			b := sec.Bound()
			dirty = append(dirty, b)
			c0, c1, r0, r1 := prev.r.Cells(b)
			cells += max(0, c1-c0+1) * max(0, r1-r0+1)
		}
	}
	if cells > maxDirtyCells {
		return nil, false
	}
	c.r = prev.r.Clone()
	c.hhCovered = slices.Clone(prev.hhCovered)
	r, hh := c.r, c.hh

	// Clear what the dirty boxes hold.
	var union orb.Bound
	for i, b := range dirty {
		if i == 0 {
			union = b
		} else {
			union = union.Union(b)
		}
		c0, c1, r0, r1 := r.Cells(b)
		for row := r0; row <= r1; row++ {
			m2 := r.CellM2(row)
			for col := c0; col <= c1; col++ {
				if !r.CellMarked(col, row) {
					continue
				}
				r.UnmarkCell(col, row)
				x, y := r.CellCentre(col, row)
				if gi, ok := pp.Locator.Locate(orb.Point{x, y}); ok {
					c.coveredM2[gi] -= m2
				}
			}
		}
		hh.b.Search(b, func(k int) {
			if c.hhIsCovered(k) && b.Contains(hh.pts[k].Point) {
				c.hhClear(k)
				c.Grids[hh.grid[k]].HouseholdsCovered -= int(hh.pts[k].Households)
			}
		})
	}

	// The online cameras whose sectors may reach the dirty boxes: those
	// standing within the longest range of them, one raster cell more.
	if len(dirty) > 0 {
		pad := (c.maxRangeM + 2*r.CellM()) / spatial.MetresPerDegree
		cosLat := math.Max(0.01, math.Cos(math.Max(math.Abs(union.Min[1]), math.Abs(union.Max[1]))*math.Pi/180))
		around := orb.Bound{Min: orb.Point{union.Min[0] - pad/cosLat, union.Min[1] - pad}, Max: orb.Point{union.Max[0] + pad/cosLat, union.Max[1] + pad}}
		var secs []spatial.PreparedSector
		s.mu.RLock()
		for _, it := range s.cameras.index.Within(around) {
			if cam, ok := s.cameras.byID[it.ID]; ok && cam.Status == "online" {
				secs = append(secs, spatial.PrepareSector(cam.Point, cam.Azimuth, cam.FOV, cam.RangeM))
			}
		}
		s.mu.RUnlock()
		for _, b := range dirty {
			if ctx.Err() != nil {
				return nil, false
			}
			d0, d1, e0, e1 := r.Cells(b)
			for i := range secs {
				sc := &secs[i]
				c0, c1, r0, r1 := r.Cells(sc.Bound())
				c0, c1, r0, r1 = max(c0, d0), min(c1, d1), max(r0, e0), min(r1, e1)
				if c0 > c1 || r0 > r1 {
					continue
				}
				c.markSector(sc, c0, c1, r0, r1, -1, c.coveredM2)
				sb := sc.Bound()
				box := orb.Bound{Min: orb.Point{math.Max(b.Min[0], sb.Min[0]), math.Max(b.Min[1], sb.Min[1])},
					Max: orb.Point{math.Min(b.Max[0], sb.Max[0]), math.Min(b.Max[1], sb.Max[1])}}
				if box.Min[0] > box.Max[0] || box.Min[1] > box.Max[1] {
					continue
				}
				hh.b.Search(box, func(k int) {
					if p := hh.pts[k].Point; hh.grid[k] >= 0 && !c.hhIsCovered(k) && b.Contains(p) && sc.Contains(p) {
						c.hhSet(k)
						c.Grids[hh.grid[k]].HouseholdsCovered += int(hh.pts[k].Households)
					}
				})
			}
		}
	}
	c.finish()
	c.Took = time.Since(start)
	s.log.Debug("coverage updated", "plan", pp.Plan.ID, "changes", len(changes), "cameras_online", c.Online, "dur", c.Took)
	return c, true
}

func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }
