// The field page's service worker, served from the site root (GET /sw.js)
// so that its scope is the page. It keeps the app shell (the page, its
// script, style, MapLibre's worker, the label glyphs, the manifest) so the
// page opens without signal, and keeps a copy of the data the page reads
// (GET only, same origin) so that it starts offline with what it last saw.
// The field view itself puts what a worker needs in the data cache (their
// grids' tiles, ./offline/keep.js); requests are answered from the network
// first and from the caches when there is none. build.mjs fills SHELL and
// VERSION.
/* global SHELL, VERSION */
const shellCache = `wangge-shell-${VERSION}`;
const dataCache = "wangge-data-v1";
const any = { ignoreVary: true }; // the page asks with other Accept headers than the copy was made with
// Answers kept besides the worker's tiles (which the field view bounds
// itself): past this the oldest go first, so a page browsed for weeks does
// not fill the phone. Trimmed every trimEvery copies, not on each.
const maxCopies = 400;
const trimEvery = 25;
const isTile = (url) => /\/tiles\/[^?]*\.mvt$/.test(new URL(url).pathname);
let copies = 0;

/** Puts a copy in the data cache, trimming the oldest copies now and then. */
async function keepCopy(req, res) {
  const c = await caches.open(dataCache);
  await c.put(req, res);
  if (++copies % trimEvery !== 0) return;
  // Keys come in the order they were put; a copy put again moves to the end.
  const kept = (await c.keys()).filter((r) => !isTile(r.url));
  for (const old of kept.slice(0, Math.max(0, kept.length - maxCopies))) await c.delete(old);
}

self.addEventListener("install", (e) => {
  e.waitUntil((async () => {
    const c = await caches.open(shellCache);
    // The page answers browsers (Accept: text/html), JSON otherwise.
    const page = await fetch(new Request("./", { headers: { Accept: "text/html" }, cache: "no-cache" }));
    if (!page.ok) throw new Error(String(page.status)); // no page, no install
    await c.put("./", page);
    await c.addAll(SHELL);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (e) => {
  e.waitUntil((async () => {
    for (const k of await caches.keys()) if (k.startsWith("wangge-shell-") && k !== shellCache) await caches.delete(k);
    await self.clients.claim();
  })());
});

/** Network first; a good answer is copied to the data cache; without a network, the copy. */
async function networkFirst(req, keep = true) {
  try {
    const res = await fetch(req);
    if (keep && res.status === 200) {
      keepCopy(req, res.clone()).catch(() => {});
    }
    return res;
  } catch (err) {
    const hit = await caches.match(req, any);
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener("fetch", (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope);
  if (!url.pathname.startsWith(scope.pathname)) return;
  const rel = url.pathname.slice(scope.pathname.length);
  if (req.mode === "navigate") {
    // The page: fresh when there is a network (and kept), else the kept one.
    e.respondWith(fetch(req).then((res) => {
      if (res.ok && rel === "") caches.open(shellCache).then((c) => c.put("./", res.clone())).catch(() => {});
      return res;
    }).catch(async () => (await caches.match("./", { ...any, ignoreSearch: true })) || Response.error()));
    return;
  }
  if (rel.startsWith("assets/") || rel.startsWith("fonts/")) {
    // Named by content (assets) or fixed (glyphs): the kept copy first.
    e.respondWith(caches.match(req, { ...any, cacheName: shellCache }).then((hit) => hit || networkFirst(req)));
    return;
  }
  // The change stream is live or nothing; keys and metrics are not kept.
  if (rel.startsWith("v1/changes") || rel.startsWith("v1/keys") || rel === "metrics" || rel === "sw.js") return;
  // Tiles are kept by the field view for the worker's grids alone (a
  // bounded set), not every tile the map ever showed.
  e.respondWith(networkFirst(req, !/^tiles\/.*\.mvt$/.test(rel)));
});
