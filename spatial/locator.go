package spatial

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"
)

// LocatorGrid is one polygon a Locator can answer with: a grid of a plan.
type LocatorGrid struct {
	ID   int
	Geom orb.MultiPolygon
}

// Locator answers "which grid contains this point" exactly and fast.
//
// It is immutable once built and safe for any number of concurrent readers.
// To publish a new plan, build a new Locator and swap it in with an
// atomic.Pointer[Locator]; lookups in flight finish on the old one.
//
// # How it works
//
// The plan's bounding box is cut into a uniform raster of bins, about four
// per polygon edge. A bin that no edge touches (with a 1e-9° margin) lies
// wholly inside one grid or outside all, and stores that answer: most
// lookups end there after two multiplications and one load. A bin that
// edges touch stores the sorted list of grids whose edges touch it, and
// each is tested with an exact crossing-number point-in-polygon test that
// only visits the grid's edges in the horizontal band containing the point.
//
// # Boundaries
//
// The test is half-open, so a point on an edge shared by two grids, or on a
// vertex shared by three, belongs to exactly one of them: the one containing
// the points just east of it (x+ε), and on a horizontal edge the one just
// north (y+δ, δ ≪ ε). Edge endpoints are put in a canonical order before the
// crossing is computed, so both grids sharing an edge compute the same bits.
// Where grids overlap (an invalid plan), the lowest id wins.
type Locator struct {
	// Raster over the padded bound of all grids.
	minX, minY, maxX, maxY float64
	invW, invH             float64 // bins per degree
	nx, ny                 int
	bins                   []uint32 // 0: no grid; g+1: wholly inside grids[g]; mixedBit|o: candidate list at cands[o]
	cands                  []uint32 // candidate lists, each its length then grid indexes ascending (one cache line for the common short list)
	nLists                 int

	grids     []prepGrid
	byID      map[int]uint32
	pts       []orb.Point // every ring of every grid, each closed (last == first)
	rings     []uint32    // ring r is pts[rings[r]:rings[r+1]]
	bandStart []uint32    // band b of grid g is bandEdges[bandStart[g.band0+b]:bandStart[g.band0+b+1]]
	bandEdges []uint32    // edge e runs from pts[e] to pts[e+1]
	cellStart []uint32    // distance cell c of grid g is cellEdges[cellStart[g.cell0+c]:cellStart[g.cell0+c+1]]
	cellEdges []uint32    // edges (as in bandEdges) whose padded bounding box touches the cell
}

// prepGrid is a grid prepared for the banded crossing test.
type prepGrid struct {
	id           int
	bound        orb.Bound
	invBand      float64 // bands per degree of latitude
	nBand        int32
	band0        uint32 // first index into bandStart
	ring0, ring1 uint32 // rings of this grid: rings[ring0:ring1+1] delimit them

	// Distance cells: a raster over bound, about square in metres, for
	// DistanceToBoundaryM. Cell (c, r) is index cell0 + r*cellNX + c.
	invCellW, invCellH float64 // cells per degree
	cellW, cellH       float64 // degrees per cell
	cellNX, cellNY     int32
	cell0              uint32
}

const (
	mixedBit = 1 << 31
	// edgePad keeps a bin that is "wholly inside" at least 1e-9° (≈0.1 mm)
	// from every edge, far beyond the rounding error of the crossing test.
	edgePad = 1e-9
	// binsPerEdge sets the raster size; four bins per edge leaves most bins
	// pure on H3-shaped plans while the raster stays a few bytes per edge.
	binsPerEdge = 4
	// maxBins caps the raster at 32 MiB for very large plans (100,000
	// grids reach it at about four bins per edge).
	maxBins = 1 << 23
	// edgesPerCell sizes each grid's distance raster. Fewer, larger cells
	// hold more edges to measure; more, smaller cells mean more cells to
	// step over before the nearest edge is found. On the Montevideo test
	// plans (34 and 130 edges a grid) 1, 2 and 4 measure 8–15, 10–18 and
	// 12–23 edges over 10–22, 7–14 and 5–9 cells a query; 2 is the middle.
	edgesPerCell = 2
	// maxCellSide caps a grid's distance raster at 256×256 cells.
	maxCellSide = 256
)

