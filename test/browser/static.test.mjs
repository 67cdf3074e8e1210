// The static dashboard in a real browser: `wangge export --format site`
// writes the map page, style.json and a PMTiles archive into a directory;
// a small static file server of this test (Node's http, with the Range
// requests PMTiles needs, nothing else) serves it with no wangge running;
// Debian's Chromium opens it (under a path, not at the host's root) and must draw the grids from the archive (the
// codes the demo's server published), show the snapshot notice, switch a
// layer off and on, answer a click on a grid from its tile, and ask no API (/v1, /collections,
// /tiles). Any console error, page error or failed request fails it. The
// screenshot goes to test/output/static-site.png.
//
//   make browsertest            (builds the page and the binary first)
//   WANGGE_BIN=… CHROMIUM=… node --test static.test.mjs
//
// Without Chromium the test skips with the reason, except under CI (CI set),
// where a missing browser is a failure.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { bin, launchBrowser, outDir, root, serveOn, skip, stop } from "./harness.mjs";



let dir, site, browser, host, gridCodes, exportLine;
/** Every request the static server answered: method, path, status. */
const served = [];

/** Runs `wangge serve --demo` until it serves, reads the published grid codes, and stops it. */
async function demoGridCodes(db) {
  const { proc, base } = await serveOn(["serve", "--demo", "--anonymous", "viewer", "--db", db, "--addr", "127.0.0.1:0"]);
  try {
    const res = await fetch(`${base}/collections/grids/items?limit=10000`);
    assert.equal(res.status, 200, "the demo's grids");
    const fc = await res.json();
    return new Set(fc.features.map((f) => String(f.properties.code)));
  } finally {
    await stop(proc);
  }
}

const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
  ".svg": "image/svg+xml", ".pbf": "application/x-protobuf", ".pmtiles": "application/octet-stream", ".webmanifest": "application/manifest+json" };

/** Where on the host the site lives: not the root, so page-relative URLs are tested. */
const prefix = "/dash/vaduz";

/**
 * A static file server of root under prefix, as a plain host or CDN would
 * be: GET and HEAD of files, index.html for a directory, single byte
 * ranges (206, 416) for PMTiles, 404 for anything else. No wangge logic at
 * all.
 */
function staticServer(root) {
  return createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const done = (status) => served.push({ method: req.method, path: url.pathname.slice(prefix.length), status });
    if (!url.pathname.startsWith(prefix + "/")) return res.writeHead(404).end(), done(404);
    let file = normalize(join(root, decodeURIComponent(url.pathname.slice(prefix.length))));
    if (!file.startsWith(root + sep) && file !== root) return res.writeHead(403).end(), done(403);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (req.method !== "GET" && req.method !== "HEAD" || !existsSync(file)) return res.writeHead(404).end(), done(404);
    const size = statSync(file).size;
    const headers = { "Content-Type": types[extname(file)] || "application/octet-stream", "Accept-Ranges": "bytes", "Cache-Control": "no-cache" };
    const range = req.headers.range && /^bytes=(\d*)-(\d*)$/.exec(req.headers.range);
    if (req.headers.range && !range) return res.writeHead(416, { "Content-Range": `bytes */${size}` }).end(), done(416);
    if (range) {
      let start = range[1] === "" ? size - Number(range[2]) : Number(range[1]);
      let end = range[1] === "" || range[2] === "" ? size - 1 : Math.min(Number(range[2]), size - 1);
      if (start < 0) start = 0;
      if (start >= size || start > end) return res.writeHead(416, { "Content-Range": `bytes */${size}` }).end(), done(416);
      res.writeHead(206, { ...headers, "Content-Range": `bytes ${start}-${end}/${size}`, "Content-Length": end - start + 1 });
      done(206);
      return req.method === "HEAD" ? res.end() : createReadStream(file, { start, end }).pipe(res);
    }
    res.writeHead(200, { ...headers, "Content-Length": size });
    done(200);
    return req.method === "HEAD" ? res.end() : createReadStream(file).pipe(res);
  });
}

