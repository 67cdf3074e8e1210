// The map page over a Chinese base map, in a real browser: the synthetic
// Chinese fixture (test/fixtures/zh, a street in Beijing, where GCJ-02 is
// ~550 m off WGS 84) imported with the real CLI and served; AMap's and
// Tianditu's tile hosts answered by Playwright routes with a generated PNG
// (there is no internet here). Over AMap the page must work in GCJ-02:
// wangge's tiles and GeoJSON asked for in it, a click at a point's GCJ-02
// position naming the grid GET /v1/locate names for the WGS 84 point, and
// the grid drawn there being that grid. Over Tianditu the tiles carry the
// user's key and wangge's stay WGS 84. The choice is kept on the device and
// made by the header's switch. Fails on any console error, failed request
// or Content-Security-Policy violation.
//
//   make browsertest
//   WANGGE_BIN=… CHROMIUM=… node --test basemap.test.mjs
//
// Without Chromium or the binary the test skips with the reason, except
// under CI (CI set), where that is a failure.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, deflateSync } from "node:zlib";
import { wgs84ToGcj02 } from "../../web/src/offline/crs.js";
import { bin, launchBrowser, outDir, root, serveOn, skip } from "./harness.mjs";



const tk = "0123456789abcdef0123456789abcdef";
let proc = null, base = "", dir = "", key = "", browser = null;

/** A w×h PNG of one colour: what the routes answer for a base-map tile. */
function png(w, h, [r, g, b]) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4), crc = Buffer.alloc(4), td = Buffer.concat([Buffer.from(type, "latin1"), data]);
    len.writeUInt32BE(data.length);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB
  const row = Buffer.alloc(1 + 3 * w);
  for (let x = 0; x < w; x++) row.set([r, g, b], 1 + 3 * x);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

