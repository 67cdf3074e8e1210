package gridgen

import (
	"math"
	"slices"
	"sort"
	"sync/atomic"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Snapping grid edges to the streets (issue 16): the partition gives whole
// pieces to grids, so a boundary "along" a street is a staircase of cell
// edges within about a cell of it. Here the cells on and beside the
// boundary between two grids are cut by the street lines into faces, and a
// face on the far side of a street joins the grid across the street, so
// the boundary becomes the street's line.
//
// Exactness: every point where a street crosses a cell edge is computed by
// edgeCuts on the edge as both neighbouring pieces store it (the same two
// canonical end points) with the canonical segIntersect, and is inserted in
// the edge on both sides, whether or not the neighbour is split itself. So
// neighbouring faces still share bit-identical segments, link matches them
// exactly, and the union of a grid's faces (gridGeometry) still cancels
// every inner segment. Pieces clipped by the parent boundary are never
// split, so the parent's edge stays as buildCells drew it.
//
// Balance stays hard: households (and workload) move with their face, and a
// face moves only while both grids stay within ±10 % of the target, or no
// further from it than they already were; contiguity is kept by moving a
// face only to a grid it touches and only when its own grid stays one
// connected set of faces.
//
// Before the split, alignStreets moves whole pieces the same way (the
// partition's weights see streets only as far as the cell graph does; this
// measures the boundary as the report does), changing the partition's
// labels, so the plan's cells follow those moves.
//
// The plan keeps the partition's cells: a grid's Cells are the H3 cells of
// the pieces the partition (and alignStreets) gave it, which is what a
// redraw reads back, so an unchanged base gives the same partition and the
// same faces. Its polygon is those cells redrawn along the streets: near a
// street it may hold part of a neighbour's cell and miss part of its own
// (at most the far side of a street inside one boundary cell). Locate and
// tiles use the polygons.

// snapTol is the balance a face move may not break, in percent of the
// target (the report's ±10 %).
const snapTol = 10.0

// snapPasses bounds the sweeps over the movable faces; each sweep moves
// only faces that shorten the boundary off the streets, so it settles fast.
const snapPasses = 4

// alignPasses bounds the sweeps of alignStreets. It runs to a standstill
// (Liechtenstein, target 300: at most 11 sweeps in a parent, the last one
// moving nothing), which is what makes a redraw of an unchanged base
// stable: the base's labels are already where the sweeps stop.
const alignPasses = 50

// drawn is what a parent's grid polygons are drawn from: its pieces and the
// partition's labels, or the faces of those pieces split along the streets
// and their labels after snapping. members[g] are the pieces (faces) of
// grid g.
type drawn struct {
	pc      *parentCells
	labels  []int32
	members [][]int32
	// baseCodes, in a redraw, are the base plan's grid code of each
	// piece (face), for the households moved.
	baseCodes []string
}

// cutPt is a point where a street segment crosses a cell edge.
type cutPt struct {
	t   float64 // position along the edge, for sorting
	p   orb.Point
	seg int32 // the street segment
}

// edgeCuts returns where the streets cross segment a–b, in order from a to
// b. Symmetric in a and b up to that order: the street segments examined
// are those of the buckets of the segment's bounding box, and each point is
// computed by the canonical segIntersect.
func (ix *streetIndex) edgeCuts(a, b orb.Point, scratch []int32) ([]cutPt, []int32) {
	ids := scratch[:0]
	b0 := bucketOf(orb.Point{math.Min(a[0], b[0]), math.Min(a[1], b[1])})
	b1 := bucketOf(orb.Point{math.Max(a[0], b[0]), math.Max(a[1], b[1])})
	for x := b0[0]; x <= b1[0]; x++ {
		for y := b0[1]; y <= b1[1]; y++ {
			ids = append(ids, ix.buckets[[2]int32{x, y}]...)
		}
	}
	if len(ids) == 0 {
		return nil, ids
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out []cutPt
	dx, dy := b[0]-a[0], b[1]-a[1]
	for _, id := range ids {
		s := &ix.segs[id]
		x, ok := segIntersect(a, b, s.a, s.b)
		if !ok || x == a || x == b {
			continue
		}
		out = append(out, cutPt{(x[0]-a[0])*dx + (x[1]-a[1])*dy, x, id})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].t != out[j].t {
			return out[i].t < out[j].t
		}
		return lessPt(out[i].p, out[j].p)
	})
	// Two streets through one point of an edge give one vertex.
	out = slices.CompactFunc(out, func(x, y cutPt) bool { return x.p == y.p })
	return out, ids
}

