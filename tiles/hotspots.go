package tiles

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// Hotspot analysis defaults and bounds.
const (
	// DefaultHotspotRes is the default H3 resolution: cells of about
	// 0.1 km², a few street blocks, the scale a grid worker acts on.
	DefaultHotspotRes = 9
	// MinHotspotRes and MaxHotspotRes bound the resolution a client may ask for.
	MinHotspotRes = 5
	MaxHotspotRes = 11
	// HotspotK is the k-ring of each cell's neighbourhood: the cell and its
	// six neighbours.
	HotspotK = 1
	// MaxStudyCells bounds the study area so one request cannot ask for
	// millions of cells.
	MaxStudyCells = 400_000
)

// Study is the study area of the hotspot analysis: the places where a cell
// without incidents is a real zero. It caches, per resolution, its cells,
// their k-ring neighbourhoods and the cell of each hazard it has counted
// (hazards rarely move, and finding a point's H3 cell was most of an
// analysis' time), and is safe for concurrent use.
type Study struct {
	area orb.MultiPolygon // nil: the bound of the incidents
	mu   sync.Mutex
	res  map[int]*studyRes
}

// studyRes is the study area at one resolution.
type studyRes struct {
	cells []h3.Cell
	nb    *spatial.CellNeighbours // computed on first analysis
	index map[h3.Cell]int32
	// The cell index of each hazard last counted, by FID order: a hazard
	// whose FID and point are the same is not located again. spare is the
	// previous one, whose arrays the next count refills.
	memo, spare hazardMemo
	selected    []bool // by the memo's order, whether the count's query selects the hazard
}

type hazardMemo struct {
	fids []int64
	pts  []orb.Point
	at   []int32 // index into cells; −1 outside the study area
}

// hazardIter calls yield with each hazard, in FID order; yield must not
// keep or change it.
type hazardIter func(yield func(*data.Hazard))

func sliceIter(hz []data.Hazard) hazardIter {
	return func(yield func(*data.Hazard)) {
		for i := range hz {
			yield(&hz[i])
		}
	}
}

// NewStudy returns a study area; an empty one means "the bounding box of
// the incidents analysed".
func NewStudy(area orb.MultiPolygon) *Study {
	return &Study{area: area, res: map[int]*studyRes{}}
}

// at returns the study area at res; the caller holds s.mu.
func (s *Study) at(res int) (*studyRes, error) {
	if r, ok := s.res[res]; ok {
		return r, nil
	}
	c, err := spatial.StudyCells(s.area, res)
	if err != nil {
		return nil, err
	}
	r := &studyRes{cells: c}
	s.res[res] = r
	return r, nil
}

func (s *Study) cells(res int, pts []orb.Point) ([]h3.Cell, error) {
	if len(s.area) == 0 {
		if len(pts) == 0 {
			return nil, nil
		}
		b := orb.MultiPoint(pts).Bound().Pad(0.002)
		return spatial.StudyCells(orb.MultiPolygon{b.ToPolygon()}, res)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.at(res)
	if err != nil {
		return nil, err
	}
	return r.cells, nil
}

// neighbours returns the k-ring neighbourhoods of the study cells at res
// (a study area of its own, not the incidents' bound).
func (s *Study) neighbours(res int) (*spatial.CellNeighbours, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.at(res)
	if err != nil {
		return nil, err
	}
	if r.nb == nil {
		if r.nb, err = spatial.NewCellNeighbours(r.cells, HotspotK); err != nil {
			return nil, err
		}
	}
	return r.nb, nil
}

// count counts the hazards each gives that sel selects into the study
// cells at res: one CellValue per cell, in the cells' order, the hazards
// selected and those of them outside the study area (or at a point H3
// cannot place). The hazards come in FID order (Scene.HazardList's); those
// the study area placed last time with the same FID and point are not
// placed again, so after a write only the hazards written are.
func (s *Study) count(res int, each hazardIter, sel func(*data.Hazard) bool) (values []spatial.CellValue, n, outside int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.at(res)
	if err != nil {
		return nil, 0, 0, err
	}
	if r.index == nil {
		r.index = make(map[h3.Cell]int32, len(r.cells))
		for i, c := range r.cells {
			r.index[c] = int32(i)
		}
	}
	values = make([]spatial.CellValue, len(r.cells))
	for i, c := range r.cells {
		values[i].Cell = c
	}
	old, nw := &r.memo, &r.spare
	nw.fids, nw.pts, nw.at = nw.fids[:0], nw.pts[:0], nw.at[:0]
	r.selected = r.selected[:0]
	j, unplaced := 0, 0
	each(func(h *data.Hazard) {
		for j < len(old.fids) && old.fids[j] < h.FID {
			j++
		}
		k := notPlaced
		if j < len(old.fids) && old.fids[j] == h.FID && old.pts[j] == h.Point {
			k = old.at[j]
		} else {
			unplaced++
		}
		nw.fids, nw.pts, nw.at = append(nw.fids, h.FID), append(nw.pts, h.Point), append(nw.at, k)
		r.selected = append(r.selected, sel(h))
	})
	// The hazards not placed before (every one, the first time) are placed
	// on every core: H3 takes half a microsecond a point, half a second
	// for a province's million hazards on one. (On all cores but one, to
	// leave one to requests during the analyses after a start, the first
	// page took 0.40–0.50 s instead of 0.22–0.33 s at 16×, and the camera
	// changes made meanwhile were no faster.)
	placeCells(nw, r.index, res, min(runtime.GOMAXPROCS(0), unplaced/placeChunk))
	for i, k := range nw.at {
		if !r.selected[i] {
			continue
		}
		n++
		if k >= 0 {
			values[k].Value++
		} else {
			outside++
		}
	}
	r.memo, r.spare = r.spare, r.memo
	return values, n, outside, nil
}

// notPlaced marks a hazard of a memo whose cell is still to be found.
const notPlaced int32 = -2

// placeCells finds the study cell of each hazard of m marked notPlaced,
// −1 for none, on the given number of goroutines.
func placeCells(m *hazardMemo, index map[h3.Cell]int32, res, workers int) {
	place := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if m.at[i] != notPlaced {
				continue
			}
			m.at[i] = -1
			if c, err := spatial.PointToCell(m.pts[i], res); err == nil {
				if k, ok := index[c]; ok {
					m.at[i] = k
				}
			}
		}
	}
	if workers <= 1 {
		place(0, len(m.at))
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			place(len(m.at)*w/workers, len(m.at)*(w+1)/workers)
		}()
	}
	wg.Wait()
}

