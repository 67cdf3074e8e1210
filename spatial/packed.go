package spatial

import (
	"cmp"
	"slices"

	"github.com/paulmach/orb"
)

// packed is a static R-tree of points, built at once from a list: the
// entries sorted in Hilbert order of their points and cut into leaves of
// packedNode entries, and each level's boxes made over packedNode boxes of
// the level below, up to one box. Building it is a sort: inserting a
// province's million hazards one by one into an R-tree was a third of a
// second of a start-up's CPU, and the tree twice the memory.
type packed[ID cmp.Ordered] struct {
	items  []PointItem[ID]
	levels [][]pbox // levels[0] boxes the leaves; the last level has one box
}

// pbox is a lon/lat box of a node of a packed tree.
type pbox struct{ min, max [2]float64 }

// extend grows b to hold o.
func (b *pbox) extend(o pbox) {
	b.min = [2]float64{min(b.min[0], o.min[0]), min(b.min[1], o.min[1])}
	b.max = [2]float64{max(b.max[0], o.max[0]), max(b.max[1], o.max[1])}
}

func (b pbox) overlaps(o orb.Bound) bool {
	return b.min[0] <= o.Max[0] && b.max[0] >= o.Min[0] && b.min[1] <= o.Max[1] && b.max[1] >= o.Min[1]
}

// packedNode is how many entries a leaf, and how many boxes a node, holds.
const packedNode = 16

// newPacked builds the tree of items (not changed). An (id, point) given
// more than once is held once.
func newPacked[ID cmp.Ordered](items []PointItem[ID]) packed[ID] {
	if len(items) == 0 {
		return packed[ID]{}
	}
	b := orb.Bound{Min: items[0].Point, Max: items[0].Point}
	for _, it := range items[1:] {
		b = b.Extend(it.Point)
	}
	// Each key is the entry's Hilbert index over a 2¹⁶ × 2¹⁶ grid of the
	// bound, above its position in items, so one sort of integers orders
	// the entries.
	keys := make([]uint64, len(items))
	for i, it := range items {
		keys[i] = uint64(hilbert(gridCoord(it.Point[0], b.Min[0], b.Max[0]), gridCoord(it.Point[1], b.Min[1], b.Max[1])))<<32 | uint64(i)
	}
	slices.Sort(keys)
	sorted := make([]PointItem[ID], 0, len(items))
	// Equal points have equal keys: a repeat is among the entries of the
	// run of its key (a map for a long run: thousands of reports at one
	// address).
	run, runKey := 0, ^uint64(0)
	var seen map[PointItem[ID]]bool
	for _, key := range keys {
		if key>>32 != runKey {
			run, runKey, seen = len(sorted), key>>32, nil
		}
		it := items[uint32(key)]
		switch {
		case seen != nil:
			if seen[it] {
				continue
			}
			seen[it] = true
		case len(sorted)-run >= 32:
			seen = make(map[PointItem[ID]]bool, 64)
			for _, o := range sorted[run:] {
				seen[o] = true
			}
			if seen[it] {
				continue
			}
			seen[it] = true
		case slices.Contains(sorted[run:], it):
			continue
		}
		sorted = append(sorted, it)
	}
	t := packed[ID]{items: sorted}
	level := make([]pbox, (len(sorted)+packedNode-1)/packedNode)
	for i := range level {
		lo, hi := i*packedNode, min((i+1)*packedNode, len(sorted))
		bx := pbox{sorted[lo].Point, sorted[lo].Point}
		for _, it := range sorted[lo+1 : hi] {
			bx.extend(pbox{it.Point, it.Point})
		}
		level[i] = bx
	}
	t.levels = append(t.levels, level)
	for len(level) > 1 {
		up := make([]pbox, (len(level)+packedNode-1)/packedNode)
		for i := range up {
			lo, hi := i*packedNode, min((i+1)*packedNode, len(level))
			bx := level[lo]
			for _, c := range level[lo+1 : hi] {
				bx.extend(c)
			}
			up[i] = bx
		}
		t.levels = append(t.levels, up)
		level = up
	}
	return t
}

