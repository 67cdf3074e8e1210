package spatial

import (
	"math"

	"github.com/paulmach/orb"
)

// The distance from a point to its grid's boundary, which locate answers
// beside the grid: the grid's distance cells searched ring by ring.

// DistanceToBoundaryM returns the distance in metres from p to the nearest
// edge of grid id, whether p is inside the grid or not, or -1 for an unknown
// id. It uses an equirectangular projection centred on p, which is within
// 0.1% of the great-circle distance for edges up to tens of kilometres away.
//
// It visits the grid's distance cells ring by ring outward from p's cell
// and stops once every cell not yet visited is farther than the nearest
// edge found, so it measures the edges near p rather than all of them. The
// result is bit for bit the minimum over all edges: the edge that gives it
// is always among those measured.
func (l *Locator) DistanceToBoundaryM(p orb.Point, id int) float64 {
	gi, ok := l.byID[id]
	if !ok {
		return -1
	}
	g := &l.grids[gi]
	kx, ky := MetresPerDegreeLon(p[1]), MetresPerDegree
	nx, ny := int(g.cellNX), int(g.cellNY)
	c0, r0 := g.cellCol(p[0]), g.cellRow(p[1])
	minX, minY := g.bound.Min[0], g.bound.Min[1]
	maxX, maxY := minX+float64(nx)*g.cellW, minY+float64(ny)*g.cellH
	best := math.Inf(1)
	for k := 0; ; k++ {
		cl, cr, rb, rt := c0-k, c0+k, r0-k, r0+k
		// Ring k: its bottom and top rows, then its left and right columns
		// between them, each clipped to the raster.
		for c := max(cl, 0); c <= min(cr, nx-1); c++ {
			if rb >= 0 {
				best = l.cellMin(g, c, rb, p, kx, ky, best)
			}
			if rt < ny && rt != rb {
				best = l.cellMin(g, c, rt, p, kx, ky, best)
			}
		}
		for r := max(rb+1, 0); r <= min(rt-1, ny-1); r++ {
			if cl >= 0 {
				best = l.cellMin(g, cl, r, p, kx, ky, best)
			}
			if cr < nx && cr != cl {
				best = l.cellMin(g, cr, r, p, kx, ky, best)
			}
		}
		// The cells not yet visited lie in four slabs beyond the sides of
		// the block visited so far; an edge listed only there is farther
		// from p than the slab nearest p.
		lb := math.Inf(1)
		if cl > 0 {
			lb = min(lb, rectDist2(p, kx, ky, minX, minX+float64(cl)*g.cellW, minY, maxY))
		}
		if cr < nx-1 {
			lb = min(lb, rectDist2(p, kx, ky, minX+float64(cr+1)*g.cellW, maxX, minY, maxY))
		}
		if rb > 0 {
			lb = min(lb, rectDist2(p, kx, ky, minX, maxX, minY, minY+float64(rb)*g.cellH))
		}
		if rt < ny-1 {
			lb = min(lb, rectDist2(p, kx, ky, minX, maxX, minY+float64(rt+1)*g.cellH, maxY))
		}
		// Stop with a margin far above the rounding of both sides (and below
		// the edgePad the cells were filled with), so that an edge beyond
		// the slabs can never round to below best. An infinite lb means
		// every cell was visited.
		if math.IsInf(lb, 1) || lb > best*(1+1e-9)+1e-12 {
			break
		}
	}
	return math.Sqrt(best)
}

// cellMin returns the least of best and the squared distance from p to the
// edges listed in cell (c, r) of g, projected with kx and ky metres per
// degree. A cell farther than best is skipped: an edge listed there that
// is nearer than best has its nearest point in a nearer cell, which lists
// it too. The margin is the one of DistanceToBoundaryM's stop.
func (l *Locator) cellMin(g *prepGrid, c, r int, p orb.Point, kx, ky, best float64) float64 {
	i := g.cell0 + uint32(r*int(g.cellNX)+c)
	edges := l.cellEdges[l.cellStart[i]:l.cellStart[i+1]]
	if len(edges) == 0 {
		return best
	}
	x0, y0 := g.bound.Min[0]+float64(c)*g.cellW, g.bound.Min[1]+float64(r)*g.cellH
	if rectDist2(p, kx, ky, x0, x0+g.cellW, y0, y0+g.cellH) > best*(1+1e-9)+1e-12 {
		return best
	}
	for _, e := range edges {
		a, b := l.pts[e], l.pts[e+1]
		d := originToSegment2((a[0]-p[0])*kx, (a[1]-p[1])*ky, (b[0]-p[0])*kx, (b[1]-p[1])*ky)
		best = min(best, d)
	}
	return best
}

// rectDist2 is the squared projected distance from p to the rectangle
// [x0, x1]×[y0, y1] (zero inside it).
func rectDist2(p orb.Point, kx, ky, x0, x1, y0, y1 float64) float64 {
	dx := max(0, x0-p[0], p[0]-x1) * kx
	dy := max(0, y0-p[1], p[1]-y1) * ky
	return dx*dx + dy*dy
}

// originToSegment2 is the squared distance from (0, 0) to segment a–b.
func originToSegment2(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		// The builtins, unlike math.Max and math.Min, compile to two
		// instructions here; they treat NaN and ±0 the same way.
		t = max(0, min(1, -(ax*dx+ay*dy)/l2))
	}
	x, y := ax+t*dx, ay+t*dy
	return x*x + y*y
}