// placeChunk is the fewest hazards to place that a goroutine is started
// for.
const placeChunk = 16384

// HotspotQuery selects the hazards analysed.
type HotspotQuery struct {
	Category string    // "" for all
	Since    time.Time // reported at or after; zero for no bound
	Until    time.Time // reported before; zero for no bound
	Res      int       // H3 resolution; 0 for DefaultHotspotRes
}

// HotspotResult is the Gi* analysis of the hazards a query selects.
type HotspotResult struct {
	Res        int
	K          int
	Incidents  int // hazards selected inside the study area
	Outside    int // hazards selected outside it
	StudyCells int
	Cells      []spatial.HotspotCell // every study cell, in cell order
	Warnings   []string
}

// Hotspots runs Getis-Ord Gi* (spatial.GetisOrdGiStar: k-ring weights with
// each cell its own neighbour, two-sided p, Benjamini–Hochberg, bins −3…+3)
// over the H3 cells of the study area, counting the hazards q selects. An
// analysis that cannot run (too few cells) returns a result without cells
// and with a warning, not an error; a resolution out of range or a study
// area of more than MaxStudyCells cells is EINVALID.
func Hotspots(ctx context.Context, hz []data.Hazard, study *Study, q HotspotQuery) (HotspotResult, error) {
	return hotspots(ctx, sliceIter(hz), len(hz), study, q)
}

// hotspots is Hotspots over the n hazards each gives, in FID order.
func hotspots(ctx context.Context, each hazardIter, n int, study *Study, q HotspotQuery) (HotspotResult, error) {
	res := q.Res
	if res == 0 {
		res = DefaultHotspotRes
	}
	if res < MinHotspotRes || res > MaxHotspotRes {
		return HotspotResult{}, data.Errorf(data.EINVALID, "res must be an integer from %d to %d, got %d", MinHotspotRes, MaxHotspotRes, res)
	}
	out := HotspotResult{Res: res, K: HotspotK}
	selected := func(h *data.Hazard) bool {
		return (q.Category == "" || h.Category == q.Category) &&
			(q.Since.IsZero() || !h.ReportedAt.Before(q.Since)) &&
			(q.Until.IsZero() || h.ReportedAt.Before(q.Until))
	}
	if study != nil && len(study.area) > 0 {
		return hotspotsInStudy(ctx, each, study, res, selected, out)
	}
	pts := make([]orb.Point, 0, n)
	each(func(h *data.Hazard) {
		if selected(h) {
			pts = append(pts, h.Point)
		}
	})
	if study == nil {
		study = NewStudy(nil)
	}
	cells, err := study.cells(res, pts)
	if err != nil {
		return out, fmt.Errorf("hotspots: study cells: %w", err)
	}
	if len(cells) > MaxStudyCells {
		return out, tooManyCells(len(cells), res)
	}
	out.StudyCells = len(cells)
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if len(cells) < 3 {
		return fewCells(out, len(pts)), nil
	}
	values, outside, err := spatial.CellCounts(cells, pts)
	if err != nil {
		return out, fmt.Errorf("hotspots: counts: %w", err)
	}
	out.Incidents, out.Outside = len(pts)-outside, outside
	if err := ctx.Err(); err != nil {
		return out, err
	}
	hs, warn, err := spatial.GetisOrdGiStar(values, HotspotK)
	return giResult(out, hs, warn, err)
}

