// Command metisgraph exports the cell adjacency graph gridgen partitions in
// METIS format, times gridgen's partitioner on the same graph, and scores a
// partition (gridgen's or gpmetis's) with one set of rules, so the two can
// be compared side by side (bench/gpmetis.sh, docs/BENCHMARKS.md).
//
//	metisgraph export -households F.csv [-boundaries F.geojson] -res N -target T -out G.metis
//	metisgraph eval -graph G.metis -part G.metis.part.K -target T
//
// Without -boundaries the parent is the bounding box of the points.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/importer"
	"github.com/wangge/wangge/gridgen"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: metisgraph export|eval [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "export":
		err = export(os.Args[2:])
	case "eval":
		err = eval(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "metisgraph:", err)
		os.Exit(1)
	}
}

func export(args []string) error {
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	hhPath := fs.String("households", "", "households CSV (id,lon,lat,households)")
	bPath := fs.String("boundaries", "", "boundaries GeoJSON; admin_level 8 features are the parents")
	res := fs.Int("res", 10, "H3 resolution")
	target := fs.Int("target", 300, "households per grid")
	out := fs.String("out", "graph.metis", "METIS graph file to write")
	reps := fs.Int("reps", 3, "times to run gridgen's partitioner; the fastest run is reported")
	fs.Parse(args)
	hh, err := readHouseholds(*hhPath)
	if err != nil {
		return err
	}
	var parents []data.Area
	if *bPath != "" {
		if parents, err = readLeaves(*bPath); err != nil {
			return err
		}
	} else {
		b := hh[0].Point.Bound()
		for _, h := range hh {
			b = b.Extend(h.Point)
		}
		parents = []data.Area{{Code: "BBOX", Geometry: orb.MultiPolygon{b.Pad(1e-4).ToPolygon()}}}
	}
	ctx := context.Background()
	in := gridgen.Input{Households: hh, Parents: parents, Target: *target, Resolution: *res}
	t0 := time.Now()
	graphs, _, err := gridgen.CellGraphs(ctx, in)
	if err != nil {
		return err
	}
	buildT := time.Since(t0)

	// gridgen's partitioner on the same graphs, part by part.
	var labels []int32
	grids := 0
	// CPU time too: the machine is shared, so wall time alone says more
	// about the neighbours than about the partitioner.
	partT, partCPU := time.Duration(1<<62), time.Duration(1<<62)
	worstCPU := time.Duration(0)
	for range max(1, *reps) {
		labels, grids = labels[:0], 0
		c1 := cpuTime()
		t1 := time.Now()
		for _, g := range graphs {
			l, k := gridgen.PartitionGraph(ctx, g, float64(*target))
			for _, x := range l {
				labels = append(labels, x+int32(grids))
			}
			grids += k
		}
		c := cpuTime() - c1
		partT, partCPU, worstCPU = min(partT, time.Since(t1)), min(partCPU, c), max(worstCPU, c)
	}

	// One METIS graph: the parts side by side (disconnected components).
	n, m := 0, 0
	for _, g := range graphs {
		n += len(g.Weights)
		m += len(g.Adj)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "%d %d 010\n", n, m/2)
	off := 0
	var xadj, adj []int32
	var wts []int
	for _, g := range graphs {
		for v := range g.Weights {
			w.WriteString(strconv.Itoa(g.Weights[v]))
			xadj = append(xadj, int32(len(adj)))
			wts = append(wts, g.Weights[v])
			for _, u := range g.Adj[g.XAdj[v]:g.XAdj[v+1]] {
				w.WriteByte(' ')
				w.WriteString(strconv.Itoa(int(u) + off + 1))
				adj = append(adj, u+int32(off))
			}
			w.WriteByte('\n')
		}
		off += len(g.Weights)
	}
	xadj = append(xadj, int32(len(adj)))
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("graph %s: %d vertices, %d edges, %d parts (components), build %.3fs\n", *out, n, m/2, len(graphs), buildT.Seconds())
	fmt.Printf("nparts %d\n", grids)
	fmt.Printf("gridgen partition: %.3fs wall, %.3fs CPU (user+sys, all threads; best of %d, worst %.3fs)\n", partT.Seconds(), partCPU.Seconds(), max(1, *reps), worstCPU.Seconds())
	printScore("gridgen", score(xadj, adj, wts, labels, grids, float64(*target)))
	return nil
}

