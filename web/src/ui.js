// Small DOM helpers shared by the views. Text always goes in as text, never
// as HTML: names and codes come from imported files.
import { formatNumber, t } from "./i18n.js";

/** Creates an element with attributes and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "style") for (const [p, val] of Object.entries(v)) e.style.setProperty(p, val);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

export const $ = (sel) => document.querySelector(sel);

/** Shows an error in words in the panel's alert box. */
export function showError(context, err) {
  const text = $("#error-text");
  const msg = err && err.message ? err.message : String(err);
  text.textContent = context ? t("err.context", { context, msg }) : msg;
  $("#error").hidden = false;
}

export function clearError() {
  $("#error").hidden = true;
  $("#error-text").textContent = "";
}

/** Sets the one-line status in the header. */
export function setStatus(text) {
  $("#status").textContent = text;
}

/** Formats a number for people in the page's language: 12,345.6. */
export const num = (v) => (v === null || v === undefined || Number.isNaN(v) ? "—" : formatNumber(v));
/** Formats a share 0…1 as a percentage. */
export const pct = (v) => (v === null || v === undefined ? "—" : t("unit.pct", { v: formatNumber(v * 100) }));
/** Formats metres. */
export const metres = (v) => (v === null || v === undefined ? "—" : v >= 1000 ? t("unit.km", { v: formatNumber(v / 1000) }) : t("unit.metres", { v: formatNumber(Math.round(v)) }));

/** A two-column table of label → value rows. */
export function kvTable(rows, caption) {
  return el("table", { class: "kv" }, caption ? el("caption", {}, caption) : null,
    el("tbody", {}, rows.filter(Boolean).map(([k, v]) => el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, v)))));
}

/** The name of an area or grid for people: its name, else its code. */
export const label = (x) => (x && x.name ? `${x.name} (${x.code})` : x ? x.code : "—");
