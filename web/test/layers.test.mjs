// Unit tests of the page's geometry and style helpers (node --test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { bbox, circle, gridFillColour, sector } from "../src/layers.js";

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