// faceCells is a parent's pieces with the cells chosen for snapping split
// along the streets: pc holds the faces (a piece not split is one face of
// itself), of maps each face to its piece, and split marks the faces cut
// from a split piece, the only ones that may change grid.
type faceCells struct {
	pc    *parentCells
	of    []int32
	split []bool
}

// splitFaces splits the pieces of pc for which cut reports true along the
// streets of ix, and inserts the streets' crossing points in the edges
// between any two pieces of the set touched (the split pieces and their
// neighbours), so that every shared segment is the same on both sides. A
// piece is split only if it is a whole cell (not clipped by the parent) and
// a street runs across it from edge to edge; dead ends are pruned. ok is
// false if the faces did not link up exactly (then nothing may be drawn
// from them).
func splitFaces(pc *parentCells, ix *streetIndex, cut func(p int) bool) (fc *faceCells, ok bool) {
	n := len(pc.pieces)
	// Cut points of every segment of a candidate piece, and the candidates
	// a street crosses.
	splitting := make([]bool, n)
	var scratch []int32
	cuts := make(map[int32][][][]cutPt) // piece → ring → segment → cuts
	edgeCutsOf := func(p int32) [][][]cutPt {
		if c, ok := cuts[p]; ok {
			return c
		}
		pp := &pc.pieces[p]
		c := make([][][]cutPt, len(pp.poly))
		for ri, rg := range pp.poly {
			c[ri] = make([][]cutPt, len(rg.pts))
			for i := range rg.pts {
				c[ri][i], scratch = ix.edgeCuts(rg.pts[i], rg.pts[(i+1)%len(rg.pts)], scratch)
			}
		}
		cuts[p] = c
		return c
	}
	for p := range pc.pieces {
		pp := &pc.pieces[p]
		if !pp.full || len(pp.poly) != 1 || !cut(p) {
			continue
		}
		k := 0
		for _, cs := range edgeCutsOf(int32(p))[0] {
			k += len(cs)
		}
		splitting[p] = k >= 2
	}
	touched := slices.Clone(splitting)
	for p := range pc.pieces {
		if !splitting[p] {
			continue
		}
		for _, t := range pc.pieces[p].poly[0].tags {
			if t >= 0 {
				touched[t] = true
			}
		}
	}

	out := &parentCells{pieces: make([]piece, 0, n+n/8)}
	fc = &faceCells{pc: out, of: make([]int32, 0, n+n/8)}
	for p := range pc.pieces {
		pp := &pc.pieces[p]
		if !touched[p] {
			out.pieces = append(out.pieces, piece{cell: pp.cell, poly: relinkPoly(pp.poly, nil), full: pp.full, c: pp.c, hh: pp.hh, work: pp.work})
			fc.of = append(fc.of, int32(p))
			fc.split = append(fc.split, false)
			continue
		}
		pcuts := edgeCutsOf(int32(p))
		// Only edges to another touched piece take the cut points: the
		// piece across does the same, so both sides agree.
		use := func(ri, i int) []cutPt {
			t := pp.poly[ri].tags[i]
			if t < 0 || !touched[t] {
				return nil
			}
			return pcuts[ri][i]
		}
		if splitting[p] {
			if faces := splitCell(pp.poly[0], func(i int) []cutPt { return use(0, i) }, ix); len(faces) > 1 {
				for _, f := range faces {
					out.pieces = append(out.pieces, piece{cell: pp.cell, poly: f, c: polyCentroid(f[0].pts)})
					fc.of = append(fc.of, int32(p))
					fc.split = append(fc.split, true)
				}
				continue
			}
		}
		out.pieces = append(out.pieces, piece{cell: pp.cell, poly: relinkPoly(pp.poly, use), full: pp.full, c: pp.c, hh: pp.hh, work: pp.work})
		fc.of = append(fc.of, int32(p))
		fc.split = append(fc.split, false)
	}
	out.link()
	return fc, out.unmatched == pc.unmatched
}

