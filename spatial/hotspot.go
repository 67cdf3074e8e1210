package spatial

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

// CellValue is one H3 cell of a study area and its value, usually a count
// of incidents.
type CellValue struct {
	Cell  h3.Cell
	Value float64
}

// HotspotCell is the Getis-Ord Gi* result for one cell.
type HotspotCell struct {
	Cell      h3.Cell
	Value     float64
	Neighbors int     // cells of its k-ring inside the study area, itself included
	Z         float64 // Gi* z-score
	P         float64 // two-sided p-value of Z under the normal distribution
	PFDR      float64 // P adjusted for the false discovery rate (Benjamini–Hochberg)
	Bin       int     // −3…+3: cold or hot spot at 99%, 95%, 90% confidence after FDR; 0 not significant
}

// Hotspot warnings. They do not stop the analysis; callers should show them.
const (
	WarnFewIncidents = "fewer than 30 incidents: Gi* results are unreliable"
	WarnFewCells     = "fewer than 30 cells in the study area: Gi* results are unreliable"
	WarnNoVariance   = "every cell has the same value: there are no hot or cold spots"
)

// maxHotspotK bounds the ring size: a 10-ring already holds 331 cells.
const maxHotspotK = 10

// GetisOrdGiStar computes the Getis-Ord Gi* statistic (Getis & Ord 1995, as
// in ArcGIS's Hot Spot Analysis) for every cell of a study area.
//
// cells is the whole study area, every cell once and of one resolution,
// including cells with value 0: cells left out are not zeros, they are
// outside the study, and leaving empty cells out would make every occupied
// cell look ordinary. Each cell's neighbours are the cells of its k-ring
// (h3 GridDisk) that are in the study area, itself included, with binary
// weights. For cell i with W_i such neighbours, n cells, mean X̄ and
// standard deviation S (population form) of the values:
//
//	Gi* = (Σ_j∈ring x_j − X̄·W_i) / (S·√((n·W_i − W_i²)/(n − 1)))
//
// P is two-sided from the normal distribution; PFDR applies the
// Benjamini–Hochberg correction over all n cells; Bin is ±3, ±2, ±1 where
// PFDR ≤ 0.01, 0.05, 0.10 (sign of Z), else 0. Results are in the order of
// cells. The warnings are WarnFewIncidents when the values sum to less than
// 30, WarnFewCells, and WarnNoVariance (then every Z is 0).
func GetisOrdGiStar(cells []CellValue, k int) ([]HotspotCell, []string, error) {
	if k < 1 || k > maxHotspotK {
		return nil, nil, fmt.Errorf("%w: k = %d, want 1…%d", ErrInvalidArgument, k, maxHotspotK)
	}
	if len(cells) < 3 {
		return nil, nil, fmt.Errorf("%w: %d cells, want at least 3", ErrInvalidArgument, len(cells))
	}
	ids := make([]h3.Cell, len(cells))
	for i, c := range cells {
		ids[i] = c.Cell
	}
	nb, err := NewCellNeighbours(ids, k)
	if err != nil {
		return nil, nil, err
	}
	return GetisOrdGiStarWith(cells, nb)
}

// CellNeighbours is the k-ring neighbourhood of every cell of a study
// area, as indexes into its cells: computed once per study area and
// resolution, it turns Gi* into sums over arrays (H3's GridDisk for every
// cell was most of the statistic's time).
type CellNeighbours struct {
	cells []h3.Cell
	start []int32 // cell i's neighbours are nb[start[i]:start[i+1]]
	nb    []int32
}

// NewCellNeighbours returns the neighbourhoods of cells (every cell once,
// one resolution) of k-ring k, each cell its own neighbour.
func NewCellNeighbours(cells []h3.Cell, k int) (*CellNeighbours, error) {
	if k < 1 || k > maxHotspotK {
		return nil, fmt.Errorf("%w: k = %d, want 1…%d", ErrInvalidArgument, k, maxHotspotK)
	}
	n := len(cells)
	index := make(map[h3.Cell]int32, n)
	var res int
	if n > 0 {
		res = cells[0].Resolution()
	}
	for i, c := range cells {
		if !c.IsValid() || c.Resolution() != res {
			return nil, fmt.Errorf("%w: cell %v is not a valid resolution-%d cell", ErrInvalidArgument, c, res)
		}
		if _, dup := index[c]; dup {
			return nil, fmt.Errorf("%w: cell %v", ErrDuplicateID, c)
		}
		index[c] = int32(i)
	}
	out := &CellNeighbours{cells: cells, start: make([]int32, n+1), nb: make([]int32, 0, n*(3*k*(k+1)+1))}
	for i, c := range cells {
		ring, err := h3.GridDisk(c, k)
		if err != nil {
			return nil, fmt.Errorf("spatial: k-ring of %v: %w", c, err)
		}
		for _, x := range ring {
			if j, ok := index[x]; ok {
				out.nb = append(out.nb, j)
			}
		}
		out.start[i+1] = int32(len(out.nb))
	}
	return out, nil
}

// Len returns the number of cells.
func (nb *CellNeighbours) Len() int { return len(nb.cells) }

