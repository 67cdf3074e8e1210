// The map's sources and layers. Areas and grids come from wangge's vector
// tiles when the server has them, else from its GeoJSON collections; hazards
// and cameras are GeoJSON so that filters act on every feature at every zoom.
// No base map from the internet unless one is chosen (basemap.js): areas and
// grids are the base.
import { statusColours } from "./events.js";
import { t } from "./i18n.js";

/** Hotspot bins −3…+3 and their colours; their meaning is hotspot.bin… in the catalogue. */
export const hotspotBins = [
  [3, "#d73027"],
  [2, "#fc8d59"],
  [1, "#fee090"],
  [0, "#ffffff"],
  [-1, "#e0f3f8"],
  [-2, "#91bfdb"],
  [-3, "#4575b4"],
];

/** Deviation from the target, in percent → colour: blue under, red over. */
export const deviationStops = [[-30, "#4575b4"], [-10, "#abd9e9"], [0, "#ffffff"], [10, "#fdae61"], [30, "#d73027"]];

/** Households per grid → colour, for comparing plans. */
export const householdStops = [[0, "#f7fcf5"], [150, "#c7e9c0"], [300, "#74c476"], [450, "#238b45"], [600, "#00441b"]];

export const emptyFC = () => ({ type: "FeatureCollection", features: [] });

/**
 * Risk levels (红橙黄蓝 management), highest first: the value of the grids
 * tile layer's risk attribute, its colour and its words. A three-level
 * configuration (红黄蓝) leaves orange out; the expression still knows it.
 */
export const riskLevels = [
  ["red", "#d7191c", "红 red"],
  ["orange", "#fd8d3c", "橙 orange"],
  ["yellow", "#fecc5c", "黄 yellow"],
  ["blue", "#2c7bb6", "蓝 blue"],
];
/** The levels as GET /v1/stats names them ({code, zh, en, color}), from riskLevels. */
export const defaultRiskLevels = () => riskLevels.map(([code, color, words]) => ({ code, color, zh: words.split(" ")[0], en: words.split(" ")[1] }));

/** A level's words for a reader of language lang: 红 for Chinese, else 红 red. */
export const riskWords = (l, lang = "en") => (/^zh\b/i.test(lang) ? l.zh || l.code : [l.zh, l.en || l.code].filter(Boolean).join(" "));

/** A grid without a risk level (none computed, or an older server). */
export const noRiskColour = "#dcdcdc";

/**
 * The grids' fill by risk level, from the tiles' (or GeoJSON's) risk
 * attribute: levels are the server's configured ones ({code, color}, as
 * GET /v1/stats names them) or, without them, riskLevels.
 */
export function riskColour(levels) {
  const arms = levels && levels.length ? levels.map((l) => [l.code, l.color]) : riskLevels.map(([v, c]) => [v, c]);
  return ["match", ["to-string", ["coalesce", ["get", "risk"], ""]], ...arms.flat(), noRiskColour];
}

/** Five classes of a rollup figure, light to dark. */
export const figureColours = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];

/**
 * Class breaks of values (numbers; null and NaN ignored) into n classes of
 * about equal counts: n-1 increasing thresholds, a value v in class i when
 * breaks[i-1] <= v < breaks[i]. Equal values stay in one class, so there
 * may be fewer classes than n.
 */
export function classBreaks(values, n = figureColours.length) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return [];
  const out = [];
  for (let i = 1; i < n; i++) {
    const b = v[Math.min(v.length - 1, Math.floor((i * v.length) / n))];
    if (b > v[0] && (!out.length || b > out.at(-1))) out.push(b);
  }
  return out;
}

/** The class of v under breaks (0 … breaks.length). */
export const classOf = (v, breaks) => breaks.filter((b) => v >= b).length;

/**
 * The grids' fill by a figure: values maps a grid code to its number (or
 * null when it has none); a MapLibre match on the code, so no feature ids
 * or feature state are needed. Grids without a value are grey.
 */
export function figureColour(values, breaks, colours = figureColours) {
  const groups = colours.map(() => []);
  for (const [code, v] of values) {
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    groups[Math.min(colours.length - 1, classOf(v, breaks))].push(code);
  }
  const arms = [];
  groups.forEach((codes, i) => codes.length && arms.push(codes, colours[i]));
  if (!arms.length) return noRiskColour;
  return ["match", ["to-string", ["get", "code"]], ...arms, noRiskColour];
}