// relinkPoly copies p with the cut points use gives inserted in its
// segments (use nil: none), every neighbour tag reset to be linked again,
// and the canonical vertex ids of the points that had them.
func relinkPoly(p poly, use func(ri, i int) []cutPt) poly {
	out := make(poly, len(p))
	for ri, rg := range p {
		var nr ring
		n := len(rg.pts)
		nr.pts = make([]orb.Point, 0, n)
		nr.tags = make([]int32, 0, n)
		if rg.vid != nil {
			nr.vid = make([]int32, 0, n)
		}
		for i := range n {
			var cs []cutPt
			if use != nil {
				cs = use(ri, i)
			}
			t := rg.tags[i]
			if t >= 0 {
				t = 0 // linked again
			}
			nr.pts = append(nr.pts, rg.pts[i])
			nr.tags = append(nr.tags, t)
			if rg.vid != nil {
				nr.vid = append(nr.vid, rg.vid[i])
			}
			for _, c := range cs {
				nr.pts = append(nr.pts, c.p)
				nr.tags = append(nr.tags, t)
				if rg.vid != nil {
					nr.vid = append(nr.vid, -1)
				}
			}
		}
		out[ri] = nr
	}
	return out
}

// splitCell cuts the convex counter-clockwise ring rg of a whole cell by
// the streets of ix into faces: a small planar arrangement of the cell's
// edges, with the cut points cutsOf gives for each (the very points its
// neighbours insert), and the street segments inside the cell, split where
// they cross each other. Street ends that lead nowhere (dead ends, a
// street that enters the cell and stops) are pruned, as they divide
// nothing. It returns the faces, counter-clockwise, with tags to be linked,
// or nil if the streets do not divide the cell or the arrangement does not
// add up to the cell.
func splitCell(rg ring, cutsOf func(i int) []cutPt, ix *streetIndex) []poly {
	hex := rg.pts
	n := len(hex)
	// The cell's boundary, cut at the street crossings.
	var segs []tseg
	onRing := map[orb.Point]bool{}
	segIDs := map[int32][]orb.Point{} // street segment → its crossings with the ring
	for i := range n {
		prev := hex[i]
		tag := rg.tags[i]
		if tag >= 0 {
			tag = 0
		}
		for _, c := range cutsOf(i) {
			segs = append(segs, tseg{prev, c.p, tag})
			onRing[c.p] = true
			segIDs[c.seg] = append(segIDs[c.seg], c.p)
			prev = c.p
		}
		segs = append(segs, tseg{prev, hex[(i+1)%n], tag})
	}
	if len(onRing) < 2 {
		return nil
	}
	// Street segments with an end inside the cell join those crossing it.
	bd := orb.MultiPoint(hex).Bound()
	b0, b1 := bucketOf(bd.Min), bucketOf(bd.Max)
	var cand []int32
	for x := b0[0]; x <= b1[0]; x++ {
		for y := b0[1]; y <= b1[1]; y++ {
			for _, id := range ix.buckets[[2]int32{x, y}] {
				s := &ix.segs[id]
				if _, ok := segIDs[id]; ok || insideConvex(hex, s.a) || insideConvex(hex, s.b) {
					cand = append(cand, id)
				}
			}
		}
	}
	slices.Sort(cand)
	cand = slices.Compact(cand)
	// Each street segment cut at its ring crossings, its ends inside the
	// cell and its crossings with the others; the parts inside are edges.
	type edge struct{ a, b orb.Point }
	var edges []edge
	seen := map[edge]bool{}
	for _, id := range cand {
		s := &ix.segs[id]
		dx, dy := s.b[0]-s.a[0], s.b[1]-s.a[1]
		var pts []split
		add := func(p orb.Point) { pts = append(pts, split{(p[0]-s.a[0])*dx + (p[1]-s.a[1])*dy, p}) }
		add(s.a)
		add(s.b)
		for _, p := range segIDs[id] {
			add(p)
		}
		for _, o := range cand {
			if o == id {
				continue
			}
			if x, ok := segIntersect(s.a, s.b, ix.segs[o].a, ix.segs[o].b); ok && insideConvex(hex, x) {
				add(x)
			}
		}
		sort.Slice(pts, func(i, j int) bool { return pts[i].t < pts[j].t })
		for k := 0; k+1 < len(pts); k++ {
			a, b := pts[k].p, pts[k+1].p
			if a == b {
				continue
			}
			m := orb.Point{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2}
			if !insideConvex(hex, m) {
				continue
			}
			// An end on the ring must be one of the ring's cut points,
			// or the edge would dangle off a point the ring does not have.
			if (!insideConvex(hex, a) && !onRing[a]) || (!insideConvex(hex, b) && !onRing[b]) {
				continue
			}
			e := edge{a, b}
			if lessPt(b, a) {
				e = edge{b, a}
			}
			if !seen[e] {
				seen[e] = true
				edges = append(edges, e)
			}
		}
	}
	// Prune dead ends: an edge with an end no other edge (or the ring)
	// continues.
	deg := map[orb.Point]int{}
	for p := range onRing {
		deg[p] = 2
	}
	for _, e := range edges {
		deg[e.a]++
		deg[e.b]++
	}
	live := make([]bool, len(edges))
	for i := range live {
		live[i] = true
	}
	for changed := true; changed; {
		changed = false
		for i, e := range edges {
			if live[i] && (deg[e.a] == 1 || deg[e.b] == 1) {
				live[i] = false
				deg[e.a]--
				deg[e.b]--
				changed = true
			}
		}
	}
	inner := 0
	for i, e := range edges {
		if live[i] {
			segs = append(segs, tseg{e.a, e.b, 0}, tseg{e.b, e.a, 0})
			inner++
		}
	}
	if inner == 0 {
		return nil
	}
	polys, ok := linkRings(segs)
	if !ok || len(polys) < 2 {
		return nil
	}
	// The faces must tile the cell: positive, and adding up to it.
	cellA := signedArea2(hex)
	sum := 0.0
	for _, p := range polys {
		a := signedArea2(p[0].pts)
		if a <= 0 {
			return nil
		}
		for _, h := range p {
			sum += signedArea2(h.pts)
		}
	}
	if math.Abs(sum-cellA) > 1e-9*cellA {
		return nil
	}
	// Cell vertices keep their canonical ids, for link.
	vid := make(map[orb.Point]int32, n)
	for i, p := range hex {
		if rg.vid != nil {
			vid[p] = rg.vid[i]
		}
	}
	for _, p := range polys {
		for ri := range p {
			r := &p[ri]
			r.vid = make([]int32, len(r.pts))
			for i, pt := range r.pts {
				if v, ok := vid[pt]; ok {
					r.vid[i] = v
				} else {
					r.vid[i] = -1
				}
			}
		}
	}
	return polys
}

