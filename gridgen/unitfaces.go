package gridgen

import (
	"math"
	"slices"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/wangge/wangge/data"
)

// Units kept whole by their outlines (issue 16, 单位覆盖). The partition
// keeps a small unit whole by contracting the cells it overlaps (units.go),
// which fails when those cells hold more households than a grid can take
// around them (a school in a dense block): the cells are a unit's
// neighbourhood, not the unit. So after the partition the cells a unit
// overlaps are cut along its outline, as they are along the streets
// (snap.go: the outlines are lines of the same cut index, so neighbouring
// faces still share exact edges), and a unit still split is made whole by
// moving the faces inside its outline, and only those, into one of its
// grids: with them go the households inside the unit, which are few even
// where the cells around it are crowded. The same rules as any face move
// hold: the grid it joins touches it, every grid it leaves stays one
// connected piece, and all of them stay within ±10 % of the target, or no
// further from it than they were. A unit no grid can take whole that way
// is named in the report with the reason.

// cutIndex is what faces are cut along: the streets when grids follow
// them (r.streets itself when there are no unit outlines, rather than a
// second index of the same lines), and the outlines of the polygon units.
// Nil when there is neither.
func (r *run) cutIndex(streets []data.Street) *streetIndex {
	var outlines []data.Street
	for _, u := range r.units {
		for _, poly := range u.mp {
			ml := make(orb.MultiLineString, 0, len(poly))
			for _, rg := range poly {
				ml = append(ml, orb.LineString(rg))
			}
			outlines = append(outlines, data.Street{ID: u.u.ID, Kind: "unit", Geometry: ml})
		}
	}
	switch {
	case len(outlines) == 0 && r.follow:
		return r.streets
	case r.follow:
		return newStreetIndex(append(slices.Clip(streets), outlines...))
	}
	return newStreetIndex(outlines)
}

// smallUnit reports whether a unit is one the plan keeps whole: a polygon
// smaller than a typical grid (a point unit lies in one face and is whole
// anyway). A typical grid is twice its parent's average: the average of a
// dense parent is well below the plan's median grid (Liechtenstein, res
// 10: a unit of 134,047 m² was larger than its parent's average grid and
// smaller than the median of 192,229 m²).
func smallUnit(u *unitInfo, meanGridM2 float64) bool {
	return u.mp != nil && u.areaM2 < 2*meanGridM2
}

// unitFaceSets returns, for every unit of unitPieces, the faces of fc
// that lie in it: a face not cut from its piece if the piece is the
// unit's, a face cut from one if it lies inside the unit's outline (a
// point inside the face is in the polygon, or the unit lies inside the
// holds the point.
func (r *run) unitFaceSets(fc *faceCells, unitPieces map[int][]int32) map[int][]int32 {
	if len(unitPieces) == 0 {
		return nil
	}
	faces := map[int32][]int32{} // piece → its faces
	for f, p := range fc.of {
		faces[p] = append(faces[p], int32(f))
	}
	out := make(map[int][]int32, len(unitPieces))
	for ui, ps := range unitPieces {
		u := &r.units[ui]
		var fs []int32
		for _, p := range ps {
			for _, f := range faces[p] {
				if !fc.split[f] || faceInUnit(&fc.pc.pieces[f], u) {
					fs = append(fs, f)
				}
			}
		}
		if len(fs) > 0 {
			out[ui] = fs
		}
	}
	return out
}

// faceInUnit reports whether face fp lies in unit u: it was cut along
// the unit outlines, so it lies on one side of each, and a point inside it
// tells which (a vertex would not: it may lie on the outline).
func faceInUnit(fp *piece, u *unitInfo) bool {
	if u.mp == nil {
		return pointInPoly(fp.poly, u.u.Geometry.(orb.Point))
	}
	in, ok := interiorPoint(fp.poly, fp.c)
	return ok && u.bound.Contains(in) && planar.MultiPolygonContains(u.mp, in)
}

