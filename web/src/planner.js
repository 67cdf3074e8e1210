// The planner's view: generate a plan for one area or all (progress shown),
// compare it with the published plan, lock grids, publish.
import { api } from "./api.js";
import { featureToMap } from "./basemap.js";
import { gridFillColour, householdColour, householdStops, bbox } from "./layers.js";
import { $, el, label, num, setStatus, showError } from "./ui.js";
import { formatDateTime, t } from "./i18n.js";

/** Rows of the quality report table: key (its words are report.… in the catalogue), formatter. */
const reportRows = [
  ["grids", num],
  ["households", num],
  ["target", num],
  ["households_min", num],
  ["households_median", num],
  ["households_max", num],
  ["max_deviation_pct", num],
  ["within_10pct", num],
  ["constrained", num],
  ["empty_grids", num],
  ["non_contiguous", num],
  ["gap_area_m2", (v) => num(Math.round(v * 100) / 100)],
  ["overlap_area_m2", (v) => num(Math.round(v * 100) / 100)],
  ["polsby_popper_mean", (v) => num(Math.round(v * 1000) / 1000)],
  ["polsby_popper_min", (v) => num(Math.round(v * 1000) / 1000)],
  // Absent (—) where the server had no streets when the plan was drawn.
  ["street_share_pct", num],
  ["inner_boundary_m", (v) => num(v === undefined ? v : Math.round(v))],
  ["weight", (v) => t(v === "workload" ? "plan.weightWorkload" : "plan.weightHouseholds")],
  ["households_moved", num],
  ["households_outside", num],
  ["resolution", num],
  ["runtime_seconds", (v) => num(Math.round(v * 10) / 10)],
];

/** The planner's layers of streets and units (showStreets), in drawing order. */
export const planStreetLayers = ["plan-streets", "plan-units-fill", "plan-units"];

