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
  ["households_moved", num],
  ["households_outside", num],
  ["resolution", num],
  ["runtime_seconds", (v) => num(Math.round(v * 10) / 10)],
];

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
      publish,
    ].filter(Boolean));
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
