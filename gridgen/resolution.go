package gridgen

import (
	"math"
	"slices"

	"github.com/paulmach/orb/geo"
	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
)

// Choosing the H3 resolution when the caller leaves it to Generate
// (Input.Resolution 0), and deriving coarser cells from fine ones.

// Auto resolution: the coarsest resolution at which the average grid spans
// at least autoCellsPerGrid non-empty cells. Fewer cells make balance coarse
// (one cell can be 10 % of a grid); many more only cost time.
const (
	autoCellsPerGrid = 20
	autoMinRes       = 7
	autoMaxRes       = 12
)

// chooseResolution returns the coarsest resolution whose non-empty cells
// give the average grid autoCellsPerGrid of them.
func chooseResolution(in Input, hh []data.HouseholdPoint, cells []h3.Cell) int {
	total := 0
	for _, h := range hh {
		total += int(h.Households)
	}
	grids := 0
	if in.Target > 0 {
		grids = max(1, int(math.Round(float64(total)/float64(in.Target))))
	}
	for _, k := range in.Grids {
		grids += k
	}
	grids = max(1, grids)
	// One sort for every resolution: the cells are all at one resolution,
	// so their order is that of their digits, and a parent keeps a prefix
	// of them: sorted cells have sorted parents, and counting the parents
	// that differ from the one before counts the distinct ones. (A sort per
	// resolution took 2 s of one core at 13 million households.)
	sorted := slices.Clone(cells)
	slices.Sort(sorted)
	for res := autoMinRes; res < autoMaxRes; res++ {
		if n := distinctParents(sorted, res); n >= autoCellsPerGrid*grids && estimateCells(in.Parents, res) <= maxCells {
			return res
		}
	}
	return autoMaxRes
}

// distinctParents counts the distinct parents at res of sorted, cells of
// one resolution in ascending order.
func distinctParents(sorted []h3.Cell, res int) int {
	n := 0
	prev := h3.Cell(0)
	for i, c := range sorted {
		if p := cellParent(c, res); i == 0 || p != prev {
			n++
			prev = p
		}
	}
	return n
}

// estimateCells is about how many cells of res cover the parents (their
// area over the average cell's, +Inf if H3 does not know the resolution),
// so that a resolution needing more than maxCells is refused, or not
// chosen, before any cell is built.
func estimateCells(parents []data.Area, res int) float64 {
	a := 0.0
	for _, p := range parents {
		a += geo.Area(p.Geometry)
	}
	cell, err := h3.HexagonAreaAvgM2(res)
	if err != nil || cell <= 0 {
		return math.Inf(1)
	}
	return a / cell
}

// cellParent is h3's cellToParent done on the bits: set the resolution field
// and mark the finer digits unused.
func cellParent(c h3.Cell, res int) h3.Cell {
	cur := int((uint64(c) >> 52) & 0xF)
	if res >= cur {
		return c
	}
	h := uint64(c)&^(uint64(0xF)<<52) | uint64(res)<<52
	for d := res + 1; d <= cur; d++ {
		h |= uint64(7) << ((15 - d) * 3)
	}
	return h3.Cell(h)
}
