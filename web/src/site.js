// The map page as a static snapshot, written by `wangge export --format
// site`: a plain file host (or a CDN) serves the page, site.json, style.json
// and a PMTiles archive, and nothing else. The map is the exported
// style.json, whose source is pmtiles://ARCHIVE, read with range requests
// through the pmtiles protocol (registered in main.js). Nothing here asks an
// API: there is none, and a request to one would only fail.
import { formatDateTime, formatNumber, t } from "./i18n.js";
import { $, el, kvTable, setStatus } from "./ui.js";

/** The meta tag the export fills with the name of the site's config. */
export function siteConfigURL(doc = document) {
  return doc.querySelector("meta[name=wangge-site]")?.content || "";
}

/**
 * The exported style with its page-relative URLs made absolute against the
 * page: the style spec does not say what a relative glyphs URL or one
 * inside pmtiles:// is relative to, and a site may live under any path of
 * its host.
 */
export function absoluteStyle(style, base) {
  const abs = (u) => new URL(u, base).href;
  const out = { ...style, sources: {} };
  if (style.glyphs) {
    // Braces kept: new URL would escape them.
    out.glyphs = style.glyphs.replace(/^[^{]*/, (head) => abs(head));
  }
  for (const [id, src] of Object.entries(style.sources || {})) {
    const s = { ...src };
    if (typeof s.url === "string" && s.url.startsWith("pmtiles://") && !/^pmtiles:\/\/[a-z]+:/i.test(s.url)) {
      s.url = "pmtiles://" + abs(s.url.slice("pmtiles://".length));
    }
    out.sources[id] = s;
  }
  return out;
}

/** The grid tile fields the panel shows, in this order (words: site.field.<name>). */
const gridFields = ["name", "parent_code", "households", "deviation_pct", "area_km2", "worker", "risk"];

/** The panel of one grid clicked on the map: what its tile holds. */
function gridPanel(props) {
  const value = (k) => {
    const v = props[k];
    if (v === undefined || v === null || v === "") return null;
    if (k === "deviation_pct") return t("unit.pct", { v: formatNumber(v) });
    return typeof v === "number" ? formatNumber(v, { maximumFractionDigits: 3 }) : String(v);
  };
  const rows = gridFields.map((k) => (value(k) === null ? null : [t(`site.field.${k}`), value(k)]));
  return kvTable(rows, t("grid.title", { code: props.code }));
}

/**
 * A switch per tile layer the site holds: each shows or hides every style
 * layer drawn from it (fill, line, label, clusters).
 */
function layerSwitches(map, names) {
  const setVisible = (name, on) => {
    for (const l of map.getStyle().layers) {
      if (l["source-layer"] === name) map.setLayoutProperty(l.id, "visibility", on ? "visible" : "none");
    }
  };
  $("#site-layers").replaceChildren(...names.map((name) => el("li", {},
    el("label", {}, el("input", { type: "checkbox", checked: true, dataset: { layer: name }, onchange: (e) => setVisible(name, e.target.checked) }),
      " ", t(`layers.${name}`)))));
}

/** Hides what needs the live service: views, sign-in, refresh, the stream, API links. */
function hideLive() {
  for (const sel of ["nav[role=tablist]", "#key-button", "#refresh", "#live", "#view-dashboard", "#view-field", "#view-planner", "#footer-api"]) {
    const e = $(sel);
    if (e) e.hidden = true;
  }
  // The base-map switch: its base maps come from a server's style.
  const basemap = $("#basemap")?.closest("label");
  if (basemap) basemap.hidden = true;
  $("#view-site").hidden = false;
  document.body.dataset.view = "site";
}

/**
 * Starts the page in static mode: site is the parsed site.json, map a
 * MapLibre map; the style is loaded from the site and the grids answer
 * clicks from their tiles.
 */
export async function startSite(map, site, { getJSON, base }) {
  hideLive();
  document.body.dataset.source = "archive";
  const when = site.exported ? formatDateTime(new Date(site.exported)) : "—";
  $("#site-notice").textContent = t("site.snapshot", { time: when });
  setStatus(t("site.status", { title: site.title || "wangge", time: when }));
  const style = absoluteStyle(await getJSON(site.style || "style.json"), base);
  // Not a diff against the page's empty start style: a new style, whose
  // load is then announced.
  const loaded = new Promise((resolve) => map.once("style.load", resolve));
  map.setStyle(style, { diff: false });
  await loaded;
  const b = site.bounds;
  if (Array.isArray(b) && b.length === 4) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, animate: false });
  layerSwitches(map, (site.layers || []).filter((name) => style.layers.some((l) => l["source-layer"] === name)));
  map.on("click", (e) => {
    const hit = map.getLayer("grids-fill") ? map.queryRenderedFeatures(e.point, { layers: ["grids-fill"] }) : [];
    const box = $("#site-grid");
    if (!hit.length) {
      box.replaceChildren(el("p", { class: "note" }, t("site.noGrid")));
      return;
    }
    const props = hit[0].properties || {};
    document.body.dataset.grid = String(props.code ?? "");
    box.replaceChildren(gridPanel(props));
  });
  map.on("mousemove", (e) => {
    const hit = map.getLayer("grids-fill") && map.queryRenderedFeatures(e.point, { layers: ["grids-fill"] }).length;
    map.getCanvas().style.cursor = hit ? "pointer" : "";
  });
  map.once("idle", () => (document.body.dataset.ready = "1"));
  map.triggerRepaint();
}
