package gridgen

import (
	"fmt"
	"math"
	"slices"

	"github.com/wangge/wangge/data"
)

// Assembling the plan: the grids of every parent with their codes, and
// the quality report (DESIGN.md, "Grid generation").

// assemble gives codes, builds the plan's grids and fills the report.
func (r *run) assemble(plan *data.Plan, rep *data.Report, outs []*parentOut) error {
	rep.Parents = len(r.in.Parents)
	var hhs []int
	var works []float64
	var pps []float64
	var sumArea, sumParent, inner, innerNear float64
	// unit index → grid code → pieces of the unit in it
	unitGrids := map[int]map[string]int{}
	unitWhy := map[int]string{}
	unitAlong := map[int]bool{} // larger units split only along streets, in every parent
	for pi, o := range outs {
		a := r.in.Parents[pi]
		codes, err := r.codes(a, o)
		if err != nil {
			return err
		}
		if r.base != nil {
			// Households moved: those whose cell (or, along the streets,
			// face of a cell) lies in a grid with another code than in the
			// base plan. Cells new to the parent had no grid, so they do
			// not count.
			d := o.drawn
			for p, l := range d.labels {
				if c := d.baseCodes[p]; c != "" && c != codes[l] {
					o.moved += d.pc.pieces[p].hh
				}
			}
		}
		rep.Warnings = append(rep.Warnings, o.warnings...)
		rep.CutEdges += o.cut
		for ui, ps := range o.unitFaces {
			if _, ok := unitWhy[ui]; !ok {
				if w, ok := o.unitWhy[ui]; ok {
					unitWhy[ui] = w
				} else {
					unitWhy[ui] = unitReason(o, r.units[ui], ps)
				}
			}
			m := unitGrids[ui]
			if m == nil {
				m = map[string]int{}
				unitGrids[ui] = m
				unitAlong[ui] = o.unitAlong[ui]
			}
			unitAlong[ui] = unitAlong[ui] && o.unitAlong[ui]
			for _, p := range ps {
				m[codes[o.drawn.labels[p]]]++
			}
		}
		inner += o.innerM
		innerNear += o.innerNearM
		rep.Parts += o.parts
		rep.Cells += len(o.pc.pieces)
		rep.HouseholdsMoved += o.moved
		gsum, gplanar := 0.0, 0.0
		for gi := range o.grids {
			g := &o.grids[gi]
			cells := make([]uint64, 0, len(g.pieces))
			for _, p := range g.pieces {
				cells = append(cells, uint64(o.pc.pieces[p].cell))
			}
			slices.Sort(cells)
			cells = slices.Compact(cells)
			plan.Grids = append(plan.Grids, data.Grid{
				Code:       codes[gi],
				ParentCode: a.Code,
				Households: g.hh,
				AreaM2:     g.areaM2,
				Cells:      cells,
				Geometry:   g.geom,
			})
			hhs = append(hhs, g.hh)
			gsum += g.areaM2
			gplanar += g.planar
			if g.components != 1 {
				rep.NonContiguous++
			}
			if g.perimM > 0 {
				pps = append(pps, 4*math.Pi*g.areaM2/(g.perimM*g.perimM))
			}
			if g.heavy {
				for _, p := range g.pieces {
					pc := o.pc.pieces[p]
					if float64(r.weightOf(&pc)) > r.balanceTarget(a.Code, o) {
						rep.HeavyCells = append(rep.HeavyCells, data.HeavyCell{Cell: pc.cell.String(), GridCode: codes[gi], Households: pc.hh})
					}
				}
			}
			dev := math.Abs(float64(r.gridWeight(g))-r.balanceTarget(a.Code, o)) / r.balanceTarget(a.Code, o) * 100
			if r.workload {
				works = append(works, float64(g.work)/workScale)
			}
			if dev <= 10+1e-9 {
				rep.WithinTenPct++
			}
			if g.constrained || g.heavy {
				rep.Constrained++
			} else if dev > rep.MaxDeviationPct {
				rep.MaxDeviationPct = dev
			}
		}
		// Area sums per parent: the grids should add up to the parent. The
		// sums use planar (lon/lat) areas scaled to m² at the parent's
		// latitude, because those add up exactly; the spherical formula of
		// orb/geo is not additive when an edge is split by a new vertex, and
		// that difference (tens of m² over a country) is not a gap.
		if d := (o.planar - gplanar) * o.m2PerDeg; d > 0 {
			rep.GapAreaM2 += d
		} else {
			rep.OverlapAreaM2 -= d
		}
		sumArea += gsum
		sumParent += o.areaM2
	}
	slices.SortStableFunc(plan.Grids, func(a, b data.Grid) int {
		if a.Code < b.Code {
			return -1
		}
		if a.Code > b.Code {
			return 1
		}
		return 0
	})
	rep.Grids = len(plan.Grids)
	for i, h := range r.hh {
		if r.owner[i] < 0 {
			rep.HouseholdsOutside += int(h.Households)
		} else {
			rep.Households += int(h.Households)
		}
	}
	if len(hhs) > 0 {
		slices.Sort(hhs)
		rep.HouseholdsMin, rep.HouseholdsMax = hhs[0], hhs[len(hhs)-1]
		m := len(hhs) / 2
		if len(hhs)%2 == 1 {
			rep.HouseholdsMedian = float64(hhs[m])
		} else {
			rep.HouseholdsMedian = float64(hhs[m-1]+hhs[m]) / 2
		}
	}
	if len(works) > 0 {
		slices.Sort(works)
		m := len(works) / 2
		med := works[m]
		if len(works)%2 == 0 {
			med = (works[m-1] + works[m]) / 2
		}
		rep.Weight = WeightWorkload
		rep.WorkloadMin, rep.WorkloadMedian, rep.WorkloadMax = math.Round(works[0]), math.Round(med), math.Round(works[len(works)-1])
	}
	if len(pps) > 0 {
		s, mn := 0.0, math.Inf(1)
		for _, p := range pps {
			s += p
			mn = math.Min(mn, p)
		}
		rep.PolsbyPopperMean, rep.PolsbyPopperMin = s/float64(len(pps)), mn
	}
	rep.ParentAreaM2, rep.GridAreaM2 = sumParent, sumArea
	r.reportUnits(rep, unitGrids, unitWhy, unitAlong)
	if inner > 0 {
		rep.InnerBoundaryM = math.Round(inner)
		rep.StreetSharePct = math.Round(innerNear/inner*1000) / 10
	}
	if rep.HouseholdsOutside > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d households lie outside every parent area and are in no grid", rep.HouseholdsOutside))
	}
	for _, o := range outs {
		for _, g := range o.grids {
			if g.hh == 0 {
				rep.EmptyGrids++
			}
		}
	}
	return nil
}

