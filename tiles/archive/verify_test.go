package archive

import (
	"context"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb/maptile"
	"github.com/protomaps/go-pmtiles/pmtiles"
)

// TestPMTilesVerify has go-pmtiles' own checker (`pmtiles verify`) read an
// archive with runs, duplicates and a leaf directory level.
func TestPMTilesVerify(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v.pmtiles")
	w, err := NewPMTiles(path)
	if err != nil {
		t.Fatal(err)
	}
	// Over 16,384 entries, so that the directory needs leaves.
	n := 0
	Each(liechtenstein, 0, 18, func(tl maptile.Tile) error {
		n++
		b := []byte{byte(n), byte(n >> 8), byte(n >> 16)}
		if n%3 == 0 {
			b = []byte("same")
		}
		return w.WriteTile(ctx, tl, b)
	})
	if _, err := w.Finish(ctx, Metadata{Name: "v", MinZoom: 0, MaxZoom: 18, Bounds: liechtenstein, Center: liechtenstein.Center(), CenterZoom: 10}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := pmtiles.Verify(log.New(&out, "", 0), path); err != nil {
		t.Fatalf("pmtiles verify: %v\n%s", err, out.String())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := pmtiles.DeserializeHeader(raw); h.LeafDirectoryLength == 0 || h.AddressedTilesCount != uint64(n) {
		t.Errorf("%d tiles written; header %+v", n, h)
	}
	t.Logf("%d tiles; pmtiles verify:\n%s", n, out.String())
}
