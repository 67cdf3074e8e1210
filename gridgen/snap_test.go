package gridgen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/uber/h3-go/v4"

	"github.com/wangge/wangge/data"
)

// snapCase is a small parent of whole res-9 cells (edges of about 170 m)
// around one cell x, with the streets of one test case.
type snapCase struct {
	pc *parentCells
	x  int       // the piece of the middle cell
	c  orb.Point // its centre
	r  float64   // its circumradius, in degrees
}

func newSnapCase(t *testing.T) snapCase {
	t.Helper()
	mid := orb.Point{9.52, 47.14}
	pc, err := buildCells(context.Background(), orb.MultiPolygon{square(mid[0]-0.012, mid[1]-0.008, mid[0]+0.012, mid[1]+0.008)}, 9, nil)
	if err != nil {
		t.Fatal(err)
	}
	cell, err := h3.LatLngToCell(h3.LatLng{Lat: mid[1], Lng: mid[0]}, 9)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pc.pieces {
		if p.cell == cell {
			if !p.full {
				t.Fatal("the middle cell is not whole")
			}
			ring := p.poly[0].pts
			return snapCase{pc: pc, x: i, c: p.c, r: math.Hypot(ring[0][0]-p.c[0], ring[0][1]-p.c[1])}
		}
	}
	t.Fatal("no piece for the middle cell")
	return snapCase{}
}

// at is the point at angle deg (degrees, east = 0) and f circumradii from
// the cell's centre.
func (s snapCase) at(deg, f float64) orb.Point {
	a := deg * math.Pi / 180
	return orb.Point{s.c[0] + f*s.r*math.Cos(a), s.c[1] + f*s.r*math.Sin(a)}
}

func road(id string, pts ...orb.Point) data.Street {
	return data.Street{ID: id, Kind: data.StreetRoad, Class: "residential", Geometry: orb.MultiLineString{pts}}
}

// TestSplitFaces splits one whole cell by the streets and checks what the
// grids are drawn from: the cell falls into as many faces as the streets
// divide it into (dead ends divide nothing), every face segment has its
// exact reverse in the face across (else link leaves it unmatched: this
// is what fails when two neighbours compute a street's crossing of their
// shared edge differently), the faces tile the cell, the neighbours carry
// the same crossing points in their edges, and a grid made of some faces
// of the cell closes into one ring.
func TestSplitFaces(t *testing.T) {
	s := newSnapCase(t)
	for _, c := range []struct {
		name    string
		streets []data.Street
		faces   int
	}{
		{"one street across", []data.Street{road("a", s.at(200, 3), s.at(20, 3))}, 2},
		{"a street bent inside the cell", []data.Street{road("a", s.at(170, 3), s.at(100, 0.3), s.at(10, 3))}, 2},
		{"two crossing streets", []data.Street{road("a", s.at(200, 3), s.at(20, 3)), road("b", s.at(285, 3), s.at(105, 3))}, 4},
		{"two streets meeting at a node", []data.Street{road("a", s.at(200, 3), s.at(10, 0.1)), road("b", s.at(10, 0.1), s.at(20, 3)), road("c", s.at(10, 0.1), s.at(260, 3))}, 3},
		{"a dead end", []data.Street{road("a", s.at(200, 3), s.at(30, 0.2))}, 1},
		{"a street across and a dead end off it", []data.Street{road("a", s.at(200, 3), s.at(0, 0), s.at(20, 3)), road("b", s.at(0, 0), s.at(100, 0.6))}, 2},
		{"a street ending inside", []data.Street{road("a", s.at(150, 0.5), s.at(30, 0.5))}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ix := newStreetIndex(c.streets)
			fc, ok := splitFaces(s.pc, ix, func(p int) bool { return p == s.x })
			if !ok {
				t.Fatalf("faces did not link: %d unmatched segments", fc.pc.unmatched)
			}
			var faces []int
			for f, p := range fc.of {
				if int(p) == s.x {
					faces = append(faces, f)
				}
			}
			if len(faces) != c.faces {
				t.Fatalf("%d faces, want %d", len(faces), c.faces)
			}
			// Every inner segment is matched by its exact reverse.
			for f := range fc.pc.pieces {
				for _, rg := range fc.pc.pieces[f].poly {
					for i, nb := range rg.tags {
						if nb < 0 {
							continue
						}
						a, b := rg.pts[i], rg.pts[(i+1)%len(rg.pts)]
						if !hasSeg(fc.pc.pieces[nb].poly, b, a) {
							t.Fatalf("face %d: segment %v–%v not in face %d reversed", f, a, b, nb)
						}
					}
				}
			}
			// The faces tile the cell.
			cellA := signedArea2(s.pc.pieces[s.x].poly[0].pts)
			sum := 0.0
			for _, f := range faces {
				for _, rg := range fc.pc.pieces[f].poly {
					sum += signedArea2(rg.pts)
				}
			}
			if math.Abs(sum-cellA) > 1e-9*cellA {
				t.Errorf("faces add up to %.12g of the cell", sum/cellA)
			}
			// The streets' crossings of the cell's edges are in the
			// neighbours' edges too, split or not.
			crossings := 0
			for _, f := range faces {
				for _, rg := range fc.pc.pieces[f].poly {
					for i, v := range rg.vid {
						if v >= 0 || rg.tags[i] < 0 || fc.of[rg.tags[i]] == int32(s.x) {
							continue // a cell vertex, or inside the cell
						}
						crossings++
						if !hasPoint(fc.pc.pieces[rg.tags[i]].poly, rg.pts[i]) {
							t.Errorf("crossing %v not in the neighbour's ring", rg.pts[i])
						}
					}
				}
			}
			if c.faces > 1 && crossings == 0 {
				t.Error("no crossing point shared with a neighbour")
			}
			// A grid of the first face, the rest of the parent another:
			// both close, and the first is the face.
			labels := make([]int32, len(fc.of))
			labels[faces[0]] = 1
			var rest []int32
			for f := range labels {
				if f != faces[0] {
					rest = append(rest, int32(f))
				}
			}
			var g0, g1 gridOut
			if err := gridGeometry(fc.pc, labels, 1, []int32{int32(faces[0])}, &g1); err != nil {
				t.Fatal(err)
			}
			if err := gridGeometry(fc.pc, labels, 0, rest, &g0); err != nil {
				t.Fatal(err)
			}
			if len(g1.geom) != 1 || len(g0.geom) != 1 || g0.components != 1 {
				t.Errorf("grids of %d and %d polygons, %d components", len(g1.geom), len(g0.geom), g0.components)
			}
		})
	}
}

