package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestStyleBaseMaps: /style.json over AMap draws wangge's tiles in GCJ-02
// (its TileJSON and tiles carry crs=gcj02) above AMap's raster tiles; over
// Tianditu it draws them as they are, with the user's key in Tianditu's
// URLs; a base map it does not know, or Tianditu without a key, is a 400.
func TestStyleBaseMaps(t *testing.T) {
	type style struct {
		Sources map[string]struct {
			Type  string
			URL   string
			Tiles []string
		}
		Layers []struct{ ID, Type, Source string }
	}
	read := func(path string) style {
		t.Helper()
		res, body := get(t, path)
		var st style
		if res.StatusCode != http.StatusOK || json.Unmarshal(body, &st) != nil {
			t.Fatalf("%s: %d %s", path, res.StatusCode, body)
		}
		return st
	}
	amap := read("/style.json?basemap=amap")
	src := amap.Sources["wangge"]
	if !strings.HasSuffix(src.URL, "?crs=gcj02") {
		t.Errorf("over AMap the vector source is %q, want the TileJSON in GCJ-02", src.URL)
	}
	_, body := get(t, strings.TrimPrefix(src.URL, server.URL))
	var tj tileJSONDoc
	if err := json.Unmarshal(body, &tj); err != nil || len(tj.Tiles) != 1 || !strings.HasSuffix(tj.Tiles[0], ".mvt?crs=gcj02") {
		t.Errorf("GCJ-02 TileJSON %s", body)
	}
	raster := amap.Sources["basemap-amap-0"]
	if raster.Type != "raster" || len(raster.Tiles) != 4 || !strings.Contains(raster.Tiles[0], "autonavi.com") {
		t.Errorf("AMap source %+v", raster)
	}
	if amap.Layers[0].Type != "background" || amap.Layers[1].Source != "basemap-amap-0" {
		t.Errorf("AMap is not drawn first, under every layer: %+v", amap.Layers[:2])
	}

	tdt := read("/style.json?basemap=tianditu&tk=0123456789abcdef0123456789abcdef")
	if src := tdt.Sources["wangge"].URL; strings.Contains(src, "crs=") {
		t.Errorf("over Tianditu (CGCS2000) the vector source is %q, want it as it is", src)
	}
	vec, cva := tdt.Sources["basemap-tianditu-0"], tdt.Sources["basemap-tianditu-1"]
	if len(vec.Tiles) != 8 || !strings.Contains(vec.Tiles[0], "LAYER=vec") || !strings.Contains(vec.Tiles[0], "tk=0123456789abcdef") ||
		!strings.Contains(cva.Tiles[0], "LAYER=cva") {
		t.Errorf("Tianditu sources %+v %+v", vec, cva)
	}

	for _, bad := range []string{"/style.json?basemap=google", "/style.json?basemap=tianditu", "/style.json?tk=abcdefgh12"} {
		if res, body := get(t, bad); res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "parameter") {
			t.Errorf("%s: %d %s, want 400 naming the parameter", bad, res.StatusCode, body)
		}
	}
}
