package live

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/wangge/wangge/data"
)

// Rollups (层层汇总): the figures of the event loop (live/stats.go: judge
// decides what an event counts as, exactly as for /v1/grids/stats) summed
// from the grids up the area tree, by area, category, month or week. Every
// count of a row is a sum over its grids' events, so a parent's counts
// equal the sum of its children's; rates and times to close are computed
// again from each row's own events, never averaged.

// Period is how a rollup splits time.
type Period int

// Periods of a rollup.
const (
	PeriodNone  Period = iota // one row for [Since, Until)
	PeriodMonth               // calendar months
	PeriodWeek                // ISO weeks, Monday to Monday
)

// DefaultMaxRollupRows bounds the rows of one rollup (areas × periods ×
// categories), which would otherwise grow with a careless query.
const DefaultMaxRollupRows = 100_000

// Unit types: what a rollup row is about.
const (
	UnitCounty = "county" // the whole deployment (level 0)
	UnitArea   = "area"
	UnitGrid   = "grid"
	// UnitOther holds the grids of the scope that lie in no area of the
	// rows' level (a tree of uneven depth, a grid directly in a parent
	// that also has child areas, a grid whose area is unknown), so that
	// the rows still add up to the scope.
	UnitOther = "other"
)

// RollupQuery selects and groups a rollup.
type RollupQuery struct {
	// Since, Until, Category, Kind, Now and Taxonomy are as in
	// FigureQuery.
	Since, Until   time.Time
	Category, Kind string
	Now            time.Time
	Taxonomy       *data.Taxonomy
	// The rows' areas: with HasParent, the children of the area Parent
	// (its child areas, or its grids when it has none; Parent "" is the
	// top-level areas); otherwise the areas of Level (0: the deployment
	// as one row).
	Level     int
	Parent    string
	HasParent bool
	// Grouping. Without ByArea one row holds the whole scope: Parent's
	// grids with HasParent, else every grid.
	ByArea, ByCategory bool
	Period             Period
	// Loc is the calendar of months and weeks; nil is UTC.
	Loc *time.Location
	// Stock figures: Cameras adds camera counts, Coverage (when for the
	// same plan) coverage, Staffed (when for the same plan) workers.
	Cameras  bool
	Coverage *Coverage
	Staffed  *Staffed
	MaxRows  int // 0: DefaultMaxRollupRows
}

// Rollup is the answer to a RollupQuery.
type Rollup struct {
	Units      []RollupUnit
	Periods    []RollupPeriod // empty without a Period
	Categories []string       // empty without ByCategory
	// Rows are by unit, then period, then category, every combination
	// present (zeros included).
	Rows []RollupRow
	// Total is the figures of the whole scope in [Since, Until), with its
	// stock.
	Total      RollupFigures
	TotalStock UnitStock
	// PreviousWindow and PreviousYearWindow are the windows of Previous
	// and PreviousYear without a Period; zero when Since or Until is open.
	PreviousWindow, PreviousYearWindow Window
}

// Window is a period of report times, [Since, Until).
type Window struct{ Since, Until time.Time }

// RollupUnit is an area (or grid) the rows are about.
type RollupUnit struct {
	Code, Name, NameEn string
	Level              int
	Type               string // UnitCounty, UnitArea, UnitGrid, UnitOther
	Grid               int    // plan index for UnitGrid, else -1
	Stock              UnitStock
}

// UnitStock is what a unit has, whatever the period: its grids,
// households (as the plan counted them), workers (roster workers serving
// each grid, chiefs apart, summed over the grids: one serving two grids
// counts in both) and cameras.
type UnitStock struct {
	Grids, Households, Workers  int
	CamerasOnline, CamerasTotal int // with RollupQuery.Cameras
	// Coverage sums (with RollupQuery.Coverage): household points' counts
	// and areas as Coverage measured them.
	HasCoverage                                   bool
	CoverageHouseholds, CoverageHouseholdsCovered int
	CoverageAreaM2, CoverageCoveredM2             float64
}

