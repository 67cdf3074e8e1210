package data

import (
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// ValidPoint reports why p is not a usable WGS 84 position, or "" if it is.
func ValidPoint(p orb.Point) string {
	lon, lat := p[0], p[1]
	switch {
	case math.IsNaN(lon) || math.IsInf(lon, 0):
		return "longitude is not a finite number"
	case math.IsNaN(lat) || math.IsInf(lat, 0):
		return "latitude is not a finite number"
	case lon < -180 || lon > 180:
		return "longitude out of range [-180, 180]"
	case lat < -90 || lat > 90:
		return "latitude out of range [-90, 90]"
	}
	return ""
}

// validSourceID reports why a source id cannot be stored alike in both
// stores (PostgreSQL refuses NUL in text, SQLite keeps it), or "".
func validSourceID(id string) string {
	if !utf8.ValidString(id) {
		return "is not valid UTF-8"
	}
	if strings.ContainsRune(id, 0) {
		return "contains a NUL character"
	}
	return ""
}

// Validate returns an EINVALID *Error naming the first thing wrong with h.
func (h Household) Validate() error {
	if h.ID == "" {
		return Errorf(EINVALID, "id is empty")
	}
	if r := validSourceID(h.ID); r != "" {
		return Errorf(EINVALID, "id %s", r)
	}
	if r := ValidPoint(h.Point); r != "" {
		return Errorf(EINVALID, "%s", r)
	}
	if h.Households < 1 {
		return Errorf(EINVALID, "households must be at least 1, got %d", h.Households)
	}
	return nil
}

// Validate returns an EINVALID *Error naming the first thing wrong with h.
func (h Hazard) Validate() error {
	if r := ValidPoint(h.Point); r != "" {
		return Errorf(EINVALID, "%s", r)
	}
	if r := validSourceID(h.ID); r != "" {
		return Errorf(EINVALID, "source_id %s", r)
	}
	if !slices.Contains(HazardCategories, h.Category) {
		return Errorf(EINVALID, "unknown category %q (known: %v)", h.Category, HazardCategories)
	}
	if h.Severity < 1 || h.Severity > 3 {
		return Errorf(EINVALID, "severity must be 1, 2 or 3, got %d", h.Severity)
	}
	if !slices.Contains(HazardStatuses, h.Status) {
		return Errorf(EINVALID, "unknown status %q (known: %v)", h.Status, HazardStatuses)
	}
	if h.ReportedAt.IsZero() {
		return Errorf(EINVALID, "reported_at is missing")
	}
	return nil
}

// Validate returns an EINVALID *Error naming the first thing wrong with c.
func (c Camera) Validate() error {
	if r := ValidPoint(c.Point); r != "" {
		return Errorf(EINVALID, "%s", r)
	}
	if r := validSourceID(c.ID); r != "" {
		return Errorf(EINVALID, "source_id %s", r)
	}
	switch {
	case !(c.Azimuth >= 0 && c.Azimuth < 360):
		return Errorf(EINVALID, "azimuth must be in [0, 360), got %v", c.Azimuth)
	case !(c.FOV > 0 && c.FOV <= 360):
		return Errorf(EINVALID, "fov must be in (0, 360], got %v", c.FOV)
	case !(c.RangeM > 0 && c.RangeM <= 10000):
		return Errorf(EINVALID, "range_m must be in (0, 10000], got %v", c.RangeM)
	case !slices.Contains(CameraStatuses, c.Status):
		return Errorf(EINVALID, "unknown status %q (known: %v)", c.Status, CameraStatuses)
	}
	return nil
}

// Validate returns an EINVALID *Error naming the first thing wrong with a's
// geometry or fields: every ring closed, at least 4 positions, finite WGS 84
// coordinates.
func (a Area) Validate() error {
	if a.Code == "" {
		return Errorf(EINVALID, "code is empty")
	}
	if len(a.Geometry) == 0 {
		return Errorf(EINVALID, "area %s has no polygon", a.Code)
	}
	return ValidMultiPolygon(a.Geometry)
}

// ValidMultiPolygon returns an EINVALID *Error naming the polygon, ring and
// problem of the first invalid ring of mp.
func ValidMultiPolygon(mp orb.MultiPolygon) error {
	for i, poly := range mp {
		if len(poly) == 0 {
			return Errorf(EINVALID, "polygon %d has no rings", i)
		}
		for j, ring := range poly {
			if len(ring) < 4 {
				return Errorf(EINVALID, "polygon %d ring %d has %d positions, needs at least 4", i, j, len(ring))
			}
			if ring[0] != ring[len(ring)-1] {
				return Errorf(EINVALID, "polygon %d ring %d is not closed (first and last positions differ)", i, j)
			}
			for k, p := range ring {
				if r := ValidPoint(p); r != "" {
					return Errorf(EINVALID, "polygon %d ring %d position %d: %s", i, j, k, r)
				}
			}
		}
	}
	return nil
}
