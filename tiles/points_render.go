package tiles

import (
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
)

// This file holds how a point layer is drawn into a tile: each point and
// camera sector from ClusterBelow up, the clusters below it.

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
	wide := f.search(orb.Bound{
		Min: orb.Point{(f.x0 - bin) / f.scale, (f.y0 - bin) / f.scale},
		Max: orb.Point{(f.x0 + Extent + bin) / f.scale, (f.y0 + Extent + bin) / f.scale},
	})
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
