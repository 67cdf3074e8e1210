package gridgen

// Moves of whole clumps (empty.go) cannot split a grid's share of empty
// land, and moves of single cells cannot shorten a straight boundary
// through it; between them the sea and the fields kept most of the cut
// gridgen had over METIS. Empty cells weigh nothing, so how two
// neighbouring grids share the empty land between them is a pure cut
// problem: recutEmpty solves it for one pair of grids at a time, as a
// minimum s–t cut of their empty vertices near their common boundary
// between the households of one and of the other, and keeps the result
// when both grids stay connected. Partitions are compared by cut alone
// here, so a grid may come out less round; lloyd and refinement of the
// finer levels follow.

// recutEmpty redistributes the empty vertices of every pair of
// neighbouring grids between them along the cheapest cut, for up to rounds
// rounds while that shortens the cut and keeps both grids connected. Edges
// to third grids are cut whichever of the two gets a vertex, so the pair's
// minimum cut is a saving for the whole partition. Only empty vertices
// within reach hops of the pair's boundary (through empty vertices of the
// pair) may move. Grids in fixed and grids without any weight are left
// alone. It returns the cut weight saved.
func recutEmpty(g *graph, labels []int32, k int, fixed []bool, rounds, reach int) int {
	n := g.n()
	cells := make([][]int32, k)
	heavy := make([]bool, k) // grid has a vertex with weight
	for v := int32(0); v < int32(n); v++ {
		l := labels[v]
		cells[l] = append(cells[l], v)
		if g.w[v] > 0 {
			heavy[l] = true
		}
	}
	rc := recut{g: g, labels: labels, reach: reach, loc: make([]int32, n), seen: make([]int32, n)}
	for i := range rc.loc {
		rc.loc[i] = -1
	}
	total := 0
	// dirty marks grids changed in the last round: only their pairs can
	// have become cheaper to recut.
	dirty := make([]bool, k)
	for l := range dirty {
		dirty[l] = true
	}
	next := make([]bool, k)
	var nb []int32
	for range rounds {
		saved := 0
		clear(next)
		for a := int32(0); a < int32(k); a++ {
			if fixed[a] || !heavy[a] {
				continue
			}
			// Neighbouring grids, each once, where the boundary runs
			// between two empty vertices somewhere: the other pairs
			// took most of the flow time and saved nothing on
			// Montevideo (res 10 and 11 cut the same or less without
			// them).
			nb = nb[:0]
			for _, v := range cells[a] {
				for _, u := range g.nbrs(v) {
					if b := labels[u]; b > a && !fixed[b] && heavy[b] && (dirty[a] || dirty[b]) && g.w[v] == 0 && g.w[u] == 0 && !containsLabel(nb, b) {
						nb = append(nb, b)
					}
				}
			}
			for _, b := range nb {
				if s := rc.pair(a, b, cells); s > 0 {
					saved += s
					next[a], next[b] = true, true
					// Rebuild both grids' lists.
					ab := append(cells[a][:len(cells[a]):len(cells[a])], cells[b]...)
					cells[a], cells[b] = cells[a][:0], nil
					for _, v := range ab {
						if labels[v] == a {
							cells[a] = append(cells[a], v)
						} else {
							cells[b] = append(cells[b], v)
						}
					}
				}
			}
		}
		total += saved
		if saved == 0 {
			break
		}
		dirty, next = next, dirty
	}
	return total
}

func containsLabel(s []int32, l int32) bool {
	for _, x := range s {
		if x == l {
			return true
		}
	}
	return false
}

// recut holds the scratch space of recutEmpty's minimum cuts.
type recut struct {
	g      *graph
	labels []int32
	reach  int
	loc    []int32 // local index of a free vertex, -1 otherwise
	seen   []int32
	stamp  int32
	free   []int32
	// Flow network: nodes are the free vertices, then source and sink;
	// arcs in pairs (i, i^1) that are each other's reverse.
	head, next, to []int32
	capa           []int32
	level, iter    []int32
	queue          []int32
}

