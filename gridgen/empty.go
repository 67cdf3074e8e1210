package gridgen

// Boundaries through empty land (sea, parks, fields inside a bounding box)
// are free as far as balance goes, yet vertex moves cannot shorten them: a
// straight boundary between two grids' shares of the sea is a local
// optimum for moves of single cells. On Montevideo they were most of the
// cut gridgen had over METIS. moveEmptyClumps hands a grid's connected
// share of deep empty cells to a neighbouring grid when that cuts fewer
// edges, so the sea ends up with few owners.

// moveEmptyClumps moves connected sets of empty vertices deeper than
// minDepth hops from any household between grids while that shortens the
// cut and keeps the grid they leave connected, for up to rounds rounds. It
// returns the vertices moved.
//
// depth is householdDistance(g).
func moveEmptyClumps(g *graph, labels []int32, k int, fixed []bool, rounds int, minDepth int32, depth []int32) int {
	n := g.n()
	// Near households the empty cells are streets and yards, whose
	// boundaries refinement handles.
	eligible := func(v int32) bool { return g.w[v] == 0 && (depth[v] < 0 || depth[v] > minDepth) }
	cnt := make([]int, k)
	for _, l := range labels {
		cnt[l]++
	}
	clump := make([]int32, n) // clump id of an eligible vertex, -1 otherwise
	seen := make([]int32, n)  // stamp of the connectivity search
	stamp := int32(0)
	var members, stack []int32
	edges := map[int32]int{}
	total := 0
	for range rounds {
		moved := 0
		for i := range clump {
			clump[i] = -1
		}
		id := int32(0)
		for s := int32(0); s < int32(n); s++ {
			if !eligible(s) || clump[s] >= 0 || fixed[labels[s]] {
				continue
			}
			a := labels[s]
			members = append(members[:0], s)
			clump[s] = id
			for i := 0; i < len(members); i++ {
				for _, u := range g.nbrs(members[i]) {
					if clump[u] < 0 && labels[u] == a && eligible(u) {
						clump[u] = id
						members = append(members, u)
					}
				}
			}
			// Edges from the clump to each grid; those to the rest of a
			// are what moving it would cut.
			clear(edges)
			start := int32(-1)
			for _, v := range members {
				for j := g.xadj[v]; j < g.xadj[v+1]; j++ {
					u := g.adj[j]
					if clump[u] == id {
						continue
					}
					edges[labels[u]] += int(g.ewAt(j))
					if labels[u] == a {
						start = u
					}
				}
			}
			own := edges[a]
			best, bestGain := int32(-1), 0
			for l, e := range edges {
				if l == a || fixed[l] {
					continue
				}
				if gain := e - own; gain > bestGain || (gain == bestGain && gain > 0 && l < best) {
					best, bestGain = l, gain
				}
			}
			myID := id
			id++
			if best < 0 || start < 0 {
				continue
			}
			// The rest of a must stay connected.
			stamp++
			seen[start] = stamp
			stack = append(stack[:0], start)
			reached := 1
			for len(stack) > 0 {
				v := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, u := range g.nbrs(v) {
					if labels[u] == a && seen[u] != stamp && clump[u] != myID {
						seen[u] = stamp
						reached++
						stack = append(stack, u)
					}
				}
			}
			if reached != cnt[a]-len(members) {
				continue
			}
			for _, v := range members {
				labels[v] = best
			}
			cnt[a] -= len(members)
			cnt[best] += len(members)
			moved += len(members)
		}
		total += moved
		if moved == 0 {
			break
		}
	}
	return total
}

// householdDistance returns every vertex's hops to the nearest vertex with
// households, -1 where none is reachable.
func householdDistance(g *graph) []int32 {
	depth := make([]int32, g.n())
	var queue []int32
	for v := range depth {
		depth[v] = -1
		if g.w[v] > 0 {
			depth[v] = 0
			queue = append(queue, int32(v))
		}
	}
	for i := 0; i < len(queue); i++ {
		v := queue[i]
		for _, u := range g.nbrs(v) {
			if depth[u] < 0 {
				depth[u] = depth[v] + 1
				queue = append(queue, u)
			}
		}
	}
	return depth
}