before(async () => {
  if (skip) return;
  mkdirSync(outDir, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), "wangge-basemap-"));
  const db = join(dir, "zh.gpkg"), fx = join(root, "test", "fixtures", "zh");
  for (const args of [["import", "areas", join(fx, "areas.geojson")], ["import", "households", join(fx, "households.geojson")],
    ["import", "workers", join(fx, "workers.csv")], ["gridgen", "--target", "300", "--publish"], ["keys", "create", "--role", "planner"]]) {
    const r = spawnSync(bin, [...args, "--db", db], { encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, `wangge ${args.join(" ")}: ${r.stderr}`);
    if (args[0] === "keys") key = r.stdout.trim().split("\n").pop().trim();
  }
  ({ proc, base } = await serveOn(["serve", "--db", db, "--addr", "127.0.0.1:0"]));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (proc && proc.exitCode === null) {
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const getJSON = async (path) => {
  const res = await fetch(base + path, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  return res.json();
};

/**
 * A context whose pages carry the key, record every request, and get a
 * PNG from the base maps' tile hosts (Access-Control-Allow-Origin, as the
 * real hosts send: MapLibre fetches tiles with CORS).
 */
async function open(locale = "zh-CN") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale });
  await context.addInitScript((k) => {
    sessionStorage.setItem("wangge.key", k);
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective}: ${e.blockedURI || "inline"}`));
  }, key);
  const tiles = { amap: [], tianditu: [] };
  const body = png(256, 256, [200, 230, 201]);
  const answer = (list) => (route) => {
    list.push(route.request().url());
    return route.fulfill({ status: 200, contentType: "image/png", body, headers: { "Access-Control-Allow-Origin": "*" } });
  };
  await context.route(/^https:\/\/webrd0\d\.is\.autonavi\.com\//, answer(tiles.amap));
  await context.route(/^https:\/\/t\d\.tianditu\.gov\.cn\//, answer(tiles.tianditu));
  const page = await context.newPage();
  const requests = [], problems = [];
  page.on("request", (r) => r.url().startsWith(base) && requests.push(r.url()));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()} ${m.location()?.url || ""}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => !(r.failure()?.errorText || "").includes("ERR_ABORTED") && problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  return { context, page, tiles, requests, problems };
}

/** Waits for the page to start and its map to draw what it loaded (bounded). */
async function ready(page) {
  await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
  await idle(page);
}

const idle = (page, ms = 20_000) => page.evaluate((ms) => new Promise((ok, fail) => {
  const m = window.wangge.map;
  if (m.loaded() && m.areTilesLoaded()) return ok();
  const timer = setTimeout(() => fail(new Error(`the map did not become idle within ${ms} ms (tiles loaded: ${m.areTilesLoaded()})`)), ms);
  m.once("idle", () => (clearTimeout(timer), ok()));
  m.triggerRepaint();
}), ms);

/**
 * A WGS 84 point well inside a grid (30 m or more from its edges) whose
 * GCJ-02 position, read as WGS 84, is in another grid: a page that drew or
 * located in the wrong CRS would name the other one.
 */
async function telling() {
  for (let lon = 116.452; lon < 116.478; lon += 0.002) {
    for (let lat = 39.912; lat < 39.928; lat += 0.002) {
      const p = [Number(lon.toFixed(4)), Number(lat.toFixed(4))];
      const loc = await getJSON(`/v1/locate?lon=${p[0]}&lat=${p[1]}`);
      if (!loc.grid || loc.distance_to_boundary_m < 30) continue;
      const g = wgs84ToGcj02(p);
      const raw = await getJSON(`/v1/locate?lon=${g[0]}&lat=${g[1]}`);
      if (raw.grid && raw.grid.code !== loc.grid.code) return { p, g, code: loc.grid.code, wrong: raw.grid.code };
    }
  }
  throw new Error("no point in the fixture tells GCJ-02 from WGS 84");
}

test("AMap: the page works in GCJ-02; a click locates what /v1/locate locates for the WGS 84 point", { skip, timeout: 150_000 }, async (t) => {
  const { context, page, tiles, requests, problems } = await open();
  try {
    const res = await page.goto(`${base}/?basemap=amap`, { waitUntil: "load" });
    const csp = res.headers()["content-security-policy"] || "";
    assert.match(csp, /connect-src 'self' https:\/\/webrd01\.is\.autonavi\.com/, "the page's CSP lets AMap's tiles through");
    assert.doesNotMatch(csp, /tianditu/, "and nothing else");
    await ready(page);
    assert.equal(await page.evaluate(() => window.wangge.crs), "gcj02");
    assert.equal(await page.inputValue("#basemap"), "amap");

    await t.test("AMap's tiles drawn, wangge's tiles and GeoJSON asked for in GCJ-02", async () => {
      assert.ok(tiles.amap.length > 0, "no AMap tile was asked for");
      const mvt = requests.filter((u) => /\/tiles\/[^?]*\.mvt/.test(u));
      assert.ok(mvt.length > 0, "no vector tile asked for");
      assert.deepEqual(mvt.filter((u) => new URL(u).searchParams.get("crs") !== "gcj02"), [], "vector tiles asked for without crs=gcj02");
      for (const c of ["areas", "hazards"]) {
        const reads = requests.filter((u) => u.includes(`/collections/${c}/items`));
        assert.ok(reads.length > 0 && reads.every((u) => new URL(u).searchParams.get("crs") === "gcj02"), `${c} read without crs=gcj02: ${reads}`);
      }
      assert.ok(requests.some((u) => /\/tiles\/areas,grids\.json\?crs=gcj02$/.test(u)), "the TileJSON was not asked for in GCJ-02");
    });

    await t.test("a click at a point's GCJ-02 position names the grid of the WGS 84 point, and that grid is drawn there", async () => {
      const { p, g, code, wrong } = await telling();
      await page.click("#tab-field");
      await page.evaluate((c) => window.wangge.map.jumpTo({ center: c, zoom: 16 }), g);
      await idle(page);
      const px = await page.evaluate((c) => {
        const m = window.wangge.map, xy = m.project(c), r = m.getCanvas().getBoundingClientRect();
        return { x: r.left + xy.x, y: r.top + xy.y, drawn: m.queryRenderedFeatures(xy, { layers: ["grids-fill"] }).map((f) => String(f.properties.code)) };
      }, g);
      assert.deepEqual(px.drawn, [code], `the grid drawn at ${g} (GCJ-02 of ${p}) is ${px.drawn}, want ${code} (not ${wrong})`);
      await page.mouse.click(px.x, px.y);
      await page.waitForSelector("#field-grid", { timeout: 15_000 });
      assert.equal(await page.getAttribute("#field-grid", "data-code"), code, `clicked the GCJ-02 position of ${p}`);
      assert.equal(await page.getAttribute("#field-point", "data-crs"), "gcj02", "the click was sent as GCJ-02");
      assert.ok(requests.some((u) => u.includes("/v1/locate?") && u.includes("crs=gcj02")));
      // The page's mark is where the map shows the point (GCJ-02), not at its WGS 84 numbers.
      const mark = await page.evaluate(() => window.wangge.map.querySourceFeatures("pick").find((f) => f.geometry.type === "Point")?.geometry.coordinates);
      assert.ok(mark && Math.abs(mark[0] - g[0]) < 2e-5 && Math.abs(mark[1] - g[1]) < 2e-5, `mark at ${mark}, want ${g}`);
      await idle(page);
      await page.screenshot({ path: join(outDir, "basemap-amap.png") });
    });

    await t.test("the choice is kept: the page's bare address opens over AMap", async () => {
      await page.goto(`${base}/`, { waitUntil: "load" });
      await page.waitForURL(/basemap=amap/, { timeout: 15_000 });
      await ready(page);
      assert.equal(await page.evaluate(() => window.wangge.crs), "gcj02");
    });

    assert.deepEqual(problems, []);
    assert.deepEqual(await page.evaluate(() => window.__csp), [], "Content-Security-Policy violations");
  } finally {
    await context.close();
  }
});

test("Tianditu: chosen with the switch and a key; its tiles carry the key, wangge's stay WGS 84", { skip, timeout: 120_000 }, async (t) => {
  const { context, page, tiles, requests, problems } = await open("en-US");
  try {
    await page.goto(`${base}/`, { waitUntil: "load" });
    await ready(page);
    assert.equal(await page.evaluate(() => window.wangge.crs), "wgs84");
    assert.equal(tiles.amap.length + tiles.tianditu.length, 0, "a base map was asked for without one chosen");

    await t.test("the switch asks for the key and opens the page over Tianditu", async () => {
      await page.selectOption("#basemap", "tianditu");
      await page.waitForSelector("#tk-dialog[open]");
      await page.fill("#tk-form input[name=tk]", tk);
      await Promise.all([page.waitForURL(/basemap=tianditu/, { timeout: 15_000 }), page.click("#tk-form button[value=save]")]);
      await ready(page);
      assert.equal(new URL(page.url()).searchParams.get("tk"), tk);
      assert.equal(await page.evaluate(() => window.wangge.crs), "wgs84");
    });

    await t.test("Tianditu's streets and names with the key; wangge's tiles as they are", async () => {
      assert.ok(tiles.tianditu.some((u) => u.includes("LAYER=vec")) && tiles.tianditu.some((u) => u.includes("LAYER=cva")), "Tianditu's vec and cva layers not both asked for");
      assert.deepEqual(tiles.tianditu.filter((u) => new URL(u).searchParams.get("tk") !== tk), [], "a Tianditu tile without the key");
      const mvt = requests.filter((u) => /\/tiles\/[^?]*\.mvt/.test(u));
      assert.ok(mvt.length > 0);
      assert.deepEqual(mvt.filter((u) => u.includes("crs=")), [], "over Tianditu wangge's tiles are WGS 84");
      const attribution = await page.textContent(".maplibregl-ctrl-attrib");
      assert.match(attribution, /天地图/);
      await page.screenshot({ path: join(outDir, "basemap-tianditu.png") });
      // The layer switch hides both of Tianditu's layers (streets, names).
      const shown = () => page.evaluate(() => ["basemap", "basemap-1"].map((id) => window.wangge.map.getLayoutProperty(id, "visibility") ?? "visible"));
      await page.uncheck("#layer-toggles input[data-layer=basemap]");
      assert.deepEqual(await shown(), ["none", "none"]);
      await page.check("#layer-toggles input[data-layer=basemap]");
      assert.deepEqual(await shown(), ["visible", "visible"]);
    });

    await t.test("an address naming Tianditu without a key asks for it", async () => {
      const before = tiles.tianditu.length;
      await page.goto(`${base}/?basemap=tianditu`, { waitUntil: "load" });
      await page.waitForSelector("#tk-dialog[open]", { timeout: 30_000 });
      assert.equal(tiles.tianditu.length, before, "Tianditu asked for without a key");
      await page.fill("#tk-form input[name=tk]", tk);
      await Promise.all([page.waitForURL(/tk=/, { timeout: 15_000 }), page.click("#tk-form button[value=save]")]);
      await ready(page);
      assert.ok(tiles.tianditu.length > before);
    });

    await t.test("none again, and kept", async () => {
      await Promise.all([page.waitForURL(/basemap=none/, { timeout: 15_000 }), page.selectOption("#basemap", "")]);
      await ready(page);
      const before = tiles.tianditu.length;
      await page.goto(`${base}/`, { waitUntil: "load" });
      await ready(page);
      assert.equal(page.url(), `${base}/`, "no base map put back into the address");
      assert.equal(tiles.tianditu.length, before, "Tianditu asked for after none was chosen");
    });

    assert.deepEqual(problems, []);
    assert.deepEqual(await page.evaluate(() => window.__csp), [], "Content-Security-Policy violations");
  } finally {
    await context.close();
  }
});