// wholeUnits moves the faces of each small unit split between grids into
// one of them (fl, the faces' grids, changed in place), smallest unit
// first, trying its grids in the order of how much of the unit they hold;
// then, when the grids follow the streets, the same for each block of a
// larger unit (its faces between streets, streetBlocks), so that it is
// split only along streets. It returns which faces may no longer move
// (those of every unit placed, whole or not, so that following the
// streets does not split them again), for each unit left split, why, and
// the larger units split only along streets.
func (r *run) wholeUnits(pcs []piece, fl []int32, unitFaces map[int][]int32, frozen []bool, ng int, target, meanGridM2 float64) (fixed []bool, why map[int]string, along map[int]bool) {
	m := &unitMover{r: r, g: faceGraph{pcs: pcs, fl: fl, seen: make([]int32, len(pcs))},
		w: make([]float64, ng), cnt: make([]int, ng), fixed: make([]bool, len(pcs)), frozen: frozen, target: target}
	for f, l := range fl {
		m.w[l] += float64(r.weightOf(&pcs[f]))
		m.cnt[l]++
	}
	// fixed face → the faces kept whole with it (its unit's, and those of
	// the units it overlaps), an index into groups
	owner := make(map[int32]int, len(pcs)/8)
	var groups [][]int32
	why, along = map[int]string{}, map[int]bool{}
	type whole struct {
		unit  int
		faces []int32
		block bool // one of the unit's blocks between streets
	}
	var small, large []int
	for ui := range unitFaces {
		if smallUnit(&r.units[ui], meanGridM2) {
			small = append(small, ui)
		} else if r.follow && r.units[ui].mp != nil {
			large = append(large, ui)
		}
	}
	byArea := func(ids []int) {
		sort.Slice(ids, func(a, b int) bool {
			ua, ub := &r.units[ids[a]], &r.units[ids[b]]
			if ua.areaM2 != ub.areaM2 {
				return ua.areaM2 < ub.areaM2
			}
			return ids[a] < ids[b]
		})
	}
	byArea(small)
	byArea(large)
	var todo []whole
	for _, ui := range small {
		todo = append(todo, whole{ui, unitFaces[ui], false})
	}
	for _, ui := range large {
		along[ui] = true
		for _, b := range r.streetBlocks(pcs, unitFaces[ui]) {
			todo = append(todo, whole{ui, b, true})
		}
	}
	for i := 0; i < len(todo); i++ {
		t := todo[i]
		ui := t.unit
		// A unit that shares a face with units already kept whole (they
		// overlap, or one lies in the other) moves with them, so all stay
		// whole.
		fs := t.faces
		for grew := true; grew; {
			grew = false
			for _, f := range fs {
				if o, ok := owner[f]; ok && !isSubset(groups[o], fs) {
					fs = mergeSorted(fs, groups[o])
					grew = true
					break
				}
			}
		}
		// How much of the unit each grid holds, by area.
		share := map[int32]float64{}
		uw := 0.0
		for _, f := range fs {
			share[fl[f]] += math.Abs(signedArea2(pcs[f].poly[0].pts))
			uw += float64(r.weightOf(&pcs[f]))
		}
		if len(share) > 1 {
			dests := make([]int32, 0, len(share))
			for l := range share {
				dests = append(dests, l)
			}
			sort.Slice(dests, func(a, b int) bool {
				if share[dests[a]] != share[dests[b]] {
					return share[dests[a]] > share[dests[b]]
				}
				return dests[a] < dests[b]
			})
			moved := false
			reason := "balance"
			for _, d := range dests {
				ok, rs := m.tryUnit(fs, d)
				if ok {
					moved = true
					break
				}
				if rs != "balance" {
					reason = rs
				}
			}
			switch {
			case moved:
			case t.block:
				along[ui] = false // a block stays split
			case uw > (1+snapTol/100)*target:
				// No grid may hold it: split it along the streets
				// through it, if any, keeping each block whole.
				why[ui] = "heavy"
				if r.follow {
					if bs := r.streetBlocks(pcs, t.faces); len(bs) > 1 {
						along[ui] = true
						for _, b := range bs {
							todo = append(todo, whole{ui, b, true})
						}
						continue
					}
				}
			default:
				why[ui] = reason
			}
		}
		for _, f := range fs {
			m.fixed[f] = true
			owner[f] = len(groups)
		}
		groups = append(groups, fs)
	}
	return m.fixed, why, along
}

