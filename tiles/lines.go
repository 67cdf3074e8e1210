package tiles

import (
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/simplify"
	"github.com/tidwall/rtree"

	"github.com/wangge/wangge/data"
)

// Streets are lines that no two features share the way grids share edges,
// so each line is simplified on its own (Douglas–Peucker at
// SimplifyTolerance tile units, once per zoom, on first use) and clipped
// to the tile and its buffer. A street is drawn only from its MinZoom up:
// at zoom 10 a county's residential streets are a grey smear, and they
// would be most of the tile's bytes.

// LineFeature is a line feature of a layer, in lon/lat, drawn from MinZoom
// up.
type LineFeature struct {
	ID      uint64
	Geom    orb.MultiLineString
	MinZoom int
	Props   []Prop
}

// Lines is a line layer prepared for tiling: projected, indexed,
// simplified lazily per zoom. It is immutable once built and safe for
// concurrent use; build it once per change of its data.
type Lines struct {
	feats []lineFeat
	index rtree.RTreeG[int32]
	zooms [MaxZoom + 1]struct {
		once  sync.Once
		lines [][][]mpt // by feature; nil below the feature's MinZoom
	}
}

type lineFeat struct {
	id      uint64
	minZoom int
	props   []Prop
	bound   orb.Bound // in mercator
	lines   [][]mpt
}

// NewLines prepares line features for tiling, drawn in the order given.
func NewLines(feats []LineFeature) *Lines {
	l := &Lines{feats: make([]lineFeat, 0, len(feats))}
	for _, f := range feats {
		lf := lineFeat{id: f.ID, minZoom: f.MinZoom, props: f.Props}
		first := true
		for _, ls := range f.Geom {
			if len(ls) < 2 {
				continue
			}
			ml := make([]mpt, 0, len(ls))
			for _, p := range ls {
				m := project(p)
				if len(ml) > 0 && ml[len(ml)-1] == m {
					continue
				}
				ml = append(ml, m)
				if first {
					lf.bound, first = orb.Bound{Min: m, Max: m}, false
				}
				lf.bound = lf.bound.Extend(m)
			}
			if len(ml) >= 2 {
				lf.lines = append(lf.lines, ml)
			}
		}
		if len(lf.lines) == 0 {
			continue
		}
		i := int32(len(l.feats))
		l.feats = append(l.feats, lf)
		l.index.Insert(lf.bound.Min, lf.bound.Max, i)
	}
	return l
}

// Len returns the number of features.
func (l *Lines) Len() int {
	if l == nil {
		return 0
	}
	return len(l.feats)
}

// Bound returns the lon/lat bound of the features; false when there are none.
func (l *Lines) Bound() (orb.Bound, bool) {
	if l.Len() == 0 {
		return orb.Bound{}, false
	}
	b := l.feats[0].bound
	for _, f := range l.feats[1:] {
		b = b.Union(f.bound)
	}
	return lonLatBound(b), true
}

// linesAt returns every feature's lines simplified for zoom z.
func (l *Lines) linesAt(z int) [][][]mpt {
	z = min(z, MaxZoom)
	zs := &l.zooms[z]
	zs.once.Do(func() {
		dp := simplify.DouglasPeucker(SimplifyTolerance / (math.Exp2(float64(z)) * Extent))
		zs.lines = make([][][]mpt, len(l.feats))
		for i, f := range l.feats {
			if z < f.minZoom {
				continue
			}
			out := make([][]mpt, 0, len(f.lines))
			for _, ln := range f.lines {
				if len(ln) > 2 {
					// DouglasPeucker works in place: give it a copy.
					ln = dp.LineString(append(orb.LineString(nil), ln...))
				}
				out = append(out, ln)
			}
			zs.lines[i] = out
		}
	})
	return zs.lines
}

// render draws the features that reach into the frame and are drawn at
// zoom z into lw.
func (l *Lines) render(lw *LayerWriter, f frame, z int, sc *scratch) {
	if l.Len() == 0 {
		return
	}
	sc.hits = sc.hits[:0]
	l.index.Search(f.bound.Min, f.bound.Max, func(_, _ [2]float64, i int32) bool {
		if l.feats[i].minZoom <= z {
			sc.hits = append(sc.hits, i)
		}
		return true
	})
	if len(sc.hits) == 0 {
		return
	}
	slices.Sort(sc.hits) // the same tile always encodes the same bytes
	lines := l.linesAt(z)
	box := orb.Bound{Min: orb.Point{-Buffer, -Buffer}, Max: orb.Point{Extent + Buffer, Extent + Buffer}}
	for _, fi := range sc.hits {
		sc.pts = sc.pts[:0]
		sc.rings = sc.rings[:0]
		for _, ln := range lines[fi] {
			ls := sc.ring[:0]
			for _, m := range ln {
				ls = append(ls, f.tile(m))
			}
			sc.ring = ls[:0]
			for _, part := range clip.LineString(box, orb.LineString(ls)) {
				start := len(sc.pts)
				for _, q := range part {
					sc.pts = appendDistinct(sc.pts, start, f.quantize(q))
				}
				if len(sc.pts)-start < 2 {
					sc.pts = sc.pts[:start]
					continue
				}
				sc.rings = append(sc.rings, [2]int{start, len(sc.pts)})
			}
		}
		if len(sc.rings) == 0 {
			continue
		}
		sc.ringPts = sc.ringPts[:0]
		for _, r := range sc.rings {
			sc.ringPts = append(sc.ringPts, sc.pts[r[0]:r[1]])
		}
		lw.AddLines(l.feats[fi].id, sc.ringPts, l.feats[fi].props)
	}
}

// StreetMinZoom is the zoom from which a street of the given kind and
// class (OSM highway, waterway or railway class) is drawn: the lines a
// map of that scale needs to be read, the way OpenStreetMap's own style
// brings them in. Motorways and trunk roads from 8; rivers, canals,
// railways and primary roads from 10 (a town's skeleton); secondary from
// 11, tertiary from 12; residential streets and streams from 14, where a
// block is a few dozen pixels; footways, service roads and the rest from
// 15.
func StreetMinZoom(kind, class string) int {
	switch strings.TrimSuffix(class, "_link") {
	case "motorway", "trunk":
		return 8
	case "primary", "river", "canal", "rail":
		return 10
	case "secondary":
		return 11
	case "tertiary":
		return 12
	case "residential", "unclassified", "living_street", "stream", "tram", "light_rail", "subway":
		return 14
	case "":
		switch kind {
		case data.StreetRail:
			return 10
		case data.StreetWater:
			return 12
		}
	}
	return 15
}

// StreetFeatures returns streets, rivers and railways as line features
// (kind, class, name), each drawn from its StreetMinZoom.
func StreetFeatures(streets []data.Street) []LineFeature {
	out := make([]LineFeature, 0, len(streets))
	for i, s := range streets {
		id := uint64(s.FID)
		if s.FID <= 0 {
			id = uint64(i + 1)
		}
		props := []Prop{{"kind", String(s.Kind)}}
		if s.Class != "" {
			props = append(props, Prop{"class", String(s.Class)})
		}
		if s.Name != "" {
			props = append(props, Prop{"name", String(s.Name)})
		}
		out = append(out, LineFeature{ID: id, Geom: s.Geometry, MinZoom: StreetMinZoom(s.Kind, s.Class), Props: props})
	}
	return out
}