func (u *UnitStock) add(o UnitStock) {
	u.Grids += o.Grids
	u.Households += o.Households
	u.Workers += o.Workers
	u.CamerasOnline += o.CamerasOnline
	u.CamerasTotal += o.CamerasTotal
	u.HasCoverage = u.HasCoverage || o.HasCoverage
	u.CoverageHouseholds += o.CoverageHouseholds
	u.CoverageHouseholdsCovered += o.CoverageHouseholdsCovered
	u.CoverageAreaM2 += o.CoverageAreaM2
	u.CoverageCoveredM2 += o.CoverageCoveredM2
}

// RollupPeriod is one month or week: [Start, End) in the query's calendar,
// and its label (2025-03, 2025-W09).
type RollupPeriod struct {
	Start, End time.Time
	Label      string
}

// RollupRow is one unit's figures in one period and category.
type RollupRow struct {
	Unit     int    // index in Rollup.Units
	Period   int    // index in Rollup.Periods; -1 without a Period
	Category string // "" without ByCategory
	Figures  RollupFigures
	// Previous is the same unit and category in the period before: the
	// previous month or week (环比), or without a Period the window of the
	// same length before Since. PreviousYear is a year before (同比): the
	// same month, 52 weeks before, or [Since, Until) a year back. Nil
	// when Since or Until is open (without a Period).
	Previous, PreviousYear *RollupFigures
}

// RollupFigures are the figures of the events of a row (EventFigures'
// definitions): Closed is Done (办结).
type RollupFigures struct {
	Window                                            Window // zero bounds where the query's are open
	Reported, Closed, Rejected, Open, Overdue, Repeat int
	Timed, OnTime                                     int
	ClosureRate, OnTimeRate                           *float64
	MedianHoursToClose, P90HoursToClose               *float64
}

// figures are the figures of the events c counted in window w; c may be
// asked more than once.
func (c *loopCounts) figures(w Window) RollupFigures {
	f := RollupFigures{Window: w, Reported: int(c.reported), Closed: int(c.done), Rejected: int(c.rejected), Open: int(c.open),
		Overdue: int(c.overdue), Repeat: int(c.repeat), Timed: int(c.timed), OnTime: int(c.onTime)}
	f.ClosureRate, f.OnTimeRate, f.MedianHoursToClose, f.P90HoursToClose = c.rates()
	return f
}

// rollupError is an EINVALID or ENOTFOUND error of a rollup query.
func rollupError(code, format string, args ...any) error { return data.Errorf(code, format, args...) }

