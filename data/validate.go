package data

import (
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// Every validation error below is an EINVALID (or ECONFLICT) *Error whose
// Field names the field it is about (see Error.Field); its message starts
// with the field's name where it can, as clients have long read it.

// CheckPoint returns an EINVALID *Error about the "geometry" field saying
// why p is not a usable WGS 84 position, or nil if it is.
func CheckPoint(p orb.Point) error {
	lon, lat := p[0], p[1]
	switch {
	case math.IsNaN(lon) || math.IsInf(lon, 0):
		return FieldError(EINVALID, "geometry", "longitude is not a finite number")
	case math.IsNaN(lat) || math.IsInf(lat, 0):
		return FieldError(EINVALID, "geometry", "latitude is not a finite number")
	case lon < -180 || lon > 180:
		return FieldError(EINVALID, "geometry", "longitude out of range [-180, 180]")
	case lat < -90 || lat > 90:
		return FieldError(EINVALID, "geometry", "latitude out of range [-90, 90]")
	}
	return nil
}

// ValidPoint reports why p is not a usable WGS 84 position, or "" if it is:
// CheckPoint's message. New code should call CheckPoint, whose error names
// its field; api still calls this.
func ValidPoint(p orb.Point) string {
	if err := CheckPoint(p); err != nil {
		return ErrorMessage(err)
	}
	return ""
}

// CheckText returns an EINVALID *Error about field if s cannot be stored
// alike in both stores (PostgreSQL refuses NUL in text and text that is not
// UTF-8, SQLite keeps both), or nil.
func CheckText(field, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return FieldError(EINVALID, field, "text %q contains a NUL character", strings.ReplaceAll(s, "\x00", `\0`))
	}
	if !utf8.ValidString(s) {
		return FieldError(EINVALID, field, "text %q is not valid UTF-8", strings.ToValidUTF8(s, "\uFFFD"))
	}
	return nil
}

// CheckInt32 returns an EINVALID *Error about field if v does not fit the
// 32-bit integer columns of the stores, or nil.
func CheckInt32(field string, v int) error {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return FieldError(EINVALID, field, "%s %d is out of range", field, v)
	}
	return nil
}

// checkSourceID returns an EINVALID *Error about the source_id field,
// whose message starts with name, if id cannot be stored alike in both
// stores, or nil.
func checkSourceID(name, id string) error {
	if !utf8.ValidString(id) {
		return FieldError(EINVALID, "source_id", "%s is not valid UTF-8", name)
	}
	if strings.ContainsRune(id, 0) {
		return FieldError(EINVALID, "source_id", "%s contains a NUL character", name)
	}
	return nil
}

// Validate returns an EINVALID *Error naming the first thing wrong with h.
func (h Household) Validate() error {
	if h.ID == "" {
		return FieldError(EINVALID, "source_id", "id is empty")
	}
	if err := checkSourceID("id", h.ID); err != nil {
		return err
	}
	if err := CheckPoint(h.Point); err != nil {
		return err
	}
	if h.Households < 1 {
		return FieldError(EINVALID, "households", "households must be at least 1, got %d", h.Households)
	}
	return nil
}

// Validate returns an EINVALID *Error naming the first thing wrong with h.
func (h Hazard) Validate() error {
	if err := CheckPoint(h.Point); err != nil {
		return err
	}
	if err := checkSourceID("source_id", h.ID); err != nil {
		return err
	}
	// The category is checked against the taxonomy in use
	// (Taxonomy.CheckCategory) by whoever has one; a store only keeps
	// codes well-formed.
	if !codeRE.MatchString(h.Category) {
		return FieldError(EINVALID, "category", "category %q is not a category code (lower-case letters, digits and _)", h.Category)
	}
	if h.Severity < 1 || h.Severity > 3 {
		return FieldError(EINVALID, "severity", "severity must be 1, 2 or 3, got %d", h.Severity)
	}
	if _, err := ParseStatus(string(h.Status)); err != nil {
		return err
	}
	if h.RespLevel < 0 {
		return FieldError(EINVALID, "resp_level", "resp_level must be 0 (the county) or more, got %d", h.RespLevel)
	}
	if !utf8.ValidString(h.Note) || len(h.Note) > 4000 {
		return FieldError(EINVALID, "note", "note must be valid UTF-8 text of at most 4,000 bytes")
	}
	if h.ReportedAt.IsZero() {
		return FieldError(EINVALID, "reported_at", "reported_at is missing")
	}
	return nil
}

