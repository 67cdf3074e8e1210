// The page's catalogues (web/src/i18n): both languages have the same keys
// and placeholders, every key the sources and the page ask for exists, and
// no user-visible English is left hard-coded where it can be found.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import en from "../src/i18n/en.js";
import zh from "../src/i18n/zh-CN.js";
import { catalogues, chooseLang, formatNumber, missing, setLang, t } from "../src/i18n.js";
import { problemMessage } from "../src/api.js";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "..", "src");
const sources = readdirSync(src).filter((f) => f.endsWith(".js")).map((f) => [f, readFileSync(join(src, f), "utf8")]);
const html = readFileSync(join(here, "..", "index.html"), "utf8");
const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test("i18n: both catalogues have exactly the same keys, none empty, the same placeholders", () => {
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const [k, v] of Object.entries(en)) {
    assert.ok(v.trim() !== "" || k.startsWith("problem.retry"), `en ${k} is empty`);
    assert.ok(zh[k].trim() !== "", `zh-CN ${k} is empty`);
    assert.deepEqual(placeholders(zh[k]), placeholders(v), `${k}: placeholders differ`);
  }
  // The Chinese catalogue is Chinese: most of its entries have Han characters.
  const han = Object.values(zh).filter((v) => /\p{Script=Han}/u.test(v)).length;
  assert.ok(han / Object.keys(zh).length > 0.8, `only ${han} of ${Object.keys(zh).length} zh-CN entries are Chinese`);
});

