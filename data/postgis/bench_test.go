package postgis_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/postgis"
)

// The import benchmarks measure what the change feed's triggers cost a big
// import: run them here and in a checkout from before the feed, e.g.
//
//	git worktree add --detach /tmp/pg-before <commit before the feed>
//	cp data/postgis/bench_test.go /tmp/pg-before/data/postgis/
//	scripts/testdb.sh go test -run '^$' -bench Import -benchtime 3x -count 5 ./data/postgis/
//
// and compare rows/s. WANGGE_BENCH_ROWS sets the rows per import (200,000).
//
// Results (migration 0003), 2 vCPU shared with other work (load 2–3), 5–6
// rounds alternating between the trees, -benchtime 3x, medians:
// ImportHouseholds 91,400 → 73,800 rows/s (−19 %; best runs 92,600 →
// 79,800, −14 %), ImportCopy 148,700 → 117,100 rows/s (−21 %). Nearly all
// of it is the feed's own rows: 200,000 heap rows and primary-key entries in
// wangge_changes cost ≈ 260 ms, nextval ≈ 50 ms, the transition table
// ≈ 45 ms; the trigger calls themselves (one per COPY) are noise.

func benchRows(b *testing.B) []data.Household {
	n := 200_000
	if v := os.Getenv("WANGGE_BENCH_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	hs := make([]data.Household, n)
	for i := range hs {
		hs[i] = data.Household{ID: fmt.Sprintf("hh-%07d", i), Point: orb.Point{9.47 + rng.Float64()*0.17, 47.05 + rng.Float64()*0.22}, Households: 1 + rng.IntN(4)}
	}
	return hs
}

// BenchmarkImportHouseholds: one transaction of AddHousehold calls, as
// `wangge import households` makes, into a fresh schema each time.
func BenchmarkImportHouseholds(b *testing.B) {
	testURL(b)
	ctx := context.Background()
	hs := benchRows(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s := open(b)
		b.StartTimer()
		tx, err := s.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range hs {
			if _, err := tx.AddHousehold(ctx, h); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(hs)*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkImportCopy: one COPY of every row straight into the table, as
// ogr2ogr or psql's \copy would, into a fresh schema each time.
func BenchmarkImportCopy(b *testing.B) {
	testURL(b)
	ctx := context.Background()
	hs := benchRows(b)
	rows := make([][]any, len(hs))
	for i, h := range hs {
		g, err := ewkb.Marshal(h.Point, 4326)
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = []any{g, h.ID, int32(h.Households)}
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		u := freshSchema(b)
		if _, err := postgis.Migrate(ctx, u); err != nil {
			b.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			b.Fatal(err)
		}
		var oid uint32
		if err := conn.QueryRow(ctx, `SELECT 'geometry'::regtype::oid`).Scan(&oid); err != nil {
			b.Fatal(err)
		}
		conn.TypeMap().RegisterType(&pgtype.Type{Name: "geometry", OID: oid, Codec: pgtype.ByteaCodec{}})
		b.StartTimer()
		n, err := conn.CopyFrom(ctx, pgx.Identifier{"households"}, []string{"geom", "source_id", "households"}, pgx.CopyFromRows(rows))
		if err != nil || int(n) != len(rows) {
			b.Fatalf("COPY: %d rows, %v", n, err)
		}
		b.StopTimer()
		conn.Close(ctx)
	}
	b.ReportMetric(float64(len(hs)*b.N)/b.Elapsed().Seconds(), "rows/s")
}
