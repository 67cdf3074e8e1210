package live

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"github.com/wangge/wangge/data"
)

// derivedCache holds results derived from the views, each with the state
// it was computed from.
type derivedCache struct {
	mu       sync.Mutex // one computation at a time; later callers reuse it
	coverage *Coverage
	stats    *GridAssignment
}

// GridAssignment is every hazard and camera assigned to its grid of one
// plan, for one data version: assigning is a locate per feature, cheap but
// not worth repeating on every request, nor for every hazard after one
// changed. Callers share it: it must not be changed.
type GridAssignment struct {
	Plan *Plan
	// Hazards holds the hazards inside a grid, in no order.
	Hazards []GridHazard
	// Cameras counts the cameras of each grid, by plan grid index.
	Cameras []GridCameras

	version [2]uint64 // hazard and camera generations
	// located is where each hazard was found, so that the next assignment
	// for the same plan locates only the hazards that are new or moved.
	located map[int64]locatedAt
}

// locatedAt is a hazard's point and its grid there, -1 for none.
type locatedAt struct {
	p    orb.Point
	grid int
}

// GridHazard is what statistics need of a hazard (an event): its grid and
// the fields they count by.
type GridHazard struct {
	FID        int64
	Grid       int // plan grid index
	Point      orb.Point
	Category   string
	Status     data.Status
	ReportedAt time.Time
	DueAt      time.Time // zero: not set (older data); see Due
	ResolvedAt time.Time // zero: never resolved
	// Repeat is whether the event repeats a done one (RepeatRadiusM,
	// RepeatWindow): found once per assignment, as it does not depend on
	// the reporting period asked about.
	Repeat bool
}

// GridCameras counts a grid's cameras.
type GridCameras struct{ Online, Total int }

// The repeat rule (重复发生, an event the handling did not cure): an event
// repeats a done one when both have the same category, lie at most
// RepeatRadiusM apart (great-circle, as every distance of wangge's), and
// the later one was reported no earlier than the done one's ResolvedAt and
// at most RepeatWindow after it, both bounds included. The later event
// may be in any state (a rejected report of the same problem still says
// it came back). The done event may lie in another grid, outside every
// grid, or before the reporting period; only the repeating event is
// counted, in its own grid and period.
const (
	RepeatRadiusM = 100
	RepeatWindow  = 90 * 24 * time.Hour
)

// GridAssignment returns the hazards and cameras by grid of pp, computing
// it when pp, a hazard or a camera changed since the last time. A hazard
// whose point is as it was for the last assignment of pp keeps its grid
// without a locate: after a write only the written hazard is located.
// Repeats are found again for every hazard (repeatFinder): a change can
// make or unmake the repeats of its neighbours, and a search over a
// year's events costs tens of milliseconds (docs/BENCHMARKS.md).
func (s *Service) GridAssignment(pp *Plan) *GridAssignment {
	d := &s.derived
	version := [2]uint64{s.HazardGen(), s.CameraGen()}
	d.mu.Lock()
	defer d.mu.Unlock()
	if a := d.stats; a != nil && a.Plan == pp && a.version == version {
		return a
	}
	var known map[int64]locatedAt
	if prev := d.stats; prev != nil && prev.Plan == pp {
		known = prev.located
	}
	d.stats = assign(pp, version, known, s.hazardCount(), s.EachHazard, s.EachCamera)
	return d.stats
}

// hazardCount returns how many hazards the service holds.
func (s *Service) hazardCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.hazards.byID)
}

