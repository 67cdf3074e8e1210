package tiles

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// A point layer follows writes without being rebuilt. It is an immutable
// base, sorted by mercator x, plus a small overlay of the records put since
// (also sorted by x) and the base positions of the records deleted or
// replaced since; a tile reads one x range of each and merges them. Once
// the overlay passes compactAt records, base and overlay are merged into a
// new base: in the caller for small layers, in the background for large
// ones (a 960,000-point base takes tens of milliseconds to merge, which a
// write must not wait for). Each Points remembers the batches of changes
// since its base, so that the Points derived while a compaction ran can
// replay them onto the new base.
//
// Features are drawn in the order of mercator x, then FID, whatever the
// split between base and overlay: two replicas holding the same records
// draw the same bytes.

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

type pointKind uint8

const (
	kindHazards pointKind = iota + 1
	kindCameras
)

// camRec is a camera with its coverage sector, projected.
type camRec struct {
	c     data.Camera
	sec   []mpt     // open ring; nil when the camera has no sector
	reach float64   // how far the farthest sector point lies from the camera, per axis
	bound orb.Bound // of the camera and its sector
}

func newCamRec(c data.Camera) camRec {
	m := project(c.Point)
	r := camRec{c: c, bound: orb.Bound{Min: m, Max: m}}
	if sec := spatial.Sector(c.Point, c.Azimuth, c.FOV, c.RangeM, max(4, int(c.FOV/10))); len(sec) > 0 {
		ring := sec[0]
		r.sec = make([]mpt, 0, len(ring))
		for _, q := range ring[:len(ring)-1] {
			s := project(q)
			r.sec = append(r.sec, s)
			r.reach = math.Max(r.reach, math.Max(math.Abs(s[0]-m[0]), math.Abs(s[1]-m[1])))
			r.bound = r.bound.Extend(s)
		}
	}
	sectorReach.raise(r.reach)
	return r
}

// rec is one record of a point layer: exactly one of hz and cam is set.
type rec struct {
	hz  *data.Hazard
	cam *camRec
}

func (r rec) key() int64 {
	if r.hz != nil {
		return r.hz.FID
	}
	return r.cam.c.FID
}

func (r rec) point() orb.Point {
	if r.hz != nil {
		return r.hz.Point
	}
	return r.cam.c.Point
}

// featureID is the MVT id of the record: its FID, none when it has none.
func (r rec) featureID() uint64 {
	if k := r.key(); k > 0 {
		return uint64(k)
	}
	return 0
}

// pointItem is a point of a layer, projected, with its record.
type pointItem struct {
	m mpt
	r rec
}

// cmpPoint orders points by x, then FID: the order features are drawn in.
func cmpPoint(ax float64, ak int64, bx float64, bk int64) int {
	if c := cmp.Compare(ax, bx); c != 0 {
		return c
	}
	return cmp.Compare(ak, bk)
}

// fidEntry finds a base's record by FID, and its item by x.
type fidEntry struct {
	fid int64
	x   float64 // the item's m[0]
	r   rec
}

// pointBase is the immutable part of a point layer. Records are shared,
// not copied, by the bases compacted from it: a compaction moves items and
// index entries, which are small, not hazards.
type pointBase struct {
	kind  pointKind
	items []pointItem   // in x, then FID order
	byFID []fidEntry    // in FID order, one per FID
	list  []data.Hazard // the hazards in FID order, when the base was built from them
	bound orb.Bound     // lon/lat, of the records; meaningless when there are none
	reach float64       // the largest camera reach
}

// before reports whether items[i] is drawn before o.
func (b *pointBase) before(i int, o *pointItem) bool {
	if x := b.items[i].m[0]; x != o.m[0] {
		return x < o.m[0]
	}
	return b.items[i].r.key() < o.r.key()
}

