// Unit tests of the page's Server-Sent Events reader (node --test): the
// event-stream grammar with chunks split anywhere, and the fetch()-based
// client's reconnection with Last-Event-ID.
import { test } from "node:test";
import assert from "node:assert/strict";
import { backoff, openStream, SSEParser } from "../src/sse.js";

/** Parses text given as chunks; returns the events, comments and retries seen. */
function parse(chunks, lastEventId) {
  const events = [], comments = [], retries = [];
  const p = new SSEParser((e) => events.push(e), { onComment: (c) => comments.push(c), onRetry: (r) => retries.push(r), lastEventId });
  for (const c of chunks) p.push(c);
  return { events, comments, retries, parser: p };
}

/** Every way to cut s into two or three pieces. */
function* splits(s) {
  for (let i = 0; i <= s.length; i++) {
    yield [s.slice(0, i), s.slice(i)];
    for (let j = i; j <= s.length; j += 7) yield [s.slice(0, i), s.slice(i, j), s.slice(j)];
  }
}

const feed = [
  "\ufeff: hello\n",
  "retry: 5000\n",
  "id: 41\nevent: hazards\ndata: {\"seq\":41,\"layer\":\"hazards\",\"fid\":7,\"op\":\"insert\",\n",
  "data: \"feature\":{\"properties\":{\"note\":\"火灾 ☎\"}}}\n\n",
  ":heartbeat\r\n\r\n",
  "id: 42\r\nevent: grids\r\ndata: one\r\ndata:two\r\ndata\r\n\r\n",
  "id: 43\revent: reset\rdata: {}\r\r",
  "data: no event name\n\n",
  "event: ignored because there is no data\nid: 44\n\n",
  "data: after an empty event\nunknown: field\nid: bad\0id\n\n",
  "data: an unfinished event at the end",
].join("");

const want = [
  { type: "hazards", data: "{\"seq\":41,\"layer\":\"hazards\",\"fid\":7,\"op\":\"insert\",\n\"feature\":{\"properties\":{\"note\":\"火灾 ☎\"}}}", lastEventId: "41" },
  { type: "grids", data: "one\ntwo\n", lastEventId: "42" },
  { type: "reset", data: "{}", lastEventId: "43" },
  { type: "message", data: "no event name", lastEventId: "43" },
  // id: 44 was set by a block without data: it is the last id from then on.
  { type: "message", data: "after an empty event", lastEventId: "44" },
];

test("SSE: fields, comments, multi-line data, ids, retry, CR/LF/CRLF", () => {
  const { events, comments, retries } = parse([feed]);
  assert.deepEqual(events, want);
  assert.deepEqual(comments, ["hello", "heartbeat"]);
  assert.deepEqual(retries, [5000]);
});

test("SSE: the same events however the stream is cut", () => {
  for (const chunks of splits(feed)) {
    const { events, comments } = parse(chunks);
    assert.deepEqual(events, want, `cut at ${chunks.map((c) => c.length)}`);
    assert.deepEqual(comments, ["hello", "heartbeat"]);
  }
});

test("SSE: one character at a time, CR and LF in separate chunks", () => {
  const { events } = parse([...feed]);
  assert.deepEqual(events, want);
  // "\r" then "\n" in the next chunk is one line end, not two (which
  // would dispatch an event early).
  const { events: e2 } = parse(["data: a\r", "\ndata: b\r", "\n\r", "\n"]);
  assert.deepEqual(e2, [{ type: "message", data: "a\nb", lastEventId: "" }]);
});

test("SSE: field syntax", () => {
  const cases = [
    { name: "no space after the colon", in: "data:x\n\n", data: "x" },
    { name: "only one space is dropped", in: "data:  x\n\n", data: " x" },
    { name: "colon in the value", in: "data: a:b\n\n", data: "a:b" },
    { name: "a field without a colon is empty", in: "data\ndata\n\n", data: "\n" },
    { name: "empty data line", in: "data:\n\n", data: "" },
    { name: "field names are case-sensitive", in: "Data: x\ndata: y\n\n", data: "y" },
  ];
  for (const c of cases) {
    const { events } = parse([c.in]);
    assert.equal(events.length, 1, c.name);
    assert.equal(events[0].data, c.data, c.name);
  }
  // retry takes digits only; an id with NUL is ignored; a BOM only at the start.
  const { retries, events } = parse(["retry: 10s\nretry: 250\nid: 5\nid: 6\0\ndata: \ufeffx\n\n"]);
  assert.deepEqual(retries, [250]);
  assert.deepEqual(events, [{ type: "message", data: "\ufeffx", lastEventId: "5" }]);
  // The resume point given at the start carries over.
  assert.equal(parse(["data: x\n\n"], "99").events[0].lastEventId, "99");
  // An empty id resets it.
  assert.equal(parse(["id\ndata: x\n\n"], "99").events[0].lastEventId, "");
});

test("SSE: end() drops an unfinished event", () => {
  const { events, parser } = parse(["data: half"]);
  parser.end();
  parser.push("\n\ndata: whole\n\n");
  assert.deepEqual(events.map((e) => e.data), ["whole"]);
});

test("backoff: the server's retry, doubling to a ceiling, Retry-After wins", () => {
  const none = () => 0;
  assert.equal(backoff(0, 1000, 60000, 0, none), 1000);
  assert.equal(backoff(3, 1000, 60000, 0, none), 8000);
  assert.equal(backoff(30, 1000, 60000, 0, none), 60000);
  assert.equal(backoff(0, 1000, 60000, 30, none), 30000);
  assert.ok(backoff(0, 1000, 60000, 0, () => 0.999) <= 1200);
});

