package tiles

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"github.com/paulmach/orb"

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
//
// This file holds a layer's records, its base and its reads;
// points_overlay.go the writes and compaction, points_render.go the drawing.

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
		out := make([]data.Hazard, 0, p.n)
		p.eachByFID(func(e fidEntry) { out = append(out, *e.r.hz) })
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
