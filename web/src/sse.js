// Server-Sent Events over fetch(). The page sends its API key as
// "Authorization: Bearer", which EventSource cannot send, so the stream is
// read with fetch() and parsed here as the HTML standard's event-stream
// grammar says (https://html.spec.whatwg.org/multipage/server-sent-events.html),
// and reconnected with Last-Event-ID as EventSource would. No DOM: web/test
// runs it under node.
import { t } from "./i18n.js";

/**
 * An event-stream parser. push() takes decoded text in chunks split
 * anywhere (inside a line, between "\r" and "\n"); onEvent gets
 * {type, data, lastEventId} for each dispatched event, onComment the text
 * of each comment line (heartbeats), onRetry the reconnection time in ms.
 */
export class SSEParser {
  constructor(onEvent, { onComment, onRetry, lastEventId = "" } = {}) {
    this.onEvent = onEvent;
    this.onComment = onComment || (() => {});
    this.onRetry = onRetry || (() => {});
    this.lastEventId = lastEventId; // survives events and connections
    this.buf = "";
    this.data = "";
    this.type = "";
    this.skipLF = false; // the last chunk ended in "\r": a "\n" next ends nothing
    this.first = true;
  }

  /** Parses the next piece of the stream. */
  push(chunk) {
    if (!chunk) return;
    if (this.first) {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1); // one BOM may start the stream
    }
    // After a "\r" that ended a chunk the buffer is empty; a "\n" starting
    // this one belongs to it.
    if (this.skipLF && chunk.charCodeAt(0) === 10) chunk = chunk.slice(1);
    this.skipLF = false;
    const s = this.buf + chunk;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = s.slice(start, i);
      if (c === 13) {
        if (i + 1 === s.length) this.skipLF = true;
        else if (s.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
      this.line(line);
    }
    this.buf = s.slice(start);
  }

  /** The stream ended: an event not ended by a blank line is dropped, as the standard says. */
  end() {
    this.buf = "";
    this.data = "";
    this.type = "";
    this.skipLF = false;
  }

  line(line) {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58) { // ":" starts a comment
      this.onComment(line.slice(1).replace(/^ /, ""));
      return;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case "event": this.type = value; break;
      case "data": this.data += value + "\n"; break;
      case "id": if (!value.includes("\0")) this.lastEventId = value; break;
      case "retry": if (/^\d+$/.test(value)) this.onRetry(Number(value)); break;
      default: // unknown fields are ignored
    }
  }

  dispatch() {
    if (this.data === "") {
      this.type = "";
      return;
    }
    const ev = { type: this.type || "message", data: this.data.slice(0, -1), lastEventId: this.lastEventId };
    this.data = "";
    this.type = "";
    this.onEvent(ev);
  }
}

/**
 * How long to wait before reconnection attempt n (0, 1, …) when the
 * server suggested base ms: base, then doubling up to max, with up to a
 * fifth of jitter so that many clients dropped together do not return
 * together. retryAfter (seconds, from a 503 or 429) wins when longer.
 */
export function backoff(n, base = 3000, max = 60000, retryAfter = 0, rand = Math.random) {
  const d = Math.min(max, base * 2 ** Math.min(n, 10));
  return Math.max(retryAfter * 1000, Math.round(d * (1 + rand() / 5)));
}

/**
 * Reads an SSE stream with fetch() and keeps it open: after a drop, an end,
 * a silence longer than idleMs (the server sends a heartbeat every 15 s) or
 * an "overflow" event, it reconnects with Last-Event-ID. Options:
 * headers() (the key, read at each connection), onEvent(ev),
 * onState(state, detail) with state "open", "retrying" or "stopped", and
 * fetch, timers and random for tests. Answers 400, 401, 403, 404 and 406
 * stop it (onState "stopped" with the error): retrying would not help.
 * Returns {close(), lastEventId}.
 */
