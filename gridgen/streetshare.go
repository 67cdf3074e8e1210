package gridgen

import (
	"math"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// GridStreetShare is how much of one grid's boundary with its neighbours
// follows streets: the report's street_share_pct for one grid.
type GridStreetShare struct {
	// InnerBoundaryM is the length of the grid's boundary shared with
	// other grids of its parent, in metres (its parent's edge does not
	// count: a worker has no neighbour to agree with there).
	InnerBoundaryM float64
	// NearM is how much of it lies within NearStreetM of a street.
	NearM float64
}

// Pct is the share in percent, to one decimal, as the report rounds it;
// false when the grid shares no boundary with another of its parent.
func (s GridStreetShare) Pct() (float64, bool) {
	if s.InnerBoundaryM <= 0 {
		return 0, false
	}
	return math.Round(s.NearM/s.InnerBoundaryM*1000) / 10, true
}

// StreetShares measures, for each grid of a stored plan, its boundary
// shared with the other grids of its parent and how much of it lies
// within NearStreetM of one of streets, by the function the report's
// overall street_share_pct is measured with (streetIndex.nearLength, on
// pieces of at most 5 m). Neighbouring grids share bit-identical boundary
// segments (gridGeometry), so a segment is shared when another grid of the
// same parent has it too; each is measured once and counted for both
// grids, so the sums over all grids, near over inner, are the report's
// share. Nil when there are no streets (the report measures nothing then).
func StreetShares(grids []data.Grid, streets []data.Street) []GridStreetShare {
	ix := newStreetIndex(streets)
	if ix == nil {
		return nil
	}
	type segKey struct {
		parent string
		a, b   orb.Point
	}
	key := func(parent string, a, b orb.Point) segKey {
		if b[0] < a[0] || (b[0] == a[0] && b[1] < a[1]) {
			a, b = b, a
		}
		return segKey{parent, a, b}
	}
	// The grids that have each segment: a shared one has two.
	owners := map[segKey][2]int32{}
	var order []segKey // first seen first: sums in the same order every time
	for gi, g := range grids {
		for _, poly := range g.Geometry {
			for _, ring := range poly {
				for i := 0; i+1 < len(ring); i++ {
					if ring[i] == ring[i+1] {
						continue
					}
					k := key(g.ParentCode, ring[i], ring[i+1])
					o, ok := owners[k]
					switch {
					case !ok:
						owners[k] = [2]int32{int32(gi), -1}
					case o[1] < 0 && o[0] != int32(gi):
						owners[k] = [2]int32{o[0], int32(gi)}
						order = append(order, k)
					}
				}
			}
		}
	}
	out := make([]GridStreetShare, len(grids))
	for _, k := range order {
		o := owners[k]
		total, near := ix.nearLength(k.a, k.b)
		for _, gi := range o {
			out[gi].InnerBoundaryM += total
			out[gi].NearM += near
		}
	}
	return out
}
