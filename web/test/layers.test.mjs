// Unit tests of the page's geometry and style helpers (node --test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { expression } from "@maplibre/maplibre-gl-style-spec";
import { bbox, circle, classBreaks, classOf, figureColour, gridFillColour, noRiskColour, riskColour, riskLevels, sector } from "../src/layers.js";

const R = 6371008.8;
const dist = ([x1, y1], [x2, y2]) => {
  const r = Math.PI / 180, a = Math.sin(((y2 - y1) * r) / 2) ** 2 + Math.cos(y1 * r) * Math.cos(y2 * r) * Math.sin(((x2 - x1) * r) / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(a));
};

test("sector: apex at the camera, arc at range, facing the azimuth", () => {
  const cam = { geometry: { coordinates: [9.52, 47.14] }, properties: { azimuth: 90, fov: 60, range_m: 100, status: "online" } };
  const ring = sector(cam).geometry.coordinates[0];
  assert.deepEqual(ring[0], [9.52, 47.14]);
  assert.deepEqual(ring.at(-1), ring[0]);
  for (const p of ring.slice(1, -1)) assert.ok(Math.abs(dist(ring[0], p) - 100) < 0.01);
  const mid = ring[1 + Math.floor((ring.length - 2) / 2)];
  assert.ok(mid[0] > 9.52 && Math.abs(mid[1] - 47.14) < 1e-5, "an east-facing camera's arc is east");
  assert.equal(sector({ ...cam, properties: { ...cam.properties, range_m: 0 } }), null);
});

test("sector: a 360° camera is a circle without the apex", () => {
  const ring = sector({ geometry: { coordinates: [0, 0] }, properties: { azimuth: 0, fov: 360, range_m: 50 } }).geometry.coordinates[0];
  for (const p of ring) assert.ok(Math.abs(dist([0, 0], p) - 50) < 0.01);
});

test("circle and bbox", () => {
  const c = circle([116.39, 39.9], 300);
  const [w, s, e, n] = bbox({ features: [c] });
  assert.ok(Math.abs(dist([116.39, 39.9], [116.39, n]) - 300) < 0.5);
  assert.ok(Math.abs(dist([116.39, 39.9], [e, 39.9]) - 300) < 0.5);
  assert.ok(w < 116.39 && s < 39.9);
  assert.equal(bbox({ features: [] }), null);
});

test("grid colour: grey without households, a ramp on the deviation", () => {
  const expr = gridFillColour(300);
  assert.equal(expr[0], "case");
  assert.equal(expr[2], "#dcdcdc");
  assert.equal(expr[3][0], "interpolate");
});

/** Evaluates a colour expression for a feature's properties, as MapLibre would. */
function colourOf(expr, properties) {
  const e = expression.createExpression(expr, { type: "color", "property-type": "data-driven", expression: { interpolated: false, parameters: ["zoom", "feature"] } });
  assert.equal(e.result, "success", JSON.stringify(e.value));
  const c = e.value.evaluate({ zoom: 12 }, { type: "Polygon", properties });
  return `#${[c.r, c.g, c.b].map((v) => Math.round((v / (c.a || 1)) * 255).toString(16).padStart(2, "0")).join("")}`;
}

test("risk colour: one colour per level, grey without one", () => {
  const expr = riskColour();
  const cases = [
    { name: "red", props: { risk: "red" }, want: "#d7191c" },
    { name: "orange", props: { risk: "orange" }, want: "#fd8d3c" },
    { name: "yellow", props: { risk: "yellow" }, want: "#fecc5c" },
    { name: "blue", props: { risk: "blue" }, want: "#2c7bb6" },
    { name: "no risk attribute", props: {}, want: noRiskColour },
    { name: "empty", props: { risk: "" }, want: noRiskColour },
    { name: "unknown level", props: { risk: "purple" }, want: noRiskColour },
  ];
  for (const c of cases) assert.equal(colourOf(expr, c.props), c.want, c.name);
  assert.equal(new Set(riskLevels.map(([, c]) => c)).size, riskLevels.length);
});

test("risk colour: the server's configured levels", () => {
  const expr = riskColour([{ code: "high", color: "#ff0000" }, { code: "low", color: "#0000ff" }]);
  assert.equal(colourOf(expr, { risk: "high" }), "#ff0000");
  assert.equal(colourOf(expr, { risk: "low" }), "#0000ff");
  assert.equal(colourOf(expr, { risk: "red" }), noRiskColour);
});

