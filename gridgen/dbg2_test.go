package gridgen

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

func TestDbgLI08(t *testing.T) {
	hh, areas := liechtenstein(t)
	streets := liechtensteinStreets(t)
	for _, a := range areas {
		if a.Code != "LI-08" {
			continue
		}
		for _, s := range [][]any{nil, {1}} {
			in := Input{Households: hh, Parents: areas, Target: 300, Resolution: 10}
			if s != nil {
				in.Streets = streets
			}
			gs, _, err := CellGraphs(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range gs {
				if g.Parent != "LI-08" {
					continue
				}
				tot := 0
				for _, w := range g.Weights {
					tot += w
				}
				if tot < 1000 {
					continue
				}
				gr := &graph{xadj: g.XAdj, adj: g.Adj, ew: g.EdgeWeights, w: g.Weights, x: g.X, y: g.Y}
				bsr := newBisector(context.Background(), gr, make(chan struct{}))
				k := 5
				b := boundsFor(float64(tot), k, 300)
				bsr.run(identity(gr.n()), k, b)
				ws := make([]int, k)
				for v, l := range bsr.labels {
					ws[l] += g.Weights[v]
				}
				t.Logf("streets %v: n %d tot %d bisect %v", s != nil, gr.n(), tot, ws)
				lab := slices.Clone(bsr.labels)
				bs := make([]bounds, k)
				for i := range bs {
					bs[i] = b
				}
				pr := func(tag string) {
					ws := make([]int, k)
					for v, l := range lab {
						ws[l] += g.Weights[v]
					}
					t.Logf("  %s %v", tag, ws)
				}
				lloyd(gr, lab, k, bs, make([]bool, k), lloydIters)
				pr("lloyd")
				refine(gr, lab, k, bs, make([]bool, k), 12, false)
				pr("refine")
				levels, extra := coarsen(gr, 37, 500, emptyLevels)
				top := levels[len(levels)-1].g
				b2 := newBisector(context.Background(), top, make(chan struct{}))
				b2.run(identity(top.n()), k, b)
				tl := b2.labels
				for i := len(levels) - 1; i >= 0; i-- {
					tl = project(levels[i].cmap, tl)
				}
				lab = tl
				pr(fmt.Sprintf("coarse bisect (%d levels, %d extra, top n %d)", len(levels), extra, top.n()))
				sl, _ := splitComponent(context.Background(), gr, identity(gr.n()), k, b, 300, make(chan struct{}), nil)
				lab = sl
				pr("split")
				res := partitionPart(context.Background(), gr, 300, make(chan struct{}), nil)
				ws = make([]int, res.grids)
				for v, l := range res.labels {
					ws[l] += g.Weights[v]
				}
				t.Logf("  final %v", ws)
			}
		}
	}
}
