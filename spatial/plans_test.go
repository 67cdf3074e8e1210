package spatial

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

// Test plans, built from seeded random numbers so every run sees the same.

// montevideoBound is the extent of Montevideo used for a city-sized plan.
var montevideoBound = orb.Bound{Min: orb.Point{-56.43, -34.94}, Max: orb.Point{-56.03, -34.70}}

// montevideoPlan returns about n grids made of resolution-9 H3 cells over
// Montevideo's extent: seeds grow into contiguous clusters by breadth-first
// search over the cell graph (a Voronoi diagram on cells), and each cluster
// is unioned with h3 CellsToMultiPolygon, as gridgen's plans are.
func montevideoPlan(tb testing.TB, n int, seed uint64) []LocatorGrid {
	tb.Helper()
	cells, err := PolygonToCells(orb.Polygon{montevideoBound.ToRing()}, 9)
	if err != nil {
		tb.Fatal(err)
	}
	inArea := make(map[h3.Cell]bool, len(cells))
	for _, c := range cells {
		inArea[c] = true
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	owner := make(map[h3.Cell]int, len(cells))
	queue := make([]h3.Cell, 0, len(cells))
	for i, j := range rng.Perm(len(cells))[:n] {
		owner[cells[j]] = i
		queue = append(queue, cells[j])
	}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		ring, err := c.GridDisk(1)
		if err != nil {
			tb.Fatal(err)
		}
		for _, nb := range ring {
			if _, seen := owner[nb]; seen {
				continue
			}
			if !inArea[nb] {
				continue
			}
			owner[nb] = owner[c]
			queue = append(queue, nb)
		}
	}
	groups := make([][]h3.Cell, n)
	for c, g := range owner {
		groups[g] = append(groups[g], c)
	}
	grids := make([]LocatorGrid, 0, n)
	for g, cs := range groups {
		slices.Sort(cs) // map order is random; keep the plan identical run to run
		mp, err := CellsToMultiPolygon(cs)
		if err != nil {
			tb.Fatal(err)
		}
		grids = append(grids, LocatorGrid{ID: 1000 + g, Geom: mp})
	}
	return grids
}

// latticePlan returns nx×ny grids tiling a region around origin with cell
// size step degrees: a jittered quadrilateral lattice whose sides are split
// into `split` jittered segments. Neighbours share their sides bit for bit,
// as the grids of one plan do, so the plan has no gaps and no overlaps.
func latticePlan(nx, ny int, origin orb.Point, step float64, split int, seed uint64) []LocatorGrid {
	rng := rand.New(rand.NewPCG(seed, 2))
	corner := make([]orb.Point, (nx+1)*(ny+1))
	for j := 0; j <= ny; j++ {
		for i := 0; i <= nx; i++ {
			jx, jy := 0.0, 0.0
			if i > 0 && i < nx {
				jx = (rng.Float64() - 0.5) * 0.3 * step
			}
			if j > 0 && j < ny {
				jy = (rng.Float64() - 0.5) * 0.3 * step
			}
			corner[j*(nx+1)+i] = orb.Point{origin[0] + float64(i)*step + jx, origin[1] + float64(j)*step + jy}
		}
	}
	// side returns the points strictly between corners a and b of a lattice
	// side; offsets depend only on the side, so both neighbours agree.
	side := func(a, b int) []orb.Point {
		pa, pb := corner[min(a, b)], corner[max(a, b)] // the side's own direction, not the walk's
		r := rand.New(rand.NewPCG(seed, uint64(min(a, b))<<32|uint64(max(a, b))))
		pts := make([]orb.Point, split-1)
		dx, dy := pb[0]-pa[0], pb[1]-pa[1]
		for k := 1; k < split; k++ {
			t := float64(k) / float64(split)
			off := (r.Float64() - 0.5) * 0.06 * step
			pts[k-1] = orb.Point{pa[0] + t*dx - off*dy/step, pa[1] + t*dy + off*dx/step}
		}
		if a > b {
			// Same points, walked from the other end.
			for i, j := 0, len(pts)-1; i < j; i, j = i+1, j-1 {
				pts[i], pts[j] = pts[j], pts[i]
			}
		}
		return pts
	}
	grids := make([]LocatorGrid, 0, nx*ny)
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			c := [4]int{j*(nx+1) + i, j*(nx+1) + i + 1, (j+1)*(nx+1) + i + 1, (j+1)*(nx+1) + i}
			var ring orb.Ring
			for k := range 4 {
				a, b := c[k], c[(k+1)%4]
				ring = append(ring, corner[a])
				ring = append(ring, side(a, b)...)
			}
			ring = append(ring, ring[0])
			grids = append(grids, LocatorGrid{ID: j*nx + i, Geom: orb.MultiPolygon{{ring}}})
		}
	}
	return grids
}

// randomPoints returns n seeded points uniformly in b.
func randomPoints(n int, b orb.Bound, seed uint64) []orb.Point {
	rng := rand.New(rand.NewPCG(seed, 3))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{
			b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]),
			b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1]),
		}
	}
	return pts
}

// padBound grows b by frac of its size on every side.
func padBound(b orb.Bound, frac float64) orb.Bound {
	dx, dy := (b.Max[0]-b.Min[0])*frac, (b.Max[1]-b.Min[1])*frac
	return orb.Bound{Min: orb.Point{b.Min[0] - dx, b.Min[1] - dy}, Max: orb.Point{b.Max[0] + dx, b.Max[1] + dy}}
}

// nearAnyEdge reports whether p is within tol degrees of an edge of mp.
func nearAnyEdge(mp orb.MultiPolygon, p orb.Point, tol float64) bool {
	for _, poly := range mp {
		for _, r := range poly {
			for i := 0; i+1 < len(r); i++ {
				if math.Sqrt(originToSegment2(r[i][0]-p[0], r[i][1]-p[1], r[i+1][0]-p[0], r[i+1][1]-p[1])) < tol {
					return true
				}
			}
		}
	}
	return false
}
