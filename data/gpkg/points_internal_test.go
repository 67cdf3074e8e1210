package gpkg

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// TestHouseholdPointsChunks: HouseholdPoints reads pointChunk fids an
// answer and decodes the blobs itself, so it is checked against
// EachHousehold row by row over several chunks with what the fast decoding
// must read (counts of several digits and beyond MaxInt32, fids missing)
// and what it must hand to the row-at-a-time read (points without an
// envelope in either byte order, a blob as encodePoint writes it but
// flagged empty), and each chunk's answer is checked to take the path
// meant for it.
func TestHouseholdPointsChunks(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	rng := rand.New(rand.NewPCG(3, 9))
	n := 3*pointChunk + 321
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h := data.Household{ID: fmt.Sprintf("h%d", i), Point: orb.Point{-180 + rng.Float64()*360, -90 + rng.Float64()*180}, Households: 1 + rng.IntN(1200)}
		if _, err := tx.AddHousehold(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var lo int64
	if err := s.db.QueryRowContext(ctx, `SELECT min(fid) FROM households`).Scan(&lo); err != nil {
		t.Fatal(err)
	}
	// A point's blob without an envelope (as GDAL writes points), in the
	// given byte order for the header and the WKB.
	noEnvelope := func(order binary.AppendByteOrder, p orb.Point) []byte {
		le := byte(0)
		if order == binary.LittleEndian {
			le = 1
		}
		b := order.AppendUint32([]byte{'G', 'P', 0, le}, srsWGS84)
		b = order.AppendUint32(append(b, le), 1)
		b = order.AppendUint64(b, math.Float64bits(p[0]))
		return order.AppendUint64(b, math.Float64bits(p[1]))
	}
	// Flagged empty, and otherwise as encodePoint writes blobs: only the
	// header tells it apart.
	empty := encodePoint(orb.Point{math.NaN(), math.NaN()})
	empty[3] |= 1 << 4
	for _, st := range []struct {
		sql  string
		args []any
	}{
		// Chunk 0: decoded from the aggregates, with fids missing.
		{`DELETE FROM households WHERE fid IN (?, ?, ?)`, []any{lo, lo + 17, lo + pointChunk - 1}},
		// Chunk 1: points without an envelope, little- and big-endian,
		// read a row at a time.
		{`UPDATE households SET geom = ? WHERE fid = ?`, []any{noEnvelope(binary.LittleEndian, orb.Point{9.5, 47.1}), lo + pointChunk + 5}},
		{`UPDATE households SET geom = ? WHERE fid = ?`, []any{noEnvelope(binary.BigEndian, orb.Point{-56.2, -34.9}), lo + pointChunk + 9}},
		// Chunk 2: decoded, with a count beyond MaxInt32.
		{`UPDATE households SET households = ? WHERE fid = ?`, []any{int64(math.MaxInt32) + 5, lo + 2*pointChunk + 1}},
		// Chunk 3 (the rest): a point flagged empty, read a row at a time.
		{`UPDATE households SET geom = ? WHERE fid = ?`, []any{empty, lo + 3*pointChunk + 7}},
	} {
		if _, err := s.db.ExecContext(ctx, st.sql, st.args...); err != nil {
			t.Fatalf("%s: %v", st.sql, err)
		}
	}

	for c, fast := range []bool{true, false, true, false} {
		var count, std int64
		var wkb, counts string
		if err := s.db.QueryRowContext(ctx, pointsQuery, lo+int64(c*pointChunk), lo+int64((c+1)*pointChunk)).Scan(&count, &std, &wkb, &counts); err != nil {
			t.Fatal(err)
		}
		if _, ok := parsePointChunk([]driver.Value{count, std, wkb, counts}, make([]data.HouseholdPoint, pointChunk)); ok != fast {
			t.Errorf("chunk %d: decoded from the aggregates %v, want %v", c, ok, fast)
		}
	}

	var want []data.HouseholdPoint
	if err := s.EachHousehold(ctx, func(h data.Household) error {
		want = append(want, data.HouseholdPoint{Point: h.Point, Households: int32(min(h.Households, math.MaxInt32))})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.HouseholdPoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) != n-3 {
		t.Fatalf("%d points, want %d (%d rows)", len(got), len(want), n-3)
	}
	for i := range want {
		if g, w := got[i], want[i]; g != w && !(math.IsNaN(w.Point[0]) && math.IsNaN(g.Point[0]) && g.Households == w.Households) {
			t.Fatalf("point %d: %+v, want %+v", i, g, w)
		}
	}
}
