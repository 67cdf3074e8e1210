// The field page's on-device locate (web/src/offline/locate.js): how long
// "which grid am I in" takes from the kept grid polygons, in node (V8, the
// engine of Chrome on Android). The grids come from a running wangge: one
// area's grids (what a worker keeps) and every grid of the published plan.
//
//   node bench/fieldlocate.mjs http://127.0.0.1:8080 [KEY] [PARENT_CODE]
import { GridIndex } from "../web/src/offline/locate.js";
import { toWgs84, wgs84ToGcj02 } from "../web/src/offline/crs.js";

const [base = "http://127.0.0.1:8080", key = "", parent = "LI-11"] = process.argv.slice(2);
const headers = key ? { Authorization: `Bearer ${key}` } : {};

async function grids(query) {
  const out = [];
  let next = `${base}/collections/grids/items?limit=10000${query}`;
  while (next) {
    const res = await fetch(next, { headers });
    if (!res.ok) throw new Error(`${next}: HTTP ${res.status}`);
    const page = await res.json();
    out.push(...page.features);
    next = (page.links || []).find((l) => l.rel === "next")?.href;
  }
  return out;
}

function run(name, features, n = 200_000) {
  const idx = new GridIndex(features);
  const [x0, y0, x1, y1] = idx.bbox();
  const vertices = features.reduce((s, f) => s + JSON.stringify(f.geometry.coordinates).split("],[").length, 0);
  // Random points over the grids' box, fixed seed (a small LCG).
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pts = Array.from({ length: n }, () => [x0 + rnd() * (x1 - x0), y0 + rnd() * (y1 - y0)]);
  for (let i = 0; i < 20_000; i++) idx.locate(pts[i][0], pts[i][1]); // warm up
  let hits = 0;
  let t0 = process.hrtime.bigint();
  for (const [x, y] of pts) if (idx.locate(x, y).grid) hits++;
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${name}: ${features.length} grids, ${vertices} vertices: ${(ns / 1000).toFixed(2)} µs per locate (${n} random points in the grids' box, ${hits} in a grid)`);
  return ns;
}

/** The GCJ-02 → WGS 84 conversion alone (the iteration), on points in Beijing: what GCJ-02 input adds. */
function gcj(n = 200_000) {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pts = Array.from({ length: n }, () => wgs84ToGcj02([116.2 + rnd() * 0.3, 39.8 + rnd() * 0.2]));
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += toWgs84(pts[i], "gcj02")[0];
  const t0 = process.hrtime.bigint();
  for (const p of pts) sink += toWgs84(p, "gcj02")[0];
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`GCJ-02 → WGS 84 (iterated to 1e-10°): ${(ns / 1000).toFixed(2)} µs per point (${n} points; ${sink > 0 ? "ok" : ""})`);
}

/** The device's answer against the server's /v1/locate for random points (only those in a kept grid or outside every grid can agree). */
async function agree(features, n = 300) {
  const idx = new GridIndex(features);
  const [x0, y0, x1, y1] = idx.bbox();
  let seed = 99, same = 0;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < n; i++) {
    const x = x0 + rnd() * (x1 - x0), y = y0 + rnd() * (y1 - y0);
    const res = await (await fetch(`${base}/v1/locate?lon=${x}&lat=${y}`, { headers })).json();
    const mine = idx.locate(x, y).grid;
    if ((mine ? mine.properties.code : "") === (res.grid ? res.grid.code : "")) same++;
    else console.log(`disagree at ${x}, ${y}: device ${mine ? mine.properties.code : "none"}, server ${res.grid ? res.grid.code : "none"} (${res.distance_to_boundary_m} m from the edge)`);
  }
  console.log(`device and server agree on ${same} of ${n} random points over every grid`);
}

run(`area ${parent}`, await grids(`&parent_code=${encodeURIComponent(parent)}`));
const all = await grids("");
run("every grid", all);
gcj();
await agree(all);
