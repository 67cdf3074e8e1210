// The dashboard's drill-down without the DOM: where the reader is (county →
// street → community → grid, as a breadcrumb path), where a click on the map
// takes them, and which rollups (GET /v1/stats) each place needs. Pure
// functions, so web/test runs them under node.
import { t } from "./i18n.js";

/**
 * A place on the path: {kind: "county" | "area" | "grid", code, name,
 * level}. The county is the whole deployment (level 0, no code); areas
 * carry their level in the nesting tree (1 = street or township, 2 =
 * community or village, …); a grid sits in a leaf area.
 */
export const county = (name = t("drill.county")) => ({ kind: "county", code: "", name, level: 0 });

/** The path at the start: the county alone. */
export const rootPath = (name) => [county(name)];

/** The place the path ends at. */
export const here = (path) => path[path.length - 1];

/** The path up to and including step i of the breadcrumb. */
export function drillUp(path, i) {
  if (i < 0 || i >= path.length) return path;
  return path.slice(0, i + 1);
}

/**
 * One step down into place (a child of where the path ends): at a grid,
 * which has no children, another grid of the same area takes its place.
 */
export function drillInto(path, place) {
  const last = here(path);
  if (last.kind === "grid") return [...path.slice(0, -1), place];
  return [...path, place];
}

/**
 * Where a click on the map takes the reader. chain lists what holds the
 * clicked point, outermost first: its areas by level, then its grid (the
 * shape locate answers, or what the map has drawn there). A click inside
 * the place the path ends at goes one step down; a click elsewhere goes to
 * the place at the same depth that holds the point (a sibling, or a cousin
 * in another street); a click outside every area changes nothing.
 */
export function drillClick(path, chain) {
  if (!chain || !chain.length) return path;
  const depth = path.length - 1; // steps below the county
  const inside = path.slice(1).every((p, i) => chain[i] && chain[i].code === p.code);
  const n = inside ? Math.min(depth + 1, chain.length) : Math.max(1, Math.min(depth, chain.length));
  return [path[0], ...chain.slice(0, n)];
}

/**
 * The chain of places holding a point, outermost first, from the areas
 * and the grid found there (any order, duplicates allowed, as the map's
 * rendered features come): areas are linked through parent_code from the
 * grid's area (or the deepest area) up, so an area drawn twice, or one of
 * another branch overlapping a clipped tile edge, does not break it.
 */
export function chainAt(areas, grid) {
  const by = new Map();
  for (const a of areas) if (a && a.code && !by.has(a.code)) by.set(a.code, a);
  let leaf = grid && grid.parent_code ? by.get(grid.parent_code) : null;
  if (!leaf) leaf = [...by.values()].sort((a, b) => (b.level || 0) - (a.level || 0))[0];
  const chain = [];
  for (let a = leaf, guard = 0; a && guard < 32; a = by.get(a.parent_code), guard++) {
    chain.unshift({ kind: "area", code: a.code, name: a.name || "", level: Number(a.level) || chain.length + 1 });
  }
  if (grid && grid.code && (!grid.parent_code || (leaf && leaf.code === grid.parent_code))) {
    chain.push({ kind: "grid", code: grid.code, name: grid.name || "", level: (leaf ? Number(leaf.level) || chain.length : chain.length) + 1, parent_code: grid.parent_code || "" });
  }
  return chain;
}

/**
 * What the children of a place are called, for the table's heading and
 * first column: streets under the county, communities under a street,
 * grids under a leaf area. leaf tells whether an area has no child areas.
 */
export function childWord(place, leaf) {
  if (place.kind === "county") return t("drill.street");
  if (place.kind === "grid") return t("drill.grid");
  if (leaf) return t("drill.grid");
  return place.level === 1 ? t("drill.community") : t("drill.area");
}

/**
 * The GET /v1/stats query strings a place needs (api/rollups.go):
 * rows, one per child (streets under the county, a street's communities,
 * a leaf area's grids; a grid's own row from its area's rows); trend, the
 * place's own figures by month; categories, its own by category. period
 * is {since, until} as dates, either may be "", and tz the calendar of
 * dates and months (a UTC offset, "+08:00"). own tells the caller
 * which row of trend and categories belongs to the place: rows whose area
 * code is own.code (null: every row is the place's own).
 */
