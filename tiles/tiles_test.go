package tiles

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
)

func TestParseTile(t *testing.T) {
	tests := []struct {
		z, x, y string
		ok      bool
	}{
		{"0", "0", "0", true},
		{"24", "16777215", "16777215", true},
		{"14", "8583", "5738", true},
		{"25", "0", "0", false},
		{"-1", "0", "0", false},
		{"1", "2", "0", false},
		{"1", "0", "2", false},
		{"+1", "0", "0", false},
		{"1", "0x1", "0", false},
		{"", "0", "0", false},
		{"1", " 1", "0", false},
		{"1", "1.0", "0", false},
		{"99999999999999999999", "0", "0", false},
		{"24", "16777216", "0", false},
	}
	for _, tc := range tests {
		t.Run(tc.z+"/"+tc.x+"/"+tc.y, func(t *testing.T) {
			tile, err := ParseTile(tc.z, tc.x, tc.y)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok = %v", err, tc.ok)
			}
			if err != nil && data.ErrorCode(err) != data.EINVALID {
				t.Errorf("code %s, want invalid", data.ErrorCode(err))
			}
			if err == nil && fmt.Sprintf("%d/%d/%d", tile.Z, tile.X, tile.Y) != tc.z+"/"+tc.x+"/"+tc.y {
				t.Errorf("parsed %v", tile)
			}
		})
	}
}

func TestParseLayers(t *testing.T) {
	tests := []struct {
		in   string
		code string
	}{
		{"grids", ""},
		{"grids,hazards,areas,cameras,hotspots", ""},
		{"households", data.ENOTFOUND},
		{"parks", data.ENOTFOUND},
		{"grids,grids", data.EINVALID},
		{"grids,", data.EINVALID},
		{"", data.EINVALID},
		{"Grids", data.ENOTFOUND},
		{"grids,areas,hazards,cameras,hotspots,grids", data.EINVALID},
	}
	for _, tc := range tests {
		_, err := ParseLayers(tc.in)
		if (tc.code == "") != (err == nil) || (err != nil && data.ErrorCode(err) != tc.code) {
			t.Errorf("ParseLayers(%q) = %v, want code %q", tc.in, err, tc.code)
		}
	}
}

// FuzzParseTile: any path parts either parse to a tile inside its zoom's
// range or fail with EINVALID; nothing panics.
func FuzzParseTile(f *testing.F) {
	for _, s := range [][3]string{{"0", "0", "0"}, {"24", "16777215", "1"}, {"1", "-1", "0"}, {"007", "1", "1"}, {"3", "8", "1"}, {"٣", "1", "1"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, z, x, y string) {
		tile, err := ParseTile(z, x, y)
		if err != nil {
			if data.ErrorCode(err) != data.EINVALID {
				t.Fatalf("code %s", data.ErrorCode(err))
			}
			return
		}
		if tile.Z > MaxZoom || uint64(tile.X) >= 1<<tile.Z || uint64(tile.Y) >= 1<<tile.Z {
			t.Fatalf("accepted %v", tile)
		}
		if zi, _ := strconv.Atoi(z); zi != int(tile.Z) {
			t.Fatalf("z %q parsed as %d", z, tile.Z)
		}
	})
}

func TestProject(t *testing.T) {
	for _, p := range []orb.Point{{0, 0}, {-56.2, -34.9}, {9.5, 47.1}, {179.9, 80}} {
		q := unproject(project(p))
		if dx, dy := q[0]-p[0], q[1]-p[1]; dx*dx+dy*dy > 1e-20 {
			t.Errorf("round trip %v → %v", p, q)
		}
	}
	// The tile containing a point, by orb/maptile, draws it inside 0…Extent.
	p := orb.Point{-56.1645, -34.9011}
	for z := maptile.Zoom(0); z <= MaxZoom; z++ {
		tile := maptile.At(p, z)
		q := newFrame(tile).quantize(newFrame(tile).tile(project(p)))
		if q.X < 0 || q.X > Extent || q.Y < 0 || q.Y > Extent {
			t.Errorf("z%d: %v drawn at %v", z, p, q)
		}
	}
}

func randomHazards(n int, seed uint64) []data.Hazard {
	rng := rand.New(rand.NewPCG(seed, 2))
	hz := make([]data.Hazard, n)
	cats, statuses := data.DefaultTaxonomy().CategoryCodes(), data.Statuses()
	for i := range hz {
		hz[i] = data.Hazard{FID: int64(i + 1), ID: "h" + strconv.Itoa(i), Point: orb.Point{-56.3 + rng.Float64()*0.25, -34.92 + rng.Float64()*0.15},
			Category: cats[rng.IntN(len(cats))], Severity: 1 + rng.IntN(3),
			Status: statuses[rng.IntN(len(statuses))], ReportedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(365*24)) * time.Hour)}
	}
	return hz
}

