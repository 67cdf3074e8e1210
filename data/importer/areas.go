package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"

	"github.com/wangge/wangge/data"
)

// areaItem is an area of the file, or of the store, while nesting is found.
type areaItem struct {
	a         data.Area
	line      int
	feature   int
	fromStore bool

	size   float64     // m² on the sphere
	bound  orb.Bound   // of the whole geometry
	probes []orb.Point // one interior point per polygon part

	parent  *areaItem
	level   int  // depth, 1 = top; 0 until found
	state   int  // for the depth walk: 0 new, 1 on the path, 2 done
	bad     bool // rejected: not written, and not a parent
	written bool // added to the transaction
}

func newAreaItem(a data.Area) *areaItem {
	it := &areaItem{a: a, size: geo.Area(a.Geometry)}
	if len(a.Geometry) > 0 {
		it.bound = a.Geometry.Bound()
	}
	for _, p := range a.Geometry {
		if len(p) > 0 && len(p[0]) > 0 {
			it.probes = append(it.probes, interiorPoint(p))
		}
	}
	return it
}

func (im *importer) rejectArea(it *areaItem, reason string) {
	it.bad = true
	im.reject(RowError{File: im.name, Line: it.line, Feature: it.feature, Reason: reason})
}

// areas reads every area (they are few), finds their nesting and writes
// them parents first in one transaction.
func (im *importer) areas(ctx context.Context, rd *Reader) error {
	var items []*areaItem
	byCode := make(map[string]*areaItem)
	for {
		rec, err := im.next(rd)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		it := newAreaItem(rec.Area)
		it.line, it.feature = rec.Line, rec.Feature
		if first, ok := byCode[it.a.Code]; ok {
			im.rejectArea(it, fmt.Sprintf("code %q appears twice in the file (first at feature %d)", it.a.Code, first.feature))
			continue
		}
		byCode[it.a.Code] = it
		items = append(items, it)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	// Areas already stored can be parents; with Replace they are about to go.
	candidates := slices.Clone(items)
	if !im.opt.Replace {
		stored, err := im.store.Areas(ctx)
		if err != nil {
			return err
		}
		for _, a := range stored {
			if _, ok := byCode[a.Code]; ok {
				continue // the file's own area of that code is the candidate
			}
			it := newAreaItem(a)
			it.fromStore = true
			it.level = max(a.Level, 1)
			it.state = 2
			byCode[a.Code] = it
			candidates = append(candidates, it)
		}
	}

	// Given parents first: an area whose parent_code is unknown is rejected
	// before anything can nest inside it by geometry.
	for _, it := range items {
		if it.a.ParentCode == "" {
			continue
		}
		p, ok := byCode[it.a.ParentCode]
		if !ok {
			im.rejectArea(it, fmt.Sprintf("parent_code %q is not an area of the file or the store", it.a.ParentCode))
			continue
		}
		it.parent = p
	}
	for _, it := range items {
		if !it.bad && it.a.ParentCode == "" {
			it.parent = containing(it, candidates)
		}
	}
	for _, it := range items {
		if !it.bad {
			im.depth(it)
		}
	}
	im.rejectOverlaps(items, candidates)

	// Parents before children: by level, then in file order.
	var good []*areaItem
	for _, it := range items {
		if !it.bad {
			good = append(good, it)
		}
	}
	sort.SliceStable(good, func(i, j int) bool { return good[i].level < good[j].level })

	return im.commit(ctx, func(tx data.Tx) error { return im.writeAreas(ctx, tx, good) })
}

// writeAreas writes the good areas to tx, parents before children, and
// rejects those the store refuses or whose parent it refused.
func (im *importer) writeAreas(ctx context.Context, tx data.Tx, good []*areaItem) error {
	for _, it := range good {
		if p := it.parent; p != nil && !p.fromStore && !p.written {
			im.rejectArea(it, fmt.Sprintf("its parent %q was not imported", p.a.Code))
			continue
		}
		a := it.a
		a.Level = it.level
		if it.parent != nil {
			a.ParentCode = it.parent.a.Code
		}
		if _, err := tx.AddArea(ctx, a); err != nil {
			if !storeRejected(err) {
				return err
			}
			im.rejectArea(it, data.ErrorMessage(err))
			continue
		}
		it.written = true
		im.added++
	}
	// Errors come from three passes; put them back in file order.
	sort.SliceStable(im.res.Errors, func(i, j int) bool { return im.res.Errors[i].Feature < im.res.Errors[j].Feature })
	return nil
}

// rejectOverlaps rejects an area that overlaps another area it does not
// nest with: grids drawn in both would overlap, and a point would be in two
// grids. Of two such areas the smaller is rejected (of two equal ones, the
// later in the file), which is what real data needs: OpenStreetMap extracts
// carry an exclave both as a part of its municipality and as a polygon of
// its own (the Liechtenstein file has four such copies).
func (im *importer) rejectOverlaps(items, candidates []*areaItem) {
	for _, it := range items {
		if it.bad {
			continue
		}
		for _, c := range candidates {
			if c == it || c.bad || !c.bound.Intersects(it.bound) || nested(it, c) || nested(c, it) {
				continue
			}
			if c.size < it.size || (c.size == it.size && !c.fromStore && c.feature > it.feature) {
				continue // c is the one to go, when its turn comes
			}
			part := probeInside(it, c)
			if part < 0 {
				part = probeInside(c, it)
			}
			if part >= 0 {
				im.rejectArea(it, fmt.Sprintf("overlaps area %q, which it does not nest in: areas must nest or be apart, or their grids would overlap (is it a copy of a part of %q?)", c.a.Code, c.a.Code))
				break
			}
		}
	}
}

// nested reports whether a is inside b by the nesting found: b is a or an
// ancestor of a.
func nested(a, b *areaItem) bool {
	for p := a; p != nil; p = p.parent {
		if p == b {
			return true
		}
	}
	return false
}

// probeInside returns the index of the first part of a whose interior point
// lies inside b, or -1.
func probeInside(a, b *areaItem) int {
	for i, p := range a.probes {
		if b.bound.Contains(p) && planar.MultiPolygonContains(b.a.Geometry, p) {
			return i
		}
	}
	return -1
}

// depth sets it.level from its parent chain; a cycle of parent codes or a
// rejected parent rejects it.
func (im *importer) depth(it *areaItem) {
	switch it.state {
	case 2:
		return
	case 1:
		im.rejectArea(it, fmt.Sprintf("its parent %q leads back to it: the parent codes make a cycle", it.parent.a.Code))
		it.state = 2
		return
	}
	it.state = 1
	p := it.parent
	if p == nil {
		it.level = 1
	} else {
		im.depth(p)
		if p.bad {
			if !it.bad {
				im.rejectArea(it, fmt.Sprintf("its parent %q was rejected", p.a.Code))
			}
		} else {
			it.level = p.level + 1
		}
	}
	it.state = 2
}

// containing returns the smallest candidate that contains it (a strict
// majority of its parts' interior points are inside), or nil. A candidate
// must be strictly larger, which also rules out cycles, and of a lower
// admin_level when both have one.
func containing(it *areaItem, candidates []*areaItem) *areaItem {
	if len(it.probes) == 0 {
		return nil
	}
	var best *areaItem
	for _, c := range candidates {
		if c == it || c.bad || c.size <= it.size || len(c.probes) == 0 {
			continue
		}
		if best != nil && c.size >= best.size {
			continue
		}
		if it.a.AdminLevel > 0 && c.a.AdminLevel > 0 && c.a.AdminLevel >= it.a.AdminLevel {
			continue
		}
		if !c.bound.Intersects(it.bound) {
			continue
		}
		inside := 0
		for _, p := range it.probes {
			if c.bound.Contains(p) && planar.MultiPolygonContains(c.a.Geometry, p) {
				inside++
			}
		}
		if 2*inside > len(it.probes) {
			best = c
		}
	}
	return best
}

// interiorPoint returns a point strictly inside polygon p (not in a hole):
// the middle of the widest span of a horizontal line through the middle of
// the outer ring's bound. A centroid can fall outside a concave polygon or
// in a hole; this cannot, except for a degenerate polygon, for which the
// first vertex is the best there is.
func interiorPoint(p orb.Polygon) orb.Point {
	b := p[0].Bound()
	y := (b.Min[1] + b.Max[1]) / 2
	var xs []float64
	for _, r := range p {
		for i := 0; i+1 < len(r); i++ {
			a, c := r[i], r[i+1]
			// Half-open test: a vertex exactly on the line counts once.
			if (a[1] > y) != (c[1] > y) {
				xs = append(xs, a[0]+(y-a[1])*(c[0]-a[0])/(c[1]-a[1]))
			}
		}
	}
	sort.Float64s(xs)
	best, width := p[0][0], -1.0
	for i := 0; i+1 < len(xs); i += 2 {
		if w := xs[i+1] - xs[i]; w > width {
			best, width = orb.Point{(xs[i] + xs[i+1]) / 2, y}, w
		}
	}
	return best
}
