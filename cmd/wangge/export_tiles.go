package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/live"
	"github.com/wangge/wangge/tiles"
	"github.com/wangge/wangge/tiles/archive"
)

// tileFlags are the flags of export --format pmtiles|mbtiles: which tiles
// go into the archive.
type tileFlags struct {
	layers, bbox, area     string
	minZoom, maxZoom       int
	progress               bool
	taxonomyFile, riskFile string
	names                  []string // the flags above, to refuse them with other formats
}

// addTileFlags declares the tile archive flags on fs.
func addTileFlags(fs *flag.FlagSet) *tileFlags {
	tf := &tileFlags{}
	fs.StringVar(&tf.layers, "layers", "", "pmtiles, mbtiles, site: comma list of tile layers (default all public ones: "+strings.Join(publicTileLayers(), ",")+
		"); cameras only when named here; household points never")
	fs.IntVar(&tf.minZoom, "minzoom", 0, "pmtiles, mbtiles, site: the first zoom level")
	fs.IntVar(&tf.maxZoom, "maxzoom", 14, "pmtiles, mbtiles, site: the last zoom level")
	fs.StringVar(&tf.bbox, "bbox", "", "pmtiles, mbtiles, site: minlon,minlat,maxlon,maxlat of the tiles (default: the layers' extent)")
	fs.StringVar(&tf.area, "area", "", "pmtiles, mbtiles, site: the code of an area whose extent the tiles cover, instead of --bbox")
	fs.BoolVar(&tf.progress, "progress", false, "pmtiles, mbtiles, site: report progress on stderr also when it is not a terminal")
	fs.StringVar(&tf.taxonomyFile, "taxonomy", env("taxonomy", ""), "pmtiles, mbtiles, site: as serve --taxonomy, so that grid risk is drawn as the server draws it (WANGGE_TAXONOMY)")
	fs.StringVar(&tf.riskFile, "risk", env("risk", ""), "pmtiles, mbtiles, site: as serve --risk (WANGGE_RISK)")
	tf.names = []string{"layers", "minzoom", "maxzoom", "bbox", "area", "progress", "taxonomy", "risk"}
	return tf
}

// checkUnused refuses the tile flags with a format that has no tiles.
func (tf *tileFlags) checkUnused(fs *flag.FlagSet, format string) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err == nil && slices.Contains(tf.names, f.Name) {
			err = usageError{fmt.Errorf("--%s is for --format pmtiles, mbtiles or site, not %s", f.Name, format)}
		}
	})
	return err
}

// publicTileLayers are the layers an archive holds by default: every tile
// layer a viewer may read (cameras and units are for planners).
func publicTileLayers() []string {
	return slices.DeleteFunc(tiles.LayerNames(), func(l string) bool { return l == tiles.LayerCameras || l == tiles.LayerUnits })
}

// tileRequest is a checked tile archive request.
type tileRequest struct {
	format  string
	layers  []string
	minZoom int
	maxZoom int
	bbox    *orb.Bound // nil: --area or the data's extent
}

// parse checks the flags that need no store.
func (tf *tileFlags) parse(format string) (tileRequest, error) {
	req := tileRequest{format: format, layers: publicTileLayers(), minZoom: tf.minZoom, maxZoom: tf.maxZoom}
	if tf.layers != "" {
		for _, l := range strings.Split(tf.layers, ",") {
			if l == string(data.LayerHouseholds) || l == "household" {
				return req, usageError{fmt.Errorf("--layers: %s: household points are never exported to a tile archive (an archive is public to whoever holds the file); export them with --format gpkg or geojson", l)}
			}
		}
		layers, err := tiles.ParseLayers(tf.layers)
		if err != nil {
			return req, usageError{fmt.Errorf("--layers: %s", data.ErrorMessage(err))}
		}
		req.layers = layers
	}
	for _, z := range []struct {
		name string
		v    int
	}{{"minzoom", tf.minZoom}, {"maxzoom", tf.maxZoom}} {
		if z.v < 0 || z.v > tiles.MaxZoom {
			return req, usageError{fmt.Errorf("--%s must be 0–%d, got %d", z.name, tiles.MaxZoom, z.v)}
		}
	}
	if tf.minZoom > tf.maxZoom {
		return req, usageError{fmt.Errorf("--minzoom %d is above --maxzoom %d", tf.minZoom, tf.maxZoom)}
	}
	if tf.bbox != "" && tf.area != "" {
		return req, usageError{errors.New("--bbox and --area both given: name the tiles' extent once")}
	}
	if tf.bbox != "" {
		b, err := parseBBox(tf.bbox)
		if err != nil {
			return req, usageError{fmt.Errorf("--bbox: %v", err)}
		}
		req.bbox = &b
	}
	return req, nil
}