before(async () => {
  if (skip) return;
  mkdirSync(outDir, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), "wangge-static-"));
  const db = join(dir, "demo.gpkg");
  gridCodes = await demoGridCodes(db);
  // wangge is stopped from here on: the site must stand alone.
  site = join(dir, "site");
  const exp = spawnSync(bin, ["export", "--format", "site", site, "--db", db, "--maxzoom", "14", "--title", "Vaduz demo"], { encoding: "utf8", timeout: 120_000 });
  assert.equal(exp.status, 0, `export --format site: ${exp.stderr}`);
  exportLine = exp.stdout.trim();
  const server = staticServer(site);
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  host = { server, base: `http://127.0.0.1:${server.address().port}` };
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  host?.server.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Collects what a page logs as an error, and every request it makes. */
function watch(page) {
  const problems = [], requests = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()} ${m.location()?.url || ""}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => requests.push(r.url()));
  page.on("requestfailed", (r) => {
    const why = r.failure()?.errorText || "";
    if (!why.includes("ERR_ABORTED")) problems.push(`request failed: ${r.url()} ${why}`);
  });
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  return { problems, requests };
}

/** Waits (bounded) for the page's ready flag and the map's idle. */
async function ready(page, what) {
  try {
    await page.waitForFunction(() => document.body.dataset.ready === "1", null, { timeout: 30_000 });
    await page.evaluate(() => new Promise((ok) => {
      const m = window.wangge.map;
      if (m.loaded() && m.areTilesLoaded()) ok();
      else m.once("idle", ok);
    }));
  } catch (e) {
    const status = await page.textContent("#status").catch(() => "?");
    const err = await page.textContent("#error-text").catch(() => "?");
    throw new Error(`${what}: the static page never got ready (status "${status}", error "${err}"): ${e.message}`);
  }
}

test("the exported site has the page, the style, the archive and the glyphs", { skip }, () => {
  const cfg = JSON.parse(readFileSync(join(site, "site.json"), "utf8"));
  assert.equal(cfg.generator, "wangge export --format site");
  assert.equal(cfg.title, "Vaduz demo");
  assert.equal(cfg.archive, "tiles.pmtiles");
  const style = JSON.parse(readFileSync(join(site, "style.json"), "utf8"));
  assert.equal(style.sources.wangge.url, "pmtiles://tiles.pmtiles");
  assert.ok(existsSync(join(site, "fonts", "DejaVu Sans", "0-255.pbf")), "Latin glyphs");
  assert.match(readFileSync(join(site, "index.html"), "utf8"), /<meta name="wangge-site" content="site.json">/);
  assert.ok(gridCodes.size > 10, `the demo has ${gridCodes.size} grids`);
  console.log(`# ${exportLine}`);
});

