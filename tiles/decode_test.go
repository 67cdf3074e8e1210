package tiles

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// A small MVT reader for the tests: it reads what the spec allows, rejects
// what it forbids, and knows nothing of how LayerWriter writes.

type decLayer struct {
	Version  uint32
	Name     string
	Extent   uint32
	Keys     []string
	Values   []Value
	Features []decFeature
}

type decFeature struct {
	ID       uint64
	HasID    bool
	Type     GeomType
	Tags     []uint32
	Geometry []uint32
}

func (f decFeature) props(l decLayer) (map[string]any, error) {
	if len(f.Tags)%2 != 0 {
		return nil, errors.New("odd number of tags")
	}
	m := map[string]any{}
	for i := 0; i < len(f.Tags); i += 2 {
		k, v := f.Tags[i], f.Tags[i+1]
		if int(k) >= len(l.Keys) || int(v) >= len(l.Values) {
			return nil, fmt.Errorf("tag %d/%d out of range", k, v)
		}
		m[l.Keys[k]] = l.Values[v].Interface()
	}
	return m, nil
}

type pbReader struct {
	b []byte
	i int
}

func (r *pbReader) varint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 {
		return 0, errors.New("bad varint")
	}
	r.i += n
	return v, nil
}

func (r *pbReader) bytes() ([]byte, error) {
	n, err := r.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)-r.i) {
		return nil, errors.New("length beyond the buffer")
	}
	b := r.b[r.i : r.i+int(n)]
	r.i += int(n)
	return b, nil
}

func (r *pbReader) skip(wire int) error {
	switch wire {
	case wireVarint:
		_, err := r.varint()
		return err
	case wireFixed64:
		if r.i+8 > len(r.b) {
			return errors.New("short fixed64")
		}
		r.i += 8
	case wireBytes:
		_, err := r.bytes()
		return err
	case wireFixed32:
		if r.i+4 > len(r.b) {
			return errors.New("short fixed32")
		}
		r.i += 4
	default:
		return fmt.Errorf("wire type %d", wire)
	}
	return nil
}

func (r *pbReader) next() (field, wire int, err error) {
	k, err := r.varint()
	return int(k >> 3), int(k & 7), err
}

func packed(b []byte) ([]uint32, error) {
	r := &pbReader{b: b}
	var out []uint32
	for r.i < len(b) {
		v, err := r.varint()
		if err != nil {
			return nil, err
		}
		if v > math.MaxUint32 {
			return nil, errors.New("packed value over 32 bits")
		}
		out = append(out, uint32(v))
	}
	return out, nil
}

func decodeTile(b []byte) ([]decLayer, error) {
	r := &pbReader{b: b}
	var layers []decLayer
	names := map[string]bool{}
	for r.i < len(b) {
		field, wire, err := r.next()
		if err != nil {
			return nil, err
		}
		if field != tileLayers || wire != wireBytes {
			if err := r.skip(wire); err != nil {
				return nil, err
			}
			continue
		}
		lb, err := r.bytes()
		if err != nil {
			return nil, err
		}
		l, err := decodeLayer(lb)
		if err != nil {
			return nil, err
		}
		if names[l.Name] {
			return nil, fmt.Errorf("layer %q twice", l.Name)
		}
		names[l.Name] = true
		layers = append(layers, l)
	}
	return layers, nil
}

func decodeLayer(b []byte) (decLayer, error) {
	l := decLayer{Extent: 4096}
	r := &pbReader{b: b}
	hasName, hasVersion := false, false
	for r.i < len(b) {
		field, wire, err := r.next()
		if err != nil {
			return l, err
		}
		switch {
		case field == layerVersion && wire == wireVarint:
			v, err := r.varint()
			if err != nil {
				return l, err
			}
			l.Version, hasVersion = uint32(v), true
		case field == layerName && wire == wireBytes:
			s, err := r.bytes()
			if err != nil {
				return l, err
			}
			l.Name, hasName = string(s), true
		case field == layerExtent && wire == wireVarint:
			v, err := r.varint()
			if err != nil {
				return l, err
			}
			l.Extent = uint32(v)
		case field == layerKeys && wire == wireBytes:
			s, err := r.bytes()
			if err != nil {
				return l, err
			}
			l.Keys = append(l.Keys, string(s))
		case field == layerValues && wire == wireBytes:
			vb, err := r.bytes()
			if err != nil {
				return l, err
			}
			v, err := decodeValue(vb)
			if err != nil {
				return l, err
			}
			l.Values = append(l.Values, v)
		case field == layerFeatures && wire == wireBytes:
			fb, err := r.bytes()
			if err != nil {
				return l, err
			}
			f, err := decodeFeature(fb)
			if err != nil {
				return l, err
			}
			l.Features = append(l.Features, f)
		case field == layerVersion || field == layerName || field == layerExtent || field == layerKeys || field == layerValues || field == layerFeatures:
			return l, fmt.Errorf("layer field %d with wire type %d", field, wire)
		default:
			if err := r.skip(wire); err != nil {
				return l, err
			}
		}
	}
	if !hasName {
		return l, errors.New("layer without a name")
	}
	if !hasVersion || l.Version < 1 || l.Version > 2 {
		return l, fmt.Errorf("layer version %d", l.Version)
	}
	for _, f := range l.Features {
		if _, err := f.props(l); err != nil {
			return l, err
		}
	}
	return l, nil
}

