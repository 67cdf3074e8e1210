// Command glyphs writes the map's label glyphs: signed distance fields of
// one font's Latin ranges, in the MapLibre glyph protobuf format
// (fontstack/start-end.pbf, 256 code points a file), for the map page to
// draw labels with nothing from the internet. `make web` runs it into
// api/page/dist/fonts, which go:embed puts in the binary; CJK is not built
// here: MapLibre draws it with the browser's own fonts
// (localIdeographFontFamily). See docs/DESIGN.md, "Map page".
//
//	go run ./cmd/glyphs -font /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf -name "DejaVu Sans" -out api/page/dist/fonts
package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// MapLibre's glyph atlas expects glyphs drawn at 24 px with a 3 px border
// (GLYPH_PBF_BORDER) and the SDF of TinySDF and fontnik: radius 8, the edge
// at 0.75 of 255.
const (
	size   = 24
	border = 3
	radius = 8.0
	cutoff = 0.25
)

func main() {
	fontPath := flag.String("font", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "TrueType/OpenType font file")
	name := flag.String("name", "DejaVu Sans", "fontstack name (the style's text-font)")
	out := flag.String("out", "api/page/dist/fonts", "output folder; the fontstack's folder is made in it")
	ranges := flag.String("ranges", "0,256,8192", "starts of the 256-code-point ranges to build")
	flag.Parse()
	if err := run(*fontPath, *name, *out, *ranges); err != nil {
		fmt.Fprintln(os.Stderr, "glyphs:", err)
		os.Exit(1)
	}
}

func run(fontPath, name, out, ranges string) error {
	raw, err := os.ReadFile(fontPath)
	if err != nil {
		return fmt.Errorf("%w (scripts/deps.sh installs fonts-dejavu-core)", err)
	}
	f, err := sfnt.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", fontPath, err)
	}
	dir := filepath.Join(out, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, s := range strings.Split(ranges, ",") {
		start, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || start < 0 || start%256 != 0 || start > 65280 {
			return fmt.Errorf("range start %q: want a multiple of 256 below 65536", s)
		}
		pbf, n, err := buildRange(f, name, start)
		if err != nil {
			return err
		}
		file := filepath.Join(dir, fmt.Sprintf("%d-%d.pbf", start, start+255))
		if err := os.WriteFile(file, pbf, 0o644); err != nil {
			return err
		}
		fmt.Printf("glyphs: %s: %d glyphs, %d bytes\n", file, n, len(pbf))
	}
	return nil
}

// buildRange encodes the glyphs of f from start to start+255 as one
// glyphs message (glyphs.proto: stacks=1 {name=1, range=2, glyphs=3}).
func buildRange(f *sfnt.Font, name string, start int) ([]byte, int, error) {
	var buf sfnt.Buffer
	ppem := fixed.I(size)
	m, err := f.Metrics(&buf, ppem, font.HintingNone)
	if err != nil {
		return nil, 0, err
	}
	ascent := m.Ascent.Round()
	var stack []byte
	stack = appendBytes(stack, 1, []byte(name))
	stack = appendBytes(stack, 2, []byte(fmt.Sprintf("%d-%d", start, start+255)))
	n := 0
	for r := rune(start); r < rune(start+256); r++ {
		g, ok, err := glyph(f, &buf, r, ppem, ascent)
		if err != nil {
			return nil, 0, fmt.Errorf("U+%04X: %w", r, err)
		}
		if !ok {
			continue
		}
		stack = appendBytes(stack, 3, g)
		n++
	}
	return appendBytes(nil, 1, stack), n, nil
}

