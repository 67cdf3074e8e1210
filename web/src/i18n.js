// The page's words in the reader's language: Simplified Chinese or English,
// from the browser's languages unless the reader chose (?lang=, kept in
// localStorage). Every user-visible string comes from one catalogue per
// language (i18n/en.js, i18n/zh-CN.js) through t(key, params); numbers and
// dates are formatted by Intl for the language. web/test/i18n.test.mjs checks
// that both catalogues have the same keys and every key used exists.
import en from "./i18n/en.js";
import zhCN from "./i18n/zh-CN.js";

/** The catalogues by language tag. */
export const catalogues = { "zh-CN": zhCN, en };
/** The languages the reader may choose, in their own words. */
export const languages = [["zh-CN", "中文"], ["en", "English"]];

const storeKey = "wangge.lang";
let current = "en";
/** Keys asked for that the catalogue lacks (a bug; the browser test reads it). */
export const missing = new Set();

/**
 * The language for a reader: a ?lang= (or a stored choice) naming a
 * catalogue wins, then the first of the browser's languages that is
 * Chinese or English (any zh is Simplified Chinese here), else English.
 */
export function chooseLang({ query = "", stored = "", preferred = [] } = {}) {
  const norm = (tag) => {
    const t = String(tag || "").trim().toLowerCase();
    if (!t) return "";
    if (t === "zh" || t.startsWith("zh-")) return "zh-CN";
    if (t === "en" || t.startsWith("en-")) return "en";
    return "";
  };
  for (const tag of [query, stored]) if (norm(tag)) return norm(tag);
  for (const tag of preferred) if (norm(tag)) return norm(tag);
  return "en";
}

/** Sets the language in use. */
export function setLang(tag) {
  current = catalogues[tag] ? tag : "en";
}

/** The language in use: "zh-CN" or "en". */
export const lang = () => current;

/**
 * The page's language at start, from the address (?lang=), the stored
 * choice and navigator.languages; a ?lang= is remembered.
 */
export function initLang(win = globalThis) {
  let stored = "";
  const query = new URLSearchParams(win.location ? win.location.search : "").get("lang") || "";
  try {
    stored = win.localStorage.getItem(storeKey) || "";
  } catch { /* storage refused */ }
  const chosen = chooseLang({ query, stored, preferred: (win.navigator && (win.navigator.languages || [win.navigator.language])) || [] });
  if (query && chosen) remember(chosen, win);
  setLang(chosen);
  return chosen;
}

/** Keeps the reader's choice on this device. */
export function remember(tag, win = globalThis) {
  try {
    win.localStorage.setItem(storeKey, tag);
  } catch { /* kept for this page only */ }
}

/**
 * The words of key in the page's language, with {name} placeholders
 * filled from params. A key the catalogue lacks is logged once and shown
 * in English (or as the key, which the tests catch).
 */
export function t(key, params) {
  let s = catalogues[current][key];
  if (s === undefined) {
    if (!missing.has(key)) {
      missing.add(key);
      console.warn(`i18n: no "${key}" in the ${current} catalogue`);
    }
    s = catalogues.en[key] ?? key;
  }
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in params && params[k] !== undefined && params[k] !== null ? String(params[k]) : m));
}


const fmt = new Map();
const cached = (kind, opts, make) => {
  const k = `${current}|${kind}|${JSON.stringify(opts)}`;
  if (!fmt.has(k)) fmt.set(k, make());
  return fmt.get(k);
};
/** A number for people in the page's language: 12,345.6. */
export const formatNumber = (v, opts = { maximumFractionDigits: 1 }) => cached("n", opts, () => new Intl.NumberFormat(current, opts)).format(v);
/** A date and time for people, in the device's time zone: 2025/6/1 14:05 or 6/1/2025, 2:05 PM. */
export const formatDateTime = (d, opts = { dateStyle: "short", timeStyle: "short" }) => cached("d", opts, () => new Intl.DateTimeFormat(current, opts)).format(d);

/**
 * Translates the static page: data-i18n sets an element's text,
 * data-i18n-title, -placeholder and -aria-label its attributes. <html lang>
 * follows.
 */
export function translateDOM(root = document) {
  if (root.documentElement) root.documentElement.lang = current;
  for (const e of root.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  for (const [attr, data] of [["title", "i18nTitle"], ["placeholder", "i18nPlaceholder"], ["aria-label", "i18nAriaLabel"]]) {
    for (const e of root.querySelectorAll(`[data-i18n-${attr}]`)) e.setAttribute(attr, t(e.dataset[data]));
  }
  const title = root.querySelector("title");
  if (title) title.textContent = t("page.title");
}
