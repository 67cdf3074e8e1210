// The field view, made for a phone: the events assigned to this key's
// worker, one event's history and moves, which grid a point is in and who
// serves it, and a report form for a new event at that point.
import { allFeatures, api, apiWithETag } from "./api.js";
import { circle } from "./layers.js";
import {
  atLeast, categoriesByKind, categoryLabel, defaultSeverity, eventQuery, isOpen, isOverdue, newestFirst, roleLabel, shortDate, shortTime, statusColours, statusLabel,
} from "./events.js";
import { EventPanel, statusBadge } from "./eventpanel.js";
import { debounce } from "./live.js";
import { $, el, kvTable, label, metres, num, showError } from "./ui.js";
import { formatNumber, t } from "./i18n.js";

// Which coordinate system this device's location comes in, remembered on
// the device: phones sold in China often report GCJ-02, not WGS 84.
const geoCRSKey = "wangge.geo-crs";
const crsNames = { wgs84: "WGS 84", gcj02: "GCJ-02", bd09: "BD-09" }; // names, the same in every language

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
        showError(t("field.point"), new Error(t("field.badPoint")));
        return;
      }
      const lon = Number(m[1]), lat = Number(m[2]);
      this.locate(lon, lat, t("field.typedPoint", { crs: form.crs.selectedOptions[0].textContent }), form.crs.value).then((p) => {
        if (p) this.map.flyTo({ center: this.ctx.toMap(p), zoom: Math.max(this.map.getZoom(), 15) });
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
    // A point on the map is in the map's CRS (GCJ-02 over AMap): the server converts it.
    this.locate(e.lngLat.lng, e.lngLat.lat, t("field.tappedPoint"), this.ctx.crs);
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
      box.replaceChildren(el("p", { class: "note" }, me ? t("field.noWorker") : t("field.noMe")));
      return;
    }
    const w = me.worker;
    let fc;
    try {
      fc = await allFeatures(`collections/hazards/items?${eventQuery({ assignee: w.id })}`);
    } catch (e) {
      // No signal: the events kept on the device.
      const kept = e.status === 0 && this.ctx.offline ? await this.ctx.offline.keptEvents() : undefined;
      if (!kept) {
        box.replaceChildren();
        showError(t("field.myEvents"), e);
        return;
      }
      fc = { type: "FeatureCollection", features: kept };
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
      el("span", { class: "meta" }, statusBadge(p.status), t("field.dueLine", { due: shortTime(p.due_at) }),
        overdue ? el("strong", { class: "overdue" }, ` ${t("common.overdue")}`) : null),
      p.note ? el("span", { class: "note-line" }, p.note) : null));
    });
    box.replaceChildren(
      el("p", { class: "note" }, t(events.length === 1 ? "field.mineOne" : "field.mine", {
        who: `${w.name || w.id} (${w.id}${w.role ? `, ${roleLabel(tax, w.role, lang)}` : ""})`, n: num(events.length), open: num(open), late: num(late),
      })),
      items.length ? el("ul", { class: "my-events" }, items) : el("p", { class: "note" }, t("field.nothingAssigned")),
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
      el("strong", {}, t("field.newAssigned", { fid })), categoryLabel(tax, p.category, lang), t("field.severityPart", { s: p.severity }),
      p.due_at ? t("field.duePart", { due: shortTime(p.due_at) }) : "", " ",
      el("button", { type: "button", class: "linkish", onclick: () => {
        item.remove();
        if (!box.querySelector("li")) box.hidden = true;
        this.open(fid);
      } }, t("field.openIt")));
    let list = box.querySelector("ul");
    if (!list) {
      list = el("ul", {});
      box.replaceChildren(list, el("button", { type: "button", class: "close", "aria-label": t("common.dismiss"), onclick: () => {
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
      showError(t("field.location"), new Error(t("field.noGeolocation")));
      return;
    }
    const btn = $("#geolocate");
    btn.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        btn.disabled = false;
        const crs = $("#geo-crs").value || "wgs84";
        const { longitude: lon, latitude: lat, accuracy } = pos.coords;
        this.locate(lon, lat, t("field.yourLocation", { acc: formatNumber(Math.round(accuracy)), crs: crsNames[crs] }), crs).then((p) => {
          if (p) this.map.flyTo({ center: this.ctx.toMap(p), zoom: Math.max(this.map.getZoom(), 15) });
        });
      },
      (err) => {
        btn.disabled = false;
        const why = [1, 2, 3].includes(err.code) ? t(`field.geoError${err.code}`) : err.message;
        showError(t("field.location"), new Error(t("field.geoTapInstead", { why })));
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
    if (crs === "wgs84" || crs === this.ctx.crs) this.markIn([lon, lat], crs);
    this.setPoint({ lon, lat, crs, what });
    out.replaceChildren(el("p", { class: "note" }, t("field.lookingUp", { lon: lon.toFixed(6), lat: lat.toFixed(6) })));
    const { have, offline } = this.ctx;
    if (offline && !navigator.onLine) return this.locateHere(lon, lat, what, crs, seq);
    if (!have.has("GET /v1/locate")) {
      out.replaceChildren(el("p", {}, t("field.noLocate")));
      return null;
    }
    const radius = Number($("#radius").value) || 300;
    const q = `lon=${lon}&lat=${lat}${crs === "wgs84" ? "" : `&crs=${crs}`}`;
    const nearby = (kind) => (have.has("GET /v1/nearby")
      ? api(`v1/nearby?${q}&kind=${kind}&radius_m=${radius}&limit=10`).catch((e) => (showError(t(kind === "cameras" ? "field.nearbyCameras" : "field.nearbyHazards"), e), null))
      : Promise.resolve(null));
    let loc;
    try {
      loc = await api(`v1/locate?${q}`);
    } catch (e) {
      // No signal: the grids kept on the device answer.
      if (e.status === 0 && offline) return this.locateHere(lon, lat, what, crs, seq);
      if (seq === this.seq) out.replaceChildren();
      showError(t("field.locate"), e);
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
      ? el("h3", { id: "field-grid", dataset: { code: g.code } }, t("grid.title", { code: g.code }), g.name ? ` ${g.name}` : "")
      : el("h3", { id: "field-grid", dataset: { code: "" } }, t("field.outside"));
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
        el("small", {}, t("field.pointLine", { what, lon: lon.toFixed(6), lat: lat.toFixed(6) }), crs === "wgs84" ? "" : ` → WGS 84 ${loc.point[0].toFixed(6)}, ${loc.point[1].toFixed(6)}`)),
      head,
      kvTable([
        // Older servers name one worker; newer ones list the staff.
        g && workers ? [t("field.workers"), workers.length ? el("ul", { class: "people", id: "field-workers" }, workers.map((w) => el("li", {}, person(w)))) : t("field.noneOnRoster")] : null,
        g && !workers ? [t("grid.worker"), g.worker || t("common.notAssigned")] : null,
        g && "chief" in g ? [t("field.chief"), g.chief ? el("span", { id: "field-chief" }, person(g.chief)) : t("field.noneOnRoster")] : null,
        g ? [t("grid.households"), num(g.households)] : null,
        g ? [t("field.area"), t("unit.ha", { v: num(g.area_m2 / 1e4) })] : null,
        [t("field.parents"), parents],
        g ? [t("field.toEdge"), metres(loc.distance_to_boundary_m)] : null,
      ]),
      this.list(t("field.eventsWithin", { r: radius }), hz, (p) => this.nearEvent(p)),
      this.list(t("field.camerasWithin", { r: radius }), cams, (p) => [t("field.nearCamera", {
        id: p.source_id || p.id || "", state: ["online", "offline"].includes(p.status) ? t(`camera.${p.status}`) : p.status, az: Math.round(p.azimuth), range: Math.round(p.range_m),
      })]),
    ].filter(Boolean)); // replaceChildren would write a null as "null"
    return loc.point;
  }

  /**
   * Locates a point on the device, from the grids kept for work without
   * signal (offline.js); resolves with the point in WGS 84, or null.
   */
  async locateHere(lon, lat, what, crs, seq) {
    const out = $("#field-result");
    const t0 = performance.now();
    const loc = await this.ctx.offline.locate(lon, lat, crs);
    const ms = performance.now() - t0;
    const radius = Number($("#radius").value) || 300;
    const hz = loc ? await this.ctx.offline.nearby(lon, lat, crs, radius) : null;
    if (seq !== this.seq) return null;
    if (!loc) {
      out.replaceChildren(el("p", { id: "field-offline", class: "note" }, t("offline.noGrids")));
      return null;
    }
    this.mark(loc.point);
    const g = loc.grid ? loc.grid.properties : null;
    this.map.setFilter("grids-selected", ["==", ["get", "code"], g ? g.code : ""]);
    out.replaceChildren(
      el("div", { id: "field-point", dataset: { lon: String(lon), lat: String(lat), crs } },
        el("small", {}, t("field.pointLine", { what, lon: lon.toFixed(6), lat: lat.toFixed(6) }), crs === "wgs84" ? "" : ` → WGS 84 ${loc.point[0].toFixed(6)}, ${loc.point[1].toFixed(6)}`)),
      g ? el("h3", { id: "field-grid", dataset: { code: g.code, where: "device" } }, t("grid.title", { code: g.code }), g.name ? ` ${g.name}` : "")
        : el("h3", { id: "field-grid", dataset: { code: "", where: "device" } }, t("offline.outsideKept")),
      el("p", { id: "field-offline", class: "note" }, t("offline.locatedHere", { ms: ms.toFixed(1) })),
      g ? kvTable([[t("grid.households"), num(g.households)], [t("field.area"), t("unit.ha", { v: num(g.area_m2 / 1e4) })]]) : "",
      // Nearby from the events kept: the worker's own, not everyone's.
      this.list(t("offline.keptEventsWithin", { r: radius }), hz, (p) => this.nearEvent(p)) || "",
    );
    return loc.point;
  }

  /** Marks a WGS 84 point, and the search circle when radius is given. */
  mark(p, radius) {
    this.markIn(this.ctx.toMap(p), this.ctx.crs, radius);
  }

  /** Marks a point given in crs, which is WGS 84 or the map's own. */
  markIn(p, crs, radius) {
    if (crs !== this.ctx.crs) p = this.ctx.toMap(p);
    const feats = [{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: p } }];
    if (radius) feats.push(circle(p, radius));
    this.map.getSource("pick").setData({ type: "FeatureCollection", features: feats });
  }

  /** One event of a nearby list. */
  nearEvent(p) {
    const { tax, lang } = this.ctx;
    const s = el("span", { class: "swatch" });
    s.style.setProperty("background", statusColours[p.status] || "#666");
    return [s, t("field.nearEvent", { category: categoryLabel(tax, p.category, lang), s: p.severity, state: statusLabel(p.status) }), el("small", {}, ` ${shortDate(p.reported_at)}`)];
  }

  list(title, fc, describe) {
    if (!fc) return null;
    const items = fc.features.map((f) => el("li", {}, ...describe(f.properties), el("span", { class: "dist" }, ` ${metres(f.properties.distance_m)}`)));
    return el("section", {}, el("h4", {}, title), items.length ? el("ol", { class: "near" }, items) : el("p", { class: "note" }, t("common.none")));
  }

  // Reporting.

  /** Fills the report form's categories (grouped by kind) and wires it. */
  reportForm() {
    const form = $("#report-form");
    const { tax, lang } = this.ctx;
    const groups = categoriesByKind(tax, lang);
    if (groups.length) {
      form.category.replaceChildren(el("option", { value: "" }, t("report.choose")), ...groups.map((g) => el("optgroup", { label: g.label },
        g.categories.map((c) => el("option", { value: c.code }, categoryLabel(tax, c.code, lang))))));
    } else {
      // A server without a taxonomy: the category is typed.
      form.category.replaceWith(el("input", { name: "category", required: true, placeholder: t("report.categoryCode"), autocomplete: "off" }));
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
        ? t("report.needKey")
        : t("report.noReports");
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
    const text = t("report.point", { what: p.what, lon: p.lon.toFixed(6), lat: p.lat.toFixed(6), crs: crsNames[p.crs] || p.crs });
    $("#report-point").replaceChildren(el("span", { id: "report-where", dataset: { lon: String(p.lon), lat: String(p.lat), crs: p.crs } }, text));
    $("#report-submit").disabled = false;
  }

  /** Sends the report and says where it went: its state and its assignee. */
  async report() {
    const form = $("#report-form"), out = $("#report-result"), p = this.point;
    if (!p) {
      showError(t("report.error"), new Error(t("report.needPoint")));
      return;
    }
    const category = form.category.value.trim();
    if (!category) {
      showError(t("report.error"), new Error(t("report.needCategory")));
      return;
    }
    const props = { category, severity: Number(form.severity.value) };
    const note = form.note.value.trim();
    if (note) props.note = note;
    const button = $("#report-submit");
    button.disabled = true;
    out.replaceChildren(el("p", { class: "note" }, t("report.sending")));
    // The stream may bring the new event before this answer does: the
    // notice waits for the answer, to leave out the sender's own report.
    let done;
    this.report_ = new Promise((r) => (done = r));
    const path = `collections/hazards/items?crs=${p.crs}`;
    const body = { type: "Feature", geometry: { type: "Point", coordinates: [p.lon, p.lat] }, properties: props };
    // One key for this report: a copy sent again after a lost answer is the
    // same report to the server. Without signal it waits on the device.
    const key = crypto.randomUUID();
    const queue = async () => {
      done(null);
      const item = await this.ctx.offline.queueWrite({ kind: "report", method: "POST", path, body, label: categoryLabel(this.ctx.tax, category, this.ctx.lang), key });
      out.replaceChildren(el("p", { id: "report-queued", class: "note", dataset: { key: item.key } }, t("offline.reportQueued")));
      form.note.value = "";
    };
    try {
      if (this.ctx.offline && !navigator.onLine) {
        await queue();
        return;
      }
      let f;
      try {
        ({ data: f } = await apiWithETag(path, { method: "POST", body, headers: { "Idempotency-Key": key } }));
      } catch (e) {
        if (e.status === 0 && this.ctx.offline) {
          await queue();
          return;
        }
        done(null);
        throw e;
      }
      done(f.id);
      const q = f.properties;
      const where = q.assignee
        ? [t("report.assignedTo"), el("strong", { class: "assignee", dataset: { id: q.assignee } }, this.workerName(q.assignee))]
        : [el("strong", { class: "assignee", dataset: { id: "" } }, t("common.unassigned")), t("report.nobodyServes")];
      out.replaceChildren(el("p", { id: "report-done", class: "ok-box", dataset: { fid: String(f.id), status: q.status } },
        t("report.done", { fid: f.id, category: categoryLabel(this.ctx.tax, q.category, this.ctx.lang) }), statusBadge(q.status), t("report.comma"), ...where,
        q.due_at ? t("report.duePart", { due: shortTime(q.due_at) }) : "", t("report.end")),
      el("button", { type: "button", class: "linkish", onclick: () => this.open(f.id) }, t("field.openIt")));
      form.note.value = "";
      await this.ctx.eventsChanged();
    } catch (e) {
      out.replaceChildren();
      showError(t("report.error"), e);
    } finally {
      button.disabled = false;
      this.report_ = null;
    }
  }
}