// alignStreets moves whole pieces between the ng grids of a parent
// (labels, the partition's, changed in place; frozen, the grids a redraw
// locked) where that shortens the boundary between grids that is not
// within NearStreetM of a street, within balance and contiguity
// (moveFaces): the partition's own weights draw the cut to the streets
// only as far as the H3 cell graph sees them, this measures it as the
// report does. Pieces holding part of a unit move too: the unit's outline
// keeps it whole afterwards (unitfaces.go). The plan's cells follow: these
// are partition labels.
func (r *run) alignStreets(pc *parentCells, labels []int32, frozen []bool, target float64) {
	if !r.follow || len(frozen) < 2 {
		return
	}
	movable := make([]bool, len(pc.pieces))
	for i := range movable {
		movable[i] = true
	}
	r.moveFaces(pc.pieces, labels, movable, frozen, len(frozen), target, alignPasses)
}

// lockedLabels marks the labels of the grids a redraw locked (the base
// grids of their pieces are locked): those stay exactly as they are, so
// nothing moves out of them or into them, and their cells are not split.
func (r *run) lockedLabels(labels []int32, baseCodes []string, ng int) []bool {
	frozen := make([]bool, ng)
	if r.base == nil || len(r.base.locked) == 0 || baseCodes == nil {
		return frozen
	}
	for p, c := range baseCodes {
		if c != "" && r.base.locked[c] {
			frozen[labels[p]] = true
		}
	}
	return frozen
}

// snapToStreets draws the grids of parent pi along the streets: it splits
// the whole cells on and beside the boundary between grids where streets
// cross them (never those holding part of a unit, which stay whole), gives
// the faces their households and workload, and moves each face to the
// grid across a street where that shortens the boundary off the streets,
// within balance and contiguity. It updates the grids' households and
// workload and returns what their polygons are drawn from. Without streets
// to follow it returns the partition's pieces as they are.
func (r *run) snapToStreets(pi int, out *parentOut) drawn {
	d := r.snap(pi, out)
	out.drawn = d
	return d
}