// hotspotsInStudy is Hotspots over a study area of its own: the cells,
// their neighbourhoods and the hazards' cells come from the study's caches,
// so an analysis is a count and sums over arrays.
func hotspotsInStudy(ctx context.Context, each hazardIter, study *Study, res int, selected func(*data.Hazard) bool, out HotspotResult) (HotspotResult, error) {
	cells, err := study.cells(res, nil)
	if err != nil {
		return out, fmt.Errorf("hotspots: study cells: %w", err)
	}
	if len(cells) > MaxStudyCells {
		return out, tooManyCells(len(cells), res)
	}
	out.StudyCells = len(cells)
	values, n, outside, err := study.count(res, each, selected)
	if err != nil {
		return out, fmt.Errorf("hotspots: counts: %w", err)
	}
	if len(cells) < 3 {
		return fewCells(out, n), nil
	}
	out.Incidents, out.Outside = n-outside, outside
	if err := ctx.Err(); err != nil {
		return out, err
	}
	nb, err := study.neighbours(res)
	if err != nil {
		return out, fmt.Errorf("hotspots: neighbourhoods: %w", err)
	}
	hs, warn, err := spatial.GetisOrdGiStarWith(values, nb)
	return giResult(out, hs, warn, err)
}

func tooManyCells(n, res int) error {
	return data.Errorf(data.EINVALID, "the study area has %d cells at res %d, more than %d: use a coarser res", n, res, MaxStudyCells)
}

// fewCells is the result when the study area has too few cells for Gi*.
func fewCells(out HotspotResult, incidents int) HotspotResult {
	out.Incidents = incidents
	out.Warnings = append(out.Warnings, "the study area has fewer than 3 cells at this res: no analysis")
	if incidents < 30 {
		out.Warnings = append(out.Warnings, spatial.WarnFewIncidents)
	}
	return out
}

func giResult(out HotspotResult, hs []spatial.HotspotCell, warn []string, err error) (HotspotResult, error) {
	if errors.Is(err, spatial.ErrInvalidArgument) {
		return out, data.Wrap(data.EINVALID, err, "hotspots: %v", err)
	}
	if err != nil {
		return out, fmt.Errorf("hotspots: %w", err)
	}
	out.Cells, out.Warnings = hs, append(out.Warnings, warn...)
	return out, nil
}

// hotspotLayer is the hotspots tile layer of one data version: the
// significant cells one by one, and dissolved per bin for low zooms.
type hotspotLayer struct {
	cells *Polygons
	bins  *Polygons
}

func newHotspotLayer(r HotspotResult) (*hotspotLayer, error) {
	var cellFeats []PolygonFeature
	byBin := map[int][]h3.Cell{}
	count := map[int]float64{}
	for _, c := range r.Cells {
		if c.Bin == 0 {
			continue
		}
		poly, err := spatial.CellPolygon(c.Cell)
		if err != nil {
			return nil, err
		}
		cellFeats = append(cellFeats, PolygonFeature{ID: uint64(c.Cell), Geom: orb.MultiPolygon{poly}, Props: []Prop{
			{"cell", String(fmtCell(uint64(c.Cell)))}, {"count", Int(int64(c.Value))},
			{"z", Double(round3(c.Z))}, {"p", Double(roundSig(c.P))}, {"p_fdr", Double(roundSig(c.PFDR))}, {"bin", Int(int64(c.Bin))},
		}})
		byBin[c.Bin] = append(byBin[c.Bin], c.Cell)
		count[c.Bin] += c.Value
	}
	var binFeats []PolygonFeature
	for bin := -3; bin <= 3; bin++ {
		cells := byBin[bin]
		if len(cells) == 0 {
			continue
		}
		mp, err := spatial.CellsToMultiPolygon(cells)
		if err != nil {
			return nil, err
		}
		binFeats = append(binFeats, PolygonFeature{ID: uint64(bin + 4), Geom: mp, Props: []Prop{
			{"bin", Int(int64(bin))}, {"cells", Int(int64(len(cells)))}, {"count", Int(int64(count[bin]))},
		}})
	}
	return &hotspotLayer{cells: NewPolygons(cellFeats), bins: NewPolygons(binFeats)}, nil
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// roundSig keeps 4 significant digits: p-values span many magnitudes.
func roundSig(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	e := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(x))))
	return math.Round(x*e) / e
}
