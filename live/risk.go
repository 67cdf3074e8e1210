package live

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
	"github.com/wangge/wangge/tiles"
)

// Risk colours of the published plan's grids (红黄蓝三色管理): each grid
// gets a level of the risk rules in use (data.RiskRules) from its open
// events weighted by severity, its overdue events, the Gi* hot-spot bins
// of its H3 cells and the camera coverage of its households, with the
// rules that raised it as reasons.
//
// A risk belongs to one version of the views: its moment ("now", which
// decides what is overdue and where the hotspot window starts) is the time
// the change feed recorded for the entry at that version, not the clock,
// so every replica at one version computes the same risk and draws the
// same grid tiles. It changes when the next change arrives through the
// feed, never on a timer: the follower asks the risk worker (riskLoop) to
// recompute after each batch it applies, the worker swaps the grids'
// `risk` attribute into the tile scene and drops the cached grid tiles of
// the grids whose level changed. Readers that need the risk of the
// current version (grid tiles, /v1/stats, /collections/grids) call Risk,
// which computes it there and then if the worker has not yet.

// riskState is the latest risk and what the tile scene shows of it.
type riskState struct {
	mu   sync.Mutex // one computation at a time
	cur  atomic.Pointer[Risk]
	kick chan struct{} // asks riskLoop to recompute
	// clock is the feed time of one version (feedClock).
	clock atomic.Pointer[feedClock]
	// cells maps the H3 cells of the hotspot resolution to the grids of
	// the plan they overlap, for the last few plans (by gridsPrint): a
	// planner comparing two plans publishes them in turn, and each costs
	// an H3 cover of every grid. Guarded by mu.
	cells []*gridCells
	// shown is the plan and the levels drawn in the tile scene's grids
	// layer; guarded by the tile state's mu.
	shown struct {
		plan   *Plan
		levels []int
	}
}

// feedClock is the time the change feed recorded for entry seq.
type feedClock struct {
	seq int64
	at  time.Time
}

// gridCells is, for one plan and resolution, the grids each cell overlaps.
type gridCells struct {
	print  uint64 // gridsPrint of the plan
	res    int
	byCell map[h3.Cell][]int32
}

// keptGridCells is how many plans' cells are kept.
const keptGridCells = 4

