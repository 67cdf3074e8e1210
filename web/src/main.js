// wangge's map page: a dashboard, a field view and a planner's view over one
// MapLibre map. Built by ../build.mjs; served by the Go binary at GET /.
// The CSP build: no blob: worker, no eval; its worker is a file (build.mjs).
import maplibregl from "maplibre-gl/dist/maplibre-gl-csp.js";
// Only the protocol: MapLibre asks it for pmtiles:// sources, and it reads
// the archive with range requests (the static site of wangge export).
import { Protocol } from "pmtiles";
import "maplibre-gl/dist/maplibre-gl.css";
import "./style.css";

import { absolute, allFeatures, api, apiKey, authHeaders, routes, setAPIKey } from "./api.js";
import { addLayers, bbox, cjkFonts, followLabels } from "./layers.js";
import { formatNumber, initLang, lang, languages, missing, remember, t, translateDOM } from "./i18n.js";
import { atLeast, indexTaxonomy } from "./events.js";
import { $, clearError, setStatus, showError } from "./ui.js";
import { Dashboard } from "./dashboard.js";
import { Field } from "./field.js";
import { Planner } from "./planner.js";
import { Live } from "./live.js";
import { Offline, forgetDevice, registerWorker } from "./offline.js";
import { basemapNames, chooseBasemap, inCRS, keep, loadBasemap, toMap, withBasemap } from "./basemap.js";
import { siteConfigURL, startSite } from "./site.js";

// The reader's language first: every string after this is in it.
initLang(window);
translateDOM(document);

// The CSP build's worker is a file next to this script (build.mjs names it).
maplibregl.setWorkerUrl(absolute(`assets/${WORKER_FILE}`));
// A style may draw a tile archive (serve --archive-url, or the static site).
maplibregl.addProtocol("pmtiles", new Protocol().tile);

const attribution =
  '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap contributors</a>, ' +
  '<a href="https://opendatacommons.org/licenses/odbl/1-0/">ODbL</a>';

/** The Key button: an API key for servers that ask for one. */
function keyDialog() {
  const dlg = $("#key-dialog"), form = $("#key-form");
  $("#key-button").textContent = apiKey() ? t("key.buttonSet") : t("key.button");
  $("#key-button").addEventListener("click", () => {
    form.key.value = apiKey();
    dlg.showModal();
  });
  form.addEventListener("submit", (e) => {
    if (e.submitter && e.submitter.value === "cancel") return;
    const next = e.submitter && e.submitter.value === "forget" ? "" : form.key.value.trim();
    // Another key: what the last one kept on the device goes.
    const forget = next !== apiKey() ? forgetDevice() : Promise.resolve();
    setAPIKey(next, form.remember.checked);
    forget.finally(() => location.reload()); // every layer and view starts again with the key
  });
}

/** The language switch: the choice is kept on the device and in the address. */
function langSwitch() {
  const pick = $("#lang");
  pick.replaceChildren(...languages.map(([tag, words]) => {
    const o = document.createElement("option");
    o.value = tag;
    o.lang = tag;
    o.textContent = words;
    return o;
  }));
  pick.value = lang();
  pick.addEventListener("change", () => {
    remember(pick.value);
    const u = new URL(location.href);
    if (u.searchParams.has("lang")) u.searchParams.set("lang", pick.value);
    location.replace(u.href); // every view starts again in the new language
  });
}

/** The device's storage, or null where the browser refuses it. */
function storage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/**
 * The base-map switch: none (or the server's own, --basemap), AMap, or
 * Tianditu with the user's key (asked for in a dialog). A change is kept
 * and the page starts again in the address that names it: over AMap the
 * whole page works in GCJ-02.
 */
function basemapSwitch(choice, server) {
  const pick = $("#basemap"), dlg = $("#tk-dialog"), form = $("#tk-form");
  const words = { "": server ? t("basemap.server") : t("basemap.none"), amap: t("basemap.amap"), tianditu: t("basemap.tianditu") };
  pick.replaceChildren(...["", ...basemapNames].map((name) => Object.assign(document.createElement("option"), { value: name, textContent: words[name] })));
  pick.value = choice.name;
  const go = (next) => {
    keep(next, storage());
    location.replace(withBasemap(location.href, next));
  };
  pick.addEventListener("change", () => {
    if (pick.value !== "tianditu") {
      go({ name: pick.value, tk: "" });
      return;
    }
    form.tk.value = choice.tk;
    dlg.showModal();
  });
  form.addEventListener("submit", (e) => {
    if (e.submitter && e.submitter.value === "save") go({ name: "tianditu", tk: form.tk.value.trim() });
  });
  dlg.addEventListener("close", () => (pick.value = choice.name)); // cancelled: the switch shows what is drawn
}

