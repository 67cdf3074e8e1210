// The planner's view in a real browser (issue 16): starts `wangge serve
// --demo` (Liechtenstein with its streets and units) on a free port with a
// planner's key, and drives Debian's Chromium through the planner: the
// streets and units drawn under the grids and their toggle, the weight
// choice (households or workload) as the request for a redraw carries it
// and as the new plan's report says it, and the comparison's street share
// of each grid, as GET /v1/plans/{id} gives it. Fails on any console error
// or page error.
//
//   make browsertest             (builds the page and the binary first)
//   WANGGE_BIN=… CHROMIUM=… node --test planner.test.mjs
//
// Without Chromium the test skips with the reason, except under CI (CI set),
// where a missing browser is a failure.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, launchBrowser, outDir, serveOn, skip, stop } from "./harness.mjs";

let server, base, dir, browser, key = "";

before(async () => {
  if (skip) return;
  mkdirSync(outDir, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), "wangge-planner-"));
  const db = join(dir, "demo.gpkg");
  const keys = spawnSync(bin, ["keys", "create", "--role", "planner", "--db", db], { encoding: "utf8", timeout: 30_000 });
  assert.equal(keys.status, 0, `wangge keys create: ${keys.stderr}`);
  key = keys.stdout.trim().split("\n").pop().trim();
  const s = await serveOn(["serve", "--demo", "--db", db, "--addr", "127.0.0.1:0"]);
  server = s.proc;
  base = s.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stop(server);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const getJSON = async (path) => {
  const res = await fetch(base + path, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  return res.json();
};

/** Waits until the page's map has drawn what it loaded, at most ms. */
const idle = (page, ms = 30_000) => page.evaluate((ms) => new Promise((ok, fail) => {
  const m = window.wangge.map;
  if (m.loaded() && m.areTilesLoaded()) {
    ok();
    return;
  }
  const timer = setTimeout(() => fail(new Error(`the map did not become idle within ${ms} ms`)), ms);
  m.once("idle", () => {
    clearTimeout(timer);
    ok();
  });
  m.triggerRepaint();
}), ms);

/** The features of a map layer drawn in the whole viewport: [{kind, class, name}]. */
const rendered = (page, layer) => page.evaluate((l) => (window.wangge.map.getLayer(l)
  ? window.wangge.map.queryRenderedFeatures({ layers: [l] }).map((f) => ({ kind: f.properties.kind, class: f.properties.class, name: f.properties.name }))
  : null), layer);

const visibility = (page, layer) => page.evaluate((l) => window.wangge.map.getLayoutProperty(l, "visibility") || "visible", layer);

/** A number as the page writes it for an en-US reader (ui.js num). */
const num = (v) => (v === null || v === undefined ? "—" : new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 }).format(v));

