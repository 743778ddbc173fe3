// The browser against a real network: four `trustchain-relay run` processes of one devnet (BFT
// consensus, PoSR epochs every ~10 s). The explorer and the <trust-verify> widget verify across a
// real epoch change, and keep verifying after one relay is killed.
// Run: npm run e2e   (after e2e/setup.sh)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startDevnet, waitEpochChanges, getJson, launch, requireExplorer, settledBadges, badges, SHOTS } from "./lib.mjs";

let net, browser;
const shot = (page, name) => page.screenshot({ path: join(SHOTS, `devnet-${name}.png`), fullPage: true });
const PROOF_STEPS = ["signature", "rules", "inclusion", "checkpoint", "anchor", "certificate"];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const head = async (url) => (await getJson(url, "/v1/main/head")).block.header;
const epochOf = async (url) => (await head(url)).epoch;

/**
 * Checks "<signers> of <n> validators (epoch <e>)" in `text` against the chain: `n` is the size
 * of epoch e's set as node 0 serves it (PoSR may leave out of epoch 1 a relay it observed late,
 * so it is 3 or 4), and the signers are at least two and at most all of it.
 */
async function assertSignedBySet(text, pattern) {
  const m = pattern.exec(text);
  assert.ok(m, `${pattern} in ${text}`);
  const [signers, n, epoch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  assert.ok(epoch >= 1, `past epoch 0: ${m[0]}`);
  const { epochs } = await (await fetch(`${net.url}/v1/main/epochs`)).json();
  const set = epochs.find((s) => s.epoch === epoch);
  assert.ok(set, `epoch ${epoch} is served`);
  assert.equal(n, set.validators.length, `the set of epoch ${epoch}: ${m[0]}`);
  assert.ok(signers >= 2 && signers <= n, m[0]);
}

/** Waits until node 0's head is in an epoch above `epoch`; returns the new epoch. */
async function waitEpochAbove(epoch, timeout = 25_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const e = await epochOf(net.url);
    if (e > epoch) return e;
    assert.ok(Date.now() < deadline, `the chain stayed in epoch ${epoch} for ${timeout} ms`);
    await sleep(200);
  }
}

before(async () => {
  requireExplorer();
  net = await startDevnet({ nodes: 4 });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await net?.stop();
});

/** A new page that fails the test on any uncaught error in the app. */
async function newPage() {
  const page = await browser.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  page.on("console", (m) => { if (m.type() === "error" && /panicked/.test(m.text())) errors.push(new Error(m.text())); });
  page.assertNoErrors = () => assert.deepEqual(errors.map((e) => `${e}\n${e.stack ?? ""}`), [], "the app threw");
  page.errors = errors;
  return page;
}

test("devnet: four relays past epoch 0; the explorer verifies every relay's head and a demo/budget record", async () => {
  const t0 = Date.now();
  // The chain moves past epoch 0: a hand-over certified by the genesis set, naming the next set.
  const epochs = await waitEpochChanges(net.url, 1, 30_000);
  assert.equal(epochs.changes[0].header.epoch, 0);
  assert.equal(epochs.changes[0].next.epoch, 1);
  assert.equal(epochs.epochs[0].validators.length, 4);
  // Every relay follows the same chain (the main chain is on all four; demo/budget only on node 0).
  // (The hand-over block is epoch 0's last: the heads are in epoch 1 from the next block on.)
  for (const n of net.nodes) {
    for (const deadline = Date.now() + 10_000; (await epochOf(n.url)) < 1;) {
      assert.ok(Date.now() < deadline, `node ${n.index}'s head is still in epoch 0`);
      await sleep(100);
    }
  }
  console.log(`# devnet: epoch change ${epochs.changes[0].header.height} seen ${Date.now() - t0} ms after start`);

  const page = await newPage();
  // The other three relays, as the explorer's Trust page saves them: their heads are compared too.
  const others = net.nodes.slice(1).map((n) => n.url).join(", ");
  await page.addInitScript((o) => localStorage.setItem("trustchain.explorer.other-relays", o), others);
  await page.goto(`${net.url}/explorer/`);
  await page.locator("#head-height").waitFor();
  await page.locator(".relays .pill.ok").first().waitFor({ timeout: 15_000 });
  // Every relay's head certified by the trusted validators (4 rows, each "✓ n signer(s)").
  await page.waitForFunction(() => document.querySelectorAll(".relays tbody tr").length === 4
    && document.querySelectorAll(".relays .pill.ok").length === 4, null, { timeout: 15_000 });
  const rows = await page.locator(".relays").innerText();
  for (const n of net.nodes) assert.ok(rows.includes(n.url), `the explorer lists ${n.url}`);
  assert.match(rows, /✓ [34] signer\(s\)/);
  const h0 = Number((await page.locator("#head-height").innerText()).replace(/,/g, ""));
  assert.ok(h0 > 0, `head height ${h0}`);
  await page.locator("text=in your trusted set").waitFor();
  // Trust: the network spec node 0 serves with the explorer (before issue 11: trust on first use).
  assert.match(await page.locator(".tbadge").innerText(), /^network /);
  await shot(page, "explorer-network");

  // A record of demo/budget (on node 0), every proof step verified.
  await page.goto(`${net.url}/explorer/scenarios/demo%2Fbudget/records/17`);
  const v = page.locator("#verdict");
  await v.waitFor({ timeout: 30_000 });
  assert.equal(await v.getAttribute("data-verified"), "true", await v.innerText());
  assert.match(await v.innerText(), /Record 17 of demo\/budget is in final block/);
  assert.deepEqual(await page.$$eval(".chain li.link", (ls) => ls.map((l) => [l.dataset.step, l.dataset.status])),
    PROOF_STEPS.map((s) => [s, "passed"]));
  await assertSignedBySet(await page.locator(".chain").innerText(), /(\d+) of (\d+) validators \(epoch (\d+)\) signed block/);
  await shot(page, "explorer-record");
  page.assertNoErrors();
  await page.close();
});

