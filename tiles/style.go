package tiles

import (
	"strings"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/data"
)

// TileJSONURL is the URL of the TileJSON of every layer served under
// baseURL, the style's usual source.
func TileJSONURL(baseURL string) string {
	return baseURL + "/tiles/" + strings.Join(LayerNames(), ",") + ".json"
}

// Style returns a MapLibre GL style (spec version 8) that draws every
// layer of wangge's tiles served under baseURL from the vector source at
// sourceURL: the
// server's TileJSON (TileJSONURL), or pmtiles://URL of a tile archive
// written by wangge export, which MapLibre reads with the PMTiles
// protocol. It needs no base map and no sprites, and its label glyphs
// come from the same server (GlyphsPath: Latin ranges; CJK is drawn by
// the client's own fonts, MapLibre's localIdeographFontFamily), so it
// works without the internet; counts and severities are drawn as circle
// sizes; basemap, when not nil, is drawn under them (the caller points
// sourceURL at tiles in the base map's CRS). Grids
// are filled by their risk level in the colours of risk (the levels in
// use), falling back to the deviation from the target where a grid has no
// level yet; a nil risk leaves the deviation alone.
func Style(baseURL, sourceURL string, basemap *BaseMap, bounds orb.Bound, ok bool, risk *data.RiskRules) map[string]any {
	src := "wangge"
	center, zoom := []float64{0, 0}, 1.0
	if ok {
		c := bounds.Center()
		if basemap != nil {
			// Over AMap the map is drawn in GCJ-02, so its centre is too:
			// a client that frames the style's centre sees the data there.
			c = basemap.crs().FromWGS84(c)
		}
		center, zoom = []float64{round6(c[0]), round6(c[1])}, float64(fitZoom(bounds))
	}
	layer := func(id, typ, sourceLayer string, filter any, paint map[string]any) map[string]any {
		l := map[string]any{"id": id, "type": typ, "source": src, "source-layer": sourceLayer, "paint": paint}
		if filter != nil {
			l["filter"] = filter
		}
		return l
	}
	isPolygon := []any{"==", []any{"geometry-type"}, "Polygon"}
	isCluster := []any{"has", "count"}
	isPoint := []any{"all", []any{"==", []any{"geometry-type"}, "Point"}, []any{"!", []any{"has", "count"}}}
	clusterRadius := []any{"interpolate", []any{"linear"}, []any{"sqrt", []any{"get", "count"}}, 1, 3, 10, 12, 40, 28}
	layers := []any{
		map[string]any{"id": "background", "type": "background", "paint": map[string]any{"background-color": "#f4f1ea"}},
		layer("areas-fill", "fill", LayerAreas, []any{"==", []any{"get", "level"}, 1}, map[string]any{
			"fill-color": "#e9e4d6", "fill-opacity": 0.8}),
		layer("grids-fill", "fill", LayerGrids, nil, map[string]any{"fill-color": gridFill(risk), "fill-opacity": 0.45}),
		layer("grids-line", "line", LayerGrids, nil, map[string]any{
			"line-color": "#3b3b3b", "line-opacity": 0.8,
			"line-width": []any{"interpolate", []any{"linear"}, []any{"zoom"}, 10, 0.3, 14, 1, 18, 2}}),
		layer("areas-line", "line", LayerAreas, nil, map[string]any{
			"line-color":     "#7a3e9d",
			"line-width":     []any{"match", []any{"get", "level"}, 1, 2.5, 1.2},
			"line-dasharray": []any{3, 1}}),
		layer("hotspots-fill", "fill", LayerHotspots, nil, map[string]any{
			// ArcGIS's hot spot colours: blue cold, red hot.
			"fill-color": []any{"match", []any{"get", "bin"},
				-3, "#4575b4", -2, "#91bfdb", -1, "#e0f3f8", 1, "#fee090", 2, "#fc8d59", 3, "#d73027", "#ffffff"},
			"fill-opacity": 0.65}),
		layer("camera-sectors", "fill", LayerCameras, isPolygon, map[string]any{
			"fill-color":   []any{"match", []any{"get", "status"}, "online", "#1a9850", "offline", "#777777", "#fdae61"},
			"fill-opacity": 0.25, "fill-outline-color": "#1a9850"}),
		layer("camera-clusters", "circle", LayerCameras, isCluster, map[string]any{
			"circle-color": "#1a9850", "circle-opacity": 0.7, "circle-radius": clusterRadius,
			"circle-stroke-color": "#ffffff", "circle-stroke-width": 1}),
		layer("cameras", "circle", LayerCameras, isPoint, map[string]any{
			"circle-color":  []any{"match", []any{"get", "status"}, "online", "#1a9850", "offline", "#777777", "#fdae61"},
			"circle-radius": 4, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1}),
		layer("hazard-clusters", "circle", LayerHazards, isCluster, map[string]any{
			"circle-color":   []any{"interpolate", []any{"linear"}, []any{"get", "max_severity"}, 1, "#fdd49e", 2, "#fc8d59", 3, "#b30000"},
			"circle-opacity": 0.75, "circle-radius": clusterRadius,
			"circle-stroke-color": "#ffffff", "circle-stroke-width": 1}),
		layer("hazards", "circle", LayerHazards, isPoint, map[string]any{
			"circle-color": []any{"match", []any{"get", "category"},
				"fire", "#d7301f", "traffic", "#ff7f00", "building", "#8c510a", "electrical", "#6a3d9a", "water", "#1f78b4", "#666666"},
			"circle-radius": []any{"interpolate", []any{"linear"}, []any{"get", "severity"}, 1, 3, 3, 6},
			// Black rings the events still waiting for handling.
			"circle-stroke-color": []any{"match", []any{"get", "status"}, closedStatuses(), "#ffffff", "#000000"},
			"circle-stroke-width": 1}),
	}
	layers = append(layers, labelLayers(src)...)
	style := map[string]any{
		"version": 8,
		"name":    "wangge",
		"metadata": map[string]any{
			"wangge:layers": strings.Join(LayerNames(), ","),
		},
		"glyphs": baseURL + GlyphsPath,
		"center": center,
		"zoom":   zoom,
		"sources": map[string]any{
			src: map[string]any{"type": "vector", "url": sourceURL, "attribution": Attribution},
		},
		"layers": layers,
	}
	if basemap != nil {
		withBaseMap(style, basemap)
	}
	return style
}