// streetBlocks divides the faces fs of a larger unit into its blocks: the
// sets of faces connected through shared segments that do not lie on a
// street, river or railway. A unit split between its blocks is split only
// along streets.
func (r *run) streetBlocks(pcs []piece, fs []int32) [][]int32 {
	block := make(map[int32]int, len(fs))
	var out [][]int32
	for _, f0 := range fs {
		if _, ok := block[f0]; ok {
			continue
		}
		b := []int32{f0}
		block[f0] = len(out)
		for i := 0; i < len(b); i++ {
			for _, rg := range pcs[b[i]].poly {
				for j, t := range rg.tags {
					if t < 0 {
						continue
					}
					if _, ok := block[t]; ok {
						continue
					}
					if _, in := slices.BinarySearch(fs, t); !in {
						continue
					}
					if r.streets.onLine(rg.pts[j], rg.pts[(j+1)%len(rg.pts)]) {
						continue
					}
					block[t] = len(out)
					b = append(b, t)
				}
			}
		}
		slices.Sort(b)
		out = append(out, b)
	}
	return out
}

// unitMover is wholeUnits' state: the faces' grids, each grid's weight and
// face count, the faces no move may take (those of units already placed)
// and the moves made for the unit under way, to undo them.
type unitMover struct {
	r      *run
	g      faceGraph
	w      []float64
	cnt    []int
	fixed  []bool
	frozen []bool
	target float64
	before []float64 // each grid's weight before the unit under way
	log    []faceMove
	taken  map[int32]bool // faces moved for the unit under way
}

type faceMove struct{ f, from int32 }

// maxRebalance bounds the faces moved to rebalance one grid, and
// rebalanceDepth how far a chain of grids passing households along may
// reach.
const (
	maxRebalance   = 64
	rebalanceDepth = 2
)

func (m *unitMover) move(f, to int32) {
	from := m.g.fl[f]
	x := float64(m.r.weightOf(&m.g.pcs[f]))
	m.w[from] -= x
	m.w[to] += x
	m.cnt[from]--
	m.cnt[to]++
	m.g.fl[f] = to
	m.log = append(m.log, faceMove{f, from})
	m.taken[f] = true
}

func (m *unitMover) undo(reason string) (bool, string) {
	m.undoTo(0)
	return false, reason
}

// undoTo undoes the moves after the first n of the log.
func (m *unitMover) undoTo(n int) {
	for i := len(m.log) - 1; i >= n; i-- {
		mv := m.log[i]
		to := m.g.fl[mv.f]
		x := float64(m.r.weightOf(&m.g.pcs[mv.f]))
		m.w[to] -= x
		m.w[mv.from] += x
		m.cnt[to]--
		m.cnt[mv.from]++
		m.g.fl[mv.f] = mv.from
		delete(m.taken, mv.f)
	}
	m.log = m.log[:n]
}

// fits reports whether grid l at weight x keeps its balance: within ±10 %
// of the target, or no further from it than before the unit under way.
func (m *unitMover) fits(l int32, x float64) bool {
	dev := func(x float64) float64 { return math.Abs(x-m.target) / m.target * 100 }
	return dev(x) <= math.Max(snapTol, dev(m.before[l]))+1e-9
}

