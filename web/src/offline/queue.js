// The device's queue of writes made without signal: reports (POST) and
// moves (PATCH). Each item keeps its Idempotency-Key from the moment it is
// queued, so every retry of it is the same request to the server (a replay
// answers the first answer and changes nothing), and a move keeps the ETag
// it was based on (If-Match). A 412 is never overwritten: the item waits
// as a conflict until the worker re-applies it on the server's version or
// drops it. Storage (IndexedDB on the page, memory in the tests) and
// sending are given, so this logic runs in node too.

/** Statuses worth retrying later: no answer, or the server asked for time. */
export const retryable = (status) => status === 0 || status === 408 || status === 425 || status === 429 || status >= 500;

/** A store kept in memory: the tests' stand-in for IndexedDB. */
export class MemoryStore {
  constructor() {
    this.m = new Map();
  }
  async all() {
    return [...this.m.values()].map((v) => structuredClone(v));
  }
  async put(item) {
    this.m.set(item.id, structuredClone(item));
  }
  async delete(id) {
    this.m.delete(id);
  }
}

export class Queue {
  /**
   * store: {all, put, delete}; send(item) resolves with {status, data,
   * etag, replayed} (status 0 when there was no answer); uuid makes keys;
   * onChange(items) runs after every change.
   */
  constructor({ store, send, uuid = () => crypto.randomUUID(), now = () => Date.now(), onChange = () => {}, owner = "" }) {
    this.store = store;
    // Whose writes these are (the key's id): another key's items stay on the
    // device, unsent, rather than going to the server in someone else's name.
    this.owner = owner;
    this.send = send;
    this.uuid = uuid;
    this.now = now;
    this.onChange = onChange;
    this.running = null;
  }

  /** The items, oldest first. */
  async list() {
    return (await this.store.all()).sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
  }

  async changed() {
    this.onChange(await this.list());
  }

  /**
   * Queues a write: {kind: "report"|"move", method, path, body, etag?,
   * fid?, label?, key?}. Resolves with the item; its key is its
   * Idempotency-Key (the one given, when the write was tried before).
   */
  async add(w) {
    const key = w.key || this.uuid();
    const item = {
      id: key, key, kind: w.kind, method: w.method, path: w.path, body: w.body, etag: w.etag || "", fid: w.fid ?? null,
      label: w.label || "", owner: this.owner, state: "queued", tries: 0, created: this.now(), error: "",
    };
    await this.store.put(item);
    await this.changed();
    return item;
  }

  /**
   * Sends the queued items in order, one at a time; stops at the first that
   * gets no answer (the network is still down). Resolves with counts. Calls
   * made while one runs share it.
   */
  sync() {
    if (!this.running) this.running = this.run().finally(() => (this.running = null));
    return this.running;
  }

  async run() {
    const out = { sent: [], conflicts: 0, failed: 0, waiting: 0 };
    for (const item of await this.list()) {
      if ((item.owner || "") !== this.owner) continue;
      if (item.state !== "queued") {
        if (item.state === "conflict") out.conflicts++;
        if (item.state === "failed") out.failed++;
        continue;
      }
      let res;
      try {
        res = await this.send(item);
      } catch (e) {
        res = { status: 0, error: e && e.message ? e.message : String(e) };
      }
      item.tries++;
      item.last = this.now();
      if (res.status >= 200 && res.status < 300) {
        await this.store.delete(item.id);
        out.sent.push({ item, res });
        continue;
      }
      if (res.status === 412) {
        item.state = "conflict";
        item.error = res.error || "";
        out.conflicts++;
      } else if (retryable(res.status)) {
        item.error = res.error || "";
        await this.store.put(item);
        out.waiting = (await this.list()).filter((i) => i.state === "queued").length;
        await this.changed();
        return out; // keep the order: the rest wait for this one
      } else {
        item.state = "failed";
        item.error = res.error || `HTTP ${res.status}`;
        out.failed++;
      }
      await this.store.put(item);
    }
    await this.changed();
    return out;
  }

  /**
   * Re-applies a conflicting move on the server's version: its new ETag,
   * and a new Idempotency-Key (it is a new request, made knowingly).
   */
  async reapply(id, etag) {
    const item = (await this.store.all()).find((i) => i.id === id);
    if (!item) return null;
    const key = this.uuid();
    // The new item is in before the old one goes: the queue is never seen empty meanwhile.
    await this.store.put({ ...item, id: key, key, etag, state: "queued", error: "", tries: 0 });
    await this.store.delete(id);
    Object.assign(item, { id: key, key, etag, state: "queued", error: "", tries: 0 });
    await this.changed();
    return item;
  }

  /** Drops an item (the worker decided the server's version stands). */
  async drop(id) {
    await this.store.delete(id);
    await this.changed();
  }
}