func (r *run) snap(pi int, out *parentOut) drawn {
	pc, labels := out.pc, out.labels
	d := drawn{pc: pc, labels: labels, members: make([][]int32, len(out.grids)), baseCodes: out.baseCodes}
	for g := range out.grids {
		d.members[g] = out.grids[g].pieces
	}
	out.unitFaces = out.unitPieces
	if len(out.grids) < 2 || r.cuts == nil || (!r.follow && len(out.unitPieces) == 0) {
		return d
	}
	// The cells that may be split: along the streets, those on the
	// boundary between two grids or next to one; and every cell of a
	// small unit (unitfaces.go), so that a unit is its outline, not the
	// cells around it, and two units side by side share no face.
	n := len(pc.pieces)
	cand := make([]bool, n)
	if r.follow {
		edge := make([]bool, n)
		for p, t := range pcEdges(pc) {
			if labels[t] != labels[p] {
				edge[p] = true
			}
		}
		copy(cand, edge)
		for p, t := range pcEdges(pc) {
			if edge[t] {
				cand[p] = true
			}
		}
	}
	for ui, ps := range out.unitPieces {
		if smallUnit(&r.units[ui], out.meanGridM2) || r.follow && r.units[ui].mp != nil {
			for _, p := range ps {
				cand[p] = true
			}
		}
	}
	fc, ok := splitFaces(pc, r.cuts, func(p int) bool { return cand[p] })
	if !ok {
		out.warnings = append(out.warnings, "parent "+r.in.Parents[pi].Code+": faces along the streets and units did not link; grids drawn from whole cells")
		return d
	}
	r.faceWeights(pi, pc, fc)
	fl := make([]int32, len(fc.of))
	for f, p := range fc.of {
		fl[f] = labels[p]
	}
	var faceCodes []string
	if out.baseCodes != nil {
		faceCodes = r.faceBaseCodes(r.in.Parents[pi].Code, fc, out.baseCodes)
	}
	frozen := out.frozen
	movable := r.lockFaces(fc, labels, fl, out.baseCodes, faceCodes, frozen)
	unitFaces := r.unitFaceSets(fc, out.unitPieces)
	if r.follow {
		r.moveFaces(fc.pc.pieces, fl, movable, frozen, len(out.grids), out.target, snapPasses)
	}
	fixed, why, along := r.wholeUnits(fc.pc.pieces, fl, unitFaces, frozen, len(out.grids), out.target, out.meanGridM2)
	out.unitFaces, out.unitWhy, out.unitAlong = unitFaces, why, along
	if r.follow && len(why) < len(unitFaces) {
		for f := range movable {
			movable[f] = movable[f] && !fixed[f]
		}
		r.moveFaces(fc.pc.pieces, fl, movable, frozen, len(out.grids), out.target, snapPasses)
	}
	for g := range out.grids {
		out.grids[g].hh, out.grids[g].work = 0, 0
		d.members[g] = nil
	}
	for f, l := range fl {
		out.grids[l].hh += fc.pc.pieces[f].hh
		out.grids[l].work += fc.pc.pieces[f].work
		d.members[l] = append(d.members[l], int32(f))
	}
	d.pc, d.labels = fc.pc, fl
	d.baseCodes = faceCodes
	return d
}

// lockFaces gives the faces on the edge of a locked grid to the grid the
// base plan drew them in, and returns which faces may still move. A
// locked grid stays exactly as the base drew it, and the base drew its
// edge along the streets: the same cells split into the same faces (the
// split depends on the cell and the streets alone), so the faces the base
// moved into the locked grid, or out of it, are given back to where the
// base had them (faceCodes, by the base polygons), and none of them moves
// again.
func (r *run) lockFaces(fc *faceCells, labels, fl []int32, pieceCodes, faceCodes []string, frozen []bool) []bool {
	movable := slices.Clone(fc.split)
	if !slices.Contains(frozen, true) {
		return movable
	}
	labelOf := map[string]int32{} // base code → a label of this draw holding it
	for p, c := range pieceCodes {
		if _, ok := labelOf[c]; c != "" && !ok {
			labelOf[c] = labels[p]
		}
	}
	for f, p := range fc.of {
		l, ok := labelOf[faceCodes[f]]
		switch {
		case ok && frozen[l]:
			fl[f], movable[f] = l, false
		case frozen[labels[p]]:
			if ok {
				fl[f] = l
			}
			movable[f] = false
		}
	}
	return movable
}

