package spatial

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"
	"github.com/tidwall/rtree"
)

// PointItem is a point in a PointIndex.
type PointItem[ID cmp.Ordered] struct {
	ID    ID
	Point orb.Point
}

// Neighbor is a result of PointIndex.Nearby.
type Neighbor[ID cmp.Ordered] struct {
	ID        ID
	Point     orb.Point
	DistanceM float64 // great-circle distance from the query point, in metres
}

// PointIndex is an R-tree of points keyed by id, for hazards and cameras.
//
// It holds (id, point) entries and nothing else: the caller keeps each
// id's point with its record (live does), and names it to move or delete
// the id. So a province's million hazards are not held a second time in a
// map by id here (60 MB at 960,000).
//
// The entries of NewPointIndexOf are a packed tree, built at once and not
// changed after; those inserted later are in an R-tree that takes
// changes, and the packed entries deleted since are listed (gone) and
// skipped. When more than half the packed entries are gone, the rest are
// packed again.
//
// It is safe for concurrent use: reads take a shared lock and run in
// parallel, writes take the exclusive lock. Results are copied out, so a
// caller never holds the lock while it works on them. Longitudes are not
// wrapped at ±180°, which no city needs.
type PointIndex[ID cmp.Ordered] struct {
	mu   sync.RWMutex
	base packed[ID]
	gone map[PointItem[ID]]bool // entries of base deleted since
	tr   rtree.RTreeG[ID]
}

// NewPointIndex returns an empty index.
func NewPointIndex[ID cmp.Ordered]() *PointIndex[ID] {
	return &PointIndex[ID]{}
}

// NewPointIndexOf returns an index of items (not changed), as Insert would
// make it one by one but that an (id, point) given twice is held once. It
// fails as Insert would, on an invalid point.
func NewPointIndexOf[ID cmp.Ordered](items []PointItem[ID]) (*PointIndex[ID], error) {
	for _, it := range items {
		if !ValidLonLat(it.Point) {
			return nil, fmt.Errorf("%w: %v (id %v)", ErrInvalidPoint, it.Point, it.ID)
		}
	}
	return &PointIndex[ID]{base: newPacked(items)}, nil
}

// Len returns the number of entries.
func (x *PointIndex[ID]) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.base.items) - len(x.gone) + x.tr.Len()
}

