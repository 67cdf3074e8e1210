package gridgen

import (
	"context"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb/geo"
	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
)

// The entry point: what Generate is given (Input, Options), the state one
// call shares between the workers that process parents (run), and the
// flow: validate and locate the households, process the parents in
// parallel, assemble the plan.

// Input is what Generate partitions.
type Input struct {
	// Households are the household points; points outside every parent are
	// counted in the report and otherwise ignored.
	Households []data.Household
	// Points are the household points without ids, as LoadInput reads
	// them from a store: Generate takes them when Households is empty. A
	// province's 13 million Households are 630 MB the collector must scan;
	// as Points, 320 MB it need not.
	Points []data.HouseholdPoint
	// Parents are the leaf areas grids nest in. Parents must not overlap.
	Parents []data.Area
	// Target is the number of households per grid.
	Target int
	// Grids optionally fixes the number of grids of a parent (by code); the
	// parent's target becomes its households divided by that count.
	Grids map[string]int
	// Resolution is the H3 resolution of the cells, MinResolution to
	// MaxResolution, or 0 to choose one automatically.
	Resolution int
	// Base is the plan to redraw from, or nil to draw from scratch.
	Base *data.Plan
	// Locked lists codes of Base grids that must stay exactly as they are.
	Locked []string
	// Streets are the roads, rivers and railways grid boundaries are drawn
	// to (streets.go); none: boundaries follow nothing but balance and
	// shape, as before streets existed.
	Streets []data.Street
	// Units are the organisations grids cover whole (units.go).
	Units []data.Unit
	// Weight is what grids balance: WeightHouseholds ("" too) or
	// WeightWorkload (workload.go), with Workload's mix (zero: the
	// DefaultWorkload) and the events of Hazards.
	Weight   string
	Workload Workload
	Hazards  []data.Hazard
	// NoStreets draws the grids without regard to Streets, which are then
	// only measured in the report (the share of boundary along them).
	NoStreets bool
}

// Options tune how Generate runs, not what it produces.
type Options struct {
	// Progress, if set, is called with the work done so far and the total.
	// Calls are serialised and done never decreases, so the callback need
	// not be safe for concurrent use; it must not block for long.
	Progress func(done, total int)
	// Workers bounds the parents processed at once; 0 means GOMAXPROCS.
	Workers int
}

// run is the state of one Generate call shared by the parent workers.
type run struct {
	in       Input
	hh       []data.HouseholdPoint // the households, whichever way they came
	res      int
	hhOrder  []int32 // household indices grouped by cell, by index within a cell
	hhSlot   map[h3.Cell]int32
	hhStart  []int32 // slot s's households are hhOrder[hhStart[s]:hhStart[s+1]]
	owner    []int32 // parent index claiming household i, -1 if none
	base     *baseIndex
	streets  *streetIndex // nil without streets
	follow   bool         // draw boundaries to the streets
	cuts     *streetIndex // what faces are cut along (unitfaces.go)
	units    []unitInfo
	workload bool                      // balance workload, not households
	hazards  map[h3.Cell][]data.Hazard // workload: the year's events by cell

	progMu   sync.Mutex
	progPer  []int // progress units done per parent
	progDone int
	progTot  int
	progress func(done, total int)
}

// Generate draws grids inside in.Parents so that each holds about
// in.Target households, following the rules of DESIGN.md ("Grid
// generation"), and returns the plan with its quality report. It returns an
// EINVALID *data.Error for bad input and ctx's error if cancelled.
func Generate(ctx context.Context, in Input, opt Options) (data.Plan, error) {
	start := time.Now()
	r, rep, err := newRun(ctx, in, opt)
	if err != nil {
		return data.Plan{}, err
	}

	// Parents are independent: process them in parallel.
	r.progTot = progUnits * len(in.Parents)
	r.progPer = make([]int, len(in.Parents))
	outs := make([]*parentOut, len(in.Parents))
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, workers)
	bisectSem := make(chan struct{}, max(0, runtime.GOMAXPROCS(0)-1))
	var wg sync.WaitGroup
	errs := make([]error, len(in.Parents))
	// Largest parents first, so a big one does not start last and finish
	// alone.
	order := identity(len(in.Parents))
	areas := make([]float64, len(in.Parents))
	for i, a := range in.Parents {
		areas[i] = geo.Area(a.Geometry)
	}
	sort.SliceStable(order, func(a, b int) bool { return areas[order[a]] > areas[order[b]] })
	for _, pi := range order {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			outs[pi], errs[pi] = r.processParent(ctx, int(pi), areas[pi], bisectSem)
			if o := outs[pi]; o != nil {
				// unitReason reads the pieces the grids were drawn
				// from: the faces along the streets, or the cells.
				if o.drawn.pc != o.pc {
					o.pc.dropPolys(nil)
				}
				o.drawn.pc.dropPolys(o.unitFaces)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return data.Plan{}, err
	}
	for _, err := range errs {
		if err != nil {
			return data.Plan{}, err
		}
	}

	plan := data.Plan{Target: in.Target, Resolution: r.res}
	if in.Base != nil {
		plan.BaseID = in.Base.ID
	}
	if err := r.assemble(&plan, &rep, outs); err != nil {
		return data.Plan{}, err
	}
	rep.RuntimeSeconds = time.Since(start).Seconds()
	plan.Report = rep
	return plan, nil
}