// Validate returns an EINVALID *Error naming the first thing wrong with c.
func (c Camera) Validate() error {
	if err := CheckPoint(c.Point); err != nil {
		return err
	}
	if err := checkSourceID("source_id", c.ID); err != nil {
		return err
	}
	switch {
	case !(c.Azimuth >= 0 && c.Azimuth < 360):
		return FieldError(EINVALID, "azimuth", "azimuth must be in [0, 360), got %v", c.Azimuth)
	case !(c.FOV > 0 && c.FOV <= 360):
		return FieldError(EINVALID, "fov", "fov must be in (0, 360], got %v", c.FOV)
	case !(c.RangeM > 0 && c.RangeM <= 10000):
		return FieldError(EINVALID, "range_m", "range_m must be in (0, 10000], got %v", c.RangeM)
	case !slices.Contains(CameraStatuses(), c.Status):
		return FieldError(EINVALID, "status", "unknown status %q (known: %v)", c.Status, CameraStatuses())
	}
	return nil
}

// Validate returns an EINVALID *Error naming the first thing wrong with a's
// geometry or fields: every ring closed, at least 4 positions, finite WGS 84
// coordinates.
func (a Area) Validate() error {
	if a.Code == "" {
		return FieldError(EINVALID, "code", "code is empty")
	}
	if len(a.Geometry) == 0 {
		return FieldError(EINVALID, "geometry", "area %s has no polygon", a.Code)
	}
	return ValidMultiPolygon(a.Geometry)
}

// ValidateStored is Validate and the one check more that a store makes:
// a level of at least 1. It is apart from Validate because importers set
// the level from the nesting after validating each area.
func (a Area) ValidateStored() error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.Level < 1 {
		return FieldError(EINVALID, "level", "area %s: level must be at least 1", a.Code)
	}
	return nil
}

// ValidMultiPolygon returns an EINVALID *Error about the "geometry" field
// naming the polygon, ring and problem of the first invalid ring of mp.
func ValidMultiPolygon(mp orb.MultiPolygon) error {
	for i, poly := range mp {
		if len(poly) == 0 {
			return FieldError(EINVALID, "geometry", "polygon %d has no rings", i)
		}
		for j, ring := range poly {
			if len(ring) < 4 {
				return FieldError(EINVALID, "geometry", "polygon %d ring %d has %d positions, needs at least 4", i, j, len(ring))
			}
			if ring[0] != ring[len(ring)-1] {
				return FieldError(EINVALID, "geometry", "polygon %d ring %d is not closed (first and last positions differ)", i, j)
			}
			for k, p := range ring {
				if err := CheckPoint(p); err != nil {
					return FieldError(EINVALID, "geometry", "polygon %d ring %d position %d: %s", i, j, k, ErrorMessage(err))
				}
			}
		}
	}
	return nil
}

// Validate returns an EINVALID *Error naming the first thing wrong with p
// or one of its grids, or an ECONFLICT one for a grid code used twice: every
// check a store makes before it writes a plan, so that both stores refuse
// the same plans alike, whole, and with nothing written.
func (p Plan) Validate() error {
	if p.Target <= 0 {
		return FieldError(EINVALID, "target", "plan target must be positive, got %d", p.Target)
	}
	if err := CheckInt32("target", p.Target); err != nil {
		return err
	}
	if err := CheckInt32("resolution", p.Resolution); err != nil {
		return err
	}
	codes := make(map[string]bool, len(p.Grids))
	for _, g := range p.Grids {
		if err := ValidMultiPolygon(g.Geometry); err != nil {
			return inField(err, "grids", "grid "+g.Code+": ")
		}
		if len(g.Geometry) == 0 {
			return FieldError(EINVALID, "grids.geometry", "grid %s has no polygon", g.Code)
		}
		if g.Households < 0 || g.Households > math.MaxInt32 {
			return FieldError(EINVALID, "grids.households", "grid %s: households must be 0 or more, got %d", g.Code, g.Households)
		}
		for _, f := range []struct{ name, value string }{{"code", g.Code}, {"parent_code", g.ParentCode}, {"name", g.Name}, {"worker", g.Worker}} {
			if err := CheckText(f.name, f.value); err != nil {
				return inField(err, "grids", "grid "+g.Code+": ")
			}
		}
		if codes[g.Code] {
			return FieldError(ECONFLICT, "grids.code", "duplicate grid code %q in plan", g.Code)
		}
		codes[g.Code] = true
	}
	return nil
}
