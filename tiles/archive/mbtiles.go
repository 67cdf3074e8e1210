package archive

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"

	// The SQLite driver data/gpkg uses.
	_ "github.com/mattn/go-sqlite3"
	"github.com/paulmach/orb/maptile"
)

// MBTiles writes an MBTiles 1.3 archive: an SQLite file with the tiles
// table (TMS rows: y counted from the south) and the metadata table, tiles
// gzip-compressed as is customary for vector MBTiles. Tiles are inserted
// in one transaction as they come; nothing is kept in memory. Identical
// tiles are stored once each time they occur (no deduplication).
type MBTiles struct {
	path, tmp string
	db        *sql.DB
	tx        *sql.Tx
	ins       *sql.Stmt
	n         int
}

var _ Writer = (*MBTiles)(nil)

// NewMBTiles starts an MBTiles archive that Finish puts at path.
func NewMBTiles(ctx context.Context, path string) (*MBTiles, error) {
	w := &MBTiles{path: path, tmp: path + ".tmp"}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, path)
	}
	f, err := createTemp(w.tmp)
	if err != nil {
		return nil, err
	}
	f.Close()
	// No journal and no syncs while writing: a file that is not complete
	// is never renamed into place, so there is nothing to recover.
	if w.db, err = sql.Open("sqlite3", "file:"+w.tmp+"?_journal_mode=OFF&_synchronous=OFF"); err != nil {
		os.Remove(w.tmp)
		return nil, err
	}
	w.db.SetMaxOpenConns(1)
	if err := w.begin(ctx); err != nil {
		w.Abort()
		return nil, err
	}
	return w, nil
}

func (w *MBTiles) begin(ctx context.Context) error {
	for _, q := range []string{
		`PRAGMA application_id = 0x4d504258`, // "MPBX", the MBTiles 1.3 id
		`CREATE TABLE metadata (name text, value text)`,
		`CREATE UNIQUE INDEX name ON metadata (name)`,
		`CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)`,
		`CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)`,
	} {
		if _, err := w.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("archive: mbtiles: %w", err)
		}
	}
	var err error
	if w.tx, err = w.db.BeginTx(ctx, nil); err != nil {
		return err
	}
	w.ins, err = w.tx.PrepareContext(ctx, `INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?, ?, ?, ?)`)
	return err
}

// WriteTile implements Writer.
func (w *MBTiles) WriteTile(ctx context.Context, t maptile.Tile, gz []byte) error {
	if len(gz) == 0 {
		return nil
	}
	row := (uint32(1)<<t.Z - 1) - t.Y // TMS counts rows from the south
	if _, err := w.ins.ExecContext(ctx, int(t.Z), int64(t.X), int64(row), gz); err != nil {
		return fmt.Errorf("archive: mbtiles: tile %d/%d/%d: %w", t.Z, t.X, t.Y, err)
	}
	w.n++
	return nil
}

// Finish implements Writer.
func (w *MBTiles) Finish(ctx context.Context, m Metadata) (st Stats, err error) {
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	vl, err := json.Marshal(map[string]any{"vector_layers": m.VectorLayers})
	if err != nil {
		return st, err
	}
	// Degrees to 1e-7, as PMTiles stores them.
	f := func(v float64) string { return strconv.FormatFloat(math.Round(v*1e7)/1e7, 'f', -1, 64) }
	b := m.Bounds
	for _, kv := range [][2]string{
		{"name", m.Name},
		{"format", "pbf"},
		{"description", m.Description},
		{"attribution", m.Attribution},
		{"type", "overlay"},
		{"version", "1.0.0"},
		{"minzoom", strconv.Itoa(m.MinZoom)},
		{"maxzoom", strconv.Itoa(m.MaxZoom)},
		{"bounds", f(b.Min[0]) + "," + f(b.Min[1]) + "," + f(b.Max[0]) + "," + f(b.Max[1])},
		{"center", f(m.Center[0]) + "," + f(m.Center[1]) + "," + strconv.Itoa(m.CenterZoom)},
		{"json", string(vl)},
	} {
		if _, err := w.tx.ExecContext(ctx, `INSERT INTO metadata (name, value) VALUES (?, ?)`, kv[0], kv[1]); err != nil {
			return st, fmt.Errorf("archive: mbtiles metadata %s: %w", kv[0], err)
		}
	}
	w.ins.Close()
	if err := w.tx.Commit(); err != nil {
		return st, err
	}
	w.tx = nil
	if err := w.db.Close(); err != nil {
		return st, err
	}
	w.db = nil
	if err := syncFile(w.tmp); err != nil {
		return st, err
	}
	if err := place(w.tmp, w.path); err != nil {
		return st, err
	}
	fi, err := os.Stat(w.path)
	if err != nil {
		return st, err
	}
	return Stats{Tiles: w.n, Contents: w.n, Bytes: fi.Size()}, nil
}

// Abort implements Writer.
func (w *MBTiles) Abort() {
	if w.tx != nil {
		w.tx.Rollback()
		w.tx = nil
	}
	if w.db != nil {
		w.db.Close()
		w.db = nil
	}
	os.Remove(w.tmp)
	os.Remove(w.tmp + "-journal")
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
