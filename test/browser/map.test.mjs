// The map page in a real browser: starts `wangge serve --demo` on a free
// port with a temporary GeoPackage, drives Debian's Chromium through the
// dashboard, the field view and the planner, then the dashboard's
// drill-down, risk colours and live changes (GET /v1/stats, GET
// /v1/changes), then walks a field worker's event loop on a phone-sized
// screen (report, my events, moves, history, a new event pushed to them),
// then the same field page without network (its service worker, locate on
// the device, a queued report sent once, a queued move overtaken: 412),
// and fails on any console error or Content-Security-Policy violation
// (the offline test: on page errors and CSP violations only, since
// requests fail there by design).
//
//   make browser-test            (builds the page and the binary first)
//   WANGGE_BIN=… CHROMIUM=… node --test map.test.mjs
//
// Without Chromium the test skips with the reason, except under CI (CI set),
// where a missing browser is a failure.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bin, launchBrowser, outDir, root, serveOn, skip } from "./harness.mjs";

// The service worker's own requests go through the context's routes, so
// that the offline test can cut them too: setOffline alone leaves them
// online (microsoft/playwright#2311). Read when the browser starts.
process.env.PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS = "1";


let server, base, dir, browser, key = "";

/** Starts wangge on a free port and resolves with its base URL. */
function startServer() {
  dir = mkdtempSync(join(tmpdir(), "wangge-browser-"));
  // A planner's key, for servers that ask for one (wangge keys). Binaries
  // without keys answer with an error here and serve without.
  const keys = spawnSync(bin, ["keys", "create", "--role", "planner", "--db", join(dir, "demo.gpkg")], { encoding: "utf8", timeout: 30_000 });
  if (keys.status === 0) key = keys.stdout.trim().split("\n").pop().trim();
  return serveOn(["serve", "--demo", "--db", join(dir, "demo.gpkg"), "--addr", "127.0.0.1:0"]).then((s) => {
    server = s.proc;
    return s.base;
  });
}

