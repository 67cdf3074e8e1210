// Requests to wangge's API. Every failure becomes an APIError whose message
// is a sentence a person can act on: the server's problem+json detail when
// there is one, else what went wrong with the connection. The words are in
// the page's language (problemMessage): known problems by status and
// detail from the catalogue, the server's own detail otherwise.
import { t } from "./i18n.js";

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
    throw new APIError(t("problem.offline"), 0);
  }
  const type = res.headers.get("Content-Type") || "";
  let data = null;
  if (res.status !== 204 && /json/.test(type)) {
    try {
      data = await res.json();
    } catch {
      throw new APIError(t("problem.broken", { status: res.status }), res.status);
    }
  }
  if (!res.ok) {
    const retry = Number(res.headers.get("Retry-After")) || 0;
    let msg = problemMessage(res.status, data, res.statusText);
    if (res.status === 429 && retry) msg += t("problem.retryIn", { s: retry });
    if (res.status === 401) msg += apiKey() ? t("problem.keyRefused") : t("problem.keyNeeded");
    const err = new APIError(msg, res.status, retry);
    // The server's own words, without what the page adds, for callers
    // that phrase the problem themselves (a refused move).
    err.detail = data && data.detail ? data.detail : msg;
    throw err;
  }
  return { data, etag: res.headers.get("ETag") || "" };
}

/**
 * Known problems by the server's detail (it sends problem+json with type
 * about:blank, so the detail's words are what tells them apart): the
 * catalogue key of their words in the page's language. Others keep the
 * server's detail after the status' title.
 */
export const knownProblems = [
  [/^the request was cancelled/, "problem.cancelled"],
  [/needs an API key with role (\w+) or higher/, "problem.needsKey", (m) => ({ need: t(`role.${m[1]}`) })],
  [/^role (\w+) may not .*; it needs role (\w+) or higher/, "problem.roleMayNot", (m) => ({ role: t(`role.${m[1]}`), need: t(`role.${m[2]}`) })],
  [/^unknown API key/, "problem.unknownKey"],
  [/^malformed API key/, "problem.malformedKey"],
  [/^Authorization header must be/, "problem.malformedKey"],
];

/** Titles of HTTP statuses the API answers with (problem+json's title). */
const titled = [400, 401, 403, 404, 405, 406, 409, 412, 413, 415, 422, 429, 500, 502, 503, 504];

/**
 * The words for a failed request in the page's language: a known problem
 * from the catalogue; else the status' title from the catalogue and the
 * server's detail (in English), or the server's title when the page does
 * not know the status.
 */
export function problemMessage(status, problem, statusText = "") {
  const detail = problem && problem.detail ? String(problem.detail) : "";
  for (const [re, key, params] of knownProblems) {
    const m = re.exec(detail);
    if (m) return t(key, params ? params(m) : undefined);
  }
  if (status >= 500 && !detail) return t("problem.server", { status });
  const title = titled.includes(status) ? t(`problem.${status}`) : (problem && problem.title) || `${status} ${statusText}`.trim();
  return detail ? t("problem.titled", { title, detail }) : title;
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