/** An expression: a grid's deviation from target in percent. */
const deviation = (target) => ["*", 100, ["/", ["-", ["to-number", ["get", "households"], 0], target], target]];

export function gridFillColour(target) {
  // Tiles carry the deviation from the plan's own target; GeoJSON grids
  // only households, so it is computed from the target here.
  const dev = ["case", ["has", "deviation_pct"], ["to-number", ["get", "deviation_pct"], 0], deviation(target || 1)];
  const ramp = ["interpolate", ["linear"], dev];
  for (const [v, c] of deviationStops) ramp.push(v, c);
  return ["case", ["==", ["to-number", ["get", "households"], 0], 0], "#dcdcdc", ramp];
}

export function householdColour(stops = householdStops) {
  const ramp = ["interpolate", ["linear"], ["to-number", ["get", "households"], 0]];
  for (const [v, c] of stops) ramp.push(v, c);
  return ramp;
}

/**
 * Labels. The style's fontstack: Latin glyphs come from this server
 * (/fonts/…, built from DejaVu Sans), CJK is drawn by the browser's own
 * fonts (the map's localIdeographFontFamily). tiles/style.go uses the same
 * font, zooms and fields.
 */
export const labelFont = ["DejaVu Sans"];
/** The browser fonts MapLibre draws Chinese (and Japanese, Korean) with. */
export const cjkFonts = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif";
/**
 * From which zoom labels show. A grid is ~0.1–1 km² (a few hundred
 * households): ~300–1,000 m across. At z14 a pixel is ~7 m at 40° N
 * (156,543 m·cos φ / 2^z), so a 0.5 km² grid is ~100 px wide, room for a
 * 15-digit code at 11 px; smaller grids get theirs at z15, where collision
 * lets them in. Streets (街道/乡镇, several km²) from z11, communities
 * (社区/村, 1–3 km²) from z13, the worker's name from z16.
 */
export const labelZooms = { street: 11, community: 13, grid: 14, worker: 16 };

/** The text of a grid's label: name and code, with its worker from labelZooms.worker. */
export function gridLabelText() {
  const name = ["coalesce", ["get", "name"], ""];
  const base = ["case", ["==", name, ""], ["to-string", ["get", "code"]], ["concat", name, "\n", ["to-string", ["get", "code"]]]];
  const worker = ["coalesce", ["get", "worker"], ""];
  return ["step", ["zoom"], base, labelZooms.worker, ["case", ["==", worker, ""], base, ["concat", base, "\n", worker]]];
}

/** The text of an area's label: its name, in English where it has one and the page is not Chinese. */
export function areaLabelText(lang = "en") {
  return /^zh\b/i.test(lang) ? ["coalesce", ["get", "name"], ["get", "code"]] : ["coalesce", ["get", "name_en"], ["get", "name"], ["get", "code"]];
}

/** Area (in degrees², signed) and centroid of a ring [[lon, lat], …]. */
function ringCentroid(ring) {
  let a = 0, x = 0, y = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [x0, y0] = ring[j], [x1, y1] = ring[i];
    const f = x0 * y1 - x1 * y0;
    a += f;
    x += (x0 + x1) * f;
    y += (y0 + y1) * f;
  }
  return a ? { area: a / 2, c: [x / (3 * a), y / (3 * a)] } : { area: 0, c: ring[0] };
}

/** Whether [x, y] is inside polygon (rings: outer, holes), even-odd. */
function inPolygon([x, y], rings) {
  let inside = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/** A point inside polygon: the middle of the longest run of the scanline through its middle. */
function interiorPoint(rings) {
  let s = Infinity, n = -Infinity;
  for (const [, y] of rings[0]) (s = Math.min(s, y)), (n = Math.max(n, y));
  const y = (s + n) / 2, xs = [];
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y)) xs.push(((xj - xi) * (y - yi)) / (yj - yi) + xi);
    }
  }
  xs.sort((p, q) => p - q);
  let best = null;
  for (let i = 0; i + 1 < xs.length; i += 2) if (!best || xs[i + 1] - xs[i] > best[1] - best[0]) best = [xs[i], xs[i + 1]];
  return best ? [(best[0] + best[1]) / 2, y] : rings[0][0];
}

