// IndexedDB on the page: the queue of writes ("queue", by id) and what is
// kept for work without signal ("kept", by name: grids, events, taxonomy,
// me, meta).
const dbName = "wangge-field";

let dbp = null;
function db() {
  if (!dbp) {
    dbp = new Promise((ok, fail) => {
      const req = indexedDB.open(dbName, 1);
      req.onupgradeneeded = () => {
        const d = req.result;
        if (!d.objectStoreNames.contains("queue")) d.createObjectStore("queue", { keyPath: "id" });
        if (!d.objectStoreNames.contains("kept")) d.createObjectStore("kept", { keyPath: "name" });
      };
      req.onsuccess = () => ok(req.result);
      req.onerror = () => fail(req.error);
    });
  }
  return dbp;
}

async function tx(store, mode, fn) {
  const d = await db();
  return new Promise((ok, fail) => {
    const t = d.transaction(store, mode);
    const req = fn(t.objectStore(store));
    t.oncomplete = () => ok(req ? req.result : undefined);
    t.onerror = () => fail(t.error);
    t.onabort = () => fail(t.error);
  });
}

/** The queue's store: all, put, delete. */
export const queueStore = {
  all: () => tx("queue", "readonly", (s) => s.getAll()),
  put: (item) => tx("queue", "readwrite", (s) => s.put(item)),
  delete: (id) => tx("queue", "readwrite", (s) => s.delete(id)),
};

/** Reads a kept value by name (undefined when none). */
export async function getKept(name) {
  const rec = await tx("kept", "readonly", (s) => s.get(name));
  return rec ? rec.value : undefined;
}

/** Keeps a value under name. */
export const putKept = (name, value) => tx("kept", "readwrite", (s) => s.put({ name, value }));

/**
 * Forgets everything kept (another key signs in). The queue stays: its
 * items are sent only with the key that made them (queue.js, owner).
 */
export async function clearKept() {
  await tx("kept", "readwrite", (s) => s.clear());
}
