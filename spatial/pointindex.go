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
// It is safe for concurrent use: reads take a shared lock and run in
// parallel, writes take the exclusive lock. Results are copied out, so a
// caller never holds the lock while it works on them. Longitudes are not
// wrapped at ±180°, which no city needs.
type PointIndex[ID cmp.Ordered] struct {
	mu  sync.RWMutex
	tr  rtree.RTreeG[ID]
	pts map[ID]orb.Point
}

// NewPointIndex returns an empty index.
func NewPointIndex[ID cmp.Ordered]() *PointIndex[ID] {
	return &PointIndex[ID]{pts: make(map[ID]orb.Point)}
}

// Len returns the number of points.
func (x *PointIndex[ID]) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.pts)
}

// Get returns the point of id.
func (x *PointIndex[ID]) Get(id ID) (orb.Point, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p, ok := x.pts[id]
	return p, ok
}

// Insert adds id at p. It returns ErrDuplicateID if id is present and
// ErrInvalidPoint if p is not a valid lon/lat.
func (x *PointIndex[ID]) Insert(id ID, p orb.Point) error {
	if !ValidLonLat(p) {
		return fmt.Errorf("%w: %v", ErrInvalidPoint, p)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.pts[id]; ok {
		return fmt.Errorf("%w: %v", ErrDuplicateID, id)
	}
	x.pts[id] = p
	x.tr.Insert(p, p, id)
	return nil
}

// Update moves id to p. It returns ErrNotFound if id is absent and
// ErrInvalidPoint if p is not a valid lon/lat.
func (x *PointIndex[ID]) Update(id ID, p orb.Point) error {
	if !ValidLonLat(p) {
		return fmt.Errorf("%w: %v", ErrInvalidPoint, p)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	old, ok := x.pts[id]
	if !ok {
		return fmt.Errorf("%w: %v", ErrNotFound, id)
	}
	if old != p {
		x.tr.Delete(old, old, id)
		x.tr.Insert(p, p, id)
		x.pts[id] = p
	}
	return nil
}

// Delete removes id and reports whether it was present.
func (x *PointIndex[ID]) Delete(id ID) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	p, ok := x.pts[id]
	if ok {
		x.tr.Delete(p, p, id)
		delete(x.pts, id)
	}
	return ok
}

// Within returns the points inside b (edges included), in no particular order.
func (x *PointIndex[ID]) Within(b orb.Bound) []PointItem[ID] {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []PointItem[ID]
	x.tr.Search(b.Min, b.Max, func(p, _ [2]float64, id ID) bool {
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
	x.tr.Search(b.Min, b.Max, func(p, _ [2]float64, id ID) bool {
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
	// Great-circle distance as an angle: the tree is searched best-first by a
	// lower bound of it, so nodes come out in true distance order.
	maxAngle := radiusM / orb.EarthRadius
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []Neighbor[ID]
	x.tr.Nearby(
		func(min, max [2]float64, _ ID, item bool) float64 {
			if item {
				return haversineAngle(p, orb.Point(min))
			}
			return boxAngleLowerBound(p, lat, min, max)
		},
		func(q, _ [2]float64, id ID, angle float64) bool {
			if angle > maxAngle {
				return false
			}
			// Equal distances are only sorted by id after the walk, so keep
			// collecting past the limit while the distance is unchanged.
			if limit > 0 && len(out) >= limit && angle > out[len(out)-1].DistanceM {
				return false
			}
			out = append(out, Neighbor[ID]{id, q, angle})
			return true
		},
	)
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

// haversineAngle is the great-circle angle between a and b in radians; it is
// geo.DistanceHaversine without the radius.
func haversineAngle(a, b orb.Point) float64 {
	return geo.DistanceHaversine(a, b) / orb.EarthRadius
}

// boxAngleLowerBound is a lower bound of the angle from p to any point of the
// lon/lat box [min, max]: haversine with the nearest latitude and longitude
// differences and the smallest cosine of latitude over p and the box.
func boxAngleLowerBound(p orb.Point, lat float64, min, max [2]float64) float64 {
	dLon := math.Max(0, math.Max(min[0]-p[0], p[0]-max[0])) * math.Pi / 180
	dLat := math.Max(0, math.Max(min[1]-p[1], p[1]-max[1])) * math.Pi / 180
	if dLon == 0 && dLat == 0 {
		return 0
	}
	maxAbsLat := math.Max(math.Abs(lat), math.Max(math.Abs(min[1]), math.Abs(max[1]))*math.Pi/180)
	c := math.Cos(math.Min(maxAbsLat, math.Pi/2))
	sLat, sLon := math.Sin(dLat/2), math.Sin(math.Min(dLon, math.Pi)/2)
	h := sLat*sLat + c*c*sLon*sLon
	return 2 * math.Asin(math.Sqrt(math.Min(1, h)))
}