export function statsQueries(place, period = {}) {
  const q = (params) => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== "" && v !== undefined && v !== null) s.set(k, String(v));
    if (period.since) s.set("since", period.since);
    if (period.until) s.set("until", period.until);
    if (period.tz) s.set("tz", period.tz);
    return s.toString();
  };
  if (place.kind === "county") {
    return {
      rows: q({ level: 1, group_by: "area" }),
      trend: q({ level: 0, group_by: "month" }),
      categories: q({ level: 0, group_by: "category" }),
      own: null,
    };
  }
  if (place.kind === "grid") {
    // A grid has no children: its own row, from its area's grid rows.
    const parent = place.parent_code || "";
    return {
      rows: q({ parent, group_by: "area" }),
      trend: q({ parent, group_by: "area,month" }),
      categories: q({ parent, group_by: "area,category" }),
      own: { code: place.code },
    };
  }
  // Without area in group_by, one row holds the parent's whole scope:
  // the area's own figures.
  return {
    rows: q({ parent: place.code, group_by: "area" }),
    trend: q({ parent: place.code, group_by: "month" }),
    categories: q({ parent: place.code, group_by: "category" }),
    own: null,
  };
}

/**
 * The UTC offset of a Date's time zone as +08:00 (the calendar GET
 * /v1/stats counts months in): an offset, not a zone name, which the
 * server would need the zone database for.
 */
export function utcOffset(d = new Date()) {
  const m = -d.getTimezoneOffset();
  const a = Math.abs(m);
  return `${m < 0 ? "-" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

/** The rows of an answer that belong to own (statsQueries), or all of them. */
export function ownRows(rows, own) {
  if (!own) return rows;
  return rows.filter((r) => rowCode(r) === own.code);
}

/** A row's area or grid code (api/rollups.go: area_code). */
export const rowCode = (r) => String(r.area_code ?? r.code ?? "");
/** A row's name, in the request's language. */
export const rowName = (r) => String(r.area_name ?? r.name ?? "");
/** A row's level: 0 for the county, an area's level, a grid's area's plus one. */
export const rowLevel = (r) => Number(r.area_level ?? r.level) || 0;
/** What a row is about: county, area, grid, or other (the grids of the scope in no area of the rows' level). */
export const rowType = (r) => String(r.area_type ?? r.type ?? "");
/** A row's period key ("2025-03", "2025-W09"), or "". */
export const rowPeriod = (r) => String(r.period ?? r.month ?? r.week ?? "");

/**
 * A monthly series from rows grouped by month: {months, reported, closed,
 * closure} with months sorted and every month between the first and the
 * last present (a month without events is a zero, not a gap).
 */
export function monthSeries(rows) {
  const by = new Map();
  for (const r of rows) {
    const m = rowPeriod(r).slice(0, 7);
    if (!/^\d{4}-\d\d$/.test(m)) continue;
    const cur = by.get(m) || { reported: 0, closed: 0 };
    cur.reported += Number(r.reported) || 0;
    cur.closed += Number(r.closed) || 0;
    by.set(m, cur);
  }
  const keys = [...by.keys()].sort();
  const months = [];
  if (keys.length) {
    let [y, m] = keys[0].split("-").map(Number);
    const [ly, lm] = keys.at(-1).split("-").map(Number);
    while (y < ly || (y === ly && m <= lm)) {
      months.push(`${y}-${String(m).padStart(2, "0")}`);
      if (++m > 12) (m = 1), y++;
    }
  }
  const get = (m, k) => (by.get(m) || { reported: 0, closed: 0 })[k];
  const reported = months.map((m) => get(m, "reported")), closed = months.map((m) => get(m, "closed"));
  return { months, reported, closed, closure: months.map((m, i) => (reported[i] ? closed[i] / reported[i] : null)) };
}

/** Events by category from rows grouped by category: [{code, reported}], largest first, zeros left out. */
export function categorySeries(rows) {
  const by = new Map();
  for (const r of rows) {
    const c = r.category ?? "";
    if (!c) continue;
    by.set(c, (by.get(c) || 0) + (Number(r.reported) || 0));
  }
  return [...by.entries()].filter(([, n]) => n > 0).map(([code, reported]) => ({ code, reported })).sort((a, b) => b.reported - a.reported || a.code.localeCompare(b.code));
}
