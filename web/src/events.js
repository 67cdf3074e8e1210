// Events (hazards and disputes) without the DOM: states and their colours,
// labels from the taxonomy, due times, the dashboard's filter as a MapLibre
// expression and as a predicate, and query strings for the hazards
// collection. Pure functions, so web/test runs them under node.
import { formatDateTime, t } from "./i18n.js";

/** The ten states of an event, in workflow order (data/events.go). */
export const statuses = ["reported", "accepted", "assigned", "in_progress", "resolved", "verified", "closed", "rejected", "escalated", "reopened"];

/**
 * One colour per state: warm while an event waits for someone, blue while
 * it is handled, greens once done, grey when closed; the side paths
 * (rejected, escalated, reopened) stand apart.
 */
export const statusColours = {
  reported: "#d62728",
  accepted: "#ff7f0e",
  assigned: "#e6b800",
  in_progress: "#1f77b4",
  resolved: "#2ca02c",
  verified: "#17becf",
  closed: "#7f7f7f",
  rejected: "#8c564b",
  escalated: "#9467bd",
  reopened: "#e377c2",
};

/** The states of an event handled to the end (办结), as the server counts them. */
export const doneStatuses = ["resolved", "verified", "closed"];

/** Whether an event in state s still waits for handling: neither done nor rejected. */
export const isOpen = (s) => !doneStatuses.includes(s) && s !== "rejected";

/** A state for people, in the page's language: "in progress", 处理中. */
export const statusLabel = (s) => (statuses.includes(s) ? t(`status.${s}`) : String(s || "—").replaceAll("_", " "));

/** The status filter's pseudo-state for every open event. */
export const OPEN = "open";
/** The assignee filter's value for events without an assignee. */
export const UNASSIGNED = "-";

const HOUR = 3600e3;

/**
 * The label of a taxonomy entry ({zh, en}) for a reader of language lang:
 * Chinese alone for a Chinese browser, else Chinese with the English in
 * brackets (the names people use locally stay visible). Missing entries
 * fall back to the code. Full translation is a later issue.
 */
export function pickLabel(entry, lang = "en", code = "") {
  if (!entry) return code || "—";
  const { zh, en } = entry;
  if (/^zh\b/i.test(lang || "")) return zh || en || entry.code || code;
  if (zh && en) return `${zh} (${en})`;
  return zh || en || entry.code || code;
}

/** Indexes a /v1/taxonomy answer by code; null or a partial answer is fine. */
export function indexTaxonomy(t) {
  const by = (list) => new Map((list || []).map((x) => [x.code, x]));
  return {
    kinds: by(t && t.kinds),
    categories: by(t && t.categories),
    roles: by(t && t.worker_roles),
    list: (t && t.categories) || [],
    kindList: (t && t.kinds) || [],
  };
}

/** The label of a category code. */
export const categoryLabel = (tax, code, lang) => pickLabel(tax.categories.get(code), lang, code);
/** The label of a kind code (hazard, dispute). */
export const kindLabel = (tax, code, lang) => pickLabel(tax.kinds.get(code), lang, code);
/** The label of a worker role code. */
export const roleLabel = (tax, code, lang) => pickLabel(tax.roles.get(code), lang, code);

/**
 * The categories grouped by kind, in the taxonomy's order: [{kind, label,
 * categories}]. Categories of a kind the taxonomy does not list come last,
 * under their kind's code.
 */
export function categoriesByKind(tax, lang) {
  const groups = new Map();
  for (const k of tax.kindList) groups.set(k.code, { kind: k.code, label: pickLabel(k, lang), categories: [] });
  for (const c of tax.list) {
    if (!groups.has(c.kind)) groups.set(c.kind, { kind: c.kind, label: c.kind || t("events.otherKind"), categories: [] });
    groups.get(c.kind).categories.push(c);
  }
  return [...groups.values()].filter((g) => g.categories.length);
}

/** The category's default severity (1–3), 2 when unknown. */
export function defaultSeverity(tax, code) {
  const c = tax.categories.get(code);
  return c && c.severity >= 1 && c.severity <= 3 ? c.severity : 2;
}

/**
 * When an event is due, in milliseconds since the epoch, or null: its
 * due_at, or for older events without one its report plus its category's
 * deadline, as the server judges them (live/stats.go, GridHazard.Due).
 */
export function dueTime(p, tax) {
  if (p.due_at) {
    const t = Date.parse(p.due_at);
    return Number.isNaN(t) ? null : t;
  }
  const c = tax && tax.categories.get(p.category);
  const reported = Date.parse(p.reported_at || "");
  if (!c || !(c.deadline_hours > 0) || Number.isNaN(reported)) return null;
  return reported + c.deadline_hours * HOUR;
}

/** Whether an event is overdue at now (ms): open and past its due time. */
export function isOverdue(p, now, tax) {
  if (!isOpen(p.status)) return false;
  const due = dueTime(p, tax);
  return due !== null && now > due;
}