before(async () => {
  if (skip) return;
  mkdirSync(outDir, { recursive: true });
  base = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const getJSON = async (path, as = key) => {
  const res = await fetch(base + path, { headers: as ? { Authorization: `Bearer ${as}` } : {} });
  assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  return res.json();
};

/**
 * Collects what a page logs as an error. expect(part) lets the next 4xx
 * of a URL containing part through: a step that provokes one on purpose.
 */
function watch(page) {
  const problems = [];
  let expected = null;
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
  return { problems, expect: (part) => (expected = part) };
}

/** Sends a JSON request as the planner key; resolves with {status, body}. */
const send = async (method, path, body, headers = {}) => {
  const res = await fetch(base + path, {
    method, headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", ...headers }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text && /json/.test(res.headers.get("Content-Type") || "") ? JSON.parse(text) : text, etag: res.headers.get("ETag") };
};

/** Records the page's Content-Security-Policy violations in window.__csp. */
const recordCSP = (page) => page.addInitScript(() => {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective}: ${e.blockedURI || "inline"} ${e.sourceFile || ""}:${e.lineNumber || ""}`));
});

/**
 * Waits until the page's map has drawn what it loaded, at most ms: a map
 * that never goes idle (a tile that never answers, a repaint loop) fails
 * the step with what it was waiting for rather than hanging until the
 * test's timeout.
 */
const idleOn = (page, ms = 20_000) => page.evaluate((ms) => new Promise((ok, fail) => {
  const m = window.wangge.map;
  if (m.loaded() && m.areTilesLoaded()) {
    ok();
    return;
  }
  const timer = setTimeout(() => {
    m.off("idle", done);
    fail(new Error(`the map did not become idle within ${ms} ms (loaded: ${m.loaded()}, tiles loaded: ${m.areTilesLoaded()}, style loaded: ${m.isStyleLoaded()})`));
  }, ms);
  const done = () => {
    clearTimeout(timer);
    ok();
  };
  m.once("idle", done);
  m.triggerRepaint();
}), ms);

/** The page position of a WGS 84 point on the page's map. */
const pixelOf = (page, lonlat) => page.evaluate((p) => {
  const m = window.wangge.map, xy = m.project(p), r = m.getCanvas().getBoundingClientRect();
  return { x: r.left + xy.x, y: r.top + xy.y };
}, lonlat);

test("map page: dashboard, field view, layer switch, planner", { skip, timeout: 110_000 }, async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
  if (key) await page.addInitScript((k) => sessionStorage.setItem("wangge.key", k), key);
  await recordCSP(page);
  const { problems, expect } = watch(page);
  let tileOK = 0;
  page.on("response", (r) => {
    if (/\/tiles\/.*\.mvt$/.test(r.url()) && r.status() === 200) tileOK++;
  });
  const rendered = (layer) => page.evaluate((l) => window.wangge.map.queryRenderedFeatures({ layers: [l] }).length, layer);
  const idle = () => idleOn(page);

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
    assert.match(await page.textContent("#hazard-count"), new RegExp(`^${all} of ${all} events shown`));
    // The table of events follows the same filter.
    assert.equal(await page.locator("#event-table tbody tr").count(), Math.min(all, 200));
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
    await page.selectOption("#hazard-filter select[name=status]", "in_progress");
    await idle();
    const n = (await getJSON("/collections/hazards/items?status=in_progress&limit=1")).numberMatched;
    const all = (await getJSON("/collections/hazards/items?limit=1")).numberMatched;
    assert.match(await page.textContent("#hazard-count"), new RegExp(`^${n} of ${all} in progress events shown`));
    const states = await page.$$eval("#event-table tbody tr [data-status]", (els) => [...new Set(els.map((e) => e.dataset.status))]);
    assert.deepEqual(states, n ? ["in_progress"] : []);
  });

  await t.test("assignee and overdue filters", async () => {
    // The demo's planner key reads the roster, so the assignee is a list.
    const unassigned = (await getJSON("/collections/hazards/items?limit=10000")).features.filter((f) => !f.properties.assignee && f.properties.status === "in_progress").length;
    await page.selectOption("#hazard-filter select[name=assignee]", "-");
    assert.match(await page.textContent("#hazard-count"), new RegExp(`^${unassigned} of \\d+ in progress events shown`));
    await page.selectOption("#hazard-filter select[name=assignee]", "");
    await page.selectOption("#hazard-filter select[name=status]", "open");
    await page.check("#hazard-filter input[name=overdue]");
    await idle();
    // Every row shown is open and past its due time.
    const rows = await page.$$eval("#event-table tbody tr", (trs) => trs.map((tr) => ({ status: tr.querySelector("[data-status]").dataset.status, overdue: tr.lastElementChild.classList.contains("overdue") })));
    assert.ok(rows.every((r) => r.overdue && !["resolved", "verified", "closed", "rejected"].includes(r.status)), "only open, overdue events");
    assert.match(await page.textContent("#hazard-count"), /^[\d,]+ of [\d,]+ overdue open events shown/);
    await page.uncheck("#hazard-filter input[name=overdue]");
    await page.selectOption("#hazard-filter select[name=status]", "");
  });

  await t.test("hotspot layer shows its legend", async () => {
    await page.check("input[data-layer=hotspots]");
    await page.waitForFunction(() => /incidents/.test(document.getElementById("hotspot-note")?.textContent || ""), null, { timeout: 20_000 });
    assert.equal(await page.isVisible("#legend-hotspots"), true);
    await page.uncheck("input[data-layer=hotspots]");
  });

  await t.test("an API error is shown in words", async () => {
    expect("/v1/hotspots");
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
    expect(null);
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
    assert.match(await page.textContent(".maplibregl-popup"), /hazard.*severity.*status/is);
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
    // The grid's staff by name, with their role, and the chief.
    for (const w of loc.grid.workers || []) assert.match(await page.textContent("#field-workers"), new RegExp(w.name));
    if (loc.grid.chief) assert.match(await page.textContent("#field-chief"), new RegExp(`${loc.grid.chief.name}.*Grid chief`));
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

  assert.deepEqual(await page.evaluate(() => window.__csp), [], "Content-Security-Policy violations");
  assert.deepEqual(problems, [], "the page logged errors");
});

test("dashboard: drill-down, risk colours, live changes", { skip, timeout: 120_000 }, async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
  if (key) await page.addInitScript((k) => sessionStorage.setItem("wangge.key", k), key);
  await recordCSP(page);
  const { problems } = watch(page);
  await page.goto(base + "/", { waitUntil: "load" });
  await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
  await idleOn(page);
  // Set once: a reload of the page would lose it.
  await page.evaluate(() => (window.__sameDocument = true));
  const rows = () => page.$$eval("#drill-table tbody tr", (trs) => trs.map((tr) => tr.dataset.code));
  const waitPlace = (code) => page.waitForSelector(`#drill[data-place="${code}"]:not([data-loading])`, { timeout: 20_000 });
  const stats = (q) => getJSON(`/v1/stats?${q}`).then((r) => r.rows);
  const sum = (rs, k = "reported") => rs.reduce((a, r) => a + (Number(r[k]) || 0), 0);
  const areas = (await getJSON("/collections/areas/items?limit=10000")).features.map((f) => f.properties);

  await t.test("the risk layer is in the style and on the map", async () => {
    const fields = (await getJSON("/tiles/areas,grids.json")).vector_layers.find((l) => l.id === "grids").fields;
    assert.ok("risk" in fields, "the grid tiles carry risk");
    const paint = await page.evaluate(() => window.wangge.map.getStyle().layers.find((l) => l.id === "grids-fill").paint["fill-color"]);
    assert.equal(paint[0], "match");
    assert.match(JSON.stringify(paint[1]), /"get","risk"/, "the grids are filled by their risk attribute");
    assert.equal(await page.inputValue("#grid-colour"), "risk");
    assert.equal(await page.getAttribute("#legend-grids", "data-colour"), "risk");
    assert.match(await page.textContent("#legend-grids"), /红.*橙.*黄.*蓝/s);
    // What the map draws: the tiles' risk, as /collections/grids says per grid.
    const drawn = await page.evaluate(() => window.wangge.map.queryRenderedFeatures({ layers: ["grids-fill"] }).map((f) => [f.properties.code, f.properties.risk]));
    assert.ok(drawn.length > 0, "no grid drawn");
    const byCode = new Map((await getJSON("/collections/grids/items?limit=10000")).features.map((f) => [f.properties.code, f.properties.risk_level]));
    for (const [code, risk] of drawn) assert.equal(risk, byCode.get(code), `grid ${code}: tile risk ${risk}, collection ${byCode.get(code)}`);
    const levels = new Set(drawn.map(([, r]) => r));
    assert.ok([...levels].every((r) => ["red", "orange", "yellow", "blue"].includes(r)), `levels drawn: ${[...levels]}`);
    // A colouring by a figure changes the paint and the legend, and back.
    await page.selectOption("#grid-colour", "open");
    assert.match(JSON.stringify(await page.evaluate(() => window.wangge.map.getPaintProperty("grids-fill", "fill-color"))), /"get","code"/);
    assert.match(await page.textContent("#legend-grids"), /open events/);
    await page.selectOption("#grid-colour", "risk");
    await idleOn(page);
    await page.screenshot({ path: join(outDir, "risk.png") });
  });

  await t.test("drill-down: county → street → community → grid and back", async () => {
    // The county: one row per street, the county's months and categories.
    await waitPlace("county");
    const streets = areas.filter((a) => a.level === 1).map((a) => a.code).sort();
    assert.deepEqual((await rows()).sort(), streets);
    const county = await stats("level=1&group_by=area");
    assert.equal(Number(await page.getAttribute("#chart-trend", "data-reported")), sum(county), "the trend adds up to the streets' events");
    assert.ok(await page.locator("#chart-trend canvas").count() > 0, "the trend chart is drawn");
    assert.ok(await page.locator("#chart-categories canvas").count() > 0, "the category chart is drawn");
    const countyMonths = await page.getAttribute("#chart-trend", "data-months");
    await page.locator("#drill").screenshot({ path: join(outDir, "drill-county.png") });
    assert.match(await page.getAttribute("#chart-categories", "aria-label"), /[\u4e00-\u9fff]/, "categories carry their Chinese names");

    // A street, by its row.
    const street = areas.find((a) => a.name === "Oberland");
    await page.click(`#drill-table tbody tr[data-code="${street.code}"]`);
    await waitPlace(street.code);
    const communities = areas.filter((a) => a.parent_code === street.code).map((a) => a.code).sort();
    assert.deepEqual((await rows()).sort(), communities);
    assert.deepEqual(await page.$$eval("#drill-crumbs li", (lis) => lis.map((li) => li.dataset.kind)), ["county", "area"]);
    const streetRow = county.find((r) => r.area_code === street.code);
    assert.equal(Number(await page.getAttribute("#chart-trend", "data-reported")), Number(streetRow.reported), "the trend is the street's");
    assert.equal(await page.getAttribute("#chart-trend", "data-drawn"), street.code, "the chart was drawn again");

    // A community and a grid, by clicks on the map (hazards and cameras
    // hidden, so that the click falls on the grid).
    await page.uncheck("input[data-layer=hazards]");
    await page.uncheck("input[data-layer=cameras]");
    const point = [9.5209, 47.1410];
    const loc = await getJSON(`/v1/locate?lon=${point[0]}&lat=${point[1]}`);
    const community = loc.parents.find((p) => p.level === 2);
    await page.evaluate((p) => window.wangge.map.jumpTo({ center: p, zoom: 14 }), point);
    await idleOn(page);
    let px = await pixelOf(page, point);
    await page.mouse.click(px.x, px.y);
    await waitPlace(community.code);
    const grids = (await getJSON("/collections/grids/items?limit=10000")).features.filter((f) => f.properties.parent_code === community.code).map((f) => f.properties.code).sort();
    assert.deepEqual((await rows()).sort(), grids, "a leaf area's rows are its grids");
    assert.ok((await rows()).includes(loc.grid.code));
    const gridRows = await stats(`parent=${encodeURIComponent(community.code)}&group_by=area`);
    assert.ok(gridRows.every((r) => r.risk_level), "grid rows carry a risk level");
    assert.ok(await page.$$eval("#drill-table tbody tr[data-risk]", (trs) => trs.length) > 0, "the grid rows show their risk");
    px = await pixelOf(page, point);
    await page.mouse.click(px.x, px.y);
    await waitPlace(loc.grid.code);
    assert.deepEqual(await rows(), [loc.grid.code], "a grid's table is its own row");
    assert.deepEqual(await page.$$eval("#drill-crumbs li", (lis) => lis.map((li) => li.dataset.code)), ["", street.code, community.code, loc.grid.code]);
    const gridRow = gridRows.find((r) => r.area_code === loc.grid.code);
    assert.equal(Number(await page.getAttribute("#chart-trend", "data-reported")), Number(gridRow.reported), "the trend is the grid's");
    assert.equal(await page.getAttribute("#grid-table tbody tr.selected", "data-code"), loc.grid.code, "the grid table follows");
    await page.screenshot({ path: join(outDir, "drill-grid.png") });

    // Back up by the breadcrumb.
    await page.click("#drill-crumbs li:first-child button");
    await waitPlace("county");
    assert.deepEqual((await rows()).sort(), streets);
    assert.equal(await page.getAttribute("#chart-trend", "data-months"), countyMonths);
    await page.check("input[data-layer=hazards]");
    await page.check("input[data-layer=cameras]");
  });

  await t.test("live: a hazard made through the API shows without a reload", async () => {
    await page.waitForSelector("#live[data-state=open]", { timeout: 15_000 });
    const count = async () => Number((await page.textContent("#hazard-count")).match(/of ([\d,]+)/)[1].replace(/,/g, ""));
    const before = await count();
    const point = [9.5215, 47.1405];
    const made = await send("POST", "/collections/hazards/items", {
      type: "Feature", geometry: { type: "Point", coordinates: point }, properties: { category: "fire", severity: 3, note: "browser test: live" },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const fid = String(made.body.id);
    // The events table, the count and the map's source follow.
    await page.waitForSelector(`#event-table tbody tr[data-fid="${fid}"]`, { timeout: 10_000 });
    assert.equal(await count(), before + 1);
    assert.ok(await page.evaluate((id) => window.wangge.map.querySourceFeatures("hazards").some((f) => String(f.id) === id), fid), "on the map");
    assert.match(await page.textContent(`#event-table tbody tr[data-fid="${fid}"]`), /消防/);
    // A move made elsewhere shows too; then the grid table's figures.
    const moved = await send("PATCH", `/collections/hazards/items/${fid}`, { properties: { status: "rejected", note: "browser test" } });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    await page.waitForSelector(`#event-table tbody tr[data-fid="${fid}"] [data-status=rejected]`, { timeout: 10_000 });
    const loc = await getJSON(`/v1/locate?lon=${point[0]}&lat=${point[1]}`);
    const want = (await getJSON(`/v1/grids/${encodeURIComponent(loc.grid.code)}/stats`)).hazards.open;
    await page.waitForFunction(([code, n]) => document.querySelector(`#grid-table tbody tr[data-code="${code}"] td:nth-of-type(2)`)?.textContent === String(n),
      [loc.grid.code, want], { timeout: 10_000 });
    // A delete takes it off.
    const gone = await send("DELETE", `/collections/hazards/items/${fid}`);
    assert.equal(gone.status, 204, JSON.stringify(gone.body));
    await page.waitForSelector(`#event-table tbody tr[data-fid="${fid}"]`, { state: "detached", timeout: 10_000 });
    assert.equal(await count(), before);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, "the page was not reloaded");
    assert.ok(Number(await page.getAttribute("#event-table", "data-live")) >= 3, "three changes came by the stream");
  });

  await t.test("live: after a dropped stream it resumes with Last-Event-ID", async () => {
    // Cut the stream from the page's side: the next connection carries the
    // last id, and a change made meanwhile arrives.
    const resumed = page.waitForRequest((r) => r.url().includes("/v1/changes") && !!r.headers()["last-event-id"], { timeout: 20_000 }).catch((e) => e);
    await page.evaluate(() => window.wangge.live.stream.drop());
    const made = await send("POST", "/collections/hazards/items", {
      type: "Feature", geometry: { type: "Point", coordinates: [9.5212, 47.1407] }, properties: { category: "traffic", severity: 1 },
    });
    assert.equal(made.status, 201);
    const req = await resumed;
    assert.ok(!(req instanceof Error), `no reconnection with Last-Event-ID: ${req.message}`);
    assert.match(req.headers()["last-event-id"], /^\d+$/);
    await page.waitForSelector(`#event-table tbody tr[data-fid="${made.body.id}"]`, { timeout: 15_000 });
    await send("DELETE", `/collections/hazards/items/${made.body.id}`);
    await page.waitForSelector(`#event-table tbody tr[data-fid="${made.body.id}"]`, { state: "detached", timeout: 10_000 });
  });

  await t.test("live: a resume point the server lacks resets: the page loads again", async () => {
    // A sequence beyond the store's feed (as after a restored backup), like
    // one pruned from it, gets event: reset; the page reloads its data in
    // place and goes on with the live changes.
    await page.evaluate(() => window.wangge.live.stream.drop(999_999_999));
    await page.waitForSelector("body[data-resets='1']", { timeout: 20_000 });
    await page.waitForSelector("#live[data-state=open]", { timeout: 15_000 });
    const made = await send("POST", "/collections/hazards/items", {
      type: "Feature", geometry: { type: "Point", coordinates: [9.5212, 47.1407] }, properties: { category: "water", severity: 2 },
    });
    assert.equal(made.status, 201);
    await page.waitForSelector(`#event-table tbody tr[data-fid="${made.body.id}"]`, { timeout: 15_000 });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, "reloaded in place, not the document");
    await send("DELETE", `/collections/hazards/items/${made.body.id}`);
  });

  await t.test("drill-down: the table exports as CSV for Excel", async () => {
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 15_000 }), page.click("#drill-csv")]);
    assert.match(download.suggestedFilename(), /^wangge-stats_.*\.csv$/);
    const text = await readFile(await download.path(), "utf8");
    assert.equal(text.charCodeAt(0), 0xfeff, "a BOM for Excel");
    assert.match(text.split("\r\n")[0], /area code/);
    const streets = areas.filter((a) => a.level === 1).length;
    assert.ok(text.trim().split("\r\n").length > streets, "a row per street and month");
  });

  assert.deepEqual(await page.evaluate(() => window.__csp), [], "Content-Security-Policy violations");
  await page.close();
  assert.deepEqual(problems, [], "the page logged errors");
});

