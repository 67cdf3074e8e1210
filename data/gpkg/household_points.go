package gpkg

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// HouseholdPoints returns the point and household count of every household
// point, in fid order, in two slices of the same length. It is what camera
// coverage reads of a province (3.29M rows at 16× Montevideo): two columns
// into preallocated slices and a WKB point decoded in place, where
// EachHousehold makes a record with its source id and a decoded geometry a
// row, two and a half times the CPU (docs/BENCHMARKS.md, issue 20).
func (s *Store) HouseholdPoints(ctx context.Context) ([]orb.Point, []int32, error) {
	// max(fid) is a lookup at the end of the table's b-tree: a capacity
	// that fits every row when fids are dense, as imports leave them.
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT max(fid) FROM households`).Scan(&last); err != nil {
		return nil, nil, mapErr(err, "read households")
	}
	// Bounded so that a fid far beyond the rows (written by another tool)
	// cannot ask for gigabytes up front.
	n := int(min(max(last.Int64, 0), 1<<26))
	pts, counts := make([]orb.Point, 0, n), make([]int32, 0, n)
	rows, err := s.db.QueryContext(ctx, `SELECT geom, households FROM households ORDER BY fid`)
	if err != nil {
		return nil, nil, mapErr(err, "read households")
	}
	defer rows.Close()
	var blob sql.RawBytes
	var households int64
	for rows.Next() {
		if err := rows.Scan(&blob, &households); err != nil {
			return nil, nil, mapErr(err, "read households")
		}
		p, err := decodePoint(blob)
		if err != nil {
			return nil, nil, fmt.Errorf("household point %d: %w", len(pts)+1, err)
		}
		pts = append(pts, p)
		counts = append(counts, int32(min(max(households, math.MinInt32), math.MaxInt32)))
	}
	if err := rows.Err(); err != nil {
		return nil, nil, mapErr(err, "read households")
	}
	return pts, counts, nil
}

// decodePoint decodes a blob holding a point: a plain 2D WKB point (what
// wangge and GDAL write) in place, anything else through decodeGeom.
func decodePoint(b []byte) (orb.Point, error) {
	h, err := parseHeader(b)
	if err != nil {
		return orb.Point{}, err
	}
	if w := b[h.wkbStart:]; !h.empty && len(w) == 21 && (w[0] == 0 || w[0] == 1) {
		var order binary.ByteOrder = binary.BigEndian
		if w[0] == 1 {
			order = binary.LittleEndian
		}
		if order.Uint32(w[1:]) == 1 {
			return orb.Point{math.Float64frombits(order.Uint64(w[5:])), math.Float64frombits(order.Uint64(w[13:]))}, nil
		}
	}
	g, err := decodeGeom(b)
	if err != nil {
		return orb.Point{}, err
	}
	p, ok := g.(orb.Point)
	if !ok {
		if g == nil {
			return orb.Point{}, errNotGPKG
		}
		return orb.Point{}, fmt.Errorf("expected a point, found %s", g.GeoJSONType())
	}
	return p, nil
}
