// The field page's offline pieces: the GCJ-02 port (against the pairs
// spatial/crs_test.go checks the server's Go with), point in polygon, the
// tiles kept for a box, and the queue of writes made without signal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { bd09ToGcj02, gcj02ToBd09, gcj02ToWgs84, toWgs84, wgs84ToGcj02 } from "../src/offline/crs.js";
import { GridIndex, inGeometry, tilesFor } from "../src/offline/locate.js";
import { MemoryStore, Queue } from "../src/offline/queue.js";

const near = (got, want, tol, what) => {
  const d = Math.max(Math.abs(got[0] - want[0]), Math.abs(got[1] - want[1]));
  assert.ok(d <= tol, `${what}: got ${got}, want ${want} (off by ${d}, tolerance ${tol})`);
};

test("GCJ-02 and BD-09: the reference pairs of spatial/crs_test.go", () => {
  const conv = {
    "wgs84>gcj02": wgs84ToGcj02, "gcj02>wgs84": gcj02ToWgs84, "gcj02>bd09": gcj02ToBd09, "bd09>gcj02": bd09ToGcj02,
    "bd09>wgs84": (p) => toWgs84(p, "bd09"),
  };
  const pairs = [
    ["eviltransform shanghai wgs→gcj", "wgs84>gcj02", [121.5272106, 31.1774276], [121.531541859215, 31.17530398364597], 1e-9],
    ["eviltransform shenzhen wgs→gcj", "wgs84>gcj02", [113.912316, 22.543847], [113.9171764808363, 22.540796131694766], 1e-9],
    ["eviltransform beijing wgs→gcj", "wgs84>gcj02", [116.377817, 39.911954], [116.38404722455657, 39.91334545536069], 1e-9],
    ["eviltransform shanghai gcj→wgs", "gcj02>wgs84", [121.531541859215, 31.17530398364597], [121.5272106, 31.1774276], 1e-7],
    ["eviltransform shenzhen gcj→wgs", "gcj02>wgs84", [113.9171764808363, 22.540796131694766], [113.912316, 22.543847], 1e-7],
    ["eviltransform beijing gcj→wgs", "gcj02>wgs84", [116.38404722455657, 39.91334545536069], [116.377817, 39.911954], 1e-7],
    ["coordtransform wgs→gcj", "wgs84>gcj02", [116.404, 39.915], [116.41024449916938, 39.91640428150164], 1e-9],
    ["coordtransform gcj→bd", "gcj02>bd09", [116.404, 39.915], [116.41036949371029, 39.92133699351021], 1e-9],
    ["coordtransform bd→gcj", "bd09>gcj02", [116.404, 39.915], [116.39762729119315, 39.90865673957631], 1e-6],
    ["gcoord gcj→bd", "gcj02>bd09", [123, 45], [123.00636499, 45.00636899], 5e-6],
    ["gcoord bd→gcj", "bd09>gcj02", [123, 45], [122.99363304, 44.99365430], 5e-6],
    ["gcoord bd→wgs", "bd09>wgs84", [123, 45], [122.98762210, 44.99171540], 5e-6],
    ["gcoord gcj→wgs", "gcj02>wgs84", [123, 45], [122.99395597, 44.99804071], 5e-6],
    ["coordtransform gcj→wgs (approx)", "gcj02>wgs84", [116.404, 39.915], [116.39775550083061, 39.91359571849836], 3e-5],
    ["gcoord outside china", "gcj02>wgs84", [183, 45], [183, 45], 0],
    ["montevideo is not offset", "wgs84>gcj02", [-56.16, -34.9], [-56.16, -34.9], 0],
  ];
  for (const [name, how, from, want, tol] of pairs) near(conv[how](from), want, tol, name);
});

test("GCJ-02 inverse: round trips to 1e-7° over China (as TestGCJInverseAccuracy)", () => {
  let worst = 0;
  for (let lon = 73.0; lon < 135; lon += 1.37) {
    for (let lat = 18.0; lat < 53; lat += 0.71) {
      const back = gcj02ToWgs84(wgs84ToGcj02([lon, lat]));
      worst = Math.max(worst, Math.abs(back[0] - lon), Math.abs(back[1] - lat));
      const b = toWgs84(gcj02ToBd09(wgs84ToGcj02([lon, lat])), "bd09");
      worst = Math.max(worst, Math.abs(b[0] - lon), Math.abs(b[1] - lat));
    }
  }
  assert.ok(worst <= 1e-7, `worst round trip ${worst}°`);
  assert.throws(() => toWgs84([1, 2], "epsg3857"), /unknown crs/);
});

const square = (x0, y0, x1, y1) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];