// NewLocator prepares grids for lookup. Rings may be open or closed; holes
// and multi-part grids are supported. It returns ErrDuplicateID when two
// grids share an id and ErrInvalidGeometry for an empty grid or a ring with
// fewer than three points or coordinates outside lon/lat range.
func NewLocator(grids []LocatorGrid) (*Locator, error) {
	order := make([]int, len(grids))
	for i := range order {
		order[i] = i
	}
	// Grid index order is id order, so "lowest id wins" is "first candidate wins".
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(grids[a].ID, grids[b].ID) })

	l := &Locator{byID: make(map[int]uint32, len(grids))}
	// Size the big arrays up front: appending 100,000 grids would otherwise
	// copy them a dozen times.
	npts, nrings := 0, 0
	for _, g := range grids {
		for _, poly := range g.Geom {
			nrings += len(poly)
			for _, r := range poly {
				npts += len(r) + 1
			}
		}
	}
	l.pts = make([]orb.Point, 0, npts)
	l.rings = make([]uint32, 0, nrings+1)
	l.grids = make([]prepGrid, 0, len(grids))
	l.rings = append(l.rings, 0)
	l.bandStart = append(l.bandStart, 0)
	l.cellStart = append(l.cellStart, 0)
	bound := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	for _, i := range order {
		g := grids[i]
		if _, dup := l.byID[g.ID]; dup {
			return nil, fmt.Errorf("%w: grid %d", ErrDuplicateID, g.ID)
		}
		if err := l.addGrid(g); err != nil {
			return nil, err
		}
		l.byID[g.ID] = uint32(len(l.grids) - 1)
		bound = bound.Union(l.grids[len(l.grids)-1].bound)
	}
	if len(l.grids) == 0 {
		l.minX, l.minY, l.maxX, l.maxY = 1, 1, -1, -1 // empty: every lookup misses
		return l, nil
	}
	l.buildRaster(bound)
	return l, nil
}

// addGrid appends g's rings and its band index.
func (l *Locator) addGrid(g LocatorGrid) error {
	pg := prepGrid{id: g.ID, ring0: uint32(len(l.rings) - 1)}
	first := len(l.pts)
	for _, poly := range g.Geom {
		for _, ring := range poly {
			n := len(ring)
			if n > 0 && ring[0] == ring[n-1] {
				n--
			}
			if n < 3 {
				return fmt.Errorf("%w: grid %d has a ring of %d points", ErrInvalidGeometry, g.ID, n)
			}
			for _, p := range ring[:n] {
				if !ValidLonLat(p) {
					return fmt.Errorf("%w: grid %d has point %v", ErrInvalidGeometry, g.ID, p)
				}
			}
			l.pts = append(l.pts, ring[:n]...)
			l.pts = append(l.pts, ring[0])
			l.rings = append(l.rings, uint32(len(l.pts)))
		}
	}
	if len(l.pts) == first {
		return fmt.Errorf("%w: grid %d is empty", ErrInvalidGeometry, g.ID)
	}
	pg.ring1 = uint32(len(l.rings) - 1)
	pg.bound = orb.MultiPoint(l.pts[first:]).Bound()

	// Bands: about one per two edges, so a band holds a handful of edges.
	edges := len(l.pts) - first - int(pg.ring1-pg.ring0)
	nb := max(1, min(edges/2, 1<<16))
	h := pg.bound.Max[1] - pg.bound.Min[1]
	pg.nBand = int32(nb)
	pg.invBand = float64(nb) / h
	pg.band0 = uint32(len(l.bandStart) - 1)
	counts := make([]uint32, nb+1)
	l.eachEdge(&pg, func(e uint32, lo, hi int) {
		for b := lo; b <= hi; b++ {
			counts[b+1]++
		}
	})
	base := uint32(len(l.bandEdges))
	for b := 1; b <= nb; b++ {
		counts[b] += counts[b-1]
	}
	for b := 1; b <= nb; b++ {
		l.bandStart = append(l.bandStart, base+counts[b])
	}
	l.bandEdges = append(l.bandEdges, make([]uint32, counts[nb])...)
	fill := counts[:nb]
	l.eachEdge(&pg, func(e uint32, lo, hi int) {
		for b := lo; b <= hi; b++ {
			l.bandEdges[base+fill[b]] = e
			fill[b]++
		}
	})
	l.addCells(&pg)
	l.grids = append(l.grids, pg)
	return nil
}

