// The field page without signal (issue 22): the service worker that keeps
// the page (sw.js), what a worker's key keeps on the device (their grids'
// polygons and tiles, their events, the taxonomy: IndexedDB and the data
// cache), "which grid am I in" answered from those polygons, and the queue
// of reports and moves made offline (offline/queue.js), sent when the
// network returns with their Idempotency-Key and If-Match. A move refused
// with 412 waits for the worker to re-apply it or drop it.
import { absolute, allFeatures, api, apiWithETag, authHeaders, problemMessage } from "./api.js";
import { eventQuery, isOpen, shortTime, statusLabel } from "./events.js";
import { GridIndex, tilesFor } from "./offline/locate.js";
import { eventsToKeep, nearbyEvents } from "./offline/nearby.js";
import { Queue } from "./offline/queue.js";
import { clearKept, getKept, putKept, queueStore } from "./offline/store.js";
import { $, el, num } from "./ui.js";
import { t } from "./i18n.js";

const dataCache = "wangge-data-v1";
const tileZooms = [8, 17]; // the zooms kept (below 12 a few tiles frame the grids), clamped to the tile source's
const maxTiles = 1500; // at most this many tiles are kept
const maxEvents = 5000; // at most this many events are kept: the open ones first
// Kept data older than this is kept again when the page is online: a
// worker who never presses the button still carries this morning's events.
const refreshAfter = 60 * 60 * 1000;
const refreshCheck = 10 * 60 * 1000; // how often an open page looks

