package data

import (
	"errors"
	"fmt"

	"github.com/paulmach/orb"
)

// GeomDecoder turns a store's geometry bytes into orb: the GeoPackage
// binary form (a header, then WKB) or PostGIS's EWKB.
type GeomDecoder func([]byte) (orb.Geometry, error)

// MultiPolygon decodes b as a multipolygon; a polygon becomes a
// multipolygon of one.
func (d GeomDecoder) MultiPolygon(b []byte) (orb.MultiPolygon, error) {
	g, err := d(b)
	if err != nil {
		return nil, err
	}
	switch g := g.(type) {
	case orb.MultiPolygon:
		return g, nil
	case orb.Polygon:
		return orb.MultiPolygon{g}, nil
	}
	return nil, fmt.Errorf("expected a polygon, found %s", g.GeoJSONType())
}

// Point decodes b as a point.
func (d GeomDecoder) Point(b []byte) (orb.Point, error) {
	g, err := d(b)
	if err != nil {
		return orb.Point{}, err
	}
	p, ok := g.(orb.Point)
	if !ok {
		return orb.Point{}, fmt.Errorf("expected a point, found %s", g.GeoJSONType())
	}
	return p, nil
}

// One returns the first of rows, read by a query for one record, or an
// ENOTFOUND *Error with the message when there is none; an error from the
// query is returned as it is.
func One[T any](rows []T, err error, format string, args ...any) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if len(rows) == 0 {
		return zero, Errorf(ENOTFOUND, format, args...)
	}
	return rows[0], nil
}

// KeyField returns the property that is a layer's unique key: an area's
// or a grid's code, the source id of the others.
func KeyField(layer Layer) string {
	if layer == LayerAreas || layer == LayerGrids {
		return "code"
	}
	return "source_id"
}

// DuplicateKey returns the message of the ECONFLICT error for a record of
// layer whose unique key (KeyField) is stored already.
func DuplicateKey(layer Layer, key string) string {
	if layer == LayerAreas {
		return fmt.Sprintf("duplicate area code %q", key)
	}
	return fmt.Sprintf("duplicate id %q", key)
}

// OnKey names the layer's KeyField in an ECONFLICT *Error that does not
// name a field yet (a duplicate found by a store's unique index); other
// errors are returned as they are.
func OnKey(err error, layer Layer) error {
	var e *Error
	if errors.As(err, &e) && e.Code == ECONFLICT && e.Field == "" {
		return &Error{Code: e.Code, Field: KeyField(layer), Message: e.Message, Err: e.Err}
	}
	return err
}
