package tiles

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
)

// Encoded is a rendered tile, or any other cached document, ready to send:
// its bytes, gzipped bytes, and strong ETags for both representations.
type Encoded struct {
	Raw      []byte // nil for a tile without features
	Gzip     []byte
	ETag     string // quoted, for Raw
	GzipETag string // quoted, for Gzip
}

// Encode compresses raw and computes its ETags. Small bodies are not
// worth compressing: Gzip is then nil and the raw bytes are sent.
func Encode(raw []byte) *Encoded { return EncodeTagged(raw, "") }

// EncodeTagged is Encode with the ETags prefixed by prefix and a hyphen:
// a tile drawn in GCJ-02 is another representation than the WGS 84 one
// even where their bytes agree (an empty tile, or one outside China).
func EncodeTagged(raw []byte, prefix string) *Encoded {
	sum := sha256.Sum256(raw)
	tag := hex.EncodeToString(sum[:12])
	if prefix != "" {
		tag = prefix + "-" + tag
	}
	e := &Encoded{Raw: raw, ETag: `"` + tag + `"`}
	if len(raw) >= 256 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write(raw)
		zw.Close()
		if buf.Len() < len(raw) {
			e.Gzip, e.GzipETag = buf.Bytes(), `"`+tag+`-gz"`
		}
	}
	return e
}

func (e *Encoded) size() int { return len(e.Raw) + len(e.Gzip) + 128 }

// Cache holds encoded tiles, least recently used out first, within a byte
// bound. Concurrent requests for the same missing tile render it once.
//
// A write drops what it changed, by place: Invalidate drops the cached
// tiles of a layer that reach the places where its data changed, in time
// proportional to the tiles dropped and to the zoom levels, not to the
// cache.
type Cache struct {
	max int

	mu      sync.Mutex
	gen     uint64 // Invalidate calls
	bytes   int
	lru     *list.List            // of *cacheNode cached, most recent first
	nodes   map[string]*cacheNode // cached or rendering, by key
	byTile  map[maptile.Tile][]*cacheNode
	byZoom  [maxIndexZoom + 1]nodeSet
	byLayer map[string]*[maxIndexZoom + 1]nodeSet
	shifted int // nodes of tiles drawn in another CRS than WGS 84

	hits, misses, invalidated, evicted uint64
}

const maxIndexZoom = 32

type nodeSet map[*cacheNode]struct{}

// cacheNode is a cached tile, or one being rendered.
type cacheNode struct {
	key     string
	layers  []string
	tile    maptile.Tile
	crs     spatial.CRS // the tile is drawn in
	indexed bool        // has layers and a tile

	val  *Encoded
	el   *list.Element // in lru once cached
	call *call         // while rendering
	// stale marks a render that an Invalidate covered after it began: it
	// is answered to those already waiting but not stored.
	stale bool
}

type call struct {
	done chan struct{}
	val  *Encoded
	err  error
}

// Dirty is where a layer's data changed, for Invalidate.
type Dirty struct {
	// Layer is the layer changed; "" means every layer.
	Layer string
	// Bound, in lon/lat, holds every place whose drawing changed: the old
	// and the new position of a moved point (or give one Dirty for each).
	// Invalidate widens it by what reaches into a tile from outside: the
	// tile buffer; below ClusterBelow, the cluster bin; for cameras from
	// SectorZoom, the reach of the longest sector seen (CameraDirty gives
	// a camera's own sector, which is tighter).
	Bound orb.Bound
	// All marks the whole layer changed (hotspots after any hazard write,
	// grids after a publish): Bound is ignored. With Layer "" it drops
	// every entry, tile or not.
	All bool
}

// HazardDirty is the Dirty of a hazard written or deleted: give it the old
// record and the new one.
func HazardDirty(h data.Hazard) Dirty { return Dirty{Layer: LayerHazards, Bound: h.Point.Bound()} }

// CameraDirty is the Dirty of a camera written or deleted, its sector
// included: give it the old record and the new one.
func CameraDirty(c data.Camera) Dirty {
	r := newCamRec(c)
	return Dirty{Layer: LayerCameras, Bound: lonLatBound(r.bound)}
}

