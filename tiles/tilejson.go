package tiles

import (
	"math"
	"strings"

	"github.com/paulmach/orb"
)

// Attribution is shown by maps drawing wangge's tiles: the demo and test
// data come from OpenStreetMap.
const Attribution = `© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap contributors</a>`

// ServedMaxZoom is the maxzoom TileJSON announces: clients scale the
// zoom-20 tiles beyond it, which loses nothing (geometry below that is
// unsimplified), while the server still answers up to MaxZoom.
const ServedMaxZoom = 20

// VectorLayer describes a layer in TileJSON's vector_layers.
type VectorLayer struct {
	ID          string            `json:"id"`
	Description string            `json:"description"`
	MinZoom     int               `json:"minzoom"`
	MaxZoom     int               `json:"maxzoom"`
	Fields      map[string]string `json:"fields"`
}

// vectorLayers documents every layer and every attribute it can carry.
var vectorLayers = map[string]VectorLayer{
	LayerAreas: {ID: LayerAreas, Description: "Administrative areas: streets/townships (level 1), communities/villages (level 2)",
		Fields: map[string]string{"code": "String", "name": "String", "name_en": "String", "level": "Number", "parent_code": "String"}},
	LayerGrids: {ID: LayerGrids, Description: "Management grids of the published plan; risk is the grid's risk level code (red, orange, yellow, blue by default: the risk rules in use, GET /v1/stats)",
		Fields: map[string]string{"code": "String", "name": "String", "parent_code": "String", "households": "Number",
			"deviation_pct": "Number", "area_km2": "Number", "worker": "String", "risk": "String"}},
	LayerHazards: {ID: LayerHazards, Description: "Hazards: points from zoom 14; below, clusters (count, open = not done nor rejected, max_severity, category = most common, ties to the least code)",
		Fields: map[string]string{"id": "String", "category": "String", "severity": "Number", "status": "String", "reported_at": "String",
			"count": "Number", "open": "Number", "max_severity": "Number"}},
	LayerCameras: {ID: LayerCameras, Description: "Cameras: points from zoom 14 and coverage sectors (polygons) from zoom 15; below, clusters (count, online)",
		Fields: map[string]string{"id": "String", "azimuth": "Number", "fov": "Number", "range_m": "Number", "status": "String",
			"count": "Number", "online": "Number"}},
	LayerStreets: {ID: LayerStreets, MinZoom: 8, Description: "Streets, rivers and railways (kind road, water or rail; class, the OpenStreetMap highway, waterway or railway class): motorways from zoom 8, primary roads, rivers and railways from 10, secondary 11, tertiary 12, residential streets and streams 14, the rest 15",
		Fields: map[string]string{"kind": "String", "class": "String", "name": "String"}},
	LayerUnits: {ID: LayerUnits, MinZoom: UnitMinZoom, Description: "Units (实有单位: schools, offices, factories) a grid must cover whole, as polygons or points, from zoom 12; for planners",
		Fields: map[string]string{"id": "String", "kind": "String", "name": "String"}},
	LayerHotspots: {ID: LayerHotspots, Description: "Getis-Ord Gi* hot (bin > 0) and cold (bin < 0) spots of all hazards over H3 cells, FDR-corrected; cells from zoom 12, dissolved per bin below",
		Fields: map[string]string{"cell": "String", "count": "Number", "z": "Number", "p": "Number", "p_fdr": "Number", "bin": "Number", "cells": "Number"}},
}

// TileJSON is a TileJSON 3.0.0 document.
type TileJSON struct {
	TileJSON     string        `json:"tilejson"`
	Name         string        `json:"name"`
	Description  string        `json:"description"`
	Version      string        `json:"version"`
	Attribution  string        `json:"attribution"`
	Scheme       string        `json:"scheme"`
	Tiles        []string      `json:"tiles"`
	MinZoom      int           `json:"minzoom"`
	MaxZoom      int           `json:"maxzoom"`
	Bounds       [4]float64    `json:"bounds"`
	Center       [3]float64    `json:"center"`
	VectorLayers []VectorLayer `json:"vector_layers"`
}

// NewTileJSON describes the tiles of layers served under baseURL (no
// trailing slash). bounds is the data's extent; without one the world.
func NewTileJSON(baseURL string, layers []string, bounds orb.Bound, ok bool) TileJSON {
	tj := TileJSON{
		TileJSON:    "3.0.0",
		Name:        "wangge " + strings.Join(layers, ","),
		Description: "wangge grids, areas, streets, units, hazards, cameras and hotspots as Mapbox Vector Tiles",
		Version:     "1.0.0",
		Attribution: Attribution,
		Scheme:      "xyz",
		Tiles:       []string{baseURL + "/tiles/" + strings.Join(layers, ",") + "/{z}/{x}/{y}.mvt"},
		MaxZoom:     ServedMaxZoom,
		Bounds:      [4]float64{-180, -maxLat, 180, maxLat},
	}
	if ok {
		tj.Bounds = [4]float64{bounds.Min[0], bounds.Min[1], bounds.Max[0], bounds.Max[1]}
		tj.Center = [3]float64{round6(bounds.Center()[0]), round6(bounds.Center()[1]), float64(fitZoom(bounds))}
	}
	for _, l := range layers {
		vl := vectorLayers[l]
		vl.MaxZoom = ServedMaxZoom
		tj.VectorLayers = append(tj.VectorLayers, vl)
	}
	return tj
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// fitZoom is the deepest zoom at which bound fits in a 1024-pixel view.
func fitZoom(b orb.Bound) int {
	lo, hi := project(orb.Point{b.Min[0], b.Max[1]}), project(orb.Point{b.Max[0], b.Min[1]})
	span := math.Max(hi[0]-lo[0], hi[1]-lo[1])
	if span <= 0 {
		return 14
	}
	z := int(math.Floor(math.Log2(4 / span))) // 4 tiles of 256 px
	return max(0, min(z, 16))
}
