package gridgen

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

// Tags on piece segments after adjacency is resolved.
const (
	tagBoundary  = -1 // the segment lies on the parent's boundary
	tagUnmatched = -2 // a cell edge inside the parent with no cell on the other side: a gap
)

// piece is one connected part of an H3 cell inside one parent. Most cells
// are a single whole hexagon; cells on the parent boundary may fall apart
// into several pieces (a river bend, a narrow inlet), and each piece is a
// vertex of the partition graph of its own, so that contiguity is judged on
// what is really connected.
type piece struct {
	cell h3.Cell
	poly poly // segment tags: neighbour piece id, tagBoundary or tagUnmatched
	full bool // the whole cell lies inside the parent
	c    orb.Point
	hh   int // households
	work int // workload (workload.go), set only when grids balance it
}

// parentCells is the cell cover of one parent. The pieces of one cell are
// consecutive.
type parentCells struct {
	pieces    []piece
	unmatched int // cell edges with no neighbour: would be gaps
}

// normRings returns the parent's rings, open (no repeated last point), outer
// rings counter-clockwise and holes clockwise, so that the even-odd test and
// segment directions agree everywhere.
func normRings(mp orb.MultiPolygon) [][]orb.Point {
	var out [][]orb.Point
	for _, p := range mp {
		for ri, r := range p {
			pts := []orb.Point(r)
			if len(pts) > 1 && pts[0] == pts[len(pts)-1] {
				pts = pts[:len(pts)-1]
			}
			pts = slices.Clone(pts)
			ccw := signedArea2(pts) > 0
			if (ri == 0) != ccw {
				slices.Reverse(pts)
			}
			out = append(out, pts)
		}
	}
	return out
}

// vertexTable gives every cell vertex one canonical float64 pair. H3
// computes a vertex shared by three cells separately for each of them and
// the results can differ in the last bits; snapping to the first value seen
// makes shared edges bit-identical. It is filled in sorted cell order so the
// output is deterministic. Each canonical vertex also gets an id, so that
// link can match cell edges by a pair of ids instead of four floats.
type vertexTable struct {
	m   map[uint64]int32
	pts []orb.Point
}

const vertexQuantum = 1e9 // 1e-9 degrees ≈ 0.1 mm

func vkey(kx, ky int64) uint64 { return uint64(kx)*0x9E3779B97F4A7C15 ^ uint64(ky) }

func (t *vertexTable) canon(p orb.Point) (orb.Point, int32) {
	fx, fy := p[0]*vertexQuantum, p[1]*vertexQuantum
	kx, ky := math.Round(fx), math.Round(fy)
	ix, iy := int64(kx), int64(ky)
	if id, ok := t.m[vkey(ix, iy)]; ok {
		if c := t.pts[id]; math.Abs(c[0]-p[0]) < 1e-11 && math.Abs(c[1]-p[1]) < 1e-11 {
			return c, id
		}
	}
	// The twin of a point near a rounding boundary may have rounded to the
	// neighbouring key. Twins differ by about 1e-14 degrees, 1e-5 of a
	// quantum, so only points within 1e-3 of the boundary need the search.
	if math.Abs(fx-kx) > 0.499 || math.Abs(fy-ky) > 0.499 {
		for dx := int64(-1); dx <= 1; dx++ {
			for dy := int64(-1); dy <= 1; dy++ {
				if id, ok := t.m[vkey(ix+dx, iy+dy)]; ok {
					if c := t.pts[id]; math.Abs(c[0]-p[0]) < 1e-11 && math.Abs(c[1]-p[1]) < 1e-11 {
						return c, id
					}
				}
			}
		}
	}
	id := int32(len(t.pts))
	t.pts = append(t.pts, p)
	t.m[vkey(ix, iy)] = id
	return p, id
}