// hasPoint reports whether p has the point a.
func hasPoint(p poly, a orb.Point) bool {
	for _, rg := range p {
		for _, q := range rg.pts {
			if q == a {
				return true
			}
		}
	}
	return false
}

// hasSeg reports whether p has the segment a–b.
func hasSeg(p poly, a, b orb.Point) bool {
	for _, rg := range p {
		for i := range rg.pts {
			if rg.pts[i] == a && rg.pts[(i+1)%len(rg.pts)] == b {
				return true
			}
		}
	}
	return false
}

// TestSnapLiechtenstein draws Liechtenstein at target 300 along its
// streets, with its units (automatic resolution, 11): every rule of
// gridgen holds, at least 75 % of the boundary between grids lies within
// 20 m of a street, river or railway, and no unit smaller than the median
// grid is split but for those holding more households than a grid may
// (issue 16).
func TestSnapLiechtenstein(t *testing.T) {
	hh, areas, _, p := streetsPlan(t)
	checkUnits(t, p, liechtensteinUnits(t), hh)
	rep := p.Report
	t.Logf("res %d: %d grids, street share %.1f%% of %.0f m, within10 %d+%d constrained, max dev %.1f%%, PP %.3f/%.3f",
		rep.Resolution, rep.Grids, rep.StreetSharePct, rep.InnerBoundaryM, rep.WithinTenPct, rep.Constrained,
		rep.MaxDeviationPct, rep.PolsbyPopperMean, rep.PolsbyPopperMin)
	checkRules(t, p, areas)
	if rep.StreetSharePct < 75 {
		t.Errorf("street share %.1f%% < 75%%", rep.StreetSharePct)
	}
	// Households per grid are what the polygons hold.
	sum := 0
	for _, g := range p.Grids {
		sum += g.Households
	}
	if sum != rep.Households {
		t.Errorf("grids hold %d households, the report %d", sum, rep.Households)
	}
}