// Rollup computes the figures of q over the assignment, with areas as the
// tree. It costs O(n) for n assigned events, plus sorting each row's
// times to close.
func (a *GridAssignment) Rollup(q RollupQuery, areas *Areas) (*Rollup, error) {
	if q.Taxonomy == nil {
		q.Taxonomy = data.DefaultTaxonomy()
	}
	if q.Loc == nil {
		q.Loc = time.UTC
	}
	if q.MaxRows <= 0 {
		q.MaxRows = DefaultMaxRollupRows
	}
	if areas == nil {
		areas = &Areas{ByCode: map[string]int{}}
	}
	sc := newScale(q.Taxonomy)
	out := &Rollup{}
	unitOf, err := a.rollupUnits(&q, areas, out)
	if err != nil {
		return nil, err
	}
	a.rollupStock(&q, unitOf, out)

	// Events are judged without the period: the previous periods need the
	// events before Since.
	fq := FigureQuery{Category: q.Category, Kind: q.Kind, Now: q.Now, Taxonomy: q.Taxonomy}
	inCur := func(t time.Time) bool {
		return (q.Since.IsZero() || !t.Before(q.Since)) && (q.Until.IsZero() || t.Before(q.Until))
	}

	// Categories: the taxonomy's (of Kind), or the one asked for, and any
	// other found in the events.
	catPos := map[string]int{}
	if q.ByCategory {
		switch {
		case q.Category != "":
			out.Categories = []string{q.Category}
		default:
			for _, c := range q.Taxonomy.Categories {
				if q.Kind == "" || c.Kind == q.Kind {
					out.Categories = append(out.Categories, c.Code)
				}
			}
			if q.Kind == "" {
				var others []string
				seen := map[string]bool{}
				for i := range a.Hazards {
					c := a.Hazards[i].Category
					if _, ok := sc.cat[c]; !ok && !seen[c] && unitOf[a.Hazards[i].Grid] >= 0 {
						seen[c] = true
						others = append(others, c)
					}
				}
				slices.Sort(others)
				out.Categories = append(out.Categories, others...)
			}
		}
		for i, c := range out.Categories {
			catPos[c] = i
		}
	}
	nC := max(1, len(out.Categories))
	catOf := func(j *judged) int {
		if !q.ByCategory {
			return 0
		}
		p, ok := catPos[j.h.Category]
		if !ok {
			return -1
		}
		return p
	}

	// Periods.
	var pFirst, pLast, lag int
	nP := 1
	periodOf := func(t time.Time) int { return periodIndex(q.Period, t, q.Loc) }
	if q.Period != PeriodNone {
		lag = 12
		if q.Period == PeriodWeek {
			lag = 52
		}
		lo, hi, any := 0, 0, false
		if q.Since.IsZero() || q.Until.IsZero() {
			for i := range a.Hazards {
				h := &a.Hazards[i]
				if unitOf[h.Grid] < 0 || !inCur(h.ReportedAt) {
					continue
				}
				if _, ok := judge(h, &fq, sc); !ok {
					continue
				}
				p := periodOf(h.ReportedAt)
				if !any || p < lo {
					lo = p
				}
				if !any || p > hi {
					hi = p
				}
				any = true
			}
		}
		now := periodOf(q.Now)
		switch {
		case !q.Since.IsZero():
			pFirst = periodOf(q.Since)
		case any:
			pFirst = lo
		default:
			pFirst = now
		}
		switch {
		case !q.Until.IsZero():
			pLast = periodOf(q.Until.Add(-time.Nanosecond))
		case any:
			pLast = max(hi, now)
		default:
			pLast = now
		}
		pLast = max(pLast, pFirst)
		nP = pLast - pFirst + 1
		for p := pFirst; p <= pLast; p++ {
			out.Periods = append(out.Periods, periodAt(q.Period, p, q.Loc))
		}
	}
	nU := len(out.Units)
	if rows := nU * nP * nC; rows > q.MaxRows || nP > q.MaxRows {
		return nil, rollupError(data.EINVALID, "the query asks for %d rows (%d areas × %d periods × %d categories), more than %d: narrow it (since/until, group_by, parent)",
			nU*nP*nC, nU, nP, nC, q.MaxRows)
	}

	cur := make([]loopCounts, nU*nP*nC)
	idx := func(u, p, c int) int { return (u*nP+p)*nC + c }
	var full []loopCounts // by month or week, from pFirst−lag to pLast−1
	nF := nP + lag - 1
	var prev, prevYear []loopCounts
	if q.Period != PeriodNone {
		full = make([]loopCounts, nU*nF*nC)
	} else if !q.Since.IsZero() && !q.Until.IsZero() {
		d := q.Until.Sub(q.Since)
		out.PreviousWindow = Window{q.Since.Add(-d), q.Since}
		out.PreviousYearWindow = Window{q.Since.AddDate(-1, 0, 0), q.Until.AddDate(-1, 0, 0)}
		prev, prevYear = make([]loopCounts, nU*nC), make([]loopCounts, nU*nC)
	}
	in := func(w Window, t time.Time) bool { return !t.Before(w.Since) && t.Before(w.Until) }
	var total loopCounts
	for i := range a.Hazards {
		h := &a.Hazards[i]
		u := unitOf[h.Grid]
		if u < 0 {
			continue
		}
		j, ok := judge(h, &fq, sc)
		if !ok {
			continue
		}
		c := catOf(&j)
		if c < 0 {
			continue
		}
		t := h.ReportedAt
		now := inCur(t)
		if now {
			total.add(&j)
		}
		if q.Period == PeriodNone {
			if now {
				cur[idx(u, 0, c)].add(&j)
			}
			if prev != nil {
				if in(out.PreviousWindow, t) {
					prev[u*nC+c].add(&j)
				}
				if in(out.PreviousYearWindow, t) {
					prevYear[u*nC+c].add(&j)
				}
			}
			continue
		}
		p := periodOf(t)
		if now && p >= pFirst && p <= pLast {
			cur[idx(u, p-pFirst, c)].add(&j)
		}
		if f := p - (pFirst - lag); f >= 0 && f < nF {
			full[(u*nF+f)*nC+c].add(&j)
		}
	}

	// The window of a row's own period: its calendar period within
	// [Since, Until).
	clip := func(w Window) Window {
		if !q.Since.IsZero() && w.Since.Before(q.Since) {
			w.Since = q.Since
		}
		if !q.Until.IsZero() && w.Until.After(q.Until) {
			w.Until = q.Until
		}
		return w
	}
	curWindow := Window{q.Since, q.Until}
	out.Rows = make([]RollupRow, 0, nU*nP*nC)
	for u := range nU {
		for p := range nP {
			for c := range nC {
				row := RollupRow{Unit: u, Period: -1}
				if q.ByCategory {
					row.Category = out.Categories[c]
				}
				if q.Period == PeriodNone {
					row.Figures = cur[idx(u, 0, c)].figures(curWindow)
					if prev != nil {
						pf := prev[u*nC+c].figures(out.PreviousWindow)
						py := prevYear[u*nC+c].figures(out.PreviousYearWindow)
						row.Previous, row.PreviousYear = &pf, &py
					}
				} else {
					row.Period = p
					per := out.Periods[p]
					row.Figures = cur[idx(u, p, c)].figures(clip(Window{per.Start, per.End}))
					// Period p is at f = p+lag in full; the one before at
					// p+lag−1, a year before at p.
					before := periodAt(q.Period, pFirst+p-1, q.Loc)
					pf := full[(u*nF+p+lag-1)*nC+c].figures(Window{before.Start, before.End})
					yearBefore := periodAt(q.Period, pFirst+p-lag, q.Loc)
					py := full[(u*nF+p)*nC+c].figures(Window{yearBefore.Start, yearBefore.End})
					row.Previous, row.PreviousYear = &pf, &py
				}
				out.Rows = append(out.Rows, row)
			}
		}
	}
	out.Total = total.figures(curWindow)
	return out, nil
}

