package api

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
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
// a household point changes (live counts each in a generation).

const (
	// coverageCellM is the raster cell size unless the plan is too large
	// for maxCoverageCells at it.
	coverageCellM    = 5.0
	maxCoverageCells = 1 << 28 // 32 MiB of bits
	metresPerDegree  = orb.EarthRadius * math.Pi / 180
	defaultGapRes    = 11 // ~25 m H3 cells
)

// derivedCache holds results derived from the indexes and the store, each
// with the state it was computed from.
type derivedCache struct {
	mu       sync.Mutex // one computation at a time; later callers reuse it
	coverage *coverage
	stats    *hazardsByGrid
}

// coverage is the camera coverage of one plan with one set of cameras.
type coverage struct {
	plan     *live.Plan
	gens     [2]uint64 // camera and household generations it was computed at
	computed time.Time
	took     time.Duration
	online   int

	grids []gridCoverage // by plan grid index
	r     raster
}

// gridCoverage is one grid's coverage.
type gridCoverage struct {
	Code                 string  `json:"code,omitempty"` // empty in the total
	Households           int     `json:"households"`
	HouseholdsCovered    int     `json:"households_covered"`
	HouseholdsUncovered  int     `json:"households_uncovered"`
	HouseholdsShare      float64 `json:"households_share"` // 0 for a grid without households
	AreaM2               float64 `json:"area_m2"`
	CoveredM2            float64 `json:"covered_m2"`
	AreaShare            float64 `json:"area_share"`
	CamerasOnline        int     `json:"cameras_online"` // online cameras standing in the grid
	householdsCoveredSum int
}

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

// coverageFor returns the coverage of the published plan, computing it if
// the plan or a camera changed since the last time.
func (s *Server) coverageFor(ctx context.Context) (*coverage, error) {
	pp := s.live.Published()
	if pp == nil {
		return nil, data.Errorf(data.ENOTFOUND, "no published plan: coverage is per grid of the published plan (POST /v1/plans, then publish)")
	}
	d := &s.derived
	d.mu.Lock()
	defer d.mu.Unlock()
	gens := [2]uint64{s.live.CameraGen(), s.live.HouseholdGen()}
	if c := d.coverage; c != nil && c.plan == pp && c.gens == gens {
		return c, nil
	}
	c, err := s.computeCoverage(ctx, pp, gens)
	if err != nil {
		return nil, err
	}
	d.coverage = c
	return c, nil
}

func (s *Server) computeCoverage(ctx context.Context, pp *live.Plan, gens [2]uint64) (*coverage, error) {
	start := time.Now()
	grids := pp.Plan.Grids
	cov := &coverage{plan: pp, gens: gens, computed: start, grids: make([]gridCoverage, len(grids))}
	for i, g := range grids {
		cov.grids[i] = gridCoverage{Code: g.Code, AreaM2: spatial.AreaM2(g.Geometry)}
	}

	// Online cameras, as sectors.
	var secs []sector
	s.live.EachCamera(func(c data.Camera) {
		if c.Status != "online" {
			return
		}
		secs = append(secs, newSector(c))
		if gi, ok := pp.Locator.Locate(c.Point); ok {
			cov.grids[gi].CamerasOnline++
		}
	})
	cov.online = len(secs)

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
					cov.grids[inside].CoveredM2 += rowM2
				} else if gi, ok := pp.Locator.Locate(orb.Point{x, y}); ok {
					cov.grids[gi].CoveredM2 += rowM2
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
			cov.grids[gi].Households += h.Households
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
						cov.grids[h.grid].householdsCoveredSum += h.n
					}
				}
			}
		}
	}

	for i := range cov.grids {
		g := &cov.grids[i]
		g.HouseholdsCovered = g.householdsCoveredSum
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
	cov.took = time.Since(start)
	s.log.Info("coverage computed", "plan", pp.Plan.ID, "grids", len(grids), "cameras_online", len(secs),
		"households", len(pts), "cell_m", r.cellM, "dur", cov.took.Round(time.Millisecond))
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

func (s *Server) coverageRoutes() []route {
	paging := []param{
		queryParam("limit", "grids per page", map[string]any{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": 1000}),
		queryParam("offset", "grids to skip", map[string]any{"type": "integer", "minimum": 0, "default": 0}),
	}
	return []route{
		{method: "GET", path: "/v1/coverage", id: "coverage", tag: "Cameras",
			summary:   "Per grid of the published plan: share of households and of area inside at least one online camera's sector, uncovered households",
			params:    paging,
			responses: withProblems(map[int]string{200: "coverage per grid, with totals"}),
			produces:  "application/json", handler: s.coverageHandler},
		{method: "GET", path: "/v1/coverage/gaps", id: "coverageGaps", tag: "Cameras",
			summary: "Uncovered areas per grid as GeoJSON: the H3 cells (resolution res) of the grid whose centres no online camera covers",
			params: append([]param{
				queryParam("grid", "one grid's code", str),
				queryParam("res", "H3 resolution of the gap cells (9–13; 11 ≈ 25 m cells)", map[string]any{"type": "integer", "minimum": 9, "maximum": 13, "default": defaultGapRes}),
			}, paging...),
			responses: withProblems(map[int]string{200: "GeoJSON FeatureCollection, one MultiPolygon feature per grid with gaps"}),
			produces:  geoJSONType, handler: s.coverageGaps},
	}
}

// parsePage reads limit (default def) and offset.
func parsePage(r *http.Request, def int) (limit, offset int, err error) {
	v := r.URL.Query()
	limit = def
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return 0, 0, invalid("parameter limit must be an integer from 1 to %d, got %q", maxLimit, s)
		}
		limit = n
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, 0, invalid("parameter offset must be a non-negative integer, got %q", s)
		}
		offset = n
	}
	return limit, offset, nil
}

