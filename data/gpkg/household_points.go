package gpkg

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/paulmach/orb"
)

// HouseholdPoints returns the point and household count of every household
// point, in fid order, in two slices of the same length. It is what camera
// coverage reads of a province (3.29M rows at 16× Montevideo): two columns
// into preallocated slices and a WKB point decoded in place, where
// EachHousehold makes a record with its source id and a decoded geometry a
// row, two and a half times the CPU (docs/BENCHMARKS.md, issue 20).
//
// The fids are read in GOMAXPROCS ranges at once, on connections of their
// own: the cost is SQLite's and the driver's per row, on one core each.
// The ranges are read in transactions of their own, so a write committed
// while they run may be seen by some ranges and not others; household
// points change by imports, and the coverage reads them again after one.
func (s *Store) HouseholdPoints(ctx context.Context) ([]orb.Point, []int32, error) {
	// Each is a lookup at one end of the table's b-tree.
	var first, last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT min(fid) FROM households), (SELECT max(fid) FROM households)`).Scan(&first, &last); err != nil {
		return nil, nil, mapErr(err, "read households")
	}
	if !first.Valid || !last.Valid {
		return nil, nil, nil
	}
	span := last.Int64 - first.Int64 + 1
	parts := int64(max(1, min(runtime.GOMAXPROCS(0), 8)))
	if span < 1<<12 {
		parts = 1
	}
	type part struct {
		pts    []orb.Point
		counts []int32
		err    error
	}
	res := make([]part, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := first.Int64+span*i/parts, first.Int64+span*(i+1)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &res[i]
			p.pts, p.counts, p.err = s.householdPoints(ctx, lo, hi)
		}()
	}
	wg.Wait()
	if parts == 1 {
		return res[0].pts, res[0].counts, res[0].err
	}
	n := 0
	for _, p := range res {
		if p.err != nil {
			return nil, nil, p.err
		}
		n += len(p.pts)
	}
	pts, counts := make([]orb.Point, 0, n), make([]int32, 0, n)
	for _, p := range res {
		pts, counts = append(pts, p.pts...), append(counts, p.counts...)
	}
	return pts, counts, nil
}

// householdPoints reads the household points of fids lo ≤ fid < hi.
func (s *Store) householdPoints(ctx context.Context, lo, hi int64) ([]orb.Point, []int32, error) {
	// Imports leave fids dense: the range's size fits every row. Bounded
	// so that sparse fids (written by another tool) cannot ask for
	// gigabytes up front.
	n := int(min(hi-lo, 1<<24))
	pts, counts := make([]orb.Point, 0, n), make([]int32, 0, n)
	rows, err := s.db.QueryContext(ctx, `SELECT fid, geom, households FROM households WHERE fid >= ? AND fid < ? ORDER BY fid`, lo, hi)
	if err != nil {
		return nil, nil, mapErr(err, "read households")
	}
	defer rows.Close()
	var fid, households int64
	var blob sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&fid, &blob, &households); err != nil {
			return nil, nil, mapErr(err, "read households")
		}
		p, err := decodePoint(blob)
		if err != nil {
			return nil, nil, fmt.Errorf("household %d: %w", fid, err)
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
