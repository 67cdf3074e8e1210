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
)

// LayerNames lists the layers in drawing order: areas at the bottom.
func LayerNames() []string {
	return []string{LayerAreas, LayerGrids, LayerHotspots, LayerCameras, LayerHazards}
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
}

func newFrame(t maptile.Tile) frame { return newFrameIn(t, spatial.WGS84) }

// newFrameIn is the frame of tile t drawn in c.
func newFrameIn(t maptile.Tile, c spatial.CRS) frame {
	scale := math.Exp2(float64(t.Z)) * Extent
	f := frame{scale: scale, x0: float64(t.X) * Extent, y0: float64(t.Y) * Extent, crs: c}
	b := float64(Buffer)
	f.bound = f.search(orb.Bound{
		Min: orb.Point{(f.x0 - b) / scale, (f.y0 - b) / scale},
		Max: orb.Point{(f.x0 + Extent + b) / scale, (f.y0 + Extent + b) / scale},
	})
	return f
}

// shifted reports whether the frame converts positions.
func (f frame) shifted() bool { return f.crs != spatial.WGS84 }

// search returns the WGS 84 mercator bound that holds every data point
// whose image in the frame's CRS lies in the mercator bound m of the
// tile's CRS (spatial.CRS.BoundToWGS84).
func (f frame) search(m orb.Bound) orb.Bound {
	if !f.shifted() {
		return m
	}
	return mercBound(f.crs.BoundToWGS84(lonLatBound(m)))
}

func (f frame) tile(m mpt) orb.Point {
	if f.shifted() {
		m = project(f.crs.FromWGS84(unproject(m)))
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