export class Planner {
  constructor(ctx) {
    this.ctx = ctx;
    this.map = ctx.map;
    this.locked = new Set();
    this.publishedGrids = null; // grid list of the published plan
    this.candidate = null; // plan summary with grids
    this.polling = null;
    const select = $("#plan-parent");
    const areas = ctx.areas ? ctx.areas.features.map((f) => f.properties) : [];
    const parents = new Set(areas.map((a) => a.parent_code).filter(Boolean));
    const leaves = areas.filter((a) => !parents.has(a.code)).sort((a, b) => (a.name || a.code).localeCompare(b.name || b.code));
    for (const a of leaves) select.append(el("option", { value: a.code }, label(a)));
    select.addEventListener("change", () => {
      const count = $("#plan-form").count;
      count.disabled = !select.value;
      if (!select.value) count.value = "";
    });
    $("#plan-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.generate();
    });
    if (!ctx.published) $("#plan-form").base.checked = false;
    // Streets and units under the grids, on by default; a planner judging
    // the grids' colours alone hides them.
    const streets = el("label", {}, el("input", { type: "checkbox", id: "plan-streets-toggle", checked: true,
      onchange: () => this.showStreets(true) }), " ", el("span", { dataset: { i18n: "plan.showStreets" } }, t("plan.showStreets")));
    $("#plan-generate").parentElement.before(el("p", {}, streets));
    $("#plan-open").addEventListener("submit", (e) => {
      e.preventDefault();
      const id = $("#plan-list").value;
      if (id) this.open(id).catch((err) => showError(t("plan.title", { id }), err));
    });
  }

  /** Fills the list of stored plans. */
  async listPlans() {
    if (!this.ctx.canPlan) return;
    try {
      const res = await api("v1/plans");
      const list = $("#plan-list"), keep = list.value;
      list.replaceChildren(el("option", { value: "" }, "—"), ...(res.plans || []).map((p) => el("option", { value: String(p.id) },
        t(p.published ? "plan.listItemPublished" : "plan.listItem", { id: p.id, grids: num(p.report.grids), target: num(p.target), at: formatDateTime(new Date(p.created_at)) }))));
      list.value = keep;
    } catch (e) {
      showError(t("plan.stored"), e);
    }
  }

  enter() {
    this.showStreets(true);
    if (!this.ctx.canPlan) {
      $("#plan-result").replaceChildren(el("p", { class: "note" }, t("plan.forPlanners")));
      $("#plan-generate").disabled = true;
    }
    this.map.setPaintProperty("grids-fill", "fill-color", householdColour());
    this.showCandidate(!!this.candidate);
    this.loadPublished();
    this.listPlans();
  }

  leave() {
    this.showStreets(false);
    this.map.setPaintProperty("grids-fill", "fill-color", this.ctx.gridPaint ? this.ctx.gridPaint() : gridFillColour(this.ctx.published ? this.ctx.published.target : 300));
    this.showCandidate(false);
  }

  async loadPublished() {
    const p = this.ctx.published;
    if (!this.ctx.canPlan) return;
    if (!p || (this.publishedGrids && this.publishedGrids.id === p.id)) return;
    try {
      const plan = await api(`v1/plans/${p.id}`);
      this.publishedGrids = { id: p.id, grids: plan.grids || [], report: plan.report };
    } catch (e) {
      showError(t("plan.published"), e);
    }
  }

  click(e) {
    const hit = this.map.queryRenderedFeatures(e.point, { layers: ["grids-fill"] })[0];
    if (!hit) return;
    const code = hit.properties.code;
    if (this.locked.has(code)) this.locked.delete(code);
    else this.locked.add(code);
    this.showLocks();
  }

  showLocks() {
    const list = $("#locked-list");
    const codes = [...this.locked].sort();
    this.map.setFilter("grids-locked", ["in", ["get", "code"], ["literal", codes]]);
    if (!codes.length) {
      list.replaceChildren(t("common.none"));
      return;
    }
    list.replaceChildren(...codes.map((c) => el("button", { type: "button", class: "chip", title: t("plan.unlock", { code: c }),
      onclick: () => { this.locked.delete(c); this.showLocks(); } }, `${c} ×`)));
  }

  /**
   * Streets, rivers and railways from the server's streets tile layer,
   * under the grids' lines: the planner sees which boundaries follow them;
   * and, for planners, the units (schools, offices, factories) a grid
   * covers whole, from the units tile layer (refused to lesser roles, so
   * not asked for). Added on the first visit (other views do not load the
   * tiles); only where the map draws vector tiles, whose TileJSON URL
   * theirs are built from. The planner's toggle hides them while in the
   * view; leaving the view hides them whatever it says.
   */
  showStreets(on) {
    const map = this.map;
    if (!map.getLayer("plan-streets")) {
      const src = map.getSource("wangge");
      if (!on || !src || typeof src.url !== "string") return;
      const tileJSON = (layer) => src.url.replace(/tiles\/[^/?]+\.json/, `tiles/${layer}.json`);
      if (tileJSON("streets") === src.url) return;
      const below = map.getLayer("grids-line") ? "grids-line" : undefined;
      map.addSource("plan-streets", { type: "vector", url: tileJSON("streets") });
      const kind = ["get", "kind"];
      map.addLayer({ id: "plan-streets", type: "line", source: "plan-streets", "source-layer": "streets",
        paint: {
          "line-color": ["match", kind, "water", "#4292c6", "rail", "#525252", "#8c8c8c"],
          "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.6, 16, ["match", ["get", "class"],
            ["motorway", "trunk", "primary", "river", "canal"], 4, ["secondary", "tertiary"], 3, 1.8]],
          "line-opacity": 0.85,
        } }, below);
      if (this.ctx.canPlan) {
        map.addSource("plan-units", { type: "vector", url: tileJSON("units") });
        map.addLayer({ id: "plan-units-fill", type: "fill", source: "plan-units", "source-layer": "units",
          filter: ["!=", ["geometry-type"], "Point"],
          paint: { "fill-color": "#8c6bb1", "fill-opacity": 0.3, "fill-outline-color": "#54278f" } }, below);
        map.addLayer({ id: "plan-units", type: "circle", source: "plan-units", "source-layer": "units",
          filter: ["==", ["geometry-type"], "Point"],
          paint: { "circle-color": "#6a51a3", "circle-radius": 3.5, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 } }, below);
      }
    }
    const toggle = $("#plan-streets-toggle");
    const visible = on && (!toggle || toggle.checked) ? "visible" : "none";
    for (const id of planStreetLayers) if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", visible);
  }

  showCandidate(on) {
    for (const id of ["plan-fill", "plan-line"]) this.map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
  }

  /** The POST /v1/plans body from the form. */
  request() {
    const form = $("#plan-form");
    const target = Number(form.target.value);
    if (!Number.isInteger(target) || target < 1) throw new Error(t("plan.badTarget"));
    const body = { target };
    const parent = form.parent.value;
    const pub = this.ctx.published;
    const res = Number(form.res.value);
    if (res) body.res = res;
    // Households are the default balance; workload adds events, units and area.
    if (form.weight && form.weight.value === "workload") body.weight = "workload";
    if (parent && form.count.value) {
      const n = Number(form.count.value);
      if (!Number.isInteger(n) || n < 1) throw new Error(t("plan.badCount"));
      body.grids = { [parent]: n };
    }
    const lock = new Set(this.locked);
    if (parent) {
      // The API draws every area; to redraw one, the grids of the others
      // are locked in a redraw of the published plan.
      if (!pub || !this.publishedGrids) throw new Error(t("plan.needPublishedForOne"));
      for (const g of this.publishedGrids.grids) if (g.parent_code !== parent) lock.add(g.code);
    }
    if (form.base.checked || parent || lock.size) {
      if (!pub) throw new Error(t("plan.needPublished"));
      body.base = pub.id;
      if (lock.size) body.lock = [...lock].sort();
    }
    return body;
  }

  async generate() {
    let body;
    try {
      await this.loadPublished();
      body = this.request();
    } catch (e) {
      showError(t("plan.error"), e);
      return;
    }
    const button = $("#plan-generate");
    button.disabled = true;
    $("#plan-result").replaceChildren();
    this.progress(0, 0, t("plan.starting"));
    try {
      let job = await api("v1/plans", { method: "POST", body });
      while (job.status === "running") {
        this.progress(job.progress_done, job.progress_total, t("plan.generating"));
        await new Promise((r) => setTimeout(r, 400));
        job = await api(`v1/plans/${job.id}`);
      }
      if (job.status !== "done") throw new Error(job.error || t("plan.jobEnded", { status: job.status }));
      this.progress(1, 1, t("plan.done"));
      await this.open(job.plan_id);
      this.listPlans();
    } catch (e) {
      $("#plan-progress").hidden = true;
      showError(t("plan.generation"), e);
    } finally {
      button.disabled = false;
    }
  }

  progress(done, total, text) {
    $("#plan-progress").hidden = false;
    const bar = $("#plan-bar");
    if (total > 0) {
      bar.max = total;
      bar.value = done;
    } else bar.removeAttribute("value"); // indeterminate
    $("#plan-progress-text").textContent = total > 0 ? t("plan.progress", { text, done: num(done), total: num(total) }) : text;
  }

  /** Shows a stored plan next to the published one. */
  async open(id) {
    const [plan, wgs] = await Promise.all([api(`v1/plans/${id}`), api(`v1/plans/${id}/grids`)]);
    // A plan's grids come in WGS 84 only: drawn in the map's CRS.
    const fc = featureToMap(wgs, this.ctx.crs);
    this.candidate = plan;
    // Compared with the plan published when it was made, also after it is
    // published itself.
    this.compare = this.publishedGrids && this.publishedGrids.id !== plan.id ? this.publishedGrids : null;
    if (this.compare) {
      // Outline the grids that are new or whose households changed.
      const before = new Map(this.compare.grids.map((g) => [g.code, g.households]));
      for (const f of fc.features) f.properties.changed = before.get(f.properties.code) !== f.properties.households;
    }
    this.map.getSource("plan").setData(fc);
    this.showCandidate(true);
    // Frame the redrawn area, when one was chosen.
    const parent = $("#plan-form").parent.value;
    const b = parent && bbox({ features: fc.features.filter((f) => f.properties.parent_code === parent) });
    if (b) this.map.fitBounds(b, { padding: 40, maxZoom: 15, duration: 500 });
    this.render();
  }

  render() {
    const plan = this.candidate;
    const pub = this.compare;
    const before = new Map((pub ? pub.grids : []).map((g) => [g.code, g.households]));
    let changed = 0;
    for (const g of plan.grids || []) if (before.get(g.code) !== g.households) changed++;
    const head = el("tr", {}, el("th", { scope: "col" }, ""), pub ? el("th", { scope: "col" }, t(plan.published ? "plan.colBefore" : "plan.colPublished", { id: pub.id })) : null,
      el("th", { scope: "col" }, t("plan.colNew", { id: plan.id })));
    const rows = reportRows.map(([k, f]) => el("tr", {}, el("th", { scope: "row" }, t(`report.${k}`)),
      pub ? el("td", {}, f(pub.report[k])) : null, el("td", { dataset: { key: k } }, f(plan.report[k]))));
    const legend = el("div", { class: "legend" }, el("div", {}, t("plan.legend")),
      el("div", { class: "items" }, householdStops.map(([v, c]) => {
        const s = el("span", { class: "swatch square" });
        s.style.setProperty("background", c);
        return el("span", { class: "item" }, s, num(v));
      })));
    const warnings = (plan.report.warnings || []).map((w) => el("li", {}, w));
    const grids = this.gridTable(plan, pub);
    const show = el("label", {}, el("input", { type: "checkbox", checked: true, onchange: (e) => this.showCandidate(e.target.checked) }),  " ", t("plan.showNew"));
    const publish = plan.published
      ? el("p", { class: "ok" }, t("plan.isPublished", { id: plan.id }))
      : el("p", {}, el("button", { type: "button", id: "plan-publish", onclick: () => this.publish(plan.id) }, t("plan.publish", { id: plan.id })));
    $("#plan-result").replaceChildren(...[
      el("h3", {}, t("plan.head", { id: plan.id, grids: num(plan.report.grids) })),
      pub ? el("p", {}, t("plan.moved", { moved: num(plan.report.households_moved), changed: num(changed), id: pub.id })) : null,
      show, legend,
      el("table", { class: "data report", id: "plan-report" }, el("caption", {}, t("plan.quality")), el("thead", {}, head), el("tbody", {}, rows)),
      warnings.length ? el("ul", { class: "warnings" }, warnings) : null,
      grids,
      publish,
    ].filter(Boolean));
  }

  /**
   * Each grid of the plan with its households and its share of boundary
   * along streets (the report's street share, grid by grid), next to the
   * published grid of the same code; folded, a city has hundreds.
   */
  gridTable(plan, pub) {
    const gs = plan.grids || [];
    if (!gs.length) return null;
    const before = new Map((pub ? pub.grids : []).map((g) => [g.code, g]));
    const share = (g) => (g && g.street_share_pct !== undefined ? num(g.street_share_pct) : "—");
    const head = el("tr", {}, el("th", { scope: "col" }, t("plan.colGrid")), el("th", { scope: "col" }, t("plan.colHouseholds")),
      el("th", { scope: "col" }, t("plan.colStreetShare")),
      pub ? el("th", { scope: "col" }, t("plan.colStreetShareBefore", { id: pub.id })) : null);
    const rows = [...gs].sort((a, b) => a.code.localeCompare(b.code)).map((g) => el("tr", { dataset: { code: g.code } },
      el("th", { scope: "row" }, g.code), el("td", {}, num(g.households)), el("td", { class: "street-share" }, share(g)),
      pub ? el("td", {}, share(before.get(g.code))) : null));
    return el("details", { id: "plan-grids" }, el("summary", {}, t("plan.gridsHead", { grids: num(gs.length) })),
      el("table", { class: "data" }, el("thead", {}, head), el("tbody", {}, rows)));
  }

  async publish(id) {
    const button = $("#plan-publish");
    if (button) button.disabled = true;
    try {
      const res = await api(`v1/plans/${id}/publish`, { method: "POST" });
      this.ctx.published = res;
      this.candidate.published = true;
      this.locked.clear();
      this.showLocks();
      this.showCandidate(false);
      await this.ctx.reloadGrids();
      await this.loadPublished();
      this.render();
      await this.ctx.onPublished?.(res);
      this.listPlans();
      setStatus(t("status.plan", { id: res.id, grids: num(res.report.grids), target: num(res.target) }));
    } catch (e) {
      if (button) button.disabled = false;
      showError(t("plan.publishing", { id }), e);
    }
  }
}
