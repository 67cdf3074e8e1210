package live

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wangge/wangge/data"
)

// TestRollupIsTheGridFigures: a rollup's grid rows are exactly the figures
// /v1/grids/stats gives each grid (GridAssignment.Figures, over the table
// of stats_test.go), its county row their total, and its months add up to
// it: the rollup is the same machinery summed up.
func TestRollupIsTheGridFigures(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	pp, err := NewPlan(statsPlan())
	if err != nil {
		t.Fatal(err)
	}
	a := assignList(pp, tableHazards(now))
	areas, err := NewAreas([]data.Area{{Code: "S", Name: "street", Level: 1, Geometry: statsBox(116, 39, 117, 40)}})
	if err != nil {
		t.Fatal(err)
	}
	fq := FigureQuery{Now: now}
	grids, total := a.Figures(fq, nil)
	same := func(name string, got RollupFigures, want EventFigures) {
		t.Helper()
		eq := func(x, y *float64) bool {
			if x == nil || y == nil {
				return x == y
			}
			return math.Abs(*x-*y) < 1e-12
		}
		if got.Reported != want.Reported || got.Closed != want.Done || got.Rejected != want.Rejected || got.Open != want.Open ||
			got.Overdue != want.Overdue || got.Repeat != want.Repeat || got.Timed != want.Timed || got.OnTime != want.OnTime ||
			!eq(got.ClosureRate, want.ClosureRate) || !eq(got.OnTimeRate, want.OnTimeRate) ||
			!eq(got.MedianHoursToClose, want.MedianHoursToClose) || !eq(got.P90HoursToClose, want.P90HoursToClose) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	r, err := a.Rollup(RollupQuery{Now: now, HasParent: true, Parent: "S", ByArea: true}, areas)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 2 || r.Units[0].Type != UnitGrid || r.Units[0].Code != "A" || r.Units[1].Code != "B" {
		t.Fatalf("units %+v", r.Units)
	}
	for i, row := range r.Rows {
		same("grid "+r.Units[row.Unit].Code, row.Figures, grids[i])
	}
	same("total", r.Total, total)
	county, err := a.Rollup(RollupQuery{Now: now, ByArea: true}, areas)
	if err != nil {
		t.Fatal(err)
	}
	same("county", county.Rows[0].Figures, total)
	byMonth, err := a.Rollup(RollupQuery{Now: now, ByArea: true, Period: PeriodMonth}, areas)
	if err != nil {
		t.Fatal(err)
	}
	var sum RollupFigures
	for _, row := range byMonth.Rows {
		sum.Reported += row.Figures.Reported
		sum.Closed += row.Figures.Closed
		sum.Overdue += row.Figures.Overdue
		sum.Repeat += row.Figures.Repeat
	}
	if sum.Reported != total.Reported || sum.Closed != total.Done || sum.Overdue != total.Overdue || sum.Repeat != total.Repeat {
		t.Errorf("months add up to %+v, the total is %+v", sum, total)
	}
	// Level 1 with no grid's area known to the tree: one row of the grids
	// in no area, so that the rows still add up.
	lone, err := NewAreas([]data.Area{{Code: "T", Name: "elsewhere", Level: 1, Geometry: statsBox(10, 10, 11, 11)}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.Rollup(RollupQuery{Now: now, ByArea: true, Level: 1}, lone)
	if err != nil {
		t.Fatal(err)
	}
	if len(other.Units) != 2 || other.Units[1].Type != UnitOther || other.Rows[0].Figures.Reported != 0 || other.Rows[1].Figures.Reported != total.Reported {
		t.Errorf("units %+v, rows %+v", other.Units, other.Rows)
	}
	// Too many rows is a 400, not a slow answer.
	_, err = a.Rollup(RollupQuery{Now: now, ByArea: true, Period: PeriodWeek, Since: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), MaxRows: 100}, areas)
	if data.ErrorCode(err) != data.EINVALID || !strings.Contains(err.Error(), "more than 100") {
		t.Errorf("too many rows: %v", err)
	}
}

// TestPeriods: months and ISO weeks in a calendar, across a year's end.
func TestPeriods(t *testing.T) {
	cst := time.FixedZone("+08:00", 8*3600)
	tests := []struct {
		p     Period
		at    time.Time
		loc   *time.Location
		label string
		start string
	}{
		{PeriodMonth, time.Date(2025, 3, 31, 23, 0, 0, 0, time.UTC), time.UTC, "2025-03", "2025-03-01T00:00:00Z"},
		// 23:00 UTC on 31 March is 07:00 on 1 April in Beijing.
		{PeriodMonth, time.Date(2025, 3, 31, 23, 0, 0, 0, time.UTC), cst, "2025-04", "2025-04-01T00:00:00+08:00"},
		{PeriodMonth, time.Date(2024, 12, 31, 12, 0, 0, 0, time.UTC), time.UTC, "2024-12", "2024-12-01T00:00:00Z"},
		// Monday 30 December 2024 starts ISO week 1 of 2025.
		{PeriodWeek, time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC), time.UTC, "2025-W01", "2024-12-30T00:00:00Z"},
		{PeriodWeek, time.Date(2024, 12, 29, 12, 0, 0, 0, time.UTC), time.UTC, "2024-W52", "2024-12-23T00:00:00Z"},
		{PeriodWeek, time.Date(2024, 12, 29, 20, 0, 0, 0, time.UTC), cst, "2025-W01", "2024-12-30T00:00:00+08:00"},
		{PeriodWeek, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), time.UTC, "1970-W01", "1969-12-29T00:00:00Z"},
	}
	for _, tc := range tests {
		i := periodIndex(tc.p, tc.at, tc.loc)
		got := periodAt(tc.p, i, tc.loc)
		if got.Label != tc.label || got.Start.Format(time.RFC3339) != tc.start {
			t.Errorf("%v in %v: %s from %s, want %s from %s", tc.at, tc.loc, got.Label, got.Start.Format(time.RFC3339), tc.label, tc.start)
		}
		if tc.at.Before(got.Start) || !tc.at.Before(got.End) {
			t.Errorf("%v is not in [%v, %v)", tc.at, got.Start, got.End)
		}
		if next := periodAt(tc.p, i+1, tc.loc); !next.Start.Equal(got.End) {
			t.Errorf("period %s ends %v, the next starts %v", got.Label, got.End, next.Start)
		}
	}
}