// rollupUnits sets out.Units from q's scope and returns the unit of each
// grid of the plan, -1 for grids outside the scope.
func (a *GridAssignment) rollupUnits(q *RollupQuery, areas *Areas, out *Rollup) ([]int, error) {
	grids := a.Plan.Plan.Grids
	unitOf := make([]int, len(grids))
	// chain[i] is grid i's areas, nearest first (its leaf, then up).
	chain := make([][]int, len(grids))
	for i, g := range grids {
		seen := map[int]bool{}
		for k, ok := areas.ByCode[g.ParentCode]; ok && !seen[k]; k, ok = areas.ByCode[areas.List[k].ParentCode] {
			seen[k] = true
			chain[i] = append(chain[i], k)
		}
	}
	areaUnit := func(k int) RollupUnit {
		ar := areas.List[k]
		return RollupUnit{Code: ar.Code, Name: ar.Name, NameEn: ar.NameEn, Level: ar.Level, Type: UnitArea, Grid: -1}
	}
	county := RollupUnit{Type: UnitCounty, Grid: -1}
	// The scope: the parent's grids, or all.
	parent := -1
	if q.HasParent && q.Parent != "" {
		k, ok := areas.ByCode[q.Parent]
		if !ok {
			return nil, rollupError(data.ENOTFOUND, "no area %q", q.Parent)
		}
		parent = k
	}
	inScope := func(i int) bool { return parent < 0 || slices.Contains(chain[i], parent) }
	if !q.ByArea {
		u := county
		if parent >= 0 {
			u = areaUnit(parent)
		}
		out.Units = []RollupUnit{u}
		for i := range grids {
			unitOf[i] = -1
			if inScope(i) {
				unitOf[i] = 0
			}
		}
		return unitOf, nil
	}
	level := q.Level
	if q.HasParent {
		level = 1
		if parent >= 0 {
			level = areas.List[parent].Level + 1
		}
	}
	if level == 0 {
		out.Units = []RollupUnit{county}
		clear(unitOf)
		return unitOf, nil
	}
	// The child areas: of the level, within the scope.
	var kids []int
	for k, ar := range areas.List {
		if ar.Level != level {
			continue
		}
		if parent >= 0 && ar.ParentCode != q.Parent {
			continue
		}
		kids = append(kids, k)
	}
	slices.SortFunc(kids, func(x, y int) int { return cmp.Compare(areas.List[x].Code, areas.List[y].Code) })
	if parent >= 0 && len(kids) == 0 {
		// A leaf: one row per grid.
		var idx []int
		for i, g := range grids {
			unitOf[i] = -1
			if g.ParentCode == q.Parent {
				idx = append(idx, i)
			}
		}
		slices.SortFunc(idx, func(x, y int) int { return cmp.Compare(grids[x].Code, grids[y].Code) })
		for u, i := range idx {
			g := grids[i]
			out.Units = append(out.Units, RollupUnit{Code: g.Code, Name: g.Name, Level: level, Type: UnitGrid, Grid: i})
			unitOf[i] = u
		}
		return unitOf, nil
	}
	if !q.HasParent && len(kids) == 0 {
		maxLevel := 0
		for _, ar := range areas.List {
			maxLevel = max(maxLevel, ar.Level)
		}
		return nil, rollupError(data.EINVALID, "no area has level %d (the areas' levels are 1 to %d; 0 is the whole deployment; a leaf area's grids are parent=CODE)", level, maxLevel)
	}
	pos := make(map[int]int, len(kids))
	for u, k := range kids {
		out.Units = append(out.Units, areaUnit(k))
		pos[k] = u
	}
	other := -1
	for i := range grids {
		unitOf[i] = -1
		if !inScope(i) {
			continue
		}
		u, found := 0, false
		for _, k := range chain[i] {
			if p, ok := pos[k]; ok {
				u, found = p, true
				break
			}
		}
		if !found {
			if other < 0 {
				other = len(out.Units)
				ou := RollupUnit{Type: UnitOther, Level: level, Grid: -1}
				if parent >= 0 {
					ou.Code = q.Parent
				}
				out.Units = append(out.Units, ou)
			}
			u = other
		}
		unitOf[i] = u
	}
	return unitOf, nil
}

