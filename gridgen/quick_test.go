package gridgen

import (
	"context"
	"encoding/json"
	"testing"
)

func TestQuickLI(t *testing.T) {
	hh, areas := liechtenstein(t)
	for _, res := range []int{9, 10, 0} {
		p, err := Generate(context.Background(), Input{Households: hh, Parents: areas, Target: 300, Resolution: res}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		rep := p.Report
		rep.HeavyCells = nil
		b, _ := json.MarshalIndent(rep, "", " ")
		t.Logf("res %d: %s", res, b)
	}
}