// gridsPrint identifies a plan's grids: its id and every grid's code and
// vertices, so a plan whose grids were edited in place (GDAL, psql) is
// another plan here. Hashing is microseconds; covering the grids with
// cells is tenths of a second.
func gridsPrint(p *data.Plan) uint64 {
	h := fnv.New64a()
	var b [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	put(uint64(p.ID))
	for _, g := range p.Grids {
		h.Write([]byte(g.Code))
		put(uint64(len(g.Geometry)))
		for _, poly := range g.Geometry {
			put(uint64(len(poly)))
			for _, ring := range poly {
				put(uint64(len(ring)))
				for _, pt := range ring {
					put(math.Float64bits(pt[0]))
					put(math.Float64bits(pt[1]))
				}
			}
		}
	}
	return h.Sum64()
}

// Risk is the risk of every grid of one plan at one version. Callers share
// it: it must not be changed.
type Risk struct {
	Plan  *Plan
	Rules *data.RiskRules
	// AsOf is the moment it judges: the feed time of its version.
	AsOf time.Time
	// Grids is each grid's risk, by plan grid index.
	Grids []GridRisk
	// Hotspots is the hotspot analysis' warnings, if one ran and had any.
	Hotspots []string
	// Took is how long the computation took.
	Took time.Duration

	key riskKey
}

// GridRisk is one grid's level and the reasons for it.
type GridRisk struct {
	Level   int // index in Rules.Levels: 0 is the highest risk
	Reasons []RiskReason
}

// RiskReason is one rule that raised a grid above the lowest level.
type RiskReason struct {
	Rule    string // the rule's id
	Measure string
	Level   int // the level the rule gives, index in Rules.Levels
	Value   float64
	// Threshold is the rule's threshold for Level; Below says whether the
	// value is under it (coverage) rather than at least it.
	Threshold float64
	Below     bool
	// Events lists, for the event measures, the events counted by
	// category, the most first; MinSeverity and Kind are the rule's
	// narrowing of them, for the words.
	Events      []CategoryCount
	MinSeverity int
	Kind        string
}

// CategoryCount is how many events of one category a rule counted, and
// their weight (open_weighted).
type CategoryCount struct {
	Category string
	N        int
	Weight   float64
}

// riskKey is what a risk is computed from: when one part changes, the risk
// of the current version is computed again.
type riskKey struct {
	plan             *Plan
	hazards, cameras *tiles.Points // the scene's point layers, which each batch replaces
	cameraGen        uint64        // coverage
	householdGen     uint64
	at               time.Time
}

// RiskRules returns the risk rules in use.
func (s *Service) RiskRules() *data.RiskRules { return s.cfg.Risk }

// LatestRisk returns the last risk computed, which may be of an older
// version; nil before the first. Risk gives the current version's.
func (s *Service) LatestRisk() *Risk { return s.risk.cur.Load() }

// Risk returns the risk of the current version, computing it when the
// worker has not yet; nil when no plan is published.
func (s *Service) Risk(ctx context.Context) (*Risk, error) {
	k, _, ok := s.riskKey(ctx)
	if !ok {
		return nil, nil
	}
	if r := s.risk.cur.Load(); r != nil && r.key == k {
		return r, nil
	}
	rs := &s.risk
	rs.mu.Lock()
	defer rs.mu.Unlock()
	// Taken again under the lock: the worker may have got there, or the
	// version moved on while this waited.
	k, sc, ok := s.riskKey(ctx)
	if !ok {
		return nil, nil
	}
	if r := rs.cur.Load(); r != nil && r.key == k {
		return r, nil
	}
	r, err := s.computeRisk(ctx, k, sc)
	if err != nil {
		return nil, err
	}
	rs.cur.Store(r)
	s.showRisk(r)
	return r, nil
}

// riskKey returns the key of the current version and its scene; false
// when there is no published plan or no scene yet.
func (s *Service) riskKey(ctx context.Context) (riskKey, *tiles.Scene, bool) {
	// Generations before the clock: a batch applied in between makes the
	// key stale, never a stale risk current.
	k, sc, ok := s.keyParts()
	if !ok {
		return riskKey{}, nil, false
	}
	k.at = s.feedTime(ctx)
	return k, sc, true
}

// feedTime is the time the change feed recorded for the entry at the
// current version: the follower notes it as it reads (noteFeedTime);
// after a load it is read from the feed once. An empty feed, or one that
// no longer has the entry, gives the clock's time.
func (s *Service) feedTime(ctx context.Context) time.Time {
	v := s.Version()
	if c := s.risk.clock.Load(); c != nil && c.seq == v {
		return c.at
	}
	at := time.Now().UTC()
	if v > 0 {
		ch, err := s.store.Changes(data.ReadAtLeast(ctx, v), data.ChangeQuery{After: v - 1, UpTo: v, Limit: 1})
		switch {
		case err != nil:
			s.log.Warn("feed time not read; the risk is judged at the clock's time", "version", v, "err", err)
		case len(ch) == 1 && ch[0].Seq == v:
			at = ch[0].At.UTC()
		}
	}
	s.risk.clock.Store(&feedClock{seq: v, at: at})
	return at
}

// noteFeedTime records the feed time of entry seq, read by the follower.
func (s *Service) noteFeedTime(seq int64, at time.Time) {
	s.risk.clock.Store(&feedClock{seq: seq, at: at.UTC()})
}

// kickRisk asks the risk worker to compute the risk of the version just
// applied.
func (s *Service) kickRisk() {
	select {
	case s.risk.kick <- struct{}{}:
	default:
	}
}

// riskLoop computes the risk each time the follower applied a batch, until
// ctx ends. Requests after one change are merged into one computation.
func (s *Service) riskLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.risk.kick:
		}
		if _, err := s.Risk(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("grid risk not computed; the previous one stays until the next change", "err", err)
		}
	}
}

// riskForTiles makes the scene's grids show the current version's risk
// before a grid tile is drawn, so that a grid tile is a function of the
// version like every other. It never reads the store itself (a stalled
// store must not hang a tile, DESIGN "Live state"): it asks the worker and
// waits for it at most riskTileWait, then draws the last risk shown; the
// worker's result drops the grid tiles whose level changed, so a tile
// drawn with an older risk is drawn again once the risk is in.
func (s *Service) riskForTiles(ctx context.Context) {
	deadline := time.Now().Add(riskTileWait)
	for {
		if k, ok := s.noIOKey(); !ok {
			return // no plan, no scene: nothing to draw the risk on
		} else if r := s.risk.cur.Load(); r != nil && r.key == k {
			return
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return
		}
		s.kickRisk()
		time.Sleep(5 * time.Millisecond)
	}
}

