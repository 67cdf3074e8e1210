// Unit tests of the live page's message handling (node --test): applying
// change messages to the events, parsing them, batching.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyChange, changesQuery, debounce, Live, parseChange } from "../src/live.js";

const hz = (id, status, assignee = "") => ({ type: "Feature", id, geometry: { type: "Point", coordinates: [9.52, 47.14] }, properties: { status, assignee } });

test("applyChange: insert, update, delete, a feature no longer visible", () => {
  let fs = [hz(1, "reported"), hz(2, "assigned", "w1")];
  let r = applyChange(fs, { seq: 5, layer: "hazards", fid: 3, op: "insert", feature: hz(3, "reported") });
  assert.deepEqual(r.features.map((f) => f.id), [1, 2, 3]);
  assert.equal(r.before, null);
  assert.equal(fs.length, 2, "the list given is not changed");
  fs = r.features;
  r = applyChange(fs, { seq: 6, layer: "hazards", fid: 2, op: "update", feature: hz(2, "in_progress", "w1") });
  assert.equal(r.before.properties.status, "assigned");
  assert.equal(r.features.find((f) => f.id === 2).properties.status, "in_progress");
  assert.equal(r.features.length, 3);
  fs = r.features;
  r = applyChange(fs, { seq: 7, layer: "hazards", fid: 1, op: "delete", feature: null });
  assert.deepEqual(r.features.map((f) => f.id), [2, 3]);
  // An update without a feature (gone since) removes it too.
  assert.deepEqual(applyChange(r.features, { fid: 3, op: "update", feature: null }).features.map((f) => f.id), [2]);
  // Applying the same message twice converges.
  const once = applyChange(fs, { fid: 9, op: "insert", feature: hz(9, "reported") }).features;
  assert.deepEqual(applyChange(once, { fid: 9, op: "insert", feature: hz(9, "reported") }).features.map((f) => f.id), [1, 2, 3, 9]);
  // The fid names the feature when the feature lacks an id; string and number ids match.
  const noID = { ...hz(0, "accepted") };
  delete noID.id;
  assert.equal(applyChange([hz(4, "reported")], { fid: "4", op: "update", feature: noID }).features[0].properties.status, "accepted");
});

test("parseChange and the subscription's query", () => {
  assert.deepEqual(parseChange({ type: "hazards", data: '{"seq":1,"layer":"hazards","fid":2,"op":"insert","feature":null}' }),
    { seq: 1, layer: "hazards", fid: 2, op: "insert", feature: null });
  assert.equal(parseChange({ type: "grids", data: '{"seq":1,"fid":2}' }).layer, "grids");
  assert.equal(parseChange({ type: "hazards", data: "not json" }), null);
  assert.equal(changesQuery(), "layer=hazards,grids,plans");
});

test("debounce: one run for a burst", async () => {
  let n = 0;
  const run = debounce(() => n++, 5);
  run(); run(); run();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(n, 1);
  run();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(n, 2);
});

test("Live: messages wait for the first load, batch by layer, reset reloads", async () => {
  const seen = [];
  const live = new Live({
    hazards: (m) => seen.push(["hazards", m.map((x) => x.seq)]),
    grids: () => seen.push(["grids"]),
    plans: () => seen.push(["plans"]),
    reset: () => seen.push(["reset"]),
  });
  const ev = (type, seq) => ({ type, data: JSON.stringify({ seq, layer: type, fid: seq, op: "insert", feature: null }) });
  live.event(ev("hazards", 1));
  live.event(ev("cameras", 2)); // not followed
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(seen, [], "held until loaded");
  live.loaded();
  live.event(ev("hazards", 3));
  live.event(ev("grids", 4));
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(seen, [["hazards", [1, 3]], ["grids"]]);
  seen.length = 0;
  live.event(ev("hazards", 5));
  live.event(ev("plans", 6));
  live.event(ev("grids", 7));
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(seen, [["hazards", [5]], ["plans"]], "a plan change covers the grids");
  seen.length = 0;
  live.event(ev("hazards", 8));
  live.event({ type: "reset", data: "{}" });
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(seen, [["reset"]], "a reset drops what was pending and reloads");
});
