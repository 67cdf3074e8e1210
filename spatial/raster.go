package spatial

import (
	"math"

	"github.com/paulmach/orb"
)

// A raster of square cells a few metres wide over a bound, for measuring
// the area shapes such as camera sectors cover together (a cell counts once
// however many shapes hold its centre), and buckets of points on a coarse
// grid over the same raster, for finding the points in a shape's box.

// Raster is a bitset of marked cells over a bound: cells about square in
// metres at the bound's middle latitude, rows along latitude.
type Raster struct {
	minX, minY float64
	dx, dy     float64 // cell size in degrees
	nx, ny     int
	cellM      float64
	// The bits in chunks of rasterChunk words, copied on write after
	// Clone: a copy that changes the cells of one camera costs those
	// chunks, not the whole raster (32 MiB at the cell cap).
	chunks [][]uint64
	owned  []bool // nil: every chunk is this raster's own
}

// rasterChunkShift sets the chunk size: 4,096 words, 262,144 cells, 32 KiB.
const (
	rasterChunkShift = 12
	rasterChunk      = 1 << rasterChunkShift
)

// NewRaster returns an unmarked raster over b with cells of cellM metres,
// or coarser ones (by factors of 1.25) when b would need more than maxCells
// of them: the caller bounds memory (maxCells bits) and the cell size
// bounds the error of the areas measured.
func NewRaster(b orb.Bound, cellM float64, maxCells int) *Raster {
	lat0 := (b.Min[1] + b.Max[1]) / 2
	// cos(lat) is held above 0.01 so that a bound at a pole keeps a finite
	// cell width in degrees.
	cosLat := math.Max(math.Cos(lat0*math.Pi/180), 0.01)
	wM := (b.Max[0] - b.Min[0]) * MetresPerDegree * cosLat
	hM := (b.Max[1] - b.Min[1]) * MetresPerDegree
	cell := cellM
	for (wM/cell+1)*(hM/cell+1) > float64(maxCells) {
		cell *= 1.25
	}
	r := &Raster{minX: b.Min[0], minY: b.Min[1], cellM: cell, dy: cell / MetresPerDegree, dx: cell / (MetresPerDegree * cosLat)}
	r.nx = int(math.Ceil((b.Max[0]-b.Min[0])/r.dx)) + 1
	r.ny = int(math.Ceil((b.Max[1]-b.Min[1])/r.dy)) + 1
	words := (r.nx*r.ny + 63) / 64
	r.chunks = make([][]uint64, (words+rasterChunk-1)/rasterChunk)
	for i := range r.chunks {
		r.chunks[i] = make([]uint64, rasterChunk)
	}
	return r
}

// CellM returns the side of the raster's cells in metres, which bounds the
// error of the areas measured on it.
func (r *Raster) CellM() float64 { return r.cellM }

// Marked reports whether p lies in a marked cell (false outside the raster).
func (r *Raster) Marked(p orb.Point) bool {
	c := int(math.Floor((p[0] - r.minX) / r.dx))
	row := int(math.Floor((p[1] - r.minY) / r.dy))
	if c < 0 || row < 0 || c >= r.nx || row >= r.ny {
		return false
	}
	return r.CellMarked(c, row)
}

// The cells are numbered by column (west to east) and row (south to
// north) from the bound's south-west corner. A caller marks the cells of a
// shape by walking Cells(box) and testing each CellCentre, the loop written
// out where the shape is tested and coordinates kept as plain floats: a
// callback per cell given an orb.Point made the area step of the demo's
// coverage (516 cameras) twice as slow.

// Cells returns the range of cells, columns c0 to c1 and rows r0 to r1,
// whose centres may lie in box, clipped to the raster (empty when c0 > c1
// or r0 > r1).
func (r *Raster) Cells(box orb.Bound) (c0, c1, r0, r1 int) {
	c0 = max(0, int(math.Floor((box.Min[0]-r.minX)/r.dx)))
	c1 = min(r.nx-1, int(math.Floor((box.Max[0]-r.minX)/r.dx)))
	r0 = max(0, int(math.Floor((box.Min[1]-r.minY)/r.dy)))
	r1 = min(r.ny-1, int(math.Floor((box.Max[1]-r.minY)/r.dy)))
	return c0, c1, r0, r1
}

// CellCentre returns the longitude and latitude of the centre of cell
// (col, row): a cell is counted whole when its centre is in a shape, which
// keeps the area estimate unbiased, off by at most a cell's width along
// the shape's edge.
func (r *Raster) CellCentre(col, row int) (x, y float64) {
	return r.minX + (float64(col)+0.5)*r.dx, r.minY + (float64(row)+0.5)*r.dy
}

