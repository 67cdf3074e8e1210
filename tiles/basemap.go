package tiles

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/wangge/wangge/spatial"
)

// Base maps of the Chinese map services a style can draw under wangge's
// layers. Dashboards in China draw over these: Tianditu (天地图, the
// state's map service, CGCS2000, which wangge treats as WGS 84) and AMap
// (高德, GCJ-02). Over AMap the style draws wangge's tiles in GCJ-02
// (crs=gcj02 on the TileJSON and its tiles), so that they line up; over
// Tianditu it draws them as they are.

// BaseMap is a raster base map: one or more tile layers, drawn bottom up.
type BaseMap struct {
	Name        string
	Layers      [][]string // each layer's tile URL templates (hosts to spread the load)
	CRS         string     // "wgs84" or "gcj02": the CRS wangge's tiles must be drawn in over it
	Attribution string
	MaxZoom     int
}

var tiandituKey = regexp.MustCompile(`^[0-9A-Za-z]{8,64}$`)

// BaseMapPreset returns the base map called name: "amap", or "tianditu"
// with the user's key (Tianditu serves no tile without one; a key is
// obtained from console.tianditu.gov.cn).
func BaseMapPreset(name, key string) (*BaseMap, error) {
	switch name {
	case "amap":
		var hosts []string
		for i := 1; i <= 4; i++ {
			hosts = append(hosts, fmt.Sprintf("https://webrd0%d.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}", i))
		}
		return &BaseMap{Name: name, Layers: [][]string{hosts}, CRS: "gcj02", Attribution: "© 高德地图 AutoNavi", MaxZoom: 18}, nil
	case "tianditu":
		if !tiandituKey.MatchString(key) {
			return nil, fmt.Errorf("the tianditu base map needs the user's Tianditu key (tk): 8–64 letters and digits")
		}
		layer := func(name string) []string {
			var hosts []string
			for i := range 8 {
				hosts = append(hosts, fmt.Sprintf("https://t%d.tianditu.gov.cn/%s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=%s&STYLE=default"+
					"&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=%s", i, name, name, url.QueryEscape(key)))
			}
			return hosts
		}
		// vec: the streets; cva: their Chinese annotation, drawn over them.
		return &BaseMap{Name: name, Layers: [][]string{layer("vec"), layer("cva")}, CRS: "wgs84", Attribution: "© 天地图 Tianditu", MaxZoom: 18}, nil
	}
	return nil, fmt.Errorf("unknown base map %q (amap or tianditu)", name)
}

// crs is the CRS wangge's positions are drawn in over b: GCJ-02 over
// AMap, else WGS 84.
func (b *BaseMap) crs() spatial.CRS {
	if b.CRS == "gcj02" {
		return spatial.GCJ02
	}
	return spatial.WGS84
}

// BaseMapNames lists the presets.
func BaseMapNames() []string { return []string{"amap", "tianditu"} }

// Origins returns the scheme and host of every tile URL, for a page's
// content security policy.
func (b *BaseMap) Origins() []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range b.Layers {
		for _, u := range l {
			if p, err := url.Parse(strings.NewReplacer("{x}", "0", "{y}", "0", "{z}", "0").Replace(u)); err == nil {
				if o := p.Scheme + "://" + p.Host; !seen[o] {
					seen[o] = true
					out = append(out, o)
				}
			}
		}
	}
	return out
}

// withBaseMap puts b's layers into a style, right above its background.
func withBaseMap(style map[string]any, b *BaseMap) {
	sources := style["sources"].(map[string]any)
	layers := style["layers"].([]any)
	var add []any
	for i, tiles := range b.Layers {
		id := fmt.Sprintf("basemap-%s-%d", b.Name, i)
		sources[id] = map[string]any{"type": "raster", "tiles": tiles, "tileSize": 256, "maxzoom": b.MaxZoom, "attribution": b.Attribution}
		add = append(add, map[string]any{"id": id, "type": "raster", "source": id})
	}
	out := append([]any{layers[0]}, add...)
	style["layers"] = append(out, layers[1:]...)
}