// streetsPlan returns Liechtenstein's households, areas and streets and
// the plan drawn from them and its units along the streets at target 300.
func streetsPlan(t *testing.T) ([]data.Household, []data.Area, []data.Street, data.Plan) {
	t.Helper()
	hh, areas := liechtenstein(t)
	streets := liechtensteinStreets(t)
	p, err := Generate(context.Background(), Input{Households: hh, Parents: areas, Target: 300, Streets: streets, Units: liechtensteinUnits(t)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return hh, areas, streets, p
}

// TestNoStreetsUnchanged: without a streets layer, or with --no-streets,
// a plan is bit for bit the one drawn before grid edges followed the
// streets (the hashes were taken from that code on the same input).
func TestNoStreetsUnchanged(t *testing.T) {
	hh, areas := liechtenstein(t)
	streets := liechtensteinStreets(t)
	for _, c := range []struct {
		name string
		in   Input
		want string
	}{
		{"no streets layer", Input{}, noStreetsHash},
		{"--no-streets", Input{Streets: streets, NoStreets: true}, noStreetsFlagHash},
	} {
		in := c.in
		in.Households, in.Parents, in.Target = hh, areas, 300
		p, err := Generate(context.Background(), in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := planHash(t, p); got != c.want {
			t.Errorf("%s: plan hash %s, was %s", c.name, got, c.want)
		}
	}
}

// The hashes of Liechtenstein at target 300 by the code before snapping,
// taken again when the partition itself changed (slide, refine.go; then
// deeper coarsening and the shake after slide).
const (
	noStreetsHash     = "f805a3e634556e4e035aec050b654f161623df20110b29edad31b8482967b73c"
	noStreetsFlagHash = "9c90cda96d0ceb0920499191a5b00ff68fd0d71b4baa7c6e1b308176ffc478ce"
)

// planHash is a digest of a plan's grids (codes, households, cells, every
// coordinate's bits through JSON) and its report, less the run time.
func planHash(t *testing.T, p data.Plan) string {
	t.Helper()
	p.Report.RuntimeSeconds = 0
	b, err := json.Marshal(struct {
		Grids  []data.Grid
		Report data.Report
	}{p.Grids, p.Report})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestSnapRedrawMoved redraws a plan drawn along the streets after a
// share of its households is gone: the report's households moved are
// those whose point lies in a grid of another code than in the base,
// found here by the polygons alone. Faces of a cell split by a street may
// lie in different grids, so this counts by face, not by cell.
func TestSnapRedrawMoved(t *testing.T) {
	hh, areas, streets, base := streetsPlan(t)
	ctx := context.Background()
	var fewer []data.Household
	for i, h := range hh {
		if i%9 != 0 {
			fewer = append(fewer, h)
		}
	}
	plan, err := Generate(ctx, Input{Households: fewer, Parents: areas, Target: 300, Base: &base, Streets: streets, Units: liechtensteinUnits(t)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkRules(t, plan, areas)
	codeAt := func(p data.Plan, pt orb.Point) string {
		for _, g := range p.Grids {
			if g.Geometry.Bound().Contains(pt) && planar.MultiPolygonContains(g.Geometry, pt) {
				return g.Code
			}
		}
		return ""
	}
	moved := 0
	for _, h := range fewer {
		a, b := codeAt(base, h.Point), codeAt(plan, h.Point)
		if a != "" && b != "" && a != b {
			moved += h.Households
		}
	}
	// The two may differ by a few households (3 of 6,228 when measured,
	// not traced one by one: a household goes to its H3 cell by H3's own
	// outline, the polygons are planar), so a thousandth is allowed.
	// Counted by cell, the report was 4.5 % off (6,506 against 6,228).
	got := plan.Report.HouseholdsMoved
	t.Logf("%d of %d households moved by the report, %d by the polygons; street share %.1f%%", got, plan.Report.Households, moved, plan.Report.StreetSharePct)
	if moved == 0 || math.Abs(float64(got-moved)) > float64(plan.Report.Households)/1000 {
		t.Errorf("households moved: %d by the report, %d by the polygons", got, moved)
	}
}

// TestSnapRedrawLocked: a redraw of one parent with every other grid
// locked (the planner's "redraw one area") leaves the locked grids exactly
// as the base drew them along the streets: cells, households and outline.
func TestSnapRedrawLocked(t *testing.T) {
	hh, areas, streets, base := streetsPlan(t)
	ctx := context.Background()
	const redrawn = "LI-05"
	var locked []string
	n := 0
	for _, g := range base.Grids {
		if g.ParentCode == redrawn {
			n++
		} else {
			locked = append(locked, g.Code)
		}
	}
	plan, err := Generate(ctx, Input{Households: hh, Parents: areas, Target: 250, Base: &base, Locked: locked,
		Grids: map[string]int{redrawn: n + 1}, Streets: streets, Units: liechtensteinUnits(t)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkRules(t, plan, areas)
	now := map[string]data.Grid{}
	for _, g := range plan.Grids {
		now[g.Code] = g
	}
	for _, c := range locked {
		var b data.Grid
		for _, g := range base.Grids {
			if g.Code == c {
				b = g
			}
		}
		g, ok := now[c]
		switch {
		case !ok:
			t.Errorf("locked grid %s is gone", c)
		case !sameCells(b.Cells, g.Cells):
			t.Errorf("locked grid %s: cells changed", c)
		case b.Households != g.Households:
			t.Errorf("locked grid %s: %d households, the base %d", c, g.Households, b.Households)
		case !orb.Equal(b.Geometry, g.Geometry):
			t.Errorf("locked grid %s: outline changed (planar area %v → %v)", c, planar.Area(b.Geometry), planar.Area(g.Geometry))
		}
	}
	if got := len(plan.Grids) - len(locked); got <= n {
		t.Errorf("%d grids in %s, the base %d: want more", got, redrawn, n)
	}
}