// NewCache returns a cache holding up to maxBytes of tiles; 0 disables
// caching (every request renders, still once per concurrent key).
func NewCache(maxBytes int) *Cache {
	return &Cache{max: maxBytes, lru: list.New(), nodes: map[string]*cacheNode{},
		byTile: map[maptile.Tile][]*cacheNode{}, byLayer: map[string]*[maxIndexZoom + 1]nodeSet{}}
}

// TileKey is a cache key for the tile t of layers: "<layers comma list>/z/x/y".
func TileKey(layers []string, t maptile.Tile) string {
	return strings.Join(layers, ",") + "/" + strconv.Itoa(int(t.Z)) + "/" +
		strconv.FormatUint(uint64(t.X), 10) + "/" + strconv.FormatUint(uint64(t.Y), 10)
}

// TileKeyIn is TileKey for the tile drawn in c: "<crs>:<TileKey>", and
// TileKey itself for WGS 84.
func TileKeyIn(layers []string, t maptile.Tile, c spatial.CRS) string {
	if c == spatial.WGS84 {
		return TileKey(layers, t)
	}
	return c.String() + ":" + TileKey(layers, t)
}

// Get returns the entry for key, rendering it with render when it is not
// cached. key must name the tile t of layers (TileKey makes one), which
// Invalidate goes by; with no layers the entry is not a tile, and only the
// byte bound or a Dirty of every layer with All drops it. A render error is
// returned to every waiter and not cached.
//
// A render that an Invalidate covers after it began is not stored, and
// later requests do not wait for it. render must therefore read the data
// it draws from when it runs, not before Get: a scene read before Get may
// be older than an Invalidate the render does not know it missed.
func (c *Cache) Get(key string, layers []string, t maptile.Tile, render func() (*Encoded, error)) (*Encoded, error) {
	return c.GetIn(key, layers, t, spatial.WGS84, render)
}

// GetIn is Get for the tile t drawn in crs (TileKeyIn makes its key):
// Invalidate drops it where the GCJ-02 image of a change reaches it.
func (c *Cache) GetIn(key string, layers []string, t maptile.Tile, crs spatial.CRS, render func() (*Encoded, error)) (*Encoded, error) {
	c.mu.Lock()
	if n, ok := c.nodes[key]; ok {
		if n.el != nil {
			c.lru.MoveToFront(n.el)
			c.hits++
			c.mu.Unlock()
			return n.val, nil
		}
		cl := n.call
		c.mu.Unlock()
		<-cl.done
		return cl.val, cl.err
	}
	c.misses++
	n := &cacheNode{key: key, tile: t, crs: crs, indexed: len(layers) > 0 && t.Z <= maxIndexZoom, call: &call{done: make(chan struct{})}}
	if n.indexed {
		n.layers = slices.Clone(layers)
	}
	c.add(n)
	c.mu.Unlock()

	cl := n.call
	defer func() {
		// Also when render panics: waiters get an error, the key is free.
		if !isClosed(cl.done) {
			cl.err = errRenderPanicked
			close(cl.done)
			c.mu.Lock()
			c.remove(n)
			c.mu.Unlock()
		}
	}()
	cl.val, cl.err = render()
	close(cl.done)

	c.mu.Lock()
	defer c.mu.Unlock()
	if n.stale {
		return cl.val, cl.err
	}
	if cl.err != nil || cl.val == nil || c.max <= 0 {
		c.remove(n)
		return cl.val, cl.err
	}
	n.val, n.call = cl.val, nil
	n.el = c.lru.PushFront(n)
	c.bytes += n.val.size()
	for c.bytes > c.max && c.lru.Len() > 1 {
		c.remove(c.lru.Back().Value.(*cacheNode))
		c.evicted++
	}
	return cl.val, nil
}

var errRenderPanicked = errors.New("tiles: the render of this tile panicked")

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Invalidate drops the cached tiles that d covers and keeps the renders in
// progress that d covers from being stored; it returns the number of
// cached tiles dropped. A Dirty covers the tiles that include its layer
// and whose area, widened by what reaches into a tile from outside (see
// Dirty), meets its bound. The cost is in proportion to the tiles dropped
// and to the zoom levels cached, not to the cache: for each zoom it looks
// up the tiles over the bound, or, when they outnumber the cached tiles of
// the layer at that zoom, scans those instead.
//
// Call it after the data renders read has changed (a scene swapped), so
// that a render that starts after it draws the new data.
func (c *Cache) Invalidate(d ...Dirty) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	dropped := 0
	var hit []*cacheNode
	for _, dd := range d {
		hit = c.covered(hit[:0], dd)
		for _, n := range hit {
			if c.nodes[n.key] != n {
				continue // already dropped
			}
			if n.el != nil {
				dropped++
			}
			c.remove(n)
		}
	}
	c.invalidated += uint64(dropped)
	return dropped
}

