package data

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data/cql2"
)

// Kind is the type of a feature property's value.
type Kind byte

// The kinds of property values. Features carry them as string, int64,
// float64 and RFC 3339 text (time), or nil where a value is missing.
const (
	KindString Kind = iota
	KindInteger
	KindReal
	KindTime
)

// Property is an attribute of a layer served as a feature property: a
// column of the same name in both stores.
type Property struct {
	Name       string
	Kind       Kind
	Filterable bool // items can be filtered on it (Query.Filter, CQL2)
}

// Properties lists a layer's attributes served as feature properties, in
// the order the stores select them; the filterable ones come in the order
// Filterable lists them. Grid cells are left out: they are for gridgen,
// not for maps. It is the one declaration of them: the stores build their
// SELECT lists, scans and queryables from it. Nil for a layer that is not
// one.
func Properties(layer Layer) []Property {
	switch layer {
	case LayerAreas:
		return []Property{{"code", KindString, false}, {"name", KindString, false}, {"name_en", KindString, false},
			{"level", KindInteger, true}, {"admin_level", KindInteger, false}, {"parent_code", KindString, true}, {"osm_id", KindString, false}}
	case LayerGrids:
		return []Property{{"plan_id", KindInteger, false}, {"code", KindString, false}, {"parent_code", KindString, true}, {"name", KindString, false},
			{"households", KindInteger, false}, {"area_m2", KindReal, false}, {"worker", KindString, false}}
	case LayerHazards:
		return []Property{{"source_id", KindString, false}, {"category", KindString, true}, {"status", KindString, true},
			{"severity", KindInteger, true}, {"reported_at", KindTime, false}, {"note", KindString, false},
			{"assignee", KindString, true}, {"resp_code", KindString, true}, {"resp_level", KindInteger, true},
			{"due_at", KindTime, false}, {"resolved_at", KindTime, false}, {"closed_at", KindTime, false}}
	case LayerCameras:
		return []Property{{"source_id", KindString, false}, {"azimuth", KindReal, false}, {"fov", KindReal, false},
			{"range_m", KindReal, false}, {"status", KindString, true}}
	case LayerHouseholds:
		return []Property{{"source_id", KindString, false}, {"households", KindInteger, false}}
	case LayerStreets:
		return []Property{{"source_id", KindString, false}, {"kind", KindString, true}, {"class", KindString, true},
			{"name", KindString, false}, {"osm_id", KindString, false}}
	case LayerUnits:
		return []Property{{"source_id", KindString, false}, {"kind", KindString, true}, {"name", KindString, false}}
	}
	return nil
}

// Filterable lists the properties a layer's items can be filtered on,
// derived from Properties; empty for a layer with none.
func Filterable(layer Layer) []string {
	names := []string{}
	for _, p := range Properties(layer) {
		if p.Filterable {
			names = append(names, p.Name)
		}
	}
	return names
}

// PropertyNames returns the names of a layer's properties, in order.
func PropertyNames(layer Layer) []string {
	names := make([]string, 0, len(Properties(layer)))
	for _, p := range Properties(layer) {
		names = append(names, p.Name)
	}
	return names
}

// PropertyOf returns the property of a layer called name.
func PropertyOf(layer Layer, name string) (Property, bool) {
	for _, p := range Properties(layer) {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}

// ScanFeature reads one row "fid, geom, <the layer's properties>" into a
// feature. scan is the driver's Scan (database/sql and pgx both fill
// pointers to pointers, nil for NULL); decode turns the store's geometry
// bytes into orb. With timeText a KindTime column is read as the text the
// store keeps (SQLite); otherwise as a time.Time given as RFC 3339 text in
// UTC. The error of scan is returned as it is.
func ScanFeature(layer Layer, scan func(dest ...any) error, decode func([]byte) (orb.Geometry, error), timeText bool) (Feature, error) {
	props := Properties(layer)
	var f Feature
	var blob []byte
	dest := make([]any, 2, 2+len(props))
	dest[0], dest[1] = &f.FID, &blob
	for _, p := range props {
		switch {
		case p.Kind == KindInteger:
			dest = append(dest, new(*int64))
		case p.Kind == KindReal:
			dest = append(dest, new(*float64))
		case p.Kind == KindTime && !timeText:
			dest = append(dest, new(*time.Time))
		default:
			dest = append(dest, new(*string))
		}
	}
	if err := scan(dest...); err != nil {
		return Feature{}, err
	}
	g, err := decode(blob)
	if err != nil {
		return Feature{}, fmt.Errorf("%s fid %d: %w", layer, f.FID, err)
	}
	f.Geometry = g
	f.Properties = make(map[string]any, len(props))
	for i, p := range props {
		var v any
		switch d := dest[2+i].(type) {
		case **int64:
			if *d != nil {
				v = **d
			}
		case **float64:
			if *d != nil {
				v = **d
			}
		case **time.Time:
			if *d != nil {
				v = (*d).UTC().Format(time.RFC3339Nano)
			}
		case **string:
			if *d != nil {
				v = **d
			}
		}
		f.Properties[p.Name] = v
	}
	return f, nil
}

// Queryables returns what a CQL2 filter on a layer may name, but for its
// geometry, whose column each store describes: its filterable properties
// and its temporal property, each a column of the same name.
func Queryables(layer Layer) []cql2.Queryable {
	types := map[Kind]cql2.Type{KindString: cql2.String, KindInteger: cql2.Integer, KindReal: cql2.Number, KindTime: cql2.Timestamp}
	var qs []cql2.Queryable
	for _, p := range Properties(layer) {
		if p.Filterable {
			qs = append(qs, cql2.Queryable{Name: p.Name, Type: types[p.Kind], Column: p.Name})
		}
	}
	if t := TimeProperty(layer); t != "" {
		qs = append(qs, cql2.Queryable{Name: t, Type: cql2.Timestamp, Column: t})
	}
	return qs
}

// FeatureColumns returns the columns ScanFeature reads for a layer:
// "fid, geom, <its properties>".
func FeatureColumns(layer Layer) string {
	return strings.Join(append([]string{"fid", "geom"}, PropertyNames(layer)...), ", ")
}

// CheckLayer returns an ENOTFOUND *Error if layer is not one a store
// keeps features of, or nil.
func CheckLayer(layer Layer) error {
	if Properties(layer) == nil {
		return Errorf(ENOTFOUND, "unknown layer %q", layer)
	}
	return nil
}

// FilterKeys returns the properties a Query.Filter names, sorted, or an
// EINVALID *Error if one of them is not filterable on layer.
func FilterKeys(layer Layer, filter map[string]string) ([]string, error) {
	keys := make([]string, 0, len(filter))
	for k := range filter {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(Filterable(layer), k) {
			return nil, FieldError(EINVALID, k, "%s cannot be filtered by %q (filterable: %s)", layer, k, strings.Join(Filterable(layer), ", "))
		}
	}
	return keys, nil
}