// CellM2 returns the area in m² of the cells of row, on the sphere of
// MetresPerDegree: cells narrow towards the poles.
func (r *Raster) CellM2(row int) float64 {
	y := r.minY + (float64(row)+0.5)*r.dy
	return r.dx * r.dy * MetresPerDegree * MetresPerDegree * math.Cos(y*math.Pi/180)
}

// CellMarked reports whether cell (col, row) is marked.
func (r *Raster) CellMarked(col, row int) bool {
	i := row*r.nx + col
	w := i >> 6
	return r.chunks[w>>rasterChunkShift][w&(rasterChunk-1)]&(1<<(i&63)) != 0
}

// word returns the word of cell index i for writing, copying its chunk
// first when it is shared with a clone.
func (r *Raster) word(i int) *uint64 {
	w := i >> 6
	k := w >> rasterChunkShift
	if r.owned != nil && !r.owned[k] {
		r.chunks[k] = append([]uint64(nil), r.chunks[k]...)
		r.owned[k] = true
	}
	return &r.chunks[k][w&(rasterChunk-1)]
}

// MarkCell marks cell (col, row), so that a cell covered by several shapes
// is counted once.
func (r *Raster) MarkCell(col, row int) {
	i := row*r.nx + col
	*r.word(i) |= 1 << (i & 63)
}

// UnmarkCell clears cell (col, row), for a caller that recomputes the
// cells of a region (one camera moved) rather than the whole raster.
func (r *Raster) UnmarkCell(col, row int) {
	i := row*r.nx + col
	*r.word(i) &^= 1 << (i & 63)
}

// Clone returns a copy of r whose marks change apart from r's, in time
// proportional to the raster's chunks, not its cells: the two share their
// chunks until one of them marks or unmarks a cell in one. Clone must not
// run at the same time as a mark on r.
func (r *Raster) Clone() *Raster {
	c := *r
	c.chunks = append([][]uint64(nil), r.chunks...)
	c.owned = make([]bool, len(r.chunks))
	r.owned = make([]bool, len(r.chunks))
	return &c
}

// Buckets is a uniform grid of point lists: a counting sort of points by
// cell, cheaper to build than a tree for one pass of box queries.
type Buckets struct {
	minX, minY, dx, dy float64
	nx, ny             int
	start              []int32 // points of cell c are order[start[c]:start[c+1]]
	order              []int32 // indices into the points given
}

// Buckets sorts n points, the i-th at(i), into cells of k×k raster cells
// over r; points beyond r's bound go to the nearest edge cell, so every
// point is found. The points are given by index so that a caller keeps
// them in its own records: coverage's 3.29M households at 16× Montevideo
// were copied into a slice of points for it, 53 MB and a pass.
func (r *Raster) Buckets(n int, at func(i int) orb.Point, k int) *Buckets {
	b := &Buckets{minX: r.minX, minY: r.minY, dx: r.dx * float64(k), dy: r.dy * float64(k)}
	b.nx, b.ny = r.nx/k+1, r.ny/k+1
	b.start = make([]int32, b.nx*b.ny+1)
	for i := range n {
		b.start[b.cell(at(i))+1]++
	}
	for i := 1; i < len(b.start); i++ {
		b.start[i] += b.start[i-1]
	}
	b.order = make([]int32, n)
	fill := append([]int32(nil), b.start[:len(b.start)-1]...)
	for i := range n {
		c := b.cell(at(i))
		b.order[fill[c]] = int32(i)
		fill[c]++
	}
	return b
}

// Search calls fn with the index of every point in the cells box touches,
// each once: all the points in box and some near it, for the caller to test
// exactly.
func (b *Buckets) Search(box orb.Bound, fn func(i int)) {
	c0, r0 := b.colRow(box.Min)
	c1, r1 := b.colRow(box.Max)
	for row := r0; row <= r1; row++ {
		for col := c0; col <= c1; col++ {
			cell := row*b.nx + col
			for _, k := range b.order[b.start[cell]:b.start[cell+1]] {
				fn(int(k))
			}
		}
	}
}

// colRow is the cell of p, clamped to the grid so that points and boxes
// beyond it meet in its edge cells.
func (b *Buckets) colRow(p orb.Point) (int, int) {
	c := int(math.Floor((p[0] - b.minX) / b.dx))
	r := int(math.Floor((p[1] - b.minY) / b.dy))
	return min(max(c, 0), b.nx-1), min(max(r, 0), b.ny-1)
}

// cell is the index of p's cell in start.
func (b *Buckets) cell(p orb.Point) int {
	c, r := b.colRow(p)
	return r*b.nx + c
}
