// One event in detail: its properties, its history, and a button for each
// state the caller may move it to now. The field view and the dashboard
// each have one. A move is a PATCH with the ETag the history route gave,
// so a move based on what someone else has changed since is refused (412)
// and shown again rather than applied blindly.
import { api, apiWithETag } from "./api.js";
import { atLeast, categoryLabel, isOverdue, kindLabel, moveProblem, roleLabel, shortTime, statusColours, statusLabel } from "./events.js";
import { el, kvTable, showError } from "./ui.js";
import { t } from "./i18n.js";

/** The words on a move's button, as what the person does (move.to.… in the catalogue). */
const moveWords = (to) => (["accepted", "assigned", "in_progress", "resolved", "verified", "closed", "rejected", "escalated", "reopened", "reported"].includes(to)
  ? t(`move.to.${to}`) : statusLabel(to));

/** A coloured dot and the state's words. */
export function statusBadge(s) {
  const dot = el("span", { class: "swatch" });
  dot.style.setProperty("background", statusColours[s] || "#666");
  return el("span", { class: "status", dataset: { status: s } }, dot, statusLabel(s));
}

export class EventPanel {
  /**
   * ctx is the page's (taxonomy, workers, lang); box the element to render
   * into; onChanged(fid) runs after a successful move.
   */
  constructor(ctx, box, onChanged) {
    this.ctx = ctx;
    this.box = box;
    this.onChanged = onChanged;
    this.fid = null;
    this.seq = 0;
  }

  /** A worker's name for people: "name (id)", or the id when unknown. */
  workerName(id) {
    if (!id) return t("common.unassigned");
    const w = this.ctx.workerIndex.get(id);
    return w && w.name ? `${w.name} (${id})` : id;
  }

  hide() {
    this.fid = null;
    this.seq++;
    this.box.hidden = true;
    this.box.replaceChildren();
  }

  /** Loads event fid and its history and shows them; message goes on top. */
  async show(fid, message = "") {
    const seq = ++this.seq;
    this.fid = fid;
    this.box.hidden = false;
    if (!this.box.childElementCount) this.box.replaceChildren(el("p", { class: "note" }, t("panel.loading", { fid })));
    let f, hist;
    try {
      [f, hist] = await Promise.all([
        api(`collections/hazards/items/${fid}`),
        this.ctx.role && !atLeast(this.ctx.role, "field")
          ? Promise.resolve({ data: null, etag: "", why: t("panel.historyForField") })
          : this.ctx.have.has("GET /collections/hazards/items/{featureId}/history")
          ? apiWithETag(`collections/hazards/items/${fid}/history`).catch((e) => {
            // A viewer sees the event but not its history.
            if (e.status === 401 || e.status === 403) return { data: null, etag: "", why: e.message };
            throw e;
          })
          : Promise.resolve({ data: null, etag: "", why: t("panel.noHistoryServer") }),
      ]);
    } catch (e) {
      if (seq !== this.seq) return;
      this.box.replaceChildren(el("p", { class: "note" }, t("panel.cannotShow", { fid, msg: e.message })));
      return;
    }
    if (seq !== this.seq) return; // another event was chosen meanwhile
    this.render(f, hist, message);
  }

  render(f, hist, message) {
    const { tax, lang } = this.ctx;
    const p = f.properties;
    const h = hist.data;
    const status = h ? h.status : p.status;
    const overdue = isOverdue({ ...p, status }, Date.now(), tax);
    const cat = tax.categories.get(p.category);
    const head = el("h3", { class: "event-title", dataset: { fid: String(f.id) } },
      t("panel.title", { fid: f.id, category: categoryLabel(tax, p.category, lang) }), cat ? el("small", {}, ` ${kindLabel(tax, cat.kind, lang)}`) : null);
    const facts = kvTable([
      [t("ev.status"), el("span", {}, statusBadge(status), overdue ? el("strong", { class: "overdue" }, ` ${t("common.overdue")}`) : null)],
      [t("ev.severity"), String(p.severity)],
      [t("ev.reported"), shortTime(p.reported_at)],
      [t("ev.due"), shortTime(p.due_at)],
      [t("ev.assignee"), this.workerName(h ? h.assignee : p.assignee)],
      [t("ev.responsible"), (h ? h.resp_code : p.resp_code) || t("ev.county")],
      p.resolved_at ? [t("ev.resolved"), shortTime(p.resolved_at)] : null,
      p.closed_at ? [t("ev.closed"), shortTime(p.closed_at)] : null,
      p.note ? [t("ev.note"), p.note] : null,
    ]);
    const msg = el("p", { class: "event-message", role: "status", hidden: !message }, message);
    this.box.replaceChildren(head, msg, facts, h ? this.moves(f.id, h, hist.etag, msg) : el("p", { class: "note" }, t("panel.noHistory", { why: hist.why })),
      h ? this.history(h.steps) : null);
  }