// assign assigns the hazards and cameras that eachHazard and eachCamera
// give to the grids of pp. known is where hazards were located before for
// pp: a hazard still at its point there is not located again. n is about
// how many hazards there are: sizing for them up front saves growing
// tens of megabytes step by step for a county's year.
func assign(pp *Plan, version [2]uint64, known map[int64]locatedAt, n int, eachHazard func(func(data.Hazard)), eachCamera func(func(data.Camera))) *GridAssignment {
	a := &GridAssignment{Plan: pp, version: version, Cameras: make([]GridCameras, len(pp.Plan.Grids)),
		located: make(map[int64]locatedAt, n), Hazards: make([]GridHazard, 0, n)}
	rep := repeatFinder{done: make([]doneEvent, 0, n)}
	eachHazard(func(h data.Hazard) {
		l, ok := known[h.FID]
		if !ok || l.p != h.Point {
			l = locatedAt{p: h.Point, grid: -1}
			if gi, ok := pp.Locator.Locate(h.Point); ok {
				l.grid = gi
			}
		}
		a.located[h.FID] = l
		rep.add(&h) // every hazard: the one repeated may lie outside the grids
		if l.grid >= 0 {
			a.Hazards = append(a.Hazards, GridHazard{FID: h.FID, Grid: l.grid, Point: h.Point, Category: h.Category,
				Status: h.Status, ReportedAt: h.ReportedAt, DueAt: h.DueAt, ResolvedAt: h.ResolvedAt})
		}
	})
	// Outside eachHazard, which holds the service's read lock.
	rep.mark(a.Hazards)
	eachCamera(func(c data.Camera) {
		if gi, ok := pp.Locator.Locate(c.Point); ok {
			a.Cameras[gi].Total++
			if c.Status == "online" {
				a.Cameras[gi].Online++
			}
		}
	})
	return a
}

// repeatFinder finds the events that repeat a done one. Done events are
// hashed by category and by squares at least 2·RepeatRadiusM on a side,
// each square's list sorted by ResolvedAt. An event's neighbours within
// the radius then lie in at most 2×2 squares (its own, and the one on each
// axis on the side nearer to it), and in each only the done events
// resolved within RepeatWindow before its report (found by binary search)
// have their distance measured. That is O(n log n) for n events however
// they cluster in time, and close to O(n) for a year of reports, where few
// done events of one category share a square and a window. The spatial
// point index would answer each event with every neighbour of any date,
// sorted by distance: the wrong order for a question mostly about time.
type repeatFinder struct {
	cats map[string]int32 // category code → small integer, for the keys
	// squares maps a square's key (squareKey) to its span of byTime: the
	// done events of one category in one square, ordered by ResolvedAt.
	// One flat slice rather than a slice per square: a county's year has
	// tens of thousands of squares.
	squares map[uint64]span
	byTime  []doneAt
	// maxAbsLat is the largest |latitude| of any event: squares are as
	// wide in longitude as 2·RepeatRadiusM is there, and so wider nearer
	// the equator.
	maxAbsLat float64
	done      []doneEvent
}

type span struct{ start, end int32 }

// squareKey packs a category and a square's column and row into one
// integer, which a map hashes faster than a struct. 24 bits each hold
// ±8 million squares, and a square is at least 0.0018° wide.
func squareKey(cat, x, y int32) uint64 {
	return uint64(cat)<<48 | uint64(uint32(x)&0xFFFFFF)<<24 | uint64(uint32(y)&0xFFFFFF)
}

// doneAt is a done event in a square.
type doneAt struct {
	resolved int64 // Unix nanoseconds
	fid      int64
	p        orb.Point
}

type doneEvent struct {
	cat int32
	doneAt
}

// add notes h: its latitude, and h itself if it is done and was resolved
// at a known time.
func (r *repeatFinder) add(h *data.Hazard) {
	r.maxAbsLat = math.Max(r.maxAbsLat, math.Abs(h.Point[1]))
	if !h.Status.Done() || h.ResolvedAt.IsZero() {
		return
	}
	if r.cats == nil {
		r.cats = map[string]int32{}
	}
	c, ok := r.cats[h.Category]
	if !ok {
		c = int32(len(r.cats))
		r.cats[h.Category] = c
	}
	r.done = append(r.done, doneEvent{cat: c, doneAt: doneAt{resolved: h.ResolvedAt.UnixNano(), fid: h.FID, p: h.Point}})
}

// squareSides returns the sides of the hash squares in degrees: at least
// twice the radius, with a thousandth to spare for rounding, at every
// latitude up to a hundredth of a degree (1.1 km) beyond maxAbsLat.
func (r *repeatFinder) squareSides() (dLon, dLat float64) {
	dLat = 1.001 * 2 * RepeatRadiusM / (orb.EarthRadius * math.Pi / 180)
	// Beyond 85° a square would span most of a parallel; nobody governs grids there.
	return dLat / math.Cos(math.Min(r.maxAbsLat+0.01, 85)*math.Pi/180), dLat
}

