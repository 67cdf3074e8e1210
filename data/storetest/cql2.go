package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/cql2"
)

// testItemsCQL2: a CQL2 filter (Query.Where) selects the same features from
// every store, with the count and the paging of any other query; a filter
// that does not fit the layer's queryables is EINVALID and says why; no
// literal reaches the SQL as text.
func testItemsCQL2(t *testing.T, s data.Store) {
	ctx := context.Background()
	f := fill(t, s)
	z1, z2, z3 := f.hazards[0].FID, f.hazards[1].FID, f.hazards[2].FID
	a, a1, b := f.areas[0].FID, f.areas[1].FID, f.areas[2].FID
	all := []int64{z1, z2, z3}
	// The hazards: z1 fire/2/reported at 2025-03-01T09:30:15.123Z (9.52
	// 47.12), z2 traffic/1/resolved an hour later (9.58 47.18), z3
	// fire/3/reported two days earlier (9.40 47.00).
	tests := []struct {
		layer  data.Layer
		filter string
		want   []int64
	}{
		{data.LayerHazards, "category = 'fire'", []int64{z1, z3}},
		{data.LayerHazards, "category <> 'fire'", []int64{z2}},
		{data.LayerHazards, "severity >= 2", []int64{z1, z3}},
		{data.LayerHazards, "severity < 2", []int64{z2}},
		{data.LayerHazards, "severity <= 2.5", []int64{z1, z2}},
		{data.LayerHazards, "severity = 2.0", []int64{z1}},
		{data.LayerHazards, "severity = 100000", nil},
		{data.LayerHazards, "2 <= severity", []int64{z1, z3}},
		{data.LayerHazards, "category < 'g'", []int64{z1, z3}},
		{data.LayerHazards, "category >= 'fire'", all},
		{data.LayerHazards, "category = 'FIRE'", nil},
		{data.LayerHazards, "category = 'fire' AND status = 'reported'", []int64{z1, z3}},
		{data.LayerHazards, "category = 'traffic' OR severity = 3", []int64{z2, z3}},
		{data.LayerHazards, "NOT category = 'fire'", []int64{z2}},
		{data.LayerHazards, "not (category = 'fire' and severity = 3)", []int64{z1, z2}},
		{data.LayerHazards, "(category = 'fire' OR status = 'resolved') AND severity < 3", []int64{z1, z2}},
		{data.LayerHazards, "TRUE", all},
		{data.LayerHazards, "FALSE OR severity = 1", []int64{z2}},
		{data.LayerHazards, "severity BETWEEN 2 AND 3", []int64{z1, z3}},
		{data.LayerHazards, "severity NOT BETWEEN 2 AND 3", []int64{z2}},
		{data.LayerHazards, "category BETWEEN 'a' AND 'g'", []int64{z1, z3}},
		{data.LayerHazards, "category IN ('traffic', 'water')", []int64{z2}},
		{data.LayerHazards, "category NOT IN ('traffic', 'water')", []int64{z1, z3}},
		{data.LayerHazards, "severity IN (1, 3)", []int64{z2, z3}},
		{data.LayerHazards, "status IS NULL", nil},
		{data.LayerHazards, "status IS NOT NULL AND geometry IS NOT NULL", all},
		// LIKE is case-sensitive in both (SQLite's own LIKE is not).
		{data.LayerHazards, "status LIKE 'rep%'", []int64{z1, z3}},
		{data.LayerHazards, "status LIKE 'REP%'", nil},
		{data.LayerHazards, "category LIKE '_ire'", []int64{z1, z3}},
		{data.LayerHazards, "category NOT LIKE 'f%'", []int64{z2}},
		{data.LayerHazards, `category LIKE 'fire\%'`, nil},
		{data.LayerHazards, "category LIKE '*'", nil},
		// reported_at compares as time, at the stores' precision.
		{data.LayerHazards, "reported_at = TIMESTAMP('2025-03-01T09:30:15.123Z')", []int64{z1}},
		{data.LayerHazards, "reported_at > TIMESTAMP('2025-03-01T09:30:15.123Z')", []int64{z2}},
		{data.LayerHazards, "reported_at >= TIMESTAMP('2025-03-01T09:30:15.123Z')", []int64{z1, z2}},
		{data.LayerHazards, "reported_at < TIMESTAMP('2025-03-01T00:00:00Z')", []int64{z3}},
		{data.LayerHazards, "reported_at = TIMESTAMP('2025-03-01T09:30:15.1234Z')", nil},
		{data.LayerHazards, "reported_at <> TIMESTAMP('2025-03-01T09:30:15.1234Z')", all},
		{data.LayerHazards, "reported_at <= TIMESTAMP('2025-03-01T09:30:15.1239Z')", []int64{z1, z3}},
		{data.LayerHazards, "reported_at > TIMESTAMP('2025-03-01T09:30:15.1229999Z')", []int64{z1, z2}},
		{data.LayerHazards, "reported_at >= TIMESTAMP('2025-03-01T09:30:15.1230001Z')", []int64{z2}},
		{data.LayerHazards, "reported_at = TIMESTAMP('2025-03-01T09:30:15.1230001Z')", nil},
		{data.LayerHazards, "reported_at = DATE('2025-03-01')", []int64{z1, z2}},
		{data.LayerHazards, "reported_at <> DATE('2025-03-01')", []int64{z3}},
		{data.LayerHazards, "reported_at <= DATE('2025-02-27')", []int64{z3}},
		{data.LayerHazards, "reported_at > DATE('2025-02-27')", []int64{z1, z2}},
		{data.LayerHazards, "reported_at >= DATE('2025-03-01') AND reported_at < TIMESTAMP('2025-03-01T10:00:00Z')", []int64{z1}},
		{data.LayerHazards, "reported_at BETWEEN TIMESTAMP('2025-02-27T00:00:00Z') AND TIMESTAMP('2025-03-01T09:30:15.123Z')", []int64{z1, z3}},
		{data.LayerHazards, "reported_at IN (DATE('2025-02-27'), TIMESTAMP('2025-03-01T10:30:15.123Z'))", []int64{z2, z3}},
		{data.LayerHazards, "reported_at IN (TIMESTAMP('2025-03-01T09:30:15.123Z'), TIMESTAMP('2025-03-01T10:30:15.123Z'))", []int64{z1, z2}},
		// S_INTERSECTS, with every kind of geometry literal.
		{data.LayerHazards, "S_INTERSECTS(geometry, BBOX(9.5, 47.1, 9.6, 47.2))", []int64{z1, z2}},
		{data.LayerHazards, "S_INTERSECTS(BBOX(9.58, 47.18, 9.58, 47.18), geometry)", []int64{z2}},
		{data.LayerHazards, "S_INTERSECTS(geometry, POLYGON((9.5 47.1, 9.56 47.1, 9.5 47.16, 9.5 47.1)))", []int64{z1}},
		{data.LayerHazards, "NOT S_INTERSECTS(geometry, POLYGON((9.5 47.1, 9.56 47.1, 9.5 47.16, 9.5 47.1)))", []int64{z2, z3}},
		{data.LayerHazards, "S_INTERSECTS(geometry, POINT(9.58 47.18))", []int64{z2}},
		{data.LayerHazards, "S_INTERSECTS(geometry, MULTIPOINT((9.4 47), (0 0)))", []int64{z3}},
		{data.LayerHazards, "S_INTERSECTS(geometry, LINESTRING(9.3 47, 9.5 47))", []int64{z3}},
		{data.LayerHazards, "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(9.52 47.12), LINESTRING(9.3 47, 9.5 47)))", []int64{z1, z3}},
		{data.LayerHazards, "S_INTERSECTS(geometry, BBOX(9.5, 47.1, 9.6, 47.2)) OR category = 'fire'", all},
		{data.LayerHazards, "S_INTERSECTS(geometry, BBOX(9.5, 47.1, 9.6, 47.2)) AND category = 'fire'", []int64{z1}},
		// Injection: the quote is part of the value, which matches nothing.
		{data.LayerHazards, "category = 'x'' OR 1=1 --'", nil},
		{data.LayerHazards, `category = 'x\' OR ''='`, nil},
		{data.LayerHazards, "category = 'fire'';DELETE FROM hazards;--'", nil},
		{data.LayerHazards, "category IN ('x'') OR (''1''=''1')", nil},
		// Areas: A the square, A1 the square and the triangle, B the square
		// with a hole.
		{data.LayerAreas, "level = 1", []int64{a, b}},
		{data.LayerAreas, "parent_code IS NULL", []int64{a, b}},
		{data.LayerAreas, "parent_code = 'A' AND level = 2", []int64{a1}},
		{data.LayerAreas, "S_INTERSECTS(geometry, POLYGON((10.45 47.45, 10.55 47.45, 10.55 47.55, 10.45 47.55, 10.45 47.45)))", nil},
		{data.LayerAreas, "S_INTERSECTS(geometry, POLYGON((10.3 47.45, 10.45 47.45, 10.45 47.55, 10.3 47.55, 10.3 47.45)))", []int64{b}},
		{data.LayerAreas, "S_INTERSECTS(geometry, POLYGON((9.78 47.18, 9.79 47.18, 9.79 47.19, 9.78 47.19, 9.78 47.18)))", nil},
		{data.LayerAreas, "S_INTERSECTS(geometry, BBOX(9.78, 47.18, 9.79, 47.19))", nil},
		{data.LayerAreas, "S_INTERSECTS(geometry, POLYGON((9.6 47.1, 9.65 47.1, 9.65 47.2, 9.6 47.2, 9.6 47.1)))", []int64{a, a1}},
		{data.LayerAreas, "S_INTERSECTS(geometry, POLYGON((0 0, 20 0, 20 60, 0 60, 0 0)))", []int64{a, a1, b}},
		{data.LayerAreas, "S_INTERSECTS(geometry, LINESTRING(9.65 47.12, 9.72 47.12))", []int64{a1}},
		{data.LayerAreas, "S_INTERSECTS(geometry, MULTIPOLYGON(((9.54 47.14, 9.56 47.14, 9.56 47.16, 9.54 47.14)), ((10.45 47.45, 10.55 47.45, 10.55 47.55, 10.45 47.45))))", []int64{a, a1}},
		// Overlapping polygons in one literal (GEOS refuses them as one
		// geometry against a polygon with a hole).
		{data.LayerAreas, "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POLYGON((10.3 47.3, 10.7 47.3, 10.7 47.7, 10.3 47.7, 10.3 47.3)), POLYGON((10.35 47.35, 10.75 47.35, 10.75 47.75, 10.35 47.75, 10.35 47.35))))", []int64{b}},
		{data.LayerAreas, "S_INTERSECTS(geometry, MULTIPOLYGON(((10.42 47.42, 10.5 47.42, 10.5 47.5, 10.42 47.5, 10.42 47.42)), ((10.45 47.45, 10.58 47.45, 10.58 47.58, 10.45 47.58, 10.45 47.45))))", nil},
		{data.LayerAreas, "S_INTERSECTS(geometry, POINT(10.5 47.5))", nil},
		{data.LayerAreas, "S_INTERSECTS(geometry, POINT(10.4 47.5))", []int64{b}},
		{data.LayerCameras, "status = 'online'", []int64{f.cameras[0].FID}},
		{data.LayerCameras, "S_INTERSECTS(geometry, BBOX(-60, -35, -58, -34))", []int64{f.cameras[1].FID}},
		{data.LayerHouseholds, "S_INTERSECTS(geometry, BBOX(9.5, 47.1, 9.55, 47.15))", []int64{f.households[0].FID}},
	}
	for _, tc := range tests {
		e, err := cql2.Parse(tc.filter)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.filter, err)
			continue
		}
		page, err := s.Items(ctx, tc.layer, data.Query{Limit: 10, Where: e})
		if err != nil || page.Matched != len(tc.want) || !slices.Equal(fids(page), tc.want) {
			t.Errorf("%s %q: %v (matched %d), %v; want %v", tc.layer, tc.filter, fids(page), page.Matched, err, tc.want)
		}
	}

	// With the other conditions of a query, and paged.
	bbox := orb.Bound{Min: orb.Point{9.5, 47.1}, Max: orb.Point{9.6, 47.2}}
	for _, tc := range []struct {
		name    string
		filter  string
		q       data.Query
		matched int
		want    []int64
	}{
		{"and bbox", "category = 'fire'", data.Query{BBox: &bbox, Limit: 10}, 1, []int64{z1}},
		{"and filter", "severity >= 2", data.Query{Filter: map[string]string{"status": "reported"}, Limit: 10}, 2, []int64{z1, z3}},
		{"page", "severity IN (1, 2, 3)", data.Query{Limit: 1, Offset: 1}, 3, []int64{z2}},
		{"after", "category = 'fire'", data.Query{AfterFID: z1, Limit: 10}, 1, []int64{z3}},
		{"time", "severity > 1", data.Query{Time: &data.TimeRange{Start: at}, Limit: 10}, 1, []int64{z1}},
		{"all of them", "S_INTERSECTS(geometry, POLYGON((9 46, 10 46, 10 48, 9 48, 9 46)))",
			data.Query{BBox: &bbox, Filter: map[string]string{"category": "traffic"}, AfterFID: z1, Limit: 1, NoCount: true}, -1, []int64{z2}},
	} {
		e, err := cql2.Parse(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		tc.q.Where = e
		page, err := s.Items(ctx, data.LayerHazards, tc.q)
		if err != nil || page.Matched != tc.matched || !slices.Equal(fids(page), tc.want) {
			t.Errorf("%s: %v (matched %d), %v; want %v (%d)", tc.name, fids(page), page.Matched, err, tc.want, tc.matched)
		}
	}

	// The largest filters Parse accepts run in both stores.
	for name, filter := range map[string]string{
		"conditions": strings.Repeat("severity = 1 OR ", cql2.MaxPredicates-1) + "severity = 1",
		"nesting":    strings.Repeat("NOT (", cql2.MaxDepth/2) + "severity = 1" + strings.Repeat(")", cql2.MaxDepth/2),
		"values":     "severity IN (" + strings.Repeat("1, ", cql2.MaxValues-1) + "1)",
		"mixed":      strings.Repeat("(severity = 1 OR S_INTERSECTS(geometry, BBOX(9, 47, 10, 48))) AND ", cql2.MaxPredicates/2-1) + "TRUE",
	} {
		e, err := cql2.Parse(filter)
		if err != nil {
			t.Errorf("%s: Parse: %v", name, err)
			continue
		}
		if _, err := s.Items(ctx, data.LayerHazards, data.Query{Limit: 10, Where: e}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Filters that do not fit the layer are EINVALID and say where and why.
	for _, tc := range []struct {
		layer       data.Layer
		filter, msg string
	}{
		{data.LayerHazards, "colour = 'red'", `character 1: unknown property "colour"; queryables: category, status, severity, assignee, resp_code, resp_level, reported_at, geometry`},
		{data.LayerHazards, "category = 'fire' AND Severity = 1", `character 23: unknown property "Severity"`},
		{data.LayerHazards, "severity = 'high'", "character 12: severity is an integer and cannot be compared with a string ('high')"},
		{data.LayerHazards, "reported_at > '2025-03-01'", "reported_at is a timestamp and cannot be compared with a string"},
		{data.LayerHazards, "source_id = 'z1'", `unknown property "source_id"`},
		{data.LayerAreas, "level = '1'", "level is an integer"},
		{data.LayerAreas, "reported_at IS NULL", `unknown property "reported_at"; queryables: level, parent_code, geometry`},
		{data.LayerHouseholds, "households = 3", `unknown property "households"; queryables: geometry`},
		{data.LayerHazards, "S_INTERSECTS(category, BBOX(0, 0, 1, 1))", "S_INTERSECTS tests a geometry"},
	} {
		e, err := cql2.Parse(tc.filter)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.filter, err)
			continue
		}
		_, err = s.Items(ctx, tc.layer, data.Query{Limit: 10, Where: e})
		wantCode(t, string(tc.layer)+" "+tc.filter, err, data.EINVALID, tc.msg)
	}

	// The injection attempts left the table as it was.
	if n := count(t, s, data.LayerHazards); n != 3 {
		t.Errorf("%d hazards after the filters, want 3", n)
	}
}