func (rc *recut) arc(u, v, c, rcap int32) {
	rc.to = append(rc.to, v, u)
	rc.capa = append(rc.capa, c, rcap)
	rc.next = append(rc.next, rc.head[u], rc.head[v])
	m := int32(len(rc.to))
	rc.head[u], rc.head[v] = m-2, m-1
}

// pair recuts the empty vertices of grids a and b: b's weighted vertices
// are the source, a's the sink. It applies the cut and returns the saving
// if it is positive and both grids stay connected, else 0.
func (rc *recut) pair(a, b int32, cells [][]int32) int {
	g, labels := rc.g, rc.labels
	// The free vertices: empty vertices of a and b within reach hops of
	// their common boundary, through empty vertices of the pair. Farther
	// ones stay where they are (and cost the flow time for nothing).
	rc.free = rc.free[:0]
	for _, l := range [2]int32{a, b} {
		o := a + b - l
		for _, v := range cells[l] {
			if g.w[v] != 0 || rc.loc[v] >= 0 {
				continue
			}
			for _, u := range g.nbrs(v) {
				if labels[u] == o {
					rc.loc[v] = int32(len(rc.free))
					rc.free = append(rc.free, v)
					break
				}
			}
		}
	}
	lo := 0
	for d := 0; d < rc.reach; d++ {
		hi := len(rc.free)
		for _, v := range rc.free[lo:hi] {
			for _, u := range g.nbrs(v) {
				if lu := labels[u]; (lu == a || lu == b) && g.w[u] == 0 && rc.loc[u] < 0 {
					rc.loc[u] = int32(len(rc.free))
					rc.free = append(rc.free, u)
				}
			}
		}
		lo = hi
	}
	defer func() {
		for _, v := range rc.free {
			rc.loc[v] = -1
		}
	}()
	m := int32(len(rc.free))
	if m == 0 {
		return 0
	}
	src, snk := m, m+1
	rc.head = rc.head[:0]
	for range m + 2 {
		rc.head = append(rc.head, -1)
	}
	rc.next, rc.to, rc.capa = rc.next[:0], rc.to[:0], rc.capa[:0]
	// c0 is what the pair's free vertices cut today.
	c0 := int32(0)
	for i, v := range rc.free {
		lv := labels[v]
		for j := g.xadj[v]; j < g.xadj[v+1]; j++ {
			u := g.adj[j]
			lu := labels[u]
			if lu != a && lu != b {
				continue
			}
			e := g.ewAt(j)
			if lu != lv && (rc.loc[u] < 0 || u < v) {
				c0 += e
			}
			switch {
			case rc.loc[u] >= 0:
				if u < v {
					// One pair of arcs for the undirected edge.
					rc.arc(int32(i), rc.loc[u], e, e)
				}
			case lu == b:
				rc.arc(src, int32(i), e, 0)
			default:
				rc.arc(int32(i), snk, e, 0)
			}
		}
	}
	if c0 == 0 {
		return 0
	}
	flow := rc.maxFlow(src, snk, c0)
	if flow >= c0 {
		return 0
	}

	// Two minimum cuts: the smallest source side and the largest. Either
	// may disconnect a grid; the other may not.
	for _, fromSource := range []bool{true, false} {
		side := rc.residualSide(src, snk, fromSource)
		old := make([]int32, m)
		for i, v := range rc.free {
			old[i] = labels[v]
			if side[i] {
				labels[v] = b
			} else {
				labels[v] = a
			}
		}
		if rc.connected(a, a, b, cells) && rc.connected(b, a, b, cells) {
			return int(c0 - flow)
		}
		for i, v := range rc.free {
			labels[v] = old[i]
		}
	}
	return 0
}