// parseBBox parses minlon,minlat,maxlon,maxlat in degrees.
func parseBBox(s string) (orb.Bound, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return orb.Bound{}, fmt.Errorf("want minlon,minlat,maxlon,maxlat, got %q", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return orb.Bound{}, fmt.Errorf("%q is not a number", p)
		}
		v[i] = f
	}
	switch {
	case v[0] < -180 || v[2] > 180 || v[1] < -90 || v[3] > 90:
		return orb.Bound{}, fmt.Errorf("%q is outside −180…180, −90…90", s)
	case v[0] >= v[2] || v[1] >= v[3]:
		return orb.Bound{}, fmt.Errorf("%q: min must be below max (minlon,minlat,maxlon,maxlat)", s)
	}
	return orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}, nil
}

// exportTiles writes the tiles of the store's current version into a new
// PMTiles or MBTiles file at out. The tiles are drawn by the server's own
// code (live.Service.Tile over a Scene loaded from the store), so they are
// the bytes GET /tiles/{layers}/{z}/{x}/{y}.mvt answers at that version,
// stored gzip-compressed. Empty tiles are left out.
func exportTiles(ctx context.Context, db, out string, req tileRequest, tf *tileFlags, stdout, stderr io.Writer) (tileExport, error) {
	var te tileExport
	if _, err := os.Stat(out); err == nil {
		return te, usageError{fmt.Errorf("%s exists; export writes a new %s and never overwrites", out, req.format)}
	}
	taxonomy, err := loadTaxonomy(tf.taxonomyFile)
	if err != nil {
		return te, err
	}
	risk := data.DefaultRiskRules()
	if tf.riskFile != "" {
		if risk, err = data.LoadRiskRules(tf.riskFile); err != nil {
			return te, usageError{fmt.Errorf("--risk: %s", data.ErrorMessage(err))}
		}
	}
	te.risk = risk
	src, err := openStore(ctx, db)
	if err != nil {
		return te, err
	}
	defer src.Close()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Caching off: each tile is drawn once, and memory stays flat.
	svc := live.New(live.Config{Store: src, Logger: log, TileCacheBytes: -1, Taxonomy: taxonomy, Risk: risk})
	defer svc.Close()
	if err := svc.Load(ctx); err != nil {
		return te, err
	}
	// The grids carry the risk of this version, as the server draws them.
	if _, err := svc.Risk(ctx); err != nil {
		return te, err
	}
	te.version = svc.Version()
	sc := svc.Scene()
	var bound orb.Bound
	switch {
	case req.bbox != nil:
		bound = *req.bbox
	case tf.area != "":
		as := svc.Areas()
		i, ok := 0, false
		if as != nil {
			i, ok = as.ByCode[tf.area]
		}
		if !ok {
			return te, usageError{fmt.Errorf("--area: no area has the code %q", tf.area)}
		}
		bound = as.List[i].Geometry.Bound()
	default:
		var ok bool
		if bound, ok = sc.Bound(req.layers); !ok {
			return te, fmt.Errorf("the layers %s have no features: nothing to export (give --bbox to write an empty archive)", strings.Join(req.layers, ","))
		}
	}

	var w archive.Writer
	if req.format == "pmtiles" {
		w, err = archive.NewPMTiles(out)
	} else {
		w, err = archive.NewMBTiles(ctx, out)
	}
	if errors.Is(err, archive.ErrExists) {
		return te, usageError{err}
	} else if err != nil {
		return te, err
	}
	total := archive.Count(bound, req.minZoom, req.maxZoom)
	var bar *progress
	if tf.progress || isTerminal(stderr) {
		bar = newProgress(stderr, "export "+req.format, total)
	}
	start := time.Now()
	err = renderTiles(ctx, svc, req, bound, func(t maptile.Tile, gz []byte, done int64) error {
		if bar != nil {
			bar.Set(done)
		}
		return w.WriteTile(ctx, t, gz)
	})
	if bar != nil {
		bar.Done()
	}
	if err != nil {
		w.Abort()
		return te, err
	}
	tj := tiles.NewTileJSON("", req.layers, bound, true)
	for i := range tj.VectorLayers {
		tj.VectorLayers[i].MinZoom, tj.VectorLayers[i].MaxZoom = req.minZoom, req.maxZoom
	}
	st, err := w.Finish(ctx, archive.Metadata{
		Name:         "wangge " + strings.Join(req.layers, ","),
		Description:  tj.Description,
		Attribution:  tj.Attribution,
		MinZoom:      req.minZoom,
		MaxZoom:      req.maxZoom,
		Bounds:       bound,
		Center:       orb.Point{tj.Center[0], tj.Center[1]},
		CenterZoom:   min(max(int(tj.Center[2]), req.minZoom), req.maxZoom),
		VectorLayers: tj.VectorLayers,
	})
	if err != nil {
		return te, err
	}
	te.bound, te.stats = bound, st
	took := time.Since(start)
	distinct := ""
	if req.format == "pmtiles" {
		distinct = fmt.Sprintf(", %d distinct stored", st.Contents)
	}
	fmt.Fprintf(stdout, "exported to %s: %d tiles with features of the %d in the extent%s; layers %s, zoom %d–%d; %d bytes; %s (%.0f tiles/s)\n",
		out, st.Tiles, total, distinct, strings.Join(req.layers, ","), req.minZoom, req.maxZoom, st.Bytes,
		took.Round(time.Millisecond), float64(total)/took.Seconds())
	return te, nil
}

