package postgis

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wangge/wangge/data"
)

// Streets and units (issue 16, migration 0006): written through add like
// the other layers, read as features.

// AddStreet buffers a street line; ECONFLICT if its id exists.
func (t *Tx) AddStreet(ctx context.Context, s data.Street) (int64, error) {
	if err := s.Validate(); err != nil {
		return 0, err
	}
	return t.add(ctx, data.LayerStreets, s.ID, s.Geometry, s.ID, s.Kind, s.Class, s.Name, s.OSMID)
}

// AddUnit buffers a unit; ECONFLICT if its id exists.
func (t *Tx) AddUnit(ctx context.Context, u data.Unit) (int64, error) {
	if err := u.Validate(); err != nil {
		return 0, err
	}
	return t.add(ctx, data.LayerUnits, u.ID, u.Geometry, u.ID, u.Kind, u.Name)
}

// Streets returns every street line by fid.
func (s *Store) Streets(ctx context.Context) ([]data.Street, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Street, error) {
		return collect(ctx, db, "read streets", func(scan scanFunc) (data.Street, error) {
			f, err := data.ScanFeature(data.LayerStreets, scan, decodeGeom, false)
			if err != nil {
				return data.Street{}, err
			}
			return data.StreetOf(f)
		}, `SELECT `+data.FeatureColumns(data.LayerStreets)+` FROM streets ORDER BY fid`)
	})
}

// Units returns every unit by fid.
func (s *Store) Units(ctx context.Context) ([]data.Unit, error) {
	return readOn(ctx, s, func(db *pgxpool.Pool) ([]data.Unit, error) {
		return collect(ctx, db, "read units", func(scan scanFunc) (data.Unit, error) {
			f, err := data.ScanFeature(data.LayerUnits, scan, decodeGeom, false)
			if err != nil {
				return data.Unit{}, err
			}
			return data.UnitOf(f)
		}, `SELECT `+data.FeatureColumns(data.LayerUnits)+` FROM units ORDER BY fid`)
	})
}
