package tiles

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// toBeijing moves the test data of the Montevideo lattice to Beijing,
// where the GCJ-02 offset applies (about 570 m there).
func toBeijing(p orb.Point) orb.Point { return orb.Point{p[0] + 172.4, p[1] + 74.7} }

func beijingScene() *Scene {
	feats := lattice(40, 30, 3)
	for i := range feats {
		feats[i].Geom = spatial.TransformGeometry(feats[i].Geom, toBeijing).(orb.MultiPolygon)
	}
	hz := randomHazards(60000, 3)
	for i := range hz {
		hz[i].Point = toBeijing(hz[i].Point)
	}
	return &Scene{Grids: NewPolygons(feats), Hazards: HazardPoints(hz)}
}

// tileLonLat is the lon/lat of a position of tile t.
func tileLonLat(t maptile.Tile, p Point) orb.Point {
	scale := math.Exp2(float64(t.Z)) * Extent
	return unproject(mpt{(float64(t.X)*Extent + float64(p.X)) / scale, (float64(t.Y)*Extent + float64(p.Y)) / scale})
}

// drawn decodes a tile and returns the positions of its features by layer
// and id.
func drawn(t *testing.T, raw []byte, tile maptile.Tile) map[string]map[uint64][]orb.Point {
	t.Helper()
	layers, err := decodeTile(raw)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[uint64][]orb.Point{}
	for _, l := range layers {
		out[l.Name] = map[uint64][]orb.Point{}
		for _, f := range l.Features {
			parts, err := decodeGeometry(f.Type, f.Geometry)
			if err != nil {
				t.Fatal(err)
			}
			for _, part := range parts {
				for _, p := range part {
					out[l.Name][f.ID] = append(out[l.Name][f.ID], tileLonLat(tile, p))
				}
			}
		}
	}
	return out
}

// nearest is the distance in metres from p to the closest of pts.
func nearest(p orb.Point, pts []orb.Point) float64 {
	d := math.Inf(1)
	for _, q := range pts {
		d = math.Min(d, geo.Distance(p, q))
	}
	return d
}

// TestGCJ02Tiles renders the tile over a hazard and over a grid corner in
// WGS 84 and in GCJ-02, decodes them, turns the tile positions back into
// lon/lat and checks that the GCJ-02 tile draws each at spatial's GCJ-02
// image of its WGS 84 position, and the WGS 84 tile at the position
// itself, within 1 m. At zoom 18 and 20 a tile unit is 3 cm and 7 mm in
// Beijing, so quantising costs nothing of that metre.
func TestGCJ02Tiles(t *testing.T) {
	sc := beijingScene()
	h := sc.HazardList()[1234]
	feats := lattice(40, 30, 3)
	vertex := toBeijing(feats[77].Geom[0][0][0])
	ctx := context.Background()
	for _, z := range []maptile.Zoom{18, 20} {
		for _, tc := range []struct {
			name, layer string
			id          uint64
			wgs         orb.Point
		}{
			{"hazard", LayerHazards, uint64(h.FID), h.Point},
			{"grid vertex", LayerGrids, feats[77].ID, vertex},
		} {
			for _, c := range []spatial.CRS{spatial.WGS84, spatial.GCJ02} {
				want := c.FromWGS84(tc.wgs)
				tile := maptile.At(want, z)
				raw, err := sc.RenderIn(ctx, []string{LayerGrids, LayerHazards}, tile, c)
				if err != nil {
					t.Fatal(err)
				}
				got := drawn(t, raw, tile)[tc.layer][tc.id]
				if d := nearest(want, got); d > 1 {
					t.Errorf("z%d %s in %v: drawn %.2f m from %v (%d positions)", z, tc.name, c, d, want, len(got))
				}
				if c == spatial.GCJ02 {
					// The offset is real: the WGS 84 position is far off in this tile.
					if d := nearest(tc.wgs, got); d < 100 {
						t.Errorf("z%d %s: the GCJ-02 tile draws it %.1f m from its WGS 84 position", z, tc.name, d)
					}
				}
			}
		}
	}
}

// TestGCJ02TilesClusters checks at zoom 10, where hazards are clustered,
// that a GCJ-02 tile counts the hazards whose GCJ-02 image is in it.
func TestGCJ02TilesClusters(t *testing.T) {
	sc := beijingScene()
	tile := maptile.At(spatial.WGS84ToGCJ02(orb.Point{116.3, 39.9}), 12)
	raw, err := sc.RenderIn(context.Background(), []string{LayerHazards}, tile, spatial.GCJ02)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := decodeTile(raw)
	if err != nil || len(layers) != 1 {
		t.Fatal(layers, err)
	}
	total := 0
	for _, f := range layers[0].Features {
		parts, _ := decodeGeometry(f.Type, f.Geometry)
		p := parts[0][0]
		if p.X < 0 || p.Y < 0 || p.X >= Extent || p.Y >= Extent {
			continue // a bin of the buffer
		}
		props, _ := f.props(layers[0])
		total += int(props["count"].(int64))
	}
	tb := tile.Bound()
	want := 0
	for _, h := range sc.HazardList() {
		if g := spatial.WGS84ToGCJ02(h.Point); tb.Contains(g) {
			want++
		}
	}
	// Bins are whole: a hazard near the tile edge may sit in a bin whose
	// mean falls on the other side. Within a bin's worth of the edge.
	if want == 0 || math.Abs(float64(total-want)) > float64(want)/50 {
		t.Errorf("GCJ-02 clusters count %d hazards, want about %d", total, want)
	}
}