// tileExport is what exportTiles wrote, for a caller that builds on the
// archive (the static site): its extent, the risk rules its grids were
// coloured by, the store's version it shows, and its size.
type tileExport struct {
	bound   orb.Bound
	risk    *data.RiskRules
	version int64
	stats   archive.Stats
}

// renderTiles draws every tile of the request in archive order, on as many
// goroutines as there are processors, and hands each non-empty tile,
// gzip-compressed, to emit in that order with the number of tiles done.
// At most a few tiles per worker are in flight.
func renderTiles(ctx context.Context, svc *live.Service, req tileRequest, bound orb.Bound, emit func(maptile.Tile, []byte, int64) error) error {
	// On return the workers are stopped and waited for: the caller closes
	// the store they draw from.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		t   maptile.Tile
		gz  []byte
		err error
	}
	workers := max(runtime.GOMAXPROCS(0), 1)
	// Each tile gets a slot; slots go to the writer in tile order.
	order := make(chan chan result, 2*workers)
	jobs := make(chan struct {
		t   maptile.Tile
		out chan result
	}, workers)
	wg.Go(func() {
		defer close(order)
		defer close(jobs)
		archive.Each(bound, req.minZoom, req.maxZoom, func(t maptile.Tile) error {
			slot := make(chan result, 1)
			select {
			case order <- slot:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case jobs <- struct {
				t   maptile.Tile
				out chan result
			}{t, slot}:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		})
	})
	for range workers {
		wg.Go(func() {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
			for j := range jobs {
				enc, err := svc.Tile(ctx, req.layers, j.t)
				r := result{t: j.t, err: err}
				switch {
				case err != nil || len(enc.Raw) == 0:
				case enc.Gzip != nil:
					// The server's own gzip of the tile (BestSpeed).
					r.gz = enc.Gzip
				default:
					buf.Reset()
					zw.Reset(&buf)
					zw.Write(enc.Raw)
					zw.Close()
					r.gz = bytes.Clone(buf.Bytes())
				}
				j.out <- r
			}
		})
	}
	var done int64
	for slot := range order {
		var r result
		select {
		case r = <-slot:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		done++
		if err := emit(r.t, r.gz, done); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
