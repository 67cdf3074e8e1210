package archive

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

var liechtenstein = orb.Bound{Min: orb.Point{9.47, 47.04}, Max: orb.Point{9.64, 47.28}}

// TestEach: every tile of the extent once, in increasing PMTiles id, as
// many as Count says; the whole world at a zoom is every tile.
func TestEach(t *testing.T) {
	for _, tc := range []struct {
		name     string
		b        orb.Bound
		min, max int
	}{
		{"liechtenstein", liechtenstein, 0, 16},
		{"world", orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}, 0, 5},
		{"antimeridian corner", orb.Bound{Min: orb.Point{170, -85}, Max: orb.Point{180, -60}}, 3, 9},
	} {
		var last uint64
		n := int64(0)
		seen := map[maptile.Tile]bool{}
		err := Each(tc.b, tc.min, tc.max, func(tl maptile.Tile) error {
			id := tileID(tl)
			if n > 0 && id <= last {
				t.Fatalf("%s: tile %v (id %d) after id %d", tc.name, tl, id, last)
			}
			if !rangeAt(tc.b, tl.Z).has(tl) || seen[tl] {
				t.Fatalf("%s: tile %v outside the extent or twice", tc.name, tl)
			}
			seen[tl] = true
			last = id
			n++
			return nil
		})
		if err != nil || n != Count(tc.b, tc.min, tc.max) {
			t.Errorf("%s: %d tiles, Count %d, %v", tc.name, n, Count(tc.b, tc.min, tc.max), err)
		}
	}
	if n := Count(orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}, 5, 5); n != 1<<10 {
		t.Errorf("world at z5: %d tiles", n)
	}
}

// TestPMTiles writes tiles with repeated contents and reads the archive
// back: equal tiles share their bytes, equal neighbours a
// run, every tile reads as written.
func TestPMTiles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.pmtiles")
	w, err := NewPMTiles(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64][]byte{}
	i := 0
	Each(orb.Bound{Min: orb.Point{-180, -85}, Max: orb.Point{180, 85}}, 0, 4, func(tl maptile.Tile) error {
		var b []byte
		switch {
		case i%7 == 3:
			b = nil // empty: left out
		case i >= 40 && i < 60:
			b = []byte("sea") // a run
		default:
			b = []byte{byte(i % 5), 'x'}
		}
		i++
		if b != nil {
			want[tileID(tl)] = b
		}
		return w.WriteTile(ctx, tl, b)
	})
	st, err := w.Finish(ctx, Metadata{Name: "t", MinZoom: 0, MaxZoom: 4, Bounds: liechtenstein, VectorLayers: []any{map[string]any{"id": "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bytes != int64(len(raw)) || st.Tiles != len(want) || st.Contents != 6 {
		t.Errorf("stats %+v; file %d bytes, %d tiles written", st, len(raw), len(want))
	}
	h, err := parsePMHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := decodeDirectory(raw[h.RootOffset : h.RootOffset+h.RootLength])
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64][]byte{}
	runs := 0
	for _, e := range entries {
		if e.RunLength > 1 {
			runs++
		}
		for k := range uint64(e.RunLength) {
			got[e.TileID+k] = raw[h.DataOffset+e.Offset : h.DataOffset+e.Offset+uint64(e.Length)]
		}
	}
	if len(got) != len(want) || runs == 0 || int(h.Entries) != len(entries) || h.Contents != 6 || !h.Clustered ||
		h.Addressed != uint64(len(want)) || int(h.DataLength) != len(raw)-int(h.DataOffset) {
		t.Errorf("header %+v, %d entries (%d runs), %d tiles read of %d", h, len(entries), runs, len(got), len(want))
	}
	for id, b := range want {
		if !bytes.Equal(got[id], b) {
			t.Errorf("tile %d: %q, want %q", id, got[id], b)
		}
	}
	if left, _ := filepath.Glob(path + ".*"); len(left) > 0 {
		t.Errorf("left %v", left)
	}
	if _, err := NewPMTiles(path); !errors.Is(err, ErrExists) {
		t.Errorf("NewPMTiles over an archive: %v", err)
	}
}

// TestMBTiles: rows counted from the south (TMS), metadata as MBTiles
// 1.3 names it, and Abort leaves nothing.
func TestMBTiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "a.mbtiles")
	w, err := NewMBTiles(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTile(ctx, maptile.New(2, 0, 3), []byte("north")); err != nil {
		t.Fatal(err)
	}
	w.WriteTile(ctx, maptile.New(2, 7, 3), []byte("south"))
	if _, err := w.Finish(ctx, Metadata{Name: "t", MinZoom: 3, MaxZoom: 3, Bounds: liechtenstein, Center: liechtenstein.Center(), CenterZoom: 3}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var north, south []byte
	db.QueryRow(`SELECT tile_data FROM tiles WHERE zoom_level = 3 AND tile_column = 2 AND tile_row = 7`).Scan(&north)
	db.QueryRow(`SELECT tile_data FROM tiles WHERE zoom_level = 3 AND tile_column = 2 AND tile_row = 0`).Scan(&south)
	if string(north) != "north" || string(south) != "south" {
		t.Errorf("TMS rows: north %q, south %q", north, south)
	}
	var format, bounds string
	db.QueryRow(`SELECT value FROM metadata WHERE name = 'format'`).Scan(&format)
	db.QueryRow(`SELECT value FROM metadata WHERE name = 'bounds'`).Scan(&bounds)
	if format != "pbf" || bounds != "9.47,47.04,9.64,47.28" {
		t.Errorf("metadata format %q bounds %q", format, bounds)
	}

	aborted := filepath.Join(dir, "b.mbtiles")
	w, err = NewMBTiles(ctx, aborted)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteTile(ctx, maptile.New(0, 0, 0), []byte("x"))
	w.Abort()
	if left, _ := filepath.Glob(aborted + "*"); len(left) > 0 {
		t.Errorf("Abort left %v", left)
	}
}
