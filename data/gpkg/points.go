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
// what gridgen and coverage read. A province is 13 million rows: their ids
// would be 13 million strings to allocate, keep and have the collector
// scan, and one connection decoding rows is one core's work, so the rows
// are read in fid ranges on one connection per processor
// (readHouseholdPoints), into the range's window of one slice as long as
// the span of fids; the places of deleted rows are then closed up. No count is asked first: count(*) walks a whole
// index, 1.7 s of CPU at 13 million rows. Each connection reads its own
// snapshot, so a write during the read is seen by some ranges and not
// others, as if the rows had been read one range at a time.
func (s *Store) HouseholdPoints(ctx context.Context) ([]data.HouseholdPoint, error) {
	var lo, hi sql.NullInt64
	// Two subqueries: SQLite answers a lone min or max from the end of
	// the rowid tree, but both in one SELECT from a scan of a whole index
	// (0.3 s of CPU at 3.29M rows).
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT min(fid) FROM households), (SELECT max(fid) FROM households)`).Scan(&lo, &hi); err != nil {
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
			n, err := s.readHouseholdPoints(ctx, from, to, out[from-lo.Int64:to-lo.Int64])
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

// pointChunk is the span of fids readHouseholdPoints asks for at a time:
// an answer is two strings of about 86 and 10 KB, which hold no pointers
// for the collector to scan.
const pointChunk = 4096

// pointsQuery reads the households of a fid range as one row: their
// number, how many of their blobs are as encodePoint writes them (61 bytes
// starting "GP", version 0, little-endian with an XY envelope), the WKB of
// those blobs (from byte 40, 21 bytes each) one after the other, and their
// counts in decimal, separated by spaces. The WKB alone is a third of the
// blob: the driver copies every answer into a string, and 200 MB of those
// per read at 16× Montevideo (3.29M rows) made the collector run while the
// rest of coverage waited. SQLite visits a rowid range in rowid order and
// both aggregates take the rows as visited, so the i-th WKB and the i-th
// count are one row's, in fid order. An ORDER BY inside the aggregates
// would sort what is already sorted: 2.0 s of CPU against 0.9 s for 3.29M
// rows. NULL geometries are left out by group_concat and the sum, so the
// number of rows tells that apart.
//
// The header is checked by comparing blobs, not with another substr: a
// blob lies between x'47500003' and x'47500004' exactly when it starts
// with those four bytes, and the comparison allocates nothing (0.92–1.07
// against 1.08–1.15 s of CPU for 3.29M rows on one connection, load 6–7).
const pointsQuery = `SELECT count(*), sum(length(geom) = 61 AND geom >= x'47500003' AND geom < x'47500004'), group_concat(substr(geom, 41, 21), ''), group_concat(households, ' ') FROM households WHERE fid >= ? AND fid < ?`

// readHouseholdPoints reads the household points of fids from to to-1 into
// out (out[i] for fid from+i, as far as the rows go; a chunk's rows are
// packed at the start of its window when fids are missing, and the caller
// closes up the places left zero) and returns how many rows there were.
//
// It asks for pointChunk fids at a time with pointsQuery, one row of four
// values an answer instead of a row a household: SQLite's step and the
// driver's column read through cgo a row, and a copy of every blob, were
// most of a whole coverage at 16× Montevideo. A chunk with any blob not as
// encodePoint writes it (a point without an envelope or in big-endian, an
// empty one, another geometry) or a count that is not a positive integer
// is read again a row at a time (eachHouseholdPoint), which decodes or
// refuses each row as before.
func (s *Store) readHouseholdPoints(ctx context.Context, from, to int64, out []data.HouseholdPoint) (int64, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, mapErr(err, "read households")
	}
	defer conn.Close()
	rows := int64(0)
	err = conn.Raw(func(dc any) error {
		c, ok1 := dc.(driver.ConnPrepareContext)
		qc, ok2 := dc.(driver.QueryerContext)
		if !ok1 || !ok2 {
			return data.Errorf(data.EINTERNAL, "gpkg: the SQLite driver cannot prepare or query")
		}
		st, err := c.PrepareContext(ctx, pointsQuery)
		if err != nil {
			return mapErr(err, "read households")
		}
		defer st.Close()
		q, ok := st.(driver.StmtQueryContext)
		if !ok {
			return data.Errorf(data.EINTERNAL, "gpkg: the SQLite driver cannot query a statement")
		}
		row := make([]driver.Value, 4)
		for lo := from; lo < to; lo += pointChunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			hi := min(lo+pointChunk, to)
			// Without ctx: the driver would watch it on every step, and
			// a chunk is a few milliseconds.
			rs, err := q.QueryContext(context.WithoutCancel(ctx), []driver.NamedValue{{Ordinal: 1, Value: lo}, {Ordinal: 2, Value: hi}})
			if err != nil {
				return mapErr(err, "read households")
			}
			err = rs.Next(row)
			rs.Close()
			if err != nil {
				return mapErr(err, "read households")
			}
			window := out[lo-from : hi-from]
			if n, ok := parsePointChunk(row, window); ok {
				rows += int64(n)
				continue
			}
			clear(window)
			err = eachHouseholdPoint(ctx, qc, lo, hi, func(fid int64, h data.HouseholdPoint) error {
				out[fid-from] = h
				rows++
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return rows, err
}

// parsePointChunk reads pointsQuery's answer into out and returns the
// number of rows; ok is false when it is not a blob as encodePoint writes
// it holding a 2D point and a positive count for every row, and out may
// then hold part of it.
func parsePointChunk(row []driver.Value, out []data.HouseholdPoint) (n int, ok bool) {
	count, ok := row[0].(int64)
	if !ok || count > int64(len(out)) {
		return 0, false
	}
	if count == 0 {
		return 0, true
	}
	std, ok1 := row[1].(int64)
	wkb, ok2 := row[2].(string)
	counts, ok3 := row[3].(string)
	if !ok1 || !ok2 || !ok3 || std != count || len(wkb) != 21*int(count) {
		return 0, false
	}
	for i := range int(count) {
		// Little-endian, type 1 (Point): the envelope does not tell a
		// point from another geometry of the same length.
		w := wkb[21*i : 21*i+21]
		if w[:5] != "\x01\x01\x00\x00\x00" {
			return 0, false
		}
		h, more, ok := nextCount(counts)
		if !ok {
			return 0, false
		}
		out[i] = data.HouseholdPoint{Point: orb.Point{f64(w[5:]), f64(w[13:])}, Households: h}
		counts = more
	}
	return int(count), counts == ""
}

// f64 is the little-endian float64 at the start of b, written out so
// that the compiler makes it one load.
func f64(b string) float64 {
	_ = b[7]
	return math.Float64frombits(uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56)
}

// nextCount reads the decimal count at the start of s, up to a space, as
// the households column holds it (≥ 1; above MaxInt32 taken as MaxInt32,
// as eachHouseholdPoint does), and returns the rest after the space.
func nextCount(s string) (int32, string, bool) {
	v, i := int64(0), 0
	for ; i < len(s) && s[i] != ' '; i++ {
		d := s[i] - '0'
		if d > 9 || i > 18 {
			return 0, "", false
		}
		v = v*10 + int64(d)
	}
	if i == 0 || v < 1 {
		return 0, "", false
	}
	if i < len(s) {
		i++ // the space
	}
	return int32(min(v, math.MaxInt32)), s[i:], true
}

// eachHouseholdPoint calls fn for the households of fids from to to-1 in
// fid order, without their source ids, read a row at a time on the
// driver's connection c (database/sql's lock, conversion and copy per row
// were a sixth of such a read). A statement with a cancellable context
// costs two more context checks a row in the driver, so ctx is looked at
// every cancelEvery rows here instead.
func eachHouseholdPoint(ctx context.Context, c driver.QueryerContext, from, to int64, fn func(fid int64, h data.HouseholdPoint) error) error {
	row := make([]driver.Value, 3)
	return eachDriverRow(ctx, c, `SELECT fid, geom, households FROM households WHERE fid >= ? AND fid < ? ORDER BY fid`, from, to, row, "read households", func() error {
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
		return fn(fid, data.HouseholdPoint{Point: p, Households: int32(min(hh, math.MaxInt32))})
	})
}

// eachDriverRow runs query on the driver's connection c for the fids
// from to to-1 (its two arguments), reads each row into row and calls fn,
// looking at ctx every cancelEvery rows; what names the read in errors.
// The fid-range readers of households and hazards share it.
func eachDriverRow(ctx context.Context, c driver.QueryerContext, query string, from, to int64, row []driver.Value, what string, fn func() error) error {
	rows, err := c.QueryContext(context.WithoutCancel(ctx), query, []driver.NamedValue{{Ordinal: 1, Value: from}, {Ordinal: 2, Value: to}})
	if err != nil {
		return mapErr(err, "%s", what)
	}
	defer rows.Close()
	for n := 0; ; n++ {
		if n%cancelEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := rows.Next(row); err == io.EOF {
			return nil
		} else if err != nil {
			return mapErr(err, "%s", what)
		}
		if err := fn(); err != nil {
			return err
		}
	}
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
