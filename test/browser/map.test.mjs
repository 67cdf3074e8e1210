// The map page in a real browser: starts `wangge serve --demo` on a free
// port with a temporary GeoPackage, drives Debian's Chromium through the
// dashboard, the field view and the planner, and fails on any console error.
//
//   make browser-test            (builds the page and the binary first)
//   WANGGE_BIN=… CHROMIUM=… node --test map.test.mjs
//
// Without Chromium the test skips with the reason, except under CI (CI set),
// where a missing browser is a failure.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const bin = process.env.WANGGE_BIN || join(root, "bin", "wangge");
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
const outDir = process.env.TEST_OUTPUT || join(root, "test", "output");
const inCI = !!process.env.CI && process.env.CI !== "0" && process.env.CI !== "false";

let missing = "";
if (!existsSync(chromium)) missing = `no Chromium at ${chromium} (scripts/deps.sh installs Debian's chromium)`;
else if (!existsSync(bin)) missing = `no wangge binary at ${bin} (make build)`;
if (missing && inCI) throw new Error(`browser test cannot run under CI: ${missing}`);
const skip = missing ? `skipped: ${missing}` : false;

let server, base, dir, browser, key = "";

/** Starts wangge on a free port and resolves with its base URL. */
function startServer() {
  dir = mkdtempSync(join(tmpdir(), "wangge-browser-"));
  // A planner's key, for servers that ask for one (wangge keys). Binaries
  // without keys answer with an error here and serve without.
  const keys = spawnSync(bin, ["keys", "create", "--role", "planner", "--db", join(dir, "demo.gpkg")], { encoding: "utf8", timeout: 30_000 });
  if (keys.status === 0) key = keys.stdout.trim().split("\n").pop().trim();
  server = spawn(bin, ["serve", "--demo", "--db", join(dir, "demo.gpkg"), "--addr", "127.0.0.1:0"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, WANGGE_LOG_FORMAT: "json" },
  });
  let log = "";
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`wangge did not start in 60 s:\n${log}`)), 60_000);
    server.stderr.setEncoding("utf8");
    server.stderr.on("data", (chunk) => {
      log += chunk;
      for (const line of log.split("\n")) {
        let rec;
        try {
          rec = JSON.parse(line);
        } catch {
          continue;
        }
        if (rec.msg === "serving" && rec.addr) {
          clearTimeout(timer);
          ok(`http://${rec.addr}`);
          return;
        }
      }
      if (log.length > 1 << 20) log = log.slice(-4096);
    });
    server.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`wangge exited with ${code} before serving:\n${log}`));
    });
  });
}