// covered appends the nodes d covers to hit.
func (c *Cache) covered(hit []*cacheNode, d Dirty) []*cacheNode {
	switch {
	case d.All && d.Layer == "":
		for _, n := range c.nodes {
			hit = append(hit, n)
		}
		return hit
	case d.All:
		if li := c.byLayer[d.Layer]; li != nil {
			for z := range li {
				for n := range li[z] {
					hit = append(hit, n)
				}
			}
		}
		return hit
	}
	hit = c.coveredIn(hit, d, spatial.WGS84, d.Bound)
	if c.shifted > 0 {
		// A tile in GCJ-02 draws the change where its GCJ-02 image is.
		hit = c.coveredIn(hit, d, spatial.GCJ02, spatial.GCJ02.BoundFromWGS84(d.Bound))
	}
	return hit
}

// coveredIn appends the nodes of tiles drawn in crs that d covers, with
// its bound b given in crs.
func (c *Cache) coveredIn(hit []*cacheNode, d Dirty, crs spatial.CRS, b orb.Bound) []*cacheNode {
	mb := mercBound(b)
	for z := range maxIndexZoom + 1 {
		set := c.byZoom[z]
		if d.Layer != "" {
			li := c.byLayer[d.Layer]
			if li == nil {
				return hit
			}
			set = li[z]
		}
		if len(set) == 0 {
			continue
		}
		r, ok := tileRange(mb, maptile.Zoom(z), dirtyPad(d.Layer, maptile.Zoom(z)))
		if !ok {
			continue
		}
		if r.count() > uint64(len(set)) {
			for n := range set {
				if n.crs == crs && r.has(n.tile) {
					hit = append(hit, n)
				}
			}
			continue
		}
		for y := r.y0; y <= r.y1; y++ {
			for x := r.x0; x <= r.x1; x++ {
				for _, n := range c.byTile[maptile.New(x, y, maptile.Zoom(z))] {
					if n.crs == crs && (d.Layer == "" || slices.Contains(n.layers, d.Layer)) {
						hit = append(hit, n)
					}
				}
			}
		}
	}
	return hit
}

// add registers a node being rendered.
func (c *Cache) add(n *cacheNode) {
	c.nodes[n.key] = n
	if !n.indexed {
		return
	}
	if n.crs != spatial.WGS84 {
		c.shifted++
	}
	c.byTile[n.tile] = append(c.byTile[n.tile], n)
	z := n.tile.Z
	if c.byZoom[z] == nil {
		c.byZoom[z] = nodeSet{}
	}
	c.byZoom[z][n] = struct{}{}
	for _, l := range n.layers {
		li := c.byLayer[l]
		if li == nil {
			li = new([maxIndexZoom + 1]nodeSet)
			c.byLayer[l] = li
		}
		if li[z] == nil {
			li[z] = nodeSet{}
		}
		li[z][n] = struct{}{}
	}
}

// remove forgets a node: a cached tile is dropped, a render is marked stale.
func (c *Cache) remove(n *cacheNode) {
	if c.nodes[n.key] != n {
		return
	}
	delete(c.nodes, n.key)
	if n.el != nil {
		c.lru.Remove(n.el)
		n.el = nil
		c.bytes -= n.val.size()
	} else {
		n.stale = true
	}
	if !n.indexed {
		return
	}
	if n.crs != spatial.WGS84 {
		c.shifted--
	}
	ns := c.byTile[n.tile]
	if i := slices.Index(ns, n); i >= 0 {
		ns[i] = ns[len(ns)-1]
		ns[len(ns)-1] = nil
		ns = ns[:len(ns)-1]
	}
	if len(ns) == 0 {
		delete(c.byTile, n.tile)
	} else {
		c.byTile[n.tile] = ns
	}
	delete(c.byZoom[n.tile.Z], n)
	for _, l := range n.layers {
		delete(c.byLayer[l][n.tile.Z], n)
	}
}

