package gpkg

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// Options.Durable is synchronous=FULL on every connection of the pool; the
// default is NORMAL.
func TestDurableSynchronous(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		durable bool
		want    int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{false, 1}, {true, 2}} {
		s, err := OpenWith(ctx, filepath.Join(t.TempDir(), "d.gpkg"), Options{Durable: c.durable})
		if err != nil {
			t.Fatal(err)
		}
		// Several connections at once, so that more than one is asked.
		var conns []*sql.Conn
		for range 3 {
			conn, err := s.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, conn)
			var got int
			if err := conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("Durable %v: synchronous %d, want %d", c.durable, got, c.want)
			}
		}
		for _, conn := range conns {
			conn.Close()
		}
		s.Close()
	}
}
