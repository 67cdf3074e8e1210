package gridgen

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/uber/h3-go/v4"
	"github.com/wangge/wangge/data"
)

// Input is what Generate partitions.
type Input struct {
	// Households are the household points; points outside every parent are
	// counted in the report and otherwise ignored.
	Households []data.Household
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

// Auto resolution: the coarsest resolution at which the average grid spans
// at least autoCellsPerGrid non-empty cells. Fewer cells make balance coarse
// (one cell can be 10 % of a grid); many more only cost time.
const (
	autoCellsPerGrid = 20
	autoMinRes       = 7
	autoMaxRes       = 12
)

// run is the state of one Generate call shared by the parent workers.
type run struct {
	in       Input
	res      int
	hhCell   []h3.Cell // household i's cell at res
	hhOrder  []int32   // household indices sorted by cell
	hhRange  map[h3.Cell][2]int32
	owner    []int32 // parent index claiming household i, -1 if none
	ownPiece []int32 // piece within that parent
	base     *baseIndex

	progMu   sync.Mutex
	progPer  []int // progress units done per parent
	progDone int
	progTot  int
	progress func(done, total int)
}

// Progress: every parent is progUnits units, split between its stages in
// proportion to their measured share of the time (cell cover, partition,
// grid polygons), and each stage reports the fraction it has done, so the
// bar moves within a parent too (Montevideo is one parent).
const progUnits = 1000

// Where each stage ends, in progress units.
const (
	progCoverEnd     = 450
	progPartitionEnd = 850
)

const (
	stageCover = iota
	stagePartition
	stageGeometry
)

// stageProgress returns the reporter of one stage of parent pi, or nil when
// nobody listens. The reporter may be called from several goroutines.
func (r *run) stageProgress(pi, stage int) func(frac float64) {
	if r.progress == nil {
		return nil
	}
	lo, hi := 0, progCoverEnd
	switch stage {
	case stagePartition:
		lo, hi = progCoverEnd, progPartitionEnd
	case stageGeometry:
		lo, hi = progPartitionEnd, progUnits
	}
	return func(frac float64) {
		u := lo + int(math.Min(1, math.Max(0, frac))*float64(hi-lo))
		r.progMu.Lock()
		defer r.progMu.Unlock()
		if u <= r.progPer[pi] {
			return
		}
		r.progDone += u - r.progPer[pi]
		r.progPer[pi] = u
		r.progress(r.progDone, r.progTot)
	}
}

// report calls fn if it is set.
func report(fn func(float64), frac float64) {
	if fn != nil {
		fn(frac)
	}
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
	r.assemble(&plan, &rep, outs)
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
	r := &run{in: in, progress: opt.Progress}
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
	cells := make([]h3.Cell, len(in.Households))
	locate := func(res int) error {
		var cellErr atomic.Value
		chunked(len(in.Households), 4096, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				p := in.Households[i].Point
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
		r.res = chooseResolution(in, cells)
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
	r.hhCell = cells
	r.hhOrder = make([]int32, len(cells))
	for i := range r.hhOrder {
		r.hhOrder[i] = int32(i)
	}
	slices.SortFunc(r.hhOrder, func(a, b int32) int {
		switch {
		case cells[a] < cells[b]:
			return -1
		case cells[a] > cells[b]:
			return 1
		}
		return int(a - b)
	})
	r.hhRange = make(map[h3.Cell][2]int32)
	for i := 0; i < len(r.hhOrder); {
		j := i
		c := cells[r.hhOrder[i]]
		for j < len(r.hhOrder) && cells[r.hhOrder[j]] == c {
			j++
		}
		r.hhRange[c] = [2]int32{int32(i), int32(j)}
		i = j
	}
	r.owner = make([]int32, len(cells))
	for i := range r.owner {
		r.owner[i] = -1
	}
	r.ownPiece = make([]int32, len(cells))
	if in.Base != nil {
		r.base = newBaseIndex(in.Base, in.Locked)
	}

	return r, rep, nil
}

func workers() int { return runtime.GOMAXPROCS(0) }

// chooseResolution returns the coarsest resolution whose non-empty cells
// give the average grid autoCellsPerGrid of them.
func chooseResolution(in Input, cells []h3.Cell) int {
	total := 0
	for _, h := range in.Households {
		total += h.Households
	}
	grids := 0
	if in.Target > 0 {
		grids = max(1, int(math.Round(float64(total)/float64(in.Target))))
	}
	for _, k := range in.Grids {
		grids += k
	}
	grids = max(1, grids)
	buf := make([]h3.Cell, len(cells))
	for res := autoMinRes; res < autoMaxRes; res++ {
		for i, c := range cells {
			buf[i] = cellParent(c, res)
		}
		slices.Sort(buf)
		n := len(slices.Compact(buf))
		if n >= autoCellsPerGrid*grids && estimateCells(in.Parents, res) <= maxCells {
			return res
		}
		buf = buf[:len(cells)]
	}
	return autoMaxRes
}

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

// parentOut is everything processParent learned about one parent.
type parentOut struct {
	pc        *parentCells
	labels    []int32 // piece → grid index within the parent
	grids     []gridOut
	parts     int
	cut       int
	areaM2    float64
	planar    float64 // planar area in degrees²
	m2PerDeg  float64 // m² per degree² at the parent's latitude
	top       float64 // northernmost latitude, for code bands
	warnings  []string
	moved     int
	baseCodes []string // per piece, in a redraw
}

// gridOut is one grid before codes are given.
type gridOut struct {
	pieces      []int32
	hh          int
	geom        orb.MultiPolygon
	areaM2      float64
	perimM      float64
	planar      float64 // planar area in degrees², for the exact coverage sums
	c           orb.Point
	components  int
	heavy       bool
	constrained bool
	baseCode    string // inherited code in a redraw, "" if new
}

func (r *run) processParent(ctx context.Context, pi int, areaM2 float64, bisectSem chan struct{}) (*parentOut, error) {
	a := r.in.Parents[pi]
	pc, err := buildCells(ctx, a.Geometry, r.res, r.stageProgress(pi, stageCover))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, data.Wrap(data.EINTERNAL, err, "covering parent %q with H3 cells", a.Code)
	}
	out := &parentOut{pc: pc, areaM2: areaM2, top: a.Geometry.Bound().Max[1]}
	for _, rg := range normRings(a.Geometry) {
		out.planar += signedArea2(rg) / 2
	}
	lat := a.Geometry.Bound().Center()[1]
	out.m2PerDeg = 111320 * math.Cos(lat*math.Pi/180) * 110574
	if pc.unmatched > 0 {
		out.warnings = append(out.warnings, fmt.Sprintf("parent %s: %d cell edges without a neighbour cell (possible gaps)", a.Code, pc.unmatched))
	}
	r.assignHouseholds(pi, pc)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	target := float64(r.in.Target)
	if k, ok := r.in.Grids[a.Code]; ok {
		total := 0
		for _, p := range pc.pieces {
			total += p.hh
		}
		target = math.Max(1, float64(total)/float64(k))
	}
	if r.base != nil {
		out.baseCodes = r.base.pieceCodes(a.Code, pc)
	}
	want := r.in.Grids[a.Code] // 0: as many grids as the target calls for
	labels, constrained, parts := r.partitionParent(ctx, pc, out.baseCodes, target, want, bisectSem, r.stageProgress(pi, stagePartition))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out.labels, out.parts = labels, parts

	ng := 0
	for _, l := range labels {
		ng = max(ng, int(l)+1)
	}
	out.grids = make([]gridOut, ng)
	for p, l := range labels {
		out.grids[l].pieces = append(out.grids[l].pieces, int32(p))
		out.grids[l].hh += pc.pieces[p].hh
	}
	for l, c := range constrained {
		out.grids[l].constrained = c
	}
	for p := range pc.pieces {
		if float64(pc.pieces[p].hh) > target {
			out.grids[labels[p]].heavy = true
		}
	}
	for p, t := range pcEdges(pc) {
		if t > int32(p) && labels[t] != labels[p] {
			out.cut++
		}
	}
	var gerr error
	var mu sync.Mutex
	var built atomic.Int32
	geomProg := r.stageProgress(pi, stageGeometry)
	chunked(ng, 16, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			if err := gridGeometry(pc, labels, int32(g), &out.grids[g]); err != nil {
				mu.Lock()
				gerr = err
				mu.Unlock()
			}
			report(geomProg, float64(built.Add(1))/float64(ng))
		}
	})
	if gerr != nil {
		out.warnings = append(out.warnings, fmt.Sprintf("parent %s: %v", a.Code, gerr))
	}
	if r.base != nil {
		r.inheritCodes(out.baseCodes, out)
	}
	report(geomProg, 1)
	return out, nil
}

