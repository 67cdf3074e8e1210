package tiles

import (
	"context"
	"errors"
	"fmt"
	"math"
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
// without incidents is a real zero. It caches its cells per resolution and
// is safe for concurrent use.
type Study struct {
	area orb.MultiPolygon // nil: the bound of the incidents
	mu   sync.Mutex
	res  map[int][]h3.Cell
}

// NewStudy returns a study area; an empty one means "the bounding box of
// the incidents analysed".
func NewStudy(area orb.MultiPolygon) *Study {
	return &Study{area: area, res: map[int][]h3.Cell{}}
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
	if c, ok := s.res[res]; ok {
		return c, nil
	}
	c, err := spatial.StudyCells(s.area, res)
	if err != nil {
		return nil, err
	}
	s.res[res] = c
	return c, nil
}

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
	res := q.Res
	if res == 0 {
		res = DefaultHotspotRes
	}
	if res < MinHotspotRes || res > MaxHotspotRes {
		return HotspotResult{}, data.Errorf(data.EINVALID, "res must be an integer from %d to %d, got %d", MinHotspotRes, MaxHotspotRes, res)
	}
	out := HotspotResult{Res: res, K: HotspotK}
	pts := make([]orb.Point, 0, len(hz))
	for i := range hz {
		h := &hz[i]
		if (q.Category != "" && h.Category != q.Category) ||
			(!q.Since.IsZero() && h.ReportedAt.Before(q.Since)) ||
			(!q.Until.IsZero() && !h.ReportedAt.Before(q.Until)) {
			continue
		}
		pts = append(pts, h.Point)
	}
	if study == nil {
		study = NewStudy(nil)
	}
	cells, err := study.cells(res, pts)
	if err != nil {
		return out, fmt.Errorf("hotspots: study cells: %w", err)
	}
	if len(cells) > MaxStudyCells {
		return out, data.Errorf(data.EINVALID, "the study area has %d cells at res %d, more than %d: use a coarser res", len(cells), res, MaxStudyCells)
	}
	out.StudyCells = len(cells)
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if len(cells) < 3 {
		out.Incidents = len(pts)
		out.Warnings = append(out.Warnings, "the study area has fewer than 3 cells at this res: no analysis")
		if len(pts) < 30 {
			out.Warnings = append(out.Warnings, spatial.WarnFewIncidents)
		}
		return out, nil
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
