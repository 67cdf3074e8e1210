package gridgen

import (
	"fmt"
	"math"
	"slices"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// Grid codes: the parent's code plus a sequence numbered west→east,
// north→south (DESIGN.md, "Grid codes"), kept across a redraw.

// codes numbers the grids of one parent west→east, north→south: grids are
// put in row bands from the parent's northern edge, each band as high as
// the side of an average grid (√(parent area / grids)), and ordered by
// band, then by the longitude of their centroid. In a redraw, grids that
// inherit a base code keep it and new grids take the next free numbers in
// the same order.
func (r *run) codes(a data.Area, o *parentOut) []string {
	n := len(o.grids)
	out := make([]string, n)
	if n == 0 {
		return out
	}
	bandM := math.Sqrt(o.areaM2 / float64(n))
	bandDeg := math.Max(bandM/spatial.EquatorDegreeLatM, 1e-9)
	type key struct {
		band int
		x, y float64
		i    int
	}
	keys := make([]key, n)
	for i, g := range o.grids {
		keys[i] = key{int(math.Floor((o.top - g.c[1]) / bandDeg)), g.c[0], g.c[1], i}
	}
	slices.SortFunc(keys, func(p, q key) int {
		switch {
		case p.band != q.band:
			return p.band - q.band
		case p.x != q.x:
			if p.x < q.x {
				return -1
			}
			return 1
		case p.y != q.y:
			if p.y > q.y {
				return -1
			}
			return 1
		}
		return p.i - q.i
	})
	used := make(map[string]bool)
	maxSeq := 0
	for _, g := range o.grids {
		if g.baseCode != "" {
			used[g.baseCode] = true
			var s int
			if _, err := fmt.Sscanf(g.baseCode[len(a.Code):], "%d", &s); err == nil {
				maxSeq = max(maxSeq, s)
			}
		}
	}
	seq := 0
	if r.base != nil {
		seq = maxSeq
	}
	for _, k := range keys {
		g := o.grids[k.i]
		if g.baseCode != "" {
			out[k.i] = g.baseCode
			continue
		}
		for {
			seq++
			c := fmt.Sprintf("%s%03d", a.Code, seq)
			if !used[c] {
				used[c] = true
				out[k.i] = c
				break
			}
		}
	}
	return out
}
