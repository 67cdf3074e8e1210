// The dashboard's drill-down (issue 14): the county, a street, a community,
// a grid, chosen by a click on the map or on a row. A table of the place's
// children (GET /v1/stats), a trend chart by month and a category
// breakdown follow the click; a breadcrumb goes back up. The path and the
// queries are drill.js's; the charts are charts.js's.
import { absolute, api, authHeaders } from "./api.js";
import { categoryChart, resizeCharts, trendChart, trendSeries } from "./charts.js";
import {
  categorySeries, chainAt, childWord, drillClick, drillInto, drillUp, here, monthSeries, ownRows, rootPath, rowCode, rowLevel, rowName, rowType, statsQueries, utcOffset,
} from "./drill.js";
import { categoryLabel } from "./events.js";
import { bbox, noRiskColour, riskWords } from "./layers.js";
import { $, el, num, pct, showError } from "./ui.js";
import { t } from "./i18n.js";

/** The risk level of a row (grid rows carry one, risk_level), or "". */
export const rowRisk = (r) => String(r.risk_level ?? r.risk ?? "");

/** The reasons for a row's risk level, in the browser's language (the server reads Accept-Language). */
export const riskReasons = (r) => (Array.isArray(r.risk_reasons) ? r.risk_reasons : []).filter(Boolean).map(String);

/** Whether a row is about the grids of no area at its level (a tree of uneven depth). */
const isOther = (r) => rowType(r) === "other" || !rowCode(r);

/** A figure of a row that may be missing: null then, not 0. */
const fig = (r, k) => (r && r[k] !== undefined && r[k] !== null ? Number(r[k]) : null);

/** The columns of the rollup table: key and format; heading and title are fig.col.… and fig.title.… in the catalogue. */
const columns = [
  ["reported", num],
  ["open", num],
  ["overdue", num],
  ["closure_rate", pct],
  ["per_1000_households", num],
];

/** The figures of a row the table has no column for, as lines for its tooltip. */
function moreFigures(r) {
  const hours = (v) => (v === null || v === undefined ? "—" : t("unit.hours", { v: num(v) }));
  const lines = [
    t("fig.onTime", { v: pct(r.on_time_rate) }),
    t("fig.timeToClose", { median: hours(r.median_hours_to_close), p90: hours(r.p90_hours_to_close) }),
    t("fig.repeat", { v: num(r.repeat) }),
    t("fig.sizes", { households: num(r.households), grids: num(r.grids), workers: num(r.workers_per_grid) }),
  ];
  if (r.cameras) lines.push(t("fig.cameras", { online: num(r.cameras.online), total: num(r.cameras.total), rate: pct(r.cameras.online_rate), cover: pct(r.cameras.households_share) }));
  const why = riskReasons(r);
  if (rowRisk(r)) lines.push(t(why.length ? "fig.riskWhy" : "fig.risk", { risk: rowRisk(r), why: why.join("; ") }));
  return lines.join("\n");
}

export class Figures {
  constructor(ctx, dashboard) {
    this.ctx = ctx;
    this.map = ctx.map;
    this.dashboard = dashboard;
    this.path = rootPath();
    this.seq = 0;
    this.rows = [];
    this.leaves = null; // area codes without child areas
    this.available = ctx.have.has("GET /v1/stats");
    $("#chart-trend-legend").replaceChildren(...trendSeries().map(([name, colour]) => {
      const s = el("span", { class: "swatch square" });
      s.style.setProperty("background", colour);
      return el("span", { class: "item" }, s, name);
    }));
    window.addEventListener("resize", () => resizeCharts([$("#chart-trend"), $("#chart-categories")]));
    $("#drill-period").addEventListener("change", () => this.load());
    $("#drill-period").addEventListener("submit", (e) => e.preventDefault());
    $("#drill-csv").addEventListener("click", () => this.csv());
    if (!this.available) {
      $("#drill-note").textContent = t("fig.noRollups");
      $("#drill").hidden = true;
    }
  }

  /** Whether an area has no child areas (its children are grids). */
  isLeaf(code) {
    if (!this.leaves) {
      const areas = (this.ctx.areas && this.ctx.areas.features) || [];
      const parents = new Set(areas.map((f) => f.properties.parent_code).filter(Boolean));
      this.leaves = new Set(areas.map((f) => f.properties.code).filter((c) => !parents.has(c)));
    }
    return this.leaves.has(code);
  }

  period() {
    const f = $("#drill-period");
    return { since: f.since.value, until: f.until.value, tz: utcOffset() };
  }

