package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/spatial"
	"github.com/wangge/wangge/tiles"
)

// tileCacheControl lets browsers and CDNs keep tiles but makes them ask
// again each time (a 304 when nothing changed), so that a changed hazard
// shows on the next request.
const tileCacheControl = "public, no-cache"

func (s *Server) tileRoutes() []route {
	layersParam := pathParam("layers", "one layer or a comma list of "+strings.Join(tiles.LayerNames(), ", "))
	return []route{
		{method: "GET", path: "/tiles/{layers}/{z}/{x}/{y}.mvt", role: data.RoleViewer, id: "getTile", tag: "Tiles",
			summary:   "Mapbox Vector Tile (spec 2.1, extent 4096) of one or more layers; 204 when the tile is empty",
			params:    []param{layersParam, pathParam("z", "zoom, 0–24"), pathParam("x", "column, 0 to 2^z−1"), pathParam("y", "row, 0 to 2^z−1"), tileCRSParam},
			responses: withProblems(map[int]string{200: "vector tile", 204: "no feature in this tile", 304: "not modified (If-None-Match)"}),
			produces:  "application/vnd.mapbox-vector-tile", handler: s.tile},
		{method: "GET", path: "/tiles/{layers}.json", role: data.RoleViewer, id: "getTileJSON", tag: "Tiles",
			summary:   "TileJSON 3.0.0 of one or more layers with vector_layers and their fields",
			params:    []param{layersParam, tileCRSParam},
			responses: withProblems(map[int]string{200: "TileJSON"}), produces: "application/json", handler: s.tileJSON},
		{method: "GET", path: "/style.json", role: public, id: "getStyle", tag: "Tiles",
			summary: "MapLibre GL style drawing every tile layer and its labels; glyphs from /fonts, no base map or sprites needed. " +
				"basemap=amap draws AMap (高德, GCJ-02) under the layers, with wangge's tiles in GCJ-02 so that they line up; " +
				"basemap=tianditu&tk=KEY draws Tianditu (天地图, CGCS2000) with the user's key",
			params: []param{
				queryParam("basemap", "a base map of a Chinese map service under the layers: amap or tianditu (needs tk)",
					map[string]any{"type": "string", "enum": tiles.BaseMapNames()}),
				queryParam("tk", "the user's Tianditu key, for basemap=tianditu", str),
			},
			responses: withProblems(map[int]string{200: "MapLibre style"}), produces: "application/json", handler: s.style},
	}
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
	c, err := tileCRS(r)
	if err != nil {
		return err
	}
	enc, err := s.live.TileIn(r.Context(), layers, t, c)
	if err != nil {
		return err
	}
	cc := s.tileCacheControl()
	if slices.ContainsFunc(layers, plannersOnly) {
		// Cameras and units are for planners: no shared cache may hand
		// them on, even where anonymous reads make other tiles public.
		cc = "private, no-cache"
	}
	return writeEncoded(w, r, enc, "application/vnd.mapbox-vector-tile", cc)
}

func (s *Server) tileJSON(w http.ResponseWriter, r *http.Request) error {
	layers, err := tiles.ParseLayers(mux.Vars(r)["layers"])
	if err != nil {
		return err
	}
	if err := authorizeLayers(r, layers); err != nil {
		return err
	}
	c, err := tileCRS(r)
	if err != nil {
		return err
	}
	sc := s.live.Scene()
	b, have := sc.Bound(layers)
	tj := tiles.NewTileJSON(s.baseURL(r), layers, c.BoundFromWGS84(b), have)
	if c != spatial.WGS84 {
		for i := range tj.Tiles {
			tj.Tiles[i] += "?crs=" + c.String()
		}
	}
	w.Header().Set("Cache-Control", s.tileCacheControl())
	return writeJSON(w, http.StatusOK, "application/json", tj)
}