// cpuTime is the CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func eval(args []string) error {
	fs := flag.NewFlagSet("eval", flag.ExitOnError)
	gPath := fs.String("graph", "", "METIS graph file")
	pPath := fs.String("part", "", "partition file (one part per line)")
	target := fs.Int("target", 300, "households per grid")
	fs.Parse(args)
	xadj, adj, wts, err := readMetis(*gPath)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(*pPath)
	if err != nil {
		return err
	}
	var labels []int32
	k := 0
	for _, s := range strings.Fields(string(b)) {
		x, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		labels = append(labels, int32(x))
		k = max(k, x+1)
	}
	if len(labels) != len(wts) {
		return fmt.Errorf("%d labels for %d vertices", len(labels), len(wts))
	}
	printScore("gpmetis", score(xadj, adj, wts, labels, k, float64(*target)))
	return nil
}

type result struct {
	parts, within, noncontig, empty, cut int
	min, max                             int
	// imbalance is the heaviest part over the mean part, METIS's measure
	// (gpmetis -ufactor=100 allows 1.10).
	imbalance float64
}

// score measures a partition: parts within ±10 % of the target, parts that
// are not connected (by breadth-first search), empty parts, cut edges.
func score(xadj, adj []int32, w []int, labels []int32, k int, target float64) result {
	r := result{parts: k, min: 1 << 62}
	pw := make([]int, k)
	for v, l := range labels {
		pw[l] += w[v]
	}
	size := make([]int, k)
	for _, l := range labels {
		size[l]++
	}
	total := 0
	for _, x := range pw {
		if d := float64(x) - target; d >= -0.1*target && d <= 0.1*target {
			r.within++
		}
		r.min, r.max = min(r.min, x), max(r.max, x)
		total += x
	}
	r.imbalance = float64(r.max) * float64(k) / float64(max(1, total))
	seen := make([]bool, len(labels))
	comps := make([]int, k)
	for s := range labels {
		if seen[s] {
			continue
		}
		comps[labels[s]]++
		seen[s] = true
		stack := []int32{int32(s)}
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, u := range adj[xadj[v]:xadj[v+1]] {
				if labels[u] == labels[v] && !seen[u] {
					seen[u] = true
					stack = append(stack, u)
				}
				if labels[u] != labels[v] && u > v {
					r.cut++
				}
			}
		}
	}
	for l := range k {
		if comps[l] > 1 {
			r.noncontig++
		}
		if size[l] == 0 {
			r.empty++
		}
	}
	return r
}

func printScore(who string, r result) {
	fmt.Printf("%s: parts %d, within10 %d, noncontig %d, empty %d, min %d, max %d, imbalance %.3f, cut %d\n",
		who, r.parts, r.within, r.noncontig, r.empty, r.min, r.max, r.imbalance, r.cut)
}

func readMetis(path string) (xadj, adj []int32, w []int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sc.Scan() // header
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			return nil, nil, nil, fmt.Errorf("empty vertex line")
		}
		x, _ := strconv.Atoi(fs[0])
		w = append(w, x)
		xadj = append(xadj, int32(len(adj)))
		for _, s := range fs[1:] {
			u, _ := strconv.Atoi(s)
			adj = append(adj, int32(u-1))
		}
	}
	xadj = append(xadj, int32(len(adj)))
	return xadj, adj, w, sc.Err()
}

func readHouseholds(path string) ([]data.Household, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return importer.ReadHouseholds(f, path)
}

func readLeaves(path string) ([]data.Area, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		return nil, err
	}
	var out []data.Area
	for _, f := range fc.Features {
		if f.Properties.MustInt("admin_level", 0) != 8 {
			continue
		}
		var mp orb.MultiPolygon
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			mp = orb.MultiPolygon{g}
		case orb.MultiPolygon:
			mp = g
		}
		out = append(out, data.Area{Code: f.Properties.MustString("code"), Geometry: mp})
	}
	return out, nil
}
