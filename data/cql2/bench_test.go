package cql2

import "testing"

// BenchmarkParseSQL: the work one filtered request adds before the query.
func BenchmarkParseSQL(b *testing.B) {
	const filter = "category IN ('fire', 'water') AND severity >= 2 AND reported_at > TIMESTAMP('2025-03-01T00:00:00Z') AND S_INTERSECTS(geometry, POLYGON((9.5 47.1, 9.6 47.1, 9.6 47.2, 9.5 47.2, 9.5 47.1)))"
	b.ReportAllocs()
	for b.Loop() {
		e, err := Parse(filter)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.SQL(PostGIS, hazards, func(any) string { return "$1" }); err != nil {
			b.Fatal(err)
		}
	}
}