// chunked runs fn over [0,n) split into chunks on up to GOMAXPROCS
// goroutines; small inputs run inline.
func chunked(n, minChunk int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 2*minChunk || workers < 2 {
		fn(0, n)
		return
	}
	workers = min(workers, n/minChunk)
	var wg sync.WaitGroup
	step := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += step {
		hi := min(n, lo+step)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// cellRing returns the cell's boundary, open and counter-clockwise in
// lon/lat.
func cellRing(c h3.Cell) ([]orb.Point, error) {
	b, err := h3.CellToBoundary(c)
	if err != nil {
		return nil, err
	}
	r := make([]orb.Point, len(b))
	for i, ll := range b {
		r[i] = orb.Point{ll.Lng, ll.Lat}
	}
	if signedArea2(r) < 0 {
		slices.Reverse(r)
	}
	return r, nil
}

func toGeoPolygon(p orb.Polygon) h3.GeoPolygon {
	loop := func(r orb.Ring) h3.GeoLoop {
		l := make(h3.GeoLoop, 0, len(r))
		for i, pt := range r {
			if i == len(r)-1 && len(r) > 1 && pt == r[0] {
				break
			}
			l = append(l, h3.LatLng{Lat: pt[1], Lng: pt[0]})
		}
		return l
	}
	gp := h3.GeoPolygon{GeoLoop: loop(p[0])}
	for _, h := range p[1:] {
		gp.Holes = append(gp.Holes, loop(h))
	}
	return gp
}

// buildCells covers one parent with cell pieces and links neighbouring
// pieces. Candidate cells come from H3's "overlapping" polyfill; because H3
// judges overlap with its own geometry, the neighbours of every cell the
// boundary crosses are examined too, until no new cell turns up, so that no
// sliver of the parent is left without a cell.
//
// prog, if set, is told the fraction done: the first batch (polyfill) is
// nearly all cells, so it reports as it goes, a slice at a time.
func buildCells(ctx context.Context, mp orb.MultiPolygon, res int, prog func(float64)) (*parentCells, error) {
	rings := normRings(mp)
	ix := newEdgeIndex(rings)
	seen := make(map[h3.Cell]bool)
	var batch []h3.Cell
	for _, p := range mp {
		cs, err := h3.PolygonToCellsExperimental(toGeoPolygon(p), res, h3.ContainmentOverlapping)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if !seen[c] {
				seen[c] = true
				batch = append(batch, c)
			}
		}
	}
	pc := &parentCells{pieces: make([]piece, 0, len(batch))}
	vt := &vertexTable{m: make(map[uint64]int32, 2*len(batch)), pts: make([]orb.Point, 0, 2*len(batch))}
	trusted := true
	type result struct {
		polys []poly
		full  bool
	}
	for len(batch) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		slices.Sort(batch)
		hexes := make([][]orb.Point, len(batch))
		vids := make([][]int32, len(batch)) // canonical vertex ids of hexes
		results := make([]result, len(batch))
		// Slices of the batch: progress and cancellation between them.
		for lo0 := 0; lo0 < len(batch); lo0 += coverSlice {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			hi0 := min(len(batch), lo0+coverSlice)
			var errOnce error
			var mu sync.Mutex
			chunked(hi0-lo0, 2048, func(lo, hi int) {
				for i := lo0 + lo; i < lo0+hi; i++ {
					r, err := cellRing(batch[i])
					if err != nil {
						mu.Lock()
						errOnce = err
						mu.Unlock()
						return
					}
					hexes[i] = r
				}
			})
			if errOnce != nil {
				return nil, errOnce
			}
			// Snapping is sequential and in sorted cell order, so the
			// canonical vertex values do not depend on scheduling.
			nv := 0
			for _, h := range hexes[lo0:hi0] {
				nv += len(h)
			}
			slab := make([]int32, nv)
			for i, h := range hexes[lo0:hi0] {
				ids := slab[:len(h):len(h)]
				slab = slab[len(h):]
				for j := range h {
					h[j], ids[j] = vt.canon(h[j])
				}
				vids[lo0+i] = ids
			}
			chunked(hi0-lo0, 2048, func(lo, hi int) {
				q := ix.querier()
				for i := lo0 + lo; i < lo0+hi; i++ {
					h := hexes[i]
					b := orb.MultiPoint(h).Bound()
					near := q.near(b)
					if len(near) == 0 {
						if trusted || ix.contains(centroid(h)) {
							results[i] = result{full: true}
						}
						continue
					}
					results[i] = result{polys: clipCell(h, q, near)}
				}
			})
			if trusted {
				report(prog, 0.9*float64(hi0)/float64(len(batch)))
			}
		}
		var next []h3.Cell
		// Tags of whole cells from one slab: one allocation, not one a cell.
		ntags := 0
		for i := range batch {
			if results[i].full {
				ntags += len(hexes[i])
			}
		}
		tagSlab := make([]int32, ntags)
		for i, c := range batch {
			r := results[i]
			if r.full {
				h := hexes[i]
				tags := tagSlab[:len(h):len(h)]
				tagSlab = tagSlab[len(h):]
				pc.pieces = append(pc.pieces, piece{cell: c, poly: poly{ring{pts: h, tags: tags, vid: vids[i]}}, full: true, c: centroid(h)})
				continue
			}
			if len(r.polys) == 0 && !trusted {
				continue
			}
			for _, p := range r.polys {
				// Points of a piece that are cell vertices get their ids;
				// crossing points with the parent boundary have none.
				for ri := range p {
					rg := &p[ri]
					rg.vid = make([]int32, len(rg.pts))
					for j, pt := range rg.pts {
						rg.vid[j] = -1
						for hj, hp := range hexes[i] {
							if hp == pt {
								rg.vid[j] = vids[i][hj]
								break
							}
						}
					}
				}
				pc.pieces = append(pc.pieces, piece{cell: c, poly: p, c: polyCentroid(p[0].pts)})
			}
			// The boundary passes near this cell: look at its neighbours.
			nb, err := h3.GridDisk(c, 1)
			if err != nil {
				return nil, err
			}
			for _, n := range nb {
				if !seen[n] {
					seen[n] = true
					next = append(next, n)
				}
			}
		}
		batch = next
		trusted = false
	}
	report(prog, 0.95)
	pc.link()
	report(prog, 1)
	return pc, nil
}