// TestGCJ02TileCache: a GCJ-02 tile has its own key and ETag, and a write
// drops it where the GCJ-02 image of the change is, which at zoom 18 is
// another tile than the WGS 84 one.
func TestGCJ02TileCache(t *testing.T) {
	sc := beijingScene()
	h := sc.HazardList()[99]
	c := NewCache(64 << 20)
	layers := []string{LayerHazards}
	render := func(tile maptile.Tile, crs spatial.CRS) *Encoded {
		prefix := ""
		if crs != spatial.WGS84 {
			prefix = crs.String()
		}
		e, err := c.GetIn(TileKeyIn(layers, tile, crs), layers, tile, crs, func() (*Encoded, error) {
			raw, err := sc.RenderIn(context.Background(), layers, tile, crs)
			return EncodeTagged(raw, prefix), err
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	wt := maptile.At(h.Point, 18)
	gt := maptile.At(spatial.WGS84ToGCJ02(h.Point), 18)
	if wt == gt {
		t.Fatal("the offset does not move the hazard out of its z18 tile")
	}
	w1, g1 := render(wt, spatial.WGS84), render(gt, spatial.GCJ02)
	gw := render(gt, spatial.WGS84) // the same tile in WGS 84: not the hazard's
	if w1.ETag == g1.ETag || g1.ETag[:7] != `"gcj02-` || gw.ETag == g1.ETag {
		t.Errorf("ETags %s %s %s", w1.ETag, g1.ETag, gw.ETag)
	}
	if TileKeyIn(layers, gt, spatial.GCJ02) == TileKeyIn(layers, gt, spatial.WGS84) {
		t.Error("one key for both CRSs")
	}
	if n := c.Stats().Entries; n != 3 {
		t.Fatalf("%d entries, want 3", n)
	}
	// Move the hazard by a metre: both its WGS 84 tile and its GCJ-02 tile
	// go; the WGS 84 rendering of the GCJ-02 tile's place stays.
	moved := h
	moved.Point = orb.Point{h.Point[0] + 1e-5, h.Point[1]}
	next, dirty := sc.WithHazards([]data.Hazard{moved}, nil)
	sc = next
	if n := c.Invalidate(dirty...); n != 2 {
		t.Errorf("Invalidate dropped %d tiles, want 2", n)
	}
	if w2, g2 := render(wt, spatial.WGS84), render(gt, spatial.GCJ02); w2.ETag == w1.ETag || g2.ETag == g1.ETag {
		t.Error("a tile kept its ETag after the hazard in it moved")
	}
	if st := c.Stats(); st.Hits != 0 || st.Entries != 3 {
		t.Errorf("stats %+v", st)
	}
}

// BenchmarkRenderGCJ02 is BenchmarkRender in Beijing, in WGS 84 and in
// GCJ-02: the cost of converting at render time, per cache miss.
func BenchmarkRenderGCJ02(b *testing.B) {
	sc := beijingScene()
	for _, z := range []maptile.Zoom{10, 13, 15} {
		for _, c := range []spatial.CRS{spatial.WGS84, spatial.GCJ02} {
			tile := maptile.At(c.FromWGS84(orb.Point{116.35, 39.92}), z)
			sc.Grids.ps.arcsAt(int(z))
			b.Run("z"+strconv.Itoa(int(z))+"/"+c.String(), func(b *testing.B) {
				b.ReportAllocs()
				var n int
				for b.Loop() {
					raw, err := sc.RenderIn(context.Background(), []string{LayerGrids, LayerHazards}, tile, c)
					if err != nil {
						b.Fatal(err)
					}
					n = len(raw)
				}
				b.ReportMetric(float64(n), "bytes")
			})
		}
	}
}

// TestOffsetGridAccuracy compares the interpolated GCJ-02 conversion of
// frames with the exact one at random points over China, in tile units:
// under a tenth of a unit at every zoom that uses a grid.
func TestOffsetGridAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 3))
	for z := maptile.Zoom(6); z <= 22; z++ {
		worst, grids := 0.0, 0
		for range 40 {
			tile := maptile.At(orb.Point{75 + rng.Float64()*58, 20 + rng.Float64()*30}, z)
			f := newFrameIn(tile, spatial.GCJ02)
			if f.grid == nil {
				continue
			}
			grids++
			for range 200 {
				m := mpt{f.bound.Min[0] + rng.Float64()*(f.bound.Max[0]-f.bound.Min[0]), f.bound.Min[1] + rng.Float64()*(f.bound.Max[1]-f.bound.Min[1])}
				exact := project(spatial.GCJ02.FromWGS84(unproject(m)))
				got := f.convert(m)
				worst = math.Max(worst, math.Max(math.Abs(got[0]-exact[0]), math.Abs(got[1]-exact[1]))*f.scale)
			}
		}
		if z >= 10 && grids == 0 {
			t.Errorf("z%d: no frame used a grid", z)
		}
		if worst > 0.1 {
			t.Errorf("z%d: interpolation off by %.3g tile units", z, worst)
		}
		t.Logf("z%d: %d of 40 frames with a grid, worst %.2g tile units", z, grids, worst)
	}
}