for (const locale of ["en-US", "zh-CN"]) {
  test(`static site (${locale}): grids drawn from the archive, a click answered from the tile, no API asked`, { skip }, async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale });
    const page = await ctx.newPage();
    const { problems, requests } = watch(page);
    served.length = 0;
    await page.goto(`${host.base}${prefix}/`);
    await ready(page, locale);

    // The snapshot says so, in the page's language, with its time.
    assert.equal(await page.getAttribute("html", "lang"), locale === "zh-CN" ? "zh-CN" : "en");
    const notice = await page.textContent("#site-notice");
    assert.match(notice, locale === "zh-CN" ? /静态快照/ : /Static snapshot of/);
    assert.match(await page.textContent("#status"), /Vaduz demo/);
    for (const sel of ["#key-button", "#refresh", "#view-dashboard", "#view-field", "#view-planner", "nav[role=tablist]", "#basemap"]) {
      assert.equal(await page.isHidden(sel), true, `${sel} is hidden in a static site`);
    }
    assert.equal(await page.evaluate(() => window.wangge.i18nMissing.size), 0, "catalogue keys missing");

    // The grids, from the archive: the codes the demo's server published.
    const drawn = await page.evaluate(() => {
      const m = window.wangge.map;
      return {
        source: m.getStyle().sources.wangge.url,
        codes: [...new Set(m.queryRenderedFeatures({ layers: ["grids-fill"] }).map((f) => String(f.properties.code)))],
      };
    });
    assert.equal(drawn.source, `pmtiles://${host.base}${prefix}/tiles.pmtiles`);
    assert.ok(drawn.codes.length > 0, "no grid drawn");
    const unknown = drawn.codes.filter((c) => !gridCodes.has(c));
    assert.deepEqual(unknown, [], "codes drawn that the server did not publish");
    assert.equal(drawn.codes.length, gridCodes.size, `${drawn.codes.length} of the ${gridCodes.size} published grids drawn at the site's extent`);

    // The layer switches: one per layer of the site (streets too: exported by default, empty in the demo); hazards off and on.
    assert.deepEqual(await page.$$eval("#site-layers input", (is) => is.map((i) => i.dataset.layer)), ["areas", "streets", "grids", "hotspots", "hazards"]);
    const hazards = () => page.evaluate(() => window.wangge.map.queryRenderedFeatures({ layers: ["hazards", "hazard-clusters"] }).length);
    assert.ok(await hazards() > 0, "no hazard drawn");
    await page.click("#site-layers input[data-layer=hazards]");
    await page.evaluate(() => new Promise((ok) => (window.wangge.map.once("idle", ok), window.wangge.map.triggerRepaint())));
    assert.equal(await hazards(), 0, "hazards still drawn when switched off");
    await page.click("#site-layers input[data-layer=hazards]");
    await page.evaluate(() => new Promise((ok) => (window.wangge.map.once("idle", ok), window.wangge.map.triggerRepaint())));
    assert.ok(await hazards() > 0, "hazards not drawn again");

    // A click on a grid: its fields from the tile.
    const pt = await page.evaluate(() => {
      const m = window.wangge.map;
      const c = m.getCanvas();
      for (let y = 40; y < c.clientHeight; y += 20) {
        for (let x = 40; x < c.clientWidth; x += 20) {
          const f = m.queryRenderedFeatures([x, y], { layers: ["grids-fill"] });
          if (f.length) return { x, y, code: String(f[0].properties.code) };
        }
      }
      return null;
    });
    assert.ok(pt, "no point of the map has a grid");
    const box = await page.locator("#map canvas").boundingBox();
    await page.mouse.click(box.x + pt.x, box.y + pt.y);
    await page.waitForFunction((code) => document.body.dataset.grid === code, pt.code, { timeout: 5_000 });
    const panel = await page.textContent("#site-grid");
    assert.ok(panel.includes(pt.code), `the grid panel names ${pt.code}: ${panel}`);
    assert.match(panel, locale === "zh-CN" ? /户数/ : /households/);
    if (locale === "en-US") await page.screenshot({ path: join(outDir, "static-site.png") });

    // Closer in, the labels, drawn with the site's Latin glyphs. The
    // style labels each tile's piece of a polygon, so where a grid's piece
    // and its street's coincide, the street's name may win the place: any
    // label counts, and the grid labels drawn must name published grids.
    await page.evaluate(() => {
      const m = window.wangge.map;
      m.jumpTo({ center: m.getCenter(), zoom: 14.5 });
    });
    await page.evaluate(() => new Promise((ok) => window.wangge.map.once("idle", ok)));
    const labels = await page.evaluate(() => {
      const m = window.wangge.map;
      const q = (id) => m.queryRenderedFeatures({ layers: [id] }).map((f) => String(f.properties.code));
      return { grids: q("grids-label"), areas: q("areas-label") };
    });
    assert.ok(labels.grids.length + labels.areas.length > 0, "no label drawn at z14.5");
    assert.deepEqual(labels.grids.filter((c) => !gridCodes.has(c)), [], "labels of grids the server did not publish");

    // Nothing but the site's own files, the archive read by ranges.
    const api = requests.filter((u) => /\/(v1|collections|tiles)\/|\/api$|style\.json\?|\/tiles\/.*\.json/.test(new URL(u).pathname));
    assert.deepEqual(api, [], "requests to an API");
    assert.ok(served.some((r) => r.path === "/tiles.pmtiles" && r.status === 206), "the archive was read with range requests");
    assert.ok(served.some((r) => r.path.startsWith("/fonts/DejaVu%20Sans/") && r.status === 200), "Latin glyphs from the site");
    assert.deepEqual(served.filter((r) => r.status >= 400), [], "requests the site could not answer");
    assert.deepEqual(problems, []);

    await ctx.close();
  });
}
