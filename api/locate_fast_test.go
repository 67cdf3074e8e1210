package api

import (
	"encoding/json"
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
