// Requests to wangge's API. Every failure becomes an APIError whose message
// is a sentence a person can act on: the server's problem+json detail when
// there is one, else what went wrong with the connection.

/** An API request that failed; message is for people, status for code. */
export class APIError extends Error {
  constructor(message, status, retryAfter) {
    super(message);
    this.name = "APIError";
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

// The API key, when the server asks for one: kept for this tab
// (sessionStorage) or, if the user asks, on this device (localStorage).
const keyName = "wangge.key";

/** The API key in use, or "". */
export function apiKey() {
  try {
    return sessionStorage.getItem(keyName) || localStorage.getItem(keyName) || "";
  } catch {
    return "";
  }
}

/** Stores (or with "" forgets) the API key. */
export function setAPIKey(key, remember) {
  sessionStorage.removeItem(keyName);
  localStorage.removeItem(keyName);
  if (key) (remember ? localStorage : sessionStorage).setItem(keyName, key);
}

/** Headers that authenticate a request to this server. */
export function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

// Paths are relative to the page, so the page works behind a proxy that
// serves wangge under a prefix.
const url = (path) => new URL(path.replace(/^\//, ""), document.baseURI).href;

/**
 * Fetches path and resolves with its JSON and ETag ({data, etag}); throws
 * APIError. headers are added to the request (If-Match for a move).
 */
export async function apiWithETag(path, { method = "GET", body, signal, headers = {} } = {}) {
  const init = { method, signal, headers: { Accept: "application/json, application/geo+json;q=0.9", ...authHeaders(), ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let res;
  try {
    res = await fetch(url(path), init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new APIError("The server did not answer. Is wangge running, and is this device online?", 0);
  }
  const type = res.headers.get("Content-Type") || "";
  let data = null;
  if (res.status !== 204 && /json/.test(type)) {
    try {
      data = await res.json();
    } catch {
      throw new APIError(`The server sent a broken answer (HTTP ${res.status}).`, res.status);
    }
  }
  if (!res.ok) {
    const retry = Number(res.headers.get("Retry-After")) || 0;
    let msg = data && data.detail ? data.detail : `${res.status} ${res.statusText}`;
    if (res.status === 429 && retry) msg += ` (try again in ${retry} s)`;
    if (res.status === 401) msg += apiKey() ? " The API key was refused: enter another with the Key button." : " This server needs an API key: enter one with the Key button.";
    if (res.status >= 500 && !(data && data.detail)) msg = `The server failed (HTTP ${res.status}); its log says why.`;
    const err = new APIError(msg, res.status, retry);
    // The server's own words, without what the page adds, for callers
    // that phrase the problem themselves (a refused move).
    err.detail = data && data.detail ? data.detail : msg;
    throw err;
  }
  return { data, etag: res.headers.get("ETag") || "" };
}

/** Fetches path and returns its JSON; throws APIError. */
export async function api(path, opts) {
  return (await apiWithETag(path, opts)).data;
}

/**
 * Returns the set of "METHOD /path" routes the server documents in its
 * OpenAPI document, so the page uses what this server has (tiles, stats, …)
 * without probing for routes that would answer 404.
 */
export async function routes() {
  const doc = await api("api");
  const out = new Set();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of Object.keys(item)) out.add(`${method.toUpperCase()} ${path}`);
  }
  return out;
}

/** Fetches every feature of an OGC API collection, following next links. */
export async function allFeatures(path, max = 50000) {
  const features = [];
  let next = path + (path.includes("?") ? "&" : "?") + "limit=10000";
  while (next && features.length < max) {
    const page = await api(next);
    features.push(...page.features);
    const link = (page.links || []).find((l) => l.rel === "next");
    next = link ? link.href : null;
  }
  return { type: "FeatureCollection", features };
}

/** Absolute URL of a path, for MapLibre sources. */
export const absolute = url;