// tileCRSParam is the crs of the tiles: only the CRSs that Web Mercator
// base maps use. BD-09 is not one: Baidu's tiles are not Web Mercator
// tiles of BD-09 positions but its own projection and tile grid.
var tileCRSParam = queryParam("crs", "CRS of the positions the tile draws in Web Mercator: wgs84 (default; OpenStreetMap and most base maps) "+
	"or gcj02, shifted to line up with AMap and Tencent base maps", map[string]any{"type": "string", "enum": []string{"wgs84", "gcj02"}, "default": "wgs84"})

// tileCRS reads the tiles' crs parameter.
func tileCRS(r *http.Request) (spatial.CRS, error) {
	s := r.URL.Query().Get("crs")
	if s == "" {
		return spatial.WGS84, nil
	}
	if c, err := spatial.ParseCRS(s); err == nil && c != spatial.BD09 {
		return c, nil
	}
	return 0, invalid("parameter crs: tiles are drawn in wgs84 (the default) or gcj02, got %q (Baidu's BD-09 maps use their own tile grid)", s)
}

func (s *Server) style(w http.ResponseWriter, r *http.Request) error {
	var basemap *tiles.BaseMap
	q := r.URL.Query()
	if name := q.Get("basemap"); name != "" {
		var err error
		if basemap, err = tiles.BaseMapPreset(name, q.Get("tk")); err != nil {
			return invalid("parameter basemap: %v", err)
		}
	} else if q.Has("tk") {
		return invalid("parameter tk: a Tianditu key goes with basemap=tianditu")
	}
	source := s.styleSource(r)
	if basemap != nil && basemap.CRS == "gcj02" {
		if s.cfg.ArchiveURL != "" {
			return invalid("parameter basemap: %s is in GCJ-02, and this server's style draws a tile archive (--archive-url), which is in WGS 84", basemap.Name)
		}
		source += "?crs=gcj02"
	}
	sc := s.live.Scene()
	b, have := sc.Bound(tiles.LayerNames())
	w.Header().Set("Cache-Control", s.tileCacheControl())
	return writeJSON(w, http.StatusOK, "application/json", tiles.Style(s.baseURL(r), source, basemap, b, have, s.live.RiskRules()))
}

// styleSource is the style's vector source: the server's TileJSON, or the
// tile archive of serve --archive-url as pmtiles://URL (a path is on this
// server).
func (s *Server) styleSource(r *http.Request) string {
	a := s.cfg.ArchiveURL
	switch {
	case a == "":
		return tiles.TileJSONURL(s.baseURL(r))
	case strings.HasPrefix(a, "/"):
		return "pmtiles://" + s.baseURL(r) + a
	}
	return "pmtiles://" + a
}

// ValidArchiveURL checks serve --archive-url: "" (none), an absolute
// http(s) URL of a PMTiles archive, or a path on this server ("/…"),
// without characters that would break out of a URL.
func ValidArchiveURL(a string) error {
	if a == "" {
		return nil
	}
	u, err := url.Parse(a)
	bad := err != nil || strings.ContainsAny(a, " ;,'\"<>\n")
	if !bad && strings.HasPrefix(a, "/") && !strings.HasPrefix(a, "//") {
		return nil
	}
	if bad || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return data.Errorf(data.EINVALID, "archive URL %q: want an absolute http(s) URL of a .pmtiles file, or a path on this server such as /static/city.pmtiles", a)
	}
	return nil
}

// archiveOrigin is the scheme and host of an absolute archive URL; "" for
// none or a path on this server.
func archiveOrigin(a string) string {
	u, err := url.Parse(a)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// authorizeLayers checks the tile layers against the principal's role:
// camera positions and sectors, and units, are for planners, like the
// cameras and units collections. Streets are public map data.
func authorizeLayers(r *http.Request, layers []string) error {
	for _, l := range layers {
		if plannersOnly(l) {
			return authorize(r, data.RolePlanner, "read the "+l+" layer")
		}
	}
	return nil
}

// plannersOnly reports whether the tile layer l is for planners and above.
func plannersOnly(l string) bool {
	return l == tiles.LayerCameras || l == tiles.LayerUnits
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
