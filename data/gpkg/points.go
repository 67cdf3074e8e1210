package gpkg

import (
	"context"
	"database/sql"
	"encoding/binary"
	"math"
	"runtime"
	"sync"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// HouseholdPoints returns every household point by fid without its source
// id: what gridgen reads. A province is 13 million rows: their ids would be
// 13 million strings to allocate, keep and have the collector scan, and
// one connection decoding rows is a single core's work, so the rows are
// read in fid ranges on one connection per processor, each into its place
// in one slice sized from a count. That needs fids without gaps (as an
// import leaves them); otherwise, or when the rows changed between the
// count and the ranges (each connection reads its own snapshot), they are
// read again on one connection.
func (s *Store) HouseholdPoints(ctx context.Context) ([]data.Household, error) {
	var n, lo, hi int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(min(fid), 0), coalesce(max(fid), 0) FROM households`).Scan(&n, &lo, &hi)
	if err != nil {
		return nil, mapErr(err, "read households")
	}
	if n > 0 && hi-lo+1 == n {
		out, ok, err := s.householdRanges(ctx, lo, n)
		if err != nil || ok {
			return out, err
		}
	}
	out := make([]data.Household, 0, n)
	err = s.eachHouseholdPoint(ctx, math.MinInt64, math.MaxInt64, func(h data.Household) error {
		out = append(out, h)
		return nil
	})
	return out, err
}

// householdRanges reads the n households of fids lo to lo+n-1 in parallel
// ranges; ok is false when the fids found were not exactly those.
func (s *Store) householdRanges(ctx context.Context, lo, n int64) ([]data.Household, bool, error) {
	out := make([]data.Household, n)
	parts := int64(runtime.GOMAXPROCS(0))
	step := (n + parts - 1) / parts
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		seen  int64
		stray bool
	)
	for from := lo; from < lo+n; from += step {
		to := min(from+step, lo+n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, bad := int64(0), false
			err := s.eachHouseholdPoint(ctx, from, to, func(h data.Household) error {
				if i := h.FID - lo; i >= 0 && i < n {
					out[i] = h
					got++
				} else {
					bad = true
				}
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			seen += got
			stray = stray || bad
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, false, first
	}
	return out, seen == n && !stray, nil
}

// eachHouseholdPoint calls fn for the households of fids from to to-1 in
// fid order, without their source ids.
func (s *Store) eachHouseholdPoint(ctx context.Context, from, to int64, fn func(data.Household) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT fid, geom, households FROM households WHERE fid >= ? AND fid < ? ORDER BY fid`, from, to)
	if err != nil {
		return mapErr(err, "read households")
	}
	defer rows.Close()
	var blob sql.RawBytes
	for rows.Next() {
		var h data.Household
		if err := rows.Scan(&h.FID, &blob, &h.Households); err != nil {
			return mapErr(err, "read households")
		}
		if h.Point, err = decodePoint(blob); err != nil {
			return data.Wrap(data.EINTERNAL, err, "household %d", h.FID)
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), "read households")
}

// decodePoint reads a point's blob in place, as encodePoint writes it, and
// any other through decodeGeom: the general decoder allocates its geometry,
// 13 million times a province.
func decodePoint(b []byte) (orb.Point, error) {
	h, err := parseHeader(b)
	if err != nil {
		return orb.Point{}, err
	}
	if w := b[h.wkbStart:]; !h.empty && len(w) == 21 && w[0] == 1 && binary.LittleEndian.Uint32(w[1:]) == 1 {
		return orb.Point{
			math.Float64frombits(binary.LittleEndian.Uint64(w[5:])),
			math.Float64frombits(binary.LittleEndian.Uint64(w[13:])),
		}, nil
	}
	return geom.Point(b)
}
