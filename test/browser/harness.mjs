// What the browser tests share (map.test.mjs, basemap.test.mjs,
// static.test.mjs): where the binary, Chromium and the screenshots are,
// whether the tests can run (a skip with the reason, or, under CI, a
// failure), starting `wangge serve` on a free port, and launching Chromium.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "..", "..");
export const bin = process.env.WANGGE_BIN || join(root, "bin", "wangge");
export const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
export const outDir = process.env.TEST_OUTPUT || join(root, "test", "output");
export const inCI = !!process.env.CI && process.env.CI !== "0" && process.env.CI !== "false";

let missing = "";
if (!existsSync(chromium)) missing = `no Chromium at ${chromium} (scripts/deps.sh installs Debian's chromium)`;
else if (!existsSync(bin)) missing = `no wangge binary at ${bin} (make build)`;
if (missing && inCI) throw new Error(`browser test cannot run under CI: ${missing}`);
/** The tests' skip option: false, or why they cannot run here. */
export const skip = missing ? `skipped: ${missing}` : false;

/** Runs `wangge args…` (serve on 127.0.0.1:0) and resolves with {proc, base} once it serves. */
export function serveOn(args) {
  const proc = spawn(bin, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, WANGGE_LOG_FORMAT: "json" },
  });
  let log = "";
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`wangge did not start in 60 s:\n${log}`)), 60_000);
    proc.stderr.setEncoding("utf8");
    proc.stderr.on("data", (chunk) => {
      log += chunk;
      for (const line of log.split("\n")) {
        let rec;
        try {
          rec = JSON.parse(line);
        } catch {
          continue;
        }
        if (rec.msg === "serving" && rec.addr) {
          clearTimeout(timer);
          ok({ proc, base: `http://${rec.addr}` });
          return;
        }
      }
      if (log.length > 1 << 20) log = log.slice(-4096);
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`wangge exited with ${code} before serving:\n${log}`));
    });
  });
}

/** Stops a process serveOn started, waiting for it to exit. */
export async function stop(proc) {
  if (proc && proc.exitCode === null) {
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
  }
}

/** Launches Debian's Chromium headless, drawing WebGL in software. */
export async function launchBrowser() {
  const { chromium: pw } = await import("playwright-core");
  return pw.launch({
    executablePath: chromium,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"],
  });
}
