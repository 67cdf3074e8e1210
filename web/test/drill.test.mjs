// Unit tests of the dashboard's drill-down (node --test): breadcrumb
// transitions, where a map click goes, the rollup queries of each place,
// and the series the charts draw.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  categorySeries, utcOffset, chainAt, childWord, drillClick, drillInto, drillUp, here, monthSeries, ownRows, rootPath, rowCode, rowLevel, rowName, rowType, statsQueries,
} from "../src/drill.js";

// Two streets, a community each and two grids in one of them: the demo's shape.
const oberland = { kind: "area", code: "relation/1156142", name: "Oberland", level: 1 };
const unterland = { kind: "area", code: "relation/1156141", name: "Unterland", level: 1 };
const vaduz = { kind: "area", code: "LI-11", name: "Vaduz", level: 2 };
const eschen = { kind: "area", code: "LI-02", name: "Eschen", level: 2 };
const g1 = { kind: "grid", code: "LI-11016", name: "", level: 3, parent_code: "LI-11" };
const g2 = { kind: "grid", code: "LI-11017", name: "", level: 3, parent_code: "LI-11" };
const codes = (path) => path.map((p) => p.code || "county");

test("drill: down by rows, back up by the breadcrumb", () => {
  let path = rootPath();
  assert.equal(here(path).kind, "county");
  path = drillInto(path, oberland);
  path = drillInto(path, vaduz);
  path = drillInto(path, g1);
  assert.deepEqual(codes(path), ["county", "relation/1156142", "LI-11", "LI-11016"]);
  // A grid has no children: another grid takes its place.
  assert.deepEqual(codes(drillInto(path, g2)), ["county", "relation/1156142", "LI-11", "LI-11017"]);
  const cases = [
    { name: "to the county", i: 0, want: ["county"] },
    { name: "to the street", i: 1, want: ["county", "relation/1156142"] },
    { name: "to the community", i: 2, want: ["county", "relation/1156142", "LI-11"] },
    { name: "the last step is where we are", i: 3, want: codes(path) },
    { name: "out of range changes nothing", i: 9, want: codes(path) },
    { name: "negative changes nothing", i: -1, want: codes(path) },
  ];
  for (const c of cases) assert.deepEqual(codes(drillUp(path, c.i)), c.want, c.name);
});

test("drill: a map click goes one step down, or sideways", () => {
  const atVaduz = [oberland, vaduz, g1];
  const atEschen = [unterland, eschen];
  const root = rootPath();
  const cases = [
    { name: "county → street", path: root, chain: atVaduz, want: ["county", "relation/1156142"] },
    { name: "street → community", path: [...root, oberland], chain: atVaduz, want: ["county", "relation/1156142", "LI-11"] },
    { name: "community → grid", path: [...root, oberland, vaduz], chain: atVaduz, want: ["county", "relation/1156142", "LI-11", "LI-11016"] },
    { name: "grid → another grid of the area", path: [...root, oberland, vaduz, g2], chain: atVaduz, want: ["county", "relation/1156142", "LI-11", "LI-11016"] },
    { name: "grid, same grid: stays", path: [...root, oberland, vaduz, g1], chain: atVaduz, want: ["county", "relation/1156142", "LI-11", "LI-11016"] },
    { name: "street, click in another street: that street", path: [...root, oberland], chain: atEschen, want: ["county", "relation/1156141"] },
    { name: "community, click in another street: its community", path: [...root, oberland, vaduz], chain: atEschen, want: ["county", "relation/1156141", "LI-02"] },
    { name: "a point outside every grid stops at its area", path: [...root, unterland, eschen], chain: atEschen, want: ["county", "relation/1156141", "LI-02"] },
    { name: "outside every area: nothing changes", path: [...root, oberland], chain: [], want: ["county", "relation/1156142"] },
  ];
  for (const c of cases) assert.deepEqual(codes(drillClick(c.path, c.chain)), c.want, c.name);
});

test("chainAt: areas linked by parent_code, the grid last", () => {
  const areas = [
    { code: "LI-11", name: "Vaduz", level: 2, parent_code: "relation/1156142" },
    { code: "relation/1156142", name: "Oberland", level: 1, parent_code: "" },
    { code: "LI-11", name: "Vaduz", level: 2, parent_code: "relation/1156142" }, // drawn in two tiles
    { code: "LI-09", name: "Triesen", level: 2, parent_code: "relation/1156142" }, // a neighbour at a tile edge
  ];
  const chain = chainAt(areas, { code: "LI-11016", parent_code: "LI-11", name: "" });
  assert.deepEqual(chain.map((c) => `${c.kind}:${c.code}:${c.level}`), ["area:relation/1156142:1", "area:LI-11:2", "grid:LI-11016:3"]);
  // Without a grid, the deepest area.
  assert.deepEqual(chainAt(areas.slice(0, 2), null).map((c) => c.code), ["relation/1156142", "LI-11"]);
  assert.deepEqual(chainAt([], null), []);
  // A parent loop in bad data ends.
  assert.ok(chainAt([{ code: "a", parent_code: "b", level: 2 }, { code: "b", parent_code: "a", level: 1 }], null).length <= 32);
});

