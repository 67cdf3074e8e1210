// "Which grid am I in", answered on the device from the grid polygons kept
// for offline use: a bounding-box test, then ray casting over every ring
// (holes count by the even-odd rule, as in the server's planar test).
import { toWgs84 } from "./crs.js";

/** Whether [x, y] is inside a ring (closed or not) by ray casting. */
export function inRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Whether [x, y] is inside a GeoJSON Polygon or MultiPolygon geometry. */
export function inGeometry(p, g) {
  if (!g) return false;
  const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
  for (const rings of polys) {
    if (!rings.length || !inRing(p, rings[0])) continue;
    let hole = false;
    for (let k = 1; k < rings.length && !hole; k++) hole = inRing(p, rings[k]);
    if (!hole) return true;
  }
  return false;
}

/** The [minx, miny, maxx, maxy] of a geometry's outer rings. */
function bounds(g) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
  for (const rings of polys) {
    for (const [x, y] of rings[0] || []) {
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (x > b[2]) b[2] = x;
      if (y > b[3]) b[3] = y;
    }
  }
  return b;
}

/**
 * An index of grid features for repeated lookups: each feature with its
 * bounding box. locate(lon, lat, crs) answers {point (WGS 84), grid (the
 * feature or null)}.
 */
export class GridIndex {
  constructor(features) {
    this.items = (features || []).filter((f) => f && f.geometry).map((f) => ({ f, b: bounds(f.geometry) }));
  }

  get size() {
    return this.items.length;
  }

  /** Each grid's box. */
  boxes() {
    return this.items.map((i) => i.b);
  }

  /** The box around every grid, or null when there are none. */
  bbox() {
    if (!this.items.length) return null;
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    for (const { b: c } of this.items) {
      b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
      b[2] = Math.max(b[2], c[2]); b[3] = Math.max(b[3], c[3]);
    }
    return b;
  }

  locate(lon, lat, crs = "wgs84") {
    const p = toWgs84([lon, lat], crs);
    for (const { f, b } of this.items) {
      if (p[0] < b[0] || p[0] > b[2] || p[1] < b[1] || p[1] > b[3]) continue;
      if (inGeometry(p, f.geometry)) return { point: p, grid: f };
    }
    return { point: p, grid: null };
  }
}

/**
 * The XYZ tiles covering any of boxes ([minx, miny, maxx, maxy] each: one
 * per grid, so the gaps between a worker's scattered grids cost nothing)
 * at zooms minz..maxz, lowest zoom first, at most max of them; complete is
 * false when the bound cut the list.
 */
export function tilesFor(boxes, minz, maxz, max = 2000) {
  if (boxes.length && typeof boxes[0] === "number") boxes = [boxes];
  const out = [];
  const lon2x = (lon, z) => Math.floor(((lon + 180) / 360) * 2 ** z);
  const lat2y = (lat, z) => {
    const r = (Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI) / 180;
    return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z);
  };
  for (let z = minz; z <= maxz; z++) {
    const n = 2 ** z, seen = new Set();
    for (const b of boxes) {
      const x0 = Math.max(0, lon2x(b[0], z)), x1 = Math.min(n - 1, lon2x(b[2], z));
      const y0 = Math.max(0, lat2y(b[3], z)), y1 = Math.min(n - 1, lat2y(b[1], z));
      for (let x = x0; x <= x1; x++) {
        for (let y = y0; y <= y1; y++) {
          if (seen.has(x * n + y)) continue;
          if (out.length >= max) return { tiles: out, complete: false };
          seen.add(x * n + y);
          out.push([z, x, y]);
        }
      }
    }
  }
  return { tiles: out, complete: true };
}