// pcEdges yields (piece, neighbour) for every shared segment.
func pcEdges(pc *parentCells) func(func(int, int32) bool) {
	return func(yield func(int, int32) bool) {
		for p := range pc.pieces {
			for _, rg := range pc.pieces[p].poly {
				for _, t := range rg.tags {
					if t >= 0 && !yield(p, t) {
						return
					}
				}
			}
		}
	}
}

// assignHouseholds gives each household in the parent's cells to the piece
// containing it. Households in a cell wholly inside the parent need no test.
func (r *run) assignHouseholds(pi int, pc *parentCells) {
	ix := newEdgeIndex(normRings(r.in.Parents[pi].Geometry))
	for i0 := 0; i0 < len(pc.pieces); {
		// The pieces of one cell are consecutive.
		c := pc.pieces[i0].cell
		i1 := i0 + 1
		for i1 < len(pc.pieces) && pc.pieces[i1].cell == c {
			i1++
		}
		lo, hi1 := int32(i0), int32(i1)
		i0 = i1
		rg, ok := r.hhRange[c]
		if !ok {
			continue
		}
		for _, hi := range r.hhOrder[rg[0]:rg[1]] {
			pt := r.in.Households[hi].Point
			best := int32(-1)
			if hi1-lo == 1 && pc.pieces[lo].full {
				best = lo
			} else {
				for id := lo; id < hi1; id++ {
					if pointInPoly(pc.pieces[id].poly, pt) {
						best = id
						break
					}
				}
				if best < 0 && ix.contains(pt) {
					// H3 put the point in this cell but the planar cell edge
					// runs a hair to the other side of it: take the nearest
					// piece.
					d := math.Inf(1)
					for id := lo; id < hi1; id++ {
						c := pc.pieces[id].c
						if dd := math.Hypot(c[0]-pt[0], c[1]-pt[1]); dd < d {
							d, best = dd, id
						}
					}
				}
			}
			if best < 0 {
				continue
			}
			if atomic.CompareAndSwapInt32(&r.owner[hi], -1, int32(pi)) {
				r.ownPiece[hi] = best
				pc.pieces[best].hh += r.in.Households[hi].Households
			}
		}
	}
}