test("point in polygon: rings, holes, multipolygons, edges of the box", () => {
  const withHole = { type: "Polygon", coordinates: [square(0, 0, 10, 10), square(4, 4, 6, 6)] };
  assert.equal(inGeometry([1, 1], withHole), true);
  assert.equal(inGeometry([5, 5], withHole), false, "in the hole");
  assert.equal(inGeometry([11, 5], withHole), false);
  const multi = { type: "MultiPolygon", coordinates: [[square(0, 0, 1, 1)], [square(2, 0, 3, 1)]] };
  assert.equal(inGeometry([2.5, 0.5], multi), true);
  assert.equal(inGeometry([1.5, 0.5], multi), false);
  // A concave one: an L.
  const ell = { type: "Polygon", coordinates: [[[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2], [0, 0]]] };
  assert.equal(inGeometry([0.5, 1.5], ell), true);
  assert.equal(inGeometry([1.5, 1.5], ell), false);
  assert.equal(inGeometry([1, 1], null), false);
});

test("the grid index answers which grid, with GCJ-02 input", () => {
  const f = (code, ring) => ({ type: "Feature", properties: { code }, geometry: { type: "Polygon", coordinates: [ring] } });
  // Two grids in Beijing, split at lon 116.40 (WGS 84).
  const idx = new GridIndex([f("W", square(116.39, 39.90, 116.40, 39.92)), f("E", square(116.40, 39.90, 116.41, 39.92))]);
  assert.equal(idx.size, 2);
  assert.deepEqual(idx.bbox(), [116.39, 39.90, 116.41, 39.92]);
  assert.equal(idx.locate(116.395, 39.91).grid.properties.code, "W");
  // The same WGS 84 point as a phone would report it in GCJ-02: about
  // 600 m east, in E if taken for WGS 84, in W once converted.
  const g = wgs84ToGcj02([116.399, 39.91]);
  assert.ok(g[0] > 116.40, `GCJ-02 shifts east: ${g}`);
  assert.equal(idx.locate(g[0], g[1]).grid.properties.code, "E");
  const ans = idx.locate(g[0], g[1], "gcj02");
  assert.equal(ans.grid.properties.code, "W");
  near(ans.point, [116.399, 39.91], 1e-9, "converted point");
  assert.equal(idx.locate(0, 0).grid, null);
  assert.equal(new GridIndex([]).bbox(), null);
});

test("tiles for a box: counts per zoom, and the bound", () => {
  const { tiles, complete } = tilesFor([9.47, 47.05, 9.64, 47.27], 12, 14);
  assert.equal(complete, true);
  // Vaduz (9.52, 47.14) at z12: x = floor(189.52/360·4096) = 2156, y = floor((1 − asinh(tan φ)/π)/2·4096) = 1438.
  assert.ok(tiles.some(([z, x, y]) => z === 12 && x === 2156 && y === 1438), "Vaduz's z12 tile");
  assert.deepEqual(tilesFor([-1, -1, 1, 1], 0, 1).tiles, [[0, 0, 0], [1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1]]);
  for (const [z, x, y] of tiles) assert.ok(z >= 12 && z <= 14 && x >= 0 && y >= 0);
  // One box per grid: two far-apart boxes need fewer tiles than the box around both, and a shared tile counts once.
  const two = tilesFor([[9.50, 47.10, 9.51, 47.11], [9.60, 47.20, 9.61, 47.21]], 15, 15).tiles.length;
  const around = tilesFor([9.50, 47.10, 9.61, 47.21], 15, 15).tiles.length;
  assert.ok(two < around / 10, `${two} tiles for two boxes, ${around} for the box around them`);
  assert.equal(tilesFor([[9.50, 47.10, 9.51, 47.11], [9.50, 47.10, 9.51, 47.11]], 15, 15).tiles.length, tilesFor([9.50, 47.10, 9.51, 47.11], 15, 15).tiles.length);
  const capped = tilesFor([9.47, 47.05, 9.64, 47.27], 12, 17, 100);
  assert.equal(capped.complete, false);
  assert.equal(capped.tiles.length, 100);
});

/** A queue whose server is scripted: answers pop from a list; calls are recorded. */
function scripted(answers) {
  const calls = [];
  let n = 0;
  const q = new Queue({
    store: new MemoryStore(),
    uuid: () => `key-${++n}`,
    send: async (item) => {
      calls.push({ key: item.key, etag: item.etag, path: item.path });
      const a = answers.shift();
      if (a instanceof Error) throw a;
      return a;
    },
  });
  return { q, calls };
}

test("queue: a retry reuses the item's Idempotency-Key; order is kept", async () => {
  const { q, calls } = scripted([new Error("offline"), { status: 503 }, { status: 201, data: { id: 7 } }, { status: 200 }]);
  const a = await q.add({ kind: "report", method: "POST", path: "collections/hazards/items", body: { n: 1 } });
  await q.add({ kind: "move", method: "PATCH", path: "collections/hazards/items/3", body: { n: 2 }, etag: '"e1"', fid: 3 });
  assert.equal(a.key, "key-1");
  let r = await q.sync(); // no answer: stops at the first, the second waits
  assert.equal(r.sent.length, 0);
  assert.equal(r.waiting, 2);
  r = await q.sync(); // 503: still waiting
  assert.equal(r.sent.length, 0);
  assert.equal((await q.list())[0].tries, 2);
  r = await q.sync();
  assert.equal(r.sent.length, 2);
  assert.deepEqual(calls.map((c) => c.key), ["key-1", "key-1", "key-1", "key-2"], "one key per item, kept across retries");
  assert.equal(calls[3].etag, '"e1"', "a move carries its ETag");
  assert.deepEqual(await q.list(), []);
});