/** Events newest first (by reported_at, then by id), as a new array. */
export function newestFirst(features) {
  const t = (f) => Date.parse(f.properties.reported_at || "") || 0;
  return [...features].sort((a, b) => t(b) - t(a) || Number(b.id) - Number(a.id));
}

/** A CQL2 text string literal: quoted, with quotes doubled. */
const cqlString = (v) => `'${String(v).replaceAll("'", "''")}'`;

/**
 * The CQL2 text filter (OGC API Features part 3) selecting events by state
 * (a state, or OPEN), assignee (a worker id, or UNASSIGNED), category and
 * responsible unit; "" when nothing is asked. CQL2 rather than one query
 * parameter each: the collection's queryables all work in it, and so do
 * the page's pseudo-values (open, unassigned).
 */
export function eventFilter({ status = "", assignee = "", category = "", resp_code: resp = "" } = {}) {
  const and = [];
  if (status === OPEN) and.push(`status NOT IN (${[...doneStatuses, "rejected"].map(cqlString).join(", ")})`);
  else if (status) and.push(`status = ${cqlString(status)}`);
  if (assignee === UNASSIGNED) and.push("assignee = ''");
  else if (assignee) and.push(`assignee = ${cqlString(assignee)}`);
  if (category) and.push(`category = ${cqlString(category)}`);
  if (resp) and.push(`resp_code = ${cqlString(resp)}`);
  return and.join(" AND ");
}

/** The query string of a request for events: eventFilter's filter, and limit. */
export function eventQuery(f = {}) {
  const q = new URLSearchParams();
  const filter = eventFilter(f);
  if (filter) q.set("filter", filter);
  if (f.limit) q.set("limit", String(f.limit));
  return q.toString();
}

/**
 * Whether an event's properties pass the dashboard's filter f: {cats
 * (codes; null = every one), status (a state, OPEN or ""), assignee (a
 * worker id, UNASSIGNED or ""), severity (least), since, until (ISO dates,
 * inclusive), overdue (bool)}. p._overdue holds isOverdue, set when the
 * events were loaded (annotate), so this and filterExpression agree.
 */
export function matchEvent(p, f) {
  const day = String(p.reported_at || "").slice(0, 10);
  if (f.cats && !f.cats.includes(p.category)) return false;
  if (f.status === OPEN ? !isOpen(p.status) : f.status && p.status !== f.status) return false;
  if (f.assignee === UNASSIGNED ? !!p.assignee : f.assignee && p.assignee !== f.assignee) return false;
  if ((f.severity || 1) > 1 && !(p.severity >= f.severity)) return false;
  if (f.since && day < f.since) return false;
  if (f.until && day > f.until) return false;
  if (f.overdue && p._overdue !== true) return false;
  return true;
}

/** The same filter as matchEvent, as a MapLibre expression for the hazards layer. */
export function filterExpression(f) {
  const expr = ["all"];
  if (f.cats) expr.push(["in", ["get", "category"], ["literal", f.cats]]);
  if (f.status === OPEN) expr.push(["!", ["in", ["get", "status"], ["literal", [...doneStatuses, "rejected"]]]]);
  else if (f.status) expr.push(["==", ["get", "status"], f.status]);
  if (f.assignee === UNASSIGNED) expr.push(["==", ["coalesce", ["get", "assignee"], ""], ""]);
  else if (f.assignee) expr.push(["==", ["get", "assignee"], f.assignee]);
  if ((f.severity || 1) > 1) expr.push([">=", ["to-number", ["get", "severity"], 0], f.severity]);
  const day = ["slice", ["to-string", ["coalesce", ["get", "reported_at"], ""]], 0, 10];
  if (f.since) expr.push([">=", day, f.since]);
  if (f.until) expr.push(["<=", day, f.until]);
  if (f.overdue) expr.push(["==", ["get", "_overdue"], true]);
  return expr;
}

/**
 * Marks every event's properties with _overdue at now, in place, so the
 * map's filter and circles can use it (MapLibre expressions have no clock).
 */
export function annotate(features, now, tax) {
  for (const f of features) f.properties._overdue = isOverdue(f.properties, now, tax);
  return features;
}

const minutes = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
const day = { year: "numeric", month: "2-digit", day: "2-digit" };

/** A time for people, in the device's time zone and the page's language: 2025/06/01 14:05, 06/01/2025, 14:05; "—" when absent. */
export function shortTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return formatDateTime(d, minutes);
}

/** A day for people, in the page's language: 2025/06/01, 06/01/2025; "—" when absent. */
export function shortDate(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return formatDateTime(d, day);
}

const roles = ["viewer", "field", "planner", "admin"];
/** Whether role is at least min in viewer < field < planner < admin. */
export const atLeast = (role, min) => roles.indexOf(role) >= roles.indexOf(min);

/**
 * The words for a refused move: the server's detail, and for a stale ETag
 * (412) that the event changed and was loaded again.
 */
export function moveProblem(status, detail) {
  if (status === 412) return t("move.changed");
  if (status === 409) return t("move.conflict", { detail });
  if (status === 403) return t("move.forbidden", { detail });
  return detail;
}