func page[T any](list []T, limit, offset int) []T {
	if offset >= len(list) {
		return []T{}
	}
	return list[offset:min(len(list), offset+limit)]
}

func (s *Server) coverageHandler(w http.ResponseWriter, r *http.Request) error {
	if err := queryOnly(r.URL.Query(), "limit", "offset"); err != nil {
		return err
	}
	limit, offset, err := parsePage(r, 1000)
	if err != nil {
		return err
	}
	cov, err := s.coverageFor(r.Context())
	if err != nil {
		return err
	}
	var total gridCoverage
	for _, g := range cov.grids {
		total.Households += g.Households
		total.HouseholdsCovered += g.HouseholdsCovered
		total.HouseholdsUncovered += g.HouseholdsUncovered
		total.AreaM2 += g.AreaM2
		total.CoveredM2 += g.CoveredM2
		total.CamerasOnline += g.CamerasOnline
	}
	if total.Households > 0 {
		total.HouseholdsShare = round4(float64(total.HouseholdsCovered) / float64(total.Households))
	}
	if total.AreaM2 > 0 {
		total.AreaShare = round4(total.CoveredM2 / total.AreaM2)
	}
	return writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"plan_id":        cov.plan.Plan.ID,
		"cameras_online": cov.online,
		"raster_cell_m":  math.Round(cov.r.cellM*100) / 100,
		"computed_at":    cov.computed.UTC().Format(time.RFC3339),
		"compute_ms":     cov.took.Milliseconds(),
		"total":          total,
		"numberMatched":  len(cov.grids),
		"grids":          page(cov.grids, limit, offset),
	})
}

func (s *Server) coverageGaps(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	if err := queryOnly(v, "grid", "res", "limit", "offset"); err != nil {
		return err
	}
	limit, offset, err := parsePage(r, 100)
	if err != nil {
		return err
	}
	res := defaultGapRes
	if s := v.Get("res"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 9 || n > 13 {
			return invalid("parameter res must be an integer from 9 to 13, got %q", s)
		}
		res = n
	}
	cov, err := s.coverageFor(r.Context())
	if err != nil {
		return err
	}
	pp := cov.plan
	idx := make([]int, 0, len(pp.Plan.Grids))
	if code := v.Get("grid"); code != "" {
		i, ok := pp.ByCode[code]
		if !ok {
			return data.Errorf(data.ENOTFOUND, "parameter grid: no grid %q in the published plan", code)
		}
		idx = append(idx, i)
	} else {
		for i := range pp.Plan.Grids {
			idx = append(idx, i)
		}
	}
	idx = page(idx, limit, offset)
	fc := struct {
		Type     string             `json:"type"`
		Features []*geojson.Feature `json:"features"`
		// Paging is over grids, of which those without gaps give no feature.
		GridsMatched int `json:"grids_matched"`
		Offset       int `json:"offset"`
		Limit        int `json:"limit"`
	}{Type: "FeatureCollection", Features: []*geojson.Feature{}, GridsMatched: len(pp.Plan.Grids), Offset: offset, Limit: limit}
	if v.Get("grid") != "" {
		fc.GridsMatched = 1
	}
	for _, i := range idx {
		if err := r.Context().Err(); err != nil {
			return err
		}
		g := pp.Plan.Grids[i]
		var gaps []h3.Cell
		for _, poly := range g.Geometry {
			cells, err := spatial.PolygonToCells(poly, res)
			if err != nil {
				return data.Wrap(data.EINTERNAL, err, "grid %s: cells", g.Code)
			}
			for _, c := range cells {
				p, err := spatial.CellCenter(c)
				if err == nil && !cov.r.covered(p) {
					gaps = append(gaps, c)
				}
			}
		}
		if len(gaps) == 0 {
			continue
		}
		mp, err := spatial.CellsToMultiPolygon(gaps)
		if err != nil {
			return data.Wrap(data.EINTERNAL, err, "grid %s: gap outline", g.Code)
		}
		gc := cov.grids[i]
		f := geojson.NewFeature(mp)
		f.Properties = geojson.Properties{
			"code": g.Code, "res": res, "gap_cells": len(gaps), "gap_m2": math.Round(spatial.AreaM2(mp)),
			"area_share": gc.AreaShare, "households_uncovered": gc.HouseholdsUncovered,
		}
		fc.Features = append(fc.Features, f)
	}
	return writeJSON(w, http.StatusOK, geoJSONType, fc)
}
