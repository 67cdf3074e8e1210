package gridgen

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wangge/wangge/data"
)

var update = flag.Bool("update", false, "rewrite the plan digests in testdata/ from this build")

// planDigest is a SHA-256 of everything a plan says: each grid's code,
// parent, households, area, cells and the bits of every coordinate, and the
// report but its run time.
func planDigest(t *testing.T, p data.Plan) string {
	t.Helper()
	h := sha256.New()
	num := func(f float64) { binary.Write(h, binary.LittleEndian, math.Float64bits(f)) }
	for _, g := range p.Grids {
		fmt.Fprintf(h, "%s|%s|%d|%d|", g.Code, g.ParentCode, g.Households, len(g.Cells))
		num(g.AreaM2)
		for _, c := range g.Cells {
			binary.Write(h, binary.LittleEndian, c)
		}
		for _, poly := range g.Geometry {
			fmt.Fprint(h, "P")
			for _, ring := range poly {
				fmt.Fprint(h, "R")
				for _, pt := range ring {
					num(pt[0])
					num(pt[1])
				}
			}
		}
	}
	rep := p.Report
	rep.RuntimeSeconds = 0
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	h.Write(b)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestPlanDigest: the plans of the Liechtenstein extract are bit for bit
// the ones of testdata/plans.digest, written by the build that last changed
// them on purpose (go test -run PlanDigest -update ./gridgen/). A change
// to how Generate runs (the order parents are done in, how households are
// read, grouped and let go of) must leave them so.
func TestPlanDigest(t *testing.T) {
	hh, areas := liechtenstein(t)
	units := liechtensteinUnits(t)
	cases := []struct {
		name string
		in   Input
	}{
		{"auto", Input{Households: hh, Parents: areas, Target: 300}},
		{"res10-units", Input{Households: hh, Parents: areas, Target: 300, Resolution: 10, Units: units}},
		{"res11-workers1", Input{Households: hh, Parents: areas, Target: 200, Resolution: 11}},
	}
	var got []string
	for _, c := range cases {
		opt := Options{}
		if strings.HasSuffix(c.name, "workers1") {
			opt.Workers = 1
		}
		p, err := Generate(context.Background(), c.in, opt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got = append(got, c.name+" "+planDigest(t, p))
	}
	path := filepath.Join("testdata", "plans.digest")
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wantLines := strings.Split(strings.TrimSpace(string(want)), "\n")
	for i, g := range got {
		if i >= len(wantLines) || g != wantLines[i] {
			t.Errorf("plan digest changed:\n got %s\nwant %s", g, strings.Join(wantLines[min(i, len(wantLines)-1):][:1], ""))
		}
	}
}