// coverSlice is how many cells buildCells handles between progress reports.
const coverSlice = 16384

// link replaces the cell-edge tags of every piece segment by the id of the
// piece on the other side, matching segments by their exact end points: by
// the ids of the two canonical cell vertices where both ends are vertices
// (nearly every segment), by the four coordinates where an end is a
// crossing with the parent boundary.
func (pc *parentCells) link() {
	type ref struct{ p, r, s int32 }
	open := make(map[uint64]ref, 3*len(pc.pieces))
	openF := make(map[[4]float64]ref)
	match := func(o ref, pi, ri, si int32) {
		pc.pieces[pi].poly[ri].tags[si] = o.p
		pc.pieces[o.p].poly[o.r].tags[o.s] = pi
	}
	for pi := range pc.pieces {
		for ri, r := range pc.pieces[pi].poly {
			for si, t := range r.tags {
				if t < 0 {
					continue
				}
				me := ref{int32(pi), int32(ri), int32(si)}
				sj := (si + 1) % len(r.pts)
				if r.vid != nil && r.vid[si] >= 0 && r.vid[sj] >= 0 {
					a, b := uint64(r.vid[si]), uint64(r.vid[sj])
					k := min(a, b)<<32 | max(a, b)
					if o, ok := open[k]; ok {
						delete(open, k)
						match(o, me.p, me.r, me.s)
						continue
					}
					open[k] = me
					continue
				}
				a, b := r.pts[si], r.pts[sj]
				if lessPt(b, a) {
					a, b = b, a
				}
				k := [4]float64{a[0], a[1], b[0], b[1]}
				if o, ok := openF[k]; ok {
					delete(openF, k)
					match(o, me.p, me.r, me.s)
					continue
				}
				openF[k] = me
			}
		}
	}
	for _, o := range open {
		pc.pieces[o.p].poly[o.r].tags[o.s] = tagUnmatched
		pc.unmatched++
	}
	for _, o := range openF {
		pc.pieces[o.p].poly[o.r].tags[o.s] = tagUnmatched
		pc.unmatched++
	}
}

func centroid(r []orb.Point) orb.Point {
	var x, y float64
	for _, p := range r {
		x += p[0]
		y += p[1]
	}
	return orb.Point{x / float64(len(r)), y / float64(len(r))}
}

// polyCentroid is the area centroid of an open ring, or its vertex mean
// when the ring is degenerate.
func polyCentroid(r []orb.Point) orb.Point {
	var a, cx, cy float64
	n := len(r)
	o := r[0]
	for i := 0; i < n; i++ {
		p, q := r[i], r[(i+1)%n]
		px, py, qx, qy := p[0]-o[0], p[1]-o[1], q[0]-o[0], q[1]-o[1]
		c := px*qy - qx*py
		a += c
		cx += (px + qx) * c
		cy += (py + qy) * c
	}
	if a == 0 {
		return centroid(r)
	}
	return orb.Point{o[0] + cx/(3*a), o[1] + cy/(3*a)}
}
