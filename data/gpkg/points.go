package gpkg

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// HouseholdPoints returns every household point by fid without its ids:
// what gridgen reads. A province is 13 million rows: their ids would be
// 13 million strings to allocate, keep and have the collector scan, and
// one connection decoding rows is one core's work, so the rows are read in
// fid ranges on one connection per processor, each row into its place by
// fid in one slice as long as the span of fids; the places of deleted
// rows are then closed up. No count is asked first: count(*) walks a whole
// index, 1.7 s of CPU at 13 million rows. Each connection reads its own
// snapshot, so a write during the read is seen by some ranges and not
// others, as if the rows had been read one range at a time.
func (s *Store) HouseholdPoints(ctx context.Context) ([]data.HouseholdPoint, error) {
	var lo, hi sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT min(fid), max(fid) FROM households`).Scan(&lo, &hi); err != nil {
		return nil, mapErr(err, "read households")
	}
	if !lo.Valid {
		return nil, nil
	}
	span := hi.Int64 - lo.Int64 + 1
	out := make([]data.HouseholdPoint, span)
	parts := int64(runtime.GOMAXPROCS(0))
	step := (span + parts - 1) / parts
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		rows  int64
	)
	for from := lo.Int64; from <= hi.Int64; from += step {
		to := min(from+step, hi.Int64+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(0)
			err := s.eachHouseholdPoint(ctx, from, to, func(fid int64, h data.HouseholdPoint) error {
				out[fid-lo.Int64] = h
				n++
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			rows += n
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if rows == span {
		return out, nil
	}
	// Places of deleted fids hold the zero HouseholdPoint (a stored one has
	// at least one household).
	n := 0
	for _, h := range out {
		if h.Households != 0 {
			out[n] = h
			n++
		}
	}
	if int64(n) < span*3/4 {
		return slices.Clone(out[:n]), nil
	}
	return out[:n], nil
}

// eachHouseholdPoint calls fn for the households of fids from to to-1 in
// fid order, without their source ids. The rows are read from the driver's
// connection itself: database/sql's lock, conversion and copy per row were
// a sixth of the read, and a statement with a cancellable context costs
// two more context checks a row in the driver, so ctx is looked at every
// cancelEvery rows here instead.
func (s *Store) eachHouseholdPoint(ctx context.Context, from, to int64, fn func(fid int64, h data.HouseholdPoint) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return mapErr(err, "read households")
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(driver.QueryerContext)
		if !ok {
			return data.Errorf(data.EINTERNAL, "gpkg: the SQLite driver cannot query")
		}
		rows, err := c.QueryContext(context.WithoutCancel(ctx), `SELECT fid, geom, households FROM households WHERE fid >= ? AND fid < ? ORDER BY fid`,
			[]driver.NamedValue{{Ordinal: 1, Value: from}, {Ordinal: 2, Value: to}})
		if err != nil {
			return mapErr(err, "read households")
		}
		defer rows.Close()
		row := make([]driver.Value, 3)
		for n := 0; ; n++ {
			if n%cancelEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := rows.Next(row); err == io.EOF {
				return nil
			} else if err != nil {
				return mapErr(err, "read households")
			}
			fid, ok1 := row[0].(int64)
			blob, ok2 := row[1].([]byte)
			hh, ok3 := row[2].(int64)
			if !ok1 || !ok2 || !ok3 {
				return data.Errorf(data.EINTERNAL, "household row %v: want an integer fid, a geometry blob and an integer count", row)
			}
			p, err := decodePoint(blob)
			if err != nil {
				return data.Wrap(data.EINTERNAL, err, "household %d", fid)
			}
			if err := fn(fid, data.HouseholdPoint{Point: p, Households: int32(min(hh, math.MaxInt32))}); err != nil {
				return err
			}
		}
	})
}

// cancelEvery is how many household rows are read between looks at the
// context.
const cancelEvery = 4096

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