before(async () => {
  if (skip) return;
  mkdirSync(outDir, { recursive: true });
  base = await startServer();
  const { chromium: pw } = await import("playwright-core");
  browser = await pw.launch({
    executablePath: chromium,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const getJSON = async (path) => {
  const res = await fetch(base + path, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  return res.json();
};

test("map page: dashboard, field view, layer switch, planner", { skip, timeout: 110_000 }, async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  if (key) await page.addInitScript((k) => sessionStorage.setItem("wangge.key", k), key);
  const problems = [];
  let expected = null; // a URL part whose 4xx a step provokes on purpose
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const where = m.location()?.url || "";
    if (expected && where.includes(expected) && /status of 4\d\d/.test(m.text())) return;
    problems.push(`console: ${m.text()} ${where}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    // MapLibre cancels the tiles a moving map no longer needs: not a failure.
    const why = r.failure()?.errorText || "";
    if (!why.includes("ERR_ABORTED")) problems.push(`request failed: ${r.url()} ${why}`);
  });
  let tileOK = 0;
  page.on("response", (r) => {
    if (/\/tiles\/.*\.mvt$/.test(r.url()) && r.status() === 200) tileOK++;
  });
  const rendered = (layer) => page.evaluate((l) => window.wangge.map.queryRenderedFeatures({ layers: [l] }).length, layer);
  const idle = () => page.evaluate(() => new Promise((r) => {
    const m = window.wangge.map;
    if (m.loaded() && m.areTilesLoaded()) r();
    else m.once("idle", r);
    m.triggerRepaint();
  }));

  const res = await page.goto(base + "/", { waitUntil: "load" });
  assert.equal(res.status(), 200);
  assert.match(res.headers()["content-security-policy"] || "", /script-src 'self'/, "the page is served with a CSP");
  await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
  await idle();

  await t.test("renders areas, grids and hazards", async () => {
    const source = await page.getAttribute("body", "data-source");
    if (source === "tiles") assert.ok(tileOK > 0, "no vector tile was loaded");
    assert.ok((await rendered("grids-fill")) > 0, "no grid drawn");
    assert.ok((await rendered("areas-line")) > 0, "no area drawn");
    assert.ok((await rendered("hazards")) > 0, "no hazard drawn");
    const attribution = await page.textContent(".maplibregl-ctrl-attrib");
    assert.match(attribution, /© OpenStreetMap contributors/);
    const all = (await getJSON("/collections/hazards/items?limit=1")).numberMatched;
    assert.match(await page.textContent("#hazard-count"), new RegExp(`^${all} of ${all} hazards shown`));
  });

  await t.test("grid table lists the published grids", async () => {
    const plans = await getJSON("/v1/plans");
    const published = plans.plans.find((p) => p.published);
    await page.waitForFunction((n) => document.querySelectorAll("#grid-table tbody tr").length === n, published.report.grids, { timeout: 20_000 });
  });

  await t.test("layer switch hides hazards", async () => {
    await page.uncheck("input[data-layer=hazards]");
    await idle();
    assert.equal(await page.evaluate(() => window.wangge.map.getLayoutProperty("hazards", "visibility")), "none");
    assert.equal(await rendered("hazards"), 0);
    await page.check("input[data-layer=hazards]");
    await page.selectOption("#hazard-filter select[name=status]", "open");
    await idle();
    const open = (await getJSON("/collections/hazards/items?status=open&limit=1")).numberMatched;
    const all = (await getJSON("/collections/hazards/items?limit=1")).numberMatched;
    assert.match(await page.textContent("#hazard-count"), new RegExp(`^${open} of ${all} open hazards shown`));
  });

  await t.test("hotspot layer shows its legend", async () => {
    await page.check("input[data-layer=hotspots]");
    await page.waitForFunction(() => /incidents/.test(document.getElementById("hotspot-note")?.textContent || ""), null, { timeout: 20_000 });
    assert.equal(await page.isVisible("#legend-hotspots"), true);
    await page.uncheck("input[data-layer=hotspots]");
  });

  await t.test("an API error is shown in words", async () => {
    expected = "/v1/hotspots";
    await page.check("input[data-layer=hotspots]");
    await page.fill("#hazard-filter input[name=since]", "2025-06-01");
    await page.fill("#hazard-filter input[name=until]", "2025-01-01");
    await page.dispatchEvent("#hazard-filter input[name=until]", "change");
    // The server's own words (problem+json detail), naming the parameter.
    await page.waitForFunction(() => /^Hotspots: .*since/.test(document.getElementById("error-text").textContent), null, { timeout: 15_000 });
    assert.equal(await page.isVisible("#error"), true);
    await page.click("#error-close");
    assert.equal(await page.isVisible("#error"), false);
    await page.fill("#hazard-filter input[name=since]", "");
    await page.fill("#hazard-filter input[name=until]", "");
    await page.dispatchEvent("#hazard-filter input[name=until]", "change");
    await page.uncheck("input[data-layer=hotspots]");
    await idle();
    expected = null;
  });

  await t.test("grid table sorts; a hazard click opens its popup", async () => {
    await page.click("#grid-table thead th[data-key=households]");
    const first = Number((await page.textContent("#grid-table tbody tr:first-child td")).replace(/,/g, ""));
    const plan = await getJSON("/v1/plans/1");
    assert.equal(first, Math.max(...plan.grids.map((g) => g.households)));
    const px = await page.evaluate(() => {
      // A hazard well inside the canvas, away from the map's controls.
      const m = window.wangge.map, r = m.getCanvas().getBoundingClientRect();
      for (const f of m.queryRenderedFeatures({ layers: ["hazards"] })) {
        const p = m.project(f.geometry.coordinates);
        if (p.x > 80 && p.y > 120 && p.x < r.width - 80 && p.y < r.height - 60) return { x: r.left + p.x, y: r.top + p.y };
      }
      return null;
    });
    assert.ok(px, "no hazard drawn inside the map");
    await page.mouse.click(px.x, px.y);
    await page.waitForSelector(".maplibregl-popup", { timeout: 10_000 });
    assert.match(await page.textContent(".maplibregl-popup"), /hazard.*severity/s);
    await page.screenshot({ path: join(outDir, "dashboard.png") });
  });

  await t.test("field view: a click names the grid /v1/locate names", async () => {
    await page.click("#tab-field");
    // Vaduz, inside the demo's grids.
    const px = await page.evaluate(() => {
      const p = window.wangge.map.project([9.5209, 47.1410]);
      const r = window.wangge.map.getCanvas().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    });
    await page.mouse.click(px.x, px.y);
    await page.waitForSelector("#field-grid", { timeout: 15_000 });
    const code = await page.getAttribute("#field-grid", "data-code");
    const lon = await page.getAttribute("#field-point", "data-lon");
    const lat = await page.getAttribute("#field-point", "data-lat");
    const loc = await getJSON(`/v1/locate?lon=${lon}&lat=${lat}`);
    assert.ok(loc.grid, `the clicked point ${lon},${lat} should be in a grid`);
    assert.equal(code, loc.grid.code);
    assert.match(await page.textContent("#field-result"), new RegExp(`Grid ${loc.grid.code}`));
    assert.match(await page.textContent("#field-result"), /Vaduz/);
    await page.screenshot({ path: join(outDir, "field.png") });
  });

  await t.test("field view: a typed GCJ-02 point is converted and located", async () => {
    await page.fill("#coord-form input[name=coords]", "9.5209, 47.1410");
    await page.selectOption("#coord-form select[name=crs]", "gcj02");
    await page.click("#coord-form button[type=submit]");
    await page.waitForSelector("#field-point[data-crs=gcj02]", { timeout: 15_000 });
    const loc = await getJSON("/v1/locate?lon=9.5209&lat=47.1410&crs=gcj02");
    assert.equal(await page.getAttribute("#field-grid", "data-code"), loc.grid ? loc.grid.code : "");
    assert.match(await page.textContent("#field-point"), /→ WGS 84/);
  });

  await t.test("planner: redraw one area, compare, publish", async () => {
    await page.click("#tab-planner");
    // Lock the grid under Vaduz's point, then unlock it by its chip.
    const px = await page.evaluate(() => {
      const p = window.wangge.map.project([9.5209, 47.1410]), r = window.wangge.map.getCanvas().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    });
    await page.mouse.click(px.x, px.y);
    const locked = (await getJSON("/v1/locate?lon=9.5209&lat=47.1410")).grid.code;
    await page.waitForSelector(`#locked-list .chip >> text=${locked}`, { timeout: 10_000 });
    await page.click("#locked-list .chip");
    assert.equal((await page.textContent("#locked-list")).trim(), "none");
    await page.selectOption("#plan-parent", "LI-05"); // Planken, the smallest
    await page.fill("#plan-form input[name=target]", "250");
    const before = await getJSON("/v1/plans/1");
    const inPlanken = before.grids.filter((g) => g.parent_code === "LI-05").length;
    await page.fill("#plan-form input[name=count]", String(inPlanken + 1));
    await page.click("#plan-generate");
    await page.waitForSelector("#plan-report", { timeout: 60_000 });
    // Only Planken was redrawn, into more grids; the other areas' grids
    // were locked and are as they were.
    const made = (await getJSON("/v1/plans")).plans.find((p) => !p.published);
    const after = await getJSON(`/v1/plans/${made.id}`);
    const others = (plan) => plan.grids.filter((g) => g.parent_code !== "LI-05").map((g) => `${g.code}:${g.households}`).sort();
    assert.deepEqual(others(after), others(before));
    assert.ok(after.grids.filter((g) => g.parent_code === "LI-05").length > inPlanken, "more grids in Planken");
    assert.match(await page.textContent("#plan-report"), new RegExp(`new \\(${made.id}\\)`));
    const text = await page.textContent("#plan-result");
    assert.match(text, /households moved/);
    assert.match(await page.textContent("#plan-report"), /published \(1\)/);
    await idle();
    await page.screenshot({ path: join(outDir, "planner-compare.png") });
    await page.click("#plan-publish");
    await page.waitForSelector("#plan-result .ok", { timeout: 20_000 });
    const plans = await getJSON("/v1/plans");
    const published = plans.plans.find((p) => p.published);
    assert.notEqual(published.id, 1, "a new plan is published");
    await page.waitForFunction((n) => document.querySelectorAll("#plan-list option").length === n + 1, plans.plans.length, { timeout: 10_000 });
    await idle();
    await page.screenshot({ path: join(outDir, "planner.png") });
  });

  await t.test("dashboard after publishing", async () => {
    await page.click("#tab-dashboard");
    await page.click("#refresh");
    await page.waitForSelector("#refresh:not([disabled])", { timeout: 20_000 });
    const plans = await getJSON("/v1/plans");
    const published = plans.plans.find((p) => p.published);
    assert.equal(await page.locator("#grid-table tbody tr").count(), published.report.grids);
    assert.match(await page.textContent("#status"), new RegExp(`Published plan ${published.id}:`));
    await idle();
    assert.ok((await rendered("grids-fill")) > 0, "no grid drawn after publishing");
    await page.screenshot({ path: join(outDir, "map.png") });
  });

  assert.deepEqual(problems, [], "the page logged errors");
});