// GlyphsPath is where the server answers glyph ranges, a MapLibre glyphs
// URL under the base URL.
const GlyphsPath = "/fonts/{fontstack}/{range}.pbf"

// LabelFont is the labels' fontstack, whose Latin glyphs the server
// builds from DejaVu Sans (cmd/glyphs).
const LabelFont = "DejaVu Sans"

// Label zooms, as the page has them (web/src/layers.js, labelZooms). A grid
// is ~0.1–1 km², ~300–1,000 m across; at z14 a pixel is ~7 m at 40° N, so
// a 0.5 km² grid is ~100 px wide, room for a 15-digit code at 11 px;
// smaller grids get theirs at z15 as collision lets them in. Streets
// (several km²) from z11, communities (1–3 km²) from z13, workers from z16.
const (
	labelZoomStreet    = 11
	labelZoomCommunity = 13
	labelZoomGrid      = 14
	labelZoomWorker    = 16
)

// labelLayers are the grids' labels (name, code and, from
// labelZoomWorker, the worker) and the areas' names. Labels never overlap:
// MapLibre's collision drops those that would.
func labelLayers(src string) []any {
	code := []any{"to-string", []any{"get", "code"}}
	name := []any{"coalesce", []any{"get", "name"}, ""}
	base := []any{"case", []any{"==", name, ""}, code, []any{"concat", name, "\n", code}}
	worker := []any{"coalesce", []any{"get", "worker"}, ""}
	gridText := []any{"step", []any{"zoom"}, base, labelZoomWorker,
		[]any{"case", []any{"==", worker, ""}, base, []any{"concat", base, "\n", worker}}}
	font := []any{LabelFont}
	return []any{
		map[string]any{"id": "grids-label", "type": "symbol", "source": src, "source-layer": LayerGrids, "minzoom": labelZoomGrid,
			"layout": map[string]any{"text-field": gridText, "text-font": font, "text-size": 11, "text-max-width": 12, "text-padding": 4},
			"paint":  map[string]any{"text-color": "#303030", "text-halo-color": "#ffffff", "text-halo-width": 1.5}},
		map[string]any{"id": "areas-label", "type": "symbol", "source": src, "source-layer": LayerAreas, "minzoom": labelZoomStreet,
			"filter": []any{"any", []any{"==", []any{"get", "level"}, 1}, []any{">=", []any{"zoom"}, labelZoomCommunity}},
			"layout": map[string]any{"text-field": []any{"coalesce", []any{"get", "name"}, []any{"get", "code"}}, "text-font": font,
				"text-max-width": 10, "text-padding": 6, "text-size": []any{"match", []any{"get", "level"}, 1, 15, 13},
				"symbol-sort-key": []any{"get", "level"}},
			"paint": map[string]any{"text-color": "#5a2d78", "text-halo-color": "#ffffff", "text-halo-width": 1.5}},
	}
}

// closedStatuses lists the states that are not open (data.Status.Open):
// done or rejected.
// gridFill is the grids' fill colour: by risk level (红橙黄蓝 or as
// configured) when there are levels, else by the deviation from the target
// (blue under it, white on it, red over it).
func gridFill(risk *data.RiskRules) any {
	deviation := []any{"interpolate", []any{"linear"}, []any{"coalesce", []any{"get", "deviation_pct"}, 0},
		-30, "#4575b4", -10, "#abd9e9", 0, "#ffffff", 10, "#fdae61", 30, "#d73027"}
	if risk == nil || len(risk.Levels) == 0 {
		return deviation
	}
	m := []any{"match", []any{"coalesce", []any{"get", "risk"}, ""}}
	for _, l := range risk.Levels {
		m = append(m, l.Code, l.Color)
	}
	return append(m, deviation)
}

func closedStatuses() []any {
	var out []any
	for _, st := range data.Statuses() {
		if !st.Open() {
			out = append(out, string(st))
		}
	}
	return out
}