// maxFlow is Dinic's algorithm, stopping once the flow reaches limit (no
// saving is possible then).
func (rc *recut) maxFlow(src, snk, limit int32) int32 {
	n := int32(len(rc.head))
	if cap(rc.level) < int(n) {
		rc.level = make([]int32, n)
		rc.iter = make([]int32, n)
	}
	rc.level, rc.iter = rc.level[:n], rc.iter[:n]
	flow := int32(0)
	for flow < limit {
		for i := range rc.level {
			rc.level[i] = -1
		}
		rc.level[src] = 0
		rc.queue = append(rc.queue[:0], src)
		for i := 0; i < len(rc.queue); i++ {
			u := rc.queue[i]
			for e := rc.head[u]; e >= 0; e = rc.next[e] {
				if v := rc.to[e]; rc.capa[e] > 0 && rc.level[v] < 0 {
					rc.level[v] = rc.level[u] + 1
					rc.queue = append(rc.queue, v)
				}
			}
		}
		if rc.level[snk] < 0 {
			break
		}
		copy(rc.iter, rc.head)
		for flow < limit {
			f := rc.augment(src, snk, limit-flow)
			if f == 0 {
				break
			}
			flow += f
		}
	}
	return flow
}

func (rc *recut) augment(u, snk, f int32) int32 {
	if u == snk {
		return f
	}
	for ; rc.iter[u] >= 0; rc.iter[u] = rc.next[rc.iter[u]] {
		e := rc.iter[u]
		v := rc.to[e]
		if rc.capa[e] <= 0 || rc.level[v] != rc.level[u]+1 {
			continue
		}
		if d := rc.augment(v, snk, min(f, rc.capa[e])); d > 0 {
			rc.capa[e] -= d
			rc.capa[e^1] += d
			return d
		}
	}
	return 0
}

// residualSide marks the free vertices on the source side of a minimum
// cut: those the source reaches in the residual network, or (fromSource
// false) all but those that reach the sink.
func (rc *recut) residualSide(src, snk int32, fromSource bool) []bool {
	n := len(rc.head)
	mark := make([]bool, n)
	start := src
	if !fromSource {
		start = snk
	}
	mark[start] = true
	rc.queue = append(rc.queue[:0], start)
	for i := 0; i < len(rc.queue); i++ {
		u := rc.queue[i]
		for e := rc.head[u]; e >= 0; e = rc.next[e] {
			v := rc.to[e]
			// From the source: arcs with capacity left. Towards the sink:
			// arcs into u with capacity left, i.e. the reverse arc e^1.
			c := rc.capa[e]
			if !fromSource {
				c = rc.capa[e^1]
			}
			if c > 0 && !mark[v] {
				mark[v] = true
				rc.queue = append(rc.queue, v)
			}
		}
	}
	side := mark[:len(rc.free)]
	if !fromSource {
		for i := range side {
			side[i] = !side[i]
		}
	}
	return side
}

// connected reports whether grid l, as labels now say, is one connected
// piece. Only vertices of the pair a, b changed grids, so cells[a] and
// cells[b] (the lists before the recut) hold every vertex of l.
func (rc *recut) connected(l, a, b int32, cells [][]int32) bool {
	g, labels := rc.g, rc.labels
	start, total := int32(-1), 0
	for _, list := range [2][]int32{cells[a], cells[b]} {
		for _, v := range list {
			if labels[v] == l {
				total++
				if start < 0 && g.w[v] > 0 {
					start = v
				}
			}
		}
	}
	if start < 0 {
		return false
	}
	rc.stamp++
	st := rc.stamp
	rc.seen[start] = st
	rc.queue = append(rc.queue[:0], start)
	for i := 0; i < len(rc.queue); i++ {
		for _, u := range g.nbrs(rc.queue[i]) {
			if labels[u] == l && rc.seen[u] != st {
				rc.seen[u] = st
				rc.queue = append(rc.queue, u)
			}
		}
	}
	return len(rc.queue) == total
}
