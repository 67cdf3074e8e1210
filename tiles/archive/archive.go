// Package archive writes vector tiles into single-file archives that a map
// can read without a tile server: PMTiles v3 (pmtiles.go) and MBTiles 1.3
// (mbtiles.go). Both take tiles one at a time and keep little per tile
// (PMTiles: a 24-byte directory entry per tile that has data, and a hash
// per distinct tile), so an export's memory does not grow with the tile
// bytes. An archive is written to PATH.tmp and renamed to PATH by Finish;
// Abort removes what was written.
package archive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// Writer is an archive being written.
type Writer interface {
	// WriteTile adds the gzip-compressed Mapbox Vector Tile of t. Callers
	// skip empty tiles: an archive has no entry for them.
	WriteTile(ctx context.Context, t maptile.Tile, gz []byte) error
	// Finish writes the metadata and directories and puts the archive in
	// place. The Writer is done after it, also when it fails (then nothing
	// is left behind).
	Finish(ctx context.Context, m Metadata) (Stats, error)
	// Abort removes everything written so far.
	Abort()
}

// Metadata describes an archive's tiles, as TileJSON does.
type Metadata struct {
	Name        string
	Description string
	Attribution string
	MinZoom     int
	MaxZoom     int
	Bounds      orb.Bound // lon/lat
	Center      orb.Point // lon/lat
	CenterZoom  int
	// VectorLayers is TileJSON's vector_layers, written as JSON.
	VectorLayers any
}

// Stats counts what an archive holds.
type Stats struct {
	Tiles    int   // tiles addressed
	Contents int   // distinct tile contents stored (PMTiles deduplicates)
	Bytes    int64 // size of the archive file
}

// ErrExists is returned when the archive or its temporary file is there
// already: an export never overwrites.
var ErrExists = errors.New("archive: file exists")

// createTemp creates path, which must not exist.
func createTemp(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w: %s (left by an export that failed, or one under way: remove it)", ErrExists, path)
	}
	return f, err
}

// place renames tmp to path unless path appeared meanwhile.
func place(tmp, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, path)
	}
	return os.Rename(tmp, path)
}

// maxLat is the latitude where Web Mercator tiles end.
const maxLat = 85.0511287798066

// tileRange is the tiles of one zoom that cover a bound.
type tileRange struct{ x0, y0, x1, y1 uint32 }

func rangeAt(b orb.Bound, z maptile.Zoom) tileRange {
	clampLat := func(v float64) float64 { return math.Max(-maxLat, math.Min(maxLat, v)) }
	clampLon := func(v float64) float64 { return math.Max(-180, math.Min(180, v)) }
	nw := maptile.At(orb.Point{clampLon(b.Min[0]), clampLat(b.Max[1])}, z)
	se := maptile.At(orb.Point{clampLon(b.Max[0]), clampLat(b.Min[1])}, z)
	last := uint32(1)<<z - 1
	return tileRange{min(nw.X, last), min(nw.Y, last), min(se.X, last), min(se.Y, last)}
}

func (r tileRange) count() int64 { return int64(r.x1-r.x0+1) * int64(r.y1-r.y0+1) }

func (r tileRange) has(t maptile.Tile) bool {
	return t.X >= r.x0 && t.X <= r.x1 && t.Y >= r.y0 && t.Y <= r.y1
}

// Count returns the number of tiles of zooms minZoom…maxZoom that cover b.
func Count(b orb.Bound, minZoom, maxZoom int) int64 {
	var n int64
	for z := minZoom; z <= maxZoom; z++ {
		n += rangeAt(b, maptile.Zoom(z)).count()
	}
	return n
}

// Each calls fn with every tile of zooms minZoom…maxZoom that covers b, in
// PMTiles tile id order: by zoom, then along the Hilbert curve, so that a
// PMTiles archive written in this order is clustered. It walks the
// quadtree down to each zoom and skips the quarters outside b, so it
// holds nothing but the path.
func Each(b orb.Bound, minZoom, maxZoom int, fn func(maptile.Tile) error) error {
	for z := minZoom; z <= maxZoom; z++ {
		ranges := make([]tileRange, z+1)
		for l := range ranges {
			ranges[l] = rangeAt(b, maptile.Zoom(l))
		}
		if err := walk(maptile.New(0, 0, 0), maptile.Zoom(z), ranges, fn); err != nil {
			return err
		}
	}
	return nil
}

func walk(t maptile.Tile, z maptile.Zoom, ranges []tileRange, fn func(maptile.Tile) error) error {
	if !ranges[t.Z].has(t) {
		return nil
	}
	if t.Z == z {
		return fn(t)
	}
	kids := t.Children()
	// The Hilbert curve visits a tile's four children one after another,
	// so ordering each level by id orders the whole zoom.
	slices.SortFunc(kids, func(a, b maptile.Tile) int { return cmp.Compare(tileID(a), tileID(b)) })
	for _, k := range kids {
		if err := walk(k, z, ranges, fn); err != nil {
			return err
		}
	}
	return nil
}

// tileID is the PMTiles id of t.
func tileID(t maptile.Tile) uint64 { return zxyID(uint8(t.Z), t.X, t.Y) }
