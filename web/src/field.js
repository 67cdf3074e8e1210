// The field view, made for a phone: the events assigned to this key's
// worker, one event's history and moves, which grid a point is in and who
// serves it, and a report form for a new event at that point.
import { allFeatures, api, apiWithETag } from "./api.js";
import { circle } from "./layers.js";
import {
  atLeast, categoriesByKind, categoryLabel, defaultSeverity, eventQuery, isOpen, isOverdue, newestFirst, roleLabel, shortTime, statusColours, statusLabel,
} from "./events.js";
import { EventPanel, statusBadge } from "./eventpanel.js";
import { debounce } from "./live.js";
import { $, el, kvTable, label, metres, num, showError } from "./ui.js";

// Which coordinate system this device's location comes in, remembered on
// the device: phones sold in China often report GCJ-02, not WGS 84.
const geoCRSKey = "wangge.geo-crs";
const crsNames = { wgs84: "WGS 84", gcj02: "GCJ-02", bd09: "BD-09" };

export class Field {
  constructor(ctx) {
    this.ctx = ctx;
    this.map = ctx.map;
    this.seq = 0;
    this.point = null; // where a report goes: {lon, lat, crs, what}
    this.mine = new Set(); // fids of the events listed as this worker's
    this.report_ = null; // the report being sent: resolves with its fid
    this.mineLater = debounce(() => this.loadMine(), 300);
    this.panel = new EventPanel(ctx, $("#event-detail"), () => ctx.eventsChanged(this.panel));
    $("#geolocate").addEventListener("click", () => this.geolocate());
    const geoCRS = $("#geo-crs");
    try {
      geoCRS.value = localStorage.getItem(geoCRSKey) || "wgs84";
    } catch { /* storage refused: WGS 84 */ }
    if (!geoCRS.value) geoCRS.value = "wgs84";
    geoCRS.addEventListener("change", () => {
      try {
        localStorage.setItem(geoCRSKey, geoCRS.value);
      } catch { /* kept for this page only */ }
    });
    $("#coord-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const form = e.target;
      const m = form.coords.value.trim().match(/^(-?\d+(?:\.\d+)?)\s*[,\s]\s*(-?\d+(?:\.\d+)?)$/);
      if (!m) {
        showError("Point", new Error("type the longitude and the latitude as two numbers, e.g. 9.5209, 47.1410"));
        return;
      }
      const lon = Number(m[1]), lat = Number(m[2]);
      this.locate(lon, lat, `typed point (${form.crs.selectedOptions[0].textContent})`, form.crs.value).then((p) => {
        if (p) this.map.flyTo({ center: p, zoom: Math.max(this.map.getZoom(), 15) });
      });
    });
    this.reportForm();
  }

  enter() {
    this.map.getCanvas().style.cursor = "pointer";
  }

  leave() {
    this.map.getSource("pick").setData({ type: "FeatureCollection", features: [] });
  }

  click(e) {
    this.locate(e.lngLat.lng, e.lngLat.lat, "tapped point");
  }

  /** A worker's name for people: "name (id)", or the id when unknown. */
  workerName(id) {
    const w = this.ctx.workerIndex.get(id);
    return w && w.name ? `${w.name} (${id})` : id;
  }

  // My events.

  /**
   * Lists the events assigned to this key's worker, newest first; after a
   * move made elsewhere (from), the open event is shown again too.
   */
  async loadMine(from) {
    if (from && from !== this.panel && this.panel.fid !== null && !$("#event-detail").hidden) this.panel.show(this.panel.fid);
    const box = $("#my-events");
    const me = this.ctx.me;
    if (!me || !me.worker) {
      box.replaceChildren(el("p", { class: "note" }, me
        ? "This key is not tied to a worker, so no events are assigned to it (a field key made with wangge keys create --worker ID is). The dashboard filters events by assignee."
        : "This server does not say who the key is (GET /v1/me)."));
      return;
    }
    const w = me.worker;
    let fc;
    try {
      fc = await allFeatures(`collections/hazards/items?${eventQuery({ assignee: w.id })}`);
    } catch (e) {
      box.replaceChildren();
      showError("My events", e);
      return;
    }
    const { tax, lang } = this.ctx;
    const now = Date.now();
    const events = newestFirst(fc.features);
    // Add only: an event announced meanwhile, or since given to someone
    // else, stays known, so that it is not announced twice.
    for (const f of events) this.mine.add(String(f.id));
    const open = events.filter((f) => isOpen(f.properties.status)).length;
    const late = events.filter((f) => isOverdue(f.properties, now, tax)).length;
    const items = events.map((f) => {
      const p = f.properties, overdue = isOverdue(p, now, tax);
      return el("li", {}, el("button", { type: "button", class: `event-item${isOpen(p.status) ? "" : " done"}`,
        dataset: { fid: String(f.id), status: p.status }, "aria-current": this.panel.fid === f.id ? "true" : null,
        onclick: () => this.open(f.id) },
      el("span", { class: "what" }, categoryLabel(tax, p.category, lang), el("small", {}, ` #${f.id}`)),
      el("span", { class: "meta" }, statusBadge(p.status), ` · due ${shortTime(p.due_at)}`,
        overdue ? el("strong", { class: "overdue" }, " overdue") : null),
      p.note ? el("span", { class: "note-line" }, p.note) : null));
    });
    box.replaceChildren(
      el("p", { class: "note" }, `${w.name || w.id} (${w.id}${w.role ? `, ${roleLabel(tax, w.role, lang)}` : ""}): ${num(events.length)} ${events.length === 1 ? "event" : "events"}, ${num(open)} open, ${num(late)} overdue.`),
      items.length ? el("ul", { class: "my-events" }, items) : el("p", { class: "note" }, "Nothing is assigned to you."),
    );
  }

  /**
   * Hazard changes from the stream: an event newly assigned to this key's
   * worker is announced ("new event assigned to you"), and the list of my
   * events follows any change to one of them. A report sent from this page
   * is not announced to its own sender.
   */
  async applyChanges(msgs) {
    const me = this.ctx.me && this.ctx.me.worker ? this.ctx.me.worker.id : "";
    if (!me) return;
    const mineNow = (m) => m.feature && m.feature.properties && m.feature.properties.assignee === me;
    const touched = msgs.filter((m) => mineNow(m) || this.mine.has(String(m.fid)));
    if (!touched.length) return;
    const fresh = touched.filter((m) => mineNow(m) && !this.mine.has(String(m.fid)));
    for (const m of fresh) this.mine.add(String(m.fid));
    const own = this.report_ ? await this.report_ : null;
    for (const m of fresh) if (String(m.fid) !== String(own)) this.announce(m.feature.id ?? m.fid, m.feature.properties);
    this.mineLater();
  }

  /** Shows "new event assigned to you" for one event, with a button to open it. */
  announce(fid, p) {
    const { tax, lang } = this.ctx;
    const box = $("#assigned-notice");
    const item = el("li", { dataset: { fid: String(fid) } },
      el("strong", {}, `New event assigned to you 新派单: #${fid} `), categoryLabel(tax, p.category, lang), `, severity ${p.severity}`,
      p.due_at ? `, due ${shortTime(p.due_at)}` : "", " ",
      el("button", { type: "button", class: "linkish", onclick: () => {
        item.remove();
        if (!box.querySelector("li")) box.hidden = true;
        this.open(fid);
      } }, "Open it"));
    let list = box.querySelector("ul");
    if (!list) {
      list = el("ul", {});
      box.replaceChildren(list, el("button", { type: "button", class: "close", "aria-label": "dismiss", onclick: () => {
        box.hidden = true;
        list.replaceChildren();
      } }, "×"));
    }
    list.prepend(item);
    box.hidden = false;
  }

  /** Opens an event's history and moves, and shows it on the map. */
  open(fid) {
    for (const b of document.querySelectorAll("#my-events .event-item")) b.setAttribute("aria-current", b.dataset.fid === String(fid) ? "true" : "false");
    this.panel.show(fid).then(() => $("#event-detail").scrollIntoView({ block: "nearest" }));
  }

  // Where am I?

  geolocate() {
    if (!navigator.geolocation) {
      showError("Location", new Error("this browser cannot tell where it is; tap the map instead"));
      return;
    }
    const btn = $("#geolocate");
    btn.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        btn.disabled = false;
        const crs = $("#geo-crs").value || "wgs84";
        const { longitude: lon, latitude: lat, accuracy } = pos.coords;
        this.locate(lon, lat, `your location (±${Math.round(accuracy)} m, ${crsNames[crs]})`, crs).then((p) => {
          if (p) this.map.flyTo({ center: p, zoom: Math.max(this.map.getZoom(), 15) });
        });
      },
      (err) => {
        btn.disabled = false;
        const why = { 1: "permission to use the location was refused", 2: "the location is not available", 3: "finding the location took too long" }[err.code] || err.message;
        showError("Location", new Error(`${why}; tap the map instead`));
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  }

  /**
   * Locates a point given in crs (WGS 84 by default), shows the answer and
   * makes it the report's point; resolves with the point in WGS 84, or null
   * when it failed.
   */
  async locate(lon, lat, what, crs = "wgs84") {
    const seq = ++this.seq;
    const out = $("#field-result");
    if (crs === "wgs84") this.mark([lon, lat]);
    this.setPoint({ lon, lat, crs, what });
    out.replaceChildren(el("p", { class: "note" }, `Looking up ${lon.toFixed(6)}, ${lat.toFixed(6)}…`));
    const { have } = this.ctx;
    if (!have.has("GET /v1/locate")) {
      out.replaceChildren(el("p", {}, "This server cannot locate points yet (GET /v1/locate)."));
      return null;
    }
    const radius = Number($("#radius").value) || 300;
    const q = `lon=${lon}&lat=${lat}${crs === "wgs84" ? "" : `&crs=${crs}`}`;
    const nearby = (kind) => (have.has("GET /v1/nearby")
      ? api(`v1/nearby?${q}&kind=${kind}&radius_m=${radius}&limit=10`).catch((e) => (showError(`Nearby ${kind}`, e), null))
      : Promise.resolve(null));
    let loc;
    try {
      loc = await api(`v1/locate?${q}`);
    } catch (e) {
      if (seq === this.seq) out.replaceChildren();
      showError("Locate", e);
      return null;
    }
    if (crs !== "wgs84") this.mark(loc.point);
    // Cameras are for planners: others are not shown them.
    const [hz, cams] = await Promise.all([nearby("hazards"), this.ctx.canPlan ? nearby("cameras") : null]);
    if (seq !== this.seq) return null; // a later tap won
    this.mark(loc.point, radius);
    const g = loc.grid;
    this.map.setFilter("grids-selected", ["==", ["get", "code"], g ? g.code : ""]);
    const head = g
      ? el("h3", { id: "field-grid", dataset: { code: g.code } }, `Grid ${g.code}`, g.name ? ` ${g.name}` : "")
      : el("h3", { id: "field-grid", dataset: { code: "" } }, "Outside every grid");
    const parents = (loc.parents || []).map(label).join(" › ") || "—";
    const { tax, lang } = this.ctx;
    const person = (w) => el("span", { class: "person", dataset: { id: w.id } }, el("strong", {}, w.name || w.id),
      `, ${roleLabel(tax, w.role, lang)}`, w.phone ? [", ", el("a", { href: `tel:${w.phone.replace(/[\s-]/g, "")}` }, w.phone)] : "");
    const workers = g && g.workers ? g.workers : null;
    // The staff's names, for the events assigned to them (a field key
    // cannot read the roster).
    for (const w of [...(workers || []), g && g.chief]) if (w && !this.ctx.workerIndex.has(w.id)) this.ctx.workerIndex.set(w.id, w);
    out.replaceChildren(...[
      el("div", { id: "field-point", dataset: { lon: String(lon), lat: String(lat), crs } },
        el("small", {}, `${what}: ${lon.toFixed(6)}, ${lat.toFixed(6)}`, crs === "wgs84" ? "" : ` → WGS 84 ${loc.point[0].toFixed(6)}, ${loc.point[1].toFixed(6)}`)),
      head,
      kvTable([
        // Older servers name one worker; newer ones list the staff.
        g && workers ? ["workers", workers.length ? el("ul", { class: "people", id: "field-workers" }, workers.map((w) => el("li", {}, person(w)))) : "none on the roster"] : null,
        g && !workers ? ["worker", g.worker || "not assigned"] : null,
        g && "chief" in g ? ["chief", g.chief ? el("span", { id: "field-chief" }, person(g.chief)) : "none on the roster"] : null,
        g ? ["households", num(g.households)] : null,
        g ? ["area", `${num(g.area_m2 / 1e4)} ha`] : null,
        ["parents", parents],
        g ? ["to the edge", metres(loc.distance_to_boundary_m)] : null,
      ]),
      this.list(`Events within ${radius} m`, hz, (p) => {
        const s = el("span", { class: "swatch" });
        s.style.setProperty("background", statusColours[p.status] || "#666");
        return [s, `${categoryLabel(tax, p.category, lang)}, severity ${p.severity}, ${statusLabel(p.status)}`, el("small", {}, ` ${String(p.reported_at || "").slice(0, 10)}`)];
      }),
      this.list(`Cameras within ${radius} m`, cams, (p) => [`camera ${p.source_id || p.id || ""}, ${p.status}, facing ${Math.round(p.azimuth)}°, ${Math.round(p.range_m)} m`]),
    ].filter(Boolean)); // replaceChildren would write a null as "null"
    return loc.point;
  }

  /** Marks a WGS 84 point, and the search circle when radius is given. */
  mark(p, radius) {
    const feats = [{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: p } }];
    if (radius) feats.push(circle(p, radius));
    this.map.getSource("pick").setData({ type: "FeatureCollection", features: feats });
  }

  list(title, fc, describe) {
    if (!fc) return null;
    const items = fc.features.map((f) => el("li", {}, ...describe(f.properties), el("span", { class: "dist" }, ` ${metres(f.properties.distance_m)}`)));
    return el("section", {}, el("h4", {}, title), items.length ? el("ol", { class: "near" }, items) : el("p", { class: "note" }, "none"));
  }

  // Reporting.

  /** Fills the report form's categories (grouped by kind) and wires it. */
  reportForm() {
    const form = $("#report-form");
    const { tax, lang } = this.ctx;
    const groups = categoriesByKind(tax, lang);
    if (groups.length) {
      form.category.replaceChildren(el("option", { value: "" }, "— choose —"), ...groups.map((g) => el("optgroup", { label: g.label },
        g.categories.map((c) => el("option", { value: c.code }, categoryLabel(tax, c.code, lang))))));
    } else {
      // A server without a taxonomy: the category is typed.
      form.category.replaceWith(el("input", { name: "category", required: true, placeholder: "category code", autocomplete: "off" }));
    }
    form.addEventListener("change", (e) => {
      if (e.target.name === "category") form.severity.value = String(defaultSeverity(tax, form.category.value));
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.report();
    });
    if (!this.canReport()) {
      $("#report-point").textContent = this.ctx.have.has("POST /collections/{collectionId}/items")
        ? "Reports need a field worker's or a planner's key: enter one with the Key button."
        : "This server takes no reports (POST /collections/hazards/items).";
    }
  }

  /** Whether this server takes reports, and from this key. */
  canReport() {
    const { have, role } = this.ctx;
    return have.has("POST /collections/{collectionId}/items") && (!role || atLeast(role, "field"));
  }

  /** Makes p the point a report goes to. */
  setPoint(p) {
    this.point = p;
    if (!this.canReport()) return;
    const text = `Point: ${p.what}, ${p.lon.toFixed(6)}, ${p.lat.toFixed(6)} (${crsNames[p.crs] || p.crs}).`;
    $("#report-point").replaceChildren(el("span", { id: "report-where", dataset: { lon: String(p.lon), lat: String(p.lat), crs: p.crs } }, text));
    $("#report-submit").disabled = false;
  }

  /** Sends the report and says where it went: its state and its assignee. */
  async report() {
    const form = $("#report-form"), out = $("#report-result"), p = this.point;
    if (!p) {
      showError("Report", new Error("tap the map or use your location first: a report needs a point"));
      return;
    }
    const category = form.category.value.trim();
    if (!category) {
      showError("Report", new Error("choose a category"));
      return;
    }
    const props = { category, severity: Number(form.severity.value) };
    const note = form.note.value.trim();
    if (note) props.note = note;
    const button = $("#report-submit");
    button.disabled = true;
    out.replaceChildren(el("p", { class: "note" }, "Sending…"));
    // The stream may bring the new event before this answer does: the
    // notice waits for the answer, to leave out the sender's own report.
    let done;
    this.report_ = new Promise((r) => (done = r));
    try {
      const { data: f } = await apiWithETag(`collections/hazards/items?crs=${p.crs}`, {
        method: "POST", body: { type: "Feature", geometry: { type: "Point", coordinates: [p.lon, p.lat] }, properties: props },
      }).catch((e) => {
        done(null);
        throw e;
      });
      done(f.id);
      const q = f.properties;
      const where = q.assignee
        ? ["assigned to ", el("strong", { class: "assignee", dataset: { id: q.assignee } }, this.workerName(q.assignee))]
        : [el("strong", { class: "assignee", dataset: { id: "" } }, "unassigned"), ": no worker or chief serves this place; the dashboard shows it to planners"];
      out.replaceChildren(el("p", { id: "report-done", class: "ok-box", dataset: { fid: String(f.id), status: q.status } },
        `Event ${f.id} (${categoryLabel(this.ctx.tax, q.category, this.ctx.lang)}): `, statusBadge(q.status), ", ", ...where,
        q.due_at ? `; due ${shortTime(q.due_at)}` : "", ". "),
      el("button", { type: "button", class: "linkish", onclick: () => this.open(f.id) }, "Open it"));
      form.note.value = "";
      await this.ctx.eventsChanged();
    } catch (e) {
      out.replaceChildren();
      showError("Report", e);
    } finally {
      button.disabled = false;
      this.report_ = null;
    }
  }
}
