package gridgen

import (
	"math"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// Resolution limits. Below 5 a cell is larger than most communities (250
// km²), so a grid could not follow a parent's shape; above 13 a cell is a
// few square metres and a city becomes tens of millions of cells.
const (
	MinResolution = 5
	MaxResolution = 13
)

// maxCells caps the cells gridgen will build, to turn a resolution that is
// far too fine for the area into an error instead of an exhausted machine.
const maxCells = 20_000_000

func validate(in Input) error {
	if in.Target <= 0 && len(in.Grids) == 0 {
		return data.Errorf(data.EINVALID, "target households per grid must be > 0, got %d", in.Target)
	}
	if in.Resolution != 0 && (in.Resolution < MinResolution || in.Resolution > MaxResolution) {
		return data.Errorf(data.EINVALID, "H3 resolution %d out of range: use %d–%d, or 0 to choose automatically",
			in.Resolution, MinResolution, MaxResolution)
	}
	if in.Weight != "" && in.Weight != WeightHouseholds && in.Weight != WeightWorkload {
		return data.Errorf(data.EINVALID, "weight must be households or workload, got %q", in.Weight)
	}
	if w := in.Workload; w.PerEvent < 0 || w.PerUnit < 0 || w.PerKm2 < 0 || math.IsNaN(w.PerEvent+w.PerUnit+w.PerKm2) || math.IsInf(w.PerEvent+w.PerUnit+w.PerKm2, 0) {
		return data.Errorf(data.EINVALID, "workload coefficients must be finite and ≥ 0, got %+v", w)
	}
	if len(in.Households) == 0 && len(in.Points) == 0 {
		return data.Errorf(data.EINVALID, "no households: import household points first")
	}
	for _, h := range in.Households {
		if h.Households < 1 {
			return data.Errorf(data.EINVALID, "household point %q has %d households, need ≥ 1", h.ID, h.Households)
		}
		if badCoord(h.Point) {
			return data.Errorf(data.EINVALID, "household point %q has invalid coordinates %v", h.ID, h.Point)
		}
	}
	if len(in.Households) == 0 {
		for i, h := range in.Points {
			if h.Households < 1 {
				return data.Errorf(data.EINVALID, "household point %d has %d households, need ≥ 1", i+1, h.Households)
			}
			if badCoord(h.Point) {
				return data.Errorf(data.EINVALID, "household point %d has invalid coordinates %v", i+1, h.Point)
			}
		}
	}
	if len(in.Parents) == 0 {
		return data.Errorf(data.EINVALID, "no parent areas: import areas first")
	}
	codes := make(map[string]bool, len(in.Parents))
	for _, a := range in.Parents {
		if a.Code == "" {
			return data.Errorf(data.EINVALID, "a parent area has no code")
		}
		if codes[a.Code] {
			return data.Errorf(data.EINVALID, "parent area code %q appears twice", a.Code)
		}
		codes[a.Code] = true
		if err := validatePolygon(a); err != nil {
			return err
		}
	}
	for code, k := range in.Grids {
		if !codes[code] {
			return data.Errorf(data.EINVALID, "grid count given for %q, which is not a parent area", code)
		}
		if k <= 0 {
			return data.Errorf(data.EINVALID, "grid count for parent %q must be > 0, got %d", code, k)
		}
		if k > maxStatSeq && StatisticalCode(code) {
			return tooManyGrids(code, k)
		}
	}
	if len(in.Locked) > 0 && in.Base == nil {
		return data.Errorf(data.EINVALID, "locked grids need a base plan to lock them in")
	}
	if in.Base != nil {
		have := make(map[string]bool, len(in.Base.Grids))
		for _, g := range in.Base.Grids {
			have[g.Code] = true
		}
		for _, c := range in.Locked {
			if !have[c] {
				return data.Errorf(data.EINVALID, "locked grid %q is not in the base plan", c)
			}
		}
		if in.Resolution != 0 && in.Base.Resolution != 0 && in.Resolution != in.Base.Resolution {
			return data.Errorf(data.EINVALID, "resolution %d differs from the base plan's %d: a redraw keeps the base resolution",
				in.Resolution, in.Base.Resolution)
		}
	}
	return nil
}

func badCoord(p orb.Point) bool {
	return math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) ||
		p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90
}

// validatePolygon checks what clipping relies on: closed rings of at least
// four points with finite coordinates, and no edges that cross.
func validatePolygon(a data.Area) error {
	if len(a.Geometry) == 0 {
		return data.Errorf(data.EINVALID, "parent %q has no geometry", a.Code)
	}
	for pi, p := range a.Geometry {
		if len(p) == 0 {
			return data.Errorf(data.EINVALID, "parent %q: polygon %d has no rings", a.Code, pi)
		}
		for ri, r := range p {
			if len(r) < 4 {
				return data.Errorf(data.EINVALID, "parent %q: polygon %d ring %d has %d points, need at least 4", a.Code, pi, ri, len(r))
			}
			if r[0] != r[len(r)-1] {
				return data.Errorf(data.EINVALID, "parent %q: polygon %d ring %d is not closed (first point %v, last %v)",
					a.Code, pi, ri, r[0], r[len(r)-1])
			}
			for _, pt := range r {
				if badCoord(pt) {
					return data.Errorf(data.EINVALID, "parent %q: polygon %d ring %d has invalid coordinates %v", a.Code, pi, ri, pt)
				}
			}
			if math.Abs(signedArea2([]orb.Point(r[:len(r)-1]))) == 0 {
				return data.Errorf(data.EINVALID, "parent %q: polygon %d ring %d has zero area", a.Code, pi, ri)
			}
		}
	}
	// Crossing edges: every edge against the edges near it.
	ix := newEdgeIndex(normRings(a.Geometry))
	q := ix.querier()
	for _, e := range ix.segs {
		b := orb.MultiPoint{e.a, e.b}.Bound()
		for _, s := range q.near(b) {
			o := ix.segs[s]
			if o.a == e.a || o.a == e.b || o.b == e.a || o.b == e.b {
				continue // neighbours along the ring meet at their shared vertex
			}
			if x, ok := segIntersect(e.a, e.b, o.a, o.b); ok {
				return data.Errorf(data.EINVALID, "parent %q: boundary crosses itself near %.7f,%.7f", a.Code, x[0], x[1])
			}
		}
	}
	return nil
}
