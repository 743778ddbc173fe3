// Helpers for the browser tests: real relay processes built from this repository, and Debian's
// Chromium driven by playwright-core (no browser download, ever).
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, existsSync, cpSync } from "node:fs";
import { tmpdir, homedir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const SITE = join(ROOT, "wasm-pkg", "site");
export const SHOTS = join(ROOT, "e2e", "screenshots");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// The one target directory of npm start / npm test / e2e/setup.sh (~/.cache/trustchain-target).
const TARGET = process.env.CARGO_TARGET_DIR || join(homedir(), ".cache", "trustchain-target");
export const RELAY_BIN = process.env.TRUSTCHAIN_RELAY_BIN ?? join(TARGET, "debug", "trustchain-relay");

mkdirSync(SHOTS, { recursive: true });

/**
 * Starts `trustchain-relay dev` on a free loopback port; resolves when it prints its URL and the
 * demo records are anchored. `dataDir`: use (and keep) this data directory instead of a fresh one.
 */
export async function startRelay({ args = [], webDir = SITE, dataDir: given = null } = {}) {
  if (!existsSync(RELAY_BIN)) throw new Error(`${RELAY_BIN} is missing: run e2e/setup.sh`);
  if (!existsSync(join(webDir, "widget", "trust-verify.js"))) {
    throw new Error(`${webDir}/widget is missing: run wasm-pkg/build.sh (or e2e/setup.sh)`);
  }
  const dataDir = given ?? mkdtempSync(join(tmpdir(), "tc-e2e-relay-"));
  const cleanup = () => given === null && rmSync(dataDir, { recursive: true, force: true });
  const proc = spawn(RELAY_BIN, ["dev", "--data-dir", dataDir, "--listen", "127.0.0.1:0",
    "--block-interval-ms", "100", "--web-dir", webDir,
    // The libp2p browser transports: any free port, so relays can run side by side.
    "--webrtc-port", "0", "--ws-port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: "warn" },
  });
  let stderr = "";
  proc.stderr.on("data", (d) => { stderr += d; });
  const started = new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`relay did not start:\n${out}\n${stderr}`)), 60_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on("exit", (code) => { clearTimeout(timer); reject(new Error(`relay exited (${code}):\n${stderr}`)); });
  });
  let url;
  try {
    url = await started;
  } catch (e) {
    proc.kill("SIGKILL");
    cleanup();
    throw e;
  }
  proc.stdout.resume();
  const relay = {
    url, proc, dataDir,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill("SIGKILL");
      }
      cleanup();
    },
    /** SIGKILL, as a crash or a pulled plug: no goodbye to connected browsers. */
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGKILL");
        await done;
      }
    },
  };
  await waitAnchored(url);
  return relay;
}

/** Waits until the seeded demo records are anchored in a final block. */
export async function waitAnchored(url, min = 125) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await (await fetch(`${url}/v1/scenarios/demo%2Fbudget/records?limit=1`)).json();
      if (r.anchored_size >= min) return r;
    } catch { /* not ready */ }
    if (Date.now() > deadline) throw new Error("demo records were not anchored in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Two relays of ONE chain: a relay seeds the demo and stops; its data directory (node key, WebRTC
 * certificate, history) is copied, and a relay starts from each copy — same validator, same
 * blocks, same peer id and certhash, on their own ports. Neither adds payments
 * (`--demo-every-ms 0`), so neither makes blocks of its own and they never fork. With `fork`,
 * both keep adding payments: each signs its own, different blocks at the same heights, as an
 * equivocating validator would. Returns [A, B]; stop() removes each one's directory.
 */
export async function startTwinRelays({ fork = false } = {}) {
  const args = ["--demo-every-ms", "0"];
  const twinArgs = fork ? ["--demo-every-ms", "250"] : args;
  const dirA = mkdtempSync(join(tmpdir(), "tc-e2e-twin-a-"));
  const dirB = mkdtempSync(join(tmpdir(), "tc-e2e-twin-b-"));
  try {
    const seed = await startRelay({ args, dataDir: dirA });
    await seed.stop();
    cpSync(dirA, dirB, { recursive: true });
    const [A, B] = await Promise.all([startRelay({ args: twinArgs, dataDir: dirA }), startRelay({ args: twinArgs, dataDir: dirB })]);
    for (const [r, dir] of [[A, dirA], [B, dirB]]) {
      const stop = r.stop;
      r.stop = async () => { await stop(); rmSync(dir, { recursive: true, force: true }); };
    }
    return [A, B];
  } catch (e) {
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
    throw e;
  }
}