// index sorts the done events into their squares: a counting sort by
// square, then each square's span by ResolvedAt.
func (r *repeatFinder) index() (dLon, dLat float64) {
	dLon, dLat = r.squareSides()
	r.squares = make(map[uint64]span, len(r.done)/4)
	keys := make([]uint64, len(r.done))
	for i, d := range r.done {
		k := squareKey(d.cat, int32(math.Floor(d.p[0]/dLon)), int32(math.Floor(d.p[1]/dLat)))
		keys[i] = k
		sp := r.squares[k]
		sp.end++ // a count for now
		r.squares[k] = sp
	}
	next := int32(0)
	for k, sp := range r.squares {
		r.squares[k] = span{start: next, end: next} // end grows to start+count as events are placed
		next += sp.end
	}
	r.byTime = make([]doneAt, len(r.done))
	for i, d := range r.done {
		sp := r.squares[keys[i]]
		r.byTime[sp.end] = d.doneAt
		sp.end++
		r.squares[keys[i]] = sp
	}
	for _, sp := range r.squares {
		slices.SortFunc(r.byTime[sp.start:sp.end], func(a, b doneAt) int { return cmp.Compare(a.resolved, b.resolved) })
	}
	return dLon, dLat
}

// mark sets Repeat on the hazards that repeat a done event.
func (r *repeatFinder) mark(hz []GridHazard) {
	if len(r.done) == 0 {
		return
	}
	dLon, dLat := r.index()
	window := int64(RepeatWindow)
	for i := range hz {
		h := &hz[i]
		c, ok := r.cats[h.Category]
		if !ok {
			continue
		}
		reported := h.ReportedAt.UnixNano()
		fx, fy := h.Point[0]/dLon, h.Point[1]/dLat
		x, y := int32(math.Floor(fx)), int32(math.Floor(fy))
		// The neighbouring square on the nearer side of each axis: a square
		// is twice the radius, so the farther one is out of reach.
		nx, ny := x+1, y+1
		if fx-math.Floor(fx) < 0.5 {
			nx = x - 1
		}
		if fy-math.Floor(fy) < 0.5 {
			ny = y - 1
		}
	squares:
		for _, k := range [4]uint64{squareKey(c, x, y), squareKey(c, nx, y), squareKey(c, x, ny), squareKey(c, nx, ny)} {
			sp, ok := r.squares[k]
			if !ok {
				continue
			}
			list := r.byTime[sp.start:sp.end]
			// The done events resolved in [reported − window, reported].
			j, _ := slices.BinarySearchFunc(list, reported-window, func(d doneAt, t int64) int { return cmp.Compare(d.resolved, t) })
			for ; j < len(list) && list[j].resolved <= reported; j++ {
				if list[j].fid != h.FID && geo.DistanceHaversine(list[j].p, h.Point) <= RepeatRadiusM {
					h.Repeat = true
					break squares
				}
			}
		}
	}
}

// Due returns when the event is due: DueAt, or for older data without one
// its report plus its category's deadline in t. False when neither is
// known (a category t does not have, written by another tool).
func (h *GridHazard) Due(t *data.Taxonomy) (time.Time, bool) {
	if !h.DueAt.IsZero() {
		return h.DueAt, true
	}
	if c, ok := t.Category(h.Category); ok {
		return h.ReportedAt.Add(c.Deadline()), true
	}
	return time.Time{}, false
}

// FigureQuery selects the events that figures count, and the moment that
// decides what is overdue.
type FigureQuery struct {
	Since, Until time.Time // ReportedAt in [Since, Until); a zero bound is open
	// Category and Kind, when not "", keep the events of that category, or
	// of the categories of that kind in Taxonomy; an unknown one keeps none.
	Category, Kind string
	Now            time.Time
	Taxonomy       *data.Taxonomy // nil: data.DefaultTaxonomy
}

