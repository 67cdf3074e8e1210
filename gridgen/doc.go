// Package gridgen draws management grids: it partitions the H3 cells of
// each parent area into balanced, contiguous grids of about a target number
// of households, and reports on their quality (DESIGN.md, "Grid
// generation").
//
// # Cells
//
// Each parent is covered by the H3 cells that overlap it. Cells on the
// boundary are clipped by the parent (clip.go), and a clipped cell that
// falls apart (a river bend, an inlet) becomes several pieces. Pieces, not
// cells, are the vertices of the partition graph; two are adjacent when
// they share a stretch of cell edge inside the parent. Cell vertices are
// snapped to one canonical value and crossing points are computed from
// canonically ordered operands, so neighbours share bit-identical edges: a
// grid is the union of its pieces by cancelling shared segments, and the
// grids of a parent tile it with no gap and no overlap. Geometry is planar
// in lon/lat; the report's gap and overlap come from exact planar area sums
// scaled to m², areas of grids from orb/geo (spherical).
//
// # Parts
//
// The connected components of a parent's piece graph are its parts
// (exclaves, islands, MultiPolygon members that do not touch). Each part is
// partitioned on its own into round(households / target) grids, at least
// one: a grid must be one connected piece and may not leave its parent, so
// a part never shares a grid with another. A part without households (an
// uninhabited exclave) is still covered, by one empty grid: the land needs
// someone responsible for it, and a planner can give that grid to the
// worker next door without the map lying about contiguity. Such grids, and
// parts whose households cannot be split within ±10 % (say 450 households:
// one grid of 450 or two of 225), are counted in Report.Constrained.
//
// # Partition
//
// A piece heavier than the target (a tower block) is a grid of its own and
// is listed in Report.HeavyCells. The rest is partitioned multilevel
// (coarsen.go): neighbouring pieces are merged pairwise, level by level, to
// about 100 vertices per grid or 4,096 vertices, whichever is fewer (no
// merged vertex over an eighth of the target), then a few more levels merge only empty vertices, so that sea
// and fields become a few large ones. That graph is split by recursive
// bisection: every split tries sweeps in four directions, both ways, and
// takes the prefix with the fewest cut edges whose weight lets both halves
// be split further within ±10 %; pockets a sweep cuts off are handed to the
// other side, so both halves stay connected. Halves are split in parallel.
// Then the labels go back down level by level, and at each level grids are
// reshaped towards round, balanced cells of a power diagram (lloyd.go),
// connected shares of empty land move whole to the neighbour with which
// they share more boundary (empty.go; coarse levels only), on the levels
// that merged only empty land every two neighbouring grids share the empty
// vertices near their boundary along a minimum cut between their
// households (emptycut.go), and boundary
// vertices move to repair balance and shorten the cut. The two halves of the first split are worked
// on in parallel. A vertex only leaves a grid if its neighbours in that grid
// stay connected to each other, and a merged vertex is a connected set of
// pieces, so every grid stays connected at every level. A last refinement
// on the pieces themselves finishes, followed by rounds of METIS-style
// greedy moves in order of gain that also make moves saving nothing, so
// that boundaries slide along stretches of equal cut to where a move saves
// (slide, refine.go); then a few rounds of the power-diagram reshaping
// loosen the boundaries and slide runs again (the shake).
//
// # Streets and units
//
// With a streets layer (Input.Streets, unless Input.NoStreets), the edges
// of the cell graph get cut weights: an edge between two pieces on either
// side of a street, river or railway, or whose shared cell edge runs
// within 20 m of one, is cheap to cut, the more so the stronger the line
// (StreetWeight: rivers, railways and primary roads before secondary
// roads before residential streets); every step that counts the cut
// counts these weights (streets.go). Balance stays first: a part whose
// street-weighted partition leaves a grid out of bounds is drawn again
// without the weights and the better balanced result kept. Without
// streets the graph has no weights at all and the plan is the one drawn
// before streets existed, bit for bit. With streets, boundaries are then
// drawn on the street lines: boundary cells are split by the streets into
// faces that join the grid across the street (snap.go).
//
// Units (Input.Units) smaller than their parent's average grid are
// contracted into one vertex before a part is partitioned (units.go), up
// to 0.4 of the target in households, lighter in turn where balance needs
// it; a redraw does not contract. After the partition, the cells of small
// units are split along the unit outlines and a unit still split moves
// whole, by the faces inside its outline, into one of its grids
// (unitfaces.go). The report lists the units of every grid and names each
// split unit with the reason.
//
// # Workload
//
// With Input.Weight "workload" the partition balances each piece's
// workload (households, events a year, units and area, mixed by
// Input.Workload; workload.go) instead of its households; each parent's
// target is scaled so that it still gets the grids its households call
// for. Balance in the report (MaxDeviationPct, WithinTenPct) is then of
// workload.
//
// # Redraw
//
// With a base plan, pieces start in their base grid, grids are split or
// merged until the part has the number of grids its households call for,
// and balance is repaired by moving boundary pieces; households only move
// to fix balance. Locked grids and grids holding a heavy cell are left
// alone. If that cannot reach balance and a fresh partition can, the fresh
// one is used (balance ranks above stability). Grids inherit the code of
// the base grid that holds more than half of their households.
// HouseholdsMoved counts households whose cell is in a grid with another
// code than in the base.
//
// # Codes
//
// A grid code is the parent code plus a 3-digit sequence. Grids are
// numbered north→south by row band, west→east within a band: bands are as
// high as the side of an average grid, √(parent area / grids), counted from
// the parent's northernmost point, a grid falls in the band of its centroid
// and within a band grids are ordered by the centroid's longitude. In a
// redraw inherited codes stay and new grids take the next free numbers in
// the same order.
//
// # Resolution
//
// Resolution 0 picks the coarsest resolution (7–12) at which the average
// grid spans at least 20 non-empty cells, so one cell is a small share of a
// grid and balance can be fine.
package gridgen