test("planner: streets and units under the grids, weight choice, street share", { skip, timeout: 180_000 }, async (t) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
  await page.addInitScript((k) => sessionStorage.setItem("wangge.key", k), key);
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()} ${m.location()?.url || ""}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // Every POST /v1/plans body the page sends, in order.
  const posts = [];
  page.on("request", (r) => {
    if (r.method() === "POST" && new URL(r.url()).pathname.endsWith("/v1/plans")) posts.push(r.postDataJSON());
  });

  const res = await page.goto(base + "/", { waitUntil: "load" });
  assert.equal(res.status(), 200);
  await page.waitForSelector("body[data-ready='1']", { timeout: 60_000 });
  assert.equal(await page.getAttribute("body", "data-source"), "tiles", "the demo's map draws vector tiles");
  await idle(page);
  assert.equal(await rendered(page, "plan-streets"), null, "streets are loaded by the planner, not the dashboard");

  await page.click("#tab-planner");
  // Vaduz and the Rhine at z13: primary to tertiary roads, rivers and
  // canals, the railway, and units (from z12).
  await page.evaluate(() => window.wangge.map.jumpTo({ center: [9.515, 47.14], zoom: 13 }));
  await idle(page);

  await t.test("the streets layer is drawn under the grids' lines, over their fill", async () => {
    const order = await page.evaluate(() => window.wangge.map.getStyle().layers.map((l) => l.id));
    assert.ok(order.includes("plan-streets"), `no plan-streets layer in the planner's map: ${order.join(", ")}`);
    assert.ok(order.indexOf("grids-fill") < order.indexOf("plan-streets") && order.indexOf("plan-streets") < order.indexOf("grids-line"),
      `plan-streets is not between grids-fill and grids-line: ${order.join(", ")}`);
    assert.equal(await visibility(page, "plan-streets"), "visible");
    const streets = await rendered(page, "plan-streets");
    assert.ok(streets.length > 0, "no street drawn in the planner");
    const kinds = new Set(streets.map((s) => s.kind));
    assert.ok(kinds.has("road") && kinds.has("water"), `kinds drawn: ${[...kinds]}; want roads and the Rhine's waters`);
    // The names drawn are the server's streets.
    const names = new Set((await getJSON("/collections/streets/items?limit=10000")).features.map((f) => f.properties.name));
    const drawn = streets.map((s) => s.name).filter(Boolean);
    assert.ok(drawn.length > 0 && drawn.every((n) => names.has(n)), "street names drawn that the streets collection does not have");
  });

  await t.test("the units are drawn for the planner", async () => {
    const units = [...(await rendered(page, "plan-units-fill")), ...(await rendered(page, "plan-units"))];
    assert.ok(units.length > 0, "no unit drawn around Vaduz");
    const kinds = new Set((await getJSON("/collections/units/items?limit=10000")).features.map((f) => f.properties.kind));
    assert.ok(units.every((u) => kinds.has(u.kind)), `unit kinds drawn: ${[...new Set(units.map((u) => u.kind))]}`);
  });

  await t.test("the toggle and leaving the view hide streets and units", async () => {
    const layers = ["plan-streets", "plan-units-fill", "plan-units"];
    await page.uncheck("#plan-streets-toggle");
    await idle(page);
    for (const l of layers) assert.equal(await visibility(page, l), "none", `${l} after the toggle is off`);
    assert.equal((await rendered(page, "plan-streets")).length, 0);
    await page.check("#plan-streets-toggle");
    await idle(page);
    for (const l of layers) assert.equal(await visibility(page, l), "visible", `${l} after the toggle is on`);
    assert.ok((await rendered(page, "plan-streets")).length > 0);

    await page.click("#tab-dashboard");
    for (const l of layers) assert.equal(await visibility(page, l), "none", `${l} in the dashboard`);
    await page.click("#tab-planner");
    await idle(page);
    assert.ok((await rendered(page, "plan-streets")).length > 0, "streets not drawn again on coming back");
  });

  /**
   * Redraws Planken from the published plan with the weight chosen; resolves
   * with the request's body and the new plan as GET /v1/plans/{id} gives it,
   * once the page shows that plan.
   */
  const redraw = async (weight) => {
    const n = posts.length;
    await page.selectOption("#plan-parent", "LI-05"); // Planken, the smallest
    await page.fill("#plan-form input[name=target]", "300");
    await page.selectOption("#plan-form select[name=weight]", weight);
    const posted = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname.endsWith("/v1/plans"), { timeout: 30_000 });
    await page.click("#plan-generate");
    let job = await (await posted).json();
    for (const start = Date.now(); job.status === "running" && Date.now() - start < 90_000;) {
      await new Promise((r) => setTimeout(r, 200));
      job = await getJSON(`/v1/plans/${job.id}`);
    }
    assert.equal(job.status, "done", `plan job: ${JSON.stringify(job)}`);
    await page.waitForFunction((id) => (document.querySelector("#plan-result h3")?.textContent || "").startsWith(`Plan ${id}:`), job.plan_id, { timeout: 30_000 });
    assert.equal(posts.length, n + 1, "one POST /v1/plans for one click");
    return { body: posts[n], plan: await getJSON(`/v1/plans/${job.plan_id}`) };
  };

  let households, workload;
  await t.test("the weight choice goes into the redraw's request and its report", async () => {
    households = await redraw("households");
    workload = await redraw("workload");
    assert.equal(households.body.weight, undefined, "households, the default, is sent as no weight");
    assert.equal(workload.body.weight, "workload");
    // The two requests differ in the weight alone.
    const { weight, ...rest } = workload.body;
    assert.deepEqual(rest, households.body);
    assert.ok(households.body.base > 0 && households.body.lock.length > 0, "a redraw of one area: from the published plan, the others locked");
    assert.equal(workload.plan.report.weight, "workload");
    assert.notEqual(households.plan.report.weight, "workload");
    assert.equal((await page.textContent("#plan-report td[data-key=weight]")).trim(), "workload (households, events, units, area)");
  });

  await t.test("the comparison shows each grid's street share", async () => {
    const { plan } = workload;
    const published = (await getJSON("/v1/plans")).plans.find((p) => p.published);
    const before = new Map((await getJSON(`/v1/plans/${published.id}`)).grids.map((g) => [g.code, g]));
    assert.equal((await page.textContent("#plan-report td[data-key=street_share_pct]")).trim(), num(plan.report.street_share_pct));
    assert.ok(plan.report.street_share_pct > 0, "the demo plan's boundaries follow no street");
    await page.click("#plan-grids summary");
    const rows = await page.$$eval("#plan-grids tbody tr", (trs) => trs.map((tr) => [tr.dataset.code, ...[...tr.querySelectorAll("td")].map((td) => td.textContent.trim())]));
    assert.equal(rows.length, plan.grids.length, "one row per grid of the new plan");
    let shares = 0;
    for (const [code, households, share, shareBefore] of rows) {
      const g = plan.grids.find((x) => x.code === code);
      assert.ok(g, `row ${code} is not a grid of plan ${plan.id}`);
      assert.equal(households, num(g.households), `${code}: households`);
      assert.equal(share, num(g.street_share_pct), `${code}: street share`);
      assert.equal(shareBefore, num(before.get(code)?.street_share_pct), `${code}: street share in plan ${published.id}`);
      if (g.street_share_pct > 0) shares++;
    }
    // A grid alone in its area shares no boundary; most do, and follow streets.
    assert.ok(shares >= rows.length / 2, `${shares} of ${rows.length} grids with a street share above 0`);
    await idle(page);
    await page.screenshot({ path: join(outDir, "planner-streets.png") });
  });

  assert.deepEqual(problems, [], "console or page errors");
  await page.close();
});