// TestClustersConserveCounts: below ClusterBelow, the clusters of a tile
// (without its buffer) count exactly the hazards in the tile, and no
// hazard's own attributes leak into a cluster.
func TestClustersConserveCounts(t *testing.T) {
	hz := randomHazards(5000, 1)
	sc := &Scene{Hazards: HazardPoints(hz)}
	for z := maptile.Zoom(9); z < ClusterBelow; z++ {
		tile := maptile.At(orb.Point{-56.18, -34.85}, z)
		raw, err := sc.Render(context.Background(), []string{LayerHazards}, tile)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := decodeTile(raw)
		if err != nil || len(layers) != 1 {
			t.Fatalf("z%d: %v, %d layers", z, err, len(layers))
		}
		got := int64(0)
		for _, f := range layers[0].Features {
			pts, _ := decodeGeometry(f.Type, f.Geometry)
			props, _ := f.props(layers[0])
			if props["id"] != nil || props["count"] == nil {
				t.Fatalf("cluster props %v", props)
			}
			if p := pts[0][0]; p.X >= 0 && p.X < Extent && p.Y >= 0 && p.Y < Extent {
				got += props["count"].(int64)
			}
		}
		b := tile.Bound()
		want := int64(0)
		for _, h := range hz {
			if h.Point[0] >= b.Min[0] && h.Point[0] < b.Max[0] && h.Point[1] > b.Min[1] && h.Point[1] <= b.Max[1] {
				want++
			}
		}
		if got != want {
			t.Errorf("z%d: clusters inside the tile count %d hazards, %d are in it", z, got, want)
		}
	}
	// From ClusterBelow: points with their attributes.
	tile := maptile.At(orb.Point{-56.18, -34.85}, ClusterBelow)
	raw, _ := sc.Render(context.Background(), []string{LayerHazards}, tile)
	layers, _ := decodeTile(raw)
	for _, f := range layers[0].Features {
		props, _ := f.props(layers[0])
		h := hz[f.ID-1]
		if props["id"] != h.ID || props["category"] != h.Category || props["severity"] != int64(h.Severity) || props["count"] != nil {
			t.Fatalf("feature %d props %v, hazard %+v", f.ID, props, h)
		}
	}
}

// TestCache: concurrent misses render once, the byte bound holds, errors
// are not cached, a key without layers is not a tile.
func TestCache(t *testing.T) {
	c := NewCache(10_000)
	var renders atomic.Int32
	render := func(s string) func() (*Encoded, error) {
		return func() (*Encoded, error) {
			renders.Add(1)
			time.Sleep(5 * time.Millisecond)
			return Encode([]byte(s)), nil
		}
	}
	tile := maptile.New(1, 2, 3)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			e, err := c.Get("a", []string{LayerGrids}, tile, render("A"))
			if err != nil || string(e.Raw) != "A" {
				t.Errorf("got %v %v", e, err)
			}
		})
	}
	wg.Wait()
	if n := renders.Load(); n != 1 {
		t.Errorf("20 concurrent requests rendered %d times", n)
	}
	if e, _ := c.Get("a", []string{LayerGrids}, tile, render("B")); string(e.Raw) != "A" {
		t.Errorf("not cached: %q", e.Raw)
	}
	if _, err := c.Get("err", []string{LayerGrids}, tile, func() (*Encoded, error) { return nil, errors.New("boom") }); err == nil {
		t.Errorf("the error was lost")
	}
	if e, err := c.Get("err", []string{LayerGrids}, tile, render("ok")); err != nil || string(e.Raw) != "ok" {
		t.Errorf("an error was cached: %v %v", e, err)
	}
	big := make([]byte, 6000)
	c.Get("big1", []string{LayerGrids}, tile, func() (*Encoded, error) { return &Encoded{Raw: big}, nil })
	c.Get("big2", nil, maptile.Tile{}, func() (*Encoded, error) { return &Encoded{Raw: big}, nil })
	// a, ok and big1 make room for big2.
	if st := c.Stats(); st.Bytes > 10_000 || st.Entries != 1 || st.Evicted != 3 || st.MaxBytes != 10_000 {
		t.Errorf("over budget, or evictions miscounted: %+v", st)
	}
	if n := c.Invalidate(Dirty{Layer: LayerGrids, All: true}); n != 0 {
		t.Errorf("a layer's All dropped %d entries that are not tiles", n)
	}
	if n := c.Invalidate(Dirty{All: true}); n != 1 {
		t.Errorf("All of every layer dropped %d, want 1", n)
	}
	// A render that panics leaves the key free and tells those waiting.
	func() {
		defer func() { recover() }()
		c.Get("p", nil, tile, func() (*Encoded, error) { panic("render") })
	}()
	if e, err := c.Get("p", nil, tile, render("fine")); err != nil || string(e.Raw) != "fine" {
		t.Errorf("after a panic: %v %v", e, err)
	}
	e := Encode(make([]byte, 4096))
	if e.Gzip == nil || e.ETag == e.GzipETag || e.ETag[0] != '"' {
		t.Errorf("encode: gzip %d bytes, etags %s %s", len(e.Gzip), e.ETag, e.GzipETag)
	}
}

