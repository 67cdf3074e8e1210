package gpkg

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/storetest"
)

// A bulk insert builds the R-tree packed (rtree_load.go): SQLite's
// rtreecheck accepts it, every entry is the box SQLite itself would store,
// window queries answer as an R-tree grown by SQLite does, SQLite goes on
// inserting and deleting in it, and GDAL's validator passes. Small runs
// make the build spill to files and merge them; none is left behind.
func TestBulkRTree(t *testing.T) {
	for _, c := range []struct {
		name string
		run  int
		rows int
	}{{"in memory", rtreeRun, 3000}, {"spilled runs", 700, 5000}, {"root is a leaf", rtreeRun, bulkAfter + 10}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, "r.gpkg")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.rtreeRun = c.run
			rng := rand.New(rand.NewPCG(3, 4))
			point := func() orb.Point {
				if rng.IntN(10) == 0 { // some far away, across the globe
					return orb.Point{-180 + rng.Float64()*360, -90 + rng.Float64()*180}
				}
				return orb.Point{-56.43 + rng.Float64()*0.4, -34.94 + rng.Float64()*0.24}
			}
			tx, err := s.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.rows {
				if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("h%d", i), Point: point(), Households: 1}); err != nil {
					t.Fatal(err)
				}
				if i == bulkAfter+5 { // a refused row leaves the build going
					if _, err := tx.AddHousehold(ctx, data.Household{ID: "h1", Point: point(), Households: 1}); data.ErrorCode(err) != data.ECONFLICT {
						t.Fatalf("duplicate: %v", err)
					}
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			checkRTree(t, s, c.rows)
			// Packed: full nodes, not the two-thirds full ones of a tree
			// grown entry by entry.
			var nodes int
			s.db.QueryRowContext(ctx, `SELECT count(*) FROM rtree_households_geom_node`).Scan(&nodes)
			if leaves := (c.rows + 50) / 51; nodes > leaves+leaves/51+2 {
				t.Errorf("%d nodes for %d rows: not a packed tree", nodes, c.rows)
			}

			// SQLite's own inserts and deletes in the packed tree, then a
			// second bulk insert into the now full layer (entry by entry).
			tx, _ = s.Begin(ctx)
			if _, err := tx.AddHousehold(ctx, data.Household{ID: "one", Point: point(), Households: 1}); err != nil {
				t.Fatal(err)
			}
			for fid := int64(1); fid <= int64(c.rows); fid += 7 {
				if err := tx.Delete(ctx, data.LayerHouseholds, fid); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			tx, _ = s.Begin(ctx)
			for i := range 200 {
				if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("more%d", i), Point: point(), Households: 1}); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			checkRTree(t, s, -1)

			// A rolled back build leaves the R-tree as it was.
			var before int
			s.db.QueryRowContext(ctx, `SELECT count(*) FROM rtree_households_geom`).Scan(&before)
			tx, _ = s.Begin(ctx)
			tx.Clear(ctx, data.LayerHouseholds)
			for i := range 300 {
				tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("gone%d", i), Point: point(), Households: 1})
			}
			tx.Rollback()
			checkRTree(t, s, before)

			// A replaced layer's R-tree is empty again: packed once more.
			tx, _ = s.Begin(ctx)
			if err := tx.Clear(ctx, data.LayerHouseholds); err != nil {
				t.Fatal(err)
			}
			for i := range 500 {
				if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("new%d", i), Point: point(), Households: 1}); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			checkRTree(t, s, 500)

			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if filepath.Ext(e.Name()) != ".gpkg" && filepath.Ext(e.Name()) != ".gpkg-wal" && filepath.Ext(e.Name()) != ".gpkg-shm" {
					t.Errorf("left behind: %s", e.Name())
				}
			}
			s.Close()
			storetest.ValidateGPKG(t, path)
		})
	}
}

// checkRTree checks the households' R-tree against one SQLite grows from
// the same rows; want < 0 is any number of rows.
func checkRTree(t *testing.T, s *Store, want int) { checkRTreeOf(t, s, "households", want) }

// checkRTreeOf is checkRTree for any layer.
func checkRTreeOf(t *testing.T, s *Store, table string, want int) {
	t.Helper()
	ctx := context.Background()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var check string
	var n, rows, same int
	if err := conn.QueryRowContext(ctx, `SELECT rtreecheck('rtree_`+table+`_geom')`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("rtreecheck: %q, %v", check, err)
	}
	for _, q := range []string{
		`DROP TABLE IF EXISTS temp.ref`,
		`CREATE VIRTUAL TABLE temp.ref USING rtree(id, minx, maxx, miny, maxy)`,
		`INSERT INTO temp.ref SELECT fid, ST_MinX(geom), ST_MaxX(geom), ST_MinY(geom), ST_MaxY(geom) FROM ` + table,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&rows)
	conn.QueryRowContext(ctx, `SELECT count(*) FROM rtree_`+table+`_geom`).Scan(&n)
	conn.QueryRowContext(ctx, `SELECT count(*) FROM rtree_`+table+`_geom a JOIN temp.ref b USING (id)
		WHERE a.minx = b.minx AND a.maxx = b.maxx AND a.miny = b.miny AND a.maxy = b.maxy`).Scan(&same)
	if n != rows || same != rows || (want >= 0 && rows != want) {
		t.Fatalf("R-tree has %d entries, %d as SQLite stores them, for %d rows (want %d)", n, same, rows, want)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	window := func(table string, b [4]float64) []int64 {
		r, err := conn.QueryContext(ctx, `SELECT id FROM `+table+` WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?`, b[0], b[1], b[2], b[3])
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var ids []int64
		for r.Next() {
			var id int64
			r.Scan(&id)
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids
	}
	for range 40 {
		x, y := -56.43+rng.Float64()*0.4, -34.94+rng.Float64()*0.24
		if rng.IntN(4) == 0 {
			x, y = -180+rng.Float64()*300, -90+rng.Float64()*150
		}
		w := rng.Float64() * 0.1
		b := [4]float64{x, x + w, y, y + w}
		if got, ref := window("rtree_"+table+"_geom", b), window("temp.ref", b); !slices.Equal(got, ref) {
			t.Fatalf("window %v: %d ids, SQLite's own R-tree %d", b, len(got), len(ref))
		}
	}
	conn.ExecContext(ctx, `DROP TABLE temp.ref`)
}

// A build that fails (here, cancelled) is never committed, whatever the
// caller does with the error.
func TestBulkRTreeFailedIsNotCommitted(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if _, err := tx.AddHousehold(ctx, data.Household{ID: fmt.Sprintf("h%d", i), Point: orb.Point{-56, -34.9}, Households: 1}); err != nil {
			t.Fatal(err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tx.Seq(cancelled); err == nil {
		t.Fatal("Seq with a cancelled context built the R-tree")
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("Commit after a failed R-tree build succeeded")
	}
	checkRTree(t, s, 0)
}

// Lines, whose boxes are not points, are packed as well.
func TestBulkRTreeLines(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	s.rtreeRun = 300
	rng := rand.New(rand.NewPCG(9, 10))
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		x, y := -56.43+rng.Float64()*0.4, -34.94+rng.Float64()*0.24
		line := orb.LineString{{x, y}, {x + rng.Float64()*0.05, y - rng.Float64()*0.05}, {x + rng.Float64()*0.02, y + rng.Float64()*0.03}}
		if _, err := tx.AddStreet(ctx, data.Street{ID: fmt.Sprintf("s%d", i), Kind: data.StreetRoad, Class: "residential", Geometry: orb.MultiLineString{line}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	checkRTreeOf(t, s, "streets", 2000)
}