// locate returns the position in items of the record with FID fid.
func (b *pointBase) locate(fid int64) (int, bool) {
	k, ok := slices.BinarySearchFunc(b.byFID, fid, func(e fidEntry, f int64) int { return cmp.Compare(e.fid, f) })
	if !ok {
		return 0, false
	}
	x := b.byFID[k].x
	i, _ := slices.BinarySearchFunc(b.items, x, func(it pointItem, x float64) int { return cmp.Compare(it.m[0], x) })
	for ; i < len(b.items) && b.items[i].m[0] == x; i++ {
		if b.items[i].r.key() == fid {
			return i, true
		}
	}
	return 0, false // not reached: every entry has its item
}

// index sorts items, which hold every record in FID order, and derives
// bound and reach.
func (b *pointBase) index() {
	sortItems(b.items)
	b.finish()
}

// sortItems sorts items that are in FID order by x, then FID. Large
// layers are radix sorted on x: a stable sort keeps the FID order of equal
// x, and takes a fifth of the time of a comparison sort at a million
// points.
func sortItems(items []pointItem) {
	if len(items) < 1<<12 {
		slices.SortStableFunc(items, func(x, y pointItem) int { return cmp.Compare(x.m[0], y.m[0]) })
		return
	}
	const bits = 16
	keys, tmpK := make([]uint64, len(items)), make([]uint64, len(items))
	tmp := make([]pointItem, len(items))
	for i, it := range items {
		keys[i] = sortableBits(it.m[0])
	}
	count := make([]int, 1<<bits)
	src, dst, srcK, dstK := items, tmp, keys, tmpK
	for shift := 0; shift < 64; shift += bits {
		clear(count)
		for _, k := range srcK {
			count[(k>>shift)&(1<<bits-1)]++
		}
		if count[(srcK[0]>>shift)&(1<<bits-1)] == len(srcK) {
			continue // every key has this digit
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for i, k := range srcK {
			d := (k >> shift) & (1<<bits - 1)
			dst[count[d]], dstK[count[d]] = src[i], k
			count[d]++
		}
		src, dst, srcK, dstK = dst, src, dstK, srcK
	}
	if &src[0] != &items[0] {
		copy(items, src)
	}
}

// sortableBits maps a float64 to a uint64 of the same order.
func sortableBits(f float64) uint64 {
	if f == 0 {
		f = 0 // −0 sorts with 0, as cmp.Compare has it
	}
	u := math.Float64bits(f)
	if u>>63 != 0 {
		return ^u
	}
	return u | 1<<63
}

// finish derives bound and reach from byFID.
func (b *pointBase) finish() {
	for i, e := range b.byFID {
		pt := e.r.point()
		if i == 0 {
			b.bound = pt.Bound()
		}
		b.bound = b.bound.Extend(pt)
		if e.r.cam != nil {
			b.reach = math.Max(b.reach, e.r.cam.reach)
		}
	}
}

// byFID returns rs in FID order with one record per FID, the last given;
// rs itself when it already is.
func byFID[R any](rs []R, fid func(*R) int64) []R {
	sorted := true
	for i := 1; i < len(rs) && sorted; i++ {
		sorted = fid(&rs[i-1]) < fid(&rs[i])
	}
	if sorted {
		return rs
	}
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b R) int { return cmp.Compare(fid(&a), fid(&b)) })
	w := 0
	for i := range out {
		if i+1 < len(out) && fid(&out[i]) == fid(&out[i+1]) {
			continue
		}
		out[w] = out[i]
		w++
	}
	return out[:w]
}

func hazardFID(h *data.Hazard) int64 { return h.FID }
func cameraFID(c *data.Camera) int64 { return c.FID }