// Insert adds id at p. It returns ErrInvalidPoint if p is not a valid
// lon/lat. An id inserted twice is held twice: the caller, which knows its
// ids, moves an id with Move.
func (x *PointIndex[ID]) Insert(id ID, p orb.Point) error {
	if !ValidLonLat(p) {
		return fmt.Errorf("%w: %v", ErrInvalidPoint, p)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.tr.Insert(p, p, id)
	return nil
}

// Move moves id from from to to. It returns ErrNotFound if id is not at
// from, and ErrInvalidPoint if to is not a valid lon/lat.
func (x *PointIndex[ID]) Move(id ID, from, to orb.Point) error {
	if !ValidLonLat(to) {
		return fmt.Errorf("%w: %v", ErrInvalidPoint, to)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if from == to {
		if !x.has(id, from) {
			return fmt.Errorf("%w: %v at %v", ErrNotFound, id, from)
		}
		return nil
	}
	if !x.delete(id, from) {
		return fmt.Errorf("%w: %v at %v", ErrNotFound, id, from)
	}
	x.tr.Insert(to, to, id)
	return nil
}

// Delete removes id at p and reports whether it was there.
func (x *PointIndex[ID]) Delete(id ID, p orb.Point) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.delete(id, p)
}

func (x *PointIndex[ID]) delete(id ID, p orb.Point) bool {
	n := x.tr.Len()
	if x.tr.Delete(p, p, id); x.tr.Len() < n {
		return true
	}
	it := PointItem[ID]{id, p}
	if x.gone[it] || !x.base.has(id, p) {
		return false
	}
	if x.gone == nil {
		x.gone = map[PointItem[ID]]bool{}
	}
	x.gone[it] = true
	if len(x.gone) > len(x.base.items)/2 {
		x.repack()
	}
	return true
}

// repack packs the entries of base that are not gone again.
func (x *PointIndex[ID]) repack() {
	live := make([]PointItem[ID], 0, len(x.base.items)-len(x.gone))
	for _, it := range x.base.items {
		if !x.gone[it] {
			live = append(live, it)
		}
	}
	x.base, x.gone = newPacked(live), nil
}

func (x *PointIndex[ID]) has(id ID, p orb.Point) bool {
	found := false
	x.tr.Search(p, p, func(_, _ [2]float64, got ID) bool {
		found = got == id
		return !found
	})
	return found || (!x.gone[PointItem[ID]{id, p}] && x.base.has(id, p))
}

// search calls fn with each entry inside b until fn returns false, and
// reports whether it got to the end.
func (x *PointIndex[ID]) search(b orb.Bound, fn func(id ID, p orb.Point) bool) bool {
	if !x.base.search(b, func(it *PointItem[ID]) bool { return x.gone[*it] || fn(it.ID, it.Point) }) {
		return false
	}
	complete := true
	x.tr.Search(b.Min, b.Max, func(p, _ [2]float64, id ID) bool {
		complete = fn(id, p)
		return complete
	})
	return complete
}

// Within returns the points inside b (edges included), in no particular order.
func (x *PointIndex[ID]) Within(b orb.Bound) []PointItem[ID] {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []PointItem[ID]
	x.search(b, func(id ID, p orb.Point) bool {
		out = append(out, PointItem[ID]{id, p})
		return true
	})
	return out
}

// Intersects returns the points inside poly (boundary included, holes
// excluded, planar in lon/lat), in no particular order.
func (x *PointIndex[ID]) Intersects(poly orb.Polygon) []PointItem[ID] {
	if len(poly) == 0 {
		return nil
	}
	b := poly.Bound()
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []PointItem[ID]
	x.search(b, func(id ID, p orb.Point) bool {
		if planar.PolygonContains(poly, p) {
			out = append(out, PointItem[ID]{id, p})
		}
		return true
	})
	return out
}

// Nearby returns up to limit points within radiusM metres of p, nearest
// first by great-circle distance (ties by id). limit <= 0 means no limit.
func (x *PointIndex[ID]) Nearby(p orb.Point, radiusM float64, limit int) []Neighbor[ID] {
	if !ValidLonLat(p) || !(radiusM >= 0) {
		return nil
	}
	lat := p[1] * math.Pi / 180
	// Distances are kept as great-circle angles until the end.
	maxAngle := radiusM / orb.EarthRadius
	x.mu.RLock()
	defer x.mu.RUnlock()

	// Usually the circle holds a few dozen points: scanning its bounding box
	// is then several times faster than a best-first search, which pushes
	// every entry of each node it opens onto a heap. If the box turns out
	// to hold many more points than asked for, fall back to best-first.
	var out []Neighbor[ID]
	b := capBound(p, maxAngle)
	budget := math.MaxInt
	if limit > 0 {
		budget = 8*limit + 256
	}
	seen := 0
	complete := x.search(b, func(id ID, q orb.Point) bool {
		if seen++; seen > budget {
			return false
		}
		if a := haversineAngle(p, q); a <= maxAngle {
			out = append(out, Neighbor[ID]{id, q, a})
		}
		return true
	})
	if !complete {
		dist := func(min, max [2]float64, item bool) float64 {
			if item {
				return haversineAngle(p, orb.Point(min))
			}
			return boxAngleLowerBound(p, lat, min, max)
		}
		// Each part is walked nearest first and stops on its own: out of
		// range, or past limit points and a farther one (equal distances
		// are only sorted by id after the walk, so ties are all kept).
		// The limit nearest of both are among the two lists.
		var fromTree []Neighbor[ID]
		take := func(list *[]Neighbor[ID], id ID, q orb.Point, angle float64) bool {
			if angle > maxAngle || (limit > 0 && len(*list) >= limit && angle > (*list)[len(*list)-1].DistanceM) {
				return false
			}
			*list = append(*list, Neighbor[ID]{id, q, angle})
			return true
		}
		out = out[:0]
		x.base.nearest(dist, func(it *PointItem[ID], angle float64) bool {
			return x.gone[*it] || take(&out, it.ID, it.Point, angle)
		})
		x.tr.Nearby(
			func(min, max [2]float64, _ ID, item bool) float64 { return dist(min, max, item) },
			func(q, _ [2]float64, id ID, angle float64) bool { return take(&fromTree, id, q, angle) },
		)
		out = append(out, fromTree...)
	}
	slices.SortStableFunc(out, func(a, b Neighbor[ID]) int {
		if c := cmp.Compare(a.DistanceM, b.DistanceM); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		out[i].DistanceM *= orb.EarthRadius
	}
	return out
}

// capBound returns a lon/lat box holding every point within angle (radians)
// of p: the spherical cap's exact longitude half-width is
// asin(sin angle / cos φ), wider than angle/cos φ; a 1e-9° pad absorbs rounding.
func capBound(p orb.Point, angle float64) orb.Bound {
	const pad = 1e-9
	dLat := angle*180/math.Pi + pad
	dLon := 180.0
	if s, c := math.Sin(angle), math.Cos(p[1]*math.Pi/180); angle < math.Pi/2 && s < c {
		dLon = math.Asin(s/c)*180/math.Pi + pad
	}
	return orb.Bound{
		Min: orb.Point{p[0] - dLon, math.Max(-90, p[1]-dLat)},
		Max: orb.Point{p[0] + dLon, math.Min(90, p[1]+dLat)},
	}
}

// haversineAngle is the great-circle angle between a and b in radians; it is
// geo.DistanceHaversine without the radius.
func haversineAngle(a, b orb.Point) float64 {
	return geo.DistanceHaversine(a, b) / orb.EarthRadius
}

// boxAngleLowerBound is a lower bound of the angle from p to any point of the
// lon/lat box [min, max], cheap enough to call for every node the search
// visits. With Δφ, Δλ the nearest latitude and longitude differences and c
// the smallest cosine of latitude over p and the box, haversine gives
// hav d ≥ hav Δφ + c² hav Δλ, and sin y ≥ y(1 − y²/6) turns that into
// d ≥ √(Δφ² + c²Δλ²)·(1 − m²/24) with m = max(Δφ, Δλ): a planar distance
// shrunk by a factor that is 0.9996 even 600 km away.
func boxAngleLowerBound(p orb.Point, lat float64, min, max [2]float64) float64 {
	dLon := math.Max(0, math.Max(min[0]-p[0], p[0]-max[0])) * math.Pi / 180
	dLat := math.Max(0, math.Max(min[1]-p[1], p[1]-max[1])) * math.Pi / 180
	if dLon == 0 && dLat == 0 {
		return 0
	}
	maxAbsLat := math.Max(math.Abs(lat), math.Max(math.Abs(min[1]), math.Abs(max[1]))*math.Pi/180)
	c := math.Cos(math.Min(maxAbsLat, math.Pi/2))
	m := math.Min(math.Max(dLat, dLon), 2) // past 2 rad the factor would go negative; clamp keeps it a bound
	return math.Max(0, math.Sqrt(dLat*dLat+c*c*dLon*dLon)*(1-m*m/24))
}
