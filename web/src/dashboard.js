// The dashboard: layer switches, event filters (category, state, assignee,
// overdue, severity, dates) that the map and the table of events follow, one
// event's history and moves, hotspots with their legend, and a table of
// counts per grid.
import maplibregl from "maplibre-gl/dist/maplibre-gl-csp.js";
import { allFeatures, api } from "./api.js";
import { featureToMap } from "./basemap.js";
import {
  classBreaks, defaultRiskLevels, deviationStops, figureColour, figureColours, gridFillColour, hotspotBins, noRiskColour, riskColour, riskWords, sector, setVisible, toggles,
} from "./layers.js";
import {
  annotate, categoriesByKind, categoryLabel, filterExpression, isOpen, isOverdue, kindLabel, matchEvent, newestFirst, OPEN, roleLabel, shortDate, shortTime,
  statusLabel, statuses, UNASSIGNED,
} from "./events.js";
import { EventPanel, statusBadge } from "./eventpanel.js";
import { Figures, rowRisk } from "./figures.js";
import { applyChange, debounce } from "./live.js";
import { $, el, num, pct, kvTable, showError } from "./ui.js";
import { t } from "./i18n.js";

// The events table shows this many rows; the map shows every event.
const tableRows = 200;

/**
 * What the grids can be coloured by: risk level, households against the
 * target, or a figure per grid (from GET /v1/grids/stats, the grid table's
 * rows); good says that a high value is good (its colours run the other
 * way, so dark is always worse).
 */
export const gridColourings = [
  { key: "risk" },
  { key: "deviation" },
  { key: "open", figure: (r) => r.open },
  { key: "overdue", figure: (r) => r.overdue },
  { key: "reported", figure: (r) => r.reported },
  { key: "per_1000", figure: (r) => (r.households ? (r.reported * 1000) / r.households : null) },
  { key: "closure_rate", figure: (r) => r.closure_rate, good: true, pct: true },
  { key: "on_time_rate", figure: (r) => r.on_time_rate, good: true, pct: true },
  { key: "coverage", figure: (r) => r.coverage, good: true, pct: true },
];
/** A colouring's words, in the page's language. */
export const colouringLabel = (c) => t(`colour.${c.key}`);

/** The day after an ISO date, for an inclusive "to" date. */
function nextDay(date) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

export class Dashboard {
  constructor(ctx) {
    this.ctx = ctx;
    this.map = ctx.map;
    this.hazards = [];
    this.stats = new Map(); // grid code → row
    this.selected = "";
    this.hotspotsLoaded = null;
    for (const box of document.querySelectorAll("#layer-toggles input")) {
      box.addEventListener("change", () => this.toggle(box.dataset.layer, box.checked));
    }
    this.panel = new EventPanel(ctx, $("#dash-event"), () => ctx.eventsChanged(this.panel));
    this.filterForm();
    $("#hazard-filter").addEventListener("change", () => this.filter());
    // A typed assignee filters as it is typed.
    $("#hazard-filter").addEventListener("input", (e) => e.target.name === "assignee" && this.filter());
    $("#hazard-filter").addEventListener("submit", (e) => e.preventDefault());
    for (const th of document.querySelectorAll("#grid-table thead th")) {
      th.addEventListener("click", () => this.sortBy(th.dataset.key));
    }
    this.figures = new Figures(ctx, this);
    // The grids' colour: risk when the server computes it, else the
    // households against the target; the reader may choose another.
    this.colourBy = ctx.hasRisk ? "risk" : "deviation";
    const pick = $("#grid-colour");
    pick.replaceChildren(...gridColourings.filter((c) => c.key !== "risk" || ctx.hasRisk).map((c) => el("option", { value: c.key }, colouringLabel(c))));
    pick.value = this.colourBy;
    pick.addEventListener("change", () => {
      this.colourBy = pick.value;
      this.paintGrids();
    });
    this.paintGrids();
    this.hotspotLegend();
    // Live changes: figures, grid tiles and hotspots follow at most once a second.
    this.figuresLater = debounce(() => this.liveFigures(), 1000);
  }