test("devnet: the widget verifies through four relays, across an epoch change, and after one is killed", async () => {
  const page = await newPage();
  // Records from node 0 (the only relay holding demo/budget; tried first), heads from all four.
  const relays = net.nodes.map((n) => n.url).join(",");
  await page.goto(`${net.url}/demo/?${new URLSearchParams({ relays })}`);
  let all = await settledBadges(page, { min: 20 });
  for (const b of all) {
    assert.equal(b.state, "verified", `record ${b.record} ${b.field}: ${b.label} — ${b.details}`);
    assert.equal(b.relay, net.url, "records come from node 0");
  }
  // The cross-check: every relay's head verified and compared.
  await page.waitForFunction(() => document.querySelector('tbody#lines trust-verify[record="2"]')?.result?.cross, null, { timeout: 30_000 });
  let cross = await page.$eval('tbody#lines trust-verify[record="2"]', (e) => e.result.cross);
  console.log(`# widget cross-check: ${JSON.stringify({ ...cross, evidence: undefined })}`);
  assert.equal(cross.asked, 4);
  assert.equal(cross.equivocation, false);
  // Every relay answered with a head on the same chain: at the top, or a few blocks behind it
  // (blocks can follow each other within tens of ms, faster than four heads are fetched — seen:
  // one relay at 21 and three at 19, each probed at 19 and found on the same chain).
  assert.ok(cross.agreeing >= 1, JSON.stringify(cross.relays));
  for (const r of cross.relays) {
    assert.ok(r.status === "agrees" || (r.status === "lags" && r.behind <= 5), JSON.stringify(r));
  }
  const [d] = (await badges(page)).filter((b) => b.record === "2" && b.field === "amount").map((b) => b.details);
  assert.match(d, /Signed by\d+ of \d+ validators/);
  await assertSignedBySet(d, /✓certificate(\d+) of (\d+) validators \(epoch (\d+)\) signed block/);
  assert.match(d, /Relays[1-4] of 4 agree on head \d+/);
  await page.locator('tbody#lines trust-verify[record="2"] .badge').hover();
  await page.waitForTimeout(250);
  await shot(page, "widget");

  // Same page, next epoch: the proofs now come with heads of an epoch the page's light client did
  // not start with. Check every badge again.
  const startEpoch = await epochOf(net.url);
  const next = await waitEpochAbove(startEpoch);
  await page.evaluate(() => document.querySelectorAll("trust-verify").forEach((b) => b.recheck()));
  await page.waitForFunction(() => [...document.querySelectorAll("trust-verify")].every((b) => b.result && b.result.state !== "checking"), null, { timeout: 30_000 });
  all = await badges(page);
  const bad = all.filter((b) => b.state !== "verified");
  console.log(`# widget after epoch ${startEpoch} → ${next} (same page): ${all.length - bad.length} verified, ${bad.length} not: ${JSON.stringify(bad.slice(0, 2).map((b) => [b.label, b.reason, b.failedStep]))}`);
  await page.locator('tbody#lines trust-verify[record="2"] .badge').hover();
  await page.waitForTimeout(250);
  await shot(page, "widget-next-epoch");
  assert.deepEqual(bad.map((b) => `${b.record} ${b.field}: ${b.label}`), [], "every badge verified in the new epoch");

  // One relay (not node 0) killed: the network keeps finalizing; a reloaded widget still verifies.
  // With one of four down, the current set must hold all four (PoSR may leave a relay it observed
  // late out of epoch 1 and take it back at the next change): wait for such an epoch.
  for (const deadline = Date.now() + 30_000; ;) {
    const { epochs } = await (await fetch(`${net.url}/v1/main/epochs`)).json();
    if (epochs.at(-1).validators.length === 4 && (await epochOf(net.url)) >= epochs.at(-1).epoch) break;
    assert.ok(Date.now() < deadline, `no epoch with all four validators: ${JSON.stringify(epochs.map((s) => [s.epoch, s.validators.length]))}`);
    await sleep(250);
  }
  const victim = net.nodes[3];
  const before = (await head(net.url)).height;
  await victim.kill();
  const t0 = Date.now();
  let advanced = 0;
  for (;;) {
    const h = (await head(net.url)).height;
    if (h > before && !advanced) advanced = Date.now() - t0;
    if (h >= before + 3) break;
    assert.ok(Date.now() - t0 < 20_000, `node 0's head at ${h} (${before} at the kill) 20 s after it`);
    await sleep(100);
  }
  assert.ok(advanced < 10_000, `node 0's head first advanced ${advanced} ms after the kill`);
  console.log(`# after SIGKILL of node 3: node 0's head advanced after ${advanced} ms, 3 blocks in ${Date.now() - t0} ms`);
  await page.reload();
  all = await settledBadges(page, { min: 20 });
  for (const b of all) assert.equal(b.state, "verified", `record ${b.record} ${b.field}: ${b.label} — ${b.details}`);
  await page.waitForFunction(() => {
    const c = document.querySelector('tbody#lines trust-verify[record="2"]')?.result?.cross;
    return c !== undefined;
  }, null, { timeout: 45_000 });
  cross = await page.$eval('tbody#lines trust-verify[record="2"]', (e) => e.result.cross);
  console.log(`# widget cross-check with node 3 down: ${JSON.stringify({ ...cross, evidence: undefined })}`);
  assert.equal(cross.equivocation, false);
  assert.ok(cross.agreeing >= 2, JSON.stringify(cross.relays));
  assert.equal(cross.relays.find((r) => r.relay === victim.url)?.status, "unreachable", JSON.stringify(cross.relays));
  await page.locator('tbody#lines trust-verify[record="2"] .badge').hover();
  await page.waitForTimeout(250);
  await shot(page, "widget-one-down");
  // Known, and not specific to a network (a dev relay's demo page shows it too): over
  // WebRTC-direct, Chromium fires RTCDataChannel events after libp2p-webrtc-websys dropped their
  // Rust closures — "closure invoked recursively or after being dropped", uncaught, some 20-40
  // per page load; the badges are verified regardless (asserted above). Anything else fails.
  const known = /closure invoked recursively or after being dropped/;
  const late = page.errors.filter((e) => !known.test(String(e)));
  console.log(`# widget pages: ${page.errors.length - late.length} uncaught "closure invoked … after being dropped" error(s) from RTCDataChannel events`);
  assert.deepEqual(late.map(String), [], "the widget threw");
  await page.close();
});

test("devnet: an explorer page left open follows the next epoch change", async () => {
  const page = await newPage();
  await page.goto(`${net.url}/explorer/`);
  await page.locator(".relays .pill.ok").first().waitFor({ timeout: 15_000 });
  const startEpoch = await epochOf(net.url);
  const next = await waitEpochAbove(startEpoch);
  await sleep(4500); // two polls of the heads
  const row = (await page.locator(".relays tbody tr").first().innerText()).replace(/\s+/g, " ");
  console.log(`# explorer left open across epoch ${startEpoch} → ${next}: ${row}`);
  await shot(page, "explorer-next-epoch");
  await page.close();
  assert.match(row, /✓ [34] signer\(s\)/, `after the change to epoch ${next}`);
});
