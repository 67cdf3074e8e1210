// Unit tests of the page's event helpers (node --test): due times and
// overdue, labels from the taxonomy, the dashboard's filter as a predicate
// and as a MapLibre expression, and query strings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { featureFilter } from "@maplibre/maplibre-gl-style-spec";
import {
  annotate, atLeast, categoriesByKind, categoryLabel, defaultSeverity, dueTime, eventFilter, eventQuery, filterExpression, indexTaxonomy, isOpen, isOverdue,
  matchEvent, moveProblem, newestFirst, OPEN, pickLabel, roleLabel, statusColours, statuses, UNASSIGNED,
} from "../src/events.js";

// A small taxonomy in the shape of GET /v1/taxonomy (data/taxonomy.json).
const tax = indexTaxonomy({
  kinds: [{ code: "hazard", zh: "隐患", en: "Hazard" }, { code: "dispute", zh: "矛盾纠纷", en: "Dispute" }],
  categories: [
    { code: "fire", kind: "hazard", zh: "消防", en: "Fire", deadline_hours: 24, severity: 3 },
    { code: "traffic", kind: "hazard", zh: "交通", en: "Traffic", deadline_hours: 72, severity: 2 },
    { code: "neighbours", kind: "dispute", zh: "邻里", en: "Neighbours", deadline_hours: 168, severity: 1 },
  ],
  worker_roles: [{ code: "grid_chief", zh: "网格长", en: "Grid chief", chief: true }, { code: "full_time", zh: "专职网格员", en: "Full-time grid worker" }],
  statuses,
});

const H = 3600e3;
const t0 = Date.parse("2025-03-01T08:00:00Z");

test("ten states, each with its own colour", () => {
  assert.equal(statuses.length, 10);
  assert.deepEqual(Object.keys(statusColours).sort(), [...statuses].sort());
  assert.equal(new Set(Object.values(statusColours)).size, 10);
});

test("open: neither done nor rejected", () => {
  const open = statuses.filter(isOpen);
  assert.deepEqual(open, ["reported", "accepted", "assigned", "in_progress", "escalated", "reopened"]);
});

test("due time: due_at, else the report plus the category's deadline", () => {
  const cases = [
    { name: "due_at wins", p: { due_at: "2025-03-02T00:00:00Z", reported_at: "2025-03-01T08:00:00Z", category: "fire" }, want: Date.parse("2025-03-02T00:00:00Z") },
    { name: "no due_at: fire, 24 h", p: { due_at: null, reported_at: "2025-03-01T08:00:00Z", category: "fire" }, want: t0 + 24 * H },
    { name: "no due_at: dispute, 168 h", p: { reported_at: "2025-03-01T08:00:00Z", category: "neighbours" }, want: t0 + 168 * H },
    { name: "unknown category", p: { reported_at: "2025-03-01T08:00:00Z", category: "volcano" }, want: null },
    { name: "no report time", p: { category: "fire" }, want: null },
    { name: "broken due_at", p: { due_at: "soon" }, want: null },
  ];
  for (const c of cases) assert.equal(dueTime(c.p, tax), c.want, c.name);
});

test("overdue: open and past due, never when done or rejected", () => {
  const p = { status: "assigned", reported_at: "2025-03-01T08:00:00Z", category: "fire", due_at: "2025-03-02T08:00:00Z" };
  const after = t0 + 25 * H, before = t0 + 23 * H;
  const cases = [
    { name: "assigned, after due", p, now: after, want: true },
    { name: "assigned, before due", p, now: before, want: false },
    { name: "exactly at due", p, now: t0 + 24 * H, want: false },
    { name: "in progress, after due", p: { ...p, status: "in_progress" }, now: after, want: true },
    { name: "escalated, after due", p: { ...p, status: "escalated" }, now: after, want: true },
    { name: "resolved", p: { ...p, status: "resolved" }, now: after, want: false },
    { name: "verified", p: { ...p, status: "verified" }, now: after, want: false },
    { name: "closed", p: { ...p, status: "closed" }, now: after, want: false },
    { name: "rejected", p: { ...p, status: "rejected" }, now: after, want: false },
    { name: "older event: deadline of its category", p: { ...p, due_at: null }, now: after, want: true },
    { name: "no due time at all", p: { ...p, due_at: null, category: "volcano" }, now: after + 1e12, want: false },
  ];
  for (const c of cases) assert.equal(isOverdue(c.p, c.now, tax), c.want, c.name);
});

test("labels: Chinese for a Chinese browser, else Chinese (English)", () => {
  const cases = [
    ["zh-CN", "消防"], ["zh", "消防"], ["zh-Hant-TW", "消防"], ["en-GB", "消防 (Fire)"], ["de", "消防 (Fire)"], ["", "消防 (Fire)"], [undefined, "消防 (Fire)"],
  ];
  for (const [lang, want] of cases) assert.equal(categoryLabel(tax, "fire", lang), want, String(lang));
  assert.equal(categoryLabel(tax, "volcano", "en"), "volcano", "an unknown code is shown as it is");
  assert.equal(roleLabel(tax, "grid_chief", "zh-CN"), "网格长");
  assert.equal(pickLabel({ code: "x", en: "Only English" }, "zh"), "Only English");
  assert.equal(pickLabel({ code: "x", zh: "只有中文" }, "en"), "只有中文");
  assert.equal(pickLabel(null, "en", "code"), "code");
});

