// The page's base map: none (or the server's --basemap), AMap (高德) or
// Tianditu (天地图, with the user's key). The choice comes from the address
// (?basemap=amap, ?basemap=tianditu&tk=KEY, ?basemap=none) or the header's
// switch and is kept on the device; a kept choice is put back into the
// address before the page starts, because the server lets a base map's tile
// hosts through the page's CSP only when the address names it.
//
// The tile URLs are not written here: they come from the server's
// /style.json?basemap=… (tiles/basemap.go), whose raster sources and layers
// the page draws, and whose vector source says in which CRS wangge's tiles
// must be drawn over them (crs=gcj02 over AMap). The page then works in that
// CRS throughout: every GeoJSON it draws is asked for in it (inCRS), the
// positions it computes itself are converted into it (toMap), and a map
// click is sent with it.
import { api } from "./api.js";
import { toWgs84, wgs84ToGcj02 } from "./offline/crs.js";

const storeKey = "wangge.basemap";

/** The base maps the page offers besides none; the server's presets. */
export const basemapNames = ["amap", "tianditu"];

/** A choice from a name and key: {name: "" | "amap" | "tianditu", tk}. */
const normal = (name, tk) => ({ name: basemapNames.includes(name) ? name : "", tk: name === "tianditu" ? String(tk || "") : "" });

/**
 * The choice for this page: the address wins (and is kept), then the
 * choice kept on the device. Returns {choice, unknown, address}: unknown is
 * a name the address gave that is no base map; address, when not null, is
 * the page's address with the kept choice in it, to go to before starting.
 */
export function chooseBasemap(href, storage) {
  const u = new URL(href);
  if (u.searchParams.has("basemap")) {
    const name = u.searchParams.get("basemap");
    const choice = normal(name, u.searchParams.get("tk"));
    keep(choice, storage);
    return { choice, unknown: name && name !== "none" && !choice.name ? name : "", address: null };
  }
  let kept = null;
  try {
    const v = JSON.parse(storage.getItem(storeKey) || "null");
    if (v && typeof v === "object") kept = normal(v.name, v.tk);
  } catch { /* storage refused, or not ours */ }
  if (!kept || !kept.name) return { choice: normal(""), unknown: "", address: null };
  return { choice: kept, unknown: "", address: withBasemap(href, kept) };
}

/** Keeps a choice on the device. */
export function keep(choice, storage) {
  try {
    storage.setItem(storeKey, JSON.stringify(choice));
  } catch { /* storage refused: the address still carries it */ }
}

/** href with the choice in its query (basemap=none for none, so that it wins over a kept one). */
export function withBasemap(href, { name, tk }) {
  const u = new URL(href);
  u.searchParams.set("basemap", name || "none");
  if (name === "tianditu" && tk) u.searchParams.set("tk", tk);
  else u.searchParams.delete("tk");
  return u.href;
}

/**
 * The base map of a choice from the server's style: {crs, sources: [[id,
 * source]], layers} with the style's raster sources and layers (drawn
 * under everything) and the CRS wangge's layers are drawn in over them:
 * the crs of the style's own vector source ("gcj02" over AMap), else wgs84.
 */
export async function loadBasemap({ name, tk }) {
  const q = new URLSearchParams({ basemap: name });
  if (tk) q.set("tk", tk);
  return basemapFromStyle(await api(`style.json?${q}`));
}

/** The part of a /style.json that is the base map (see loadBasemap). */
export function basemapFromStyle(style) {
  const raster = Object.entries(style.sources || {}).filter(([, s]) => s.type === "raster");
  const ids = new Set(raster.map(([id]) => id));
  const layers = (style.layers || []).filter((l) => ids.has(l.source));
  let crs = "wgs84";
  const own = (style.sources || {}).wangge;
  if (own && own.url) {
    try {
      crs = new URL(own.url).searchParams.get("crs") || "wgs84";
    } catch { /* a pmtiles:// URL: WGS 84 */ }
  }
  return { crs, sources: raster, layers };
}

/** path with crs=… added when the map is not in WGS 84: GeoJSON answers in the map's CRS. */
export function inCRS(path, crs) {
  if (!crs || crs === "wgs84") return path;
  return `${path}${path.includes("?") ? "&" : "?"}crs=${crs}`;
}

/** A WGS 84 position [lon, lat] in the map's CRS. */
export function toMap(p, crs) {
  return crs === "gcj02" ? wgs84ToGcj02(p) : [p[0], p[1]];
}

/** A position in the map's CRS in WGS 84. */
export const fromMap = (p, crs) => toWgs84(p, crs || "wgs84");

/** A copy of a WGS 84 GeoJSON feature (or collection) with every position in the map's CRS. */
export function featureToMap(f, crs) {
  if (!f || !crs || crs === "wgs84") return f;
  const conv = (c) => (typeof c[0] === "number" ? toMap(c, crs) : c.map(conv));
  const geom = (g) => (!g ? g : g.type === "GeometryCollection" ? { ...g, geometries: g.geometries.map(geom) } : { ...g, coordinates: conv(g.coordinates) });
  if (f.type === "FeatureCollection") return { ...f, features: f.features.map((x) => featureToMap(x, crs)) };
  return { ...f, geometry: geom(f.geometry) };
}
