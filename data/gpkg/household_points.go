package gpkg

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"io"
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
	// Each range fills its own stretch of one pair of slices, sized for
	// dense fids (as imports leave them; bounded, so that sparse fids
	// written by another tool cannot ask for gigabytes up front); the
	// stretches are then moved together over the gaps, in place. Joining
	// slices of their own instead cost a copy of them all (92 MB at 16×).
	n := min(span, 1<<24)
	pts, counts := make([]orb.Point, n), make([]int32, n)
	type part struct {
		pts    []orb.Point
		counts []int32
		err    error
	}
	res := make([]part, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := first.Int64+span*i/parts, first.Int64+span*(i+1)/parts
		// Beyond the bound a range appends to slices of its own.
		o0, o1 := min(lo-first.Int64, n), min(hi-first.Int64, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &res[i]
			p.pts, p.counts, p.err = s.householdPoints(ctx, lo, hi, pts[o0:o0:o1], counts[o0:o0:o1])
		}()
	}
	wg.Wait()
	at := 0
	for _, p := range res {
		if p.err != nil {
			return nil, nil, p.err
		}
		// copy moves within the slice when p's stretch is in it (its
		// start is never before at) and copies p's own slices otherwise.
		if at+len(p.pts) > len(pts) {
			pts, counts = append(pts[:at], p.pts...), append(counts[:at], p.counts...)
		} else {
			copy(pts[at:], p.pts)
			copy(counts[at:], p.counts)
		}
		at += len(p.pts)
	}
	return pts[:at], counts[:at], nil
}

// householdPoints appends the household points of fids lo ≤ fid < hi to
// pts and counts. The rows are read from the driver's connection itself:
// database/sql's lock and conversions a row were 30 % of the CPU of a
// read (3.29M rows: 1.94 s, 1.35 s without them).
func (s *Store) householdPoints(ctx context.Context, lo, hi int64, pts []orb.Point, counts []int32) ([]orb.Point, []int32, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, mapErr(err, "read households")
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("gpkg: driver connection %T cannot query", dc)
		}
		// The driver watches a cancellable context on every row (a lock
		// and two checks); ctx is checked here every 65,536 rows instead.
		rows, err := c.QueryContext(context.WithoutCancel(ctx), `SELECT geom, households FROM households WHERE fid >= ? AND fid < ? ORDER BY fid`,
			[]driver.NamedValue{{Ordinal: 1, Value: lo}, {Ordinal: 2, Value: hi}})
		if err != nil {
			return err
		}
		defer rows.Close()
		row := make([]driver.Value, 2)
		for {
			if len(pts)&0xffff == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if err := rows.Next(row); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			// The fid is not read, a column less a row: an error names
			// the range and the row's place in it.
			blob, _ := row[0].([]byte)
			households, ok := row[1].(int64)
			if !ok {
				return fmt.Errorf("household row %d from fid %d: households %v is no integer", len(pts)+1, lo, row[1])
			}
			p, err := decodePoint(blob)
			if err != nil {
				return fmt.Errorf("household row %d from fid %d: %w", len(pts)+1, lo, err)
			}
			pts = append(pts, p)
			counts = append(counts, int32(min(max(households, math.MinInt32), math.MaxInt32)))
		}
	})
	if err != nil {
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