test("figure colour: classes of about equal counts, grey without a figure", () => {
  const breaks = classBreaks([0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, null, NaN]);
  // Twelve numbers in five classes: the zeros fill the first fifth and
  // more, so the classes are {0, 0, 0, 1}, {2, 3, 4}, {5, 6}, {7, 8, 9}.
  assert.deepEqual(breaks, [2, 5, 7]);
  assert.equal(classOf(0, breaks), 0);
  assert.equal(classOf(3, breaks), 1);
  assert.equal(classOf(7, breaks), 3);
  assert.equal(classOf(9, breaks), 3);
  assert.deepEqual(classBreaks([2, 2, 2]), [], "one value: one class");
  assert.deepEqual(classBreaks([]), []);
  const expr = figureColour(new Map([["A", 0], ["B", 9], ["C", null]]), breaks, ["#000001", "#000002", "#000003", "#000004", "#000005"]);
  assert.equal(colourOf(expr, { code: "A" }), "#000001");
  assert.equal(colourOf(expr, { code: "B" }), "#000004");
  assert.equal(colourOf(expr, { code: "C" }), noRiskColour);
  assert.equal(colourOf(expr, { code: "D" }), noRiskColour);
  assert.equal(figureColour(new Map(), []), noRiskColour);
});

test("labelPoints: one point per feature from its tile pieces, inside it", async () => {
  const { labelPoints, labelLayers, labelZooms } = await import("../src/layers.js");
  const sq = (w, s, e, n) => [[[w, s], [e, s], [e, n], [w, n], [w, s]]];
  // One grid cut by a tile edge at x = 1 into two pieces, another an L whose centroid is outside it.
  const pieces = [
    { properties: { code: "A", name: "幸福社区" }, geometry: { type: "Polygon", coordinates: sq(0, 0, 1, 1) } },
    { properties: { code: "A", name: "幸福社区" }, geometry: { type: "Polygon", coordinates: sq(1, 0, 2, 1) } },
    { properties: { code: "L" }, geometry: { type: "Polygon", coordinates: [[[3, 0], [6, 0], [6, 0.5], [3.5, 0.5], [3.5, 3], [3, 3], [3, 0]]] } },
    { properties: { code: "M" }, geometry: { type: "MultiPolygon", coordinates: [sq(10, 0, 10.1, 0.1), sq(20, 0, 22, 2)] } },
    { properties: {}, geometry: { type: "Polygon", coordinates: sq(0, 0, 1, 1) } },
  ];
  const fc = labelPoints(pieces);
  const by = Object.fromEntries(fc.features.map((f) => [f.properties.code, f.geometry.coordinates]));
  assert.deepEqual(Object.keys(by).sort(), ["A", "L", "M"]);
  assert.deepEqual(by.A.map((v) => Math.round(v * 1000) / 1000), [1, 0.5]);
  assert.equal(fc.features.find((f) => f.properties.code === "A").properties.name, "幸福社区");
  const [lx, ly] = by.L;
  assert.ok((lx >= 3 && lx <= 6 && ly >= 0 && ly <= 0.5) || (lx >= 3 && lx <= 3.5 && ly >= 0 && ly <= 3), `L's point ${by.L} is outside it`);
  assert.ok(by.M[0] >= 20 && by.M[0] <= 22, "a multipolygon's point is in its largest part when the centroid is outside");
  // Labels never overlap one another: no allow-overlap, no ignore-placement.
  for (const l of labelLayers("zh-CN")) {
    assert.equal(l.type, "symbol");
    for (const k of ["text-allow-overlap", "text-ignore-placement", "icon-allow-overlap"]) assert.equal(l.layout[k], undefined, `${l.id} ${k}`);
  }
  assert.ok(labelZooms.street < labelZooms.community && labelZooms.community < labelZooms.grid && labelZooms.grid < labelZooms.worker);
});

test("label text: grid name and code, the worker from z16; area names by language", async () => {
  const { gridLabelText, areaLabelText, labelZooms } = await import("../src/layers.js");
  const ev = (expr, props, zoom) => {
    const e = expression.createExpression(expr, { type: "string", "property-type": "data-driven", expression: { interpolated: false, parameters: ["zoom", "feature"] } });
    assert.equal(e.result, "success", JSON.stringify(e.value));
    return e.value.evaluate({ zoom }, { properties: props });
  };
  assert.equal(ev(gridLabelText(), { code: "110105001001001" }, 14), "110105001001001");
  assert.equal(ev(gridLabelText(), { code: "110105001001001", name: "一网格", worker: "王芳" }, 15), "一网格\n110105001001001");
  assert.equal(ev(gridLabelText(), { code: "110105001001001", name: "一网格", worker: "王芳" }, labelZooms.worker), "一网格\n110105001001001\n王芳");
  assert.equal(ev(areaLabelText("zh-CN"), { name: "幸福社区", name_en: "Xingfu" }, 14), "幸福社区");
  assert.equal(ev(areaLabelText("en"), { name: "幸福社区", name_en: "Xingfu" }, 14), "Xingfu");
  assert.equal(ev(areaLabelText("en"), { name: "幸福社区" }, 14), "幸福社区");
});