// riskTileWait bounds how long a grid tile waits for the risk worker.
const riskTileWait = 250 * time.Millisecond

// noIOKey is riskKey without a read of the store: with the feed time the
// follower noted for the current version, or the zero time (a key no risk
// has) when it noted none, such as right after a load.
func (s *Service) noIOKey() (riskKey, bool) {
	k, _, ok := s.keyParts()
	if c := s.risk.clock.Load(); ok && c != nil && c.seq == s.Version() {
		k.at = c.at
	}
	return k, ok
}

// keyParts is the key of the current version but its clock, and the scene
// it was taken from; false with no published plan or no scene yet.
func (s *Service) keyParts() (riskKey, *tiles.Scene, bool) {
	pp, sc := s.Published(), s.Scene()
	if pp == nil || sc == nil {
		return riskKey{}, nil, false
	}
	return riskKey{plan: pp, hazards: sc.Hazards, cameras: sc.Cameras, cameraGen: s.CameraGen(), householdGen: s.HouseholdGen()}, sc, true
}

// showRisk puts r's levels into the tile scene's grids layer as the
// attribute risk and drops the cached grid tiles of the grids whose level
// changed (every grid tile the first time a plan's risk is shown). The
// scene is swapped before the cache is invalidated, as for every write.
func (s *Service) showRisk(r *Risk) {
	ts := &s.tiles
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.scene == nil || ts.grids == nil || ts.plan != r.Plan {
		return // the plan changed since: its risk comes next
	}
	shown := &s.risk.shown
	levels := make([]int, len(r.Grids))
	for i, g := range r.Grids {
		levels[i] = g.Level
	}
	var dirty []tiles.Dirty
	if shown.plan != r.Plan || len(shown.levels) != len(levels) {
		dirty = append(dirty, tiles.Dirty{Layer: tiles.LayerGrids, All: true})
	} else {
		for i, l := range levels {
			if shown.levels[i] != l {
				dirty = append(dirty, tiles.Dirty{Layer: tiles.LayerGrids, Bound: r.Plan.Plan.Grids[i].Geometry.Bound()})
			}
		}
		if len(dirty) == 0 {
			return
		}
	}
	extra := make([][]tiles.Prop, len(levels))
	codes := make([]tiles.Prop, len(r.Rules.Levels))
	for i, l := range r.Rules.Levels {
		codes[i] = tiles.Prop{Key: "risk", Val: tiles.String(l.Code)}
	}
	for i, l := range levels {
		extra[i] = codes[l : l+1 : l+1]
	}
	ts.grids = ts.grids.WithExtra(extra)
	ts.scene = ts.scene.WithGrids(ts.grids)
	shown.plan, shown.levels = r.Plan, levels
	ts.cache.Invalidate(dirty...)
}

// riskEvent is an open event as the rules see it.
type riskEvent struct {
	Category string
	Kind     string // of its category in the taxonomy; "" when unknown
	Severity int
	Overdue  bool
}

// gridFacts is what the rules measure of one grid.
type gridFacts struct {
	Open []riskEvent
	// HotBin is the highest hot-spot bin (1–3) of the grid's cells; 0 for
	// none.
	HotBin int
	// HouseholdsShare is the share of the grid's households an online
	// camera covers; nil when it is not known (no cameras in the store,
	// no households in the grid, or no coverage rule).
	HouseholdsShare *float64
}

