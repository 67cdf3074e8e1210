package api

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// FuzzScanBatch: whatever body the fast reader of batch locate takes, it
// reads as encoding/json does; what it does not take, encoding/json reads
// instead (the handler falls back).
func FuzzScanBatch(f *testing.F) {
	for _, seed := range []string{
		`{"points": [[9.52, 47.14], [9.6, 47.06]], "crs": "gcj02"}`,
		`{"crs":"wgs84","answer":"codes","points":[[1e1,-2.5E-3]]}`,
		`{"points": []}`,
		`{"points": [[1, 2, 3]]}`,
		`{"points": [[1, 2]], "points": [[3, 4]]}`,
		`{"points": [[+1, 2]]}`,
		`{"points": [[1, 2]], "crs": "\u0067cj02"}`,
		` { "points" : [ [ 0 , 0 ] ] } `,
		`{"points": [[1, 2]]} x`,
		`{"points": [[01, 2]]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pts, crs, answer, ok := scanBatch(body)
		if !ok {
			return
		}
		var req locateRequest
		if err := decodeJSON(body, &req); err != nil {
			t.Fatalf("the fast reader took %q, encoding/json refuses it: %v", body, err)
		}
		if req.CRS != crs || req.Answer != answer || len(req.Points) != len(pts) {
			t.Fatalf("%q: fast %v %q %q, encoding/json %v %q %q", body, pts, crs, answer, req.Points, req.CRS, req.Answer)
		}
		for i, p := range req.Points {
			if len(p) != 2 || p[0] != pts[i][0] || p[1] != pts[i][1] {
				t.Fatalf("%q: points[%d] fast %v, encoding/json %v", body, i, pts[i], p)
			}
		}
	})
}

// TestScanBatchFallsBack: bodies the fast reader leaves to encoding/json.
func TestScanBatchFallsBack(t *testing.T) {
	for _, body := range []string{
		`{"points": [[1, 2, 3]]}`, `{"points": [[1]]}`, `{"points": [["1", 2]]}`, `{"pts": []}`, `{"points": [[1, 2]], "x": 1}`,
		`{"points": [[1, 2]], "crs": "\u0067cj02"}`, `[]`, `{"points": [[1, 2]]} x`, `{"points": null}`,
	} {
		if _, _, _, ok := scanBatch([]byte(body)); ok {
			t.Errorf("the fast reader took %s", body)
		}
	}
	var v any
	if json.Unmarshal([]byte(`{"points": [[1, 2]]}`), &v) != nil {
		t.Fatal("a valid body")
	}
	if pts, _, _, ok := scanBatch([]byte(`{"points": [[1, 2]]}`)); !ok || len(pts) != 1 || pts[0] != [2]float64{1, 2} {
		t.Errorf("a plain batch: %v %v", pts, ok)
	}
}

// TestScanNumberBits: the fast reader's numbers are ParseFloat's, bit for
// bit, on both sides of its shortcut (up to 16 digits and 10^-22, beyond
// them) and on the edges: -0, leading zeros after the point, 2^53.
func TestScanNumberBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 16))
	nums := []string{"-0", "0", "0.0", "-0.000", "9007199254740992", "9007199254740993", "0.9007199254740993",
		"1.0000000000000000000001", "123456789012345678901234567890", "0.0000000000000000000001", "0.00000000000000000000001",
		"47.141", "-56.18729384756123", "1e22", "1E-5", "12.5e+3", "4.9e-324", "1.7976931348623157e308"}
	for range 20000 {
		// 18 fraction digits, leading zeros kept, cut to 1–18.
		fp := strconv.FormatUint(1e18+rng.Uint64N(1e18), 10)[1:]
		n := strconv.Itoa(rng.IntN(1000)) + "." + fp[:1+rng.IntN(18)]
		if rng.IntN(2) == 0 {
			n = "-" + n
		}
		nums = append(nums, n, strconv.FormatFloat(rng.Float64()*360-180, 'f', -1, 64))
	}
	for _, n := range nums {
		want, err := strconv.ParseFloat(n, 64)
		if err != nil {
			t.Fatal(n, err)
		}
		s := &batchScanner{b: []byte(n)}
		got, ok := s.num()
		if !ok || s.i != len(n) || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s: read %v (%x, ok %v, at %d), ParseFloat %v (%x)", n, got, math.Float64bits(got), ok, s.i, want, math.Float64bits(want))
		}
	}
}