// EventFigures are the figures of the events of a grid, or of several
// (the events of the event loop, 事件闭环): counts, rates and times to
// close. Rates and times are nil when nothing defines them.
type EventFigures struct {
	Reported int // events reported in the period
	// ByKind counts by the kind of the category (hazard, dispute) in the
	// taxonomy; events of a category it does not have are in no kind.
	ByKind     map[string]int
	ByCategory map[string]int      // every category of the taxonomy, and any other found
	ByStatus   map[data.Status]int // every status
	Open       int                 // data.Status.Open: neither done nor rejected
	Overdue    int                 // open, and Now is after their due time (GridHazard.Due)
	Done       int                 // data.Status.Done (办结): resolved, verified or closed
	Rejected   int
	Repeat     int // events repeating a done one (RepeatRadiusM, RepeatWindow)
	// Timed counts the done events with a ResolvedAt and a due time;
	// OnTime those of them resolved at or before it.
	Timed, OnTime int
	// ClosureRate is Done / (Reported − Rejected): a rejected report was
	// never the grid's to handle.
	ClosureRate *float64
	// OnTimeRate is OnTime / Timed.
	OnTimeRate *float64
	// MedianHoursToClose and P90HoursToClose are the 50th and 90th
	// percentiles of ResolvedAt − ReportedAt, in hours, over the done
	// events with a ResolvedAt, by linear interpolation between the two
	// nearest ranks (PostgreSQL's percentile_cont): the median of an even
	// number is the mean of the middle two.
	MedianHoursToClose, P90HoursToClose *float64

	loop loopCounts // the counts above while adding, until finish
	// Counts by index while adding, turned into the maps by finish: a map
	// update per event and figure would cost more than all the rest.
	nCat    []int          // by index in the taxonomy's categories
	nOther  map[string]int // categories the taxonomy does not have
	nKind   []int          // by index in the taxonomy's kinds
	nStatus []int          // by index in data.Statuses()
}

// scale is what Figures needs of a taxonomy, indexed once per call.
type scale struct {
	tax      *data.Taxonomy
	cat      map[string]int // code → index in tax.Categories
	kindOf   []int          // category index → index in tax.Kinds
	statuses []data.Status
}

func newScale(t *data.Taxonomy) *scale {
	sc := &scale{tax: t, cat: make(map[string]int, len(t.Categories)), kindOf: make([]int, len(t.Categories)), statuses: data.Statuses()}
	for i, c := range t.Categories {
		sc.cat[c.Code] = i
		sc.kindOf[i] = slices.IndexFunc(t.Kinds, func(k data.EventKind) bool { return k.Code == c.Kind })
	}
	return sc
}

func (sc *scale) newFigures() EventFigures {
	return EventFigures{nCat: make([]int, len(sc.tax.Categories)), nKind: make([]int, len(sc.tax.Kinds)), nStatus: make([]int, len(sc.statuses))}
}

// judged is an event with what the figures judge it by, found once for
// its grid's figures and the total.
type judged struct {
	h       *GridHazard
	cat     int // index in the taxonomy's categories, -1 for none of them
	kind    int // index in its kinds, -1 for none
	status  int // index in data.Statuses(), -1 for none
	overdue bool
	hours   float64 // to close; meaningful when closed
	closed  bool    // done, with a ResolvedAt
	timed   bool    // closed, and with a due time
	onTime  bool    // timed, and resolved by then
}

// judge returns h as the figures count it, or false when q does not keep
// it.
func judge(h *GridHazard, q *FigureQuery, sc *scale) (judged, bool) {
	if (!q.Since.IsZero() && h.ReportedAt.Before(q.Since)) || (!q.Until.IsZero() && !h.ReportedAt.Before(q.Until)) ||
		(q.Category != "" && h.Category != q.Category) {
		return judged{}, false
	}
	j := judged{h: h, cat: -1, kind: -1, status: slices.Index(sc.statuses, h.Status)}
	ci, known := sc.cat[h.Category]
	if known {
		j.cat, j.kind = ci, sc.kindOf[ci]
	}
	if q.Kind != "" && (j.kind < 0 || sc.tax.Kinds[j.kind].Code != q.Kind) {
		return judged{}, false
	}
	due, hasDue := h.DueAt, !h.DueAt.IsZero()
	if !hasDue && known {
		due, hasDue = h.ReportedAt.Add(sc.tax.Categories[ci].Deadline()), true
	}
	switch {
	case h.Status.Open():
		j.overdue = hasDue && q.Now.After(due)
	case h.Status.Done() && !h.ResolvedAt.IsZero():
		j.closed = true
		j.hours = h.ResolvedAt.Sub(h.ReportedAt).Hours()
		j.timed = hasDue
		j.onTime = hasDue && !h.ResolvedAt.After(due)
	}
	return j, true
}

