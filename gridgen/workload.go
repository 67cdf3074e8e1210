package gridgen

import (
	"math"
	"time"

	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
)

// Workload (issue 16, 工作落地): with Input.Weight "workload" the grids
// are balanced by the work a worker has in them, not by households alone.
// The workload of a piece, in households, is
//
//	households + PerEvent × events a year + PerUnit × units + PerKm2 × km²
//
// where events a year are the hazards reported in the piece in the 365
// days up to the newest report (a window of the data, not of the clock, so
// that a plan is reproducible), a unit counts in the piece holding the
// first of its pieces, and the area stands for the walking a worker must
// do (street length per grid is not measured). The coefficients are
// Input.Workload; DefaultWorkload says what one event, unit and km² are
// worth in households. The grid count stays the one households give: each
// parent's target is scaled by its workload per household, so grids are
// as many as by households and each has an equal share of the work.
// Weights are kept in hundredths of a household, so that the area of a
// single cell (a few hundredths of a km²) still counts.

// Workload weighs events, units and area against households.
type Workload struct {
	PerEvent float64 `json:"per_event"` // per event a year
	PerUnit  float64 `json:"per_unit"`
	PerKm2   float64 `json:"per_km2"`
}

// DefaultWorkload is the mix `--weight workload` uses unless told
// otherwise: an event a year is worth 5 households' work, a unit 20, a
// square kilometre 30. They are a starting point to be set by each
// deployment from its own records of time spent, not measurements.
func DefaultWorkload() Workload { return Workload{PerEvent: 5, PerUnit: 20, PerKm2: 30} }

// The weights Generate balances.
const (
	WeightHouseholds = "households"
	WeightWorkload   = "workload"
)

// workScale is how many workload units a household is.
const workScale = 100

// hazardCells returns the cell at res of every hazard reported in the 365
// days up to the newest report.
func hazardCells(hz []data.Hazard, res int) map[h3.Cell][]data.Hazard {
	var newest time.Time
	for _, h := range hz {
		if h.ReportedAt.After(newest) {
			newest = h.ReportedAt
		}
	}
	from := newest.AddDate(-1, 0, 0)
	out := map[h3.Cell][]data.Hazard{}
	for _, h := range hz {
		if !h.ReportedAt.After(from) {
			continue
		}
		c, err := h3.LatLngToCell(h3.LatLng{Lat: h.Point[1], Lng: h.Point[0]}, res)
		if err != nil {
			continue
		}
		out[c] = append(out[c], h)
	}
	return out
}

// assignWork sets the workload of every piece of a parent (m2PerDeg: its
// planar scale); unitPieces are the units' pieces (units.go).
func (r *run) assignWork(pc *parentCells, unitPieces map[int][]int32, m2PerDeg float64) {
	mix := r.in.Workload
	extra := make([]float64, len(pc.pieces))
	for i := range pc.pieces {
		p := &pc.pieces[i]
		a := 0.0
		for _, rg := range p.poly {
			a += signedArea2(rg.pts) / 2
		}
		extra[i] += mix.PerKm2 * math.Abs(a) * m2PerDeg / 1e6
		hs := r.hazards[p.cell]
		if len(hs) == 0 {
			continue
		}
		// The pieces of one cell are consecutive; a hazard counts in the
		// piece that holds it, or in the cell's only piece.
		lo, hi := i, i+1
		for lo > 0 && pc.pieces[lo-1].cell == p.cell {
			lo--
		}
		for hi < len(pc.pieces) && pc.pieces[hi].cell == p.cell {
			hi++
		}
		for _, h := range hs {
			if hi-lo == 1 || pointInPoly(p.poly, h.Point) {
				extra[i] += mix.PerEvent
			}
		}
	}
	for _, ps := range unitPieces {
		extra[ps[0]] += mix.PerUnit
	}
	for i := range pc.pieces {
		pc.pieces[i].work = workScale*pc.pieces[i].hh + int(math.Round(workScale*extra[i]))
	}
}

// pieceWeight is what the partition balanced for p: its workload when
// there is one (workload mode: every inhabited piece has one), else its
// households.
func pieceWeight(p *piece) int {
	if p.work > 0 {
		return p.work
	}
	return p.hh
}

// weightOf is what the partition balances for piece p: its households, or
// its workload in workload units.
func (r *run) weightOf(p *piece) int {
	if r.workload {
		return p.work
	}
	return p.hh
}