func pointInPoly(p poly, pt orb.Point) bool {
	rs := make([][]orb.Point, len(p))
	for i, rg := range p {
		rs[i] = rg.pts
	}
	return pointInRings(rs, pt)
}

// partsOf labels the connected components of the piece graph.
func partsOf(pc *parentCells) ([]int32, int) {
	part := make([]int32, len(pc.pieces))
	for i := range part {
		part[i] = -1
	}
	n := int32(0)
	var stack []int32
	for s := range pc.pieces {
		if part[s] >= 0 {
			continue
		}
		part[s] = n
		stack = append(stack[:0], int32(s))
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, rg := range pc.pieces[v].poly {
				for _, t := range rg.tags {
					if t >= 0 && part[t] < 0 {
						part[t] = n
						stack = append(stack, t)
					}
				}
			}
		}
		n++
	}
	return part, int(n)
}

// partGraph builds the graph of the pieces vs (one part).
func partGraph(pc *parentCells, vs []int32, local []int32) *graph {
	for i, v := range vs {
		local[v] = int32(i)
	}
	lat0 := pc.pieces[vs[0]].c[1]
	kx := 111320 * math.Cos(lat0*math.Pi/180)
	const ky = 110574
	g := &graph{xadj: make([]int32, len(vs)+1), w: make([]int, len(vs)), x: make([]float64, len(vs)), y: make([]float64, len(vs))}
	for i, v := range vs {
		p := &pc.pieces[v]
		g.w[i] = p.hh
		g.x[i], g.y[i] = p.c[0]*kx, p.c[1]*ky
		start := len(g.adj)
		for _, rg := range p.poly {
			for _, t := range rg.tags {
				if t < 0 {
					continue
				}
				l := local[t]
				// Two pieces may share several segments (a cell edge split
				// by the boundary); keep one graph edge.
				if !slices.Contains(g.adj[start:], l) {
					g.adj = append(g.adj, l)
				}
			}
		}
		g.xadj[i+1] = int32(len(g.adj))
	}
	return g
}