// addCells builds g's distance raster: every edge, horizontal ones
// included, is listed in each cell its bounding box, padded by edgePad,
// touches. The padding makes "not listed in these cells" imply "at least
// edgePad away from them", whatever the rounding of cellCol and cellRow.
func (l *Locator) addCells(g *prepGrid) {
	edges := 0
	for r := g.ring0; r < g.ring1; r++ {
		edges += int(l.rings[r+1]-l.rings[r]) - 1
	}
	w, h := g.bound.Max[0]-g.bound.Min[0], g.bound.Max[1]-g.bound.Min[1]
	coslat := math.Max(0.05, math.Cos((g.bound.Min[1]+g.bound.Max[1])/2*math.Pi/180))
	target := float64(max(1, edges/edgesPerCell))
	// side is in degrees of latitude; a degenerate grid, all on one line,
	// gets a single cell.
	nx, ny := 1, 1
	if side := math.Sqrt(w * coslat * h / target); side > 0 {
		nx = max(1, min(int(math.Ceil(w*coslat/side)), maxCellSide))
		ny = max(1, min(int(math.Ceil(h/side)), maxCellSide))
	}
	g.cellNX, g.cellNY = int32(nx), int32(ny)
	if w > 0 {
		g.invCellW, g.cellW = float64(nx)/w, w/float64(nx)
	}
	if h > 0 {
		g.invCellH, g.cellH = float64(ny)/h, h/float64(ny)
	}
	g.cell0 = uint32(len(l.cellStart) - 1)
	box := func(e uint32) (c0, c1, r0, r1 int) {
		a, b := l.pts[e], l.pts[e+1]
		return g.cellCol(min(a[0], b[0]) - edgePad), g.cellCol(max(a[0], b[0]) + edgePad),
			g.cellRow(min(a[1], b[1]) - edgePad), g.cellRow(max(a[1], b[1]) + edgePad)
	}
	counts := make([]uint32, nx*ny+1)
	for r := g.ring0; r < g.ring1; r++ {
		for e := l.rings[r]; e+1 < l.rings[r+1]; e++ {
			c0, c1, r0, r1 := box(e)
			for y := r0; y <= r1; y++ {
				for x := c0; x <= c1; x++ {
					counts[y*nx+x+1]++
				}
			}
		}
	}
	for c := 1; c <= nx*ny; c++ {
		counts[c] += counts[c-1]
	}
	base := uint32(len(l.cellEdges))
	for c := 1; c <= nx*ny; c++ {
		l.cellStart = append(l.cellStart, base+counts[c])
	}
	l.cellEdges = append(l.cellEdges, make([]uint32, counts[nx*ny])...)
	fill := counts[:nx*ny]
	for r := g.ring0; r < g.ring1; r++ {
		for e := l.rings[r]; e+1 < l.rings[r+1]; e++ {
			c0, c1, r0, r1 := box(e)
			for y := r0; y <= r1; y++ {
				for x := c0; x <= c1; x++ {
					l.cellEdges[base+fill[y*nx+x]] = e
					fill[y*nx+x]++
				}
			}
		}
	}
}

// cellCol and cellRow map a coordinate to g's distance raster, clamped, so
// that a point outside the grid's bound starts from the nearest cell.
func (g *prepGrid) cellCol(x float64) int {
	return max(0, min(int((x-g.bound.Min[0])*g.invCellW), int(g.cellNX)-1))
}

func (g *prepGrid) cellRow(y float64) int {
	return max(0, min(int((y-g.bound.Min[1])*g.invCellH), int(g.cellNY)-1))
}

