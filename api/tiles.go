package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/tiles"
)

// tileCacheControl lets browsers and CDNs keep tiles but makes them ask
// again each time (a 304 when nothing changed), so that a changed hazard
// shows on the next request.
const tileCacheControl = "public, no-cache"

func (s *Server) tileRoutes() []route {
	layersParam := pathParam("layers", "one layer or a comma list of "+strings.Join(tiles.LayerNames, ", "))
	// Hotspots share the tiles' scene; their routes come with the tiles'.
	return append(s.hotspotRoutes(), []route{
		{method: "GET", path: "/tiles/{layers}/{z}/{x}/{y}.mvt", id: "getTile", tag: "Tiles",
			summary:   "Mapbox Vector Tile (spec 2.1, extent 4096) of one or more layers; 204 when the tile is empty",
			params:    []param{layersParam, pathParam("z", "zoom, 0–24"), pathParam("x", "column, 0 to 2^z−1"), pathParam("y", "row, 0 to 2^z−1")},
			responses: withProblems(map[int]string{200: "vector tile", 204: "no feature in this tile", 304: "not modified (If-None-Match)"}),
			produces:  "application/vnd.mapbox-vector-tile", handler: s.tile},
		{method: "GET", path: "/tiles/{layers}.json", id: "getTileJSON", tag: "Tiles",
			summary:   "TileJSON 3.0.0 of one or more layers with vector_layers and their fields",
			params:    []param{layersParam},
			responses: withProblems(map[int]string{200: "TileJSON"}), produces: "application/json", handler: s.tileJSON},
		{method: "GET", path: "/style.json", id: "getStyle", tag: "Tiles",
			summary:   "MapLibre GL style drawing every tile layer; no base map, fonts or sprites needed",
			responses: map[int]string{200: "MapLibre style"}, produces: "application/json", handler: s.style},
	}...)
}

func (s *Server) tile(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	layers, err := tiles.ParseLayers(vars["layers"])
	if err != nil {
		return err
	}
	if err := authorizeLayers(r, layers); err != nil {
		return err
	}
	t, err := tiles.ParseTile(vars["z"], vars["x"], vars["y"])
	if err != nil {
		return err
	}
	if err := noQuery(r); err != nil {
		return err
	}
	enc, err := s.live.Tile(r.Context(), layers, t)
	if err != nil {
		return err
	}
	cc := s.tileCacheControl()
	if slices.Contains(layers, tiles.LayerCameras) {
		// Cameras are for planners: no shared cache may hand them on,
		// even where anonymous reads make other tiles public.
		cc = "private, no-cache"
	}
	return writeEncoded(w, r, enc, "application/vnd.mapbox-vector-tile", cc)
}

// noQuery rejects query parameters on routes that take none, so that a
// misspelt filter is not silently ignored.
func noQuery(r *http.Request) error {
	for k := range r.URL.Query() {
		return invalid("unknown query parameter %q: this route takes none", k)
	}
	return nil
}

// writeEncoded sends a cached body: gzip when the client accepts it, a
// strong ETag per representation, 304 when If-None-Match has it, 204 for
// an empty tile.
func writeEncoded(w http.ResponseWriter, r *http.Request, e *tiles.Encoded, contentType, cacheControl string) error {
	body, etag := e.Raw, e.ETag
	gz := e.Gzip != nil && acceptsGzip(r.Header.Get("Accept-Encoding"))
	if gz {
		body, etag = e.Gzip, e.GzipETag
	}
	h := w.Header()
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", etag)
	h.Add("Vary", "Accept-Encoding")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if len(e.Raw) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	h.Set("Content-Type", contentType)
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(body)
	return err
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(ae string) bool {
	for part := range strings.SplitSeq(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		if v, ok := strings.CutPrefix(q, "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// etagMatch compares If-None-Match with the weak comparison RFC 9110 asks
// for: W/ prefixes do not matter, "*" matches anything.
func etagMatch(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		t := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// dataBounds is the extent of what the named layers draw.
func (s *Server) dataBounds(sc *tiles.Scene, layers []string) (orb.Bound, bool) {
	var b orb.Bound
	have := false
	add := func(x orb.Bound, ok bool) {
		if !ok {
			return
		}
		if !have {
			b, have = x, true
			return
		}
		b = b.Union(x)
	}
	for _, l := range layers {
		switch l {
		case tiles.LayerGrids:
			add(sc.Grids.Bound())
		case tiles.LayerAreas:
			add(sc.Areas.Bound())
		case tiles.LayerHazards, tiles.LayerHotspots:
			add(sc.Hazards.Bound())
		case tiles.LayerCameras:
			add(sc.Cameras.Bound())
		}
	}
	return b, have
}

func (s *Server) tileJSON(w http.ResponseWriter, r *http.Request) error {
	layers, err := tiles.ParseLayers(mux.Vars(r)["layers"])
	if err != nil {
		return err
	}
	if err := authorizeLayers(r, layers); err != nil {
		return err
	}
	if err := noQuery(r); err != nil {
		return err
	}
	sc := s.live.Scene()
	b, have := s.dataBounds(sc, layers)
	w.Header().Set("Cache-Control", s.tileCacheControl())
	return writeJSON(w, http.StatusOK, "application/json", tiles.NewTileJSON(s.baseURL(r), layers, b, have))
}

func (s *Server) style(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	sc := s.live.Scene()
	b, have := s.dataBounds(sc, tiles.LayerNames)
	w.Header().Set("Cache-Control", s.tileCacheControl())
	return writeJSON(w, http.StatusOK, "application/json", tiles.Style(s.baseURL(r), b, have))
}

// authorizeLayers checks the tile layers against the principal's role:
// camera positions and sectors are for planners, like the cameras
// collection.
func authorizeLayers(r *http.Request, layers []string) error {
	for _, l := range layers {
		if l == string(data.LayerCameras) {
			return authorize(r, data.RolePlanner, "read the cameras layer")
		}
	}
	return nil
}

// tileCacheControl is public when anonymous reads are open; otherwise a
// shared cache (a CDN, a proxy) must not hand one key's tiles to another
// client, so responses are private.
func (s *Server) tileCacheControl() string {
	if s.cfg.Anonymous == "" {
		return "private, no-cache"
	}
	return tileCacheControl
}