test("queue: a 412 waits for the worker; re-apply or drop", async () => {
  const { q, calls } = scripted([{ status: 412, error: "changed" }, { status: 201 }, { status: 200 }]);
  const m = await q.add({ kind: "move", method: "PATCH", path: "collections/hazards/items/3", body: {}, etag: '"old"', fid: 3 });
  await q.add({ kind: "report", method: "POST", path: "collections/hazards/items", body: {} });
  let r = await q.sync();
  assert.equal(r.conflicts, 1);
  assert.equal(r.sent.length, 1, "the report behind it went");
  const [c] = await q.list();
  assert.equal(c.state, "conflict");
  r = await q.sync(); // nothing sent: a conflict is not retried by itself
  assert.equal(calls.length, 2);
  const again = await q.reapply(m.id, '"new"');
  assert.equal(again.etag, '"new"');
  assert.notEqual(again.key, m.key, "a re-applied move is a new request");
  r = await q.sync();
  assert.equal(r.sent.length, 1);
  assert.equal(calls[2].etag, '"new"');
  // Dropping.
  const { q: q2 } = scripted([{ status: 412 }]);
  const d = await q2.add({ kind: "move", method: "PATCH", path: "x", body: {}, etag: '"o"' });
  await q2.sync();
  await q2.drop(d.id);
  assert.deepEqual(await q2.list(), []);
});

test("queue: other refusals fail without retries; concurrent syncs share one run", async () => {
  const { q, calls } = scripted([{ status: 422, error: "key reused" }]);
  await q.add({ kind: "report", method: "POST", path: "p", body: {} });
  const [r1, r2] = await Promise.all([q.sync(), q.sync()]);
  assert.equal(r1, r2);
  assert.equal(calls.length, 1);
  const [f] = await q.list();
  assert.equal(f.state, "failed");
  assert.equal(f.error, "key reused");
  await q.sync();
  assert.equal(calls.length, 1);
});

test("queue: another key's items stay on the device, unsent", async () => {
  const store = new MemoryStore();
  const calls = [];
  const send = async (item) => (calls.push(item.key), { status: 201 });
  const a = new Queue({ store, send, owner: "k1", uuid: () => "from-k1" });
  await a.add({ kind: "report", method: "POST", path: "p", body: {} });
  const b = new Queue({ store, send, owner: "k2" });
  await b.sync();
  assert.deepEqual(calls, [], "k2 does not send k1's report");
  assert.equal((await b.list()).length, 1);
  await a.sync();
  assert.deepEqual(calls, ["from-k1"]);
});

test("nearby without signal: the kept open events within the radius, nearest first, measured as the server does", async () => {
  const { haversine, nearbyEvents, eventsToKeep } = await import("../src/offline/nearby.js");
  // One degree of latitude on orb's sphere (radius 6378137 m).
  assert.ok(Math.abs(haversine([9.5, 47], [9.5, 48]) - 111319.49) < 0.01);
  const ev = (id, lon, lat, status, at = "2026-01-01T00:00:00Z") => ({ type: "Feature", id, geometry: { type: "Point", coordinates: [lon, lat] }, properties: { id, status, reported_at: at } });
  const here = [9.5209, 47.141];
  const feats = [
    ev(1, 9.5209, 47.1420, "reported"), // ~111 m north
    ev(2, 9.5209, 47.1411, "assigned"), // ~11 m
    ev(3, 9.5209, 47.1412, "resolved"), // closed: left out
    ev(4, 9.5209, 47.1500, "reported"), // ~1 km: outside
    { type: "Feature", geometry: null, properties: { status: "reported" } },
  ];
  const fc = nearbyEvents(feats, here, 300);
  assert.deepEqual(fc.features.map((f) => f.id), [2, 1]);
  assert.ok(Math.abs(fc.features[0].properties.distance_m - 11.13) < 0.1);
  assert.deepEqual(nearbyEvents(feats, here, 300, 1).features.map((f) => f.id), [2]);
  // Kept: open first, then the latest; the cap says so.
  const kept = eventsToKeep([ev(5, 0, 0, "resolved", "2026-03-01T00:00:00Z"), ev(6, 0, 0, "reported", "2026-01-01T00:00:00Z"), ev(7, 0, 0, "reported", "2026-02-01T00:00:00Z")], 2);
  assert.deepEqual(kept.events.map((f) => f.id), [7, 6]);
  assert.equal(kept.capped, true);
  assert.equal(eventsToKeep(feats, 10).capped, false);
});
