package gridgen

// lloyd reshapes a balanced, contiguous partition towards a capacity
// constrained centroidal Voronoi tessellation: a boundary vertex goes to the
// neighbouring grid whose centroid is nearest in the power distance
// |x − c|² − λ, and λ grows for grids below the middle of their bounds and
// shrinks above. Grids drawn so are as round as their households allow (a
// honeycomb where density is even), which is what a short cut needs:
// recursive bisection alone leaves the boxes of its straight cuts. A move
// must not lengthen the cut (pure geometry would leave ragged edges where
// balance stops a boundary), must not worsen balance, and must keep both
// grids connected (canLeave).
func lloyd(g *graph, labels []int32, k int, bs []bounds, fixed []bool, iters int) {
	if iters <= 0 || k < 2 {
		return
	}
	n := g.n()
	// Running sums per grid, updated on every move, so centroids and
	// spreads cost nothing per iteration.
	sx := make([]float64, k)
	sy := make([]float64, k)
	ss := make([]float64, k)
	sq := make([]float64, k)
	wg := make([]float64, k)
	lam := make([]float64, k)
	cx := make([]float64, k)
	cy := make([]float64, k)
	add := func(v int32, l int32, sign float64) {
		s := sign * float64(g.sizeOf(v))
		x, y := g.x[v], g.y[v]
		sx[l] += s * x
		sy[l] += s * y
		ss[l] += s
		sq[l] += s * (x*x + y*y)
		wg[l] += sign * float64(g.w[v])
	}
	// Positions relative to the first vertex keep the sums of squares
	// small and exact enough.
	for v := int32(0); v < int32(n); v++ {
		add(v, labels[v], 1)
	}
	bd := boundaryMask(g, labels)
	lc := newLeaveCheck(n)
	var nl []labelEdges
	for it := 0; it < iters; it++ {
		for l := range k {
			if ss[l] <= 0 {
				continue
			}
			cx[l], cy[l] = sx[l]/ss[l], sy[l]/ss[l]
			mid := (bs[l].lo + bs[l].hi) / 2
			if fixed[l] || mid <= 0 {
				continue
			}
			// Raising λ by δ moves the boundary with a neighbour about
			// δ/(4r) outwards; r² ≈ 2·(mean squared distance to the
			// centroid), so f·r2 asks for about a share f/2 more area:
			// damped, so that λ does not oscillate.
			r2 := sq[l]/ss[l] - cx[l]*cx[l] - cy[l]*cy[l]
			lam[l] += (mid - wg[l]) / mid * r2
		}
		moved := 0
		for v := int32(0); v < int32(n); v++ {
			if !bd[v] {
				continue
			}
			a := labels[v]
			if fixed[a] {
				continue
			}
			var own int32
			own, nl = gridEdges(g, labels, v, nl)
			if len(nl) == 0 {
				continue
			}
			x, y := g.x[v], g.y[v]
			bestD := sqr(x-cx[a]) + sqr(y-cy[a]) - lam[a]
			best := int32(-1)
			for _, c := range nl {
				if c.e < own || fixed[c.l] {
					continue
				}
				if d := sqr(x-cx[c.l]) + sqr(y-cy[c.l]) - lam[c.l]; d < bestD {
					best, bestD = c.l, d
				}
			}
			if best < 0 {
				continue
			}
			w := float64(g.w[v])
			dPen := penalty(wg[a]-w, bs[a]) + penalty(wg[best]+w, bs[best]) - penalty(wg[a], bs[a]) - penalty(wg[best], bs[best])
			if dPen > 1e-9 || !canLeave(g, labels, v, lc) {
				continue
			}
			add(v, a, -1)
			add(v, best, 1)
			labels[v] = best
			updateBoundary(g, labels, bd, v)
			moved++
		}
		if moved == 0 {
			break
		}
	}
}

func sqr(x float64) float64 { return x * x }

// labelEdges is the weight of the edges from a vertex to one grid.
type labelEdges struct {
	l int32
	e int32
}
