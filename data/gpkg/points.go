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
// each answer is one string of about 250 KB of blobs, so the garbage a
// read leaves comes in pieces the collector frees without scanning.
const pointChunk = 4096

// pointsQuery reads the households of a fid range as one row: their
// number, their geometry blobs one after the other and their counts in
// decimal, separated by spaces. SQLite visits a rowid range in rowid order
// and both aggregates take the rows as visited, so the i-th blob and the
// i-th count are one row's, in fid order. An ORDER BY inside the
// aggregates would sort what is already sorted: 2.0 s of CPU against
// 0.9 s for 3.29M rows. NULL geometries are left out by group_concat, so
// the number of rows tells that apart.
const pointsQuery = `SELECT count(*), group_concat(geom, ''), group_concat(households, ' ') FROM households WHERE fid >= ? AND fid < ?`

// readHouseholdPoints reads the household points of fids from to to-1 into
// out (out[i] for fid from+i, as far as the rows go; a chunk's rows are
// packed at the start of its window when fids are missing, and the caller
// closes up the places left zero) and returns how many rows there were.
//
// It asks for pointChunk fids at a time with pointsQuery, one row and
// three values an answer instead of a row a household: SQLite's step and
// the driver's column read through cgo, and a copy of every blob, were
// 2.1 s of the 2.7 s of CPU a whole coverage took at 16× Montevideo; the
// chunked read takes 0.8–0.9 s, of which 0.5 s is SQLite visiting the
// columns at all. A chunk whose answer is not all well-formed 2D points in
// little-endian WKB with counts (an empty point, other geometry, another
// byte order) is read again a row at a time (eachHouseholdPoint), which
// decodes or refuses each row as before.
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
		row := make([]driver.Value, 3)
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
// number of rows; ok is false when it is not a point and a positive count
// for every row, and out may then hold part of it.
func parsePointChunk(row []driver.Value, out []data.HouseholdPoint) (n int, ok bool) {
	count, ok := row[0].(int64)
	if !ok || count > int64(len(out)) {
		return 0, false
	}
	if count == 0 {
		return 0, true
	}
	blobs, ok1 := row[1].(string)
	counts, ok2 := row[2].(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	for i := range int(count) {
		p, rest, ok := nextPoint(blobs)
		if !ok {
			return 0, false
		}
		h, more, ok := nextCount(counts)
		if !ok {
			return 0, false
		}
		out[i] = data.HouseholdPoint{Point: p, Households: h}
		blobs, counts = rest, more
	}
	return int(count), blobs == "" && counts == ""
}

// nextPoint reads the GeoPackage blob at the start of b when it is a
// non-empty 2D point in little-endian WKB, as encodePoint writes it (any
// envelope), and returns the rest of b.
func nextPoint(b string) (orb.Point, string, bool) {
	if len(b) < 8 || b[0] != 'G' || b[1] != 'P' {
		return orb.Point{}, "", false
	}
	flags := b[3]
	if flags&(1<<4) != 0 { // empty: the general decoder's case
		return orb.Point{}, "", false
	}
	start := 8
	switch (flags >> 1) & 7 {
	case 0:
	case 1:
		start += 32
	case 2, 3:
		start += 48
	case 4:
		start += 64
	default:
		return orb.Point{}, "", false
	}
	if len(b) < start+21 {
		return orb.Point{}, "", false
	}
	w := b[start : start+21]
	if w[0] != 1 || w[1] != 1 || w[2] != 0 || w[3] != 0 || w[4] != 0 {
		return orb.Point{}, "", false
	}
	return orb.Point{f64(w[5:]), f64(w[13:])}, b[start+21:], true
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