// glyph encodes one glyph message: id=1, bitmap=2, width=3, height=4,
// left=5 (sint32), top=6 (sint32), advance=7. Top is counted from the
// ascent, as fontnik does, so MapLibre's baseline offset places it.
func glyph(f *sfnt.Font, buf *sfnt.Buffer, r rune, ppem fixed.Int26_6, ascent int) ([]byte, bool, error) {
	idx, err := f.GlyphIndex(buf, r)
	if err != nil || idx == 0 {
		return nil, false, nil // not in the font: MapLibre draws nothing or falls back
	}
	bounds, adv, err := f.GlyphBounds(buf, idx, ppem, font.HintingNone)
	if err != nil {
		return nil, false, err
	}
	x0, y0 := bounds.Min.X.Floor(), bounds.Min.Y.Floor() // y down
	x1, y1 := bounds.Max.X.Ceil(), bounds.Max.Y.Ceil()
	w, h := x1-x0, y1-y0
	var out []byte
	out = appendVarint(out, 1, uint64(r))
	if w > 0 && h > 0 {
		segs, err := f.LoadGlyph(buf, idx, ppem, nil)
		if err != nil {
			return nil, false, err
		}
		W, H := w+2*border, h+2*border
		z := vector.NewRasterizer(W, H)
		z.DrawOp = draw.Src
		pt := func(p fixed.Point26_6) (float32, float32) {
			return float32(p.X)/64 - float32(x0) + border, float32(p.Y)/64 - float32(y0) + border
		}
		for _, s := range segs {
			switch s.Op {
			case sfnt.SegmentOpMoveTo:
				z.ClosePath()
				z.MoveTo(pt(s.Args[0]))
			case sfnt.SegmentOpLineTo:
				z.LineTo(pt(s.Args[0]))
			case sfnt.SegmentOpQuadTo:
				ax, ay := pt(s.Args[0])
				bx, by := pt(s.Args[1])
				z.QuadTo(ax, ay, bx, by)
			case sfnt.SegmentOpCubeTo:
				ax, ay := pt(s.Args[0])
				bx, by := pt(s.Args[1])
				cx, cy := pt(s.Args[2])
				z.CubeTo(ax, ay, bx, by, cx, cy)
			default:
				return nil, false, errors.New("unknown segment")
			}
		}
		z.ClosePath()
		alpha := image.NewAlpha(image.Rect(0, 0, W, H))
		z.Draw(alpha, alpha.Bounds(), image.Opaque, image.Point{})
		out = appendBytes(out, 2, sdf(alpha.Pix, W, H))
	} else {
		w, h = 0, 0
	}
	out = appendVarint(out, 3, uint64(w))
	out = appendVarint(out, 4, uint64(h))
	out = appendVarint(out, 5, zigzag(x0))
	out = appendVarint(out, 6, zigzag(-y0-ascent))
	out = appendVarint(out, 7, uint64(max(0, adv.Round())))
	return out, true, nil
}

// sdf turns an antialiased coverage bitmap into a signed distance field
// as TinySDF does: partly covered pixels seed the distance with their
// sub-pixel offset from the edge, then two Euclidean distance transforms
// (Felzenszwalb and Huttenlocher), outside and inside.
func sdf(alpha []byte, w, h int) []byte {
	// far stands for no edge in reach; not +Inf, whose differences are NaN.
	const far = 1e20
	n := w * h
	outer, inner := make([]float64, n), make([]float64, n)
	for i, a8 := range alpha {
		a := float64(a8) / 255
		switch {
		case a8 == 255:
			outer[i], inner[i] = 0, far
		case a8 == 0:
			outer[i], inner[i] = far, 0
		default:
			d := 0.5 - a
			if d > 0 {
				outer[i] = d * d
			}
			if d < 0 {
				inner[i] = d * d
			}
		}
	}
	s := newEDT(max(w, h))
	s.transform(outer, w, h)
	s.transform(inner, w, h)
	out := make([]byte, n)
	for i := range out {
		d := math.Sqrt(outer[i]) - math.Sqrt(inner[i])
		out[i] = byte(math.Max(0, math.Min(255, math.Round(255-255*(d/radius+cutoff)))))
	}
	return out
}

type edt struct {
	f, z []float64
	v    []int
}

func newEDT(n int) *edt {
	return &edt{f: make([]float64, n), z: make([]float64, n+1), v: make([]int, n)}
}

func (e *edt) transform(grid []float64, w, h int) {
	for x := 0; x < w; x++ {
		e.line(grid, x, w, h)
	}
	for y := 0; y < h; y++ {
		e.line(grid, y*w, 1, w)
	}
}

// line is the 1-D squared distance transform of grid[off], grid[off+stride], ….
func (e *edt) line(grid []float64, off, stride, n int) {
	f, z, v := e.f, e.z, e.v
	v[0], z[0], z[1] = 0, math.Inf(-1), math.Inf(1)
	f[0] = grid[off]
	k := 0
	for q := 1; q < n; q++ {
		f[q] = grid[off+q*stride]
		q2 := float64(q * q)
		var s float64
		for {
			r := v[k]
			s = (f[q] - f[r] + q2 - float64(r*r)) / float64(q-r) / 2
			if s <= z[k] && k > 0 {
				k--
				continue
			}
			if s <= z[k] {
				k = -1
			}
			break
		}
		k++
		v[k], z[k], z[k+1] = q, s, math.Inf(1)
	}
	k = 0
	for q := 0; q < n; q++ {
		for z[k+1] < float64(q) {
			k++
		}
		r := v[k]
		grid[off+q*stride] = f[r] + float64((q-r)*(q-r))
	}
}

func zigzag(v int) uint64 { return uint64((int64(v) << 1) ^ (int64(v) >> 63)) }

func appendVarint(b []byte, field int, v uint64) []byte {
	b = appendUvarint(b, uint64(field<<3))
	return appendUvarint(b, v)
}

func appendBytes(b []byte, field int, p []byte) []byte {
	b = appendUvarint(b, uint64(field<<3|2))
	b = appendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
