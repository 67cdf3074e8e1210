package gridgen

import (
	"fmt"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// A grid's polygon, from the pieces it is made of, and its connected
// components.

// gridGeometry unions the pieces of grid g, members (the partition's
// pieces, or their faces along the streets, snap.go): every piece segment
// whose neighbour is in the same grid cancels out, the rest link into
// rings. Because neighbouring pieces share bit-identical segments,
// neighbouring grids share bit-identical boundaries.
func gridGeometry(pc *parentCells, labels []int32, g int32, members []int32, out *gridOut) error {
	var segs []tseg
	for _, p := range members {
		for _, rg := range pc.pieces[p].poly {
			n := len(rg.pts)
			for i, t := range rg.tags {
				if t >= 0 && labels[t] == g {
					continue
				}
				segs = append(segs, tseg{rg.pts[i], rg.pts[(i+1)%n], t})
			}
		}
	}
	polys, ok := linkRings(segs)
	var mp orb.MultiPolygon
	var ax, ay, aa float64
	for _, p := range polys {
		op := make(orb.Polygon, len(p))
		for i, rg := range p {
			ring := make(orb.Ring, len(rg.pts)+1)
			copy(ring, rg.pts)
			ring[len(rg.pts)] = rg.pts[0]
			op[i] = ring
			out.perimM += geo.Length(orb.LineString(ring))
			a2 := signedArea2(rg.pts)
			c := polyCentroid(rg.pts)
			ax += c[0] * a2
			ay += c[1] * a2
			aa += a2
			out.planar += a2 / 2
		}
		mp = append(mp, op)
	}
	out.geom = mp
	out.areaM2 = geo.Area(mp)
	if aa != 0 {
		out.c = orb.Point{ax / aa, ay / aa}
	} else if len(members) > 0 {
		out.c = pc.pieces[members[0]].c
	}
	out.components = components(pc, labels, g, members)
	if !ok {
		return fmt.Errorf("grid %d: boundary did not close into rings", g)
	}
	return nil
}

// components counts the connected pieces of grid g by graph search.
func components(pc *parentCells, labels []int32, g int32, pieces []int32) int {
	if len(pieces) == 0 {
		return 0
	}
	seen := make(map[int32]bool, len(pieces))
	n := 0
	var stack []int32
	for _, s := range pieces {
		if seen[s] {
			continue
		}
		n++
		seen[s] = true
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, rg := range pc.pieces[v].poly {
				for _, t := range rg.tags {
					if t >= 0 && labels[t] == g && !seen[t] {
						seen[t] = true
						stack = append(stack, t)
					}
				}
			}
		}
	}
	return n
}
