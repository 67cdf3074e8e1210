package tiles

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// Tile geometry constants.
const (
	// Extent is the size of a tile in tile units.
	Extent = 4096
	// Buffer is how far, in tile units, features reach beyond the tile edge,
	// so that lines and point symbols at an edge are drawn without seams.
	Buffer = 64
	// MaxZoom is the deepest zoom served.
	MaxZoom = 24
	// SimplifyTolerance is the Douglas–Peucker tolerance in tile units: a
	// quarter of a pixel when a 4096-unit tile is drawn at 256 pixels.
	SimplifyTolerance = 4.0
	// ClusterBelow is the zoom below which point layers are clustered (see
	// the package documentation for why).
	ClusterBelow = 14
	// clusterBins is the number of cluster bins along a tile side.
	clusterBins = 16
	// SectorZoom is the zoom from which camera sectors are drawn: a typical
	// 50 m range is then about 20 pixels long.
	SectorZoom = 15
	// HotspotCellZoom is the zoom from which hotspots are drawn cell by cell.
	HotspotCellZoom = 12
)

// Layer names.
const (
	LayerGrids    = "grids"
	LayerAreas    = "areas"
	LayerHazards  = "hazards"
	LayerCameras  = "cameras"
	LayerHotspots = "hotspots"
	LayerStreets  = "streets"
	LayerUnits    = "units"
)

// LayerNames lists the layers in drawing order: areas at the bottom,
// streets under the grids.
func LayerNames() []string {
	return []string{LayerAreas, LayerStreets, LayerGrids, LayerUnits, LayerHotspots, LayerCameras, LayerHazards}
}

// ParseLayers parses a comma separated list of layer names. An unknown name
// is ENOTFOUND (there is no such resource); an empty or repeated name is
// EINVALID.
func ParseLayers(s string) ([]string, error) {
	if s == "" {
		return nil, data.Errorf(data.EINVALID, "no layer named: give one or a comma list of %s", strings.Join(LayerNames(), ", "))
	}
	names := strings.Split(s, ",")
	if len(names) > len(LayerNames()) {
		return nil, data.Errorf(data.EINVALID, "%d layers named; there are only %d (%s)", len(names), len(LayerNames()), strings.Join(LayerNames(), ", "))
	}
	for i, n := range names {
		if n == "" {
			return nil, data.Errorf(data.EINVALID, "empty layer name in %q", s)
		}
		if !slices.Contains(LayerNames(), n) {
			return nil, data.Errorf(data.ENOTFOUND, "unknown layer %q (layers: %s)", n, strings.Join(LayerNames(), ", "))
		}
		if slices.Contains(names[:i], n) {
			return nil, data.Errorf(data.EINVALID, "layer %q named twice", n)
		}
	}
	return names, nil
}

// ParseTile parses the z, x and y of a tile path. Each must be a decimal
// integer without sign: z in 0…MaxZoom, x and y in 0…2^z−1.
func ParseTile(z, x, y string) (maptile.Tile, error) {
	zi, err := parseUint("z", z, MaxZoom)
	if err != nil {
		return maptile.Tile{}, err
	}
	last := uint64(1)<<zi - 1
	xi, err := parseUint("x", x, last)
	if err != nil {
		return maptile.Tile{}, err
	}
	yi, err := parseUint("y", y, last)
	if err != nil {
		return maptile.Tile{}, err
	}
	return maptile.New(uint32(xi), uint32(yi), maptile.Zoom(zi)), nil
}