/**
 * One label point per feature from the pieces MapLibre holds of it (each
 * tile has its own clipped piece, so labels placed on the polygons would
 * repeat once per tile): the area-weighted centroid of the pieces when it
 * falls inside one, else a point inside the largest piece. features are
 * GeoJSON-like {properties, geometry: Polygon | MultiPolygon}, key the
 * property that names a feature. Returns a FeatureCollection of points with
 * the first piece's properties.
 */
export function labelPoints(features, key = "code") {
  const groups = new Map();
  for (const f of features) {
    const g = f.geometry;
    if (!g || !f.properties || f.properties[key] === undefined) continue;
    const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    const k = String(f.properties[key]);
    if (!groups.has(k)) groups.set(k, { props: f.properties, polys: [] });
    groups.get(k).polys.push(...polys.filter((p) => p.length && p[0].length > 3));
  }
  const out = [];
  for (const { props, polys } of groups.values()) {
    if (!polys.length) continue;
    let a = 0, x = 0, y = 0, big = null, bigArea = -1;
    for (const p of polys) {
      const { area, c } = ringCentroid(p[0]);
      const w = Math.abs(area);
      a += w;
      x += c[0] * w;
      y += c[1] * w;
      if (w > bigArea) (bigArea = w), (big = p);
    }
    let pt = a > 0 ? [x / a, y / a] : big[0][0];
    if (!polys.some((p) => inPolygon(pt, p))) pt = interiorPoint(big);
    out.push({ type: "Feature", properties: { ...props }, geometry: { type: "Point", coordinates: pt } });
  }
  return { type: "FeatureCollection", features: out };
}

/**
 * Keeps the label sources (area-labels, grid-labels) at one point per area
 * and grid in view, from the pieces of them the map holds, after every move
 * and every load of the areas and grids.
 */
export function followLabels(map, tiles) {
  let timer = null;
  const last = { areas: "", grids: "" };
  const pieces = (layer) => (tiles ? map.querySourceFeatures("wangge", { sourceLayer: layer }) : map.querySourceFeatures(layer));
  const update = () => {
    timer = null;
    for (const [layer, src] of [["areas", "area-labels"], ["grids", "grid-labels"]]) {
      const fc = labelPoints(pieces(layer));
      const key = JSON.stringify(fc);
      if (key === last[layer]) continue; // unchanged: no reload, no new idle
      last[layer] = key;
      map.getSource(src)?.setData(fc);
    }
  };
  const later = () => {
    if (!timer) timer = setTimeout(update, 150);
  };
  map.on("moveend", later);
  map.on("sourcedata", (e) => {
    if ((e.sourceId === "wangge" || e.sourceId === "areas" || e.sourceId === "grids") && e.isSourceLoaded) later();
  });
  later();
}

/**
 * The label layers (symbol), grids under areas, drawn from one point per
 * area and grid (followLabels keeps the sources area-labels and
 * grid-labels). /style.json (tiles/style.go) has the same layers on the
 * tiles' polygons, for clients without this page's code.
 */
export function labelLayers(lang) {
  const from = (layer) => ({ source: layer === "areas" ? "area-labels" : "grid-labels" });
  const halo = { "text-color": "#222222", "text-halo-color": "#ffffff", "text-halo-width": 1.5 };
  return [
    { id: "grids-label", type: "symbol", ...from("grids"), minzoom: labelZooms.grid,
      layout: { "text-field": gridLabelText(), "text-font": labelFont, "text-size": 11, "text-max-width": 12, "text-padding": 4 },
      paint: { ...halo, "text-color": "#303030" } },
    { id: "areas-label", type: "symbol", ...from("areas"), minzoom: labelZooms.street,
      filter: ["any", ["==", ["get", "level"], 1], [">=", ["zoom"], labelZooms.community]],
      layout: { "text-field": areaLabelText(lang), "text-font": labelFont, "text-max-width": 10, "text-padding": 6,
        "text-size": ["match", ["get", "level"], 1, 15, 13], "symbol-sort-key": ["get", "level"] },
      paint: { ...halo, "text-color": "#5a2d78" } },
  ];
}

/**
 * Adds every source and layer. tiles is the TileJSON URL of areas and grids
 * or null to use GeoJSON; the GeoJSON sources start empty and are filled by
 * the views. base is a chosen base map (basemap.js: the raster sources and
 * layers of the server's style), drawn under everything as the layers
 * basemap, basemap-1, … (toggles.basemap); basemap a raster URL template
 * configured on the server, drawn when no base map is chosen.
 */