// eachEdge calls fn for every non-horizontal edge of g with the first and
// last band its y-range touches. Horizontal edges never cross the test ray.
func (l *Locator) eachEdge(g *prepGrid, fn func(e uint32, lo, hi int)) {
	for r := g.ring0; r < g.ring1; r++ {
		for e := l.rings[r]; e+1 < l.rings[r+1]; e++ {
			a, b := l.pts[e][1], l.pts[e+1][1]
			if a == b {
				continue
			}
			if a > b {
				a, b = b, a
			}
			fn(e, g.band(a), g.band(b))
		}
	}
}

// band returns the band of latitude y. It is monotone in y, which is what
// makes "an edge spanning [a, b] is in bands band(a)…band(b)" exact.
func (g *prepGrid) band(y float64) int {
	b := int((y - g.bound.Min[1]) * g.invBand)
	return max(0, min(b, int(g.nBand)-1))
}

// contains is the exact half-open crossing-number test of grid gi at (x, y).
func (l *Locator) contains(gi uint32, x, y float64) bool {
	g := &l.grids[gi]
	// No edge has a.y <= y < b.y outside [minY, maxY): the answer is "out".
	if !(y >= g.bound.Min[1] && y < g.bound.Max[1]) {
		return false
	}
	b := g.band0 + uint32(g.band(y))
	in := false
	for _, e := range l.bandEdges[l.bandStart[b]:l.bandStart[b+1]] {
		p, q := l.pts[e], l.pts[e+1]
		if p[1] > q[1] {
			p, q = q, p // canonical order: both owners of an edge compute the same crossing
		}
		if p[1] <= y && y < q[1] {
			if x < p[0]+(y-p[1])*(q[0]-p[0])/(q[1]-p[1]) {
				in = !in
			}
		}
	}
	return in
}

// col and row map a coordinate to its raster bin; both are monotone and
// clamped, and build and lookup use the very same functions.
func (l *Locator) col(x float64) int {
	return max(0, min(int((x-l.minX)*l.invW), l.nx-1))
}

func (l *Locator) row(y float64) int {
	return max(0, min(int((y-l.minY)*l.invH), l.ny-1))
}