/** Chromium (Debian's) with a fresh profile; returns { context, close }. */
export async function launch() {
  const userDataDir = mkdtempSync(join(tmpdir(), "tc-e2e-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1240, height: 900 },
    deviceScaleFactor: 1,
    timezoneId: "UTC",
    locale: "en-GB",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-quic"],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Every <trust-verify> on the page once none is still checking: [{record, field, state, label, result}]. */
export async function settledBadges(page, { min = 1, timeout = 30_000 } = {}) {
  await page.waitForFunction((min) => {
    const all = [...document.querySelectorAll("trust-verify")];
    return all.length >= min && all.every((b) => b.result && b.result.state !== "checking"
      && !(b.result.state === "unverified" && b.result.reason === "not final yet"));
  }, min, { timeout });
  return badges(page);
}

export function badges(page) {
  return page.$$eval("trust-verify", (all) => all.map((b) => ({
    record: b.getAttribute("record"),
    field: b.getAttribute("field"),
    state: b.getAttribute("state"),
    label: b.shadowRoot.querySelector(".badge").textContent,
    details: b.shadowRoot.querySelector(".card").textContent,
    reason: b.result?.reason ?? null,
    failedStep: b.result?.verdict?.failure?.step ?? null,
    relay: b.result?.relay ?? null,
    transport: b.result?.verdict?.transport ?? null,
    address: b.result?.verdict?.address ?? null,
    shown: b.result?.shown ?? null,
  })));
}

/** The index of `needle` in `hay` (Buffers), or -1. */
export function findBytes(hay, needle) {
  return hay.indexOf(needle);
}

/** The explorer's build (web-app/, by Trunk) in the relay's web directory, or a clear error. */
export function requireExplorer(webDir = SITE) {
  if (!existsSync(join(webDir, "explorer", "index.html"))) {
    throw new Error(`${webDir}/explorer is missing: build it with e2e/setup.sh (trunk build --release)`);
  }
}

// ---------------------------------------------------------------------------------------------
// A real network: `trustchain-relay devnet --init-only`, then one `run` process per node
// ---------------------------------------------------------------------------------------------

/** Whether `port` can be bound on 127.0.0.1 (TCP, or UDP with `udp`). */
async function portFree(port, udp = false) {
  if (udp) {
    const { createSocket } = await import("node:dgram");
    return new Promise((resolve) => {
      const s = createSocket("udp4");
      s.once("error", () => resolve(false));
      s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
  }
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A base port P with P+i, P+100+i, P+200+i (TCP) and P+300+i (UDP) free for i < nodes. */
async function freeBasePort(nodes) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 10 * Math.floor(Math.random() * 2_500); // 20000..44990, +303 < 65536
    let ok = true;
    for (let i = 0; i < nodes && ok; i++) {
      for (const [off, udp] of [[0, false], [100, false], [200, false], [300, true]]) {
        if (!(await portFree(base + off + i, udp))) { ok = false; break; }
      }
    }
    if (ok) return base;
  }
  throw new Error("no free base port for a devnet");
}

/**
 * A devnet of `nodes` relays (`trustchain-relay devnet --init-only` in a fresh directory on a free
 * base port, then one `trustchain-relay run` per node): BFT consensus, epochs every ~10 s; node 0
 * drives demo/budget and serves the web files (`webDir`). Resolves once every node listens and
 * node 0's demo records are anchored. Returns { dir, base, nodes: [{ index, url, proc, stop(),
 * kill(), log() }], url (node 0's), stop() } — stop() ends every node (SIGTERM, then SIGKILL
 * after 5 s) and removes the directory.
 */
export async function startDevnet({ nodes = 4, webDir = SITE, anchored = 110 } = {}) {
  if (!existsSync(RELAY_BIN)) throw new Error(`${RELAY_BIN} is missing: run e2e/setup.sh`);
  if (!existsSync(join(webDir, "widget", "trust-verify.js"))) {
    throw new Error(`${webDir}/widget is missing: run wasm-pkg/build.sh (or e2e/setup.sh)`);
  }
  const { execFileSync } = await import("node:child_process");
  const { readFileSync, writeFileSync } = await import("node:fs");
  const tmp = mkdtempSync(join(tmpdir(), "tc-e2e-devnet-"));
  const dir = join(tmp, "devnet");
  const base = await freeBasePort(nodes);
  const net = { dir, base, nodes: [], url: null };
  net.stop = async () => {
    await Promise.all(net.nodes.map((n) => n.stop()));
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    execFileSync(RELAY_BIN, ["devnet", "--init-only", "--nodes", String(nodes), "--dir", dir,
      "--base-port", String(base)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" } });
    // Node 0 serves this checkout's web files, whichever checkout the binary was built in.
    const cfg0 = join(dir, "node-0", "relay.toml");
    const text = readFileSync(cfg0, "utf8").replace(/^web_dir = .*\n/m, "");
    writeFileSync(cfg0, `web_dir = ${JSON.stringify(webDir)}\n${text}`);
    for (let i = 0; i < nodes; i++) net.nodes.push(runNode(dir, i));
    // If the test process dies before stop() (a crash, a closed pipe), no relay outlives it.
    const orphans = () => net.nodes.forEach((n) => n.proc.exitCode === null && n.proc.signalCode === null && n.proc.kill("SIGKILL"));
    process.once("exit", orphans);
    const stop = net.stop;
    net.stop = async () => { process.off("exit", orphans); await stop(); };
    const urls = await Promise.all(net.nodes.map((n) => n.started));
    urls.forEach((u, i) => { net.nodes[i].url = u; });
    net.url = urls[0];
    await waitAnchored(net.url, anchored);
    return net;
  } catch (e) {
    const logs = net.nodes.map((n) => `--- node ${n.index}:\n${n.log().slice(-2000)}`).join("\n");
    await net.stop();
    throw new Error(`${e.message}\n${logs}`);
  }
}

/** One `trustchain-relay run --config <dir>/node-<i>/relay.toml` process. */
function runNode(dir, index) {
  const proc = spawn(RELAY_BIN, ["run", "--config", join(dir, `node-${index}`, "relay.toml")], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: "warn" },
  });
  let out = "", err = "";
  proc.stderr.on("data", (d) => { err += d; if (err.length > 200_000) err = err.slice(-100_000); });
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${index} did not start:\n${out}\n${err}`)), 60_000);
    proc.stdout.on("data", (d) => {
      out += d;
      if (out.length > 200_000) out = out.slice(-100_000);
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on("exit", (code, sig) => { clearTimeout(timer); reject(new Error(`node ${index} exited (${code ?? sig}):\n${err}`)); });
  });
  started.catch(() => {}); // awaited by startDevnet; an exit after start is not an error here
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  return {
    index, proc, started, url: null,
    log: () => `${out}${err}`,
    async stop() {
      if (!alive()) return;
      const done = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
      if (alive()) { proc.kill("SIGKILL"); await done; }
    },
    /** SIGKILL, as a crash or a pulled plug. */
    async kill() {
      if (!alive()) return;
      const done = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await done;
    },
  };
}

/** GET `path` from `url` as JSON. */
export async function getJson(url, path) {
  const res = await fetch(`${url}${path}`);
  if (!res.ok) throw new Error(`${url}${path}: HTTP ${res.status}`);
  return res.json();
}

/** Waits until `url`'s /v1/main/epochs lists at least `min` epoch changes; returns that answer. */
export async function waitEpochChanges(url, min = 1, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      const e = await getJson(url, "/v1/main/epochs");
      if (e.changes.length >= min) return e;
    } catch { /* not ready */ }
    if (Date.now() > deadline) throw new Error(`no ${min} epoch change(s) on ${url} within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