func decodeValue(b []byte) (Value, error) {
	r := &pbReader{b: b}
	var v Value
	n := 0
	for r.i < len(b) {
		field, wire, err := r.next()
		if err != nil {
			return v, err
		}
		n++
		switch {
		case field == valueString && wire == wireBytes:
			s, err := r.bytes()
			if err != nil {
				return v, err
			}
			v = String(string(s))
		case field == valueFloat && wire == wireFixed32 && r.i+4 <= len(b):
			v = Value{Kind: KindFloat, N: uint64(binary.LittleEndian.Uint32(b[r.i:]))}
			r.i += 4
		case field == valueDouble && wire == wireFixed64 && r.i+8 <= len(b):
			v = Value{Kind: KindDouble, N: binary.LittleEndian.Uint64(b[r.i:])}
			r.i += 8
		case (field == valueInt || field == valueUint || field == valueSint || field == valueBool) && wire == wireVarint:
			x, err := r.varint()
			if err != nil {
				return v, err
			}
			switch field {
			case valueInt:
				v = Value{Kind: KindInt, N: x}
			case valueUint:
				v = Value{Kind: KindUint, N: x}
			case valueSint:
				v = Value{Kind: KindSint, N: uint64(int64(x>>1) ^ -int64(x&1))}
			default:
				v = Bool(x != 0)
			}
		default:
			return v, fmt.Errorf("value field %d with wire type %d", field, wire)
		}
	}
	if n != 1 {
		return v, fmt.Errorf("value with %d fields", n)
	}
	return v, nil
}

func decodeFeature(b []byte) (decFeature, error) {
	var f decFeature
	r := &pbReader{b: b}
	hasGeom := false
	for r.i < len(b) {
		field, wire, err := r.next()
		if err != nil {
			return f, err
		}
		switch {
		case field == featureID && wire == wireVarint:
			f.ID, err = r.varint()
			f.HasID = true
		case field == featureTags && wire == wireBytes:
			var pb []byte
			if pb, err = r.bytes(); err == nil {
				f.Tags, err = packed(pb)
			}
		case field == featureType && wire == wireVarint:
			var t uint64
			t, err = r.varint()
			if t > 3 {
				err = fmt.Errorf("geometry type %d", t)
			}
			f.Type = GeomType(t)
		case field == featureGeometry && wire == wireBytes:
			if hasGeom {
				return f, errors.New("two geometry fields")
			}
			var pb []byte
			if pb, err = r.bytes(); err == nil {
				f.Geometry, err = packed(pb)
			}
			hasGeom = true
		default:
			err = r.skip(wire)
		}
		if err != nil {
			return f, err
		}
	}
	if !hasGeom {
		return f, errors.New("feature without geometry")
	}
	if _, err := decodeGeometry(f.Type, f.Geometry); err != nil {
		return f, err
	}
	return f, nil
}

// decodeGeometry returns the parts of a geometry: points (one part each),
// lines, or rings (open, without the ClosePath point).
func decodeGeometry(t GeomType, g []uint32) ([][]Point, error) {
	var parts [][]Point
	var cur []Point
	var x, y int64
	for i := 0; i < len(g); {
		id, count := g[i]&7, int(g[i]>>3)
		i++
		switch id {
		case cmdMoveTo, cmdLineTo:
			if count == 0 || 2*count > len(g)-i {
				return nil, fmt.Errorf("command %d with count %d and %d parameters left", id, count, len(g)-i)
			}
			if id == cmdMoveTo && t != GeomPoint && count != 1 {
				return nil, errors.New("MoveTo with count other than 1 in a line or polygon")
			}
			if id == cmdLineTo && cur == nil {
				return nil, errors.New("LineTo before MoveTo")
			}
			for range count {
				dx, dy := int32(g[i]>>1)^-int32(g[i]&1), int32(g[i+1]>>1)^-int32(g[i+1]&1)
				i += 2
				x += int64(dx)
				y += int64(dy)
				p := Point{int32(x), int32(y)}
				if id == cmdMoveTo {
					if t == GeomPoint {
						parts = append(parts, []Point{p})
						cur = []Point{}
						continue
					}
					if len(cur) > 0 {
						parts = append(parts, cur)
					}
					cur = []Point{p}
					continue
				}
				cur = append(cur, p)
			}
		case cmdClosePath:
			if count != 1 || t != GeomPolygon || len(cur) < 3 {
				return nil, fmt.Errorf("ClosePath (count %d) on a %d-point part of geometry type %d", count, len(cur), t)
			}
			parts = append(parts, cur)
			cur = nil
		default:
			return nil, fmt.Errorf("unknown command %d", id)
		}
	}
	if t == GeomLineString && len(cur) > 0 {
		parts = append(parts, cur)
	}
	if t == GeomPolygon && len(cur) > 0 {
		return nil, errors.New("polygon ring without ClosePath")
	}
	return parts, nil
}