// A scripted server for openStream: each connection gets the next answer.
const enc = new TextEncoder();
function answer(status, chunks = [], { type = "text/event-stream", headers = {}, hang = false } = {}) {
  return (signal) => {
    const body = new ReadableStream({
      start(ctrl) {
        for (const c of chunks) ctrl.enqueue(enc.encode(c));
        if (!hang) ctrl.close();
        signal.addEventListener("abort", () => {
          try {
            ctrl.error(new DOMException("aborted", "AbortError"));
          } catch { /* closed */ }
        });
      },
    });
    return new Response(status === 204 ? null : body, { status, headers: { "Content-Type": type, ...headers } });
  };
}

function scripted(answers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, lastEventId: init.headers["Last-Event-ID"] || "", auth: init.headers.Authorization || "" });
    const next = answers.shift();
    if (!next) return new Promise(() => {}); // hangs until closed
    if (next instanceof Error) throw next;
    return next(init.signal);
  };
  return { fetch, calls };
}

const until = async (cond, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
};

test("openStream: resumes with Last-Event-ID after a drop, an error and an overflow", async () => {
  const { fetch, calls } = scripted([
    answer(200, ["id: 1\nevent: hazards\ndata: {\"seq\":1}\n\n", "id: 2\nevent: haz", "ards\ndata: {\"seq\":2}\n\n"]), // then ends
    new TypeError("network down"),
    answer(503, [], { type: "application/problem+json", headers: { "Retry-After": "0" } }),
    answer(200, [": ping\n\n", "id: 3\nevent: hazards\ndata: {\"seq\":3}\n\n", "id: 3\nevent: overflow\ndata: {}\n\n", "id: 9\ndata: never read\n\n"], { hang: true }),
    answer(200, ["id: 4\nevent: hazards\ndata: {\"seq\":4}\n\n"], { hang: true }),
  ]);
  const events = [], states = [];
  const s = openStream("http://x/v1/changes", {
    fetch, headers: () => ({ Authorization: "Bearer k" }), onEvent: (e) => events.push(`${e.type}:${e.lastEventId}`),
    onState: (st, d) => states.push(st + (d && d.why ? `:${d.why}` : "")), retry: 1, random: () => 0,
  });
  await until(() => events.includes("hazards:4"));
  s.close();
  assert.deepEqual(events, ["hazards:1", "hazards:2", "hazards:3", "overflow:3", "hazards:4"]);
  assert.deepEqual(calls.map((c) => c.lastEventId), ["", "2", "2", "2", "3"]);
  assert.ok(calls.every((c) => c.auth === "Bearer k"), "every connection carries the key");
  assert.equal(s.lastEventId, "4");
  assert.equal(states[0], "open");
  assert.ok(states.includes("retrying:fell behind"), states.join(", "));
});

test("openStream: drop() cuts the connection; it resumes, from a given point if asked", async () => {
  const { fetch, calls } = scripted([
    answer(200, ["id: 5\ndata: a\n\n"], { hang: true }),
    answer(200, ["id: 6\ndata: b\n\n"], { hang: true }),
    answer(200, ["id: 9\nevent: reset\ndata: {}\n\n"], { hang: true }),
  ]);
  const seen = [];
  const s = openStream("http://x/v1/changes", { fetch, onEvent: (e) => seen.push(`${e.type}:${e.lastEventId}`), retry: 1, random: () => 0 });
  await until(() => seen.length === 1);
  s.drop();
  await until(() => seen.length === 2);
  s.drop(123456);
  await until(() => seen.length === 3);
  s.close();
  assert.deepEqual(calls.map((c) => c.lastEventId), ["", "5", "123456"]);
  assert.deepEqual(seen, ["message:5", "message:6", "reset:9"]);
  assert.equal(s.lastEventId, "9", "a reset's id is where the stream goes on from");
});

test("openStream: a refused key stops it; a silent stream is dropped and reopened", async () => {
  const { fetch, calls } = scripted([answer(401, [], { type: "application/problem+json" })]);
  const states = [];
  openStream("http://x/v1/changes", { fetch, onState: (st, e) => states.push([st, e && e.status]) });
  await until(() => states.length);
  assert.deepEqual(states, [["stopped", 401]]);
  assert.equal(calls.length, 1);

  const silent = scripted([answer(200, ["id: 7\ndata: x\n\n"], { hang: true }), answer(200, ["id: 8\ndata: y\n\n"], { hang: true })]);
  const seen = [];
  const s = openStream("http://x/v1/changes", { fetch: silent.fetch, onEvent: (e) => seen.push(e.lastEventId), idleMs: 30, retry: 1, random: () => 0 });
  await until(() => seen.includes("8"));
  s.close();
  assert.deepEqual(silent.calls.map((c) => c.lastEventId), ["", "7"]);
});

test("openStream: a body that is not an event stream stops it", async () => {
  const { fetch } = scripted([answer(200, ["<html>"], { type: "text/html" })]);
  const states = [];
  openStream("http://x/", { fetch, onState: (st, e) => states.push([st, e && e.message]) });
  await until(() => states.length);
  assert.equal(states[0][0], "stopped");
  assert.match(states[0][1], /not text\/event-stream/);
});
