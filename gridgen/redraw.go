package gridgen

import (
	"context"

	"github.com/wangge/wangge/data"
)

// baseIndex is the base plan of a redraw, indexed for lookups.
type baseIndex struct {
	plan   *data.Plan
	locked map[string]bool
}

func newBaseIndex(p *data.Plan, locked []string) *baseIndex {
	b := &baseIndex{plan: p, locked: make(map[string]bool)}
	for _, c := range locked {
		b.locked[c] = true
	}
	return b
}

func (r *run) redrawPart(ctx context.Context, parent string, pc *parentCells, vs []int32, g *graph, target float64, sem chan struct{}, moved int) (partResult, int) {
	return partitionPart(ctx, g, target, sem), moved
}
