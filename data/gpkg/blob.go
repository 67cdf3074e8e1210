package gpkg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// srsWGS84 is the only SRS wangge stores (EPSG:4326).
const srsWGS84 = 4326

// encodeGeom returns the GeoPackage binary form of g (GeoPackage 1.3 §2.1.3):
// the "GP" header with version, flags and SRS id, an XY envelope, then
// little-endian WKB. Points carry an envelope too: the spec allows it and it
// keeps one code path for the R-tree functions.
func encodeGeom(g orb.Geometry) ([]byte, error) {
	if p, ok := g.(orb.Point); ok {
		return encodePoint(p), nil
	}
	return encodeWKB(g)
}

// encodePoint is encodeGeom of a point, the geometry of every household,
// hazard and camera, written in place: one allocation instead of the four
// of wkb.Marshal's buffers, a million times an import.
func encodePoint(p orb.Point) []byte {
	buf := make([]byte, 0, 8+32+21)
	buf = append(buf, 'G', 'P', 0, 1|1<<1) // little-endian, XY envelope
	buf = binary.LittleEndian.AppendUint32(buf, uint32(int32(srsWGS84)))
	for _, v := range [...]float64{p[0], p[0], p[1], p[1]} {
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
	}
	buf = append(buf, 1) // WKB, little-endian
	buf = binary.LittleEndian.AppendUint32(buf, 1)
	buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(p[0]))
	return binary.LittleEndian.AppendUint64(buf, math.Float64bits(p[1]))
}

// encodeWKB is encodeGeom through wkb.Marshal, for any geometry.
func encodeWKB(g orb.Geometry) ([]byte, error) {
	body, err := wkb.Marshal(g, binary.LittleEndian)
	if err != nil {
		return nil, fmt.Errorf("gpkg: encode geometry: %w", err)
	}
	b := g.Bound()
	empty := isEmpty(g)
	buf := make([]byte, 8, 8+32+len(body))
	buf[0], buf[1], buf[2] = 'G', 'P', 0
	flags := byte(1) // little-endian header
	if empty {
		flags |= 1 << 4
	} else {
		flags |= 1 << 1 // envelope [minx, maxx, miny, maxy]
	}
	buf[3] = flags
	binary.LittleEndian.PutUint32(buf[4:], uint32(int32(srsWGS84)))
	if !empty {
		for _, v := range []float64{b.Min[0], b.Max[0], b.Min[1], b.Max[1]} {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
		}
	}
	return append(buf, body...), nil
}

func isEmpty(g orb.Geometry) bool {
	switch g := g.(type) {
	case orb.MultiPolygon:
		return len(g) == 0
	case orb.Polygon:
		return len(g) == 0
	case orb.MultiPoint:
		return len(g) == 0
	}
	return g == nil
}

// header is the parsed GeoPackage binary header.
type header struct {
	empty    bool
	envelope orb.Bound
	hasEnv   bool
	wkbStart int
}

var errNotGPKG = errors.New("gpkg: not a GeoPackage geometry blob")

func parseHeader(b []byte) (header, error) {
	if len(b) < 8 || b[0] != 'G' || b[1] != 'P' {
		return header{}, errNotGPKG
	}
	flags := b[3]
	var order binary.ByteOrder = binary.BigEndian
	if flags&1 == 1 {
		order = binary.LittleEndian
	}
	var envLen int
	switch (flags >> 1) & 7 {
	case 0:
		envLen = 0
	case 1:
		envLen = 32
	case 2, 3:
		envLen = 48
	case 4:
		envLen = 64
	default:
		return header{}, fmt.Errorf("gpkg: invalid envelope indicator %d", (flags>>1)&7)
	}
	if len(b) < 8+envLen {
		return header{}, errNotGPKG
	}
	h := header{empty: flags&(1<<4) != 0, wkbStart: 8 + envLen}
	if envLen > 0 {
		f := func(i int) float64 { return math.Float64frombits(order.Uint64(b[8+8*i:])) }
		h.envelope = orb.Bound{Min: orb.Point{f(0), f(2)}, Max: orb.Point{f(1), f(3)}}
		h.hasEnv = true
	}
	return h, nil
}

// decodeGeom parses a GeoPackage geometry blob.
func decodeGeom(b []byte) (orb.Geometry, error) {
	h, err := parseHeader(b)
	if err != nil {
		return nil, err
	}
	g, err := wkb.Unmarshal(b[h.wkbStart:])
	if err != nil {
		return nil, fmt.Errorf("gpkg: decode geometry: %w", err)
	}
	return g, nil
}

// envelope returns the bound of a blob, from its header when it has one.
func envelope(b []byte) (orb.Bound, bool, error) {
	h, err := parseHeader(b)
	if err != nil {
		return orb.Bound{}, false, err
	}
	if h.empty {
		return orb.Bound{}, false, nil
	}
	if h.hasEnv {
		return h.envelope, true, nil
	}
	g, err := wkb.Unmarshal(b[h.wkbStart:])
	if err != nil {
		return orb.Bound{}, false, err
	}
	return g.Bound(), true, nil
}