test("categories grouped by kind, in the taxonomy's order; default severity", () => {
  const groups = categoriesByKind(tax, "en");
  assert.deepEqual(groups.map((g) => [g.kind, g.label, g.categories.map((c) => c.code)]), [
    ["hazard", "隐患 (Hazard)", ["fire", "traffic"]],
    ["dispute", "矛盾纠纷 (Dispute)", ["neighbours"]],
  ]);
  assert.deepEqual(categoriesByKind(indexTaxonomy(null), "en"), []);
  assert.equal(defaultSeverity(tax, "fire"), 3);
  assert.equal(defaultSeverity(tax, "neighbours"), 1);
  assert.equal(defaultSeverity(tax, "volcano"), 2);
});

test("CQL2 filter and query string of a request for events", () => {
  const cases = [
    { name: "nothing", f: {}, filter: "", query: "" },
    { name: "my events", f: { assignee: "demo-worker-007" }, filter: "assignee = 'demo-worker-007'", query: "filter=assignee+%3D+%27demo-worker-007%27" },
    { name: "state and limit", f: { status: "assigned", limit: 50 }, filter: "status = 'assigned'", query: "filter=status+%3D+%27assigned%27&limit=50" },
    { name: "every filter", f: { status: "in_progress", assignee: "W1", category: "fire", resp_code: "LI-01-003" },
      filter: "status = 'in_progress' AND assignee = 'W1' AND category = 'fire' AND resp_code = 'LI-01-003'" },
    { name: "open", f: { status: OPEN }, filter: "status NOT IN ('resolved', 'verified', 'closed', 'rejected')" },
    { name: "unassigned", f: { assignee: UNASSIGNED }, filter: "assignee = ''" },
    { name: "a quote is doubled", f: { assignee: "o'brien" }, filter: "assignee = 'o''brien'" },
    { name: "limit alone", f: { limit: 10 }, filter: "", query: "limit=10" },
  ];
  for (const c of cases) {
    assert.equal(eventFilter(c.f), c.filter, `${c.name}: filter`);
    if (c.query !== undefined) assert.equal(eventQuery(c.f), c.query, `${c.name}: query`);
    // The query string carries the filter intact.
    assert.equal(new URLSearchParams(eventQuery(c.f)).get("filter") ?? "", c.filter, `${c.name}: round trip`);
  }
});

test("newest first, ties by id", () => {
  const f = (id, at) => ({ id, properties: { reported_at: at } });
  const got = newestFirst([f(1, "2025-01-01T00:00:00Z"), f(3, "2025-02-01T00:00:00Z"), f(2, "2025-02-01T00:00:00Z"), f(4, null)]);
  assert.deepEqual(got.map((x) => x.id), [3, 2, 1, 4]);
});

test("the dashboard filter: the predicate and the map's expression agree", () => {
  const now = t0 + 30 * H;
  const events = [];
  let id = 0;
  for (const status of statuses) {
    for (const [category, assignee, severity, day] of [["fire", "W1", 3, "2025-03-01"], ["traffic", "", 1, "2025-02-20"], ["neighbours", "W2", 2, "2025-03-01"]]) {
      events.push({ type: "Feature", id: ++id, geometry: { type: "Point", coordinates: [9.5, 47.1] },
        properties: { status, category, assignee, severity, reported_at: `${day}T08:00:00Z`, due_at: null } });
    }
  }
  // Old data may have no assignee at all.
  events.push({ type: "Feature", id: ++id, geometry: { type: "Point", coordinates: [9.5, 47.1] },
    properties: { status: "reported", category: "volcano", severity: 2, reported_at: "2025-03-01T08:00:00Z" } });
  annotate(events, now, tax);
  const filters = [
    { name: "everything", f: {}, want: events.length },
    { name: "one state", f: { status: "assigned" }, want: 3 },
    { name: "open", f: { status: OPEN }, want: 6 * 3 + 1 },
    { name: "assignee", f: { assignee: "W1" }, want: 10 },
    { name: "unassigned, also without the property", f: { assignee: UNASSIGNED }, want: 11 },
    { name: "overdue only", f: { overdue: true }, want: 6 * 2 }, // fire (24 h) and traffic (72 h from Feb 20)
    { name: "overdue and assigned to W1", f: { overdue: true, assignee: "W1" }, want: 6 },
    { name: "categories", f: { cats: ["neighbours"] }, want: 10 },
    { name: "no category", f: { cats: [] }, want: 0 },
    { name: "severity 2 and up", f: { severity: 2 }, want: 21 },
    { name: "dates", f: { since: "2025-03-01", until: "2025-03-01" }, want: 21 },
    { name: "before", f: { until: "2025-02-28" }, want: 10 },
  ];
  for (const { name, f, want } of filters) {
    const byPredicate = events.filter((e) => matchEvent(e.properties, f)).map((e) => e.id);
    const compiled = featureFilter(filterExpression(f));
    const byExpression = events.filter((e) => compiled.filter({ zoom: 14 }, { type: 1, id: e.id, properties: e.properties, geometry: [] })).map((e) => e.id);
    assert.equal(byPredicate.length, want, `${name}: predicate`);
    assert.deepEqual(byExpression, byPredicate, `${name}: expression`);
  }
});

test("refused moves in words; roles in order", () => {
  assert.match(moveProblem(412, "etag"), /changed since it was loaded/);
  assert.match(moveProblem(409, "allowed: resolved, escalated"), /not possible.*resolved, escalated/);
  assert.match(moveProblem(403, "a field key may not close"), /^Not allowed for this key: a field key may not close/);
  assert.equal(moveProblem(500, "boom"), "boom");
  assert.ok(atLeast("planner", "field") && atLeast("admin", "planner") && !atLeast("field", "planner") && !atLeast("viewer", "field"));
});