test("field worker on a phone: report, my events, moves, history", { skip, timeout: 120_000 }, async (t) => {
  // The worker of the grid at Vaduz's point, from the roster: the server
  // assigns a new event there to the grid's first worker by id.
  const point = [9.5209, 47.1410];
  const loc = await getJSON(`/v1/locate?lon=${point[0]}&lat=${point[1]}`);
  assert.ok(loc.grid, "Vaduz's point is in a grid");
  const { workers: roster } = await getJSON("/v1/workers");
  const worker = roster.filter((w) => w.grid_codes.includes(loc.grid.code)).sort((a, b) => a.id.localeCompare(b.id))[0];
  assert.ok(worker, `a worker serves grid ${loc.grid.code}`);
  // A field key tied to that worker, made while the server runs: it learns
  // of new keys from the change feed.
  const made = spawnSync(bin, ["keys", "create", "--db", join(dir, "demo.gpkg"), "--role", "field", "--name", "browser test phone", "--worker", worker.id],
    { encoding: "utf8", timeout: 30_000 });
  assert.equal(made.status, 0, `wangge keys create: ${made.stderr}`);
  const fieldKey = made.stdout.trim().split("\n").pop().trim();
  let me = null;
  for (let i = 0; i < 50 && !(me && me.worker); i++) {
    const res = await fetch(`${base}/v1/me`, { headers: { Authorization: `Bearer ${fieldKey}` } });
    if (res.status === 200) me = await res.json();
    else await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(me?.worker?.id, worker.id, "the server knows the new key and its worker");

  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "en-US" });
  await context.addInitScript((k) => sessionStorage.setItem("wangge.key", k), fieldKey);
  const page = await context.newPage();
  await recordCSP(page);
  const { problems, expect } = watch(page);
  await page.goto(base + "/", { waitUntil: "load" });
  await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
  await idleOn(page);

  await t.test("a worker's key opens the field view, sized for a phone", async () => {
    assert.equal(await page.getAttribute("#tab-field", "aria-selected"), "true");
    await page.waitForFunction((name) => document.getElementById("my-events").textContent.includes(name), worker.name, { timeout: 10_000 });
    // Nothing wider than the screen.
    const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    assert.ok(scroll <= inner, `the page is ${scroll} px wide on a ${inner} px screen`);
    // Every control of the header and the field view is at least 40 px
    // high and wide: a checkbox by its label.
    const small = await page.evaluate(() => {
      const out = [];
      for (const e of document.querySelectorAll("header button, #view-field button, #view-field select, #view-field input, #view-field textarea, #view-field a")) {
        const target = e.type === "checkbox" ? e.closest("label") || e : e;
        const r = target.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue; // hidden
        if (r.height < 40 || r.width < 40) out.push(`${e.tagName.toLowerCase()}#${e.id || e.name || e.textContent.trim().slice(0, 20)}: ${Math.round(r.width)}×${Math.round(r.height)}`);
      }
      return out;
    });
    assert.deepEqual(small, [], "tap targets under 40 px");
  });

  let fid = "";
  await t.test("a report in the worker's grid is assigned to them", async () => {
    // Tap the map at the point: it is located and becomes the report's
    // point. Zoomed in first, so that a tap's whole pixels stay metres
    // from the point (and inside its grid).
    await page.evaluate((p) => {
      window.scrollTo(0, 0);
      window.wangge.map.jumpTo({ center: p, zoom: 16 });
    }, point);
    await idleOn(page);
    const px = await pixelOf(page, point);
    await page.touchscreen.tap(px.x, px.y);
    await page.waitForSelector("#field-grid", { timeout: 15_000 });
    assert.equal(await page.getAttribute("#field-grid", "data-code"), loc.grid.code);
    assert.match(await page.textContent("#field-workers"), new RegExp(`${worker.name}`));
    await page.waitForSelector("#report-where");
    const where = [Number(await page.getAttribute("#report-where", "data-lon")), Number(await page.getAttribute("#report-where", "data-lat"))];
    assert.equal(await page.getAttribute("#report-where", "data-crs"), "wgs84");
    assert.ok(Math.abs(where[0] - point[0]) < 2e-4 && Math.abs(where[1] - point[1]) < 2e-4, `tapped ${where}, wanted ${point}`);
    // The category sets the default severity (fire: 3, traffic: 2).
    const tax = await getJSON("/v1/taxonomy");
    const sev = (code) => String(tax.categories.find((c) => c.code === code).severity);
    await page.selectOption("#report-form select[name=category]", "fire");
    assert.equal(await page.inputValue("#report-form select[name=severity]"), sev("fire"));
    await page.selectOption("#report-form select[name=category]", "traffic");
    assert.equal(await page.inputValue("#report-form select[name=severity]"), sev("traffic"));
    await page.fill("#report-form textarea[name=note]", "browser test: a fallen sign blocks the cycle lane");
    await page.click("#report-submit");
    await page.waitForSelector("#report-done", { timeout: 15_000 });
    fid = await page.getAttribute("#report-done", "data-fid");
    assert.equal(await page.getAttribute("#report-done", "data-status"), "assigned");
    assert.equal(await page.getAttribute("#report-done .assignee", "data-id"), worker.id);
    assert.match(await page.textContent("#report-done"), new RegExp(worker.name));
    const f = await getJSON(`/collections/hazards/items/${fid}`);
    assert.equal(f.properties.assignee, worker.id);
    assert.equal(f.properties.category, "traffic");
  });

  await t.test("my events lists it first, as assigned", async () => {
    const item = `#my-events .event-item[data-fid="${fid}"]`;
    await page.waitForSelector(`${item}[data-status=assigned]`, { timeout: 10_000 });
    assert.equal(await page.getAttribute("#my-events .event-item >> nth=0", "data-fid"), fid, "newest first");
    assert.match(await page.textContent(item), /交通/);
    // The due time in the page's language (en-US: 06/01/2025, 14:05).
    assert.match(await page.textContent(item), /due \d\d\/\d\d\/\d{4}, \d\d:\d\d/);
    // The server's own list agrees.
    const mine = await getJSON(`/collections/hazards/items?${new URLSearchParams({ filter: `assignee = '${worker.id}'`, limit: "1000" })}`, fieldKey);
    assert.equal(await page.locator("#my-events .event-item").count(), mine.features.length);
  });

  await t.test("moves: in progress, a stale one reloaded, resolved", async () => {
    await page.click(`#my-events .event-item[data-fid="${fid}"]`);
    await page.waitForSelector(`#event-detail .event-title[data-fid="${fid}"]`, { timeout: 10_000 });
    // One button per state the history route allows this key now.
    const hist = await getJSON(`/collections/hazards/items/${fid}/history`, fieldKey);
    const buttons = await page.$$eval("#event-detail button.move", (bs) => bs.map((b) => b.dataset.to));
    assert.deepEqual(buttons, hist.allowed);
    assert.ok(buttons.includes("in_progress"), `moves offered: ${buttons}`);
    await page.fill("#event-detail textarea.move-note", "on my way");
    await page.click("#event-detail button.move[data-to=in_progress]");
    await page.waitForFunction(() => /Moved to in progress/.test(document.querySelector("#event-detail .event-message")?.textContent || ""), null, { timeout: 10_000 });
    await page.waitForSelector(`#my-events .event-item[data-fid="${fid}"][data-status=in_progress]`, { timeout: 10_000 });

    // A planner changes the note meanwhile: the page's ETag is stale, the
    // server answers 412, and the page shows the event as it is now.
    const res = await fetch(`${base}/collections/hazards/items/${fid}`, {
      method: "PATCH", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ properties: { note: "planner: the sign belongs to the road office" } }),
    });
    assert.equal(res.status, 200, `planner PATCH: ${await res.text()}`);
    expect(`/collections/hazards/items/${fid}`);
    await page.click("#event-detail button.move[data-to=resolved]");
    await page.waitForFunction(() => /changed since it was loaded/.test(document.querySelector("#event-detail .event-message")?.textContent || ""), null, { timeout: 10_000 });
    assert.match(await page.textContent("#event-detail"), /the sign belongs to the road office/);
    assert.equal((await getJSON(`/collections/hazards/items/${fid}`)).properties.status, "in_progress", "the stale move changed nothing");
    expect(null);

    await page.fill("#event-detail textarea.move-note", "sign put back up");
    await page.click("#event-detail button.move[data-to=resolved]");
    await page.waitForFunction(() => /Moved to resolved/.test(document.querySelector("#event-detail .event-message")?.textContent || ""), null, { timeout: 10_000 });
    await page.waitForSelector(`#my-events .event-item[data-fid="${fid}"][data-status=resolved]`, { timeout: 10_000 });
    const f = await getJSON(`/collections/hazards/items/${fid}`);
    assert.equal(f.properties.status, "resolved");
    assert.ok(f.properties.resolved_at, "resolved_at is set");
  });

  await t.test("the history shows every step", async () => {
    const hist = await getJSON(`/collections/hazards/items/${fid}/history`);
    const shown = await page.$$eval("#event-detail ol.steps li", (lis) => lis.map((li) => li.dataset.to));
    assert.deepEqual(shown, hist.steps.map((s) => s.to));
    assert.deepEqual(shown.slice(-2), ["in_progress", "resolved"]);
    assert.ok(shown.includes("assigned"), `steps: ${shown}`);
    const text = await page.textContent("#event-detail ol.steps");
    assert.match(text, /on my way/);
    assert.match(text, /sign put back up/);
    assert.match(text, new RegExp(`by ${hist.steps.at(-1).actor}`));
    await page.screenshot({ path: join(outDir, "field-phone.png"), fullPage: true });
  });

  await t.test("an event a planner reports in the worker's grid is pushed to them", async () => {
    await page.waitForSelector("#live[data-state=open]", { timeout: 15_000 });
    assert.equal(await page.isVisible("#assigned-notice"), false, "the worker's own report was not announced to them");
    const made = await send("POST", "/collections/hazards/items", {
      type: "Feature", geometry: { type: "Point", coordinates: point }, properties: { category: "fire", severity: 3, note: "browser test: pushed" },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.properties.assignee, worker.id, "auto-assigned to the grid's worker");
    const item = `#assigned-notice li[data-fid="${made.body.id}"]`;
    await page.waitForSelector(item, { timeout: 10_000 });
    assert.match(await page.textContent(item), /New event assigned to you.*消防/);
    await page.waitForSelector(`#my-events .event-item[data-fid="${made.body.id}"]`, { timeout: 10_000 });
    await page.click(`${item} button`);
    await page.waitForSelector(`#event-detail .event-title[data-fid="${made.body.id}"]`, { timeout: 10_000 });
    assert.equal(await page.isVisible("#assigned-notice"), false);
    await page.screenshot({ path: join(outDir, "field-pushed.png"), fullPage: true });
  });

  assert.deepEqual(await page.evaluate(() => window.__csp), [], "Content-Security-Policy violations");
  await context.close();
  assert.deepEqual(problems, [], "the page logged errors");
});