// covers reports whether d covers the tile t of layers, as Invalidate
// decides it.
func (d Dirty) covers(layers []string, t maptile.Tile) bool {
	if d.Layer != "" && !slices.Contains(layers, d.Layer) {
		return false
	}
	if d.All {
		return true
	}
	r, ok := tileRange(mercBound(d.Bound), t.Z, dirtyPad(d.Layer, t.Z))
	return ok && r.has(t)
}

// tileBox is a range of tiles of one zoom, bounds included.
type tileBox struct{ x0, y0, x1, y1 uint32 }

func (r tileBox) count() uint64 { return uint64(r.x1-r.x0+1) * uint64(r.y1-r.y0+1) }

func (r tileBox) has(t maptile.Tile) bool {
	return t.X >= r.x0 && t.X <= r.x1 && t.Y >= r.y0 && t.Y <= r.y1
}

// tileRange returns the tiles of zoom z that reach the mercator bound mb
// when widened by pad tile units.
func tileRange(mb orb.Bound, z maptile.Zoom, pad float64) (tileBox, bool) {
	n := math.Exp2(float64(z))
	p := pad / Extent
	last := n - 1
	fx0, fx1 := math.Floor(mb.Min[0]*n-p), math.Floor(mb.Max[0]*n+p)
	fy0, fy1 := math.Floor(mb.Min[1]*n-p), math.Floor(mb.Max[1]*n+p)
	if fx1 < 0 || fy1 < 0 || fx0 > last || fy0 > last || math.IsNaN(fx0+fx1+fy0+fy1) {
		return tileBox{}, false
	}
	clamp := func(v float64) uint32 { return uint32(math.Max(0, math.Min(last, v))) }
	return tileBox{clamp(fx0), clamp(fy0), clamp(fx1), clamp(fy1)}, true
}

// dirtyPad is how far, in tile units, a change reaches into the tiles of
// a layer at zoom z: a tile draws its buffer; below ClusterBelow a point
// moves its bin's cluster, which a tile draws a bin beyond its edge; from
// SectorZoom a camera draws its sector. Two units more absorb rounding.
func dirtyPad(layer string, z maptile.Zoom) float64 {
	pad := float64(Buffer)
	if z < ClusterBelow && (layer == "" || layer == LayerHazards || layer == LayerCameras) {
		pad = Extent / clusterBins
	}
	if z >= SectorZoom && (layer == "" || layer == LayerCameras) {
		pad += sectorReach.get() * math.Exp2(float64(z)) * Extent
	}
	return pad + 2
}

// sectorReach is the longest reach of a camera sector prepared in this
// process, in mercator: how far beyond a camera's point its drawing may
// change. It only grows.
var sectorReach maxFloat

type maxFloat struct{ bits atomic.Uint64 }

func (m *maxFloat) get() float64 { return math.Float64frombits(m.bits.Load()) }

func (m *maxFloat) raise(v float64) {
	for {
		old := m.bits.Load()
		if v <= math.Float64frombits(old) || m.bits.CompareAndSwap(old, math.Float64bits(v)) {
			return
		}
	}
}

// mercBound is a lon/lat bound in mercator.
func mercBound(b orb.Bound) orb.Bound {
	lo, hi := project(b.Min), project(b.Max)
	return orb.Bound{Min: orb.Point{math.Min(lo[0], hi[0]), math.Min(lo[1], hi[1])},
		Max: orb.Point{math.Max(lo[0], hi[0]), math.Max(lo[1], hi[1])}}
}

// CacheStats are a cache's counters.
type CacheStats struct {
	Version        uint64 // Invalidate calls so far: it moves with every write
	Entries, Bytes int
	Hits, Misses   uint64
	Invalidated    uint64 // cached tiles dropped by Invalidate
	Evicted        uint64 // cached tiles dropped for the byte bound
	MaxBytes       int    // the byte bound; 0 when caching is off
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Version: c.gen, Entries: c.lru.Len(), Bytes: c.bytes, Hits: c.hits, Misses: c.misses,
		Invalidated: c.invalidated, Evicted: c.evicted, MaxBytes: c.max}
}
