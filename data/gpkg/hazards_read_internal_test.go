package gpkg

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// HazardsInParts reads each hazard as Hazards does (through database/sql
// and ScanHazard), whatever another program wrote in its columns: the
// values wangge writes are read on the driver's connection, the others
// make it read the whole again with Hazards, errors included.
func TestHazardsInPartsReadAsHazards(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	fid := addHazards(t, s,
		data.Hazard{ID: "a", Point: orb.Point{9.5, 47.1}, Category: "fire", Severity: 2, Status: "reported", ReportedAt: at},
		data.Hazard{ID: "b", Point: orb.Point{9.51, 47.11}, Category: "water", Severity: 3, Status: data.StatusResolved, ReportedAt: at.Add(time.Hour),
			Note: "fixed", Assignee: "w1", RespCode: "LI01", RespLevel: 2, DueAt: at.Add(48 * time.Hour),
			ResolvedAt: at.Add(2 * time.Hour)},
		data.Hazard{ID: "c", Point: orb.Point{9.52, 47.12}, Category: "fire", Severity: 1, Status: data.StatusClosed, ReportedAt: at.Add(3 * time.Hour),
			ResolvedAt: at.Add(4 * time.Hour), ClosedAt: at.Add(5 * time.Hour)},
	)[0]
	// same checks that HazardsInParts, on 1 and 2 parts, reads what
	// Hazards reads, or fails as it does; plain says whether the driver's
	// values were taken as they are.
	same := func(label string, plain bool) {
		t.Helper()
		want, wantErr := s.Hazards(ctx)
		for _, parts := range []int{1, 2} {
			got, err := s.HazardsInParts(ctx, parts)
			if (err != nil) != (wantErr != nil) || (err == nil && !reflect.DeepEqual(got, want)) {
				t.Errorf("%s, %d parts: %+v, %v; Hazards reads %+v, %v", label, parts, got, err, want, wantErr)
			}
			if _, err := s.hazardsInParts(ctx, parts); plain != !errors.Is(err, errNotPlain) {
				t.Errorf("%s, %d parts: read on the driver's connection %v, want %v (%v)", label, parts, !plain, plain, err)
			}
		}
	}
	same("as written", true)
	// The times of TestHazardTimesAsTheDriverReadsThem, text and integers,
	// read on the driver's connection (REAL and BLOB below).
	for _, v := range storedTimes {
		if _, err := s.db.ExecContext(ctx, `UPDATE hazards SET reported_at = ?, due_at = ?, closed_at = ? WHERE fid = ?`, v, v, v, fid); err != nil {
			t.Fatal(err)
		}
		same("time "+reflect.ValueOf(v).String(), true)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE hazards SET reported_at = ?, due_at = NULL, closed_at = NULL WHERE fid = ?`, "2025-03-01T09:00:00.000Z", fid); err != nil {
		t.Fatal(err)
	}
	// Values of other types than wangge writes, where the columns'
	// affinities let another program (GDAL, psql) store them: each
	// converted, or refused, as database/sql does.
	for _, c := range []struct{ label, set, reset string }{
		{"REAL time", `reported_at = 2460000.5`, `reported_at = '2025-03-01T09:00:00.000Z'`},
		{"BLOB time", `due_at = x'00'`, `due_at = NULL`},
		{"BLOB id", `source_id = x'6869'`, `source_id = 'a'`},
		{"BLOB note", `note = x'6869'`, `note = ''`},
		{"word severity", `severity = 'high'`, `severity = 2`},
		{"REAL severity", `severity = 2.5`, `severity = 2`},
		{"REAL level", `resp_level = 0.5`, `resp_level = 0`},
	} {
		t.Run(c.label, func(t *testing.T) {
			conn, err := s.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// The severity's CHECK is the file's, not another program's.
			for _, q := range []string{`PRAGMA ignore_check_constraints = 1`, `UPDATE hazards SET ` + c.set + ` WHERE fid = ?`} {
				if _, err := conn.ExecContext(ctx, q, fid); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			same(c.label, false)
			for _, q := range []string{`UPDATE hazards SET ` + c.reset + ` WHERE fid = ?`, `PRAGMA ignore_check_constraints = 0`} {
				if _, err := conn.ExecContext(ctx, q, fid); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			same(c.label+", undone", true)
		})
	}
}
