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
// layer of wangge's tiles from the vector source at sourceURL: the
// server's TileJSON (TileJSONURL), or pmtiles://URL of a tile archive
// written by wangge export, which MapLibre reads with the PMTiles
// protocol. It needs no base map, no
// fonts and no sprites, so it works without the internet: labels would
// need glyphs, so counts and severities are drawn as circle sizes. Grids
// are filled by their risk level in the colours of risk (the levels in
// use), falling back to the deviation from the target where a grid has no
// level yet; a nil risk leaves the deviation alone.
func Style(sourceURL string, bounds orb.Bound, ok bool, risk *data.RiskRules) map[string]any {
	src := "wangge"
	center, zoom := []float64{0, 0}, 1.0
	if ok {
		c := bounds.Center()
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
	return map[string]any{
		"version": 8,
		"name":    "wangge",
		"metadata": map[string]any{
			"wangge:layers": strings.Join(LayerNames(), ","),
		},
		"center": center,
		"zoom":   zoom,
		"sources": map[string]any{
			src: map[string]any{"type": "vector", "url": sourceURL, "attribution": Attribution},
		},
		"layers": layers,
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