// loopCounts adds up the figures of the event loop over events judged
// one by one: what EventFigures and a rollup's rows (RollupFigures) both
// count, and the times to close that their rates and percentiles come from.
// A rollup holds one per unit, period and category, hence int32.
type loopCounts struct {
	reported, done, rejected, open, overdue, repeat, timed, onTime int32
	hours                                                          []float64 // to close, of each closed event
}

// add counts j.
func (c *loopCounts) add(j *judged) {
	h := j.h
	c.reported++
	switch {
	case h.Status.Open():
		c.open++
	case h.Status.Done():
		c.done++
	case h.Status == data.StatusRejected:
		c.rejected++
	}
	if j.overdue {
		c.overdue++
	}
	if j.closed {
		c.hours = append(c.hours, j.hours)
	}
	if j.timed {
		c.timed++
	}
	if j.onTime {
		c.onTime++
	}
	if h.Repeat {
		c.repeat++
	}
}

// rates returns the closure rate, done / (reported − rejected): a rejected
// report was never the grid's to handle; the on-time rate, onTime / timed;
// and the median and 90th percentile of the hours to close. Each is nil
// when nothing defines it. It sorts the hours, and may be asked again.
func (c *loopCounts) rates() (closure, onTime, median, p90 *float64) {
	ratio := func(n, d int32) *float64 {
		if d == 0 {
			return nil
		}
		r := float64(n) / float64(d)
		return &r
	}
	closure, onTime = ratio(c.done, c.reported-c.rejected), ratio(c.onTime, c.timed)
	if len(c.hours) > 0 {
		slices.Sort(c.hours)
		m, p := percentile(c.hours, 0.5), percentile(c.hours, 0.9)
		median, p90 = &m, &p
	}
	return closure, onTime, median, p90
}

// add counts j.
func (f *EventFigures) add(j *judged) {
	if j.cat >= 0 {
		f.nCat[j.cat]++
	} else {
		if f.nOther == nil {
			f.nOther = map[string]int{}
		}
		f.nOther[j.h.Category]++
	}
	if j.kind >= 0 {
		f.nKind[j.kind]++
	}
	if j.status >= 0 {
		f.nStatus[j.status]++
	}
	f.loop.add(j)
}

// finish derives the counts, maps, rates and times from what add counted.
func (f *EventFigures) finish(sc *scale) {
	c := &f.loop
	f.Reported, f.Done, f.Rejected, f.Open = int(c.reported), int(c.done), int(c.rejected), int(c.open)
	f.Overdue, f.Repeat, f.Timed, f.OnTime = int(c.overdue), int(c.repeat), int(c.timed), int(c.onTime)
	f.ClosureRate, f.OnTimeRate, f.MedianHoursToClose, f.P90HoursToClose = c.rates()
	f.ByKind = make(map[string]int, len(f.nKind))
	for i, n := range f.nKind {
		f.ByKind[sc.tax.Kinds[i].Code] = n
	}
	f.ByCategory = make(map[string]int, len(f.nCat)+len(f.nOther))
	for i, n := range f.nCat {
		f.ByCategory[sc.tax.Categories[i].Code] = n
	}
	for code, n := range f.nOther {
		f.ByCategory[code] = n
	}
	f.ByStatus = make(map[data.Status]int, len(f.nStatus))
	for i, n := range f.nStatus {
		f.ByStatus[sc.statuses[i]] = n
	}
	f.loop, f.nCat, f.nOther, f.nKind, f.nStatus = loopCounts{}, nil, nil, nil, nil
}