// newRun validates the input, chooses the resolution and locates the
// households in cells: everything before the parents are processed.
func newRun(ctx context.Context, in Input, opt Options) (*run, data.Report, error) {
	if err := validate(in); err != nil {
		return nil, data.Report{}, err
	}
	r := &run{in: in, hh: in.points(), progress: opt.Progress}
	// Generate reads them from r.hh only: Households need not be kept.
	r.in.Households, r.in.Points = nil, nil
	var rep data.Report
	rep.Target = in.Target

	// Cells of every household at the finest resolution that may be used;
	// coarser ones are derived by bit arithmetic instead of more cgo calls.
	fine := in.Resolution
	if fine == 0 && in.Base != nil && in.Base.Resolution != 0 {
		fine = in.Base.Resolution
	}
	auto := fine == 0
	if auto {
		fine = autoMaxRes
	}
	cells := make([]h3.Cell, len(r.hh))
	locate := func(res int) error {
		var cellErr atomic.Value
		chunked(len(r.hh), 4096, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				p := r.hh[i].Point
				c, err := h3.LatLngToCell(h3.LatLng{Lat: p[1], Lng: p[0]}, res)
				if err != nil {
					cellErr.Store(err)
					return
				}
				cells[i] = c
			}
		})
		if e := cellErr.Load(); e != nil {
			return data.Wrap(data.EINTERNAL, e.(error), "locating households in H3 cells")
		}
		return ctx.Err()
	}
	if err := locate(fine); err != nil {
		return nil, data.Report{}, err
	}
	r.res = fine
	if auto {
		// The parent of a point's fine cell is not always the cell holding
		// the point (H3 children poke out of their parent), so cells at the
		// chosen resolution are located afresh: a plan must put a household
		// in the same cell whether its resolution was chosen or given, or a
		// redraw at the base's resolution would see households move.
		r.res = chooseResolution(in, r.hh, cells)
		if r.res != fine {
			if err := locate(r.res); err != nil {
				return nil, data.Report{}, err
			}
		}
	}
	rep.Resolution, rep.ResolutionAuto = r.res, auto
	if est := estimateCells(in.Parents, r.res); est > maxCells {
		return nil, data.Report{}, data.Errorf(data.EINVALID, "resolution %d is too fine for these areas: about %.0f cells (limit %d)", r.res, est, maxCells)
	}
	r.indexHouseholds(cells)
	r.owner = make([]int32, len(cells))
	for i := range r.owner {
		r.owner[i] = -1
	}
	if in.Base != nil {
		r.base = newBaseIndex(in.Base, in.Locked)
	}
	r.streets = newStreetIndex(in.Streets)
	r.follow = r.streets != nil && !in.NoStreets
	r.units = prepareUnits(in.Units)
	r.cuts = r.cutIndex(in.Streets)
	if in.Weight == WeightWorkload {
		r.workload = true
		if r.in.Workload == (Workload{}) {
			r.in.Workload = DefaultWorkload()
		}
		r.hazards = hazardCells(in.Hazards, r.res)
	}

	return r, rep, nil
}

// workers is how many goroutines the CPU-bound work may keep busy: one per
// processor Go may use.
func workers() int { return runtime.GOMAXPROCS(0) }

// indexHouseholds groups the households by cell, for each parent to take
// those of its cells: a counting sort (one map lookup per household, then
// a place for each) instead of a comparison sort of 13 million indices,
// each comparison two loads from the cells far apart. Within a cell they
// stay in index order.
func (r *run) indexHouseholds(cells []h3.Cell) {
	r.hhSlot = make(map[h3.Cell]int32)
	slot := make([]int32, len(cells))
	var counts []int32
	for i, c := range cells {
		s, ok := r.hhSlot[c]
		if !ok {
			s = int32(len(counts))
			r.hhSlot[c] = s
			counts = append(counts, 0)
		}
		slot[i] = s
		counts[s]++
	}
	r.hhStart = make([]int32, len(counts)+1)
	for s, n := range counts {
		r.hhStart[s+1] = r.hhStart[s] + n
	}
	next := counts // reused: the next free place of each slot
	copy(next, r.hhStart[:len(counts)])
	r.hhOrder = make([]int32, len(cells))
	for i, s := range slot {
		r.hhOrder[next[s]] = int32(i)
		next[s]++
	}
}

// householdsIn returns the indices of the households in cell c.
func (r *run) householdsIn(c h3.Cell) []int32 {
	s, ok := r.hhSlot[c]
	if !ok {
		return nil
	}
	return r.hhOrder[r.hhStart[s]:r.hhStart[s+1]]
}

// dropPolys lets go of the pieces' polygons once the parent's grids are
// drawn, but for the pieces of units: what is left for assembling the plan
// is each piece's cell and weights, and the adjacency of a unit's pieces
// (unitReason). The polygons are most of a parent's memory: kept for every
// parent until the plan was assembled, 64 parents of a province held
// gigabytes; along the streets, the faces of a parent held as much again.
func (pc *parentCells) dropPolys(unitPieces map[int][]int32) {
	keep := map[int32]bool{}
	for _, ps := range unitPieces {
		for _, p := range ps {
			keep[p] = true
		}
	}
	for i := range pc.pieces {
		if !keep[int32(i)] {
			pc.pieces[i].poly = nil
		}
	}
}

// points returns the households as Generate reads them: Points, or
// Households without their ids.
func (in Input) points() []data.HouseholdPoint {
	if len(in.Households) == 0 {
		return in.Points
	}
	out := make([]data.HouseholdPoint, len(in.Households))
	for i, h := range in.Households {
		out[i] = data.HouseholdPoint{Point: h.Point, Households: int32(min(h.Households, math.MaxInt32))}
	}
	return out
}