export function addLayers(map, { tiles, target, basemap, base, lang }) {
  if (base) {
    for (const [id, src] of base.sources) map.addSource(id, src);
    base.layers.forEach((l, i) => map.addLayer({ ...l, id: i ? `basemap-${i}` : "basemap" }));
  } else if (basemap) {
    // Optional, configured on the server (--basemap); drawn under everything.
    map.addSource("basemap", { type: "raster", tiles: [basemap], tileSize: 256, maxzoom: 19,
      attribution: t("map.basemapAttribution", { host: new URL(basemap.replace(/[{}]/g, "")).host }) });
    map.addLayer({ id: "basemap", type: "raster", source: "basemap", paint: { "raster-opacity": 0.6 } });
  }
  const from = (layer) => (tiles ? { source: "wangge", "source-layer": layer } : { source: layer });
  if (tiles) {
    map.addSource("wangge", { type: "vector", url: tiles });
  } else {
    map.addSource("areas", { type: "geojson", data: emptyFC() });
    map.addSource("grids", { type: "geojson", data: emptyFC() });
  }
  for (const id of ["hazards", "cameras", "sectors", "hotspots", "plan", "pick"]) {
    map.addSource(id, { type: "geojson", data: emptyFC() });
  }
  const add = (l) => map.addLayer(l);
  // Over a chosen base map the fills are lighter, so that its streets and
  // names show through.
  add({ id: "areas-fill", type: "fill", ...from("areas"), filter: ["==", ["get", "level"], 1],
    paint: { "fill-color": "#e9e4d6", "fill-opacity": base ? 0.25 : 0.9 } });
  add({ id: "grids-fill", type: "fill", ...from("grids"),
    paint: { "fill-color": gridFillColour(target), "fill-opacity": base ? 0.4 : 0.55 } });
  add({ id: "hotspots-fill", type: "fill", source: "hotspots", layout: { visibility: "none" },
    paint: { "fill-color": ["match", ["get", "bin"], ...hotspotBins.flatMap(([b, c]) => [b, c]), "#ffffff"], "fill-opacity": 0.7 } });
  add({ id: "plan-fill", type: "fill", source: "plan", layout: { visibility: "none" },
    paint: { "fill-color": householdColour(), "fill-opacity": 0.75 } });
  add({ id: "grids-line", type: "line", ...from("grids"),
    paint: { "line-color": "#3b3b3b", "line-opacity": 0.8, "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.3, 14, 1, 18, 2] } });
  add({ id: "plan-line", type: "line", source: "plan", layout: { visibility: "none" },
    paint: { "line-color": ["case", ["boolean", ["get", "changed"], false], "#c51b7d", "#00441b"],
      "line-width": ["case", ["boolean", ["get", "changed"], false], 2.5, 1.2] } });
  // Every area, drawn transparent: what a drill-down click finds under it.
  add({ id: "areas-hit", type: "fill", ...from("areas"), paint: { "fill-color": "#000000", "fill-opacity": 0 } });
  add({ id: "areas-line", type: "line", ...from("areas"),
    paint: { "line-color": "#7a3e9d", "line-width": ["match", ["get", "level"], 1, 2.5, 1.4], "line-dasharray": [3, 1] } });
  add({ id: "grids-locked", type: "line", ...from("grids"), filter: ["in", ["get", "code"], ["literal", []]],
    paint: { "line-color": "#000000", "line-width": 3.5, "line-dasharray": [1, 1] } });
  add({ id: "grids-selected", type: "line", ...from("grids"), filter: ["==", ["get", "code"], ""],
    paint: { "line-color": "#0050ef", "line-width": 3.5 } });
  // The area the drill-down is at.
  add({ id: "areas-selected", type: "line", ...from("areas"), filter: ["==", ["get", "code"], ""],
    paint: { "line-color": "#0050ef", "line-width": 3, "line-opacity": 0.9 } });
  add({ id: "camera-sectors", type: "fill", source: "sectors",
    paint: { "fill-color": ["match", ["get", "status"], "online", "#1a9850", "offline", "#777777", "#fdae61"], "fill-opacity": 0.3,
      "fill-outline-color": "#1a9850" } });
  add({ id: "cameras", type: "circle", source: "cameras",
    paint: { "circle-color": ["match", ["get", "status"], "online", "#1a9850", "offline", "#777777", "#fdae61"],
      "circle-radius": 5, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5 } });
  add({ id: "hazards", type: "circle", source: "hazards",
    paint: hazardPaint() });
  for (const id of ["area-labels", "grid-labels"]) map.addSource(id, { type: "geojson", data: emptyFC() });
  for (const l of labelLayers(lang)) add(l);
  add({ id: "pick-radius", type: "line", source: "pick", filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "line-color": "#0050ef", "line-width": 1.5, "line-dasharray": [2, 2] } });
  add({ id: "pick", type: "circle", source: "pick", filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-color": "#0050ef", "circle-radius": 7, "circle-stroke-color": "#ffffff", "circle-stroke-width": 2 } });
}

/**
 * The events' circles: colour is the state, size the severity, and a black
 * ring marks an overdue event (_overdue, set by events.annotate: MapLibre
 * expressions have no clock).
 */
export function hazardPaint() {
  const sev = ["to-number", ["get", "severity"], 1];
  const overdue = ["==", ["get", "_overdue"], true];
  return {
    "circle-color": ["match", ["get", "status"], ...Object.entries(statusColours).flat(), "#666666"],
    "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, ["*", 1.2, sev], 15, ["+", 3, ["*", 2, sev]]],
    "circle-stroke-color": ["case", overdue, "#000000", "#ffffff"],
    "circle-stroke-width": ["interpolate", ["linear"], ["zoom"], 9, ["case", overdue, 1.2, 0.5], 15, ["case", overdue, 3, 1.5]],
  };
}

/** Which map layers each toggle in the panel shows or hides. */
export const toggles = {
  basemap: ["basemap", "basemap-1", "basemap-2"], // a base map has one to three layers (Tianditu: streets, then names)
  areas: ["areas-fill", "areas-line", "areas-selected", "areas-label"],
  grids: ["grids-fill", "grids-line", "grids-selected", "grids-label"],
  hazards: ["hazards"],
  cameras: ["cameras", "camera-sectors"],
  hotspots: ["hotspots-fill"],
};

export function setVisible(map, ids, on) {
  for (const id of ids) if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
}

const R = 6371008.8; // mean Earth radius, metres

/** The point d metres from [lon, lat] in bearing deg (clockwise from north). */
function offset([lon, lat], d, deg) {
  const b = (deg * Math.PI) / 180, p1 = (lat * Math.PI) / 180, l1 = (lon * Math.PI) / 180, a = d / R;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(a) + Math.cos(p1) * Math.sin(a) * Math.cos(b));
  const l2 = l1 + Math.atan2(Math.sin(b) * Math.sin(a) * Math.cos(p1), Math.cos(a) - Math.sin(p1) * Math.sin(p2));
  return [(l2 * 180) / Math.PI, (p2 * 180) / Math.PI];
}

/** A circle of radius metres around [lon, lat], as a polygon. */
export function circle(c, radius) {
  const ring = [];
  for (let i = 0; i <= 64; i++) ring.push(offset(c, radius, (360 * i) / 64));
  return { type: "Feature", properties: { radius }, geometry: { type: "Polygon", coordinates: [ring] } };
}

/** A camera's field of view as a polygon: its sector of range_m and fov. */
export function sector(camera) {
  const c = camera.geometry.coordinates, { azimuth = 0, fov = 360, range_m: range = 0 } = camera.properties;
  if (!(range > 0)) return null;
  const ring = [];
  if (fov < 360) ring.push(c);
  const steps = Math.max(8, Math.ceil(fov / 5));
  for (let i = 0; i <= steps; i++) ring.push(offset(c, range, azimuth - fov / 2 + (fov * i) / steps));
  ring.push(ring[0]);
  return { type: "Feature", properties: { ...camera.properties }, geometry: { type: "Polygon", coordinates: [ring] } };
}

/** The bounding box [w, s, e, n] of a FeatureCollection, or null. */
export function bbox(fc) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const visit = (c) => {
    if (typeof c[0] === "number") {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(visit);
  };
  for (const f of fc.features) if (f.geometry) visit(f.geometry.coordinates);
  return w <= e ? [w, s, e, n] : null;
}