// tryUnit moves the faces fs of one unit that are not in grid d into d if
// every rule allows it, and reports whether it did; if not, which rule
// refused: locked (a grid a redraw locked), not_connected (the unit and d
// would not be one piece, or it would empty a grid) or balance. A grid
// the unit leaves keeps its largest connected part: a pocket the unit cut
// off from it (a yard behind a school) goes with the unit, as it touches
// nothing else of that grid. A grid out of balance afterwards gives faces
// on its edge to its neighbours, or takes some from them (rebalance).
func (m *unitMover) tryUnit(fs []int32, d int32) (bool, string) {
	if m.frozen[d] {
		return false, "locked"
	}
	m.before = append(m.before[:0], m.w...)
	m.log = m.log[:0]
	m.taken = make(map[int32]bool, len(fs)) // the unit's faces stay, wherever they are
	for _, f := range fs {
		m.taken[f] = true
	}
	for _, f := range fs {
		if l := m.g.fl[f]; l != d && m.frozen[l] {
			return false, "locked"
		}
	}
	for _, f := range fs {
		if m.g.fl[f] != d {
			m.move(f, d)
		}
	}
	var donors []int32
	for _, mv := range m.log {
		if !slices.Contains(donors, mv.from) {
			donors = append(donors, mv.from)
		}
	}
	for _, l := range donors {
		comps := m.g.components(l)
		if len(comps) == 0 {
			return m.undo("not_connected")
		}
		keep, kw := 0, -1.0
		for i, c := range comps {
			cw := 0.0
			for _, f := range c {
				cw += float64(m.r.weightOf(&m.g.pcs[f]))
			}
			if cw > kw || (cw == kw && len(c) > len(comps[keep])) {
				keep, kw = i, cw
			}
		}
		for i, c := range comps {
			if i == keep {
				continue
			}
			for _, f := range c {
				if m.fixed[f] {
					return m.undo("not_connected") // the pocket holds another unit
				}
				m.move(f, d)
			}
		}
	}
	if !m.g.connected(d, m.cnt[d]) {
		return m.undo("not_connected")
	}
	for _, l := range append(donors, d) {
		if !m.fits(l, m.w[l]) && !m.rebalance(l, rebalanceDepth) {
			return m.undo("balance")
		}
	}
	for _, mv := range m.log {
		if !m.fits(mv.from, m.w[mv.from]) || !m.fits(m.g.fl[mv.f], m.w[m.g.fl[mv.f]]) {
			return m.undo("balance")
		}
	}
	m.log = m.log[:0]
	return true, ""
}

