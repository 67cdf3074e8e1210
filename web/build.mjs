// Builds the map page into ../api/page/dist, which the Go binary embeds
// (api/landing.go). Every asset name carries a content hash, so the server
// can let browsers keep them for a year; index.html names them.
//
//   npm ci && npm run build
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "api", "page", "dist");
const assets = join(out, "assets");
rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const hash = (buf) => createHash("sha256").update(buf).digest("hex").slice(0, 10);

// MapLibre's CSP build runs its worker from a file of ours instead of a
// blob: URL, so the page's Content-Security-Policy can stay at 'self'.
const workerSrc = readFileSync(join(here, "node_modules", "maplibre-gl", "dist", "maplibre-gl-csp-worker.js"));
const workerName = `maplibre-worker-${hash(workerSrc)}.js`;
writeFileSync(join(assets, workerName), workerSrc);

const result = await build({
  entryPoints: { app: join(here, "src", "main.js") },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  outdir: assets,
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  legalComments: "eof",
  define: { WORKER_FILE: JSON.stringify(workerName) },
  logLevel: "warning",
});

let js = "", css = "";
for (const file of Object.keys(result.metafile.outputs)) {
  const name = file.split("/").pop();
  if (name.endsWith(".js")) js = name;
  if (name.endsWith(".css")) css = name;
}
if (!js || !css) throw new Error("esbuild wrote no app script or style");

const html = readFileSync(join(here, "index.html"), "utf8")
  .replaceAll("%APP_JS%", `assets/${js}`)
  .replaceAll("%APP_CSS%", `assets/${css}`);
writeFileSync(join(out, "index.html"), html);

// Gzip twins, sent to clients that accept gzip: MapLibre is a megabyte.
for (const name of readdirSync(assets)) {
  if (!/\.(js|css)$/.test(name)) continue;
  const raw = readFileSync(join(assets, name));
  writeFileSync(join(assets, name + ".gz"), gzipSync(raw, { level: 9 }));
}
// The labels' Latin glyphs (SDF protobufs) from a Debian font, by a Go
// program of ours (cmd/glyphs): nothing native to build, nothing fetched.
// CJK is drawn by the browser's fonts (localIdeographFontFamily in main.js).
const glyphs = spawnSync(process.env.GO || "go", ["run", "./cmd/glyphs", "-out", join(out, "fonts")],
  { cwd: join(here, ".."), stdio: ["ignore", "ignore", "inherit"] });
if (glyphs.error || glyphs.status !== 0) {
  throw new Error("web: the label glyphs were not built: cmd/glyphs needs Go and fonts-dejavu-core (scripts/deps.sh)");
}
// Their gzip twins: distance fields compress to a third.
for (const stack of readdirSync(join(out, "fonts"))) {
  for (const name of readdirSync(join(out, "fonts", stack))) {
    if (!name.endsWith(".pbf")) continue;
    const file = join(out, "fonts", stack, name);
    writeFileSync(file + ".gz", gzipSync(readFileSync(file), { level: 9 }));
  }
}

console.log(`web: built ${js}, ${css}, ${workerName} into api/page/dist`);
