package archive

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/paulmach/orb/maptile"
)

// PMTiles writes a PMTiles v3 archive of gzip-compressed MVT tiles. Tile
// data goes to a temporary file as it comes, identical tiles once; only
// the directory entries (24 bytes per tile with data, fewer where equal
// neighbours share a run) and, per distinct tile, a 16-byte hash and its
// place (some 40 bytes a tile with the map's overhead) stay in memory. Finish writes the header, the directories and the metadata, and
// copies the data after them.
type PMTiles struct {
	path, tmp, dataPath string
	data                *os.File
	buf                 *bufio.Writer
	size                uint64 // bytes of tile data written
	entries             []pmEntry
	seen                map[[16]byte]span
	addressed           int
	ordered             bool // entries came in tile id order
	// rootMax bounds the root directory: readers fetch the first 16 KiB
	// and expect header and root in it. Tests lower it to make leaves.
	rootMax int
}

// span is where a tile's bytes are in the data section.
type span struct {
	off uint64
	n   uint32
}

var _ Writer = (*PMTiles)(nil)

// NewPMTiles starts a PMTiles archive that Finish puts at path.
func NewPMTiles(path string) (*PMTiles, error) {
	w := &PMTiles{path: path, tmp: path + ".tmp", dataPath: path + ".tmp-data", seen: map[[16]byte]span{}, ordered: true, rootMax: 16384 - pmHeaderLen}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, path)
	}
	// The archive's own temporary file is taken now, so that a clash shows
	// before any tile is drawn.
	f, err := createTemp(w.tmp)
	if err != nil {
		return nil, err
	}
	f.Close()
	if w.data, err = createTemp(w.dataPath); err != nil {
		os.Remove(w.tmp)
		return nil, err
	}
	w.buf = bufio.NewWriterSize(w.data, 1<<20)
	return w, nil
}

// WriteTile implements Writer.
func (w *PMTiles) WriteTile(_ context.Context, t maptile.Tile, gz []byte) error {
	if len(gz) == 0 {
		return nil
	}
	id := tileID(t)
	if n := len(w.entries); n > 0 {
		last := &w.entries[n-1]
		if id <= last.TileID+uint64(last.RunLength)-1 {
			w.ordered = false
		}
	}
	w.addressed++
	h := sha256.Sum256(gz)
	var key [16]byte
	copy(key[:], h[:])
	sp, dup := w.seen[key]
	if !dup {
		if uint64(len(gz)) > math.MaxUint32 {
			return fmt.Errorf("archive: tile %v is %d bytes", t, len(gz))
		}
		sp = span{off: w.size, n: uint32(len(gz))}
		if _, err := w.buf.Write(gz); err != nil {
			return err
		}
		w.size += uint64(len(gz))
		w.seen[key] = sp
	}
	// A tile equal to the one just before it in id order extends its run.
	if n := len(w.entries); n > 0 && w.ordered {
		last := &w.entries[n-1]
		if last.Offset == sp.off && last.TileID+uint64(last.RunLength) == id {
			last.RunLength++
			return nil
		}
	}
	w.entries = append(w.entries, pmEntry{TileID: id, Offset: sp.off, Length: sp.n, RunLength: 1})
	return nil
}

// Finish implements Writer.
func (w *PMTiles) Finish(_ context.Context, m Metadata) (st Stats, err error) {
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	if err := w.buf.Flush(); err != nil {
		return st, err
	}
	if !w.ordered {
		slices.SortFunc(w.entries, func(a, b pmEntry) int { return cmp.Compare(a.TileID, b.TileID) })
	}
	root, leaves := buildDirectories(w.entries, w.rootMax)
	meta, err := encodeMetadata(metadataJSON(m))
	if err != nil {
		return st, err
	}
	e7 := func(v float64) int32 { return int32(math.Round(v * 1e7)) }
	h := pmHeader{
		RootOffset:  pmHeaderLen,
		RootLength:  uint64(len(root)),
		Addressed:   uint64(w.addressed),
		Entries:     uint64(len(w.entries)),
		Contents:    uint64(len(w.seen)),
		DataLength:  w.size,
		Clustered:   w.ordered,
		MinZoom:     uint8(m.MinZoom),
		MaxZoom:     uint8(m.MaxZoom),
		MinLonE7:    e7(m.Bounds.Min[0]),
		MinLatE7:    e7(m.Bounds.Min[1]),
		MaxLonE7:    e7(m.Bounds.Max[0]),
		MaxLatE7:    e7(m.Bounds.Max[1]),
		CenterZoom:  uint8(m.CenterZoom),
		CenterLonE7: e7(m.Center[0]),
		CenterLatE7: e7(m.Center[1]),
	}
	h.MetadataOffset = h.RootOffset + h.RootLength
	h.MetaLength = uint64(len(meta))
	h.LeafOffset = h.MetadataOffset + h.MetaLength
	h.LeafLength = uint64(len(leaves))
	h.DataOffset = h.LeafOffset + h.LeafLength

	f, err := os.OpenFile(w.tmp, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return st, err
	}
	defer f.Close()
	out := bufio.NewWriterSize(f, 1<<20)
	for _, b := range [][]byte{h.bytes(), root, meta, leaves} {
		if _, err := out.Write(b); err != nil {
			return st, err
		}
	}
	if _, err := w.data.Seek(0, io.SeekStart); err != nil {
		return st, err
	}
	if n, err := io.Copy(out, w.data); err != nil {
		return st, err
	} else if uint64(n) != w.size {
		return st, fmt.Errorf("archive: copied %d of %d bytes of tile data", n, w.size)
	}
	if err := out.Flush(); err != nil {
		return st, err
	}
	if err := f.Sync(); err != nil {
		return st, err
	}
	if err := f.Close(); err != nil {
		return st, err
	}
	w.data.Close()
	os.Remove(w.dataPath)
	if err := place(w.tmp, w.path); err != nil {
		return st, err
	}
	return Stats{Tiles: w.addressed, Contents: len(w.seen), Bytes: int64(h.DataOffset + w.size)}, nil
}

// Abort implements Writer.
func (w *PMTiles) Abort() {
	w.data.Close()
	os.Remove(w.dataPath)
	os.Remove(w.tmp)
}

// metadataJSON is the archive's TileJSON-like metadata.
func metadataJSON(m Metadata) map[string]any {
	out := map[string]any{
		"name":        m.Name,
		"description": m.Description,
		"attribution": m.Attribution,
		"type":        "overlay",
		"version":     "1.0.0",
		"format":      "pbf",
	}
	if m.VectorLayers != nil {
		out["vector_layers"] = m.VectorLayers
	}
	return out
}
