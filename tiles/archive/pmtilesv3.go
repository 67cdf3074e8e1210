package archive

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// The PMTiles v3 format (github.com/protomaps/PMTiles, spec/v3/spec.md),
// written from the specification: a 127-byte header, a root directory and
// leaf directories of (tile id, offset, length, run length) entries, and
// JSON metadata, all gzip-compressed here.
//
// It is not done through github.com/protomaps/go-pmtiles, which the issue
// named: its one package also holds the archive server and its cloud
// buckets, and links the AWS, Azure and Google Cloud SDKs into every binary
// that imports it. Measured on this build: the binary grew from 29 MB to
// 66 MB, a process that does nothing (`wangge help`) from 21 MB to 51 MB
// of memory (their packages' init), and an empty module cache downloads
// 1.5 GB instead of 117 MB. What is used of it is some 200 lines of
// encoding; the archives are checked by the protomaps reader itself (the
// pmtiles npm package, test/tiles) instead.

// pmHeaderLen is the length of a v3 header.
const pmHeaderLen = 127

// Compression and tile type codes of the header.
const (
	pmCompressionGzip = 2
	pmTileMVT         = 1
)

// pmEntry is one directory entry: RunLength tiles from TileID on have the
// bytes at Offset (of the tile data section); RunLength 0 is a leaf
// directory at Offset of the leaf section.
type pmEntry struct {
	TileID    uint64
	Offset    uint64
	Length    uint32
	RunLength uint32
}

// pmHeader is the v3 header.
type pmHeader struct {
	RootOffset, RootLength       uint64
	MetadataOffset, MetaLength   uint64
	LeafOffset, LeafLength       uint64
	DataOffset, DataLength       uint64
	Addressed, Entries, Contents uint64
	Clustered                    bool
	MinZoom, MaxZoom, CenterZoom uint8
	MinLonE7, MinLatE7           int32
	MaxLonE7, MaxLatE7           int32
	CenterLonE7, CenterLatE7     int32
}

func (h pmHeader) bytes() []byte {
	b := make([]byte, pmHeaderLen)
	copy(b, "PMTiles")
	b[7] = 3
	le := binary.LittleEndian
	for i, v := range []uint64{h.RootOffset, h.RootLength, h.MetadataOffset, h.MetaLength, h.LeafOffset, h.LeafLength,
		h.DataOffset, h.DataLength, h.Addressed, h.Entries, h.Contents} {
		le.PutUint64(b[8+8*i:], v)
	}
	if h.Clustered {
		b[96] = 1
	}
	b[97], b[98], b[99] = pmCompressionGzip, pmCompressionGzip, pmTileMVT
	b[100], b[101] = h.MinZoom, h.MaxZoom
	for i, v := range []int32{h.MinLonE7, h.MinLatE7, h.MaxLonE7, h.MaxLatE7} {
		le.PutUint32(b[102+4*i:], uint32(v))
	}
	b[118] = h.CenterZoom
	le.PutUint32(b[119:], uint32(h.CenterLonE7))
	le.PutUint32(b[123:], uint32(h.CenterLatE7))
	return b
}

// parsePMHeader reads a v3 header (for the tests and for checks).
func parsePMHeader(b []byte) (pmHeader, error) {
	var h pmHeader
	if len(b) < pmHeaderLen || string(b[:7]) != "PMTiles" || b[7] != 3 {
		return h, errors.New("archive: not a PMTiles v3 header")
	}
	le := binary.LittleEndian
	f := []*uint64{&h.RootOffset, &h.RootLength, &h.MetadataOffset, &h.MetaLength, &h.LeafOffset, &h.LeafLength,
		&h.DataOffset, &h.DataLength, &h.Addressed, &h.Entries, &h.Contents}
	for i, p := range f {
		*p = le.Uint64(b[8+8*i:])
	}
	h.Clustered = b[96] == 1
	h.MinZoom, h.MaxZoom, h.CenterZoom = b[100], b[101], b[118]
	for i, p := range []*int32{&h.MinLonE7, &h.MinLatE7, &h.MaxLonE7, &h.MaxLatE7} {
		*p = int32(le.Uint32(b[102+4*i:]))
	}
	h.CenterLonE7, h.CenterLatE7 = int32(le.Uint32(b[119:])), int32(le.Uint32(b[123:]))
	return h, nil
}