// buildRaster sizes the raster, marks the bins edges touch, and resolves
// every other bin to its single owner (or none).
func (l *Locator) buildRaster(b orb.Bound) {
	// Pad so that edges on the bound are still inside it.
	l.minX, l.minY = b.Min[0]-2*edgePad, b.Min[1]-2*edgePad
	l.maxX, l.maxY = b.Max[0]+2*edgePad, b.Max[1]+2*edgePad
	w, h := l.maxX-l.minX, l.maxY-l.minY

	// Square bins in metres: a degree of longitude is cos(lat) degrees of latitude.
	coslat := math.Max(0.05, math.Cos((l.minY+l.maxY)/2*math.Pi/180))
	edges := len(l.pts) - len(l.rings) + 1
	target := float64(max(16, min(binsPerEdge*edges, maxBins)))
	side := math.Sqrt(w * coslat * h / target) // in degrees of latitude
	l.nx = max(1, min(int(math.Ceil(w*coslat/side)), 1<<16))
	l.ny = max(1, min(int(math.Ceil(h/side)), 1<<16))
	for l.nx*l.ny > maxBins {
		l.nx, l.ny = max(1, l.nx*3/4), max(1, l.ny*3/4)
	}
	l.invW, l.invH = float64(l.nx)/w, float64(l.ny)/h
	nbins := l.nx * l.ny

	// Pass 1: (bin, grid) pairs for every bin an edge touches. Grids are
	// visited in index order, so each bin's list comes out sorted.
	last := make([]uint32, nbins) // last grid+1 marked in a bin, to skip repeats
	var pairs [][2]uint32
	for gi := range l.grids {
		g := &l.grids[gi]
		mark := uint32(gi + 1)
		for r := g.ring0; r < g.ring1; r++ {
			for e := l.rings[r]; e+1 < l.rings[r+1]; e++ {
				l.rasterizeEdge(l.pts[e], l.pts[e+1], func(bin int) {
					if last[bin] != mark {
						last[bin] = mark
						pairs = append(pairs, [2]uint32{uint32(bin), uint32(gi)})
					}
				})
			}
		}
	}
	// Counting sort by bin, stable, keeps each bin's grids ascending.
	start := make([]uint32, nbins+1)
	for _, p := range pairs {
		start[p[0]+1]++
	}
	for i := 1; i <= nbins; i++ {
		start[i] += start[i-1]
	}
	flat := make([]uint32, len(pairs))
	fill := last // reuse: last is no longer needed
	copy(fill, start[:nbins])
	for _, p := range pairs {
		flat[fill[p[0]]] = p[1]
		fill[p[0]]++
	}
	pairs = nil

	// A tree of grid bounds answers "which grids could contain this point"
	// while the raster is resolved; it is not kept.
	var tr rtree.RTreeG[uint32]
	for gi := range l.grids {
		g := &l.grids[gi]
		tr.Insert(g.bound.Min, g.bound.Max, uint32(gi))
	}
	var found []uint32
	owners := func(x, y float64, skip []uint32) []uint32 {
		found = found[:0]
		tr.Search([2]float64{x, y}, [2]float64{x, y}, func(_, _ [2]float64, gi uint32) bool {
			if _, dup := slices.BinarySearch(skip, gi); !dup {
				found = append(found, gi)
			}
			return true
		})
		slices.Sort(found)
		return found
	}

	l.bins = make([]uint32, nbins)
	lists := make(map[string]uint32)
	var cand []uint32
	for r := 0; r < l.ny; r++ {
		cy := l.minY + (float64(r)+0.5)/l.invH
		for c := 0; c < l.nx; c++ {
			bin := r*l.nx + c
			cx := l.minX + (float64(c)+0.5)/l.invW
			touching := flat[start[bin]:start[bin+1]]
			if len(touching) == 0 {
				// Pure bin: adjacent pure bins share an edge-free border, so
				// they have the same owner; test only where no neighbour is pure.
				switch {
				case c > 0 && l.bins[bin-1]&mixedBit == 0 && len(flat[start[bin-1]:start[bin]]) == 0:
					l.bins[bin] = l.bins[bin-1]
				case r > 0 && len(flat[start[bin-l.nx]:start[bin-l.nx+1]]) == 0:
					l.bins[bin] = l.bins[bin-l.nx]
				default:
					for _, gi := range owners(cx, cy, nil) {
						if l.contains(gi, cx, cy) {
							l.bins[bin] = gi + 1
							break
						}
					}
				}
				continue
			}
			// Mixed bin. In a valid plan only grids with edges here can
			// contain part of it; a grid that overlaps another could cover
			// the whole bin without an edge in it, so add any such grid.
			cand = append(cand[:0], touching...)
			binBound := orb.Bound{
				Min: orb.Point{l.minX + float64(c)/l.invW, l.minY + float64(r)/l.invH},
				Max: orb.Point{l.minX + float64(c+1)/l.invW, l.minY + float64(r+1)/l.invH},
			}
			for _, gi := range owners(cx, cy, touching) {
				gb := l.grids[gi].bound
				if gb.Min[0] <= binBound.Min[0] && gb.Min[1] <= binBound.Min[1] &&
					gb.Max[0] >= binBound.Max[0] && gb.Max[1] >= binBound.Max[1] &&
					l.contains(gi, cx, cy) {
					cand = append(cand, gi)
				}
			}
			if len(cand) > len(touching) {
				slices.Sort(cand)
			}
			key := unsafe.String((*byte)(unsafe.Pointer(&cand[0])), len(cand)*4)
			off, ok := lists[key]
			if !ok {
				off = uint32(len(l.cands))
				l.cands = append(l.cands, uint32(len(cand)))
				l.cands = append(l.cands, cand...)
				lists[string([]byte(key))] = off
				l.nLists++
			}
			l.bins[bin] = mixedBit | off
		}
	}
	l.cands = slices.Clip(l.cands)
}