// computeRisk computes the risk for key k from the scene sc.
func (s *Service) computeRisk(ctx context.Context, k riskKey, sc *tiles.Scene) (*Risk, error) {
	start := time.Now()
	pp, rr, tax := k.plan, s.cfg.Risk, s.cfg.Taxonomy
	facts := make([]gridFacts, len(pp.Plan.Grids))
	// The coverage first: after start it is under way (warmCoverage), and
	// waiting for it here, rather than placing every hazard and running
	// the hotspot analysis beside it, leaves it the cores (docs/BENCHMARKS.md,
	// issue 20).
	var cov *Coverage
	if rr.Uses(data.MeasureCameraHouseholds) && s.cameraCount() > 0 {
		c, err := s.Coverage(ctx)
		if err != nil {
			return nil, err
		}
		cov = c
	}
	// The hazards are read where the scene has them: after a write,
	// HazardList would copy every one of them (a quarter of a GB at
	// province scale), kept with the scene and the risk's key.
	sc.EachHazard(func(h *data.Hazard) {
		if !h.Status.Open() {
			return
		}
		gi, ok := pp.Locator.Locate(h.Point)
		if !ok {
			return
		}
		ev := riskEvent{Category: h.Category, Severity: h.Severity}
		due, hasDue := h.DueAt, !h.DueAt.IsZero()
		if c, ok := tax.Category(h.Category); ok {
			ev.Kind = c.Kind
			if ev.Severity == 0 {
				ev.Severity = c.Severity
			}
			if !hasDue {
				due, hasDue = h.ReportedAt.Add(c.Deadline()), true
			}
		}
		ev.Overdue = hasDue && k.at.After(due)
		facts[gi].Open = append(facts[gi].Open, ev)
	})
	r := &Risk{Plan: pp, Rules: rr, AsOf: k.at, Grids: make([]GridRisk, len(facts)), key: k}
	if rr.Uses(data.MeasureHotspotBin) {
		bins, warn, err := s.gridHotBins(ctx, pp, sc, k.at)
		if err != nil {
			return nil, err
		}
		r.Hotspots = warn
		for i, b := range bins {
			facts[i].HotBin = b
		}
	}
	if cov != nil && cov.Plan == pp {
		for i, g := range cov.Grids {
			if g.Households > 0 {
				share := float64(g.HouseholdsCovered) / float64(g.Households)
				facts[i].HouseholdsShare = &share
			}
		}
	}
	for i := range facts {
		r.Grids[i] = evaluateRisk(rr, &facts[i])
	}
	r.Took = time.Since(start)
	return r, nil
}

// cameraCount returns how many cameras the service holds.
func (s *Service) cameraCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.cameras.byID)
}

