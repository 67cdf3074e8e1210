// The dashboard: layer switches, hazard filters, hotspots with their legend,
// and a table of counts per grid.
import maplibregl from "maplibre-gl/dist/maplibre-gl-csp.js";
import { allFeatures, api } from "./api.js";
import { categoryColours, deviationStops, gridFillColour, hotspotBins, sector, setVisible, toggles } from "./layers.js";
import { $, el, num, pct, kvTable, showError } from "./ui.js";

const statuses = { open: "open", in_progress: "in progress", resolved: "resolved" };

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
    const cats = $("#categories");
    for (const [c, colour] of Object.entries(categoryColours)) {
      const swatch = el("span", { class: "swatch" });
      swatch.style.setProperty("background", colour);
      cats.append(el("label", { class: "cat" }, el("input", { type: "checkbox", name: "category", value: c, checked: true }), swatch, c));
    }
    $("#hazard-filter").addEventListener("change", () => this.filter());
    $("#hazard-filter").addEventListener("submit", (e) => e.preventDefault());
    for (const th of document.querySelectorAll("#grid-table thead th")) {
      th.addEventListener("click", () => this.sortBy(th.dataset.key));
    }
    this.gridLegend();
    this.hotspotLegend();
  }

  gridLegend() {
    const t = this.ctx.published ? this.ctx.published.target : null;
    const items = deviationStops.map(([v, c]) => {
      const s = el("span", { class: "swatch square" });
      s.style.setProperty("background", c);
      return el("span", { class: "item" }, s, `${v > 0 ? "+" : ""}${v} %`);
    });
    const none = el("span", { class: "swatch square" });
    none.style.setProperty("background", "#dcdcdc");
    $("#legend-grids").replaceChildren(el("div", {}, t ? `Grid colour: households against the target of ${t}` : "Grid colour: households against the plan's target"), el("div", { class: "items" }, items,
      el("span", { class: "item" }, none, "no households")));
  }

  hotspotLegend() {
    const items = hotspotBins.map(([b, c, text]) => {
      const s = el("span", { class: "swatch square" });
      s.style.setProperty("background", c);
      return el("div", { class: "item" }, s, `${b > 0 ? "+" : ""}${b}  ${text}`);
    });
    $("#legend-hotspots").replaceChildren(el("div", {}, "Hotspots (Gi* bins, FDR-corrected):"), ...items, el("div", { id: "hotspot-note", class: "note" }));
  }

  async load() {
    const { map } = this;
    const jobs = [
      allFeatures("collections/hazards/items").then((fc) => {
        this.hazards = fc.features;
        map.getSource("hazards").setData(fc);
        this.filter();
      }).catch((e) => showError("Hazards", e)),
      allFeatures("collections/cameras/items").then((fc) => {
        map.getSource("cameras").setData(fc);
        map.getSource("sectors").setData({ type: "FeatureCollection", features: fc.features.map(sector).filter(Boolean) });
      }).catch((e) => {
        // Camera positions are for planners; others see why there are none.
        if (e.status === 403 || (e.status === 401 && !this.ctx.canPlan)) this.note("cameras", "hidden: cameras need a planner's key");
        else showError("Cameras", e);
      }),
      this.loadStats(),
    ];
    await Promise.all(jobs);
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
        $("#grid-selected").textContent = "No plan is published yet: the planner draws one.";
      } else if (have.has("GET /v1/grids/stats")) {
        const res = await api("v1/grids/stats?limit=10000");
        for (const g of res.grids || []) {
          this.stats.set(g.code, {
            code: g.code, name: g.name, households: g.households,
            open: g.hazards && g.hazards.by_status ? g.hazards.by_status.open : null,
            coverage: g.coverage ? g.coverage.households_share : null, raw: g,
          });
        }
      } else if (published) {
        // Without the statistics route: households from the plan, open
        // hazards by locating them, coverage unknown.
        const plan = await api(`v1/plans/${published.id}`);
        for (const g of plan.grids || []) this.stats.set(g.code, { code: g.code, households: g.households, open: 0, coverage: null });
        const open = this.hazards.filter((h) => h.properties.status === "open");
        if (open.length && have.has("POST /v1/locate")) {
          const res = await api("v1/locate", { method: "POST", body: { points: open.map((h) => h.geometry.coordinates) } });
          for (const r of res.results) if (r.grid && this.stats.has(r.grid.code)) this.stats.get(r.grid.code).open++;
        }
      }
    } catch (e) {
      showError("Grid statistics", e);
    }
    this.renderTable();
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
    tbody.replaceChildren(...rows.map((r) => el("tr", { dataset: { code: r.code }, tabindex: "0", onclick: () => this.select(r.code, true),
      onkeydown: (e) => e.key === "Enter" && this.select(r.code, true) },
    el("th", { scope: "row" }, r.code), el("td", {}, num(r.households)), el("td", {}, num(r.open)), el("td", {}, pct(r.coverage)))));
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

  /** The hazard filter from the form, as values and a MapLibre expression. */
  currentFilter() {
    const form = $("#hazard-filter");
    const status = form.status.value, since = form.since.value, until = form.until.value, severity = Number(form.severity.value) || 1;
    const cats = [...form.querySelectorAll("input[name=category]:checked")].map((i) => i.value);
    const expr = ["all", ["in", ["get", "category"], ["literal", cats]]];
    if (status) expr.push(["==", ["get", "status"], status]);
    if (severity > 1) expr.push([">=", ["get", "severity"], severity]);
    const day = ["slice", ["get", "reported_at"], 0, 10];
    if (since) expr.push([">=", day, since]);
    if (until) expr.push(["<=", day, until]);
    return { status, since, until, cats, severity, expr };
  }

  filter() {
    const f = this.currentFilter();
    this.map.setFilter("hazards", f.expr);
    const shown = this.hazards.filter((h) => {
      const p = h.properties, day = String(p.reported_at || "").slice(0, 10);
      return f.cats.includes(p.category) && (!f.status || p.status === f.status) && p.severity >= f.severity &&
        (!f.since || day >= f.since) && (!f.until || day <= f.until);
    }).length;
    const what = f.status ? `${statuses[f.status]} hazards` : "hazards";
    $("#hazard-count").textContent = `${num(shown)} of ${num(this.hazards.length)} ${what} shown`;
    if (f.since && f.until && f.since > f.until) showError("Hazard filter", new Error("the From date is after the To date"));
    if (this.map.getLayoutProperty("hotspots-fill", "visibility") === "visible") this.loadHotspots();
  }

  async loadHotspots() {
    const note = () => document.getElementById("hotspot-note");
    if (!this.ctx.have.has("GET /v1/hotspots")) {
      note().textContent = "This server has no hotspot analysis (GET /v1/hotspots).";
      return;
    }
    const f = this.currentFilter();
    const q = new URLSearchParams();
    if (f.cats.length === 1) q.set("category", f.cats[0]);
    if (f.since) q.set("since", f.since);
    if (f.until) q.set("until", nextDay(f.until));
    const key = q.toString();
    if (key === this.hotspotsLoaded) return;
    this.hotspotsLoaded = key;
    try {
      const fc = await api(`v1/hotspots${key ? "?" + key : ""}`);
      if (this.hotspotsLoaded !== key) return; // a newer filter won
      this.map.getSource("hotspots").setData(fc);
      const hot = fc.features.filter((x) => x.properties.bin > 0).length, cold = fc.features.filter((x) => x.properties.bin < 0).length;
      const scope = f.cats.length === 1 ? f.cats[0] + " hazards" : f.cats.length === Object.keys(categoryColours).length ? "all hazards" : "all hazards (pick one category to narrow)";
      note().textContent = `${num(fc.incidents)} incidents (${scope}, any status) in H3 cells of resolution ${fc.res}: ${hot} hot and ${cold} cold cells.` +
        (fc.warnings && fc.warnings.length ? " " + fc.warnings.join(" ") : "");
    } catch (e) {
      this.hotspotsLoaded = null;
      showError("Hotspots", e);
    }
  }

  click(e) {
    const box = [[e.point.x - 4, e.point.y - 4], [e.point.x + 4, e.point.y + 4]];
    const point = this.map.queryRenderedFeatures(box, { layers: ["hazards", "cameras"] })[0];
    if (point) {
      this.popup(point);
      return;
    }
    const hit = this.map.queryRenderedFeatures(e.point, { layers: ["grids-fill"] })[0];
    if (hit) this.select(hit.properties.code, false);
  }

  /** A popup naming a hazard or a camera. */
  popup(f) {
    const p = f.properties;
    const body = f.layer.id === "hazards"
      ? el("div", { class: "popup" }, el("strong", {}, `${p.category} hazard`), kvTable([
        ["severity", String(p.severity)], ["status", String(p.status).replace("_", " ")],
        ["reported", String(p.reported_at || "").replace("T", " ").replace(/(:00)?(\.000)?Z$/, " UTC")], ["id", p.source_id || String(f.id)]]))
      : el("div", { class: "popup" }, el("strong", {}, "camera"), kvTable([
        ["status", p.status], ["facing", `${Math.round(p.azimuth)}°`], ["field of view", `${Math.round(p.fov)}°`],
        ["range", `${Math.round(p.range_m)} m`], ["id", p.source_id || String(f.id)]]));
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
    out.replaceChildren(el("strong", {}, `Grid ${code}`));
    if (!this.ctx.have.has("GET /v1/grids/{code}/stats")) {
      if (s) out.append(kvTable([["households", num(s.households)], ["open hazards", num(s.open)]]));
      return;
    }
    try {
      const g = await api(`v1/grids/${encodeURIComponent(code)}/stats`);
      if (this.selected !== code) return;
      const by = g.hazards ? g.hazards.by_status || {} : {};
      out.append(kvTable([
        g.name ? ["name", g.name] : null,
        ["worker", g.worker || "not assigned"],
        ["households", num(g.households)],
        ["hazards", g.hazards ? `${num(g.hazards.reported)} reported: ${num(by.open)} open, ${num(by.in_progress)} in progress, ${num(by.resolved)} resolved` : "—"],
        ["closure rate", g.hazards ? pct(g.hazards.closure_rate) : "—"],
        ["cameras", g.cameras ? `${num(g.cameras.online)} online of ${num(g.cameras.total)}` : "—"],
        ["households covered", g.coverage ? pct(g.coverage.households_share) : "—"],
        ["area covered", g.coverage ? pct(g.coverage.area_share) : "—"],
      ]));
    } catch (e) {
      showError(`Grid ${code}`, e);
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
    this.gridLegend();
    if (document.body.dataset.view === "dashboard") {
      this.map.setPaintProperty("grids-fill", "fill-color", gridFillColour(this.ctx.published ? this.ctx.published.target : 300));
    }
    await this.load();
    if (this.map.getLayoutProperty("hotspots-fill", "visibility") === "visible") await this.loadHotspots();
  }

  /** After a publish: grids and their figures changed. */
  async refresh() {
    await this.loadStats();
    this.gridLegend();
  }
}