/** Registers the service worker (served at the root: its scope is the page). */
export async function registerWorker() {
  if (!("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register(absolute("sw.js"), { scope: absolute("./") });
  } catch {
    return null; // not a secure context, or refused: the page works online
  }
}

/** Forgets what was kept (another key, or none, signs in); the queue stays, each item with its key's id. */
export async function forgetDevice() {
  try {
    await clearKept();
    if (globalThis.caches) await caches.delete(dataCache);
  } catch { /* nothing kept */ }
}

/** Sends one queued write; resolves with {status, data, etag, replayed, error}. */
async function sendItem(item) {
  const headers = { Accept: "application/json, application/geo+json;q=0.9", "Content-Type": "application/json", "Idempotency-Key": item.key, ...authHeaders() };
  if (item.etag) headers["If-Match"] = item.etag;
  let res;
  try {
    res = await fetch(absolute(item.path), { method: item.method, headers, body: JSON.stringify(item.body) });
  } catch {
    return { status: 0, error: t("problem.offline") };
  }
  let data = null;
  try {
    data = await res.json();
  } catch { /* no body */ }
  return {
    status: res.status, data, etag: res.headers.get("ETag") || "", replayed: res.headers.get("Idempotent-Replayed") === "true",
    error: res.ok ? "" : problemMessage(res.status, data, res.statusText),
  };
}

export class Offline {
  /** ctx is the page's; onSent() runs after queued writes reached the server. */
  constructor(ctx, onSent) {
    this.ctx = ctx;
    this.onSent = onSent;
    this.index = null; // GridIndex of the kept grids
    this.sent = []; // what the queue sent, for the page and the browser test
    this.queue = new Queue({ store: queueStore, send: sendItem, onChange: (items) => this.renderQueue(items), owner: ctx.me && ctx.me.key ? String(ctx.me.key) : "" });
    this.timer = 0;
  }

  /** Whether this page has a worker to keep work for. */
  get worker() {
    return this.ctx.me && this.ctx.me.worker ? this.ctx.me.worker : null;
  }

  async start() {
    $("#keep-button").addEventListener("click", () => this.keep());
    $("#keep-button").disabled = !this.worker;
    addEventListener("online", () => this.sync().then(() => this.refreshIfStale()));
    addEventListener("offline", () => this.renderNet());
    this.renderNet();
    // A key other than the one whose work is kept: forget it.
    const me = await getKept("me").catch(() => undefined);
    if (me && (!this.worker || me.key !== this.ctx.me.key)) await forgetDevice();
    await this.renderKept();
    await this.queue.changed();
    if (this.worker) {
      // Kept once when signed in online; refreshed by the button.
      if (navigator.onLine && !(await getKept("meta"))) this.keep();
      this.sync().then(() => this.refreshIfStale());
      setInterval(() => this.refreshIfStale(), refreshCheck);
    }
  }

  /**
   * Keeps the work again when what is kept is older than refreshAfter and
   * the network is there, after the queue has been sent (so the events kept
   * include the worker's own reports).
   */
  async refreshIfStale() {
    if (!this.worker || !navigator.onLine || this.keeping) return;
    const meta = await getKept("meta").catch(() => undefined);
    if (meta && Date.now() - Date.parse(meta.at) < refreshAfter) return;
    if (meta) await this.keep();
  }

  renderNet() {
    const on = navigator.onLine;
    document.body.dataset.online = on ? "1" : "0";
    $("#net-state").textContent = on ? t("offline.online") : t("offline.offline");
  }

  // Keeping.

  /** Downloads the worker's grids, their tiles, events and taxonomy to the device. */
  async keep() {
    const w = this.worker;
    if (!w) return;
    const btn = $("#keep-button"), status = $("#kept-status");
    btn.disabled = true;
    this.keeping = true;
    status.textContent = t("offline.keeping");
    try {
      const grids = await this.workerGrids(w);
      const { events, capped: eventsCapped } = eventsToKeep((await allFeatures(`collections/hazards/items?${eventQuery({ assignee: w.id })}`)).features, maxEvents);
      const taxonomy = this.ctx.have.has("GET /v1/taxonomy") ? await api("v1/taxonomy") : null;
      const tiles = await this.keepTiles(grids);
      // The page's own start-up reads, so that it opens offline with them.
      // (In the map's CRS: over AMap they are asked for in GCJ-02.)
      await this.keepURLs(["api", "v1/me", "v1/taxonomy", this.ctx.tilesPath || "tiles/areas,grids.json", this.ctx.areasPath || "collections/areas/items?limit=10000"]);
      await putKept("grids", grids);
      await putKept("events", events);
      await putKept("taxonomy", taxonomy);
      await putKept("me", this.ctx.me);
      await putKept("meta", { at: new Date().toISOString(), tiles: tiles.n, tilesComplete: tiles.complete, zooms: tiles.zooms, eventsCapped });
      this.index = new GridIndex(grids);
    } catch (e) {
      status.textContent = t("offline.keepFailed", { msg: e.message });
      btn.disabled = false;
      this.keeping = false;
      return;
    }
    btn.disabled = false;
    this.keeping = false;
    await this.renderKept();
  }

  /**
   * The grids of the worker's codes (grid or area codes): an area's grids
   * by the parent_code filter; for grid codes the collection is read once
   * and the grids of the same parent areas kept (neighbours included).
   */
  async workerGrids(w) {
    const codes = w.grid_codes || [];
    if (!codes.length) return [];
    const quoted = codes.map((c) => `'${c.replaceAll("'", "''")}'`).join(",");
    const byArea = (await allFeatures(`collections/grids/items?filter=${encodeURIComponent(`parent_code IN (${quoted})`)}`)).features;
    const found = new Set([...byArea.map((f) => f.properties.parent_code), ...byArea.map((f) => f.properties.code)]);
    if (codes.every((c) => found.has(c))) return byArea;
    const all = (await allFeatures("collections/grids/items")).features;
    const parents = new Set(all.filter((f) => codes.includes(f.properties.code)).map((f) => f.properties.parent_code));
    return all.filter((f) => codes.includes(f.properties.code) || codes.includes(f.properties.parent_code) || parents.has(f.properties.parent_code));
  }

  /** Puts GET answers for paths in the data cache. */
  async keepURLs(paths) {
    const cache = await caches.open(dataCache);
    await Promise.all(paths.map(async (p) => {
      const res = await fetch(absolute(p), { headers: { Accept: "application/json", ...authHeaders() } }).catch(() => null);
      if (res && res.status === 200) await cache.put(absolute(p), res);
    }));
  }

  /** Keeps the vector tiles over the grids at the zooms a worker uses. */
  async keepTiles(grids) {
    const { tiles: tj } = this.ctx;
    if (!tj || !grids.length || !globalThis.caches) return { n: 0, complete: false, zooms: [] };
    const spec = await api(this.ctx.tilesPath || "tiles/areas,grids.json");
    const tmpl = spec.tiles && spec.tiles[0];
    if (!tmpl) return { n: 0, complete: false, zooms: [] };
    const minz = Math.max(tileZooms[0], spec.minzoom ?? 0), maxz = Math.min(tileZooms[1], spec.maxzoom ?? 22);
    // The tiles the map asks for: over AMap those of the grids' GCJ-02 boxes.
    const boxes = new GridIndex(grids).boxes().map(([w, s, e, n]) => [...this.ctx.toMap([w, s]), ...this.ctx.toMap([e, n])]);
    const { tiles, complete } = tilesFor(boxes, minz, maxz, maxTiles);
    const cache = await caches.open(dataCache);
    let n = 0, next = 0;
    const one = async () => {
      while (next < tiles.length) {
        const [z, x, y] = tiles[next++];
        const u = tmpl.replace("{z}", z).replace("{x}", x).replace("{y}", y);
        const res = await fetch(u, { headers: authHeaders() }).catch(() => null);
        if (res && (res.status === 200 || res.status === 204)) {
          await cache.put(u, res);
          n++;
        }
        if (n % 50 === 0) $("#kept-status").textContent = t("offline.keepingTiles", { n: num(n), of: num(tiles.length) });
      }
    };
    await Promise.all([one(), one(), one(), one()]);
    return { n, complete, zooms: [minz, maxz] };
  }

  async renderKept() {
    const meta = await getKept("meta").catch(() => undefined);
    const box = $("#kept-status");
    if (!meta) {
      box.textContent = this.worker ? t("offline.nothingKept") : t("offline.needWorker");
      box.dataset.kept = "0";
      return;
    }
    const [grids, events, taxonomy] = await Promise.all([getKept("grids"), getKept("events"), getKept("taxonomy")]);
    box.dataset.kept = "1";
    box.dataset.grids = String(grids.length);
    box.replaceChildren(t("offline.kept", {
      grids: num(grids.length), tiles: num(meta.tiles), zooms: meta.zooms.length ? `${meta.zooms[0]}–${meta.zooms[1]}` : "—",
      events: num(events.filter((f) => isOpen(f.properties.status)).length), taxonomy: taxonomy ? t("offline.taxonomyYes") : t("offline.taxonomyNo"),
      at: shortTime(meta.at),
    }), meta.tilesComplete === false ? ` ${t("offline.tilesCapped", { max: num(maxTiles) })}` : "",
    meta.eventsCapped ? ` ${t("offline.eventsCapped", { max: num(maxEvents) })}` : "");
  }

  // Locating on the device.

  /** Locates a point from the kept grids: {point (WGS 84), grid} or null when nothing is kept. */
  async locate(lon, lat, crs) {
    if (!this.index) {
      const grids = await getKept("grids").catch(() => undefined);
      if (!grids) return null;
      this.index = new GridIndex(grids);
    }
    return this.index.locate(lon, lat, crs);
  }

  /** The kept open events within radius metres of a point given in crs, nearest first (nearby without signal). */
  async nearby(lon, lat, crs, radius, limit = 10) {
    const loc = await this.locate(lon, lat, crs);
    const events = await getKept("events").catch(() => undefined);
    if (!loc || !events) return null;
    return nearbyEvents(events, loc.point, radius, limit);
  }

  /** The events kept for offline use (the list of my events without signal). */
  keptEvents() {
    return getKept("events").catch(() => undefined);
  }

  // The queue.

  /** Queues a write made without signal, and tries to send it at once. */
  async queueWrite(w) {
    const item = await this.queue.add(w);
    this.sync();
    return item;
  }

  /** Sends what is queued; retried every 30 s while something waits. */
  async sync() {
    this.renderNet();
    clearTimeout(this.timer);
    const r = await this.queue.sync();
    this.sent.push(...r.sent.map(({ item, res }) => ({ key: item.key, kind: item.kind, status: res.status, replayed: res.replayed, id: res.data && res.data.id })));
    document.body.dataset.sent = String(this.sent.length);
    if (r.sent.length) this.onSent?.();
    if (r.waiting) this.timer = setTimeout(() => this.sync(), 30_000);
    return r;
  }

  renderQueue(items) {
    const box = $("#queue");
    box.dataset.count = String(items.length);
    if (!items.length) {
      box.replaceChildren(el("p", { class: "note" }, t("offline.queueEmpty")));
      return;
    }
    box.replaceChildren(el("h3", {}, t("offline.queueHeading", { n: num(items.length) })), el("ul", { class: "queue" }, items.map((i) => this.queueItem(i))));
  }

  queueItem(i) {
    const what = i.kind === "report" ? t("offline.queuedReport", { label: i.label }) : t("offline.queuedMove", { fid: i.fid, state: statusLabel(i.body.properties.status) });
    const li = el("li", { dataset: { key: i.key, state: i.state, kind: i.kind } }, el("strong", {}, what), " ",
      el("small", {}, t(`offline.state.${i.state}`), i.tries ? t("offline.tries", { n: i.tries }) : "", i.error ? ` — ${i.error}` : ""));
    if ((i.owner || "") !== this.queue.owner) {
      li.append(el("p", { class: "note" }, t("offline.otherKey")));
      return li;
    }
    if (i.state === "conflict") li.append(this.conflict(i));
    if (i.state === "failed") li.append(el("button", { type: "button", class: "linkish drop", onclick: () => this.queue.drop(i.id) }, t("offline.drop")));
    return li;
  }

  /** A move refused with 412: the worker's move beside the server's event, re-apply or drop. */
  conflict(i) {
    const box = el("div", { class: "conflict" }, el("p", { class: "note" }, t("offline.conflictLoading")));
    Promise.all([api(`collections/hazards/items/${i.fid}`), apiWithETag(`collections/hazards/items/${i.fid}/history`)]).then(([f, hist]) => {
      const p = f.properties;
      box.replaceChildren(
        el("p", {}, el("strong", {}, t("offline.yours")), " ", statusLabel(i.body.properties.status), i.body.properties.note ? ` — ${i.body.properties.note}` : ""),
        el("p", { class: "theirs" }, el("strong", {}, t("offline.servers")), " ", statusLabel(p.status), p.note ? ` — ${p.note}` : "", p.updated_at ? ` (${shortTime(p.updated_at)})` : ""),
        el("button", { type: "button", class: "reapply", onclick: async () => {
          await this.queue.reapply(i.id, hist.etag);
          this.sync();
        } }, t("offline.reapply")), " ",
        el("button", { type: "button", class: "drop", onclick: () => this.queue.drop(i.id) }, t("offline.drop")));
    }).catch((e) => box.replaceChildren(el("p", { class: "note" }, t("offline.conflictNoServer", { msg: e.message })),
      el("button", { type: "button", class: "drop", onclick: () => this.queue.drop(i.id) }, t("offline.drop"))));
    return box;
  }
}