test("statsQueries: children's rows, own trend and categories", () => {
  const period = { since: "2025-01-01", until: "2025-07-01" };
  const parse = (q) => Object.fromEntries(new URLSearchParams(q));
  const county = statsQueries(rootPath()[0], period);
  assert.deepEqual(parse(county.rows), { level: "1", group_by: "area", since: "2025-01-01", until: "2025-07-01" });
  assert.deepEqual(parse(county.trend), { level: "0", group_by: "month", since: "2025-01-01", until: "2025-07-01" });
  assert.deepEqual(parse(county.categories), { level: "0", group_by: "category", since: "2025-01-01", until: "2025-07-01" });
  assert.equal(county.own, null);
  const street = statsQueries(oberland);
  assert.deepEqual(parse(street.rows), { parent: "relation/1156142", group_by: "area" });
  assert.deepEqual(parse(street.trend), { parent: "relation/1156142", group_by: "month" });
  assert.deepEqual(parse(street.categories), { parent: "relation/1156142", group_by: "category" });
  assert.equal(street.own, null, "without area in group_by every row is the street's own");
  const grid = statsQueries(g1);
  assert.deepEqual(parse(grid.rows), { parent: "LI-11", group_by: "area" });
  assert.deepEqual(parse(grid.trend), { parent: "LI-11", group_by: "area,month" });
  assert.deepEqual(grid.own, { code: "LI-11016" });
  // Rows as api/rollups.go writes them.
  const rows = [{ area_code: "LI-11016", area_type: "grid", reported: 2 }, { area_code: "LI-11017", area_type: "grid", reported: 3 }];
  assert.deepEqual(ownRows(rows, grid.own).map(rowCode), ["LI-11016"]);
  assert.equal(ownRows(rows, null).length, 2);
  const r = { area_code: "LI-11", area_name: "Vaduz", area_level: 2, area_type: "area" };
  assert.deepEqual([rowCode(r), rowName(r), rowLevel(r), rowType(r)], ["LI-11", "Vaduz", 2, "area"]);
});

test("utcOffset: the calendar of the browser as an offset", () => {
  const at = (minutes) => ({ getTimezoneOffset: () => minutes });
  assert.equal(utcOffset(at(-480)), "+08:00");
  assert.equal(utcOffset(at(0)), "+00:00");
  assert.equal(utcOffset(at(300)), "-05:00");
  assert.equal(utcOffset(at(-345)), "+05:45");
  const q = Object.fromEntries(new URLSearchParams(statsQueries(rootPath()[0], { tz: "+08:00" }).rows));
  assert.equal(q.tz, "+08:00", "a + survives the query string");
});

test("childWord: streets, communities, grids", () => {
  assert.match(childWord(rootPath()[0], false), /street/);
  assert.match(childWord(oberland, false), /community/);
  assert.match(childWord(vaduz, true), /grid/);
  assert.match(childWord(g1, false), /grid/);
});

test("monthSeries: sorted, gaps filled with zeros, closure rate", () => {
  const s = monthSeries([
    { period: "2025-03", reported: 4, closed: 2 },
    { period: "2024-12", reported: 2, closed: 2 },
    { period: "2025-03", reported: 1, closed: 0 }, // a second row of one month adds up
    { period: "", reported: 9 },
  ]);
  assert.deepEqual(s.months, ["2024-12", "2025-01", "2025-02", "2025-03"]);
  assert.deepEqual(s.reported, [2, 0, 0, 5]);
  assert.deepEqual(s.closed, [2, 0, 0, 2]);
  assert.deepEqual(s.closure, [1, null, null, 0.4]);
  assert.deepEqual(monthSeries([]).months, []);
});

test("categorySeries: largest first, zeros left out", () => {
  const s = categorySeries([{ category: "fire", reported: 2 }, { category: "traffic", reported: 5 }, { category: "water", reported: 0 }, { category: "fire", reported: 1 }]);
  assert.deepEqual(s, [{ code: "traffic", reported: 5 }, { code: "fire", reported: 3 }]);
});