  /** The risk levels in use: the server's (GET /v1/stats), else the default four. */
  riskLevels() {
    return this.levels || defaultRiskLevels();
  }

  /** Takes the server's risk levels; the map and legend follow when they differ. */
  setRiskLevels(levels) {
    const valid = levels.filter((l) => l && l.code && /^#[0-9a-f]{6}$/i.test(l.color || ""));
    if (!valid.length || JSON.stringify(valid) === JSON.stringify(this.levels)) return;
    this.levels = valid;
    if (this.colourBy === "risk") this.paintGrids();
  }

  /** The grids' fill for the dashboard, by the chosen colouring. */
  gridPaint() {
    const c = gridColourings.find((x) => x.key === this.colourBy);
    if (this.colourBy === "risk") return riskColour(this.riskLevels());
    if (!c || !c.figure) return gridFillColour(this.ctx.published ? this.ctx.published.target : 300);
    const values = new Map([...this.stats.values()].map((r) => [r.code, c.figure(r) ?? null]));
    this.breaks = classBreaks([...values.values()]);
    return figureColour(values, this.breaks, c.good ? [...figureColours].reverse() : figureColours);
  }

  /** Colours the grids as chosen (on the dashboard; the planner has its own). */
  paintGrids() {
    if (document.body.dataset.view === "planner") return;
    this.map.setPaintProperty("grids-fill", "fill-color", this.gridPaint());
    this.gridLegend();
  }

  /** The filter's categories (grouped by kind), states and assignees. */
  filterForm() {
    const { tax, lang } = this.ctx;
    const cats = $("#categories");
    const box = (c) => el("label", { class: "cat" }, el("input", { type: "checkbox", name: "category", value: c, checked: true }), categoryLabel(tax, c, lang));
    const groups = categoriesByKind(tax, lang);
    if (groups.length) {
      cats.replaceChildren(...groups.map((g) => el("div", { class: "kind", dataset: { kind: g.kind } }, el("strong", {}, g.label), " ", g.categories.map((c) => box(c.code)))));
    } else {
      cats.replaceChildren(el("small", { class: "note" }, t("dash.noTaxonomy")));
    }
    const status = $("#hazard-filter").status;
    for (const s of statuses) status.append(el("option", { value: s }, statusLabel(s)));
    // The roster for those who may read it; others type a worker id.
    if (this.ctx.workers) {
      $("#assignee-filter").replaceChildren(el("select", { name: "assignee" },
        el("option", { value: "" }, t("dash.anyone")), el("option", { value: UNASSIGNED }, t("common.unassigned")),
        this.ctx.workers.map((w) => el("option", { value: w.id }, `${w.name} (${w.id}), ${roleLabel(tax, w.role, lang)}`))));
    }
    const items = statuses.map((s) => el("span", { class: "item" }, statusBadge(s)));
    const ring = el("span", { class: "swatch ring" });
    $("#legend-status").replaceChildren(el("div", {}, t("dash.statusLegend")),
      el("div", { class: "items" }, items, el("span", { class: "item" }, ring, t("common.overdue"))));
  }

  gridLegend() {
    const sq = (c) => {
      const s = el("span", { class: "swatch square" });
      s.style.setProperty("background", c);
      return s;
    };
    const legend = $("#legend-grids");
    legend.dataset.colour = this.colourBy;
    const c = gridColourings.find((x) => x.key === this.colourBy);
    if (this.colourBy === "risk") {
      legend.replaceChildren(el("div", {}, t("dash.riskLegend")),
        el("div", { class: "items" }, this.riskLevels().map((l) => el("span", { class: "item", dataset: { risk: l.code } }, sq(l.color), riskWords(l, this.ctx.lang))),
          el("span", { class: "item" }, sq(noRiskColour), t("dash.noLevel"))));
      return;
    }
    if (c && c.figure) {
      const b = this.breaks || [];
      const f = (v) => (c.pct ? pct(v) : num(v));
      const cols = c.good ? [...figureColours].reverse() : figureColours;
      const items = [];
      for (let i = 0; i <= b.length; i++) {
        const words = b.length === 0 ? t("dash.everyGrid") : i === 0 ? t("dash.under", { v: f(b[0]) }) : i === b.length ? t("dash.andMore", { v: f(b[i - 1]) }) : `${f(b[i - 1])} – ${f(b[i])}`;
        items.push(el("span", { class: "item" }, sq(cols[Math.min(cols.length - 1, i)]), words));
      }
      legend.replaceChildren(el("div", {}, t(c.good ? "dash.figureLegendGood" : "dash.figureLegend", { what: colouringLabel(c) })), el("div", { class: "items" }, items, el("span", { class: "item" }, sq(noRiskColour), t("dash.noFigure"))));
      return;
    }
    const target = this.ctx.published ? this.ctx.published.target : null;
    const items = deviationStops.map(([v, c]) => {
      const s = el("span", { class: "swatch square" });
      s.style.setProperty("background", c);
      return el("span", { class: "item" }, s, `${v > 0 ? "+" : ""}${v} %`);
    });
    const none = el("span", { class: "swatch square" });
    none.style.setProperty("background", "#dcdcdc");
    $("#legend-grids").replaceChildren(el("div", {}, target ? t("dash.deviationLegend", { target: num(target) }) : t("dash.deviationLegendPlan")), el("div", { class: "items" }, items,
      el("span", { class: "item" }, none, t("dash.noHouseholds"))));
  }

  hotspotLegend() {
    const items = hotspotBins.map(([b, c]) => {
      const s = el("span", { class: "swatch square" });
      s.style.setProperty("background", c);
      return el("div", { class: "item" }, s, `${b > 0 ? "+" : ""}${b}  ${t(`hotspot.bin${b}`)}`);
    });
    $("#legend-hotspots").replaceChildren(el("div", {}, t("hotspot.legend")), ...items, el("div", { id: "hotspot-note", class: "note" }));
  }

  async load() {
    const { map } = this;
    const jobs = [
      this.loadEvents(),
      // Camera positions are for planners: a key known to be less is not
      // refused first.
      !this.ctx.canPlan && this.ctx.role ? this.note("cameras", t("dash.camerasHidden")) : allFeatures(this.ctx.inMap("collections/cameras/items")).then((fc) => {
        map.getSource("cameras").setData(fc);
        map.getSource("sectors").setData({ type: "FeatureCollection", features: fc.features.map(sector).filter(Boolean) });
      }).catch((e) => {
        // Camera positions are for planners; others see why there are none.
        if (e.status === 403 || (e.status === 401 && !this.ctx.canPlan)) this.note("cameras", t("dash.camerasHidden"));
        else showError(t("err.cameras"), e);
      }),
      this.loadStats(),
      this.figures.go(this.figures.path, { frame: false }),
    ];
    await Promise.all(jobs);
  }

  /** Loads every event onto the map and into the table. */
  async loadEvents() {
    try {
      const fc = await allFeatures(this.ctx.inMap("collections/hazards/items"));
      annotate(fc.features, Date.now(), this.ctx.tax);
      this.hazards = fc.features;
      this.map.getSource("hazards").setData(fc);
      this.filter();
    } catch (e) {
      showError(t("err.events"), e);
    }
  }

  /**
   * After a report or a move: events, their counts per grid, and the open
   * event unless the move was made there (it shows its own result).
   */
  async reloadEvents(from) {
    await Promise.all([this.loadEvents(), this.loadStats()]);
    if (from !== this.panel && this.panel.fid !== null && !$("#dash-event").hidden) await this.panel.show(this.panel.fid);
  }

  /** Writes a short note next to a layer's switch. */
  note(layer, text) {
    const label = document.querySelector(`#layer-toggles input[data-layer=${layer}]`).parentElement;
    let small = label.querySelector(".why");
    if (!small) label.append(" ", (small = el("small", { class: "why" })));
    small.textContent = `(${text})`;
  }

  /** Fills the table of counts per grid. */
  async loadStats() {
    const { have, published } = this.ctx;
    this.stats.clear();
    try {
      if (!published && this.ctx.canPlan) {
        $("#grid-selected").textContent = t("dash.noPlan");
      } else if (have.has("GET /v1/grids/stats")) {
        const res = await api("v1/grids/stats?limit=10000");
        for (const g of res.grids || []) {
          this.stats.set(g.code, {
            code: g.code, name: g.name, households: g.households,
            // Open is neither done nor rejected; servers before the event
            // states counted a state called open.
            open: g.hazards ? g.hazards.open ?? (g.hazards.by_status ? g.hazards.by_status.open : null) : null,
            overdue: g.hazards ? g.hazards.overdue ?? null : null,
            reported: g.hazards ? g.hazards.reported ?? null : null,
            closure_rate: g.hazards ? g.hazards.closure_rate ?? null : null,
            on_time_rate: g.hazards ? g.hazards.on_time_rate ?? null : null,
            risk: rowRisk(g),
            coverage: g.coverage ? g.coverage.households_share : null, raw: g,
          });
        }
      } else if (published) {
        // Without the statistics route: households from the plan, open
        // hazards by locating them, coverage unknown.
        const plan = await api(`v1/plans/${published.id}`);
        for (const g of plan.grids || []) this.stats.set(g.code, { code: g.code, households: g.households, open: 0, overdue: null, coverage: null });
        const open = this.hazards.filter((h) => isOpen(h.properties.status));
        if (open.length && have.has("POST /v1/locate")) {
          // The events are in the map's CRS, and so are their points.
          const res = await api("v1/locate", { method: "POST", body: { points: open.map((h) => h.geometry.coordinates), crs: this.ctx.crs } });
          for (const r of res.results) if (r.grid && this.stats.has(r.grid.code)) this.stats.get(r.grid.code).open++;
        }
      }
    } catch (e) {
      showError(t("err.gridStats"), e);
    }
    this.renderTable();
    // A colouring by a figure follows the figures.
    if (gridColourings.find((x) => x.key === this.colourBy)?.figure) this.paintGrids();
  }

  renderTable() {
    const tbody = $("#grid-table tbody");
    const { key, dir } = this.sort || { key: "code", dir: 1 };
    const val = (r) => (key === "code" ? r.code : r[key] ?? -1);
    const rows = [...this.stats.values()].sort((a, b) => {
      const x = val(a), y = val(b);
      return dir * (typeof x === "string" ? x.localeCompare(y) : x - y) || a.code.localeCompare(b.code);
    });
    for (const th of document.querySelectorAll("#grid-table thead th")) {
      th.setAttribute("aria-sort", th.dataset.key === key ? (dir > 0 ? "ascending" : "descending") : "none");
    }
    tbody.replaceChildren(...rows.map((r) => el("tr", { dataset: { code: r.code, risk: r.risk || null }, tabindex: "0", onclick: () => this.select(r.code, true),
      onkeydown: (e) => e.key === "Enter" && this.select(r.code, true) },
    el("th", { scope: "row" }, r.code), el("td", {}, num(r.households)), el("td", {}, num(r.open)), el("td", {}, num(r.overdue)), el("td", {}, pct(r.coverage)))));
    for (const tr of tbody.children) tr.classList.toggle("selected", tr.dataset.code === this.selected);
  }

  /** Sorts the grid table by a column; a second click reverses. */
  sortBy(key) {
    const cur = this.sort || { key: "code", dir: 1 };
    this.sort = { key, dir: cur.key === key ? -cur.dir : key === "code" ? 1 : -1 };
    this.renderTable();
  }

  toggle(layer, on) {
    setVisible(this.map, toggles[layer], on);
    if (layer === "hotspots") {
      $("#legend-hotspots").hidden = !on;
      if (on) this.loadHotspots();
    }
  }

  /** The event filter from the form (see events.matchEvent). */
  currentFilter() {
    const form = $("#hazard-filter");
    const boxes = [...form.querySelectorAll("input[name=category]")];
    const checked = boxes.filter((i) => i.checked).map((i) => i.value);
    return {
      // Every box ticked is every category, also those the taxonomy lacks.
      cats: checked.length === boxes.length ? null : checked,
      status: form.status.value,
      assignee: form.assignee.value.trim(),
      overdue: form.overdue.checked,
      severity: Number(form.severity.value) || 1,
      since: form.since.value,
      until: form.until.value,
    };
  }

  filter() {
    const f = this.currentFilter();
    this.map.setFilter("hazards", filterExpression(f));
    const shown = newestFirst(this.hazards.filter((h) => matchEvent(h.properties, f)));
    const state = f.status === OPEN ? t("common.open") : f.status ? statusLabel(f.status) : "";
    const what = t(f.overdue ? "dash.whatOverdue" : "dash.what", { state: state ? t("dash.state", { state }) : "" }).replace(/\s+/g, " ").trim();
    $("#hazard-count").textContent = t("dash.count", { shown: num(shown.length), all: num(this.hazards.length), what });
    this.eventTable(shown);
    if (f.since && f.until && f.since > f.until) showError(t("err.eventFilter"), new Error(t("dash.datesReversed")));
    if (this.map.getLayoutProperty("hotspots-fill", "visibility") === "visible") this.loadHotspots();
  }

  /** The table of the events the filter shows, newest first. */
  eventTable(shown) {
    const { tax, lang } = this.ctx;
    const now = Date.now();
    const who = (id) => {
      if (!id) return el("em", {}, t("common.none"));
      const w = this.ctx.workerIndex.get(id);
      return w ? w.name : id;
    };
    $("#event-table tbody").replaceChildren(...shown.slice(0, tableRows).map((f) => {
      const p = f.properties;
      return el("tr", { dataset: { fid: String(f.id) }, tabindex: "0", class: this.panel.fid === f.id ? "selected" : null,
        onclick: () => this.openEvent(f, true), onkeydown: (e) => e.key === "Enter" && this.openEvent(f, true) },
      el("th", { scope: "row" }, String(f.id)), el("td", {}, categoryLabel(tax, p.category, lang)), el("td", {}, statusBadge(p.status)),
      el("td", {}, who(p.assignee)), el("td", { class: isOverdue(p, now, tax) ? "overdue" : null, title: shortTime(p.due_at) }, shortDate(p.due_at)));
    }));
    $("#event-table-note").textContent = shown.length > tableRows ? t("dash.newest", { n: num(tableRows), all: num(shown.length) }) : "";
  }

  /** Shows an event's history and moves; from the table, on the map too. */
  openEvent(f, fly) {
    for (const tr of document.querySelectorAll("#event-table tbody tr")) tr.classList.toggle("selected", tr.dataset.fid === String(f.id));
    if (fly && f.geometry) this.map.flyTo({ center: f.geometry.coordinates, zoom: Math.max(this.map.getZoom(), 15), duration: 500 });
    this.panel.show(f.id).then(() => $("#dash-event").scrollIntoView({ block: "nearest" }));
  }

  async loadHotspots() {
    const note = () => document.getElementById("hotspot-note");
    if (!this.ctx.have.has("GET /v1/hotspots")) {
      note().textContent = t("hotspot.none");
      return;
    }
    const f = this.currentFilter();
    const q = new URLSearchParams();
    if (f.cats && f.cats.length === 1) q.set("category", f.cats[0]);
    if (f.since) q.set("since", f.since);
    if (f.until) q.set("until", nextDay(f.until));
    const key = q.toString();
    if (key === this.hotspotsLoaded) return;
    this.hotspotsLoaded = key;
    try {
      const fc = await api(this.ctx.inMap(`v1/hotspots${key ? "?" + key : ""}`));
      if (this.hotspotsLoaded !== key) return; // a newer filter won
      this.map.getSource("hotspots").setData(fc);
      const hot = fc.features.filter((x) => x.properties.bin > 0).length, cold = fc.features.filter((x) => x.properties.bin < 0).length;
      const scope = !f.cats ? t("hotspot.allEvents") : f.cats.length === 1 ? categoryLabel(this.ctx.tax, f.cats[0], this.ctx.lang) : t("hotspot.allEventsPick");
      note().textContent = t("hotspot.note", { n: num(fc.incidents), scope, res: fc.res, hot: num(hot), cold: num(cold) }) +
        (fc.warnings && fc.warnings.length ? " " + fc.warnings.join(" ") : "");
    } catch (e) {
      this.hotspotsLoaded = null;
      showError(t("err.hotspots"), e);
    }
  }

  click(e) {
    const box = [[e.point.x - 4, e.point.y - 4], [e.point.x + 4, e.point.y + 4]];
    const point = this.map.queryRenderedFeatures(box, { layers: ["hazards", "cameras"] })[0];
    if (point) {
      this.popup(point);
      return;
    }
    // The drill-down goes to the street, community or grid clicked.
    this.figures.click(e);
    const hit = this.map.queryRenderedFeatures(e.point, { layers: ["grids-fill"] })[0];
    if (hit) this.select(hit.properties.code, false);
  }

  enter() {
    this.paintGrids();
    this.figures.enter();
  }

  /** A popup naming an event or a camera. */
  popup(f) {
    const p = f.properties;
    const { tax, lang } = this.ctx;
    let body;
    if (f.layer.id === "hazards") {
      const overdue = isOverdue(p, Date.now(), tax);
      const cat = tax.categories.get(p.category);
      body = el("div", { class: "popup" }, el("strong", {}, categoryLabel(tax, p.category, lang)), ` ${cat ? kindLabel(tax, cat.kind, lang) : t("common.event")}`, kvTable([
        [t("ev.severity"), String(p.severity)], [t("ev.status"), el("span", {}, statusBadge(p.status), overdue ? el("strong", { class: "overdue" }, ` ${t("common.overdue")}`) : null)],
        [t("ev.assignee"), p.assignee ? (this.ctx.workerIndex.get(p.assignee)?.name || p.assignee) : t("common.unassigned")],
        [t("ev.reported"), shortTime(p.reported_at)], [t("ev.due"), shortTime(p.due_at)], [t("ev.id"), p.source_id || String(f.id)]]),
      el("button", { type: "button", class: "linkish", onclick: () => {
        // The popup's feature is a tile copy; the panel loads it anew.
        this.closePopup();
        this.openEvent({ id: f.id, geometry: null }, false);
      } }, t("dash.historyMoves")));
    } else {
      body = el("div", { class: "popup" }, el("strong", {}, t("camera.title")), kvTable([
        [t("camera.status"), ["online", "offline"].includes(p.status) ? t(`camera.${p.status}`) : p.status], [t("camera.facing"), `${Math.round(p.azimuth)}°`], [t("camera.fov"), `${Math.round(p.fov)}°`],
        [t("camera.range"), t("unit.metres", { v: Math.round(p.range_m) })], [t("ev.id"), p.source_id || String(f.id)]]));
    }
    this.closePopup();
    this.openPopup = new maplibregl.Popup({ closeButton: true, maxWidth: "280px" })
      .setLngLat(f.geometry.coordinates).setDOMContent(body).addTo(this.map);
  }

  closePopup() {
    this.openPopup?.remove();
    this.openPopup = null;
  }

  leave() {
    this.closePopup();
  }

  /** Selects a grid: outlines it, marks its row and shows its figures. */
  async select(code, fromTable) {
    this.selected = code;
    this.map.setFilter("grids-selected", ["==", ["get", "code"], code]);
    for (const tr of document.querySelectorAll("#grid-table tbody tr")) tr.classList.toggle("selected", tr.dataset.code === code);
    const row = document.querySelector(`#grid-table tbody tr[data-code="${CSS.escape(code)}"]`);
    if (row && !fromTable) row.scrollIntoView({ block: "nearest" });
    if (fromTable) this.zoomTo(code);
    const out = $("#grid-selected");
    const s = this.stats.get(code);
    out.replaceChildren(el("strong", {}, t("grid.title", { code })));
    if (!this.ctx.have.has("GET /v1/grids/{code}/stats")) {
      if (s) out.append(kvTable([[t("grid.households"), num(s.households)], [t("grid.openHazards"), num(s.open)]]));
      return;
    }
    try {
      const g = await api(`v1/grids/${encodeURIComponent(code)}/stats`);
      if (this.selected !== code) return;
      const h = g.hazards;
      out.append(kvTable([
        g.name ? [t("grid.name"), g.name] : null,
        [t("grid.worker"), g.worker || t("common.notAssigned")],
        [t("grid.households"), num(g.households)],
        [t("grid.events"), h ? t("grid.eventsLine", { reported: num(h.reported), open: num(h.open), overdue: num(h.overdue), done: num(h.resolved), rejected: num(h.rejected) }) : "—"],
        [t("grid.closureRate"), h ? pct(h.closure_rate) : "—"],
        h && h.on_time_rate !== undefined ? [t("grid.onTime"), pct(h.on_time_rate)] : null,
        [t("grid.cameras"), g.cameras ? t("grid.camerasLine", { online: num(g.cameras.online), total: num(g.cameras.total) }) : "—"],
        [t("grid.householdsCovered"), g.coverage ? pct(g.coverage.households_share) : "—"],
        [t("grid.areaCovered"), g.coverage ? pct(g.coverage.area_share) : "—"],
      ]));
    } catch (e) {
      showError(t("grid.title", { code }), e);
    }
  }

  zoomTo(code) {
    const src = this.ctx.tiles ? { sourceLayer: "grids" } : {};
    const feats = this.map.querySourceFeatures(this.ctx.tiles ? "wangge" : "grids", { ...src, filter: ["==", ["get", "code"], code] });
    if (!feats.length) return;
    let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
    const visit = (c) => (typeof c[0] === "number" ? ((w = Math.min(w, c[0])), (e = Math.max(e, c[0])), (s = Math.min(s, c[1])), (n = Math.max(n, c[1]))) : c.forEach(visit));
    for (const f of feats) visit(f.geometry.coordinates);
    this.map.fitBounds([w, s, e, n], { padding: 60, maxZoom: 16, duration: 500 });
  }

  /** Loads everything again: hazards, cameras, figures, hotspots. */
  async reload() {
    this.hotspotsLoaded = null;
    this.paintGrids();
    await this.load();
    if (this.map.getLayoutProperty("hotspots-fill", "visibility") === "visible") await this.loadHotspots();
  }

  /** After a publish: grids and their figures changed. */
  async refresh() {
    await Promise.all([this.loadStats(), this.figures.load()]);
    this.paintGrids();
  }

  /**
   * Hazard changes from the stream: the map, the count and the table of
   * events follow at once; figures, risk colours and hotspots within a
   * second (figuresLater).
   */
  applyChanges(msgs) {
    let fs = this.hazards;
    const last = new Map(); // fid → its newest feature, or null when gone
    for (const m of msgs) {
      // The stream's features are WGS 84; the map's may not be.
      const r = applyChange(fs, m.feature ? { ...m, feature: featureToMap(m.feature, this.ctx.crs) } : m);
      fs = r.features;
      if (r.after) annotate([r.after], Date.now(), this.ctx.tax);
      last.set(String(m.fid), r.after);
    }
    this.hazards = fs;
    // The map's source takes only the difference (a city has tens of
    // thousands of events); a source that cannot takes them all.
    const src = this.map.getSource("hazards");
    const gone = [...last].filter(([, f]) => !f).map(([fid]) => Number(fid));
    const add = [...last.values()].filter(Boolean);
    try {
      src.updateData({ remove: gone, add });
    } catch {
      src.setData({ type: "FeatureCollection", features: fs });
    }
    this.filter();
    const shown = document.getElementById("event-table");
    shown.dataset.live = String(Number(shown.dataset.live || 0) + msgs.length);
    this.figuresLater();
  }

  /**
   * Grids or their risk changed: figures per grid, the drill-down, and the
   * grid tiles when they changed (tiles) or when they carry the colour
   * (risk levels follow events).
   */
  async liveFigures(tiles = false) {
    this.hotspotsLoaded = null;
    const jobs = [this.loadStats(), this.figures.load()];
    // The server dropped the tiles a change touched, so a reload asks
    // again and gets 304s for the others.
    if ((tiles || this.colourBy === "risk") && this.ctx.reloadGrids) jobs.push(this.ctx.reloadGrids());
    if (this.map.getLayoutProperty("hotspots-fill", "visibility") === "visible") jobs.push(this.loadHotspots());
    await Promise.all(jobs);
  }
}
