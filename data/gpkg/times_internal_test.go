package gpkg

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// Hazards read their time columns as the values the file holds
// (storedTime): every one must come out as it did when the driver turned
// DATETIME text into a time and parseTime read that time's text, whatever
// GDAL, QGIS or psql wrote there.
func TestHazardTimesAsTheDriverReadsThem(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	fid := addHazards(t, s, data.Hazard{ID: "z1", Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 2, Status: "reported",
		ReportedAt: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)})[0]
	for _, v := range storedTimes {
		if _, err := s.db.ExecContext(ctx, `UPDATE hazards SET reported_at = ?, due_at = ? WHERE fid = ?`, v, v, fid); err != nil {
			t.Fatal(err)
		}
		// What reading the columns bare gave: the driver's time as text,
		// parsed by parseTime.
		var at string
		var due sql.NullString
		if err := s.db.QueryRowContext(ctx, `SELECT reported_at, due_at FROM hazards WHERE fid = ?`, fid).Scan(&at, &due); err != nil {
			t.Fatal(err)
		}
		wantAt, err := parseTime(at)
		if err != nil {
			t.Fatal(err)
		}
		wantDue, err := parseTime(due.String)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Hazard(ctx, fid)
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if !got.ReportedAt.Equal(wantAt) || !got.DueAt.Equal(wantDue) {
			t.Errorf("%#v: reported_at %v, due_at %v; the driver's way gives %v, %v", v, got.ReportedAt, got.DueAt, wantAt, wantDue)
		}
	}
	// A REAL was an error through parseTime, and stays one.
	if _, err := s.db.ExecContext(ctx, `UPDATE hazards SET reported_at = 2460000.5 WHERE fid = ?`, fid); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Hazard(ctx, fid); err == nil {
		t.Error("a REAL reported_at was read as a time")
	}
}

// storedTimes are values another program may have stored in a time
// column: text of every shape, and integers.
var storedTimes = []any{
	"2025-03-01T09:00:00.000Z", "2025-03-01T09:00:00.123Z", "2024-02-29T23:59:59.999Z", "0000-01-01T00:00:00.000Z",
	"2025-03-01 09:00:00", "2025-03-01T09:00:00+08:00", "2025-03-01 09:00:00.5-03:00", "2025-03-01T09:00:00.123456789",
	"2025-03-01", "2025-03-01T09:00", "2025-03-01 09:00Z",
	// Out of range or not a time at all: the driver's zero time.
	"2025-02-30T09:00:00.000Z", "2025-04-31T00:00:00.000Z", "2025-13-01T00:00:00.000Z", "2025-03-01T24:00:00.000Z",
	"2025-03-01T09:00:00,000Z", "2025-0a-01T09:00:00.000Z", "yesterday", "",
	// Unix seconds and milliseconds, as integers.
	int64(1700000000), int64(1700000000123), int64(-5),
}

// addHazards adds hs to s in one transaction and returns their fids.
func addHazards(t *testing.T, s *Store, hs ...data.Hazard) []int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fids := make([]int64, len(hs))
	for i, h := range hs {
		if fids[i], err = tx.AddHazard(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return fids
}
