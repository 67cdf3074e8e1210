package data

import (
	"slices"

	"github.com/paulmach/orb"
)

// Street is a road, river or railway line that grid boundaries should run
// along (issue 16). Kind says which; Class is the source's class (OSM
// highway or waterway: primary … residential, river, stream, rail), which
// gridgen turns into how strongly a grid edge is drawn to the line
// (gridgen.StreetWeight).
type Street struct {
	FID      int64
	ID       string // source id, unique in the store (the file's id, else its osm_id)
	Kind     string // road, water or rail
	Class    string
	Name     string
	OSMID    string
	Geometry orb.MultiLineString
}

// The kinds of street.
const (
	StreetRoad  = "road"
	StreetWater = "water"
	StreetRail  = "rail"
)

// StreetKinds lists the kinds a street may have.
func StreetKinds() []string { return []string{StreetRoad, StreetWater, StreetRail} }

// Unit is an organisation a grid must cover whole (实有单位): a school, an
// office, a factory. Its geometry is an orb.Point or an orb.MultiPolygon.
type Unit struct {
	FID      int64
	ID       string // source id, unique in the store
	Kind     string // school, office, landuse_industrial, …: free text, not empty
	Name     string
	Geometry orb.Geometry
}

// Validate returns an EINVALID *Error naming the first thing wrong with s.
func (s Street) Validate() error {
	if s.ID == "" {
		return FieldError(EINVALID, "source_id", "id is empty")
	}
	if err := checkSourceID("source_id", s.ID); err != nil {
		return err
	}
	if !slices.Contains(StreetKinds(), s.Kind) {
		return FieldError(EINVALID, "kind", "unknown street kind %q (known: road, water, rail)", s.Kind)
	}
	for _, f := range []struct{ name, value string }{{"class", s.Class}, {"name", s.Name}, {"osm_id", s.OSMID}} {
		if err := CheckText(f.name, f.value); err != nil {
			return err
		}
	}
	if len(s.Geometry) == 0 {
		return FieldError(EINVALID, "geometry", "street %s has no line", s.ID)
	}
	for i, l := range s.Geometry {
		if len(l) < 2 {
			return FieldError(EINVALID, "geometry", "line %d has %d positions, needs at least 2", i, len(l))
		}
		for k, p := range l {
			if err := CheckPoint(p); err != nil {
				return FieldError(EINVALID, "geometry", "line %d position %d: %s", i, k, ErrorMessage(err))
			}
		}
	}
	return nil
}

// Validate returns an EINVALID *Error naming the first thing wrong with u.
func (u Unit) Validate() error {
	if u.ID == "" {
		return FieldError(EINVALID, "source_id", "id is empty")
	}
	if err := checkSourceID("source_id", u.ID); err != nil {
		return err
	}
	if u.Kind == "" {
		return FieldError(EINVALID, "kind", "kind is empty")
	}
	for _, f := range []struct{ name, value string }{{"kind", u.Kind}, {"name", u.Name}} {
		if err := CheckText(f.name, f.value); err != nil {
			return err
		}
	}
	switch g := u.Geometry.(type) {
	case orb.Point:
		return CheckPoint(g)
	case orb.MultiPolygon:
		if len(g) == 0 {
			return FieldError(EINVALID, "geometry", "unit %s has no polygon", u.ID)
		}
		return ValidMultiPolygon(g)
	case nil:
		return FieldError(EINVALID, "geometry", "unit %s has no geometry", u.ID)
	default:
		return FieldError(EINVALID, "geometry", "a unit is a Point or a MultiPolygon, not a %s", g.GeoJSONType())
	}
}

// StreetOf returns the street a feature of the streets layer holds, as
// ScanFeature reads it.
func StreetOf(f Feature) (Street, error) {
	s := Street{FID: f.FID, ID: propString(f, "source_id"), Kind: propString(f, "kind"), Class: propString(f, "class"),
		Name: propString(f, "name"), OSMID: propString(f, "osm_id")}
	switch g := f.Geometry.(type) {
	case orb.MultiLineString:
		s.Geometry = g
	case orb.LineString:
		s.Geometry = orb.MultiLineString{g}
	default:
		return Street{}, Errorf(EINTERNAL, "street fid %d: geometry is a %T, want a MultiLineString", f.FID, f.Geometry)
	}
	return s, nil
}

// UnitOf returns the unit a feature of the units layer holds, as
// ScanFeature reads it.
func UnitOf(f Feature) (Unit, error) {
	u := Unit{FID: f.FID, ID: propString(f, "source_id"), Kind: propString(f, "kind"), Name: propString(f, "name")}
	switch g := f.Geometry.(type) {
	case orb.Point, orb.MultiPolygon:
		u.Geometry = g
	case orb.Polygon:
		u.Geometry = orb.MultiPolygon{g}
	default:
		return Unit{}, Errorf(EINTERNAL, "unit fid %d: geometry is a %T, want a Point or a MultiPolygon", f.FID, f.Geometry)
	}
	return u, nil
}

func propString(f Feature, name string) string {
	s, _ := f.Properties[name].(string)
	return s
}