test("i18n: every key the sources and the page use is in the catalogue", () => {
  const used = new Set(), prefixes = new Set();
  for (const [f, s] of sources) {
    for (const m of s.matchAll(/\bt\(\s*"([^"]+)"/g)) used.add(`${f}: ${m[1]}`);
    for (const m of s.matchAll(/\bt\([^;"]*?(?:"[^"]*"[^;"]*?)?\?\s*"([\w.-]+)"\s*:\s*"([\w.-]+)"/g)) used.add(`${f}: ${m[1]}`).add(`${f}: ${m[2]}`);
    for (const m of s.matchAll(/\bt\(\s*`([\w.]+)\$\{/g)) prefixes.add(`${f}: ${m[1]}`);
  }
  for (const m of html.matchAll(/data-i18n(?:-[\w-]+)?="([^"]+)"/g)) used.add(`index.html: ${m[1]}`);
  assert.ok(used.size > 300, `only ${used.size} uses of t() found`);
  for (const u of used) {
    const key = u.split(": ")[1];
    assert.ok(key in en, `${u}: no such key`);
  }
  for (const p of prefixes) {
    const prefix = p.split(": ")[1];
    assert.ok(Object.keys(en).some((k) => k.startsWith(prefix)), `${p}…: no key with this prefix`);
  }
  // Keys nobody uses are dead words (dynamic prefixes count as uses).
  const all = [...used].map((u) => u.split(": ")[1]);
  const dead = Object.keys(en).filter((k) => !all.includes(k) && ![...prefixes].some((p) => k.startsWith(p.split(": ")[1])));
  assert.deepEqual(dead, [], "keys no source uses");
});

test("i18n: no user-visible English left hard-coded in the sources", () => {
  // A string literal of two or more English words given to the DOM: as a
  // child of el(), to textContent, to an Error, to showError or setStatus.
  const words = /^[^"`]*[A-Za-z]{2,}[ ,:;.][^"`]*[A-Za-z]{2,}/;
  const sinks = [
    /textContent\s*=\s*(["`])(.*?)\1/g,
    /new (?:API)?Error\(\s*(["`])(.*?)\1/g,
    /showError\(\s*(["`])(.*?)\1/g,
    /setStatus\(\s*(["`])(.*?)\1/g,
    /\bel\("[\w-]+",\s*\{[^}]*\},\s*(["`])(.*?)\1/g,
    /(?:title|placeholder|"aria-label"):\s*(["`])(.*?)\1/g,
  ];
  const found = [];
  for (const [f, s] of sources) {
    if (f === "i18n.js") continue;
    for (const re of sinks) for (const m of s.matchAll(re)) if (words.test(m[2].replace(/\$\{[^}]*(\}|$)/g, ""))) found.push(`${f}: ${m[0]}`);
  }
  assert.deepEqual(found, []);
});

test("i18n: the page's text is all under data-i18n", () => {
  const body = html.slice(html.indexOf("<body>"), html.indexOf("<noscript>"));
  // Text between tags, of an element without data-i18n.
  const bare = [];
  for (const m of body.matchAll(/<(\w+)([^>]*)>([^<]+)</g)) {
    const [, tag, attrs, text] = m;
    if (!/[A-Za-z]{3,}/.test(text) || /data-i18n=/.test(attrs) || tag === "option" && /lang=/.test(attrs)) continue;
    if (/^\s*(wangge|OpenStreetMap contributors|ODbL 1\.0|OpenAPI|\(Getis-Ord Gi\*\))\s*[,.]?\s*$/.test(text)) continue;
    bare.push(`<${tag}>${text.trim()}`);
  }
  assert.deepEqual(bare, []);
});

test("i18n: the language from ?lang=, the stored choice, then the browser's", () => {
  assert.equal(chooseLang({ preferred: ["zh-CN", "en"] }), "zh-CN");
  assert.equal(chooseLang({ preferred: ["zh-TW"] }), "zh-CN");
  assert.equal(chooseLang({ preferred: ["de-CH", "en-GB", "zh"] }), "en");
  assert.equal(chooseLang({ preferred: ["fr"] }), "en");
  assert.equal(chooseLang({ query: "en", stored: "zh-CN", preferred: ["zh-CN"] }), "en");
  assert.equal(chooseLang({ stored: "en", preferred: ["zh-CN"] }), "en");
  assert.equal(chooseLang({ query: "xx", stored: "zh-CN", preferred: ["en"] }), "zh-CN");
});

test("i18n: t fills placeholders, formats per language, logs a missing key once", () => {
  try {
    setLang("zh-CN");
    assert.equal(t("grid.title", { code: "110105001001001" }), "网格 110105001001001");
    assert.equal(formatNumber(12345.6), "12,345.6");
    assert.equal(t("dash.count", { shown: 3, all: 9, what: t("dash.what", { state: "" }) }), "共 9 条，显示 3 条事件");
    setLang("en");
    assert.equal(t("grid.title", { code: "A1" }), "Grid A1");
    const warn = console.warn;
    let logged = 0;
    console.warn = () => logged++;
    try {
      assert.equal(t("no.such.key"), "no.such.key");
      t("no.such.key");
    } finally {
      console.warn = warn;
    }
    assert.equal(logged, 1);
    assert.ok(missing.has("no.such.key"));
    missing.delete("no.such.key");
    assert.deepEqual(Object.keys(catalogues).sort(), ["en", "zh-CN"]);
  } finally {
    setLang("en");
  }
});

test("i18n: problems in the page's language, the server's detail kept", () => {
  try {
    setLang("zh-CN");
    assert.equal(problemMessage(404, { title: "Not Found", detail: "no plan 7" }), "未找到：no plan 7");
    assert.equal(problemMessage(403, { detail: "role viewer may not read cameras; it needs role planner or higher" }), "查看者密钥无权执行此操作，需要规划员或更高角色。");
    assert.equal(problemMessage(401, { detail: "unknown API key" }), "未知的 API 密钥。");
    assert.equal(problemMessage(418, { title: "I'm a teapot", detail: "short and stout" }), "I'm a teapot：short and stout");
    assert.equal(problemMessage(500, null), "服务器出错（HTTP 500），原因见服务器日志。");
    setLang("en");
    assert.equal(problemMessage(400, { detail: "bad since" }), "Bad request: bad since");
  } finally {
    setLang("en");
  }
});
