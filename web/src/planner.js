// The planner's view: generate a plan for one area or all (progress shown),
// compare it with the published plan, lock grids, publish.
import { api } from "./api.js";
import { gridFillColour, householdColour, householdStops, bbox } from "./layers.js";
import { $, el, label, num, setStatus, showError } from "./ui.js";

/** Rows of the quality report table: key, label, formatter. */
const reportRows = [
  ["grids", "grids", num],
  ["households", "households in grids", num],
  ["target", "target households per grid", num],
  ["households_min", "households, least", num],
  ["households_median", "households, median", num],
  ["households_max", "households, most", num],
  ["max_deviation_pct", "largest deviation from target, %", num],
  ["within_10pct", "grids within ±10 %", num],
  ["constrained", "grids that cannot be within ±10 %", num],
  ["empty_grids", "grids without households", num],
  ["non_contiguous", "grids in more than one piece", num],
  ["gap_area_m2", "gaps, m²", (v) => num(Math.round(v * 100) / 100)],
  ["overlap_area_m2", "overlaps, m²", (v) => num(Math.round(v * 100) / 100)],
  ["polsby_popper_mean", "compactness (Polsby-Popper), mean", (v) => num(Math.round(v * 1000) / 1000)],
  ["polsby_popper_min", "compactness, least", (v) => num(Math.round(v * 1000) / 1000)],
  ["households_moved", "households moved from the base plan", num],
  ["households_outside", "households outside every area", num],
  ["resolution", "H3 resolution", num],
  ["runtime_seconds", "run time, s", (v) => num(Math.round(v * 10) / 10)],
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
      if (id) this.open(id).catch((err) => showError(`Plan ${id}`, err));
    });
  }

  /** Fills the list of stored plans. */
  async listPlans() {
    if (!this.ctx.canPlan) return;
    try {
      const res = await api("v1/plans");
      const list = $("#plan-list"), keep = list.value;
      list.replaceChildren(el("option", { value: "" }, "—"), ...(res.plans || []).map((p) => el("option", { value: String(p.id) },
        `plan ${p.id}${p.published ? " (published)" : ""}: ${p.report.grids} grids, target ${p.target}, ${p.created_at.slice(0, 16).replace("T", " ")}`)));
      list.value = keep;
    } catch (e) {
      showError("Stored plans", e);
    }
  }

  enter() {
    if (!this.ctx.canPlan) {
      $("#plan-result").replaceChildren(el("p", { class: "note" }, "Plans are for planners: enter a planner's key with the Key button to draw and publish grids."));
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
      showError("Published plan", e);
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
      list.replaceChildren("none");
      return;
    }
    list.replaceChildren(...codes.map((c) => el("button", { type: "button", class: "chip", title: `unlock ${c}`,
      onclick: () => { this.locked.delete(c); this.showLocks(); } }, `${c} ×`)));
  }

  showCandidate(on) {
    for (const id of ["plan-fill", "plan-line"]) this.map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
  }

  /** The POST /v1/plans body from the form. */
  request() {
    const form = $("#plan-form");
    const target = Number(form.target.value);
    if (!Number.isInteger(target) || target < 1) throw new Error("households per grid must be a whole number of at least 1");
    const body = { target };
    const parent = form.parent.value;
    const pub = this.ctx.published;
    const res = Number(form.res.value);
    if (res) body.res = res;
    if (parent && form.count.value) {
      const n = Number(form.count.value);
      if (!Number.isInteger(n) || n < 1) throw new Error("the number of grids must be a whole number of at least 1");
      body.grids = { [parent]: n };
    }
    const lock = new Set(this.locked);
    if (parent) {
      // The API draws every area; to redraw one, the grids of the others
      // are locked in a redraw of the published plan.
      if (!pub || !this.publishedGrids) throw new Error("redrawing one area needs a published plan to keep the others from; choose every area");
      for (const g of this.publishedGrids.grids) if (g.parent_code !== parent) lock.add(g.code);
    }
    if (form.base.checked || parent || lock.size) {
      if (!pub) throw new Error("there is no published plan to redraw from or to lock grids in; untick the redraw and unlock the grids");
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
      showError("Plan", e);
      return;
    }
    const button = $("#plan-generate");
    button.disabled = true;
    $("#plan-result").replaceChildren();
    this.progress(0, 0, "starting…");
    try {
      let job = await api("v1/plans", { method: "POST", body });
      while (job.status === "running") {
        this.progress(job.progress_done, job.progress_total, "generating");
        await new Promise((r) => setTimeout(r, 400));
        job = await api(`v1/plans/${job.id}`);
      }
      if (job.status !== "done") throw new Error(job.error || `the job ended as ${job.status}`);
      this.progress(1, 1, "done");
      await this.open(job.plan_id);
      this.listPlans();
    } catch (e) {
      $("#plan-progress").hidden = true;
      showError("Plan generation", e);
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
    $("#plan-progress-text").textContent = total > 0 ? `${text}: ${done} of ${total} parts` : text;
  }

  /** Shows a stored plan next to the published one. */
  async open(id) {
    const [plan, fc] = await Promise.all([api(`v1/plans/${id}`), api(`v1/plans/${id}/grids`)]);
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
    const head = el("tr", {}, el("th", { scope: "col" }, ""), pub ? el("th", { scope: "col" }, plan.published ? `before (${pub.id})` : `published (${pub.id})`) : null,
      el("th", { scope: "col" }, `new (${plan.id})`));
    const rows = reportRows.map(([k, text, f]) => el("tr", {}, el("th", { scope: "row" }, text),
      pub ? el("td", {}, f(pub.report[k])) : null, el("td", { dataset: { key: k } }, f(plan.report[k]))));
    const legend = el("div", { class: "legend" }, el("div", {}, "Households per grid (new plan filled, published outlined; new or changed grids outlined in magenta):"),
      el("div", { class: "items" }, householdStops.map(([v, c]) => {
        const s = el("span", { class: "swatch square" });
        s.style.setProperty("background", c);
        return el("span", { class: "item" }, s, num(v));
      })));
    const warnings = (plan.report.warnings || []).map((w) => el("li", {}, w));
    const show = el("label", {}, el("input", { type: "checkbox", checked: true, onchange: (e) => this.showCandidate(e.target.checked) }), " show the new plan");
    const publish = plan.published
      ? el("p", { class: "ok" }, `Plan ${plan.id} is published.`)
      : el("p", {}, el("button", { type: "button", id: "plan-publish", onclick: () => this.publish(plan.id) }, `Publish plan ${plan.id}`));
    $("#plan-result").replaceChildren(...[
      el("h3", {}, `Plan ${plan.id}: ${num(plan.report.grids)} grids`),
      pub ? el("p", {}, `${num(plan.report.households_moved)} households moved; ${num(changed)} grids new or changed against plan ${pub.id}.`) : null,
      show, legend,
      el("table", { class: "data report", id: "plan-report" }, el("caption", {}, "Quality report"), el("thead", {}, head), el("tbody", {}, rows)),
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
      setStatus(`Published plan ${res.id}: ${res.report.grids} grids, target ${res.target} households`);
    } catch (e) {
      if (button) button.disabled = false;
      showError(`Publishing plan ${id}`, e);
    }
  }
}
