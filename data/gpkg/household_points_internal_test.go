package gpkg

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// TestDecodePoint decodes the blobs wangge writes and those other tools
// may (big-endian, without an envelope), and refuses what is no point.
func TestDecodePoint(t *testing.T) {
	p := orb.Point{-56.17, -34.88}
	be := []byte{'G', 'P', 0, 0, 0, 0, 0x10, 0xE6, 0, 0, 0, 0, 1}
	be = binary.BigEndian.AppendUint64(be, math.Float64bits(p[0]))
	be = binary.BigEndian.AppendUint64(be, math.Float64bits(p[1]))
	le, err := wkb.Marshal(p, binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	noEnv := append([]byte{'G', 'P', 0, 1, 0xE6, 0x10, 0, 0}, le...)
	line, err := encodeGeom(orb.LineString{{0, 0}, {1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"wangge": encodePoint(p), "big-endian": be, "no envelope": noEnv} {
		got, err := decodePoint(b)
		if err != nil || got != p {
			t.Errorf("%s: %v, %v; want %v", name, got, err, p)
		}
	}
	for name, b := range map[string][]byte{"a line": line, "no geometry": {1, 2}, "cut short": encodePoint(p)[:50]} {
		if got, err := decodePoint(b); err == nil {
			t.Errorf("%s: decoded as %v, want an error", name, got)
		}
	}
}