// targetOf is the target a parent's grids are measured against.
func (r *run) targetOf(code string, o *parentOut) float64 {
	if k, ok := r.in.Grids[code]; ok {
		total := 0
		for _, g := range o.grids {
			total += g.hh
		}
		return math.Max(1, float64(total)/float64(k))
	}
	return float64(r.in.Target)
}

// reportUnits fills the report's units: each under the grid holding most
// of its pieces (ties: the lowest code), and the split ones by name.
func (r *run) reportUnits(rep *data.Report, unitGrids map[int]map[string]int, why map[int]string, along map[int]bool) {
	if len(unitGrids) == 0 {
		return
	}
	rep.UnitsByGrid = map[string][]string{}
	ids := make([]int, 0, len(unitGrids))
	for ui := range unitGrids {
		ids = append(ids, ui)
	}
	slices.Sort(ids)
	for _, ui := range ids {
		m := unitGrids[ui]
		codes := make([]string, 0, len(m))
		for c := range m {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		best := codes[0]
		for _, c := range codes {
			if m[c] > m[best] {
				best = c
			}
		}
		u := r.units[ui]
		rep.Units++
		rep.UnitsByGrid[best] = append(rep.UnitsByGrid[best], u.u.ID)
		if len(codes) > 1 {
			across := false
			for _, c := range codes[1:] {
				across = across || c[:len(c)-3] != codes[0][:len(codes[0])-3]
			}
			reason := why[ui]
			if across {
				reason = "across_parents"
			}
			rep.UnitsSplit = append(rep.UnitsSplit, data.SplitUnit{ID: u.u.ID, Name: u.u.Name, Kind: u.u.Kind,
				AreaM2: math.Round(u.areaM2), Grids: codes, AcrossParents: across, Reason: reason,
				AlongStreets: !across && along[ui]})
		}
	}
}

// unitReason says why a unit split within parent o was not kept whole
// when wholeUnits did not say (a larger unit, or a parent drawn from whole
// cells): the first of larger, heavy, not_connected that holds, or
// balance.
func unitReason(o *parentOut, u unitInfo, ps []int32) string {
	if !smallUnit(&u, o.meanGridM2) {
		return "larger"
	}
	hh := 0
	in := make(map[int32]bool, len(ps))
	for _, p := range ps {
		hh += pieceWeight(&o.drawn.pc.pieces[p])
		in[p] = true
	}
	if float64(hh) > (1+snapTol/100)*o.target {
		return "heavy"
	}
	seen := map[int32]bool{ps[0]: true}
	stack := []int32{ps[0]}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, rg := range o.drawn.pc.pieces[v].poly {
			for _, t := range rg.tags {
				if t >= 0 && in[t] && !seen[t] {
					seen[t] = true
					stack = append(stack, t)
				}
			}
		}
	}
	if len(seen) < len(ps) {
		return "not_connected"
	}
	return "balance"
}

// balanceTarget is what a parent's grids are measured against: targetOf
// in households, or the parent's workload target (workload.go).
func (r *run) balanceTarget(code string, o *parentOut) float64 {
	if r.workload {
		return o.target
	}
	return r.targetOf(code, o)
}

// gridWeight is what a grid was balanced by: households or workload.
func (r *run) gridWeight(g *gridOut) int {
	if r.workload {
		return g.work
	}
	return g.hh
}