test("field page offline: opens from its service worker, locates on the device, queues a report, sends it once", { skip, timeout: 150_000 }, async (t) => {
  // A field key tied to the worker of Vaduz's grid, as in the test above.
  const point = [9.5209, 47.1410], far = [9.5589, 47.2137]; // far: another municipality's grid
  const loc = await getJSON(`/v1/locate?lon=${point[0]}&lat=${point[1]}`);
  const locFar = await getJSON(`/v1/locate?lon=${far[0]}&lat=${far[1]}`);
  assert.ok(loc.grid && locFar.grid && locFar.grid.parent_code !== loc.grid.parent_code, "the two points are in grids of two areas");
  const { workers: roster } = await getJSON("/v1/workers");
  const worker = roster.filter((w) => w.grid_codes.includes(loc.grid.code)).sort((a, b) => a.id.localeCompare(b.id))[0];
  const made = spawnSync(bin, ["keys", "create", "--db", join(dir, "demo.gpkg"), "--role", "field", "--name", "browser test offline phone", "--worker", worker.id],
    { encoding: "utf8", timeout: 30_000 });
  assert.equal(made.status, 0, `wangge keys create: ${made.stderr}`);
  const fieldKey = made.stdout.trim().split("\n").pop().trim();
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${base}/v1/me`, { headers: { Authorization: `Bearer ${fieldKey}` } });
    if (res.status === 200 && (await res.json()).worker) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const note = `browser test offline ${Date.now()}`;
  // The events with this note (note is not a queryable: read them all).
  const withNote = async () => (await getJSON("/collections/hazards/items?limit=10000")).features.filter((f) => f.properties.note === note);
  const countNote = async () => (await withNote()).length;
  // The count once the server's reads have caught up with its writes (they follow within moments).
  const settledCount = async (want) => {
    let n;
    for (let i = 0; i < 30 && (n = await countNote()) !== want; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500)); // and nothing more arrives
    return countNote();
  };

  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "en-US", serviceWorkers: "allow" });
  await context.addInitScript((k) => localStorage.setItem("wangge.key", k), fieldKey);
  const page = await context.newPage();
  await recordCSP(page);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Offline: the page's requests fail (setOffline), and so do its service
  // worker's (this route), which then answers from its caches.
  let offline = false;
  await context.route("**", (route) => (offline && route.request().serviceWorker() ? route.abort("internetdisconnected") : route.fallback()));
  const goOffline = async (on) => {
    offline = on;
    await context.setOffline(on);
  };

  await t.test("online: the worker's key keeps their grids, tiles, events and categories", async () => {
    await page.goto(base + "/", { waitUntil: "load" });
    await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20_000 });
    await page.waitForSelector("#kept-status[data-kept='1']", { timeout: 60_000 });
    const grids = Number(await page.getAttribute("#kept-status", "data-grids"));
    const siblings = (await getJSON(`/collections/grids/items?parent_code=${loc.grid.parent_code}&limit=1000`)).features.length;
    assert.equal(grids, siblings, "the worker's grid and the others of its area");
    assert.match(await page.textContent("#kept-status"), /Kept on this device: .* grids, [\d,]+ map tiles \(zoom 8–\d+\), \d+ open events, categories yes; refreshed/);
    // Once more online, through the worker: it keeps what the page reads.
    await page.reload({ waitUntil: "load" });
    await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
  });

  await t.test("offline: the page opens from the service worker and locates a typed point on the device", async () => {
    await goOffline(true);
    const res = await page.reload({ waitUntil: "load" });
    assert.ok(res && res.fromServiceWorker(), "the page came from the service worker");
    await page.waitForSelector("body[data-online='0']", { timeout: 60_000 });
    await page.waitForSelector("#kept-status[data-kept='1']", { timeout: 30_000 });
    const typed = async (p) => {
      await page.evaluate(() => document.getElementById("field-result").replaceChildren());
      await page.fill("#coord-form input[name=coords]", `${p[0]}, ${p[1]}`);
      await page.selectOption("#coord-form select[name=crs]", "wgs84");
      await page.click("#coord-form button[type=submit]");
      await page.waitForSelector("#field-grid[data-where=device]", { timeout: 15_000 });
      return page.getAttribute("#field-grid", "data-code");
    };
    assert.equal(await typed(point), loc.grid.code, "the device names the grid /v1/locate named online");
    assert.match(await page.textContent("#field-offline"), /Answered on this device .* in [\d.]+ ms/);
    // Nearby from the kept events: the worker's open events within the radius, as the server counts them.
    const radius = Number(await page.inputValue("#radius")) || 300;
    const near = (await getJSON(`/v1/nearby?kind=hazards&lon=${point[0]}&lat=${point[1]}&radius_m=${radius}&limit=1000`)).features
      .filter((f) => f.properties.assignee === worker.id && !["resolved", "verified", "closed", "rejected"].includes(f.properties.status));
    const listed = await page.$$eval("#field-result section", (ss) => ss.map((s) => ({ h: s.querySelector("h4").textContent, n: s.querySelectorAll("ol.near li").length })));
    assert.deepEqual(listed, [{ h: `Your kept open events within ${radius} m (no signal)`, n: Math.min(10, near.length) }]);
    assert.equal(await typed(far), "", "a point outside the kept grids is not put in one");
    await typed(point); // the report's point
    await page.waitForSelector("#report-where");
  });

  let key = "", fid = "";
  await t.test("offline: a report is queued on the device", async () => {
    const before = await countNote();
    assert.equal(before, 0);
    await page.selectOption("#report-form select[name=category]", "traffic");
    await page.fill("#report-form textarea[name=note]", note);
    await page.click("#report-submit");
    await page.waitForSelector("#report-queued", { timeout: 10_000 });
    key = await page.getAttribute("#report-queued", "data-key");
    assert.match(key, /^[0-9a-f-]{36}$/, "a UUID as its Idempotency-Key");
    await page.waitForSelector(`#queue li[data-key="${key}"][data-state=queued][data-kind=report]`);
    assert.equal(await countNote(), 0, "nothing reached the server");
    await page.screenshot({ path: join(outDir, "field-offline-queued.png"), fullPage: true });
  });

  await t.test("online again: it reaches the server once, also when an answer was lost and it was sent again", async () => {
    // The first copy reaches the server, but its answer is lost on the way
    // back: the page keeps the item and sends it again with the same key.
    let posts = 0;
    const keys = [];
    await context.route("**/collections/hazards/items?crs=*", async (route) => {
      if (route.request().method() !== "POST") return route.fallback();
      posts++;
      keys.push(route.request().headers()["idempotency-key"]);
      const res = await route.fetch();
      if (posts === 1) {
        assert.equal(res.status(), 201);
        return route.abort("connectionreset");
      }
      return route.fulfill({ response: res });
    });
    // Tries so far: the page tried once when the report was made (no answer).
    const tries = () => page.evaluate(async (k) => ((await window.wangge.offline.queue.list()).find((i) => i.key === k) || {}).tries, key);
    const before = await tries();
    await goOffline(false); // the page's online event sends the queue
    for (let i = 0; i < 200 && !(posts === 1 && (await tries()) > before); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(posts, 1);
    assert.equal(await settledCount(1), 1, "the first copy made the event");
    await page.evaluate(() => window.wangge.offline.sync()); // the retry (else in 30 s)
    await page.waitForFunction(async () => (await window.wangge.offline.queue.list()).length === 0, null, { timeout: 20_000 })
      .catch(async (e) => assert.fail(`${e.message}: the queue holds ${JSON.stringify(await page.evaluate(() => window.wangge.offline.queue.list()))}`));
    await page.waitForSelector("#queue[data-count='0']", { state: "attached" });
    assert.equal(posts, 2);
    assert.deepEqual(keys, [key, key], "both copies carried the queued item's Idempotency-Key");
    const sent = await page.evaluate(() => window.wangge.offline.sent);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].key, key);
    assert.equal(sent[0].status, 201);
    assert.equal(sent[0].replayed, true, "the server replayed the first answer");
    assert.equal(await settledCount(1), 1, "exactly one event on the server");
    const [f] = await withNote();
    assert.equal(String(f.id), String(sent[0].id));
    assert.equal(f.properties.assignee, worker.id);
    fid = String(f.id);
  });

  await t.test("a move made offline that someone overtook (412) waits for the worker, who re-applies it", async () => {
    const item = `#my-events .event-item[data-fid="${fid}"]`;
    await page.waitForSelector(item, { timeout: 15_000 });
    await page.click(item);
    await page.waitForSelector(`#event-detail .event-title[data-fid="${fid}"]`, { timeout: 10_000 });
    await goOffline(true);
    await page.fill("#event-detail textarea.move-note", "offline: on my way");
    await page.click("#event-detail button.move[data-to=in_progress]");
    await page.waitForSelector("#queue li[data-kind=move][data-state=queued]", { timeout: 10_000 });
    // A planner changes the event meanwhile: the queued move's ETag is stale.
    const res = await send("PATCH", `/collections/hazards/items/${fid}`, { properties: { note: "planner: road office informed" } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await goOffline(false);
    await page.waitForSelector("#queue li[data-kind=move][data-state=conflict] .conflict .theirs", { timeout: 20_000 }).catch(async (e) => assert.fail(`${e.message}: ${JSON.stringify({
      queue: await page.evaluate(() => window.wangge.offline.queue.list()), sent: await page.evaluate(() => window.wangge.offline.sent),
      html: await page.innerHTML("#queue"), steps: (await getJSON(`/collections/hazards/items/${fid}/history`)).steps })}`));
    assert.match(await page.textContent("#queue li[data-state=conflict]"), /Yours:.*in progress.*offline: on my way[\s\S]*On the server now:.*planner: road office informed/);
    assert.equal((await getJSON(`/collections/hazards/items/${fid}`)).properties.status, "assigned", "the stale move changed nothing");
    await page.screenshot({ path: join(outDir, "field-offline-conflict.png"), fullPage: true });
    await page.click("#queue li[data-state=conflict] button.reapply");
    await page.waitForFunction(async () => (await window.wangge.offline.queue.list()).length === 0, null, { timeout: 20_000 });
    // The server's reads follow its writes within moments (its live state): wait for the move.
    let f;
    for (let i = 0; i < 50 && (f = await getJSON(`/collections/hazards/items/${fid}`)).properties.status !== "in_progress"; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(f.properties.status, "in_progress", JSON.stringify(await page.evaluate(() => window.wangge.offline.sent)));
    assert.equal(f.properties.note, "offline: on my way");
  });

  assert.deepEqual(errors, [], "page errors");
  assert.deepEqual(await page.evaluate(() => window.__csp), [], "Content-Security-Policy violations");
  await context.unrouteAll({ behavior: "ignoreErrors" });
  await context.close();
});

test("Chinese fixture: labels, and the page in zh-CN and en-US", { skip, timeout: 150_000 }, async (t) => {
  // A fresh GeoPackage from the synthetic Chinese street, with the real CLI.
  const zdir = mkdtempSync(join(tmpdir(), "wangge-zh-"));
  const db = join(zdir, "zh.gpkg"), fx = join(root, "test", "fixtures", "zh");
  let proc = null;
  try {
    for (const args of [["import", "areas", join(fx, "areas.geojson")], ["import", "households", join(fx, "households.geojson")],
      ["import", "workers", join(fx, "workers.csv")], ["gridgen", "--target", "300", "--publish"], ["keys", "create", "--role", "planner"]]) {
      const r = spawnSync(bin, [...args, "--db", db], { encoding: "utf8", timeout: 120_000 });
      assert.equal(r.status, 0, `wangge ${args.join(" ")}: ${r.stderr}`);
      if (args[0] === "keys") var zkey = r.stdout.trim().split("\n").pop().trim(); // eslint-disable-line no-var
    }
    const s = await serveOn(["serve", "--db", db, "--addr", "127.0.0.1:0"]);
    proc = s.proc;
    const zget = async (path) => {
      const res = await fetch(s.base + path, { headers: { Authorization: `Bearer ${zkey}` } });
      assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
      return res.json();
    };
    const areaNames = (await zget("/collections/areas/items?limit=100")).features.map((f) => f.properties.name);
    const gridCodes = new Set((await zget("/collections/grids/items?limit=1000")).features.map((f) => String(f.properties.code)));
    assert.ok(areaNames.includes("幸福社区") && gridCodes.size > 5, `the fixture did not import: ${areaNames} ${gridCodes.size} grids`);
    const en = (await import("../../web/src/i18n/en.js")).default;
    const keys = Object.keys(en).filter((k) => k.includes("."));

    for (const locale of ["zh-CN", "en-US"]) {
      await t.test(`${locale}: the page's words, and labels drawn with the area names and grid codes`, async () => {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale });
        const page = await context.newPage();
        await page.addInitScript((k) => sessionStorage.setItem("wangge.key", k), zkey);
        await recordCSP(page);
        const { problems } = watch(page);
        const warnings = [], fonts = [];
        page.on("console", (m) => m.type() === "warning" && /i18n|glyph/i.test(m.text()) && warnings.push(m.text()));
        page.on("response", (r) => /\/fonts\//.test(r.url()) && fonts.push(`${r.status()} ${decodeURIComponent(new URL(r.url()).pathname)}`));
        try {
          await page.goto(s.base + "/", { waitUntil: "load" });
          await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
          const zh = locale === "zh-CN";
          assert.equal(await page.getAttribute("html", "lang"), zh ? "zh-CN" : "en");
          assert.equal(await page.inputValue("#lang"), zh ? "zh-CN" : "en");
          assert.equal((await page.textContent("#tab-dashboard")).trim(), zh ? "态势总览" : "Dashboard");
          if (zh) assert.match(await page.textContent("#status"), /已发布方案 1：\d+ 个网格/);
          // Grid-level view of the street's middle: streets, communities and grids labelled.
          await page.evaluate(() => window.wangge.map.jumpTo({ center: [116.465, 39.92], zoom: 15 }));
          await idleOn(page, 30_000);
          const labels = await page.evaluate(() => window.wangge.map.queryRenderedFeatures({ layers: ["areas-label", "grids-label"] })
            .map((f) => ({ layer: f.layer.id, name: f.properties.name || "", code: String(f.properties.code) })));
          const areaLabels = labels.filter((l) => l.layer === "areas-label").map((l) => l.name);
          const gridLabels = labels.filter((l) => l.layer === "grids-label").map((l) => l.code);
          assert.ok(areaLabels.some((n) => /社区|村|街道/.test(n) && areaNames.includes(n)), `no Chinese area name among the labels drawn: ${areaLabels}`);
          assert.ok(gridLabels.length > 0 && gridLabels.every((c) => gridCodes.has(c)), `grid labels ${gridLabels} are not the tiles' grid codes`);
          await page.screenshot({ path: join(outDir, `labels-${locale}.png`) });
          // From z16 a grid's label names its worker, from the roster (幸福社区's is 示例·张伟).
          await page.evaluate(() => window.wangge.map.jumpTo({ center: [116.4575, 39.925], zoom: 16.5 }));
          await idleOn(page, 30_000);
          await page.waitForFunction(() => window.wangge.map.queryRenderedFeatures({ layers: ["grids-label"] }).some((f) => f.properties.worker === "示例·张伟"),
            null, { timeout: 10_000 });
          // Latin glyphs from this server; CJK drawn by the browser, never asked for.
          assert.ok(fonts.some((f) => f.startsWith("200 /fonts/DejaVu Sans/0-255.pbf")), `digits' glyphs not loaded: ${fonts}`);
          assert.deepEqual(fonts.filter((f) => Number(f.match(/\/(\d+)-\d+\.pbf/)?.[1]) >= 0x2e80), [], "CJK glyph ranges were asked of the server");
          // No catalogue key shown raw, none missing, no glyph range missing.
          const text = await page.evaluate(() => document.body.innerText + " " + [...document.querySelectorAll("[title],[placeholder],[aria-label]")]
            .map((e) => `${e.title || ""} ${e.placeholder || ""} ${e.getAttribute("aria-label") || ""}`).join(" "));
          assert.deepEqual(keys.filter((k) => new RegExp(`(^|[^\\w.])${k.replace(/[.]/g, "\\.")}($|[^\\w.])`).test(text)), [], "catalogue keys shown raw");
          assert.deepEqual(await page.evaluate(() => [...window.wangge.i18nMissing]), []);
          assert.deepEqual(warnings, []);
          if (zh) assert.ok(!/\b(Loading|Dashboard|Planner|households|Events)\b/.test(await page.textContent("#side")), "English words left in the zh-CN panel");
          await page.screenshot({ path: join(outDir, `labels-worker-${locale}.png`) });
          // The switch: English from a Chinese browser, kept on reload.
          if (zh) {
            await Promise.all([page.waitForNavigation(), page.selectOption("#lang", "en")]);
            await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
            assert.equal(await page.getAttribute("html", "lang"), "en");
            assert.equal((await page.textContent("#tab-dashboard")).trim(), "Dashboard");
            await page.reload();
            await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
            assert.equal(await page.getAttribute("html", "lang"), "en", "the choice is kept");
            await page.goto(s.base + "/?lang=zh-CN");
            await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
            assert.equal(await page.getAttribute("html", "lang"), "zh-CN", "?lang= wins");
          }
          assert.deepEqual(problems, []);
          assert.deepEqual(await page.evaluate(() => window.__csp), []);
        } finally {
          await context.close();
        }
      });
    }
  } finally {
    if (proc && proc.exitCode === null) {
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
    }
    rmSync(zdir, { recursive: true, force: true });
  }
});