// TestSectors: from SectorZoom a camera is a point and its sector polygon.
func TestSectors(t *testing.T) {
	cams := []data.Camera{{FID: 1, ID: "c1", Point: orb.Point{-56.18, -34.85}, Azimuth: 90, FOV: 60, RangeM: 80, Status: "online"}}
	sc := &Scene{Cameras: CameraPoints(cams)}
	for _, tc := range []struct {
		z      maptile.Zoom
		points int
		polys  int
	}{{ClusterBelow - 1, 1, 0}, {ClusterBelow, 1, 0}, {SectorZoom, 1, 1}, {18, 1, 1}} {
		raw, err := sc.Render(context.Background(), []string{LayerCameras}, maptile.At(cams[0].Point, tc.z))
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := decodeTile(raw)
		var pts, polys int
		for _, f := range layers[0].Features {
			switch f.Type {
			case GeomPoint:
				pts++
			case GeomPolygon:
				polys++
				rings, _ := decodeGeometry(f.Type, f.Geometry)
				if area2(rings[0]) <= 0 {
					t.Errorf("z%d: sector wound the wrong way", tc.z)
				}
			}
		}
		if pts != tc.points || polys != tc.polys {
			t.Errorf("z%d: %d points, %d polygons; want %d, %d", tc.z, pts, polys, tc.points, tc.polys)
		}
	}
}

// TestClusterAttributes: a cluster names its most common category whatever
// the taxonomy (a code no built-in list has included), the least code of
// equally common ones, and counts as open the hazards whose status is
// Open (not done, not rejected).
func TestClusterAttributes(t *testing.T) {
	at := orb.Point{9.52, 47.14}
	tile := maptile.At(at, ClusterBelow-1)
	mk := func(fid int64, cat string, st data.Status, sev int) data.Hazard {
		// A metre apart: one bin.
		return data.Hazard{FID: fid, ID: "h" + strconv.FormatInt(fid, 10), Point: orb.Point{at[0] + float64(fid)*1e-5, at[1]},
			Category: cat, Status: st, Severity: sev}
	}
	for _, tc := range []struct {
		name     string
		hz       []data.Hazard
		category string
		open     int64
		maxSev   int64
	}{
		{"configured category outside the default", []data.Hazard{mk(1, "stray_dogs", data.StatusReported, 1), mk(2, "stray_dogs", data.StatusClosed, 2), mk(3, "fire", data.StatusAssigned, 3)}, "stray_dogs", 2, 3},
		{"tie goes to the least code", []data.Hazard{mk(1, "water", data.StatusRejected, 1), mk(2, "labour", data.StatusResolved, 1)}, "labour", 0, 1},
		{"tie in the other order", []data.Hazard{mk(1, "labour", data.StatusEscalated, 2), mk(2, "water", data.StatusReopened, 1)}, "labour", 2, 2},
		{"open states", []data.Hazard{mk(1, "fire", data.StatusAccepted, 1), mk(2, "fire", data.StatusInProgress, 1), mk(3, "fire", data.StatusVerified, 1)}, "fire", 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := &Scene{Hazards: HazardPoints(tc.hz)}
			raw, err := sc.Render(context.Background(), []string{LayerHazards}, tile)
			if err != nil {
				t.Fatal(err)
			}
			layers, err := decodeTile(raw)
			if err != nil || len(layers) != 1 || len(layers[0].Features) != 1 {
				t.Fatalf("%v, %d layers; want one cluster", err, len(layers))
			}
			props, _ := layers[0].Features[0].props(layers[0])
			if props["count"] != int64(len(tc.hz)) || props["category"] != tc.category || props["open"] != tc.open || props["max_severity"] != tc.maxSev {
				t.Errorf("cluster %v, want count %d category %s open %d max_severity %d", props, len(tc.hz), tc.category, tc.open, tc.maxSev)
			}
		})
	}
}