// percentile is PostgreSQL's percentile_cont(p) of sorted, which is not
// empty: the value at rank p·(n−1), interpolated linearly.
func percentile(sorted []float64, p float64) float64 {
	r := p * float64(len(sorted)-1)
	lo := int(math.Floor(r))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (r-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// Figures returns the figures of the events q selects in each grid of
// grids (plan indexes; every grid of the plan when nil), in that order,
// and of all of them together. It costs O(n) for n assigned events, plus
// sorting the times to close.
func (a *GridAssignment) Figures(q FigureQuery, grids []int) ([]EventFigures, EventFigures) {
	if q.Taxonomy == nil {
		q.Taxonomy = data.DefaultTaxonomy()
	}
	sc := newScale(q.Taxonomy)
	if grids == nil {
		grids = make([]int, len(a.Plan.Plan.Grids))
		for i := range grids {
			grids[i] = i
		}
	}
	pos := make([]int, len(a.Plan.Plan.Grids)) // plan index → position in out + 1; 0 for not asked
	out := make([]EventFigures, len(grids))
	for k, i := range grids {
		pos[i] = k + 1
		out[k] = sc.newFigures()
	}
	total := sc.newFigures()
	for i := range a.Hazards {
		h := &a.Hazards[i]
		k := pos[h.Grid]
		if k == 0 {
			continue
		}
		j, ok := judge(h, &q, sc)
		if !ok {
			continue
		}
		out[k-1].add(&j)
		total.add(&j)
	}
	for k := range out {
		out[k].finish(sc)
	}
	total.finish(sc)
	return out, total
}

// StatsQuery selects the grids and the events of GridStats.
type StatsQuery struct {
	FigureQuery // a nil Taxonomy is the one in use
	// Grids are the plan indexes of the grids asked about; every grid of
	// the plan when nil.
	Grids []int
	// Cameras adds camera counts; Coverage, with Cameras only, camera
	// coverage. Both derive from camera positions: the caller decides who
	// may see them.
	Cameras, Coverage bool
}

// GridStats are the statistics of a grid, or the total of several:
// households (as the plan counted them), the figures of its events, and
// with StatsQuery.Cameras and Coverage its cameras and coverage. A grid's
// Cameras and Coverage are the shared GridAssignment's and Coverage's:
// they must not be changed.
type GridStats struct {
	Households int
	Events     EventFigures
	Cameras    *GridCameras
	Coverage   *GridCoverage
}

// GridStats returns the statistics of q's grids of pp, in the order of
// q.Grids, and their total. Coverage is only ever of the published plan:
// when pp is no longer it, the answer is EUNAVAILABLE rather than figures
// of two plans.
func (s *Service) GridStats(ctx context.Context, pp *Plan, q StatsQuery) ([]GridStats, GridStats, error) {
	a := s.GridAssignment(pp)
	var cov *Coverage
	if q.Cameras && q.Coverage {
		var err error
		if cov, err = s.Coverage(ctx); err != nil {
			return nil, GridStats{}, err
		}
		if cov.Plan != pp { // published again meanwhile
			return nil, GridStats{}, data.Errorf(data.EUNAVAILABLE, "the published plan changed during the request; retry")
		}
	}
	grids := q.Grids
	if grids == nil {
		grids = make([]int, len(pp.Plan.Grids))
		for i := range grids {
			grids[i] = i
		}
	}
	if q.Taxonomy == nil {
		q.Taxonomy = s.Taxonomy()
	}
	figs, totalFigs := a.Figures(q.FigureQuery, grids)
	out := make([]GridStats, len(grids))
	total := GridStats{Events: totalFigs}
	if q.Cameras {
		total.Cameras = &GridCameras{}
	}
	for k, i := range grids {
		out[k] = GridStats{Households: pp.Plan.Grids[i].Households, Events: figs[k]}
		total.Households += out[k].Households
		if q.Cameras {
			out[k].Cameras = &a.Cameras[i]
			total.Cameras.Online += a.Cameras[i].Online
			total.Cameras.Total += a.Cameras[i].Total
		}
		if cov != nil {
			out[k].Coverage = &cov.Grids[i]
		}
	}
	if cov != nil {
		t := cov.Total(grids)
		total.Coverage = &t
	}
	return out, total, nil
}