// partitionParent partitions every part of a parent and returns the grid
// label of every piece (numbered across the parent), whether each grid is
// constrained (cannot be within ±10 % of the target) and the number of
// parts.
func (r *run) partitionParent(ctx context.Context, pc *parentCells, baseCodes []string, target float64, want int, sem chan struct{}, prog func(float64)) ([]int32, []bool, int) {
	part, nparts := partsOf(pc)
	byPart := make([][]int32, nparts)
	for p, k := range part {
		byPart[k] = append(byPart[k], int32(p))
	}
	targets := partTargets(pc, byPart, target, want)
	labels := make([]int32, len(pc.pieces))
	local := make([]int32, len(pc.pieces))
	next := int32(0)
	var constrained []bool
	// Each part's share of the stage is its share of the pieces.
	doneV := 0
	for pi, vs := range byPart {
		if ctx.Err() != nil {
			return nil, nil, 0
		}
		target := targets[pi]
		g := partGraph(pc, vs, local)
		var pp func(float64)
		if prog != nil {
			lo, span := float64(doneV)/float64(len(pc.pieces)), float64(len(vs))/float64(len(pc.pieces))
			pp = func(f float64) { prog(lo + span*f) }
		}
		doneV += len(vs)
		var res partResult
		if r.base != nil {
			res = r.redrawPart(ctx, baseCodes, vs, g, target, sem, pp)
		} else {
			res = partitionPart(ctx, g, target, sem, pp)
		}
		for i, v := range vs {
			labels[v] = next + res.labels[i]
		}
		for _, b := range res.bounds {
			constrained = append(constrained, b.lo != 0.9*target || b.hi != 1.1*target)
		}
		next += int32(res.grids)
	}
	return labels, constrained, nparts
}

// partTargets gives each part of a parent its target. By default every
// part has the parent's. When the planner asked for want grids in the
// parent, they are shared among the inhabited parts in proportion to their
// households (largest remainder, at least one each), and each part's
// target is its households over its share, so the parent gets exactly want
// grids, plus one for each uninhabited part (land still needs a grid) and
// any cell heavier than its target. With fewer grids asked for than
// inhabited parts, each inhabited part gets one: a grid cannot span parts.
func partTargets(pc *parentCells, byPart [][]int32, target float64, want int) []float64 {
	targets := make([]float64, len(byPart))
	for i := range targets {
		targets[i] = target
	}
	if want <= 0 {
		return targets
	}
	hh := make([]int, len(byPart))
	var inhabited []int
	total := 0
	for i, vs := range byPart {
		for _, v := range vs {
			hh[i] += pc.pieces[v].hh
		}
		if hh[i] > 0 {
			inhabited = append(inhabited, i)
			total += hh[i]
		}
	}
	if len(inhabited) == 0 {
		return targets
	}
	share := make(map[int]int, len(inhabited))
	left := want
	if want <= len(inhabited) {
		for _, i := range inhabited {
			share[i] = 1
		}
	} else {
		type rem struct {
			part int
			frac float64
		}
		var rems []rem
		for _, i := range inhabited {
			exact := float64(want-len(inhabited)) * float64(hh[i]) / float64(total)
			share[i] = 1 + int(exact)
			left -= share[i]
			rems = append(rems, rem{i, exact - math.Floor(exact)})
		}
		sort.SliceStable(rems, func(a, b int) bool { return rems[a].frac > rems[b].frac })
		for k := 0; k < left; k++ {
			share[rems[k%len(rems)].part]++
		}
	}
	for _, i := range inhabited {
		// A hair above the mean, so that rounding households / target
		// gives the share and not one more.
		targets[i] = float64(hh[i]) / float64(share[i]) * (1 + 1e-9)
	}
	return targets
}

// gridGeometry unions the pieces of grid g: every piece segment whose
// neighbour is in the same grid cancels out, the rest link into rings.
// Because neighbouring pieces share bit-identical segments, neighbouring
// grids share bit-identical boundaries.
func gridGeometry(pc *parentCells, labels []int32, g int32, out *gridOut) error {
	var segs []tseg
	for _, p := range out.pieces {
		for _, rg := range pc.pieces[p].poly {
			n := len(rg.pts)
			for i, t := range rg.tags {
				if t >= 0 && labels[t] == g {
					continue
				}
				segs = append(segs, tseg{rg.pts[i], rg.pts[(i+1)%n], t})
			}
		}
	}
	polys, ok := linkRings(segs)
	var mp orb.MultiPolygon
	var ax, ay, aa float64
	for _, p := range polys {
		op := make(orb.Polygon, len(p))
		for i, rg := range p {
			ring := make(orb.Ring, len(rg.pts)+1)
			copy(ring, rg.pts)
			ring[len(rg.pts)] = rg.pts[0]
			op[i] = ring
			out.perimM += geo.Length(orb.LineString(ring))
			a2 := signedArea2(rg.pts)
			c := polyCentroid(rg.pts)
			ax += c[0] * a2
			ay += c[1] * a2
			aa += a2
			out.planar += a2 / 2
		}
		mp = append(mp, op)
	}
	out.geom = mp
	out.areaM2 = geo.Area(mp)
	if aa != 0 {
		out.c = orb.Point{ax / aa, ay / aa}
	} else if len(out.pieces) > 0 {
		out.c = pc.pieces[out.pieces[0]].c
	}
	out.components = components(pc, labels, g, out.pieces)
	if !ok {
		return fmt.Errorf("grid %d: boundary did not close into rings", g)
	}
	return nil
}