func parseUint(name, s string, maxVal uint64) (uint64, error) {
	ok := s != "" && len(s) <= 10
	for _, c := range s {
		ok = ok && c >= '0' && c <= '9'
	}
	if !ok {
		return 0, data.Errorf(data.EINVALID, "tile %s must be an integer from 0 to %d, got %q", name, maxVal, s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > maxVal {
		return 0, data.Errorf(data.EINVALID, "tile %s must be an integer from 0 to %d at this zoom, got %s", name, maxVal, s)
	}
	return v, nil
}

// maxLat is where Web Mercator is cut off, making the world square.
const maxLat = 85.051128779806604

// project returns p in normalised Web Mercator: x, y in [0, 1], y down.
func project(p orb.Point) mpt {
	lat := math.Max(-maxLat, math.Min(maxLat, p[1]))
	s := math.Sin(lat * math.Pi / 180)
	return mpt{(p[0] + 180) / 360, 0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)}
}

// unproject is the inverse of project.
func unproject(m mpt) orb.Point {
	return orb.Point{m[0]*360 - 180, 180 / math.Pi * math.Atan(math.Sinh(math.Pi*(1-2*m[1])))}
}

// frame maps mercator points to the tile coordinates of one tile.
type frame struct {
	scale, x0, y0 float64 // tile = m·scale − (x0, y0)
	// bound is the query box in the data's (WGS 84) mercator: the tile and
	// its buffer.
	bound orb.Bound
	// crs is the CRS the tile is drawn in: the data's WGS 84 positions are
	// converted to it, vertex by vertex, before they are placed in the
	// tile (GCJ-02 for AMap and Tencent base maps).
	crs spatial.CRS
	// grid interpolates that conversion over bound; nil converts each
	// position exactly.
	grid *offsetGrid
}

func newFrame(t maptile.Tile) frame { return newFrameIn(t, spatial.WGS84) }

// newFrameIn is the frame of tile t drawn in c.
func newFrameIn(t maptile.Tile, c spatial.CRS) frame {
	scale := math.Exp2(float64(t.Z)) * Extent
	f := frame{scale: scale, x0: float64(t.X) * Extent, y0: float64(t.Y) * Extent, crs: c}
	b := float64(Buffer)
	box := orb.Bound{
		Min: orb.Point{(f.x0 - b) / scale, (f.y0 - b) / scale},
		Max: orb.Point{(f.x0 + Extent + b) / scale, (f.y0 + Extent + b) / scale},
	}
	if f.shifted() {
		// The grid covers the tile and its eight neighbours: what clusters
		// search (a bin beyond the tile), and most vertices of the
		// polygons that reach into it.
		f.grid = newOffsetGrid(c, orb.Bound{
			Min: orb.Point{(f.x0 - Extent) / scale, (f.y0 - Extent) / scale},
			Max: orb.Point{(f.x0 + 2*Extent) / scale, (f.y0 + 2*Extent) / scale},
		})
	}
	f.bound = f.search(box)
	return f
}

// convert is the mercator position m converted to the frame's CRS:
// interpolated inside the frame's grid, exact elsewhere (the far vertices
// of a feature that reaches into the tile).
func (f frame) convert(m mpt) mpt {
	if f.grid != nil {
		if q, ok := f.grid.at(m); ok {
			return q
		}
	}
	return project(f.crs.FromWGS84(unproject(m)))
}

// shifted reports whether the frame converts positions.
func (f frame) shifted() bool { return f.crs != spatial.WGS84 }

// search returns the WGS 84 mercator bound that holds every data point
// whose image in the frame's CRS lies in the mercator bound m of the
// tile's CRS (spatial.CRS.BoundToWGS84).
func (f frame) search(m orb.Bound) orb.Bound {
	switch {
	case !f.shifted():
		return m
	case f.grid != nil:
		// Wholly inside China: the preimage is all there is to search.
		return preimage(f.crs, m)
	}
	return mercBound(f.crs.BoundToWGS84(lonLatBound(m)))
}

// preimage is the WGS 84 mercator box that c maps onto the mercator box
// m, where the offset applies all over: the preimages of its corners,
// widened by 5% of its size, twice the largest slope of the offset
// (spatial.TestOffsetBoundsHold).
func preimage(c spatial.CRS, m orb.Bound) orb.Bound {
	ll := lonLatBound(m)
	pre := orb.Bound{Min: c.ToWGS84(ll.Min), Max: c.ToWGS84(ll.Min)}
	for _, p := range [3]orb.Point{ll.Max, {ll.Min[0], ll.Max[1]}, {ll.Max[0], ll.Min[1]}} {
		pre = pre.Extend(c.ToWGS84(p))
	}
	return mercBound(pre.Pad(0.05 * math.Max(pre.Max[0]-pre.Min[0], pre.Max[1]-pre.Min[1])))
}

func (f frame) tile(m mpt) orb.Point {
	if f.shifted() {
		m = f.convert(m)
	}
	return orb.Point{m[0]*f.scale - f.x0, m[1]*f.scale - f.y0}
}

func (f frame) quantize(p orb.Point) Point {
	return Point{int32(math.Round(p[0])), int32(math.Round(p[1]))}
}

// inside reports whether a tile-coordinate point is within the tile and its
// buffer.
func inside(p Point) bool {
	return p.X >= -Buffer && p.X <= Extent+Buffer && p.Y >= -Buffer && p.Y <= Extent+Buffer
}

// offsetGrid interpolates the displacement that converting to a frame's
// CRS makes, over the preimage of the tile and its eight neighbours, from
// its exact value at (n+1)² nodes: a GCJ-02 offset costs a dozen sines and
// the mercator round trip three more transcendental functions, a bilinear
// interpolation a few multiplications. The offset is smooth (its largest
// curvature term, 20·sin(6πx)·2/3, bends it by about 4,700 m/deg²), so
// with cells of at most maxGridCell degrees the interpolation is within
// about 0.3 m of the exact position, under a tenth of a tile unit at any
// zoom where a grid is used (TestOffsetGridAccuracy; its √|lon−105°| term
// is not smooth on that meridian, where the error is a few centimetres
// more). It is the same function of the same points on every replica and
// for both sides of a shared edge.
type offsetGrid struct {
	x0, y0, sx, sy float64 // mercator of node (0, 0); cell sides
	n              int     // cells per side
	d              []mpt   // displacements, (n+1)² nodes, row by row
}

// maxGridCell is the largest cell side of an offsetGrid, in degrees of
// longitude; maxGridCells the most cells a side. A frame wider than
// maxGridCell·maxGridCells (three tiles of zoom 9 and below) converts
// every position.
const (
	maxGridCell  = 0.02
	maxGridCells = 112
)

// newOffsetGrid returns the grid of c's displacement over the WGS 84
// preimage of the mercator box (a tile and its buffer, in c), or nil where
// one would not do: a box too wide, or one that reaches where the offset
// stops (outside China's box the offset is zero, and across that edge it
// jumps). Positions outside the preimage, the far vertices of features
// that reach into the tile, are converted exactly.
func newOffsetGrid(c spatial.CRS, box orb.Bound) *offsetGrid {
	b := preimage(c, box)
	span := (b.Max[0] - b.Min[0]) * 360
	n := max(24, int(math.Ceil(span/maxGridCell)))
	if n > maxGridCells || !(span > 0) {
		return nil
	}
	g := &offsetGrid{x0: b.Min[0], y0: b.Min[1], sx: (b.Max[0] - b.Min[0]) / float64(n), sy: (b.Max[1] - b.Min[1]) / float64(n), n: n,
		d: make([]mpt, (n+1)*(n+1))}
	for j := 0; j <= n; j++ {
		for i := 0; i <= n; i++ {
			m := mpt{g.x0 + float64(i)*g.sx, g.y0 + float64(j)*g.sy}
			p := unproject(m)
			q := c.FromWGS84(p)
			if q == p {
				return nil // no offset here: outside China's box
			}
			pm := project(q)
			g.d[j*(n+1)+i] = mpt{pm[0] - m[0], pm[1] - m[1]}
		}
	}
	return g
}

// at returns m displaced, and false where m is outside the grid.
func (g *offsetGrid) at(m mpt) (mpt, bool) {
	fx, fy := (m[0]-g.x0)/g.sx, (m[1]-g.y0)/g.sy
	if !(fx >= 0 && fy >= 0 && fx <= float64(g.n) && fy <= float64(g.n)) {
		return m, false
	}
	i, j := min(int(fx), g.n-1), min(int(fy), g.n-1)
	u, v := fx-float64(i), fy-float64(j)
	k := j*(g.n+1) + i
	a, b, c, d := g.d[k], g.d[k+1], g.d[k+g.n+1], g.d[k+g.n+2]
	w00, w10, w01, w11 := (1-u)*(1-v), u*(1-v), (1-u)*v, u*v
	return mpt{m[0] + w00*a[0] + w10*b[0] + w01*c[0] + w11*d[0], m[1] + w00*a[1] + w10*b[1] + w01*c[1] + w11*d[1]}, true
}