// faceBaseCodes gives each face the base plan's code of the grid that held
// it: the base grid whose polygon holds a point inside the face
// (interiorPoint: a concave face's centroid may lie in its neighbour), as
// the base may have given a face, or a whole cell of a unit or moved to
// rebalance one (unitfaces.go), to another grid than its cell's; its
// piece's code when no polygon holds it.
func (r *run) faceBaseCodes(parent string, fc *faceCells, pieceCodes []string) []string {
	var grids []int // the base grids of the parent
	for gi, g := range r.base.plan.Grids {
		if g.ParentCode == parent {
			grids = append(grids, gi)
		}
	}
	bounds := make([]orb.Bound, len(grids))
	for i, gi := range grids {
		bounds[i] = r.base.plan.Grids[gi].Geometry.Bound()
	}
	out := make([]string, len(fc.of))
	for f, p := range fc.of {
		out[f] = pieceCodes[p]
		if out[f] == "" {
			continue
		}
		fp := &fc.pc.pieces[f]
		in, ok := interiorPoint(fp.poly, fp.c)
		if !ok {
			continue
		}
		for i, gi := range grids {
			g := &r.base.plan.Grids[gi]
			if bounds[i].Contains(in) && planar.MultiPolygonContains(g.Geometry, in) {
				out[f] = g.Code
				break
			}
		}
	}
	return out
}

// interiorPoint returns a point inside polygon p, away from its edges: the
// middle of the widest span inside p along the horizontal line through c
// (its centroid). ok is false for a polygon too thin to have one.
func interiorPoint(p poly, c orb.Point) (orb.Point, bool) {
	y := c[1]
	var xs []float64
	for _, rg := range p {
		n := len(rg.pts)
		for i := range n {
			a, b := rg.pts[i], rg.pts[(i+1)%n]
			if (a[1] > y) != (b[1] > y) { // half-open: a vertex on the line counts once
				xs = append(xs, a[0]+(y-a[1])*(b[0]-a[0])/(b[1]-a[1]))
			}
		}
	}
	slices.Sort(xs)
	best, bw := orb.Point{}, 0.0
	for i := 0; i+1 < len(xs); i += 2 {
		if w := xs[i+1] - xs[i]; w > bw {
			best, bw = orb.Point{(xs[i] + xs[i+1]) / 2, y}, w
		}
	}
	return best, bw > 0
}

// faceWeights gives the faces of every split piece the households whose
// points they hold (a point on a street line goes to the first face), and,
// with workload, the piece's other work by area.
func (r *run) faceWeights(pi int, pc *parentCells, fc *faceCells) {
	for f0 := 0; f0 < len(fc.of); {
		f1 := f0 + 1
		for f1 < len(fc.of) && fc.of[f1] == fc.of[f0] {
			f1++
		}
		lo, hi := f0, f1
		f0 = f1
		if !fc.split[lo] {
			continue
		}
		p := fc.of[lo]
		pp := &pc.pieces[p]
		faces := fc.pc.pieces[lo:hi]
		// A split piece is a whole cell, the only piece of its cell: the
		// cell's households this parent took are the piece's.
		for _, h := range r.householdsIn(pp.cell) {
			if atomic.LoadInt32(&r.owner[h]) != int32(pi) {
				continue
			}
			pt := r.hh[h].Point
			best := 0
			for i := range faces {
				if pointInPoly(faces[i].poly, pt) {
					best = i
					break
				}
			}
			faces[best].hh += int(r.hh[h].Households)
		}
		if !r.workload {
			continue
		}
		// The piece's work besides households (area, events, units)
		// shared by area; the rounding remainder to the largest face.
		extra := pp.work - workScale*pp.hh
		total, largest := 0.0, 0
		areas := make([]float64, len(faces))
		for i := range faces {
			areas[i] = signedArea2(faces[i].poly[0].pts)
			total += areas[i]
			if areas[i] > areas[largest] {
				largest = i
			}
		}
		left := extra
		for i := range faces {
			e := int(math.Round(float64(extra) * areas[i] / total))
			faces[i].work = workScale*faces[i].hh + e
			left -= e
		}
		faces[largest].work += left
	}
}