// components counts the connected pieces of grid g by graph search.
func components(pc *parentCells, labels []int32, g int32, pieces []int32) int {
	if len(pieces) == 0 {
		return 0
	}
	seen := make(map[int32]bool, len(pieces))
	n := 0
	var stack []int32
	for _, s := range pieces {
		if seen[s] {
			continue
		}
		n++
		seen[s] = true
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, rg := range pc.pieces[v].poly {
				for _, t := range rg.tags {
					if t >= 0 && labels[t] == g && !seen[t] {
						seen[t] = true
						stack = append(stack, t)
					}
				}
			}
		}
	}
	return n
}

// assemble gives codes, builds the plan's grids and fills the report.
func (r *run) assemble(plan *data.Plan, rep *data.Report, outs []*parentOut) {
	rep.Parents = len(r.in.Parents)
	var hhs []int
	var pps []float64
	var sumArea, sumParent float64
	for pi, o := range outs {
		a := r.in.Parents[pi]
		codes := r.codes(a, o)
		if r.base != nil {
			// Households moved: those whose cell lies in a grid with another
			// code than in the base plan. Cells new to the parent had no
			// grid, so they do not count.
			for p, l := range o.labels {
				if c := o.baseCodes[p]; c != "" && c != codes[l] {
					o.moved += o.pc.pieces[p].hh
				}
			}
		}
		rep.Warnings = append(rep.Warnings, o.warnings...)
		rep.CutEdges += o.cut
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
					if float64(pc.hh) > r.targetOf(a.Code, o) {
						rep.HeavyCells = append(rep.HeavyCells, data.HeavyCell{Cell: pc.cell.String(), GridCode: codes[gi], Households: pc.hh})
					}
				}
			}
			dev := math.Abs(float64(g.hh)-r.targetOf(a.Code, o)) / r.targetOf(a.Code, o) * 100
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
	for i, h := range r.in.Households {
		if r.owner[i] < 0 {
			rep.HouseholdsOutside += h.Households
		} else {
			rep.Households += h.Households
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
	if len(pps) > 0 {
		s, mn := 0.0, math.Inf(1)
		for _, p := range pps {
			s += p
			mn = math.Min(mn, p)
		}
		rep.PolsbyPopperMean, rep.PolsbyPopperMin = s/float64(len(pps)), mn
	}
	rep.ParentAreaM2, rep.GridAreaM2 = sumParent, sumArea
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

// codes numbers the grids of one parent west→east, north→south: grids are
// put in row bands from the parent's northern edge, each band as high as
// the side of an average grid (√(parent area / grids)), and ordered by
// band, then by the longitude of their centroid. In a redraw, grids that
// inherit a base code keep it and new grids take the next free numbers in
// the same order.
func (r *run) codes(a data.Area, o *parentOut) []string {
	n := len(o.grids)
	out := make([]string, n)
	if n == 0 {
		return out
	}
	bandM := math.Sqrt(o.areaM2 / float64(n))
	bandDeg := math.Max(bandM/110574, 1e-9)
	type key struct {
		band int
		x, y float64
		i    int
	}
	keys := make([]key, n)
	for i, g := range o.grids {
		keys[i] = key{int(math.Floor((o.top - g.c[1]) / bandDeg)), g.c[0], g.c[1], i}
	}
	slices.SortFunc(keys, func(p, q key) int {
		switch {
		case p.band != q.band:
			return p.band - q.band
		case p.x != q.x:
			if p.x < q.x {
				return -1
			}
			return 1
		case p.y != q.y:
			if p.y > q.y {
				return -1
			}
			return 1
		}
		return p.i - q.i
	})
	used := make(map[string]bool)
	maxSeq := 0
	for _, g := range o.grids {
		if g.baseCode != "" {
			used[g.baseCode] = true
			var s int
			if _, err := fmt.Sscanf(g.baseCode[len(a.Code):], "%d", &s); err == nil {
				maxSeq = max(maxSeq, s)
			}
		}
	}
	seq := 0
	if r.base != nil {
		seq = maxSeq
	}
	for _, k := range keys {
		g := o.grids[k.i]
		if g.baseCode != "" {
			out[k.i] = g.baseCode
			continue
		}
		for {
			seq++
			c := fmt.Sprintf("%s%03d", a.Code, seq)
			if !used[c] {
				used[c] = true
				out[k.i] = c
				break
			}
		}
	}
	return out
}