// Points is a point layer (hazards or cameras) prepared for tiling. It is
// immutable and safe for concurrent use; WithHazards and WithCameras derive
// the layer after a write in time proportional to the write, leaving the
// original as it was.
//
// Records are keyed by FID, which is also their feature id: a layer holds
// one record per FID (the last given), and a record with FID ≤ 0 is drawn
// without an id.
type Points struct {
	base  *pointBase
	over  []pointItem // records put since base, in x then FID order
	dead  []int32     // positions in base.items deleted or replaced since base, ascending
	n     int         // points
	bound orb.Bound   // lon/lat; contains every point, may be larger after deletes
	reach float64     // at least the largest camera reach
	lin   *lineage
	hist  *batch // the changes since base, newest first

	listOnce sync.Once
	list     []data.Hazard
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

func fresh(b *pointBase) *Points {
	return &Points{base: b, n: len(b.items), bound: b.bound, reach: b.reach, lin: &lineage{}}
}

// HazardPoints prepares hazards for tiling. hz is kept, not copied, when
// it is in FID order without repeats: the caller must not change it.
func HazardPoints(hz []data.Hazard) *Points {
	hz = byFID(hz, hazardFID)
	b := &pointBase{kind: kindHazards, list: hz, items: make([]pointItem, len(hz)), byFID: make([]fidEntry, len(hz))}
	for i := range hz {
		m, r := project(hz[i].Point), rec{hz: &hz[i]}
		b.items[i] = pointItem{m: m, r: r}
		b.byFID[i] = fidEntry{fid: hz[i].FID, x: m[0], r: r}
	}
	b.index()
	return fresh(b)
}

// CameraPoints prepares cameras, and their coverage sectors, for tiling.
func CameraPoints(cs []data.Camera) *Points {
	cs = byFID(cs, cameraFID)
	recs := make([]camRec, len(cs))
	b := &pointBase{kind: kindCameras, items: make([]pointItem, len(cs)), byFID: make([]fidEntry, len(cs))}
	for i, c := range cs {
		recs[i] = newCamRec(c)
		m, r := project(c.Point), rec{cam: &recs[i]}
		b.items[i] = pointItem{m: m, r: r}
		b.byFID[i] = fidEntry{fid: c.FID, x: m[0], r: r}
	}
	b.index()
	return fresh(b)
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

// compact merges p's base and overlay into a new base: two merges of
// sorted sequences, in O(n) without random access.
func compact(p *Points) *pointBase {
	b := p.base
	nb := &pointBase{kind: b.kind, byFID: make([]fidEntry, 0, p.n), items: make([]pointItem, 0, p.n)}
	dk, ov := p.deadKeys(), p.overByFID()
	d := 0
	i, j := 0, 0
	for i < len(b.byFID) || j < len(ov) {
		if i < len(b.byFID) && d < len(dk) && b.byFID[i].fid == dk[d] {
			i++
			d++
			continue
		}
		if j == len(ov) || (i < len(b.byFID) && b.byFID[i].fid < ov[j].r.key()) {
			nb.byFID = append(nb.byFID, b.byFID[i])
			i++
		} else {
			nb.byFID = append(nb.byFID, fidEntry{fid: ov[j].r.key(), x: ov[j].m[0], r: ov[j].r})
			j++
		}
	}
	d = 0
	i, j = 0, 0
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

// Len returns the number of points.
func (p *Points) Len() int {
	if p == nil {
		return 0
	}
	return p.n
}

// Bound returns a lon/lat bound of the points; false when there are none.
// It contains every point, and is exact but for points deleted since the
// layer was last compacted, which may still widen it. It costs O(1).
func (p *Points) Bound() (orb.Bound, bool) {
	if p.Len() == 0 {
		return orb.Bound{}, false
	}
	return p.bound, true
}

// hazardList returns the hazards in FID order: those the layer was built
// from, or, after writes, merged once per layer.
func (p *Points) hazardList() []data.Hazard {
	if p == nil || p.base.kind != kindHazards {
		return nil
	}
	if p.base.list != nil && len(p.over) == 0 && len(p.dead) == 0 {
		return p.base.list
	}
	p.listOnce.Do(func() {
		b := p.base
		dk, ov := p.deadKeys(), p.overByFID()
		out := make([]data.Hazard, 0, p.n)
		d, i, j := 0, 0, 0
		for i < len(b.byFID) || j < len(ov) {
			if i < len(b.byFID) && d < len(dk) && b.byFID[i].fid == dk[d] {
				i++
				d++
				continue
			}
			if j == len(ov) || (i < len(b.byFID) && b.byFID[i].fid < ov[j].r.key()) {
				out = append(out, *b.byFID[i].r.hz)
				i++
			} else {
				out = append(out, *ov[j].r.hz)
				j++
			}
		}
		p.list = out
	})
	return p.list
}

// within calls fn for each point in the mercator box, in x then FID order.
func (p *Points) within(bx orb.Bound, fn func(m mpt, r rec)) {
	b := p.base
	items := b.items
	i, _ := slices.BinarySearchFunc(items, bx.Min[0], func(it pointItem, x float64) int { return cmp.Compare(it.m[0], x) })
	if len(p.over) == 0 && len(p.dead) == 0 {
		for ; i < len(items) && items[i].m[0] <= bx.Max[0]; i++ {
			if y := items[i].m[1]; y >= bx.Min[1] && y <= bx.Max[1] {
				fn(items[i].m, items[i].r)
			}
		}
		return
	}
	over, dead := p.over, p.dead
	j, _ := slices.BinarySearchFunc(over, bx.Min[0], func(it pointItem, x float64) int { return cmp.Compare(it.m[0], x) })
	d, _ := slices.BinarySearch(dead, int32(i))
	for {
		for d < len(dead) && dead[d] == int32(i) {
			i++
			d++
		}
		baseOK := i < len(items) && items[i].m[0] <= bx.Max[0]
		overOK := j < len(over) && over[j].m[0] <= bx.Max[0]
		var it *pointItem
		switch {
		case baseOK && (!overOK || b.before(i, &over[j])):
			it = &items[i]
			i++
		case overOK:
			it = &over[j]
			j++
		default:
			return
		}
		if y := it.m[1]; y >= bx.Min[1] && y <= bx.Max[1] {
			fn(it.m, it.r)
		}
	}
}

func (r rec) props(dst []Prop) []Prop {
	if h := r.hz; h != nil {
		return append(dst, Prop{"id", String(h.ID)}, Prop{"category", String(h.Category)}, Prop{"severity", Int(int64(h.Severity))},
			Prop{"status", String(string(h.Status))}, Prop{"reported_at", String(h.ReportedAt.UTC().Format(time.RFC3339))})
	}
	c := &r.cam.c
	return append(dst, Prop{"id", String(c.ID)}, Prop{"azimuth", Double(c.Azimuth)}, Prop{"fov", Double(c.FOV)},
		Prop{"range_m", Double(c.RangeM)}, Prop{"status", String(c.Status)})
}

// render draws the points of the frame into lw: each point from
// ClusterBelow up (with camera sectors from SectorZoom), clusters below.
func (p *Points) render(lw *LayerWriter, f frame, z int, sc *scratch) {
	if p.Len() == 0 {
		return
	}
	if z < ClusterBelow {
		p.renderClusters(lw, f, sc)
		return
	}
	if p.base.kind == kindCameras && z >= SectorZoom {
		// Sectors reach beyond their camera: search wider.
		pad := p.reach
		wide := orb.Bound{Min: orb.Point{f.bound.Min[0] - pad, f.bound.Min[1] - pad}, Max: orb.Point{f.bound.Max[0] + pad, f.bound.Max[1] + pad}}
		p.within(wide, func(_ mpt, r rec) {
			sec := r.cam.sec
			if sec == nil {
				return
			}
			sc.ring = sc.ring[:0]
			for _, m := range sec {
				sc.ring = append(sc.ring, f.tile(m))
			}
			sc.ring = append(sc.ring, sc.ring[0])
			ring := clip.Ring(orb.Bound{Min: orb.Point{-Buffer, -Buffer}, Max: orb.Point{Extent + Buffer, Extent + Buffer}}, sc.ring)
			if len(ring) < 4 {
				return
			}
			sc.pts = sc.pts[:0]
			for _, q := range ring[:len(ring)-1] {
				sc.pts = appendDistinct(sc.pts, 0, f.quantize(q))
			}
			for len(sc.pts) > 1 && sc.pts[0] == sc.pts[len(sc.pts)-1] {
				sc.pts = sc.pts[:len(sc.pts)-1]
			}
			a := area2(sc.pts)
			if a == 0 {
				return
			}
			if a < 0 {
				slices.Reverse(sc.pts)
			}
			sc.props = r.props(sc.props[:0])
			lw.AddPolygon(r.featureID(), [][]Point{sc.pts}, sc.props)
		})
	}
	p.within(f.bound, func(m mpt, r rec) {
		q := f.quantize(f.tile(m))
		if !inside(q) {
			return
		}
		sc.one[0] = q
		sc.props = r.props(sc.props[:0])
		lw.AddPoints(r.featureID(), sc.one[:], sc.props)
	})
}

// cluster accumulates the points of one bin.
type cluster struct {
	sx, sy float64
	n      int
	open   int // hazards open (data.Status.Open), cameras online
	maxSev int
	// cats counts the bin's hazards by category. Categories come from the
	// taxonomy in use, which the tiles do not know, so they are counted by
	// code: a bin seldom holds more than a few, and a linear scan of a
	// short slice beats a map.
	cats []catCount
}

// catCount is the number of a cluster's hazards of one category.
type catCount struct {
	code string
	n    int
}

// addCategory counts one hazard of category code.
func (c *cluster) addCategory(code string) {
	for i := range c.cats {
		if c.cats[i].code == code {
			c.cats[i].n++
			return
		}
	}
	c.cats = append(c.cats, catCount{code: code, n: 1})
}

// topCategory is the most common category of the cluster; of several
// equally common, the least code, so that the choice depends on the bin's
// hazards alone and not on the order they were met in or on a list of
// categories that a taxonomy change would reorder.
func (c *cluster) topCategory() string {
	best := catCount{}
	for _, k := range c.cats {
		if k.n > best.n || (k.n == best.n && k.code < best.code) {
			best = k
		}
	}
	return best.code
}

// renderClusters draws one point per non-empty bin at the mean position of
// its points. Bins are clusterBins to a tile side, aligned to the tile, so
// the bins of the buffer are whole bins of the neighbours and agree with
// them. Points are summed in drawing order, so a bin's mean is the same
// function of its points on every replica.
func (p *Points) renderClusters(lw *LayerWriter, f frame, sc *scratch) {
	const bin = Extent / clusterBins
	const side = clusterBins + 2 // one bin of buffer each side
	var bins [side * side]cluster
	wide := orb.Bound{
		Min: orb.Point{(f.x0 - bin) / f.scale, (f.y0 - bin) / f.scale},
		Max: orb.Point{(f.x0 + Extent + bin) / f.scale, (f.y0 + Extent + bin) / f.scale},
	}
	hazards := p.base.kind == kindHazards
	p.within(wide, func(m mpt, r rec) {
		t := f.tile(m)
		bx, by := int(math.Floor(t[0]/bin))+1, int(math.Floor(t[1]/bin))+1
		if bx < 0 || by < 0 || bx >= side || by >= side {
			return
		}
		c := &bins[by*side+bx]
		c.sx += t[0]
		c.sy += t[1]
		c.n++
		if hazards {
			h := r.hz
			if h.Status.Open() {
				c.open++
			}
			c.maxSev = max(c.maxSev, h.Severity)
			c.addCategory(h.Category)
		} else if r.cam.c.Status == "online" {
			c.open++
		}
	})
	for i := range bins {
		c := &bins[i]
		if c.n == 0 {
			continue
		}
		q := Point{int32(math.Round(c.sx / float64(c.n))), int32(math.Round(c.sy / float64(c.n)))}
		if !inside(q) {
			continue
		}
		sc.one[0] = q
		sc.props = append(sc.props[:0], Prop{"count", Int(int64(c.n))})
		if hazards {
			sc.props = append(sc.props, Prop{"open", Int(int64(c.open))}, Prop{"max_severity", Int(int64(c.maxSev))},
				Prop{"category", String(c.topCategory())})
		} else {
			sc.props = append(sc.props, Prop{"online", Int(int64(c.open))})
		}
		lw.AddPoints(0, sc.one[:], sc.props)
	}
}