// moveFaces moves movable pieces (whole pieces, or faces of pieces split
// along the streets) of one parent, fl their grids (ng of them), to a
// neighbouring grid where that shortens the boundary between grids that
// is not within NearStreetM of a street, as long as both grids keep their
// balance (within ±10 % of target, or no further from it than they were)
// and the grid it leaves stays connected (it joins one it touches). Sweeps
// in piece order, at most passes of them, until one moves nothing.
func (r *run) moveFaces(pcs []piece, fl []int32, movable, frozen []bool, ng int, target float64, passes int) {
	w := make([]float64, ng)
	cnt := make([]int, ng)
	for f, l := range fl {
		w[l] += float64(r.weightOf(&pcs[f]))
		cnt[l]++
	}
	dev := func(x float64) float64 { return math.Abs(x-target) / target * 100 }
	fits := func(l int32, x float64) bool { return dev(x) <= math.Max(snapTol, dev(w[l]))+1e-9 }
	// The cost of each segment of a piece as boundary, measured when the
	// piece first lies on one: its length off the streets, and a
	// hundredth of its length, so that of two boundaries equally along the
	// streets the shorter is kept.
	cost := make([][][]float64, len(pcs))
	costOf := func(f int) [][]float64 {
		if cost[f] != nil {
			return cost[f]
		}
		c := make([][]float64, len(pcs[f].poly))
		for ri, rg := range pcs[f].poly {
			c[ri] = make([]float64, len(rg.pts))
			for i, t := range rg.tags {
				if t < 0 {
					continue
				}
				total, near := r.streets.nearLength(rg.pts[i], rg.pts[(i+1)%len(rg.pts)])
				c[ri][i] = total - near + total/100
			}
		}
		cost[f] = c
		return c
	}
	g := faceGraph{pcs: pcs, fl: fl, seen: make([]int32, len(pcs))}
	// connectedWithout reports whether grid l's pieces stay one connected
	// set without piece f.
	var nb []int32
	connectedWithout := func(l int32, f int32) bool {
		// Every other piece of l reaches one of f's neighbours in l
		// without passing f, so l stays connected if those neighbours
		// are: most often they touch each other around f, and the search
		// of the whole grid is needed only when they do not.
		nb = nb[:0]
		for _, rg := range pcs[f].poly {
			for _, t := range rg.tags {
				if t >= 0 && fl[t] == l && !slices.Contains(nb, t) {
					nb = append(nb, t)
				}
			}
		}
		if len(nb) == 0 {
			return false
		}
		if localConnected(pcs, nb) {
			return true
		}
		return g.reach(nb[0], l, f) == cnt[l]-1
	}
	gain := map[int32]float64{}
	for range passes {
		moved := false
		for f := range pcs {
			a := fl[f]
			if !movable[f] || frozen[a] {
				continue
			}
			other := false
			for _, rg := range pcs[f].poly {
				for _, t := range rg.tags {
					other = other || t >= 0 && fl[t] != a
				}
			}
			if !other {
				continue
			}
			c := costOf(f)
			clear(gain)
			stay := 0.0 // boundary to its own grid after any move
			for ri, rg := range pcs[f].poly {
				for i, t := range rg.tags {
					if t < 0 {
						continue
					}
					if fl[t] == a {
						stay += c[ri][i]
					} else if !frozen[fl[t]] {
						gain[fl[t]] += c[ri][i]
					}
				}
			}
			best, bestG := int32(-1), 1e-6
			for l, g := range gain {
				if g -= stay; g > bestG || (g == bestG && l < best) {
					best, bestG = l, g
				}
			}
			if best < 0 {
				continue
			}
			wf := float64(r.weightOf(&pcs[f]))
			if !fits(a, w[a]-wf) || !fits(best, w[best]+wf) || cnt[a] < 2 || !connectedWithout(a, int32(f)) {
				continue
			}
			fl[f] = best
			w[a] -= wf
			w[best] += wf
			cnt[a]--
			cnt[best]++
			moved = true
		}
		if !moved {
			break
		}
	}
}

// localConnected reports whether pieces nb are connected through their own
// shared segments alone.
func localConnected(pcs []piece, nb []int32) bool {
	if len(nb) == 1 {
		return true
	}
	reached := uint64(1) // bit i: nb[i]; nb is at most a few dozen
	if len(nb) > 64 {
		return false
	}
	for grew := true; grew; {
		grew = false
		for i, v := range nb {
			if reached&(1<<i) == 0 {
				continue
			}
			for _, rg := range pcs[v].poly {
				for _, t := range rg.tags {
					if j := slices.Index(nb, t); j >= 0 && reached&(1<<j) == 0 {
						reached |= 1 << j
						grew = true
					}
				}
			}
		}
	}
	return reached == 1<<len(nb)-1
}