// zxyID is the tile id of z/x/y: the tiles of the zooms before z, then
// the position of (x, y) along the Hilbert curve of zoom z.
func zxyID(z uint8, x, y uint32) uint64 {
	base := (uint64(1)<<(2*uint(z)) - 1) / 3
	n := uint64(1) << z
	tx, ty := uint64(x), uint64(y)
	var d uint64
	for s := n / 2; s > 0; s /= 2 {
		var rx, ry uint64
		if tx&s != 0 {
			rx = 1
		}
		if ty&s != 0 {
			ry = 1
		}
		d += s * s * ((3 * rx) ^ ry)
		if ry == 0 { // rotate the quadrant
			if rx == 1 {
				tx, ty = n-1-tx, n-1-ty
			}
			tx, ty = ty, tx
		}
	}
	return base + d
}

// encodeDirectory serialises entries (in tile id order) and gzips them:
// the count, then each column as varints — ids as deltas, run lengths,
// lengths, and offsets as 0 where an entry's bytes follow the entry
// before's, else offset+1.
func encodeDirectory(entries []pmEntry) []byte {
	var raw []byte
	raw = binary.AppendUvarint(raw, uint64(len(entries)))
	var last uint64
	for _, e := range entries {
		raw = binary.AppendUvarint(raw, e.TileID-last)
		last = e.TileID
	}
	for _, e := range entries {
		raw = binary.AppendUvarint(raw, uint64(e.RunLength))
	}
	for _, e := range entries {
		raw = binary.AppendUvarint(raw, uint64(e.Length))
	}
	for i, e := range entries {
		if i > 0 && e.Offset == entries[i-1].Offset+uint64(entries[i-1].Length) {
			raw = binary.AppendUvarint(raw, 0)
		} else {
			raw = binary.AppendUvarint(raw, e.Offset+1)
		}
	}
	return gzipped(raw)
}

// decodeDirectory reads what encodeDirectory writes.
func decodeDirectory(gz []byte) ([]pmEntry, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	r := bytes.NewReader(raw)
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(len(raw)) {
		return nil, fmt.Errorf("archive: directory: bad count")
	}
	es := make([]pmEntry, n)
	var last uint64
	for i := range es {
		v, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		last += v
		es[i].TileID = last
	}
	for i := range es {
		v, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		es[i].RunLength = uint32(v)
	}
	for i := range es {
		v, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		es[i].Length = uint32(v)
	}
	for i := range es {
		v, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if v == 0 && i > 0 {
			es[i].Offset = es[i-1].Offset + uint64(es[i-1].Length)
		} else {
			es[i].Offset = v - 1
		}
	}
	return es, nil
}

// buildDirectories returns the root directory, which must fit in
// rootMax bytes, and the leaf directories: all entries in the root when
// they fit, else leaves of leafSize entries (grown until the root of their
// first ids fits).
func buildDirectories(entries []pmEntry, rootMax int) (root, leaves []byte) {
	if root = encodeDirectory(entries); len(root) <= rootMax {
		return root, nil
	}
	for leafSize := max(4096, len(entries)/3500); ; leafSize += leafSize / 5 {
		var rootEntries []pmEntry
		leaves = leaves[:0]
		for i := 0; i < len(entries); i += leafSize {
			leaf := encodeDirectory(entries[i:min(i+leafSize, len(entries))])
			rootEntries = append(rootEntries, pmEntry{TileID: entries[i].TileID, Offset: uint64(len(leaves)), Length: uint32(len(leaf))})
			leaves = append(leaves, leaf...)
		}
		if root = encodeDirectory(rootEntries); len(root) <= rootMax {
			return root, leaves
		}
	}
}