// rollupStock adds up each unit's grids, households, workers, cameras and
// coverage.
func (a *GridAssignment) rollupStock(q *RollupQuery, unitOf []int, out *Rollup) {
	staffed := q.Staffed != nil && q.Staffed.Plan == a.Plan
	cov := q.Coverage != nil && q.Coverage.Plan == a.Plan
	for i, g := range a.Plan.Plan.Grids {
		u := unitOf[i]
		if u < 0 {
			continue
		}
		st := UnitStock{Grids: 1, Households: g.Households}
		if staffed {
			st.Workers = len(q.Staffed.Staff[i].Workers)
		}
		if q.Cameras {
			st.CamerasOnline, st.CamerasTotal = a.Cameras[i].Online, a.Cameras[i].Total
		}
		if cov {
			gc := q.Coverage.Grids[i]
			st.HasCoverage = true
			st.CoverageHouseholds, st.CoverageHouseholdsCovered = gc.Households, gc.HouseholdsCovered
			st.CoverageAreaM2, st.CoverageCoveredM2 = gc.AreaM2, gc.CoveredM2
		}
		out.Units[u].Stock.add(st)
		out.TotalStock.add(st)
	}
	if cov {
		// Units without grids still have coverage figures (of nothing).
		for u := range out.Units {
			out.Units[u].Stock.HasCoverage = true
		}
		out.TotalStock.HasCoverage = true
	}
}

// periodIndex numbers the month or week holding t in loc: months from
// year 0, weeks from the Monday 1970-01-05.
func periodIndex(p Period, t time.Time, loc *time.Location) int {
	lt := t.In(loc)
	y, m, d := lt.Date()
	if p == PeriodMonth {
		return y*12 + int(m) - 1
	}
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
	return int(math.Floor(float64(days-4) / 7))
}

// periodAt is the period with index i (periodIndex) in loc.
func periodAt(p Period, i int, loc *time.Location) RollupPeriod {
	if p == PeriodMonth {
		start := time.Date(i/12, time.Month(i%12+1), 1, 0, 0, 0, 0, loc)
		return RollupPeriod{Start: start, End: start.AddDate(0, 1, 0), Label: start.Format("2006-01")}
	}
	day := time.Unix((int64(i)*7+4)*86400, 0).UTC()
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	wy, wn := start.ISOWeek()
	return RollupPeriod{Start: start, End: start.AddDate(0, 0, 7), Label: fmt.Sprintf("%04d-W%02d", wy, wn)}
}