  /**
   * Downloads the table's rows as CSV (UTF-8 with a BOM, for Excel), by
   * month: fetched with the key (a link could not carry it), then saved
   * from a blob: URL under the server's file name.
   */
  async csv() {
    const q = new URLSearchParams(statsQueries(here(this.path), this.period()).rows);
    q.set("group_by", "area,month");
    q.set("format", "csv");
    q.set("lang", /^zh\b/i.test(this.ctx.lang) ? "zh" : "en");
    const b = $("#drill-csv");
    b.disabled = true;
    try {
      const res = await fetch(absolute(`v1/stats?${q}`), { headers: { Accept: "text/csv", ...authHeaders() } });
      if (!res.ok) {
        const p = await res.json().catch(() => null);
        throw new Error(p && p.detail ? p.detail : `HTTP ${res.status}`);
      }
      const name = (/filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "") || [])[1] || "wangge-stats.csv";
      const url = URL.createObjectURL(await res.blob());
      const a = el("a", { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      showError(t("fig.csvError"), e);
    } finally {
      b.disabled = false;
    }
  }

  /** Goes to path: outlines the place, frames it, loads its figures. */
  go(path, { frame = true } = {}) {
    this.path = path;
    const place = here(path);
    this.crumbs();
    this.map.setFilter("areas-selected", ["==", ["get", "code"], place.kind === "area" ? place.code : ""]);
    // From a row or the breadcrumb: the map and the grid table follow (a
    // map click selects its grid itself).
    if (frame) {
      if (place.kind === "grid") this.dashboard.select(place.code, true);
      else this.frame(place);
    }
    return this.load();
  }

  /** Fits the map to an area (from the areas collection) or the county. */
  frame(place) {
    const areas = (this.ctx.areas && this.ctx.areas.features) || [];
    const feats = place.kind === "county" ? areas.filter((f) => f.properties.level === 1) : areas.filter((f) => f.properties.code === place.code);
    const b = bbox({ features: feats.length ? feats : areas });
    if (b) this.map.fitBounds(b, { padding: 30, duration: 400, maxZoom: 16 });
  }

  /** A click on the map: the areas and the grid under it decide where to go. */
  click(e) {
    if (!this.available) return false;
    const areas = this.map.queryRenderedFeatures(e.point, { layers: ["areas-hit"] }).map((f) => f.properties);
    const grid = this.map.queryRenderedFeatures(e.point, { layers: ["grids-fill"] })[0];
    const next = drillClick(this.path, chainAt(areas, grid && grid.properties));
    if (next === this.path || (next.length === this.path.length && next.every((p, i) => p.code === this.path[i].code))) return false;
    this.go(next, { frame: false });
    return true;
  }

  /** The breadcrumb: every step but the last is a button back up. */
  crumbs() {
    const nav = $("#drill-crumbs");
    const items = this.path.map((p, i) => {
      const text = p.kind === "county" ? p.name : p.name || p.code;
      const last = i === this.path.length - 1;
      return el("li", { dataset: { code: p.code, kind: p.kind }, title: p.code || null }, last
        ? el("span", { "aria-current": "location" }, text)
        : el("button", { type: "button", class: "linkish", onclick: () => this.go(drillUp(this.path, i)) }, text));
    });
    nav.replaceChildren(el("ol", {}, items));
  }

  /** Loads the place's rows, trend and categories and draws them. */
  async load() {
    if (!this.available) return;
    const seq = ++this.seq;
    const place = here(this.path);
    const qs = statsQueries(place, this.period());
    $("#drill").dataset.loading = "1";
    let rows, trend, cats;
    try {
      const answers = await Promise.all([qs.rows, qs.trend, qs.categories].map((q) => api(`v1/stats?${q}`)));
      [rows, trend, cats] = answers.map((a) => (a && a.rows) || []);
      // The risk levels in use (the server's configuration): the map's
      // colours and legend follow them.
      if (answers[0] && Array.isArray(answers[0].risk_levels)) this.dashboard.setRiskLevels(answers[0].risk_levels);
    } catch (e) {
      if (seq !== this.seq) return;
      delete $("#drill").dataset.loading;
      // No published plan yet: nothing to sum, which is no error.
      if (e.status === 404) $("#drill-note").textContent = t("fig.noneYet", { msg: e.message });
      else showError(t("figures.heading"), e);
      return;
    }
    if (seq !== this.seq) return; // a later click won
    // A grid's table is its own row; an area's, its children's.
    this.rows = place.kind === "grid" ? ownRows(rows, qs.own) : rows;
    $("#drill").dataset.place = place.code || "county";
    this.table(place);
    this.charts(place, monthSeries(ownRows(trend, qs.own)), categorySeries(ownRows(cats, qs.own)));
    delete $("#drill").dataset.loading;
  }

  /** The rollup table: one row per child (or the grid's own), with a total. */
  table(place) {
    const leaf = place.kind === "area" && this.isLeaf(place.code);
    const word = childWord(place, leaf);
    const head = $("#drill-table thead tr");
    head.replaceChildren(el("th", { scope: "col" }, word),
      ...columns.map(([k]) => el("th", { scope: "col", title: t(`fig.title.${k}`), dataset: { key: k } }, t(`fig.col.${k}`))));
    const rows = [...this.rows].sort((a, b) => rowCode(a).localeCompare(rowCode(b)));
    const kids = place.kind === "county" || place.kind === "area";
    const cell = (r, [k, fmt]) => {
      const v = fig(r, k);
      const prev = r.previous ? fig(r.previous, k) : null;
      // The previous period's figure (同比/环比), when the server gives one.
      const title = prev !== null ? t("fig.previous", { v: fmt(prev) }) : null;
      const delta = prev !== null && v !== null && fmt === num && v !== prev ? el("small", { class: v > prev ? "up" : "down" }, v > prev ? " ▲" : " ▼") : null;
      return el("td", { title }, fmt(v), delta);
    };
    $("#drill-table tbody").replaceChildren(...rows.map((r) => {
      const code = rowCode(r), name = rowName(r), risk = rowRisk(r);
      const level = this.dashboard.riskLevels().find((l) => l.code === risk);
      const swatch = risk ? el("span", { class: "swatch square", title: t("fig.riskTitle", { risk: level ? riskWords(level, this.ctx.lang) : risk }), dataset: { risk } }) : null;
      if (swatch) swatch.style.setProperty("background", level ? level.color : noRiskColour);
      const child = this.childPlace(place, r, leaf);
      const go = child ? () => this.go(drillInto(this.path, child)) : null;
      return el("tr", { dataset: { code, risk: risk || null }, tabindex: child ? "0" : null, class: child ? null : "static",
        onkeydown: go ? (e) => e.key === "Enter" && go() : null, onclick: go },
      el("th", { scope: "row", title: `${name && name !== code ? `${name} (${code})` : code}\n${moreFigures(r)}` }, swatch, isOther(r) ? t("fig.otherGrids") : name || code),
      columns.map((c) => cell(r, c)));
    }));
    const total = rows.reduce((s, r) => s + (fig(r, "reported") || 0), 0);
    $("#drill-table").dataset.rows = String(rows.length);
    $("#drill-note").textContent = rows.length
      ? (kids ? t(rows.length === 1 ? "fig.kidsOne" : "fig.kids", { n: num(rows.length), word, total: num(total) }) : t("fig.inGrid", { total: num(total) }))
      : t("fig.noFigures");
    // The grid rows' risk, for the table and the reasons.
    if (place.kind === "grid" && rows[0] && rowRisk(rows[0])) {
      const why = riskReasons(rows[0]);
      const level = this.dashboard.riskLevels().find((l) => l.code === rowRisk(rows[0]));
      $("#drill-note").append(el("br"), el("span", { id: "drill-risk", dataset: { risk: rowRisk(rows[0]) } },
        t(why.length ? "fig.riskLineWhy" : "fig.riskLine", { risk: level ? riskWords(level, this.ctx.lang) : rowRisk(rows[0]), why: why.join("; ") })));
    }
  }

  /** The place a row leads to, or null for a grid's own row. */
  childPlace(place, r, leaf) {
    if (place.kind === "grid" || isOther(r)) return null;
    const code = rowCode(r), name = rowName(r);
    if (place.kind === "area" && leaf) return { kind: "grid", code, name, level: place.level + 1, parent_code: place.code };
    return { kind: "area", code, name, level: rowLevel(r) || place.level + 1 };
  }

  charts(place, trend, cats) {
    const { tax, lang } = this.ctx;
    const tEl = $("#chart-trend"), cEl = $("#chart-categories");
    const what = place.kind === "county" ? place.name : `${place.name || place.code}`;
    $("#chart-trend-title").textContent = t("fig.trendTitle", { what });
    $("#chart-categories-title").textContent = t("fig.categoriesTitle", { what });
    const items = cats.map((c) => ({ ...c, label: categoryLabel(tax, c.code, lang) }));
    cEl.style.setProperty("height", `${Math.max(80, 24 + 20 * items.length)}px`);
    // Charts need a box: drawn when the dashboard is shown (enter()).
    this.pending = { trend, items };
    tEl.dataset.months = String(trend.months.length);
    tEl.dataset.reported = String(trend.reported.reduce((a, b) => a + b, 0));
    tEl.setAttribute("aria-label", trend.months.length
      ? t("fig.trendLabel", { from: trend.months[0], to: trend.months.at(-1), values: trend.reported.join(", ") })
      : t("fig.noEventsLower"));
    cEl.dataset.categories = String(items.length);
    cEl.dataset.reported = String(items.reduce((a, b) => a + b.reported, 0));
    cEl.setAttribute("aria-label", items.map((i) => `${i.label} ${i.reported}`).join(", ") || t("fig.noEventsLower"));
    $("#chart-trend-empty").hidden = trend.months.length > 0;
    $("#chart-categories-empty").hidden = items.length > 0;
    this.draw();
  }

  /** Draws the pending charts when their boxes have a size. */
  draw() {
    const tEl = $("#chart-trend"), cEl = $("#chart-categories");
    if (!this.pending || !tEl.clientWidth) return;
    const { trend, items } = this.pending;
    this.pending = null;
    trendChart(tEl, trend);
    categoryChart(cEl, items);
    resizeCharts([tEl, cEl]);
    tEl.dataset.drawn = $("#drill").dataset.place || "";
  }

  /** The dashboard is shown again: charts get their size back. */
  enter() {
    this.draw();
    resizeCharts([$("#chart-trend"), $("#chart-categories")]);
  }
}