async function start() {
  // A static site (wangge export --format site) names its config here: no
  // API behind it, no key to send, no server style to take a base map from.
  const siteURL = siteConfigURL();
  // A base map kept on the device goes into the address first: the server
  // lets its tile hosts through the page's CSP only when the address names it.
  const { choice, unknown, address } = siteURL ? { choice: { name: "", tk: "" } } : chooseBasemap(location.href, storage());
  if (address) {
    location.replace(address);
    return;
  }
  langSwitch();
  $("#error-close").addEventListener("click", clearError);
  if (!siteURL) keyDialog();
  const origin = new URL(document.baseURI).origin;
  const map = new maplibregl.Map({
    container: "map",
    style: {
      version: 8,
      sources: {},
      // Label glyphs: Latin from this server (cmd/glyphs), CJK drawn by
      // the browser (localIdeographFontFamily below).
      glyphs: `${absolute("fonts/")}{fontstack}/{range}.pbf`, // braces kept: new URL would escape them
      layers: [{ id: "background", type: "background", paint: { "background-color": "#f4f1ea" } }],
    },
    center: [0, 20],
    zoom: 1,
    attributionControl: false,
    hash: false,
    localIdeographFontFamily: cjkFonts,
    // MapLibre's own words (its controls' titles, the scale's units).
    locale: Object.fromEntries(["AttributionControl.ToggleAttribution", "Map.Title", "NavigationControl.ZoomIn", "NavigationControl.ZoomOut",
      "Popup.Close", "ScaleControl.Meters", "ScaleControl.Kilometers"].map((k) => [k, t(`maplibre.${k}`)])),
    dragRotate: false,
    pitchWithRotate: false,
    maxPitch: 0,
    // Tiles and GeoJSON from this server carry the API key, if there is one.
    transformRequest: (url) => (!siteURL && url.startsWith(origin) && apiKey() ? { url, headers: authHeaders() } : { url }),
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.AttributionControl({ compact: false, customAttribution: attribution }), "bottom-left");
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
  // The page's own state, for people debugging it and for the browser test.
  window.wangge = { map, lang: lang(), i18nMissing: missing, basemap: choice.name, crs: "wgs84" };
  const serverBasemap = document.querySelector("meta[name=wangge-basemap]")?.content || "";
  if (!siteURL) basemapSwitch(choice, serverBasemap);
  if (unknown) showError(t("basemap.label"), new Error(t("basemap.unknown", { name: unknown })));
  let views = null;
  map.on("error", (e) => {
    // Without signal, a tile the device did not keep is no news.
    if (!navigator.onLine && (e.tile || (e.error && e.error.status === 0))) return;
    showError(t("err.map"), e.error || e);
  });
  if (siteURL) {
    const getJSON = async (u) => {
      const res = await fetch(new URL(u, document.baseURI));
      if (!res.ok) throw new Error(t("site.fetchFailed", { url: u, status: res.status }));
      return res.json();
    };
    const site = await getJSON(siteURL);
    window.wangge.site = site;
    return startSite(map, site, { getJSON, base: document.baseURI });
  }

  const have = await routes();
  // The chosen base map, from the server's style: its tiles, and the CRS
  // the page draws in over it (GCJ-02 over AMap). Without it, WGS 84.
  // Tianditu without a key (an address without tk): ask for it rather
  // than show the style's refusal.
  const needKey = choice.name === "tianditu" && !choice.tk;
  if (needKey) $("#tk-dialog").showModal();
  const base = choice.name && !needKey ? await loadBasemap(choice).catch((e) => (showError(t("basemap.label"), e), null)) : null;
  const crs = base ? base.crs : "wgs84";
  window.wangge.crs = crs;
  // Who the key is (its role, its worker) and the taxonomy of events; both
  // optional, so the page still works with servers that lack them.
  const tilesPath = inCRS("tiles/areas,grids.json", crs);
  const tiles = have.has("GET /tiles/{layers}.json") ? absolute(tilesPath) : null;
  // The TileJSON names the grid layer's fields: with risk, the server
  // computes risk levels and the grids are coloured by them.
  const [me, taxonomy, tilejson] = await Promise.all([
    have.has("GET /v1/me") ? api("v1/me").catch((e) => (showError(t("err.me"), e), null)) : null,
    have.has("GET /v1/taxonomy") ? api("v1/taxonomy").catch((e) => (showError(t("err.taxonomy"), e), null)) : null,
    tiles ? api(tilesPath).catch(() => null) : null,
  ]);
  const role = me && me.role ? me.role : "";
  // Plans, cameras and the roster are for planners: with a known lesser
  // role they are not asked for (a refused request is noise in the
  // browser's console); with an unknown one a 401/403 is no error, the
  // planner view just says what it needs.
  let canPlan = !role || atLeast(role, "planner");
  const plans = canPlan ? await api("v1/plans").catch((e) => {
    if (e.status === 401 || e.status === 403) canPlan = false;
    else showError(t("err.plans"), e);
    return { plans: [] };
  }) : { plans: [] };
  let workers = null; // the roster, for planners; others type a worker id
  if (role && atLeast(role, "planner") && have.has("GET /v1/workers")) {
    workers = await api("v1/workers").then((r) => r.workers || []).catch((e) => (showError(t("err.workers"), e), null));
  }
  const published = (plans.plans || []).find((p) => p.published) || null;
  await new Promise((resolve) => (map.loaded() ? resolve() : map.once("load", resolve)));

  document.body.dataset.source = tiles ? "tiles" : "geojson";
  // A chosen base map replaces the server's: that one is in WGS 84.
  $("#basemap-toggle").hidden = !base && !serverBasemap;
  addLayers(map, { tiles, target: published ? published.target : 300, basemap: base ? "" : serverBasemap, base, lang: lang() });
  followLabels(map, tiles);

  const gridFields = tilejson ? ((tilejson.vector_layers || []).find((l) => l.id === "grids") || {}).fields || {} : null;
  const ctx = {
    map, have, published, canPlan, tiles, areas: null, reloadGrids: null,
    // The map's CRS: what the GeoJSON it draws is asked for in (inMap), what
    // the page's own WGS 84 positions are converted to (toMap), and what a
    // click on it is in.
    crs, tilesPath, inMap: (path) => inCRS(path, crs), toMap: (p) => toMap(p, crs),
    // Risk levels: in the grid tiles' fields, or (without tiles) with the rollups.
    hasRisk: gridFields ? "risk" in gridFields : have.has("GET /v1/stats"),
    // Workers by id, for their names: the roster, the key's own worker, and
    // the staff of grids the field view located.
    me, role, workers, workerIndex: new Map([...(workers || []), me && me.worker].filter(Boolean).map((w) => [w.id, w])),
    tax: indexTaxonomy(taxonomy), lang: lang(),
    // After an event is reported or moved: the map, the tables and the
    // lists of events follow; from is the event panel that made a move.
    eventsChanged: (from) => Promise.all([views.dashboard.reloadEvents(from), views.field.loadMine(from)]),
  };
  // Areas are needed by the planner (its list of parents) and to frame the
  // map; with tiles they are fetched for those alone.
  ctx.areasPath = inCRS("collections/areas/items?limit=10000", crs);
  const areasReq = api(ctx.areasPath);
  ctx.reloadGrids = async () => {
    if (tiles) {
      map.getSource("wangge").setUrl(tiles);
    } else {
      map.getSource("grids").setData(await allFeatures(ctx.inMap("collections/grids/items")));
    }
  };
  try {
    ctx.areas = await areasReq;
    if (!tiles) {
      map.getSource("areas").setData(ctx.areas);
      await ctx.reloadGrids();
    }
    const b = bbox(ctx.areas);
    if (b) map.fitBounds(b, { padding: 20, animate: false });
  } catch (e) {
    showError(t("err.areas"), e);
  }

  // A worker's key: the page keeps their work on the device and works
  // without signal (offline.js, sw.js).
  ctx.offline = me && me.worker ? new Offline(ctx, () => ctx.eventsChanged()) : null;
  window.wangge.offline = ctx.offline;
  views = {
    dashboard: new Dashboard(ctx),
    field: new Field(ctx),
    planner: new Planner(ctx),
  };
  ctx.gridPaint = () => views.dashboard.gridPaint();
  let current = "dashboard";
  const select = (name) => {
    for (const tab of document.querySelectorAll("[role=tab]")) {
      const on = tab.dataset.view === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      $(`#view-${tab.dataset.view}`).hidden = !on;
    }
    document.body.dataset.view = name;
    if (name !== current) {
      views[current].leave?.();
      current = name;
      views[current].enter?.();
    }
  };
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const [i, tab] of tabs.entries()) {
    tab.addEventListener("click", () => select(tab.dataset.view));
    // Arrow keys move between tabs, as the ARIA tabs pattern has it.
    tab.addEventListener("keydown", (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      next.focus();
      select(next.dataset.view);
    });
  }
  map.on("click", (e) => views[current].click?.(e));
  map.on("mousemove", (e) => {
    const layers = current === "dashboard" || current === "planner" ? ["grids-fill"] : [];
    const hit = layers.length && map.queryRenderedFeatures(e.point, { layers }).length;
    map.getCanvas().style.cursor = current === "field" || hit ? "pointer" : "";
  });
  ctx.onPublished = () => views.dashboard.refresh();
  /** Which plan is published, for planners (others cannot list plans). */
  const reloadPlans = async () => {
    if (!ctx.canPlan) return;
    const plans = await api("v1/plans");
    ctx.published = (plans.plans || []).find((p) => p.published) || null;
  };
  /** Loads everything again: the Refresh button, and a reset of the stream. */
  const reloadAll = async () => {
    await reloadPlans();
    await Promise.all([ctx.reloadGrids(), views.dashboard.reload(), views.field.loadMine()]);
    setStatus(ctx.canPlan ? statusLine(ctx.published) : whoLine(me));
  };
  $("#refresh").addEventListener("click", async () => {
    const b = $("#refresh");
    b.disabled = true;
    try {
      await reloadAll();
    } catch (e) {
      showError(t("err.refresh"), e);
    } finally {
      b.disabled = false;
    }
  });
  // The stream of changes, opened before the first load so that nothing
  // made meanwhile is missed (its messages wait for the load).
  const live = have.has("GET /v1/changes") ? new Live({
    hazards: (msgs) => {
      views.dashboard.applyChanges(msgs);
      views.field.applyChanges(msgs);
    },
    grids: () => views.dashboard.liveFigures(true).catch((e) => showError(t("err.grids"), e)),
    plans: async () => {
      try {
        await reloadPlans();
        await Promise.all([ctx.reloadGrids(), views.dashboard.refresh(), views.planner.listPlans?.()]);
        setStatus(ctx.canPlan ? statusLine(ctx.published) : whoLine(me));
      } catch (e) {
        showError(t("err.plans"), e);
      }
    },
    reset: () => {
      // Counted for people debugging the page and for the browser test.
      document.body.dataset.resets = String(Number(document.body.dataset.resets || 0) + 1);
      return reloadAll().catch((e) => showError(t("err.reload"), e));
    },
    state: liveState,
  }) : null;
  ctx.live = live;
  window.wangge.live = live;
  live?.start();
  $("#live").hidden = !live;
  // A field worker's key opens on their own events; everyone else on the
  // dashboard.
  select(me && me.worker ? "field" : "dashboard");
  if (ctx.offline) {
    registerWorker();
    ctx.offline.start().catch((e) => showError(t("offline.heading"), e));
  } else {
    $("#offline-box").replaceChildren(Object.assign(document.createElement("p"), { className: "note", textContent: t("offline.needWorker") }));
  }
  await Promise.all([views.dashboard.load(), views.field.loadMine()]);
  live?.loaded();
  setStatus(canPlan ? statusLine(published) : whoLine(me));
  map.once("idle", () => (document.body.dataset.ready = "1"));
  map.triggerRepaint();
}

/** The header's live indicator: whether the page follows changes now. */
function liveState(state, detail) {
  const dot = $("#live");
  dot.dataset.state = state;
  const known = ["connecting", "open", "behind", "retrying", "stopped"];
  const params = {
    why: detail && detail.why ? detail.why : t("live.noConnection"),
    message: detail && detail.message ? detail.message : t("live.refused"),
  };
  const words = known.includes(state) ? [t(`live.${state}`), t(`live.${state}Title`, params)] : [state, ""];
  dot.textContent = words[0];
  dot.title = words[1];
}

/** The header's line for those who cannot plan: who the key acts for. */
function whoLine(me) {
  if (me && me.worker) return t("status.workerKey", { name: me.worker.name || me.worker.id, role: t(`role.${me.role}`) });
  return me && me.role ? t("status.roleKey", { role: t(`role.${me.role}`) }) : t("status.published");
}

/** The header's line about the published plan. */
function statusLine(p) {
  return p ? t("status.plan", { id: p.id, grids: formatNumber(p.report.grids), target: formatNumber(p.target) }) : t("status.noPlan");
}

start().catch((e) => {
  showError(t("err.start"), e);
  setStatus(t("status.failed"));
});
