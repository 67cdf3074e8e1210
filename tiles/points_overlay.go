package tiles

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// This file holds how a point layer follows writes: the overlay a write
// derives, the batches of changes a lineage replays, and the compaction of
// base and overlay into a new base.

// pointTuning sets when a point layer compacts. Tests lower it.
var pointTuning = struct {
	minCompact int // overlay size that always allows a compaction
	maxCompact int // overlay size that always asks for one
	syncBelow  int // layers smaller than this compact in the caller
	hardFactor int // at hardFactor·compactAt a write waits for a running compaction
}{minCompact: 64, maxCompact: 2048, syncBelow: 1 << 15, hardFactor: 4}

// compactAt is the overlay size (puts and deletes) at which a layer with a
// base of n points compacts: a sixteenth of the base, so that a merge
// costs 16 point copies per change; but at most maxCompact, as each write
// copies the overlay and each read merges it (above 32,768 points a merge
// then costs n/2048 copies per change, in the background).
func compactAt(n int) int {
	return max(pointTuning.minCompact, min(pointTuning.maxCompact, n/16))
}

// lineage is shared by the Points derived from one base: it runs at most
// one background compaction of them at a time.
type lineage struct {
	mu   sync.Mutex
	from *Points       // being (or been) compacted; nil when none started
	done chan struct{} // closed once base is set
	base *pointBase    // from, compacted
}

// batch is one call's changes, linked to the changes before it.
type batch struct {
	parent *batch
	depth  int // batches since the base, this one included
	put    []pointItem
	del    []int64
}

// WithHazards returns the layer with the hazards put (inserted, or
// replacing the hazard of the same FID) and the FIDs del deleted; a FID in
// both ends up put. p is unchanged. It costs O(k·log n) for k changes plus
// a copy of the overlay of changes since the last compaction, which stays
// below a few thousand points: compaction, O(n), runs in the background
// for large layers. A nil p is an empty hazard layer.
func (p *Points) WithHazards(put []data.Hazard, del []int64) *Points {
	q, _ := p.withHazards(put, del)
	return q
}

// WithCameras is WithHazards for cameras.
func (p *Points) WithCameras(put []data.Camera, del []int64) *Points {
	q, _ := p.withCameras(put, del)
	return q
}

func (p *Points) withHazards(put []data.Hazard, del []int64) (*Points, []pointItem) {
	if p == nil {
		p = HazardPoints(nil)
	}
	if p.base.kind != kindHazards {
		panic("tiles: WithHazards on a camera layer")
	}
	items := make([]pointItem, len(put))
	recs := slices.Clone(put) // the caller may reuse put
	for i := range recs {
		items[i] = pointItem{m: project(recs[i].Point), r: rec{hz: &recs[i]}}
	}
	q, removed := p.apply(items, del)
	return q.settle(), removed
}

func (p *Points) withCameras(put []data.Camera, del []int64) (*Points, []pointItem) {
	if p == nil {
		p = CameraPoints(nil)
	}
	if p.base.kind != kindCameras {
		panic("tiles: WithCameras on a hazard layer")
	}
	items := make([]pointItem, len(put))
	recs := make([]camRec, len(put))
	for i, c := range put {
		recs[i] = newCamRec(c)
		items[i] = pointItem{m: project(c.Point), r: rec{cam: &recs[i]}}
	}
	q, removed := p.apply(items, del)
	return q.settle(), removed
}

// apply derives the layer with put and del applied on the same base, and
// returns the points the change removed (deleted, or replaced by put).
func (p *Points) apply(put []pointItem, del []int64) (*Points, []pointItem) {
	keys := make([]int64, 0, len(put)+len(del))
	keys = append(keys, del...)
	for _, it := range put {
		keys = append(keys, it.r.key())
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)

	// One put per FID, the last; in drawing order.
	put = slices.Clone(put)
	slices.SortStableFunc(put, func(a, b pointItem) int { return cmp.Compare(a.r.key(), b.r.key()) })
	w := 0
	for i := range put {
		if i+1 < len(put) && put[i].r.key() == put[i+1].r.key() {
			continue
		}
		put[w] = put[i]
		w++
	}
	put = put[:w]
	slices.SortFunc(put, func(a, b pointItem) int { return cmpPoint(a.m[0], a.r.key(), b.m[0], b.r.key()) })

	// The overlay without the FIDs touched, merged with put, in one copy.
	var removed []pointItem
	over := make([]pointItem, 0, len(p.over)+len(put))
	i, j := 0, 0
	for i < len(p.over) || j < len(put) {
		if j == len(put) || (i < len(p.over) && cmpPoint(p.over[i].m[0], p.over[i].r.key(), put[j].m[0], put[j].r.key()) < 0) {
			it := p.over[i]
			i++
			if _, hit := slices.BinarySearch(keys, it.r.key()); hit {
				removed = append(removed, it)
				continue
			}
			over = append(over, it)
		} else {
			over = append(over, put[j])
			j++
		}
	}

	b := p.base
	var died []int32
	for _, k := range keys {
		pos, ok := b.locate(k)
		if !ok {
			continue
		}
		if _, gone := slices.BinarySearch(p.dead, int32(pos)); gone {
			continue // replaced earlier: its successor was in the overlay
		}
		died = append(died, int32(pos))
		removed = append(removed, b.items[pos])
	}
	dead := p.dead
	if len(died) > 0 {
		slices.Sort(died)
		dead = make([]int32, 0, len(p.dead)+len(died))
		i, j := 0, 0
		for i < len(p.dead) || j < len(died) {
			if j == len(died) || (i < len(p.dead) && p.dead[i] < died[j]) {
				dead = append(dead, p.dead[i])
				i++
			} else {
				dead = append(dead, died[j])
				j++
			}
		}
	}

	q := &Points{base: b, over: over, dead: dead, lin: p.lin, reach: p.reach}
	q.n = len(b.items) - len(dead) + len(over)
	if p.n > 0 {
		q.bound = p.bound
	}
	for k, it := range put {
		pt := it.r.point()
		if k == 0 && p.n == 0 {
			q.bound = pt.Bound()
		}
		q.bound = q.bound.Extend(pt)
		if it.r.cam != nil {
			q.reach = math.Max(q.reach, it.r.cam.reach)
		}
	}
	if q.n == 0 {
		q.bound = orb.Bound{}
	}
	depth := 1
	if p.hist != nil {
		depth = p.hist.depth + 1
	}
	q.hist = &batch{parent: p.hist, depth: depth, put: put, del: keys}
	return q, removed
}