  /** The buttons of the moves the caller may make now, with a note field. */
  moves(fid, h, etag, msg) {
    const allowed = h.allowed || [];
    if (!allowed.length) return el("p", { class: "note moves-none" }, t("panel.noMove"));
    const note = el("textarea", { class: "move-note", rows: "2", maxlength: "2000", placeholder: t("panel.notePlaceholder") });
    let assignee = null;
    if (allowed.includes("assigned")) {
      const workers = this.ctx.workers;
      assignee = workers
        ? el("select", { class: "move-assignee" }, workers.map((w) => el("option", { value: w.id, selected: w.id === h.assignee },
          `${w.name} (${w.id}), ${roleLabel(this.ctx.tax, w.role, this.ctx.lang)}`)))
        : el("input", { class: "move-assignee", placeholder: t("common.workerId"), value: h.assignee || "" });
    }
    const buttons = allowed.map((to) => el("button", { type: "button", class: "move", dataset: { to },
      onclick: () => this.move(fid, to, etag, note.value.trim(), assignee ? assignee.value.trim() : "", msg) },
    statusBadge(to).firstChild, moveWords(to)));
    return el("div", { class: "moves" },
      el("label", {}, t("panel.note"), " ", note),
      assignee ? el("label", {}, t("panel.assignTo"), " ", assignee) : null,
      el("div", { class: "move-buttons" }, buttons));
  }

  history(steps) {
    const items = (steps || []).map((s) => el("li", { dataset: { to: s.to } },
      el("span", { class: "when" }, shortTime(s.at)), " ",
      s.from ? `${statusLabel(s.from)} → ` : "", el("strong", {}, statusLabel(s.to)),
      s.assignee && s.to === "assigned" ? t("panel.stepTo", { who: this.workerName(s.assignee) }) : "",
      el("span", { class: "actor" }, t("panel.stepBy", { who: s.actor }), this.ctx.me && this.ctx.me.key && s.actor === `key:${this.ctx.me.key}` ? t("panel.you") : ""),
      s.note ? el("div", { class: "step-note" }, s.note) : null));
    return el("section", { class: "history" }, el("h4", {}, t("panel.history")),
      items.length ? el("ol", { class: "steps" }, items) : el("p", { class: "note" }, t("panel.noSteps")));
  }

  /** Sends one move; a refused one is explained, a stale one reloaded. */
  async move(fid, to, etag, note, assignee, msg) {
    const props = { status: to };
    if (note) props.note = note;
    if (to === "assigned") {
      if (!assignee) {
        msg.hidden = false;
        msg.textContent = t("panel.chooseWorker");
        return;
      }
      props.assignee = assignee;
    }
    for (const b of this.box.querySelectorAll("button.move")) b.disabled = true;
    try {
      await apiWithETag(`collections/hazards/items/${fid}`, { method: "PATCH", body: { properties: props }, headers: etag ? { "If-Match": etag } : {} });
    } catch (e) {
      if ([409, 403, 412].includes(e.status)) {
        // 412: someone changed it since; show it as it is now.
        if (e.status === 412) await this.show(fid, moveProblem(412, e.detail));
        else {
          msg.hidden = false;
          msg.textContent = moveProblem(e.status, e.detail);
          for (const b of this.box.querySelectorAll("button.move")) b.disabled = false;
        }
        return;
      }
      for (const b of this.box.querySelectorAll("button.move")) b.disabled = false;
      showError(t("panel.moving", { fid }), e);
      return;
    }
    await this.show(fid, t("panel.moved", { state: statusLabel(to) }));
    this.onChanged?.(fid);
  }
}
