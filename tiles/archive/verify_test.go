package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb/maptile"
)

// TestZXYID: the tile ids of the specification's examples and the first
// of each zoom.
func TestZXYID(t *testing.T) {
	for _, c := range []struct {
		z    uint8
		x, y uint32
		id   uint64
	}{
		{0, 0, 0, 0}, {1, 0, 0, 1}, {1, 0, 1, 2}, {1, 1, 1, 3}, {1, 1, 0, 4}, {2, 0, 0, 5},
		{12, 3423, 1763, 19078479}, {20, 0, 0, 366503875925},
	} {
		if got := zxyID(c.z, c.x, c.y); got != c.id {
			t.Errorf("zxyID(%d, %d, %d) = %d, want %d", c.z, c.x, c.y, got, c.id)
		}
	}
	for z := range uint8(9) {
		for x := range uint32(1) << z {
			for y := range uint32(1) << z {
				if tl := idZXY(zxyID(z, x, y)); tl != maptile.New(x, y, maptile.Zoom(z)) {
					t.Fatalf("idZXY(zxyID(%d, %d, %d)) = %v", z, x, y, tl)
				}
			}
		}
	}
}

// TestPMTilesReader has the protomaps reader (the npm package pmtiles,
// what MapLibre's pmtiles:// protocol runs) read an archive with runs,
// duplicates, empty tiles and a level of leaf directories: every tile as
// written, no tile where none was written, the header's counts.
func TestPMTilesReader(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is needed (scripts/deps.sh installs nodejs)")
		}
		t.Skip("node not installed (scripts/deps.sh installs it)")
	}
	dir, _ := filepath.Abs(filepath.Join("..", "..", "test", "tiles"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "pmtiles")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.pmtiles")
	w, err := NewPMTiles(path)
	if err != nil {
		t.Fatal(err)
	}
	// A root of at most 1 KiB, so that the directory needs leaves without
	// tens of thousands of tiles.
	w.rootMax = 1024
	want := map[string]string{}
	var probe [][3]uint32
	n := 0
	Each(liechtenstein, 0, 15, func(tl maptile.Tile) error {
		n++
		key := fmt.Sprintf("%d/%d/%d", tl.Z, tl.X, tl.Y)
		var text string
		switch {
		case n%11 == 0: // empty: not in the archive
		case n%3 == 0:
			text = "same"
		default:
			text = key
		}
		if n%17 == 0 || n < 40 || n%11 == 0 && n%5 == 0 {
			probe = append(probe, [3]uint32{uint32(tl.Z), tl.X, tl.Y})
			want[key] = text
		}
		if text == "" {
			return nil
		}
		return w.WriteTile(ctx, tl, gzipped([]byte(text)))
	})
	st, err := w.Finish(ctx, Metadata{Name: "reader", MinZoom: 0, MaxZoom: 15, Bounds: liechtenstein, Center: liechtenstein.Center(), CenterZoom: 10})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parsePMHeader(raw)
	if err != nil || h.LeafLength == 0 || h.Addressed != uint64(st.Tiles) {
		t.Fatalf("header %+v (%v): want leaves and %d tiles", h, err, st.Tiles)
	}
	list, _ := json.Marshal(probe)
	out, err := exec.Command(node, filepath.Join(dir, "pmtiles-read.mjs"), path, string(list)).Output()
	if err != nil {
		t.Fatalf("pmtiles-read.mjs: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("pmtiles-read.mjs: %v: %.300s", err, out)
	}
	for key, text := range want {
		switch v := got[key].(type) {
		case nil:
			if text != "" {
				t.Errorf("%s: no tile, want %q", key, text)
			}
		case string:
			if v != text {
				t.Errorf("%s: %q, want %q", key, v, text)
			}
		}
	}
	hdr, _ := got["header"].(map[string]any)
	if hdr["numAddressedTiles"] != float64(st.Tiles) || hdr["numTileContents"] != float64(st.Contents) || hdr["maxZoom"] != float64(15) {
		t.Errorf("the reader's header %v; stats %+v", hdr, st)
	}
	if md, _ := got["metadata"].(map[string]any); md["name"] != "reader" {
		t.Errorf("metadata %v", got["metadata"])
	}
	info, _, tiles, err := ReadPMTiles(path)
	if err != nil || len(tiles) != st.Tiles || info.Addressed != st.Tiles || info.RootEnd > pmHeaderLen+1024 {
		t.Errorf("ReadPMTiles: %d tiles, %+v, %v; want %d", len(tiles), info, err, st.Tiles)
	}
	t.Logf("%d tiles in %d entries, %d contents; %d probed through the reader", st.Tiles, h.Entries, st.Contents, len(probe))
}
