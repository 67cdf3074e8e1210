#!/usr/bin/env node
// Validates wangge's OpenAPI document and MapLibre style with the validators
// their users run, not with anything written here:
//
//   node validate.mjs --openapi <file or URL> --style <file or URL>
//
// The OpenAPI document goes through @apidevtools/swagger-parser (schema and
// spec rules: unique operationIds, declared path parameters, …),
// @seriousme/openapi-schema-validator (the official OpenAPI 3.0 JSON
// schema) and redocly lint (its recommended rules: security defined, 4xx
// answers, …; warnings count as errors). The style goes through
// @maplibre/maplibre-gl-style-spec's validateStyleMin, what MapLibre GL
// checks styles with, at the spec version that the map page's maplibre-gl
// bundles (web/package-lock.json). Every error is printed; the exit status
// is 1 if there was one, 2 if something could not be read or run.
// api/openapi_test.go runs this against the real server.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import SwaggerParser from "@apidevtools/swagger-parser";
import { Validator } from "@seriousme/openapi-schema-validator";
import { validateStyleMin } from "@maplibre/maplibre-gl-style-spec";

const { values: args } = parseArgs({
  options: { openapi: { type: "string" }, style: { type: "string" } },
});
if (!args.openapi && !args.style) {
  console.error("usage: node validate.mjs [--openapi <file or URL>] [--style <file or URL>]");
  process.exit(2);
}

// load returns the text at a path or an http(s) URL.
async function load(where) {
  if (!/^https?:\/\//.test(where)) {
    return readFile(where, "utf8");
  }
  const res = await fetch(where);
  if (!res.ok) {
    throw new Error(`GET ${where}: ${res.status} ${res.statusText}`);
  }
  return res.text();
}

let errors = 0;
function fail(source, message) {
  errors++;
  console.log(`${source}: ${message}`);
}

async function checkOpenAPI(where) {
  const before = errors;
  const text = await load(where);
  const doc = JSON.parse(text);
  if (!String(doc.openapi).startsWith("3.0.")) {
    fail(where, `openapi is ${JSON.stringify(doc.openapi)}; wangge serves OpenAPI 3.0.x`);
  }
  try {
    // validate dereferences in place: give it its own copy.
    await SwaggerParser.validate(structuredClone(doc));
  } catch (err) {
    if (err.details) {
      for (const d of err.details) {
        fail(`${where} (swagger-parser)`, `${d.instancePath || "/"} ${d.message} ${JSON.stringify(d.params)}`);
      }
    } else {
      fail(`${where} (swagger-parser)`, err.message);
    }
  }
  const validator = new Validator();
  const res = await validator.validate(structuredClone(doc));
  if (!res.valid) {
    for (const e of [].concat(res.errors)) {
      fail(`${where} (openapi-schema-validator)`, typeof e === "string" ? e : `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
    }
  }
  await redoclyLint(where, text);
  if (errors === before) {
    console.log(`${where}: valid OpenAPI ${doc.openapi}, ${Object.keys(doc.paths).length} paths`);
  }
}

// redoclyLint runs redocly lint with its recommended rules, offline: no
// telemetry, no update check.
async function redoclyLint(where, text) {
  const dir = await mkdtemp(join(tmpdir(), "wangge-redocly-"));
  try {
    const file = join(dir, "openapi.json");
    await writeFile(file, text);
    const cli = fileURLToPath(new URL("node_modules/@redocly/cli/bin/cli.js", import.meta.url));
    const env = { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" };
    const { code, stdout } = await new Promise((resolve) => {
      execFile(process.execPath, [cli, "lint", "--format=json", file], { env, maxBuffer: 64 << 20 }, (err, stdout) =>
        resolve({ code: err ? (err.code ?? 1) : 0, stdout }),
      );
    });
    let report;
    try {
      report = JSON.parse(stdout);
    } catch {
      fail(`${where} (redocly)`, `lint exited ${code} without a JSON report`);
      return;
    }
    for (const p of report.problems) {
      const at = p.location?.map((l) => l.pointer).join(", ") ?? "";
      fail(`${where} (redocly)`, `${p.severity} ${p.ruleId} at ${at}: ${p.message}`);
    }
    if (code !== 0 && report.problems.length === 0) {
      fail(`${where} (redocly)`, `lint exited ${code}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function checkStyle(where) {
  const text = await load(where);
  // What gl-style-validate runs, after its JSON parse (this package's
  // exported validate is its inner, per-value step).
  const found = validateStyleMin(JSON.parse(text));
  for (const e of found) {
    fail(`${where} (maplibre-gl-style-spec)`, e.line ? `line ${e.line}: ${e.message}` : e.message);
  }
  if (found.length === 0) {
    console.log(`${where}: valid MapLibre style, ${JSON.parse(text).layers.length} layers`);
  }
}

try {
  if (args.openapi) await checkOpenAPI(args.openapi);
  if (args.style) await checkStyle(args.style);
} catch (err) {
  // Not a finding but a failure to validate: say where it happened.
  console.error(err.stack);
  process.exit(2);
}
process.exit(errors > 0 ? 1 : 0);
