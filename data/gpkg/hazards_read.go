package gpkg

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/wangge/wangge/data"
)

// HazardsInParts is Hazards read as parts of the fid range at once, each
// on a connection of its own, for a load that needs every row at least as
// new as the feed's end when it began and applies later changes itself
// (live's Load): unlike Hazards' one read, the parts may see different
// commits, as if the rows had been read one part at a time.
//
// A province's hazards are most of its start-up (960,000 rows at 16×), so
// they are read as HouseholdPoints reads its points: from the SQLite
// driver's own connection, each part's rows into its own window of one
// list as long as the span of fids (no count first, no copy to join the
// parts). Through database/sql, its lock, conversions (an integer column
// into an int went through text) and copies per row were most of the
// read. The values are taken as they come only when they are of the types
// wangge writes; a row with any other (an integer id, a NULL note written
// by another program) makes it read the whole again with Hazards, whose
// conversions and errors stay the rule.
func (s *Store) HazardsInParts(ctx context.Context, parts int) ([]data.Hazard, error) {
	hz, err := s.hazardsInParts(ctx, parts)
	if errors.Is(err, errNotPlain) {
		return s.Hazards(ctx)
	}
	return hz, err
}

// hazardsInParts is HazardsInParts but for the one read: errNotPlain when
// a row holds a value of a type it does not take as it is.
func (s *Store) hazardsInParts(ctx context.Context, parts int) ([]data.Hazard, error) {
	var lo, hi sql.NullInt64
	// Two subqueries, as HouseholdPoints reads its span: one SELECT of
	// both scans a whole index.
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT min(fid) FROM hazards), (SELECT max(fid) FROM hazards)`).Scan(&lo, &hi); err != nil {
		return nil, mapErr(err, "read hazards")
	}
	if !lo.Valid {
		return []data.Hazard{}, nil
	}
	span := hi.Int64 - lo.Int64 + 1
	parts = int(min(max(int64(parts), 1), span))
	out := make([]data.Hazard, span)
	// Part k holds the fids in [from[k], from[k+1]) and writes its rows,
	// in fid order, from the start of out[from[k]-lo:]: a part with gaps
	// in its fids leaves the end of its window empty, closed up below.
	from := make([]int64, parts+1)
	for k := range from {
		from[k] = lo.Int64 + span*int64(k)/int64(parts)
	}
	got := make([]int, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for k := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			window := out[from[k]-lo.Int64 : from[k+1]-lo.Int64]
			got[k], errs[k] = s.readHazardRange(ctx, from[k], from[k+1], window)
		}()
	}
	wg.Wait()
	// errNotPlain only when no other error: a cancelled read is not read
	// again.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errors.Is(first, errNotPlain)) {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	n := 0
	for k := range parts {
		start := int(from[k] - lo.Int64)
		if n != start {
			copy(out[n:], out[start:start+got[k]])
		}
		n += got[k]
	}
	clear(out[n:]) // the moved rows' old places would keep their strings
	if int64(n) < span*3/4 {
		return slices.Clone(out[:n]), nil
	}
	return out[:n:n], nil
}

// errNotPlain is a hazard row that readHazardRange does not read itself.
var errNotPlain = errors.New("gpkg: a hazard row holds values of other types than wangge writes")

// readHazardRange reads the hazards of fids from to to-1, in fid order,
// into window (one place a fid, so it cannot overflow), and returns how
// many it read. As in eachHouseholdPoint, the rows are read on the
// driver's connection, and ctx is looked at every cancelEvery rows.
func (s *Store) readHazardRange(ctx context.Context, from, to int64, window []data.Hazard) (int, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return 0, mapErr(err, "read hazards")
	}
	defer conn.Close()
	n := 0
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driver.QueryerContext)
		if !ok {
			return data.Errorf(data.EINTERNAL, "gpkg: the SQLite driver cannot query")
		}
		var in interner
		row := make([]driver.Value, hazardColumnCount)
		return eachDriverRow(ctx, c, `SELECT `+hazardColumns+` FROM hazards WHERE fid >= ? AND fid < ? ORDER BY fid`, from, to, row, "read hazards", func() error {
			if n == len(window) {
				return data.Errorf(data.EINTERNAL, "gpkg: more hazards with fids in [%d, %d) than fids", from, to)
			}
			if !plainHazard(row, &window[n], &in) {
				return errNotPlain
			}
			n++
			return nil
		})
	})
	return n, err
}

// hazardColumnCount is the number of hazardColumns.
const hazardColumnCount = 14

// plainHazard fills h from a row of hazardColumns as ScanHazard would,
// when every value is of the type wangge writes: false when one is not,
// or the row does not read (a bad geometry or time), for ScanHazard to
// convert or refuse. Category, status, assignee and unit are interned, as
// hazardsInto does.
func plainHazard(row []driver.Value, h *data.Hazard, in *interner) bool {
	fid, ok0 := row[0].(int64)
	blob, ok1 := row[1].([]byte)
	id, ok2 := row[2].(string)
	category, ok3 := row[3].(string)
	severity, ok4 := row[4].(int64)
	status, ok5 := row[5].(string)
	note, ok6 := row[7].(string)
	assignee, ok7 := row[8].(string)
	unit, ok8 := row[9].(string)
	level, ok9 := row[10].(int64)
	if !(ok0 && ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8 && ok9) {
		return false
	}
	p, err := decodePoint(blob)
	if err != nil {
		return false
	}
	// An int is 64 bits wherever wangge builds, so the integers convert
	// as database/sql converts them.
	*h = data.Hazard{FID: fid, ID: id, Point: p, Category: in.of(category), Severity: int(severity), Status: data.Status(in.of(status)),
		Note: note, Assignee: in.of(assignee), RespCode: in.of(unit), RespLevel: int(level)}
	if h.ReportedAt, err = storedTime(row[6]); err != nil {
		return false
	}
	for i, t := range [...]*time.Time{&h.DueAt, &h.ResolvedAt, &h.ClosedAt} {
		if v := row[11+i]; v != nil {
			if *t, err = storedTime(v); err != nil {
				return false
			}
		}
	}
	return true
}
