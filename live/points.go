package live

import (
	"fmt"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// points is one point layer held in memory: its records by fid and their
// spatial index, which knows each fid by the point its record has. The
// Service's mu guards both.
//
// A record is never changed in place: put points its fid at a new copy.
// So byID may point into the list the layer was loaded from while the tile
// scene keeps that same list (tiles.HazardPoints keeps a list in fid order
// rather than copying it): a province's million hazards are held once,
// not once here and once in the scene.
type points[T any] struct {
	kind  string // for log lines: "hazard", "camera"
	at    func(*T) (int64, orb.Point)
	byID  map[int64]*T
	index *spatial.PointIndex[int64]
}

func hazardAt(h *data.Hazard) (int64, orb.Point) { return h.FID, h.Point }
func cameraAt(c *data.Camera) (int64, orb.Point) { return c.FID, c.Point }

// newPoints indexes list, which it keeps: the caller must not change it.
func newPoints[T any](kind string, at func(*T) (int64, orb.Point), list []T) (points[T], error) {
	p := points[T]{kind: kind, at: at, byID: make(map[int64]*T, len(list))}
	items := make([]spatial.PointItem[int64], len(list))
	for i := range list {
		v := &list[i]
		fid, pt := at(v)
		p.byID[fid] = v
		items[i] = spatial.PointItem[int64]{ID: fid, Point: pt}
	}
	var err error
	if p.index, err = spatial.NewPointIndexOf(items); err != nil {
		return p, fmt.Errorf("index %ss: %w", kind, err)
	}
	return p, nil
}

// put inserts v, or replaces the record of its fid.
func (p points[T]) put(v T) error {
	fid, pt := p.at(&v)
	if old, ok := p.byID[fid]; ok {
		_, was := p.at(old)
		p.index.Delete(fid, was)
	}
	p.byID[fid] = &v
	if err := p.index.Insert(fid, pt); err != nil {
		return fmt.Errorf("%s %d not indexed: %w", p.kind, fid, err)
	}
	return nil
}

// del removes the record of fid, if there is one.
func (p points[T]) del(fid int64) {
	if old, ok := p.byID[fid]; ok {
		_, was := p.at(old)
		delete(p.byID, fid)
		p.index.Delete(fid, was)
	}
}

// Near is a record with its distance from the point asked about.
type Near[T any] struct {
	Record    T
	DistanceM float64
}

// nearby returns up to limit records within radiusM metres of pt, nearest
// first.
func (p points[T]) nearby(pt orb.Point, radiusM float64, limit int) []Near[T] {
	found := p.index.Nearby(pt, radiusM, limit)
	out := make([]Near[T], 0, len(found))
	for _, n := range found {
		if v, ok := p.byID[n.ID]; ok {
			out = append(out, Near[T]{*v, n.DistanceM})
		}
	}
	return out
}
