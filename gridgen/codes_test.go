package gridgen

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

func TestStatisticalCode(t *testing.T) {
	for code, want := range map[string]bool{
		"110105001001": true, "440305007003": true,
		"110105001": false, "1101050010010": false, "11010500100A": false, "X": false, "": false, "１10105001001": false,
	} {
		if got := StatisticalCode(code); got != want {
			t.Errorf("StatisticalCode(%q) = %v, want %v", code, got, want)
		}
	}
}

// statParent is a village committee (村委会) with a 12-digit statistical
// division code in Beijing's Chaoyang district.
const statParent = "110105001001"

// TestStatisticalGridCodes draws a parent with a 12-digit code: its grids
// are the code and 001, 002, … (15 digits), and a redraw from that plan
// keeps every code.
func TestStatisticalGridCodes(t *testing.T) {
	parent := data.Area{Code: statParent, Geometry: orb.MultiPolygon{square(116.44, 39.92, 116.46, 39.94)}}
	hh := scatter(orb.Bound{Min: orb.Point{116.4405, 39.9205}, Max: orb.Point{116.4595, 39.9395}}, 3000, 1)
	ctx := context.Background()
	base, err := Generate(ctx, Input{Households: hh, Parents: []data.Area{parent}, Target: 300, Resolution: 11}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, g := range base.Grids {
		if len(g.Code) != 15 || !strings.HasPrefix(g.Code, statParent) || !StatisticalCode(g.Code[3:]) {
			t.Errorf("grid code %q is not the 12-digit parent code and 3 digits", g.Code)
		}
		seen[g.Code] = true
	}
	if len(base.Grids) < 5 || !seen[statParent+"001"] || !seen[statParent+"002"] {
		t.Fatalf("%d grids, codes %v", len(base.Grids), seen)
	}
	plan, err := Generate(ctx, Input{Households: hh, Parents: []data.Area{parent}, Target: 300, Base: &base}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]data.Grid{}
	for _, g := range base.Grids {
		before[g.Code] = g
	}
	for _, g := range plan.Grids {
		if b, ok := before[g.Code]; !ok || !sameCells(b.Cells, g.Cells) {
			t.Errorf("redraw: grid %s changed or is new", g.Code)
		}
	}
}

// TestStatisticalCodeLimit: a 12-digit parent cannot have 1000 grids: an
// EINVALID error, whether the count is asked for (Input.Grids, refused
// before any work) or comes out of the drawing (codes); any other code
// goes on to 4 digits as before.
func TestStatisticalCodeLimit(t *testing.T) {
	parent := data.Area{Code: statParent, Geometry: orb.MultiPolygon{square(116.44, 39.92, 116.45, 39.93)}}
	hh := scatter(orb.Bound{Min: orb.Point{116.4401, 39.9201}, Max: orb.Point{116.4499, 39.9299}}, 100, 1)
	check := func(name string, err error) {
		t.Helper()
		var e *data.Error
		if !errors.As(err, &e) || e.Code != data.EINVALID || !strings.Contains(e.Message, statParent) || !strings.Contains(e.Message, "999") {
			t.Errorf("%s: err = %v, want EINVALID naming the parent and 999", name, err)
		}
	}
	start := time.Now()
	_, err := Generate(context.Background(), Input{Households: hh, Parents: []data.Area{parent}, Grids: map[string]int{statParent: 1000}}, Options{})
	check("grids 1000", err)
	if d := time.Since(start); d > time.Second {
		t.Errorf("refused after %v, want before drawing", d)
	}

	r := &run{}
	o := &parentOut{areaM2: 1e6, top: 39.93}
	for i := range 1000 {
		o.grids = append(o.grids, gridOut{c: orb.Point{116.44 + float64(i%40)*0.00025, 39.92 + float64(i/40)*0.0004}})
	}
	_, err = r.codes(parent, o)
	check("1000 grids drawn", err)
	codes, err := r.codes(data.Area{Code: "CY-001"}, o)
	if err != nil || !slices.Contains(codes, "CY-0011000") {
		t.Errorf("another code: %v, codes up to %s", err, slices.Max(codes))
	}
	o.grids = o.grids[:999]
	if codes, err := r.codes(parent, o); err != nil || !slices.Contains(codes, statParent+"999") {
		t.Errorf("999 grids: %v", err)
	}
}

// TestStatisticalCodesWrap: in a redraw whose base used the high numbers,
// a new grid under a 12-digit code takes the lowest free number instead of
// a 4-digit one.
func TestStatisticalCodesWrap(t *testing.T) {
	r := &run{base: &baseIndex{}}
	o := &parentOut{areaM2: 4e6, top: 39.93, grids: []gridOut{
		{c: orb.Point{116.441, 39.925}, baseCode: statParent + "999"},
		{c: orb.Point{116.449, 39.925}},
		{c: orb.Point{116.445, 39.925}, baseCode: statParent + "001"},
	}}
	codes, err := r.codes(data.Area{Code: statParent}, o)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{statParent + "999", statParent + "002", statParent + "001"}; strings.Join(codes, ",") != strings.Join(want, ",") {
		t.Errorf("codes %v, want %v", codes, want)
	}
	// The same under another code grows to 1000.
	o.grids[0].baseCode, o.grids[2].baseCode = "X999", "X001"
	if codes, _ := r.codes(data.Area{Code: "X"}, o); codes[1] != "X1000" {
		t.Errorf("code %s, want X1000", codes[1])
	}
}
