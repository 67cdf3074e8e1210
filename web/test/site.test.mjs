// The static site's style (web/src/site.js): its page-relative URLs made
// absolute against the page, wherever on a host the site lives; absolute
// ones and other sources left alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { absoluteStyle } from "../src/site.js";

test("absoluteStyle: the archive and the glyphs resolved against the page", () => {
  const style = {
    version: 8,
    glyphs: "./fonts/{fontstack}/{range}.pbf",
    sources: {
      wangge: { type: "vector", url: "pmtiles://tiles.pmtiles", attribution: "x" },
      cdn: { type: "vector", url: "pmtiles://https://cdn.example.org/a.pmtiles" },
      other: { type: "vector", url: "https://example.org/tiles.json" },
    },
    layers: [{ id: "background", type: "background" }],
  };
  const got = absoluteStyle(style, "https://host.example/dash/vaduz/index.html");
  assert.equal(got.glyphs, "https://host.example/dash/vaduz/fonts/{fontstack}/{range}.pbf");
  assert.equal(got.sources.wangge.url, "pmtiles://https://host.example/dash/vaduz/tiles.pmtiles");
  assert.equal(got.sources.wangge.attribution, "x");
  assert.equal(got.sources.cdn.url, "pmtiles://https://cdn.example.org/a.pmtiles");
  assert.equal(got.sources.other.url, "https://example.org/tiles.json");
  assert.equal(got.layers, style.layers);
  // The exported style itself is not changed.
  assert.equal(style.sources.wangge.url, "pmtiles://tiles.pmtiles");
  assert.equal(absoluteStyle(style, "http://127.0.0.1:8000/").sources.wangge.url, "pmtiles://http://127.0.0.1:8000/tiles.pmtiles");
});
