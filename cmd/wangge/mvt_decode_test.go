package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// A Mapbox Vector Tile decoder of the tests' own, so that the convergence
// tests read a tile as bytes on the wire, not through the tiles package.

type mvtFeature struct {
	ID    uint64
	HasID bool
	Props map[string]any
}

// decodeMVT returns a tile's features by layer name.
func decodeMVT(b []byte) (map[string][]mvtFeature, error) {
	out := map[string][]mvtFeature{}
	r := &pbuf{b: b}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return nil, err
		}
		if field != 3 || wire != 2 { // Tile.layers
			if err := r.skip(wire); err != nil {
				return nil, err
			}
			continue
		}
		lb, err := r.bytes()
		if err != nil {
			return nil, err
		}
		name, fs, err := decodeMVTLayer(lb)
		if err != nil {
			return nil, err
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("layer %q twice", name)
		}
		out[name] = fs
	}
	return out, nil
}

func decodeMVTLayer(b []byte) (string, []mvtFeature, error) {
	var name string
	var keys []string
	var values []any
	type raw struct {
		id    uint64
		hasID bool
		tags  []uint64
	}
	var feats []raw
	r := &pbuf{b: b}
	for !r.done() {
		field, wire, err := r.key()
		if err != nil {
			return "", nil, err
		}
		switch {
		case field == 1 && wire == 2: // name
			s, err := r.bytes()
			if err != nil {
				return "", nil, err
			}
			name = string(s)
		case field == 3 && wire == 2: // keys
			s, err := r.bytes()
			if err != nil {
				return "", nil, err
			}
			keys = append(keys, string(s))
		case field == 4 && wire == 2: // values
			vb, err := r.bytes()
			if err != nil {
				return "", nil, err
			}
			v, err := decodeMVTValue(vb)
			if err != nil {
				return "", nil, err
			}
			values = append(values, v)
		case field == 2 && wire == 2: // features
			fb, err := r.bytes()
			if err != nil {
				return "", nil, err
			}
			var f raw
			fr := &pbuf{b: fb}
			for !fr.done() {
				ff, fw, err := fr.key()
				if err != nil {
					return "", nil, err
				}
				switch {
				case ff == 1 && fw == 0:
					f.id, err = fr.varint()
					f.hasID = true
				case ff == 2 && fw == 2:
					var pb []byte
					if pb, err = fr.bytes(); err == nil {
						pr := &pbuf{b: pb}
						for !pr.done() && err == nil {
							var v uint64
							v, err = pr.varint()
							f.tags = append(f.tags, v)
						}
					}
				default:
					err = fr.skip(fw)
				}
				if err != nil {
					return "", nil, err
				}
			}
			feats = append(feats, f)
		default:
			if err := r.skip(wire); err != nil {
				return "", nil, err
			}
		}
	}
	if name == "" {
		return "", nil, errors.New("layer without a name")
	}
	out := make([]mvtFeature, len(feats))
	for i, f := range feats {
		if len(f.tags)%2 != 0 {
			return "", nil, fmt.Errorf("layer %s: odd number of tags", name)
		}
		props := map[string]any{}
		for j := 0; j < len(f.tags); j += 2 {
			k, v := f.tags[j], f.tags[j+1]
			if k >= uint64(len(keys)) || v >= uint64(len(values)) {
				return "", nil, fmt.Errorf("layer %s: tag %d/%d out of range", name, k, v)
			}
			props[keys[k]] = values[v]
		}
		out[i] = mvtFeature{ID: f.id, HasID: f.hasID, Props: props}
	}
	return name, out, nil
}

func decodeMVTValue(b []byte) (any, error) {
	r := &pbuf{b: b}
	field, wire, err := r.key()
	if err != nil {
		return nil, err
	}
	switch {
	case field == 1 && wire == 2:
		s, err := r.bytes()
		return string(s), err
	case field == 2 && wire == 5 && len(b) >= r.i+4:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[r.i:]))), nil
	case field == 3 && wire == 1 && len(b) >= r.i+8:
		return math.Float64frombits(binary.LittleEndian.Uint64(b[r.i:])), nil
	case field >= 4 && field <= 7 && wire == 0:
		x, err := r.varint()
		switch field {
		case 4, 5:
			return int64(x), err
		case 6:
			return int64(x>>1) ^ -int64(x&1), err
		}
		return x != 0, err
	}
	return nil, fmt.Errorf("value field %d with wire type %d", field, wire)
}

// pbuf reads protocol buffer wire format.
type pbuf struct {
	b []byte
	i int
}

func (r *pbuf) done() bool { return r.i >= len(r.b) }

func (r *pbuf) varint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 {
		return 0, errors.New("bad varint")
	}
	r.i += n
	return v, nil
}

func (r *pbuf) key() (field, wire int, err error) {
	k, err := r.varint()
	return int(k >> 3), int(k & 7), err
}

func (r *pbuf) bytes() ([]byte, error) {
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

func (r *pbuf) skip(wire int) error {
	switch wire {
	case 0:
		_, err := r.varint()
		return err
	case 1, 5:
		n := map[int]int{1: 8, 5: 4}[wire]
		if r.i+n > len(r.b) {
			return errors.New("short fixed field")
		}
		r.i += n
		return nil
	case 2:
		_, err := r.bytes()
		return err
	}
	return fmt.Errorf("wire type %d", wire)
}