// rebalance moves faces across the edge of grid l, out of it if it is too
// heavy or into it if too light, one at a time, each to or from a
// neighbouring grid that stays connected and keeps its own balance or,
// depth grids away at most, regains it the same way (a chain of grids
// passing households along); faces of units and those moved for the unit
// under way stay. It reports whether l fits; when not, its moves are
// undone.
func (m *unitMover) rebalance(l int32, depth int) bool {
	start := len(m.log)
	for range maxRebalance {
		if m.fits(l, m.w[l]) {
			return true
		}
		shed := m.w[l] > m.target
		type cand struct {
			f, from, to int32
			gain        float64
			chain       bool // the other grid must rebalance in turn
		}
		var cs []cand
		for f, fl := range m.g.fl {
			if m.fixed[f] || m.taken[int32(f)] || m.frozen[fl] {
				continue
			}
			if shed && fl != l || !shed && fl == l {
				continue
			}
			x := float64(m.r.weightOf(&m.g.pcs[f]))
			if x == 0 {
				continue
			}
			for _, rg := range m.g.pcs[f].poly {
				for _, t := range rg.tags {
					if t < 0 {
						continue
					}
					o := m.g.fl[t]
					from, to, other := fl, o, o
					if !shed {
						from, to, other = fl, l, fl
						if o != l {
							continue
						}
					} else if o == l || m.frozen[o] {
						continue
					}
					ow := m.w[other] + x
					if !shed {
						ow = m.w[other] - x
					}
					chain := !m.fits(other, ow)
					if chain && depth == 0 {
						continue
					}
					nl := m.w[l] - x
					if !shed {
						nl = m.w[l] + x
					}
					if gain := math.Abs(m.w[l]-m.target) - math.Abs(nl-m.target); gain > 0 {
						cs = append(cs, cand{int32(f), from, to, gain, chain})
					}
				}
			}
		}
		sort.Slice(cs, func(a, b int) bool {
			if cs[a].chain != cs[b].chain {
				return !cs[a].chain
			}
			if cs[a].gain != cs[b].gain {
				return cs[a].gain > cs[b].gain
			}
			return cs[a].f < cs[b].f
		})
		moved, chains := false, 0
		for _, c := range cs {
			if m.g.fl[c.f] != c.from {
				continue
			}
			if c.chain {
				if chains == maxChains {
					break
				}
				chains++
			}
			cp := len(m.log)
			m.move(c.f, c.to)
			other := c.to
			if !shed {
				other = c.from
			}
			if m.cnt[c.from] > 0 && m.g.connected(c.from, m.cnt[c.from]) &&
				(!c.chain || m.rebalance(other, depth-1)) {
				moved = true
				break
			}
			m.undoTo(cp)
		}
		if !moved {
			break
		}
	}
	if m.fits(l, m.w[l]) {
		return true
	}
	m.undoTo(start)
	return false
}

// maxChains bounds the chains tried for one move of rebalance.
const maxChains = 3

// mergeSorted returns the sorted union of the sorted a and b.
func mergeSorted(a, b []int32) []int32 {
	out := make([]int32, 0, len(a)+len(b))
	out = append(append(out, a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// isSubset reports whether every element of a is in the sorted b.
func isSubset(a, b []int32) bool {
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			return false
		}
	}
	return true
}

// faceGraph answers whether a grid's faces are one connected set.
type faceGraph struct {
	pcs   []piece
	fl    []int32
	seen  []int32
	stamp int32
	stack []int32
}

// components returns the connected sets of grid l's faces, each from
// its lowest face.
func (g *faceGraph) components(l int32) [][]int32 {
	g.stamp++
	var out [][]int32
	for f, fl := range g.fl {
		if fl != l || g.seen[f] == g.stamp {
			continue
		}
		g.seen[f] = g.stamp
		c := []int32{int32(f)}
		for i := 0; i < len(c); i++ {
			for _, rg := range g.pcs[c[i]].poly {
				for _, t := range rg.tags {
					if t >= 0 && g.fl[t] == l && g.seen[t] != g.stamp {
						g.seen[t] = g.stamp
						c = append(c, t)
					}
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// connected reports whether the n faces of grid l are one connected set
// through their shared segments.
func (g *faceGraph) connected(l int32, n int) bool {
	start := slices.Index(g.fl, l)
	if start < 0 {
		return n == 0
	}
	return g.reach(int32(start), l, -1) == n
}

// reach returns how many faces of grid l are reached from face start (of
// l) through shared segments and faces of l alone, never through face
// skip (-1: none).
func (g *faceGraph) reach(start, l, skip int32) int {
	g.stamp++
	if skip >= 0 {
		g.seen[skip] = g.stamp
	}
	g.seen[start] = g.stamp
	g.stack = append(g.stack[:0], start)
	reached := 1
	for len(g.stack) > 0 {
		v := g.stack[len(g.stack)-1]
		g.stack = g.stack[:len(g.stack)-1]
		for _, rg := range g.pcs[v].poly {
			for _, t := range rg.tags {
				if t >= 0 && g.fl[t] == l && g.seen[t] != g.stamp {
					g.seen[t] = g.stamp
					reached++
					g.stack = append(g.stack, t)
				}
			}
		}
	}
	return reached
}
