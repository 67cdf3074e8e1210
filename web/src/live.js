// The live page (issue 21): one stream of changes (GET /v1/changes, read by
// sse.js) keeps the dashboard and the field view equal to the store without
// a reload. Hazards are applied feature by feature; grid and plan changes,
// and the risk colours that follow hazards, reload the grid tiles and the
// figures, a few at a time. A reset (the resume point was pruned) loads
// everything again.
import { absolute, authHeaders } from "./api.js";
import { openStream } from "./sse.js";

/** The layers the page follows. */
export const liveLayers = ["hazards", "grids", "plans"];

/**
 * Applies one change message ({seq, layer, fid, op, feature}) to a list of
 * features: a deletion (or a feature the key may no longer see: null)
 * removes it, anything else replaces it or adds it. Returns {features (a
 * new array), before (the feature as it was, or null), after}.
 */
export function applyChange(features, msg) {
  const fid = msg.feature && msg.feature.id !== undefined && msg.feature.id !== null ? msg.feature.id : msg.fid;
  const i = features.findIndex((f) => String(f.id) === String(fid));
  const before = i >= 0 ? features[i] : null;
  const out = features.slice();
  if (msg.op === "delete" || !msg.feature) {
    if (i >= 0) out.splice(i, 1);
    return { features: out, before, after: null };
  }
  const after = { ...msg.feature, id: fid, properties: { ...(msg.feature.properties || {}) } };
  if (i >= 0) out[i] = after;
  else out.push(after);
  return { features: out, before, after };
}

/**
 * Parses an SSE event of the change stream into a message, or null: the
 * layer is the event's name (or the message's own layer field).
 */
export function parseChange(ev) {
  let msg;
  try {
    msg = JSON.parse(ev.data);
  } catch {
    return null;
  }
  if (!msg || typeof msg !== "object") return null;
  if (!msg.layer && ev.type !== "message") msg.layer = ev.type;
  return msg;
}

/** The query of the page's subscription. */
export const changesQuery = (layers = liveLayers) => `layer=${layers.join(",")}`;

/**
 * Runs a function at most once per ms: calls in between are folded into
 * one run at the end of the wait. Returns the scheduling function.
 */
export function debounce(fn, ms, { setTimeout: later = globalThis.setTimeout } = {}) {
  let timer = null;
  return () => {
    if (timer !== null) return;
    timer = later(() => {
      timer = null;
      fn();
    }, ms);
  };
}

/**
 * The page's subscription. handlers: hazards(msgs) with a batch of hazard
 * messages, grids() and plans() after their layers changed, reset() when
 * the page must load everything again, state(state, detail) for the
 * header's indicator. Messages that arrive before ready() are held, so
 * that the first load and the stream leave no gap.
 */
export class Live {
  constructor(handlers) {
    this.h = handlers;
    this.held = [];
    this.ready = false;
    this.batch = [];
    this.stream = null;
    this.flush = debounce(() => this.apply(), 150);
  }

  start(path = `v1/changes?${changesQuery()}`) {
    this.stream = openStream(absolute(path), {
      headers: authHeaders,
      onEvent: (ev) => this.event(ev),
      onState: (st, detail) => this.h.state?.(st, detail),
    });
    this.h.state?.("connecting");
  }

  stop() {
    this.stream?.close();
  }

  /** The first load is done: held messages apply now. */
  loaded() {
    this.ready = true;
    this.batch.push(...this.held);
    this.held = [];
    this.flush();
  }

  event(ev) {
    if (ev.type === "reset") {
      // The resume point was pruned from the feed: what was missed cannot
      // be told, so everything loads again.
      this.held = [];
      this.batch = [];
      this.h.reset?.();
      return;
    }
    if (ev.type === "overflow") {
      this.h.state?.("behind");
      return; // sse.js reconnects from the last event read
    }
    const msg = parseChange(ev);
    if (!msg || !liveLayers.includes(msg.layer)) return;
    if (!this.ready) this.held.push(msg);
    else {
      this.batch.push(msg);
      this.flush();
    }
  }

  apply() {
    const msgs = this.batch;
    this.batch = [];
    if (!msgs.length) return;
    const hazards = msgs.filter((m) => m.layer === "hazards");
    if (hazards.length) this.h.hazards?.(hazards);
    if (msgs.some((m) => m.layer === "plans")) this.h.plans?.(msgs.filter((m) => m.layer === "plans"));
    else if (msgs.some((m) => m.layer === "grids")) this.h.grids?.(msgs.filter((m) => m.layer === "grids"));
  }
}