// rasterizeEdge calls fn for every bin within edgePad of segment a–b,
// conservatively (it may call fn for a few bins that only nearly touch).
func (l *Locator) rasterizeEdge(a, b orb.Point, fn func(bin int)) {
	if a[1] > b[1] {
		a, b = b, a
	}
	r0, r1 := l.row(a[1]-edgePad), l.row(b[1]+edgePad)
	dy := b[1] - a[1]
	for r := r0; r <= r1; r++ {
		// The part of the segment within this row's y-range, widened by the pad.
		ylo := math.Max(a[1], l.minY+float64(r)/l.invH-edgePad)
		yhi := math.Min(b[1], l.minY+float64(r+1)/l.invH+edgePad)
		xlo, xhi := a[0], b[0]
		if dy > 0 {
			xlo = a[0] + (ylo-a[1])/dy*(b[0]-a[0])
			xhi = a[0] + (yhi-a[1])/dy*(b[0]-a[0])
		}
		if xlo > xhi {
			xlo, xhi = xhi, xlo
		}
		c0, c1 := l.col(xlo-edgePad), l.col(xhi+edgePad)
		for c := c0; c <= c1; c++ {
			fn(r*l.nx + c)
		}
	}
}

// Locate returns the id of the grid containing p, and false when p is in no
// grid (or is NaN). See the type's documentation for points on boundaries.
func (l *Locator) Locate(p orb.Point) (id int, ok bool) {
	x, y := p[0], p[1]
	if !(x >= l.minX && x <= l.maxX && y >= l.minY && y <= l.maxY) {
		return 0, false
	}
	v := l.bins[l.row(y)*l.nx+l.col(x)]
	if v&mixedBit == 0 {
		if v == 0 {
			return 0, false
		}
		return l.grids[v-1].id, true
	}
	off := v &^ mixedBit
	for _, gi := range l.cands[off+1 : off+1+l.cands[off]] {
		if l.contains(gi, x, y) {
			return l.grids[gi].id, true
		}
	}
	return 0, false
}

// Contains reports whether grid id contains p under the same boundary rule
// as Locate (false for an unknown id).
func (l *Locator) Contains(id int, p orb.Point) bool {
	gi, ok := l.byID[id]
	return ok && l.contains(gi, p[0], p[1])
}

// Len returns the number of grids.
func (l *Locator) Len() int { return len(l.grids) }

// Bound returns the bounding box of all grids (slightly padded).
func (l *Locator) Bound() orb.Bound {
	return orb.Bound{Min: orb.Point{l.minX, l.minY}, Max: orb.Point{l.maxX, l.maxY}}
}

// LocatorStats describes a Locator's index, for logs and benchmarks.
type LocatorStats struct {
	Grids, Edges      int
	BinsX, BinsY      int
	PureBins          int     // bins answered without a polygon test
	CandidateLists    int     // distinct candidate lists of mixed bins
	MeanCandidates    float64 // grids tested per mixed bin, on average
	MemoryBytes       int     // heap held by the index, approximately
	BandEdgesPerEdges float64 // band entries per edge (edges stored per band they span)
}

// Stats returns the size and shape of the index.
func (l *Locator) Stats() LocatorStats {
	s := LocatorStats{Grids: len(l.grids), BinsX: l.nx, BinsY: l.ny, MemoryBytes: l.MemoryBytes()}
	if len(l.grids) == 0 {
		return s
	}
	s.Edges = len(l.pts) - len(l.rings) + 1
	s.CandidateLists = l.nLists
	mixed, cands := 0, 0
	for _, v := range l.bins {
		if v&mixedBit == 0 {
			s.PureBins++
			continue
		}
		mixed++
		cands += int(l.cands[v&^mixedBit])
	}
	if mixed > 0 {
		s.MeanCandidates = float64(cands) / float64(mixed)
	}
	s.BandEdgesPerEdges = float64(len(l.bandEdges)) / float64(s.Edges)
	return s
}

// MemoryBytes returns the approximate heap the index holds.
func (l *Locator) MemoryBytes() int {
	const mapEntry = 8 + 4 + 8 // key, value and a share of bucket overhead
	return int(unsafe.Sizeof(*l)) +
		cap(l.bins)*4 + cap(l.cands)*4 +
		cap(l.grids)*int(unsafe.Sizeof(prepGrid{})) +
		len(l.byID)*mapEntry +
		cap(l.pts)*16 + cap(l.rings)*4 + cap(l.bandStart)*4 + cap(l.bandEdges)*4 +
		cap(l.cellStart)*4 + cap(l.cellEdges)*4
}