// gridCoord places v of [lo, hi] on 0…65535.
func gridCoord(v, lo, hi float64) uint32 {
	if hi <= lo {
		return 0
	}
	return uint32((v - lo) / (hi - lo) * 65535)
}

// hilbert is the index of cell (x, y) along the Hilbert curve over a
// 2¹⁶ × 2¹⁶ grid.
func hilbert(x, y uint32) uint32 {
	var d uint32
	for s := uint32(1 << 15); s > 0; s >>= 1 {
		var rx, ry uint32
		if x&s != 0 {
			rx = 1
		}
		if y&s != 0 {
			ry = 1
		}
		d += s * s * ((3 * rx) ^ ry)
		if ry == 0 {
			if rx == 1 {
				x, y = s-1-x, s-1-y
			}
			x, y = y, x
		}
	}
	return d
}

// search calls fn with each entry inside b (edges included) until fn
// returns false, and reports whether it got to the end.
func (t *packed[ID]) search(b orb.Bound, fn func(it *PointItem[ID]) bool) bool {
	if len(t.items) == 0 {
		return true
	}
	return t.searchNode(len(t.levels)-1, 0, b, fn)
}

func (t *packed[ID]) searchNode(level, i int, b orb.Bound, fn func(it *PointItem[ID]) bool) bool {
	if !t.levels[level][i].overlaps(b) {
		return true
	}
	if level == 0 {
		for j := i * packedNode; j < min((i+1)*packedNode, len(t.items)); j++ {
			if b.Contains(t.items[j].Point) && !fn(&t.items[j]) {
				return false
			}
		}
		return true
	}
	for c := i * packedNode; c < min((i+1)*packedNode, len(t.levels[level-1])); c++ {
		if !t.searchNode(level-1, c, b, fn) {
			return false
		}
	}
	return true
}

// has reports whether the tree holds (id, p).
func (t *packed[ID]) has(id ID, p orb.Point) bool {
	found := false
	t.search(orb.Bound{Min: p, Max: p}, func(it *PointItem[ID]) bool {
		found = it.ID == id
		return !found
	})
	return found
}

// nearest calls fn with the entries in order of dist, nearest first, until
// fn returns false. dist gives an entry's distance (item true, min = max
// its point) or a lower bound of the distance to any point of a box.
func (t *packed[ID]) nearest(dist func(min, max [2]float64, item bool) float64, fn func(it *PointItem[ID], d float64) bool) {
	if len(t.items) == 0 {
		return
	}
	top := len(t.levels) - 1
	q := nearQueue{{d: dist(t.levels[top][0].min, t.levels[top][0].max, false), level: int32(top)}}
	for len(q) > 0 {
		e := q.pop()
		switch {
		case e.level < 0:
			if !fn(&t.items[e.i], e.d) {
				return
			}
		case e.level == 0:
			for j := int(e.i) * packedNode; j < min(int(e.i+1)*packedNode, len(t.items)); j++ {
				p := t.items[j].Point
				q.push(nearEntry{d: dist(p, p, true), level: -1, i: int32(j)})
			}
		default:
			below := t.levels[e.level-1]
			for c := int(e.i) * packedNode; c < min(int(e.i+1)*packedNode, len(below)); c++ {
				q.push(nearEntry{d: dist(below[c].min, below[c].max, false), level: e.level - 1, i: int32(c)})
			}
		}
	}
}

// nearEntry is a node (level ≥ 0) or an entry (level −1) of a packed tree
// waiting in nearest's queue.
type nearEntry struct {
	d     float64
	level int32
	i     int32
}

// nearQueue is a binary min-heap of nearEntry by d.
type nearQueue []nearEntry

func (q *nearQueue) push(e nearEntry) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].d <= h[i].d {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (q *nearQueue) pop() nearEntry {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].d < h[m].d {
			m = l
		}
		if r < n && h[r].d < h[m].d {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}