// gridHotBins runs the rules' hotspot analysis (tiles.Hotspots, Gi* over
// the study area) on the hazards reported in its window before at, and
// returns each grid's highest hot-spot bin. A study area too large for the
// analysis gives no bins and a warning rather than an error: the other
// rules still apply.
func (s *Service) gridHotBins(ctx context.Context, pp *Plan, sc *tiles.Scene, at time.Time) ([]int, []string, error) {
	cfg := s.cfg.Risk.Hotspots
	q := tiles.HotspotQuery{Res: cfg.Res}
	if cfg.WindowDays > 0 {
		q.Since = at.AddDate(0, 0, -cfg.WindowDays)
	}
	res, err := sc.HotspotsNow(ctx, q)
	if data.ErrorCode(err) == data.EINVALID {
		return make([]int, len(pp.Plan.Grids)), []string{data.ErrorMessage(err)}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	cells, err := s.gridCellsOf(pp, cfg.Res)
	if err != nil {
		return nil, nil, err
	}
	bins := make([]int, len(pp.Plan.Grids))
	for _, c := range res.Cells {
		if c.Bin <= 0 {
			continue
		}
		for _, gi := range cells.byCell[c.Cell] {
			bins[gi] = max(bins[gi], c.Bin)
		}
	}
	return bins, res.Warnings, nil
}

// gridCellsOf returns the cells of resolution res that each grid of pp
// overlaps: those whose centre lies in the grid, or for a grid smaller
// than a cell (which may hold no centre) the cell holding the centre of
// its bounding box. Computed once per plan; the caller holds s.risk.mu.
//
// The cells are those of each grid's bounding box, filled as a rectangle,
// and each centre is placed in its grid by the plan's locator, as locate
// places a point: filling the outlines themselves, which follow streets
// with hundreds of vertices, was a second of CPU at 16× Montevideo's
// 10,976 grids, while the other work after a start waited for it.
func (s *Service) gridCellsOf(pp *Plan, res int) (*gridCells, error) {
	for _, c := range s.risk.cells {
		if c.print == pp.print && c.res == res {
			return c, nil
		}
	}
	gc := &gridCells{print: pp.print, res: res, byCell: map[h3.Cell][]int32{}}
	seen := map[h3.Cell]bool{}
	has := make([]bool, len(pp.Plan.Grids))
	for _, g := range pp.Plan.Grids {
		if len(g.Geometry) == 0 {
			continue
		}
		cs, err := spatial.PolygonToCells(g.Geometry.Bound().ToPolygon(), res)
		if err != nil {
			return nil, fmt.Errorf("risk: cells of grid %s: %w", g.Code, err)
		}
		for _, c := range cs {
			if seen[c] {
				continue
			}
			seen[c] = true
			p, err := spatial.CellCenter(c)
			if err != nil {
				return nil, fmt.Errorf("risk: cells of grid %s: %w", g.Code, err)
			}
			if gi, ok := pp.Locator.Locate(p); ok {
				gc.byCell[c] = append(gc.byCell[c], int32(gi))
				has[gi] = true
			}
		}
	}
	for i, g := range pp.Plan.Grids {
		if has[i] || len(g.Geometry) == 0 {
			continue
		}
		c, err := spatial.PointToCell(g.Geometry.Bound().Center(), res)
		if err != nil {
			return nil, fmt.Errorf("risk: cell of grid %s: %w", g.Code, err)
		}
		gc.byCell[c] = append(gc.byCell[c], int32(i))
	}
	s.risk.cells = append(s.risk.cells, gc)
	if len(s.risk.cells) > keptGridCells {
		s.risk.cells = s.risk.cells[1:]
	}
	return gc, nil
}

// evaluateRisk applies the rules to one grid's facts: its level is the
// highest any rule gives, its reasons the rules that gave a level above
// the lowest, highest level first, then in the rules' order.
func evaluateRisk(rr *data.RiskRules, f *gridFacts) GridRisk {
	base := len(rr.Levels) - 1
	out := GridRisk{Level: base}
	for i := range rr.Rules {
		rule := &rr.Rules[i]
		reason, ok := applyRule(rr, rule, f)
		if !ok || reason.Level >= base {
			continue
		}
		out.Reasons = append(out.Reasons, reason)
		out.Level = min(out.Level, reason.Level)
	}
	slices.SortStableFunc(out.Reasons, func(a, b RiskReason) int { return cmp.Compare(a.Level, b.Level) })
	return out
}

// applyRule measures f by rule and returns the level it gives; false when
// the measure is unknown for the grid (coverage without cameras or
// households).
func applyRule(rr *data.RiskRules, rule *data.RiskRule, f *gridFacts) (RiskReason, bool) {
	r := RiskReason{Rule: rule.ID, Measure: rule.Measure, Level: len(rr.Levels) - 1, MinSeverity: rule.MinSeverity, Kind: rule.Kind}
	switch rule.Measure {
	case data.MeasureOpenWeighted, data.MeasureOverdue:
		byCat := map[string]*CategoryCount{}
		for _, ev := range f.Open {
			if (rule.Measure == data.MeasureOverdue && !ev.Overdue) || !ruleKeeps(rule, ev) {
				continue
			}
			c := byCat[ev.Category]
			if c == nil {
				c = &CategoryCount{Category: ev.Category}
				byCat[ev.Category] = c
			}
			w := 1.0
			if rule.Measure == data.MeasureOpenWeighted {
				w = rule.Weight(ev.Severity)
			}
			c.N++
			c.Weight += w
			r.Value += w
		}
		for _, c := range byCat {
			r.Events = append(r.Events, *c)
		}
		slices.SortFunc(r.Events, func(a, b CategoryCount) int {
			if a.N != b.N {
				return cmp.Compare(b.N, a.N)
			}
			return cmp.Compare(a.Category, b.Category)
		})
	case data.MeasureHotspotBin:
		r.Value = float64(f.HotBin)
	case data.MeasureCameraHouseholds:
		if f.HouseholdsShare == nil {
			return r, false
		}
		r.Value = *f.HouseholdsShare
	default:
		return r, false
	}
	th, below := rule.Thresholds()
	r.Below = below
	// The highest level whose threshold the value reaches.
	for li, l := range rr.Levels {
		t, ok := th[l.Code]
		if !ok {
			continue
		}
		if (below && r.Value < t) || (!below && r.Value >= t) {
			r.Level, r.Threshold = li, t
			break
		}
	}
	return r, true
}

// ruleKeeps reports whether an event rule counts ev.
func ruleKeeps(rule *data.RiskRule, ev riskEvent) bool {
	switch {
	case rule.Kind != "" && ev.Kind != rule.Kind:
		return false
	case len(rule.Categories) > 0 && !slices.Contains(rule.Categories, ev.Category):
		return false
	case rule.MinSeverity > 0 && ev.Severity < rule.MinSeverity:
		return false
	}
	return true
}

// Text says the reason in lang ("zh" or "en") with the taxonomy's labels
// of categories. withCameras false leaves out the coverage figure itself
// (camera figures are for planners and admins), keeping the threshold.
func (r RiskReason) Text(lang string, tax *data.Taxonomy, withCameras bool) string {
	zh := lang == "zh"
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	cats := func() string {
		var parts []string
		for _, c := range r.Events {
			if zh {
				parts = append(parts, fmt.Sprintf("%s%d件", categoryLabel(tax, c.Category, true), c.N))
			} else {
				parts = append(parts, fmt.Sprintf("%d %s", c.N, categoryLabel(tax, c.Category, false)))
			}
		}
		if zh {
			return strings.Join(parts, "、")
		}
		return strings.Join(parts, ", ")
	}
	// The rule's narrowing: "严重程度≥3的", " of severity ≥ 3".
	var zhOf, enOf string
	if r.MinSeverity > 1 {
		zhOf, enOf = fmt.Sprintf("严重程度≥%d的", r.MinSeverity), fmt.Sprintf(" of severity ≥ %d", r.MinSeverity)
	}
	if r.Kind != "" {
		if k := slices.IndexFunc(tax.Kinds, func(k data.EventKind) bool { return k.Code == r.Kind }); k >= 0 {
			zhOf += tax.Kinds[k].Zh + "类"
			enOf += " (" + strings.ToLower(tax.Kinds[k].En) + ")"
		}
	}
	switch r.Measure {
	case data.MeasureOpenWeighted:
		if zh {
			return fmt.Sprintf("%s未办结事件按严重程度加权%s（≥%s）：%s", zhOf, num(r.Value), num(r.Threshold), cats())
		}
		return fmt.Sprintf("open events%s weighted by severity %s (≥ %s): %s", enOf, num(r.Value), num(r.Threshold), cats())
	case data.MeasureOverdue:
		n := int(r.Value)
		if len(r.Events) == 1 {
			c := r.Events[0].Category
			if zh {
				return fmt.Sprintf("%s超期%s事件%d件（≥%s）", zhOf, categoryLabel(tax, c, true), n, num(r.Threshold))
			}
			return fmt.Sprintf("%d overdue %s %s%s (≥ %s)", n, categoryLabel(tax, c, false), plural(n, "event", "events"), enOf, num(r.Threshold))
		}
		if zh {
			return fmt.Sprintf("%s超期事件%d件（≥%s）：%s", zhOf, n, num(r.Threshold), cats())
		}
		return fmt.Sprintf("%d overdue %s%s (≥ %s): %s", n, plural(n, "event", "events"), enOf, num(r.Threshold), cats())
	case data.MeasureHotspotBin:
		if zh {
			return fmt.Sprintf("热点等级+%d（≥+%s）", int(r.Value), num(r.Threshold))
		}
		return fmt.Sprintf("hotspot bin +%d (≥ +%s)", int(r.Value), num(r.Threshold))
	case data.MeasureCameraHouseholds:
		switch {
		case zh && withCameras:
			return fmt.Sprintf("视频覆盖户数%s < %s", percent(r.Value), percent(r.Threshold))
		case zh:
			return fmt.Sprintf("视频覆盖户数 < %s", percent(r.Threshold))
		case withCameras:
			return fmt.Sprintf("camera coverage of households %s < %s", percent(r.Value), percent(r.Threshold))
		}
		return fmt.Sprintf("camera coverage of households < %s", percent(r.Threshold))
	}
	return r.Rule
}

// categoryLabel is a category's label in the taxonomy, lower case in
// English; its code when the taxonomy does not have it.
func categoryLabel(tax *data.Taxonomy, code string, zh bool) string {
	c, ok := tax.Category(code)
	switch {
	case !ok:
		return code
	case zh:
		return c.Zh
	}
	return strings.ToLower(c.En)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// percent shows a share as a percentage with at most one decimal, rounded
// down, so that a share under a threshold never shows as equal to it.
func percent(v float64) string {
	return strconv.FormatFloat(math.Floor(v*1000+1e-9)/10, 'f', -1, 64) + "%"
}