export function openStream(url, opts = {}) {
  const {
    headers = () => ({}), onEvent = () => {}, onState = () => {}, fetch = globalThis.fetch.bind(globalThis),
    setTimeout: later = globalThis.setTimeout, clearTimeout: cancel = globalThis.clearTimeout,
    idleMs = 45000, random = Math.random, maxDelay = 60000,
  } = opts;
  let retry = opts.retry || 3000;
  let lastEventId = opts.lastEventId || "";
  let closed = false, failures = 0, ctrl = null, wake = null, override = null;

  const sleep = (ms) => new Promise((r) => {
    const t = later(r, ms);
    wake = () => (cancel(t), r());
  });

  async function once() {
    ctrl = new AbortController();
    let idle = null, timedOut = false;
    const touch = () => {
      if (idle !== null) cancel(idle);
      idle = later(() => {
        timedOut = true;
        ctrl.abort();
      }, idleMs);
    };
    const h = { Accept: "text/event-stream", "Cache-Control": "no-cache", ...headers() };
    if (lastEventId) h["Last-Event-ID"] = lastEventId;
    touch();
    let res;
    try {
      res = await fetch(url, { headers: h, signal: ctrl.signal, cache: "no-store" });
    } catch (e) {
      cancel(idle);
      return { retry: true, why: closed ? t("sse.closed") : timedOut ? t("sse.noAnswer") : t("sse.noConnection", { msg: e.message || e }) };
    }
    if (!res.ok || res.status === 204) {
      cancel(idle);
      const after = Number(res.headers.get("Retry-After")) || 0;
      let detail = `${res.status} ${res.statusText || ""}`.trim();
      try {
        const body = await res.json();
        if (body && body.detail) detail = body.detail;
      } catch { /* not problem+json */ }
      const err = Object.assign(new Error(detail), { status: res.status });
      // 204: the server asks us to stop; a 4xx other than a timeout or too
      // many requests will not change by asking again.
      const final = res.status === 204 || (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429);
      return { retry: !final, error: err, retryAfter: after, why: detail };
    }
    if (!/^text\/event-stream\b/i.test(res.headers.get("Content-Type") || "")) {
      cancel(idle);
      ctrl.abort();
      return { retry: false, error: new Error(t("sse.notStream", { type: res.headers.get("Content-Type") || t("sse.noType") })) };
    }
    failures = 0;
    onState("open");
    let overflow = false;
    const parser = new SSEParser((ev) => {
      lastEventId = ev.lastEventId;
      if (ev.type === "overflow") overflow = true;
      onEvent(ev);
    }, { lastEventId, onRetry: (ms) => (retry = ms) });
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        touch();
        parser.push(dec.decode(value, { stream: true }));
        // The server drops a client that fell behind after this event: go
        // back at once, from the last event read.
        if (overflow || closed) break;
      }
    } catch (e) {
      if (!closed && !timedOut) return { retry: true, why: t("sse.broke", { msg: e.message || e }) };
    } finally {
      cancel(idle);
      ctrl.abort();
      lastEventId = override ?? (parser.lastEventId || lastEventId);
      override = null;
    }
    if (overflow) return { retry: true, now: true, why: t("sse.behind") };
    return { retry: true, why: timedOut ? t("sse.silent") : t("sse.ended") };
  }

  (async () => {
    while (!closed) {
      const r = await once();
      if (closed) break;
      if (!r.retry) {
        onState("stopped", r.error);
        break;
      }
      if (r.now) {
        onState("retrying", { delay: 0, why: r.why });
        continue;
      }
      const delay = backoff(failures++, retry, maxDelay, r.retryAfter || 0, random);
      onState("retrying", { delay, why: r.why, error: r.error });
      await sleep(delay);
    }
  })();

  return {
    close() {
      closed = true;
      ctrl?.abort();
      wake?.();
    },
    get lastEventId() {
      return lastEventId;
    },
    /**
     * Cuts the current connection, as a network would: it reconnects and
     * resumes, from resumeFrom when given (a point the server may no
     * longer have: tests of a reset).
     */
    drop(resumeFrom) {
      if (resumeFrom !== undefined) lastEventId = override = String(resumeFrom);
      ctrl?.abort();
    },
    /** Forgets the resume point: the next connection starts at the present. */
    forget() {
      lastEventId = "";
    },
  };
}