// settle compacts q when its overlay has grown: adopts a finished
// background compaction of one of its ancestors, starts one, or, for a
// small layer, compacts at once.
func (q *Points) settle() *Points {
	lin := q.lin
	size := len(q.over) + len(q.dead)
	limit := compactAt(len(q.base.items))
	lin.mu.Lock()
	from, done, nb := lin.from, lin.done, lin.base
	if nb != nil && from.ancestorOf(q) {
		lin.mu.Unlock()
		return rebase(nb, from, q)
	}
	if size < limit {
		lin.mu.Unlock()
		return q
	}
	if from == nil {
		if len(q.base.items)+len(q.over) < pointTuning.syncBelow {
			lin.mu.Unlock()
			return fresh(compact(q))
		}
		lin.from, lin.done = q, make(chan struct{})
		lin.mu.Unlock()
		go func() {
			b := compact(q)
			lin.mu.Lock()
			lin.base = b
			lin.mu.Unlock()
			close(lin.done)
		}()
		return q
	}
	lin.mu.Unlock()
	if size < pointTuning.hardFactor*limit {
		return q
	}
	if from.ancestorOf(q) {
		// Writes outran the compaction: wait rather than let reads slow down.
		<-done
		lin.mu.Lock()
		nb = lin.base
		lin.mu.Unlock()
		return rebase(nb, from, q)
	}
	return fresh(compact(q)) // a branch off the lineage: rare
}

// ancestorOf reports whether q was derived from a (or is a).
func (a *Points) ancestorOf(q *Points) bool {
	if a.lin != q.lin {
		return false
	}
	if a.hist == nil {
		return true
	}
	h := q.hist
	for h != nil && h.depth > a.hist.depth {
		h = h.parent
	}
	return h == a.hist
}

// rebase returns q on nb, which is from compacted: the changes q has that
// from has not are replayed as one batch.
func rebase(nb *pointBase, from, q *Points) *Points {
	var bs []*batch
	for h := q.hist; h != from.hist; h = h.parent {
		bs = append(bs, h)
	}
	r := fresh(nb)
	if len(bs) == 0 {
		return r
	}
	last := map[int64]*pointItem{} // nil: deleted
	for i := len(bs) - 1; i >= 0; i-- {
		for _, k := range bs[i].del {
			last[k] = nil
		}
		for j := range bs[i].put {
			last[bs[i].put[j].r.key()] = &bs[i].put[j]
		}
	}
	put := make([]pointItem, 0, len(last))
	del := make([]int64, 0, len(last))
	for k, it := range last {
		del = append(del, k)
		if it != nil {
			put = append(put, *it)
		}
	}
	r, _ = r.apply(put, del)
	return r
}

// deadKeys returns the FIDs of p's dead base items, ascending.
func (p *Points) deadKeys() []int64 {
	keys := make([]int64, len(p.dead))
	for i, pos := range p.dead {
		keys[i] = p.base.items[pos].r.key()
	}
	slices.Sort(keys)
	return keys
}

// overByFID returns p's overlay in FID order.
func (p *Points) overByFID() []pointItem {
	ov := slices.Clone(p.over)
	slices.SortFunc(ov, func(a, b pointItem) int { return cmp.Compare(a.r.key(), b.r.key()) })
	return ov
}

// eachByFID calls fn with each of p's records in FID order: a merge of the
// base's live records and the overlay's, in O(n) without random access.
func (p *Points) eachByFID(fn func(e fidEntry)) {
	b := p.base
	dk, ov := p.deadKeys(), p.overByFID()
	d, i, j := 0, 0, 0
	for i < len(b.byFID) || j < len(ov) {
		if i < len(b.byFID) && d < len(dk) && b.byFID[i].fid == dk[d] {
			i++
			d++
			continue
		}
		if j == len(ov) || (i < len(b.byFID) && b.byFID[i].fid < ov[j].r.key()) {
			fn(b.byFID[i])
			i++
		} else {
			fn(fidEntry{fid: ov[j].r.key(), x: ov[j].m[0], r: ov[j].r})
			j++
		}
	}
}

// compact merges p's base and overlay into a new base: two merges of
// sorted sequences, in O(n) without random access.
func compact(p *Points) *pointBase {
	b := p.base
	nb := &pointBase{kind: b.kind, byFID: make([]fidEntry, 0, p.n), items: make([]pointItem, 0, p.n)}
	p.eachByFID(func(e fidEntry) { nb.byFID = append(nb.byFID, e) })
	d, i, j := 0, 0, 0
	for i < len(b.items) || j < len(p.over) {
		if i < len(b.items) && d < len(p.dead) && p.dead[d] == int32(i) {
			i++
			d++
			continue
		}
		if j == len(p.over) || (i < len(b.items) && b.before(i, &p.over[j])) {
			nb.items = append(nb.items, b.items[i])
			i++
		} else {
			nb.items = append(nb.items, p.over[j])
			j++
		}
	}
	nb.finish()
	return nb
}
