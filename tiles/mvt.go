package tiles

import (
	"encoding/binary"
	"math"
)

// The Mapbox Vector Tile encoding (spec 2.1) is written here directly: a
// tile is a few nested protobuf messages, and writing them straight into one
// buffer costs a fraction of building generated message structs first. The
// field numbers are those of vector_tile.proto.
const (
	tileLayers = 3

	layerName     = 1
	layerFeatures = 2
	layerKeys     = 3
	layerValues   = 4
	layerExtent   = 5
	layerVersion  = 15

	featureID       = 1
	featureTags     = 2
	featureType     = 3
	featureGeometry = 4

	valueString = 1
	valueFloat  = 2
	valueDouble = 3
	valueInt    = 4
	valueUint   = 5
	valueSint   = 6
	valueBool   = 7

	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// GeomType is an MVT geometry type.
type GeomType uint8

// The MVT geometry types.
const (
	GeomUnknown    GeomType = 0
	GeomPoint      GeomType = 1
	GeomLineString GeomType = 2
	GeomPolygon    GeomType = 3
)

// Geometry commands (spec 4.3.1).
const (
	cmdMoveTo    = 1
	cmdLineTo    = 2
	cmdClosePath = 7
)

// ValueKind tells which field of a Value is set.
type ValueKind uint8

// The kinds of MVT attribute values.
const (
	KindString ValueKind = iota + 1
	KindFloat
	KindDouble
	KindInt
	KindUint
	KindSint
	KindBool
)

// Value is an MVT attribute value. It is comparable, so a layer can keep
// each distinct value once as the spec asks.
type Value struct {
	Kind ValueKind
	S    string
	N    uint64 // int, uint, sint (two's complement), bool (0/1), float and double bits
}

// String returns a string value.
func String(s string) Value { return Value{Kind: KindString, S: s} }

// Int returns an integer value, encoded as sint (zigzag) so that negative
// numbers stay short.
func Int(i int64) Value { return Value{Kind: KindSint, N: uint64(i)} }

// Uint returns an unsigned integer value.
func Uint(u uint64) Value { return Value{Kind: KindUint, N: u} }

// Double returns a 64-bit floating point value.
func Double(f float64) Value { return Value{Kind: KindDouble, N: math.Float64bits(f)} }

// Float returns a 32-bit floating point value.
func Float(f float32) Value { return Value{Kind: KindFloat, N: uint64(math.Float32bits(f))} }

// Bool returns a boolean value.
func Bool(b bool) Value {
	if b {
		return Value{Kind: KindBool, N: 1}
	}
	return Value{Kind: KindBool}
}

// Interface returns the value as a Go value: string, float32, float64,
// int64, uint64 or bool.
func (v Value) Interface() any {
	switch v.Kind {
	case KindString:
		return v.S
	case KindFloat:
		return math.Float32frombits(uint32(v.N))
	case KindDouble:
		return math.Float64frombits(v.N)
	case KindInt, KindSint:
		return int64(v.N)
	case KindUint:
		return v.N
	case KindBool:
		return v.N != 0
	}
	return nil
}

// Prop is one attribute of a feature.
type Prop struct {
	Key string
	Val Value
}

// Point is a position in tile coordinates: 0…extent, y down.
type Point struct{ X, Y int32 }

// LayerWriter builds one layer of a tile. Add features, then Append the
// layer to a tile buffer. It is not safe for concurrent use.
type LayerWriter struct {
	name   string
	extent uint32
	feats  []byte
	n      int
	keys   []string
	keyIdx map[string]uint32
	vals   []Value
	valIdx map[Value]uint32
	tags   []uint32
	geom   []uint32
}

// NewLayerWriter returns an empty layer.
func NewLayerWriter(name string, extent uint32) *LayerWriter {
	return &LayerWriter{name: name, extent: extent, keyIdx: map[string]uint32{}, valIdx: map[Value]uint32{}}
}

// Len returns the number of features added.
func (l *LayerWriter) Len() int { return l.n }

func (l *LayerWriter) setProps(props []Prop) {
	l.tags = l.tags[:0]
	for _, p := range props {
		k, ok := l.keyIdx[p.Key]
		if !ok {
			k = uint32(len(l.keys))
			l.keys = append(l.keys, p.Key)
			l.keyIdx[p.Key] = k
		}
		v, ok := l.valIdx[p.Val]
		if !ok {
			v = uint32(len(l.vals))
			l.vals = append(l.vals, p.Val)
			l.valIdx[p.Val] = v
		}
		l.tags = append(l.tags, k, v)
	}
}

// AddPoints adds a Point feature (a MultiPoint when len(pts) > 1). An empty
// list adds nothing.
func (l *LayerWriter) AddPoints(id uint64, pts []Point, props []Prop) {
	if len(pts) == 0 {
		return
	}
	l.geom = append(l.geom[:0], command(cmdMoveTo, len(pts)))
	var cx, cy int32
	for _, p := range pts {
		l.geom = append(l.geom, zigzag(p.X-cx), zigzag(p.Y-cy))
		cx, cy = p.X, p.Y
	}
	l.addFeature(id, GeomPoint, props)
}

// AddLines adds a LineString feature (a MultiLineString when there are
// several). Lines of fewer than two points are skipped.
func (l *LayerWriter) AddLines(id uint64, lines [][]Point, props []Prop) {
	l.geom = l.geom[:0]
	var cx, cy int32
	for _, ln := range lines {
		if len(ln) < 2 {
			continue
		}
		l.path(ln, &cx, &cy)
	}
	if len(l.geom) > 0 {
		l.addFeature(id, GeomLineString, props)
	}
}

// path appends a MoveTo to the first point and a LineTo through the rest,
// deltas from the cursor (cx, cy), which it moves to the last point.
func (l *LayerWriter) path(pts []Point, cx, cy *int32) {
	l.geom = append(l.geom, command(cmdMoveTo, 1), zigzag(pts[0].X-*cx), zigzag(pts[0].Y-*cy))
	*cx, *cy = pts[0].X, pts[0].Y
	l.geom = append(l.geom, command(cmdLineTo, len(pts)-1))
	for _, p := range pts[1:] {
		l.geom = append(l.geom, zigzag(p.X-*cx), zigzag(p.Y-*cy))
		*cx, *cy = p.X, p.Y
	}
}

// AddPolygon adds a Polygon feature (a MultiPolygon when there are several
// exterior rings). Rings are open (the first point is not repeated), already
// wound as the spec asks: exterior rings with positive area by the
// surveyor's formula in tile coordinates (clockwise on screen), interior
// rings negative, each exterior followed by its holes. Rings of fewer than
// three points are skipped.
func (l *LayerWriter) AddPolygon(id uint64, rings [][]Point, props []Prop) {
	l.geom = l.geom[:0]
	var cx, cy int32
	for _, r := range rings {
		if len(r) < 3 {
			continue
		}
		l.path(r, &cx, &cy)
		l.geom = append(l.geom, command(cmdClosePath, 1))
	}
	if len(l.geom) > 0 {
		l.addFeature(id, GeomPolygon, props)
	}
}

// AddRaw adds a feature with already encoded geometry commands.
func (l *LayerWriter) AddRaw(id uint64, typ GeomType, geometry []uint32, props []Prop) {
	l.geom = append(l.geom[:0], geometry...)
	l.addFeature(id, typ, props)
}

func (l *LayerWriter) addFeature(id uint64, typ GeomType, props []Prop) {
	l.setProps(props)
	size := 0
	if id != 0 {
		size += 1 + varintLen(id)
	}
	tagsLen := packedLen(l.tags)
	if len(l.tags) > 0 {
		size += 1 + varintLen(uint64(tagsLen)) + tagsLen
	}
	size += 2 // type
	geomLen := packedLen(l.geom)
	size += 1 + varintLen(uint64(geomLen)) + geomLen

	b := appendTag(l.feats, layerFeatures, wireBytes)
	b = binary.AppendUvarint(b, uint64(size))
	if id != 0 {
		b = appendTag(b, featureID, wireVarint)
		b = binary.AppendUvarint(b, id)
	}
	if len(l.tags) > 0 {
		b = appendTag(b, featureTags, wireBytes)
		b = binary.AppendUvarint(b, uint64(tagsLen))
		b = appendPacked(b, l.tags)
	}
	b = appendTag(b, featureType, wireVarint)
	b = append(b, byte(typ))
	b = appendTag(b, featureGeometry, wireBytes)
	b = binary.AppendUvarint(b, uint64(geomLen))
	b = appendPacked(b, l.geom)
	l.feats = b
	l.n++
}

// AppendTo appends the layer, as a field of a Tile message, to tile. A
// layer without features is not written: the spec says a layer SHOULD have
// at least one.
func (l *LayerWriter) AppendTo(tile []byte) []byte {
	if l.n == 0 {
		return tile
	}
	var body []byte
	body = appendTag(body, layerVersion, wireVarint)
	body = append(body, 2)
	body = appendString(body, layerName, l.name)
	body = append(body, l.feats...)
	for _, k := range l.keys {
		body = appendString(body, layerKeys, k)
	}
	for _, v := range l.vals {
		body = appendValue(body, v)
	}
	body = appendTag(body, layerExtent, wireVarint)
	body = binary.AppendUvarint(body, uint64(l.extent))

	tile = appendTag(tile, tileLayers, wireBytes)
	tile = binary.AppendUvarint(tile, uint64(len(body)))
	return append(tile, body...)
}

func appendValue(b []byte, v Value) []byte {
	var inner []byte
	switch v.Kind {
	case KindString:
		inner = appendString(nil, valueString, v.S)
	case KindFloat:
		inner = appendTag(nil, valueFloat, wireFixed32)
		inner = binary.LittleEndian.AppendUint32(inner, uint32(v.N))
	case KindDouble:
		inner = appendTag(nil, valueDouble, wireFixed64)
		inner = binary.LittleEndian.AppendUint64(inner, v.N)
	case KindInt:
		inner = appendTag(nil, valueInt, wireVarint)
		inner = binary.AppendUvarint(inner, v.N)
	case KindUint:
		inner = appendTag(nil, valueUint, wireVarint)
		inner = binary.AppendUvarint(inner, v.N)
	case KindSint:
		inner = appendTag(nil, valueSint, wireVarint)
		n := int64(v.N)
		inner = binary.AppendUvarint(inner, uint64((n<<1)^(n>>63)))
	case KindBool:
		inner = appendTag(nil, valueBool, wireVarint)
		inner = append(inner, byte(v.N))
	}
	b = appendTag(b, layerValues, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(inner)))
	return append(b, inner...)
}

func appendTag(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field<<3|wire))
}

func appendString(b []byte, field int, s string) []byte {
	b = appendTag(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendPacked(b []byte, xs []uint32) []byte {
	for _, x := range xs {
		b = binary.AppendUvarint(b, uint64(x))
	}
	return b
}

func packedLen(xs []uint32) int {
	n := 0
	for _, x := range xs {
		n += varintLen(uint64(x))
	}
	return n
}

func varintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func command(id, count int) uint32 { return uint32(id&7) | uint32(count)<<3 }

func zigzag(n int32) uint32 { return uint32((n << 1) ^ (n >> 31)) }