// GetisOrdGiStarWith is GetisOrdGiStar with the neighbourhoods computed
// already: cells must be nb's cells, in nb's order, with their values.
func GetisOrdGiStarWith(cells []CellValue, nbs *CellNeighbours) ([]HotspotCell, []string, error) {
	n := len(cells)
	if n < 3 {
		return nil, nil, fmt.Errorf("%w: %d cells, want at least 3", ErrInvalidArgument, n)
	}
	if n != nbs.Len() {
		return nil, nil, fmt.Errorf("%w: %d cells for %d neighbourhoods", ErrInvalidArgument, n, nbs.Len())
	}
	var sum, sum2 float64
	for i, c := range cells {
		if c.Cell != nbs.cells[i] {
			return nil, nil, fmt.Errorf("%w: cell %d is %v, not the neighbourhoods' %v", ErrInvalidArgument, i, c.Cell, nbs.cells[i])
		}
		if !(c.Value >= 0) || math.IsInf(c.Value, 0) {
			return nil, nil, fmt.Errorf("%w: cell %v has value %v, want a finite value ≥ 0", ErrInvalidArgument, c.Cell, c.Value)
		}
		sum += c.Value
		sum2 += c.Value * c.Value
	}
	var warnings []string
	if sum < 30 {
		warnings = append(warnings, WarnFewIncidents)
	}
	if n < 30 {
		warnings = append(warnings, WarnFewCells)
	}
	fn := float64(n)
	mean := sum / fn
	// Population variance, as Getis & Ord define S; clamp rounding below 0.
	s := math.Sqrt(math.Max(0, sum2/fn-mean*mean))
	if s <= 1e-12*math.Max(1, mean) {
		warnings = append(warnings, WarnNoVariance)
		s = 0
	}

	out := make([]HotspotCell, n)
	p := make([]float64, n)
	for i, c := range cells {
		var w, local float64
		for _, j := range nbs.nb[nbs.start[i]:nbs.start[i+1]] {
			w++
			local += cells[j].Value
		}
		h := HotspotCell{Cell: c.Cell, Value: c.Value, Neighbors: int(w), P: 1}
		// A neighbourhood that is the whole study area carries no information.
		if den := s * math.Sqrt((fn*w-w*w)/(fn-1)); s > 0 && den > 0 {
			h.Z = (local - mean*w) / den
			h.P = math.Erfc(math.Abs(h.Z) / math.Sqrt2)
		}
		out[i] = h
		p[i] = h.P
	}
	for i, q := range bhAdjust(p) {
		out[i].PFDR = q
		out[i].Bin = hotspotBin(out[i].Z, q)
	}
	return out, warnings, nil
}

// hotspotBin is ArcGIS's Gi_Bin: ±3, ±2, ±1 for 99, 95, 90% confidence.
func hotspotBin(z, p float64) int {
	level := 0
	switch {
	case p <= 0.01:
		level = 3
	case p <= 0.05:
		level = 2
	case p <= 0.10:
		level = 1
	}
	if z < 0 {
		return -level
	}
	if z > 0 {
		return level
	}
	return 0
}

// bhAdjust returns Benjamini–Hochberg adjusted p-values (q-values), in the
// order of p: q_(i) = min over j ≥ i of m·p_(j)/j, at most 1. A test is
// significant at false discovery rate α exactly when q ≤ α, which is the
// step-up rule "reject the largest k with p_(k) ≤ k·α/m and all below it".
func bhAdjust(p []float64) []float64 {
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	// Ties need no stable order: tied p-values get the same q.
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	q := make([]float64, m)
	run := 1.0
	for r := m - 1; r >= 0; r-- {
		i := order[r]
		run = math.Min(run, p[i]*float64(m)/float64(r+1))
		q[i] = run
	}
	return q
}

// StudyCells returns the cells of resolution res whose centres lie in the
// study area, for GetisOrdGiStar.
func StudyCells(area orb.MultiPolygon, res int) ([]h3.Cell, error) {
	var cells []h3.Cell
	for _, poly := range area {
		cs, err := PolygonToCells(poly, res)
		if err != nil {
			return nil, err
		}
		cells = append(cells, cs...)
	}
	slices.Sort(cells)
	return slices.Compact(cells), nil
}

// CellCounts counts points into the study cells (all of one resolution) and
// returns one CellValue per study cell, zeros included, in the order of
// study, with the number of points that fell outside the study area.
func CellCounts(study []h3.Cell, points []orb.Point) ([]CellValue, int, error) {
	if len(study) == 0 {
		return nil, 0, fmt.Errorf("%w: empty study area", ErrInvalidArgument)
	}
	res := study[0].Resolution()
	index := make(map[h3.Cell]int, len(study))
	out := make([]CellValue, len(study))
	for i, c := range study {
		index[c] = i
		out[i].Cell = c
	}
	outside := 0
	for _, p := range points {
		c, err := PointToCell(p, res)
		if err != nil {
			outside++
			continue
		}
		if i, ok := index[c]; ok {
			out[i].Value++
		} else {
			outside++
		}
	}
	return out, outside, nil
}
