// The page's base-map choice (web/src/basemap.js): the address wins and is
// kept, a kept choice goes back into the address, the base map and its CRS
// are read from the server's style, and positions and paths follow the CRS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { basemapFromStyle, chooseBasemap, featureToMap, fromMap, inCRS, toMap, withBasemap } from "../src/basemap.js";

/** localStorage's interface over a Map. */
const memory = () => {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), m };
};

test("choice: the address wins and is kept; a kept one goes back into the address", () => {
  const s = memory();
  assert.deepEqual(chooseBasemap("http://h/", s), { choice: { name: "", tk: "" }, unknown: "", address: null });
  const a = chooseBasemap("http://h/?basemap=amap&tk=ignored", s);
  assert.deepEqual(a, { choice: { name: "amap", tk: "" }, unknown: "", address: null });
  // Kept: a later visit without it is sent to the address that names it.
  assert.equal(chooseBasemap("http://h/?lang=en", s).address, "http://h/?lang=en&basemap=amap");
  const td = chooseBasemap("http://h/?basemap=tianditu&tk=0123456789abcdef", s);
  assert.deepEqual(td.choice, { name: "tianditu", tk: "0123456789abcdef" });
  assert.equal(chooseBasemap("http://h/", s).address, "http://h/?basemap=tianditu&tk=0123456789abcdef");
  // none in the address wins over a kept one, and is kept itself.
  assert.deepEqual(chooseBasemap("http://h/?basemap=none", s).choice, { name: "", tk: "" });
  assert.equal(chooseBasemap("http://h/", s).address, null);
  // A name the page does not know: none, and said.
  assert.equal(chooseBasemap("http://h/?basemap=google", s).unknown, "google");
  // No storage (refused): the address alone.
  assert.deepEqual(chooseBasemap("http://h/?basemap=amap", null).choice, { name: "amap", tk: "" });
  assert.equal(chooseBasemap("http://h/", null).address, null);
});

test("withBasemap: none is named, so that it wins over a kept choice; tk only with Tianditu", () => {
  assert.equal(withBasemap("http://h/?tk=x&basemap=tianditu", { name: "", tk: "" }), "http://h/?basemap=none");
  assert.equal(withBasemap("http://h/?lang=zh-CN", { name: "tianditu", tk: "abcdefgh12" }), "http://h/?lang=zh-CN&basemap=tianditu&tk=abcdefgh12");
  assert.equal(withBasemap("http://h/?tk=abcdefgh12", { name: "amap", tk: "abcdefgh12" }), "http://h/?basemap=amap");
});

test("basemapFromStyle: the style's raster sources and layers, and the CRS of its vector source", () => {
  const style = {
    sources: {
      wangge: { type: "vector", url: "http://h/tiles/areas,grids.json?crs=gcj02" },
      "basemap-amap-0": { type: "raster", tiles: ["https://webrd01.is.autonavi.com/x"], tileSize: 256 },
    },
    layers: [{ id: "background", type: "background" }, { id: "basemap-amap-0", type: "raster", source: "basemap-amap-0" }, { id: "grids-fill", source: "wangge" }],
  };
  const b = basemapFromStyle(style);
  assert.equal(b.crs, "gcj02");
  assert.deepEqual(b.sources.map(([id]) => id), ["basemap-amap-0"]);
  assert.deepEqual(b.layers.map((l) => l.id), ["basemap-amap-0"]);
  style.sources.wangge.url = "http://h/tiles/areas,grids.json";
  assert.equal(basemapFromStyle(style).crs, "wgs84");
  style.sources.wangge.url = "pmtiles://http://h/a.pmtiles";
  assert.equal(basemapFromStyle(style).crs, "wgs84");
});

test("the map's CRS: paths, positions and features", () => {
  assert.equal(inCRS("collections/hazards/items", "wgs84"), "collections/hazards/items");
  assert.equal(inCRS("collections/hazards/items", "gcj02"), "collections/hazards/items?crs=gcj02");
  assert.equal(inCRS("collections/areas/items?limit=10000", "gcj02"), "collections/areas/items?limit=10000&crs=gcj02");
  // coordtransform's wgs84togcj02(116.404, 39.915), as spatial/crs_test.go has it.
  const g = toMap([116.404, 39.915], "gcj02");
  assert.ok(Math.abs(g[0] - 116.41024449916938) < 1e-9 && Math.abs(g[1] - 39.91640428150164) < 1e-9, `${g}`);
  const w = fromMap(g, "gcj02");
  assert.ok(Math.abs(w[0] - 116.404) < 1e-8 && Math.abs(w[1] - 39.915) < 1e-8, `${w}`);
  assert.deepEqual(toMap([116.404, 39.915], "wgs84"), [116.404, 39.915]);
  const f = { type: "Feature", id: 3, properties: { a: 1 }, geometry: { type: "Polygon", coordinates: [[[116.404, 39.915], [116.405, 39.915], [116.404, 39.916], [116.404, 39.915]]] } };
  const fc = featureToMap({ type: "FeatureCollection", features: [f] }, "gcj02");
  assert.deepEqual(fc.features[0].geometry.coordinates[0][0], g);
  assert.deepEqual(f.geometry.coordinates[0][0], [116.404, 39.915], "the original is left alone");
  assert.equal(featureToMap(f, "wgs84"), f);
  assert.equal(featureToMap({ type: "Feature", geometry: null }, "gcj02").geometry, null);
});
