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

// maxStatSeq is the last grid sequence under a statistical division code:
// the 12-digit code (统计用区划代码: 6 county + 3 township + 3 village)
// and a 3-digit grid number make the 15-digit grid code of the grid
// standards, which has no room for a 1000th grid.
const maxStatSeq = 999

// StatisticalCode reports whether code is a 12-digit statistical division
// code (统计用区划代码), all digits. Under such a parent a grid code is
// exactly 15 digits: gridgen refuses a parent that would need more than
// 999 grids rather than make a 16-digit code that other systems would
// misread. Other parent codes take a 3-digit sequence that grows to 4
// digits past 999, as before.
func StatisticalCode(code string) bool {
	if len(code) != 12 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// tooManyGrids is the error for a statistical parent with more than 999 grids.
func tooManyGrids(code string, n int) error {
	return data.Errorf(data.EINVALID, "parent %s: %d grids, but under a 12-digit statistical division code a grid code is the code "+
		"and a 3-digit sequence, so at most %d grids: raise the target households per grid, or split the parent", code, n, maxStatSeq)
}

// codes numbers the grids of one parent west→east, north→south: grids are
// put in row bands from the parent's northern edge, each band as high as
// the side of an average grid (√(parent area / grids)), and ordered by
// band, then by the longitude of their centroid. In a redraw, grids that
// inherit a base code keep it and new grids take the next free numbers in
// the same order.
//
// Under a statistical division code (StatisticalCode) there are at most
// 999 grids, and a redraw whose next free number passes 999 takes the
// lowest free numbers instead; more grids than 999 is an EINVALID error.
func (r *run) codes(a data.Area, o *parentOut) ([]string, error) {
	n := len(o.grids)
	out := make([]string, n)
	if n == 0 {
		return out, nil
	}
	stat := StatisticalCode(a.Code)
	if stat && n > maxStatSeq {
		return nil, tooManyGrids(a.Code, n)
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
			if stat && seq > maxStatSeq {
				seq = 1 // fewer than 1000 grids: a number below is free
			}
			c := fmt.Sprintf("%s%03d", a.Code, seq)
			if !used[c] {
				used[c] = true
				out[k.i] = c
				break
			}
		}
	}
	return out, nil
}