// encodeMetadata is the metadata section: gzipped JSON.
func encodeMetadata(m map[string]any) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return gzipped(b), nil
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// idZXY is the tile of a tile id, zxyID's inverse.
func idZXY(id uint64) maptile.Tile {
	z, base := uint8(0), uint64(0)
	for ; z < 31; z++ {
		next := base + uint64(1)<<(2*uint(z))
		if id < next {
			break
		}
		base = next
	}
	d := id - base
	var x, y uint64
	for s := uint64(1); s < uint64(1)<<z; s *= 2 {
		rx := 1 & (d / 2)
		ry := 1 & (d ^ rx)
		if ry == 0 {
			if rx == 1 {
				x, y = s-1-x, s-1-y
			}
			x, y = y, x
		}
		x += s * rx
		y += s * ry
		d /= 4
	}
	return maptile.New(uint32(x), uint32(y), maptile.Zoom(z))
}

// PMTilesInfo is what the header of an archive says.
type PMTilesInfo struct {
	MinZoom, MaxZoom int
	Bounds           orb.Bound
	Clustered        bool
	// Addressed, Entries and Contents count the tiles, the directory
	// entries and the distinct tile contents.
	Addressed, Entries, Contents int
	// Gzip says the tiles and the directories are gzip-compressed MVT, all
	// this package writes.
	Gzip bool
	// RootEnd is where the root directory ends: readers fetch the first
	// 16 KiB and expect it there.
	RootEnd int
}

// ReadPMTiles reads a PMTiles v3 archive written by this package (gzip
// directories): its header, metadata, and each tile's stored bytes by
// tile, through leaf directories and runs.
func ReadPMTiles(path string) (PMTilesInfo, map[string]any, map[maptile.Tile][]byte, error) {
	var info PMTilesInfo
	raw, err := os.ReadFile(path)
	if err != nil {
		return info, nil, nil, err
	}
	h, err := parsePMHeader(raw)
	if err != nil {
		return info, nil, nil, err
	}
	if h.DataOffset+h.DataLength > uint64(len(raw)) || h.LeafOffset+h.LeafLength > uint64(len(raw)) {
		return info, nil, nil, errors.New("archive: sections beyond the end of the file")
	}
	info = PMTilesInfo{MinZoom: int(h.MinZoom), MaxZoom: int(h.MaxZoom), Clustered: h.Clustered,
		Addressed: int(h.Addressed), Entries: int(h.Entries), Contents: int(h.Contents),
		Gzip: raw[97] == pmCompressionGzip && raw[98] == pmCompressionGzip && raw[99] == pmTileMVT, RootEnd: int(h.RootOffset + h.RootLength),
		Bounds: orb.Bound{Min: orb.Point{float64(h.MinLonE7) / 1e7, float64(h.MinLatE7) / 1e7}, Max: orb.Point{float64(h.MaxLonE7) / 1e7, float64(h.MaxLatE7) / 1e7}}}
	tiles := map[maptile.Tile][]byte{}
	var dir func(off, n uint64, depth int) error
	dir = func(off, n uint64, depth int) error {
		if depth > 3 || off+n > uint64(len(raw)) {
			return errors.New("archive: a directory out of bounds or nested too deep")
		}
		es, err := decodeDirectory(raw[off : off+n])
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.RunLength == 0 {
				if err := dir(h.LeafOffset+e.Offset, uint64(e.Length), depth+1); err != nil {
					return err
				}
				continue
			}
			if e.Offset+uint64(e.Length) > h.DataLength {
				return fmt.Errorf("archive: tile %d beyond the data", e.TileID)
			}
			b := raw[h.DataOffset+e.Offset : h.DataOffset+e.Offset+uint64(e.Length)]
			for i := range uint64(e.RunLength) {
				tiles[idZXY(e.TileID+i)] = b
			}
		}
		return nil
	}
	if err := dir(h.RootOffset, h.RootLength, 0); err != nil {
		return info, nil, nil, err
	}
	var meta map[string]any
	zr, err := gzip.NewReader(bytes.NewReader(raw[h.MetadataOffset : h.MetadataOffset+h.MetaLength]))
	if err != nil {
		return info, nil, nil, err
	}
	if err := json.NewDecoder(zr).Decode(&meta); err != nil {
		return info, nil, nil, err
	}
	return info, meta, tiles, nil
}
