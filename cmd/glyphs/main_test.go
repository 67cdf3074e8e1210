package main

import (
	"encoding/binary"
	"os"
	"testing"

	"golang.org/x/image/font/sfnt"
)

const dejaVu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

// fields decodes one protobuf message into field number → raw values
// (varints as uint64, length-delimited as []byte).
func fields(t *testing.T, b []byte) map[int][]any {
	t.Helper()
	out := map[int][]any{}
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		b = b[n:]
		switch key & 7 {
		case 0:
			v, n := binary.Uvarint(b)
			b = b[n:]
			out[int(key>>3)] = append(out[int(key>>3)], v)
		case 2:
			l, n := binary.Uvarint(b)
			b = b[n:]
			out[int(key>>3)] = append(out[int(key>>3)], b[:l])
			b = b[l:]
		default:
			t.Fatalf("wire type %d", key&7)
		}
	}
	return out
}

func unzigzag(v uint64) int { return int(int64(v>>1) ^ -int64(v&1)) }

// TestBuildRange: the Latin range of DejaVu Sans as MapLibre reads it: one
// fontstack named as asked, a glyph per code point the font has, a space
// with an advance and no bitmap, and an "l" whose SDF is inside (≥ 192,
// the edge) on its stem and outside at the bitmap's corner.
func TestBuildRange(t *testing.T) {
	raw, err := os.ReadFile(dejaVu)
	if err != nil {
		t.Skipf("no %s (scripts/deps.sh installs fonts-dejavu-core): %v", dejaVu, err)
	}
	f, err := sfnt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	pbf, n, err := buildRange(f, "DejaVu Sans", 0)
	if err != nil {
		t.Fatal(err)
	}
	if n < 180 {
		t.Fatalf("%d glyphs in 0-255", n)
	}
	top := fields(t, pbf)
	if len(top[1]) != 1 {
		t.Fatalf("%d fontstacks", len(top[1]))
	}
	stack := fields(t, top[1][0].([]byte))
	if string(stack[1][0].([]byte)) != "DejaVu Sans" || string(stack[2][0].([]byte)) != "0-255" || len(stack[3]) != n {
		t.Fatalf("fontstack %q %q with %d glyphs", stack[1][0], stack[2][0], len(stack[3]))
	}
	glyphs := map[uint64]map[int][]any{}
	for _, g := range stack[3] {
		gf := fields(t, g.([]byte))
		glyphs[gf[1][0].(uint64)] = gf
	}
	space := glyphs[' ']
	if space == nil || space[2] != nil || space[7][0].(uint64) < 4 {
		t.Errorf("space: %v", space)
	}
	l := glyphs['l']
	if l == nil {
		t.Fatal("no l")
	}
	w, h := int(l[3][0].(uint64)), int(l[4][0].(uint64))
	bm := l[2][0].([]byte)
	W, H := w+2*border, h+2*border
	if w < 2 || h < 15 || len(bm) != W*H {
		t.Fatalf("l: %d×%d, bitmap %d bytes", w, h, len(bm))
	}
	if mid := bm[(H/2)*W+W/2]; mid < 192 {
		t.Errorf("l: stem %d, want ≥ 192 (inside)", mid)
	}
	if corner := bm[0]; corner > 100 {
		t.Errorf("l: corner %d, want far outside", corner)
	}
	if top := unzigzag(l[6][0].(uint64)); top > 0 || top < -10 {
		t.Errorf("l: top %d, want a few px below the ascent (≤ 0)", top)
	}
}
