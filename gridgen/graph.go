package gridgen

import (
	"context"
	"math"

	"github.com/wangge/wangge/data"
)

// Graph is the cell adjacency graph of one parent part, the graph Generate
// partitions, exported so that other partitioners (METIS in bench/) can be
// run on exactly the same input.
type Graph struct {
	Parent  string    // parent area code
	Cells   []uint64  // H3 cell of each vertex (a cell cut apart by the boundary gives several vertices)
	Weights []int     // households of each vertex
	X, Y    []float64 // position of each vertex in metres (local equirectangular)
	XAdj    []int32   // CSR: the neighbours of v are Adj[XAdj[v]:XAdj[v+1]]
	Adj     []int32
	// EdgeWeights are the cut weights of the edges, parallel to Adj
	// (streets.go); nil when every edge weighs 1 (no streets).
	EdgeWeights []int32
}

// CellGraphs builds the graphs Generate would partition for in, one per
// parent part, and returns them with the resolution used.
func CellGraphs(ctx context.Context, in Input) ([]Graph, int, error) {
	r, _, err := newRun(ctx, in, Options{})
	if err != nil {
		return nil, 0, err
	}
	var out []Graph
	for pi, a := range in.Parents {
		pc, err := buildCells(ctx, a.Geometry, r.res, nil)
		if err != nil {
			return nil, 0, data.Wrap(data.EINTERNAL, err, "covering parent %q with H3 cells", a.Code)
		}
		r.assignHouseholds(pi, pc)
		byPart := piecesByPart(pc)
		local := make([]int32, len(pc.pieces))
		for _, vs := range byPart {
			g := partGraph(pc, vs, local)
			r.setStreetWeights(pc, vs, g)
			cells := make([]uint64, len(vs))
			for i, v := range vs {
				cells[i] = uint64(pc.pieces[v].cell)
			}
			out = append(out, Graph{Parent: a.Code, Cells: cells, Weights: g.w, X: g.x, Y: g.y, XAdj: g.xadj, Adj: g.adj, EdgeWeights: g.ew})
		}
	}
	return out, r.res, nil
}

// PartitionGraph partitions one connected part graph into grids of about
// target households, as Generate does, and returns the grid of every vertex
// and the number of grids.
func PartitionGraph(ctx context.Context, g Graph, target float64) ([]int32, int) {
	gr := &graph{xadj: g.XAdj, adj: g.Adj, ew: g.EdgeWeights, w: g.Weights, x: g.X, y: g.Y}
	sem := make(chan struct{}, max(0, workers()-1))
	res := partitionPart(ctx, gr, math.Max(1, target), sem, nil)
	return res.labels, res.grids
}
