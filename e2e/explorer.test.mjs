// Browser tests of the explorer (web-app/, served by the relay at /explorer/), against a real relay.
// Run: node --test e2e/explorer.test.mjs   (after e2e/setup.sh, which builds it with Trunk)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startRelay, launch, requireExplorer, SHOTS } from "./lib.mjs";

let A, browser;
const shot = (page, name) => page.screenshot({ path: join(SHOTS, `explorer-${name}.png`), fullPage: true });
const PROOF_STEPS = ["signature", "rules", "inclusion", "checkpoint", "anchor", "certificate"];

before(async () => {
  requireExplorer();
  A = await startRelay();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await A?.stop();
});

/** A new page that fails the test on any uncaught error in the app. */
async function newPage() {
  const page = await browser.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  page.on("console", (m) => { if (m.type() === "error" && /panicked/.test(m.text())) errors.push(new Error(m.text())); });
  page.assertNoErrors = () => assert.deepEqual(errors.map(String), [], "the app threw");
  return page;
}

/** The proof picture's steps as [step, status]. */
function chainSteps(page) {
  return page.$$eval(".chain li.link", (ls) => ls.map((l) => [l.dataset.step, l.dataset.status]));
}

async function verdict(page) {
  const v = page.locator("#verdict");
  await v.waitFor({ timeout: 30_000 });
  return {
    verified: await v.getAttribute("data-verified"),
    failedStep: await v.getAttribute("data-failed-step"),
    text: await v.innerText(),
  };
}

test("(5) explorer: network → scenario → record by clicking, every proof step verified, deep links reload", async () => {
  const page = await newPage();
  await page.goto(`${A.url}/`);
  // The relay's landing page leads to the explorer.
  await page.click("text=Open the explorer");
  await page.waitForURL(`${A.url}/explorer/`);

  // Network: the head, its certificate checked by the light client, validators, addresses.
  await page.locator("#head-height").waitFor();
  await page.locator(".relays .pill.ok").first().waitFor({ timeout: 15_000 });
  const head = Number((await page.locator("#head-height").innerText()).replace(/,/g, ""));
  assert.ok(head > 0, `head height ${head}`);
  const relays = await page.locator(".relays").innerText();
  assert.match(relays, new RegExp(A.url.replace(/[.:/]/g, "\\$&")));
  assert.match(relays, /✓ 1 signer\(s\)/);
  await page.locator("text=in your trusted set").waitFor();
  assert.match(await page.locator("body").innerText(), /WebRTC-direct/);
  // Trust: the network spec the relay serves with the explorer (before issue 11: trust on first use).
  assert.match(await page.locator(".tbadge").innerText(), /^network trustchain-dev-/);
  await page.locator("table.tbl >> text=✓ yes").first().waitFor();
  await page.waitForTimeout(2500); // a poll or two: the head moves on and is checked again
  await shot(page, "network");

  // The demo adds a payment every 5 s: wait for a second checkpoint to check consistency between.
  for (let t = 0; ; t++) {
    const { checkpoints } = await (await fetch(`${A.url}/v1/scenarios/demo%2Fbudget/checkpoints`)).json();
    if (checkpoints.length >= 2) break;
    assert.ok(t < 150, "no second checkpoint within 15 s");
    await new Promise((r) => setTimeout(r, 100));
  }

  // → the scenario (a link in "Scenarios on this relay").
  await page.click('a.sname:has-text("Riverside Library")');
  await page.waitForURL(`${A.url}/explorer/scenarios/demo%2Fbudget`);
  assert.equal(await page.locator("#scenario-title").innerText(), "Riverside Library renovation budget");
  // The charter is rendered as its verification interface, itself verified as record 0.
  await page.locator(".verified-note .pill.ok").waitFor({ timeout: 30_000 });
  const iface = await page.locator("#interface").innerText();
  for (const s of ["budget_line", "payment", "approved_by_another", "a payment is approved by someone other than its payee", "record_exists(\"budget_line\", \"code\", budget_line)"]) {
    assert.ok(iface.includes(s), `the interface shows ${s}`);
  }
  // Records, paginated.
  await page.locator("a.rec-link").first().waitFor();
  assert.equal(await page.locator("a.rec-link").count(), 20);
  assert.match(await page.locator(".pager").innerText(), /records 0–19 of/);
  // A consistency check between the first and the latest checkpoint, verified with core.
  await page.click("#cons-check");
  const cons = page.locator("#consistency-verdict");
  await cons.waitFor({ timeout: 30_000 });
  assert.match(await cons.innerText(), /Consistent: the scenario only appended/);
  const consLines = await page.$$eval(".consistency .steps tr", (rs) => rs.map((r) => [r.children[1].textContent, r.className]));
  assert.deepEqual(consLines.map(([w]) => w), ["scenario", "signatures", "sizes", "consistency", "anchored"]);
  for (const [w, st] of consLines) assert.equal(st, "passed", w);
  assert.match(await page.locator(".consistency").innerText(), /the log of size \d+ is a prefix of the log of size \d+/);
  await shot(page, "scenario");

  // Next page of records, then back; the page is a shareable URL.
  await page.click(".pager >> text=next ›");
  await page.waitForURL(/\?from=20/);
  await page.locator("a.rec-link >> text=20").waitFor();
  await page.goBack();
  await page.locator("a.rec-link >> text=17").waitFor();

  // → record 17 (a payment).
  await page.click("a.rec-link >> text=17");
  await page.waitForURL(`${A.url}/explorer/scenarios/demo%2Fbudget/records/17`);
  let v = await verdict(page);
  assert.equal(v.verified, "true", v.text);
  assert.match(v.text, /Verified\s+Record 17 of demo\/budget is in final block [\d,]+, recorded by \d{4}-\d\d-\d\d/);
  assert.deepEqual(await chainSteps(page), PROOF_STEPS.map((s) => [s, "passed"]));
  assert.equal(await page.title(), "Record 17 of demo/budget · Trustchain explorer");
  const chain = await page.locator(".chain").innerText();
  assert.match(chain, /contract signed by author [0-9a-f]{16}/);
  assert.match(chain, /rules hold; 1 need other records/); // line_exists needs the budget lines: unresolved offline
  assert.match(chain, /record 17 of \d+ hashes to root/);
  assert.match(chain, /checkpoint anchored in block/);
  assert.match(chain, /1 of 1 validators \(epoch 0\) signed block/);
  assert.match(chain, /✓ signed/);
  const fields = await page.locator("#record-fields").innerText();
  for (const f of ["amount", "payee", "approver", "budget_line", "currency"]) assert.ok(fields.includes(f), `field ${f}`);
  // Provenance names the network the validators were followed in (this explorer's own spec).
  assert.match(await page.locator(".prov").innerText(), /this explorer's network: chain trustchain-dev-/);
  assert.ok((await page.getAttribute("#download-receipt", "href")).startsWith("data:text/plain"));
  await shot(page, "record");

  // The deep link survives a reload (the relay serves the app for every /explorer/ path) …
  await page.reload();
  v = await verdict(page);
  assert.equal(v.verified, "true", v.text);
  assert.deepEqual(await chainSteps(page), PROOF_STEPS.map((s) => [s, "passed"]));
  // … and opens in a fresh tab, with the id written with its '/' too.
  const other = await newPage();
  await other.goto(`${A.url}/explorer/scenarios/demo/budget/records/3`);
  v = await verdict(other);
  assert.equal(v.verified, "true", v.text);
  assert.match(v.text, /Record 3 of demo\/budget/);
  other.assertNoErrors();
  await other.close();

  // "Verify it offline" opens the verifier with the receipt's URL.
  await page.click("text=Verify it offline");
  await page.waitForURL(/\/explorer\/verify\?receipt=/);
  await page.waitForFunction(() => document.querySelector("#receipt-input").value.length > 100);
  await page.click("#verify-button");
  v = await verdict(page);
  // Without the charter the rules were not checked: not green (issue 11, item 6).
  assert.equal(v.verified, "no-charter", v.text);
  page.assertNoErrors();
  await page.close();
});

test("(5) explorer: search over charters finds demo/budget by a word of its charter, not by nonsense", async () => {
  const page = await newPage();
  await page.goto(`${A.url}/explorer/`);
  await page.click('nav >> text=Scenarios');
  await page.waitForURL(`${A.url}/explorer/scenarios`);
  const summary = page.locator("#search-summary");
  await summary.waitFor({ timeout: 30_000 });
  // "payee" is a field name and in a rule's message: nowhere in the id or title.
  await page.fill("#charter-search", "payee");
  await page.waitForURL(/\/explorer\/scenarios\?q=payee$/);
  await page.waitForFunction(() => /match “payee”/.test(document.querySelector("#search-summary").textContent));
  assert.match(await summary.innerText(), /^1 of \d+ scenario\(s\) match “payee”$/);
  assert.equal(await page.locator(".result .sid").innerText(), "demo/budget");
  assert.match(await page.locator(".matches").innerText(), /field payment\.payee/);
  await shot(page, "search");
  // Two words from different parts of the charter (white paper and a rule).
  await page.fill("#charter-search", "residents approver");
  await page.waitForFunction(() => /match “residents approver”/.test(document.querySelector("#search-summary").textContent));
  assert.equal(await page.locator(".result").count(), 1);
  // Nonsense finds nothing.
  await page.fill("#charter-search", "xyzzyplugh");
  await page.waitForFunction(() => /match “xyzzyplugh”/.test(document.querySelector("#search-summary").textContent));
  assert.match(await summary.innerText(), /^0 of \d+ scenario\(s\) match/);
  assert.equal(await page.locator(".result").count(), 0);
  await page.locator(".empty").waitFor();
  // The query is in the URL: reloading gives the same results.
  await page.goto(`${A.url}/explorer/scenarios?q=renovation`);
  await page.waitForFunction(() => /match “renovation”/.test(document.querySelector("#search-summary")?.textContent ?? ""));
  assert.equal(await page.locator(".result .sid").innerText(), "demo/budget");
  page.assertNoErrors();
  await page.close();
});

test("(5) explorer: a receipt verified offline against a pinned checkpoint; one changed character is rejected, naming the step", async () => {
  const receipt = (await (await fetch(`${A.url}/v1/scenarios/demo%2Fbudget/records/17?format=receipt`)).text()).trim();
  const trust = await (await fetch(`${A.url}/v1/trust`)).text();
  const charter = await (await fetch(`${A.url}/v1/scenarios/demo%2Fbudget`)).text();
  const page = await newPage();

  // Pin the checkpoint: paste /v1/trust's JSON on the Trust page.
  await page.goto(`${A.url}/explorer/trust`);
  await page.locator("#trust-mode[data-mode='network']").waitFor();
  await page.fill("#pin-input", trust);
  await page.click("#pin-pasted");
  await page.locator("#trust-mode[data-mode='pinned']").waitFor();
  assert.match(await page.locator(".tbadge").innerText(), /pinned checkpoint/);
  await shot(page, "trust");

  // From here on, no relay at all: every API request fails.
  const asked = [];
  await page.route(/\/v1\/|\/\.well-known\//, (route) => { asked.push(route.request().url()); return route.abort(); });
  await page.click("nav >> text=Verify a receipt");
  await page.waitForURL(`${A.url}/explorer/verify`);
  assert.equal(await page.locator("#trust-pinned").isChecked(), true);
  await page.fill("#receipt-input", receipt);
  await page.click("#verify-button");
  let v = await verdict(page);
  // No charter pasted: the proof holds, the rules were not checked — not green (issue 11, item 6).
  assert.equal(v.verified, "no-charter", v.text);
  assert.match(v.text, /Record 17 of demo\/budget is in block/);
  assert.deepEqual(await chainSteps(page), PROOF_STEPS.map((s) => [s, s === "rules" ? "skipped" : "passed"]));
  assert.match(await page.locator(".chain").innerText(), /charter not supplied/);
  assert.match(await page.locator(".prov").innerText(), /the checkpoint you pinned/);
  await shot(page, "verify");

  // With the charter pasted too, its rules are checked (still offline).
  await page.click("text=Check the charter's rules too");
  await page.fill("#charter-input", charter);
  await page.click("#verify-button");
  await page.waitForFunction(() => document.querySelector('.chain li[data-step="rules"]')?.dataset.status === "passed");
  assert.deepEqual(await chainSteps(page), PROOF_STEPS.map((s) => [s, "passed"]));
  assert.equal((await verdict(page)).verified, "true");
  assert.match(await page.locator('.chain li[data-step="rules"]').innerText(), /3 rules hold; 1 need other records[\s\S]*Checked against the pasted charter/);
  await page.fill("#charter-input", "");

  // One character changed in the middle of the receipt.
  const i = Math.floor(receipt.length / 2);
  const tampered = receipt.slice(0, i) + (receipt[i] === "A" ? "B" : "A") + receipt.slice(i + 1);
  await page.fill("#receipt-input", tampered);
  await page.click("#verify-button");
  await page.waitForFunction(() => document.querySelector("#verdict")?.dataset.verified === "false");
  v = await verdict(page);
  assert.equal(v.verified, "false");
  const steps = ["decode", ...PROOF_STEPS];
  assert.ok(steps.includes(v.failedStep), `failed step ${v.failedStep}`);
  assert.match(v.text, new RegExp(`Not verified — the ${v.failedStep} step failed`));
  // The picture marks that step failed, those before it passed (rules: skipped, no charter), and
  // those after it not reached.
  const got = await chainSteps(page);
  const at = got.findIndex(([s]) => s === v.failedStep);
  assert.ok(at >= 0, `the picture shows the ${v.failedStep} step`);
  assert.equal(got[at][1], "failed");
  for (const [s, st] of got.slice(0, at)) assert.ok(st === "passed" || (s === "rules" && st === "skipped"), `${s}: ${st}`);
  for (const [s, st] of got.slice(at + 1)) assert.equal(st, "skipped", `${s} after the failure`);
  assert.equal(await page.locator(".verdict.ok").count(), 0, "nothing is shown as verified");
  await shot(page, "verify-tampered");
  assert.deepEqual(asked, [], "the offline verifier asked a relay");

  // Unpin again (the browser profile is shared with the other tests).
  await page.unrouteAll();
  await page.click("nav >> text=Trust");
  await page.click("#unpin");
  await page.locator("#trust-mode[data-mode='network']").waitFor();
  page.assertNoErrors();
  await page.close();
});

test("(5) explorer: ?relay= reads another relay (cross-origin) and links keep it", async () => {
  const B = await startRelay();
  try {
    const page = await newPage();
    await page.goto(`${A.url}/explorer/scenarios/demo%2Fbudget/records/5?relay=${encodeURIComponent(B.url)}`);
    const v = await verdict(page);
    // B is another network than the one this explorer was served with: its proofs hold under its
    // own word only — unpinned, never green (before issue 11: "true").
    assert.equal(v.verified, "unpinned", v.text);
    const prov = await page.locator(".prov").innerText();
    assert.ok(prov.includes(`${B.url}/v1/scenarios/demo%2Fbudget/records/5`), prov);
    assert.ok(prov.includes(`${B.url}/v1/trust`), prov);
    assert.equal(await page.locator(".relaychip").innerText(), B.url.replace("http://", ""));
    // Navigating keeps reading B.
    await page.click("nav >> text=Network");
    await page.waitForURL(`${A.url}/explorer/?relay=${encodeURIComponent(B.url)}`);
    // B's heads are certified by B's own validator set only: amber (before issue 11: green).
    await page.locator(".relays .pill.warn").first().waitFor({ timeout: 15_000 });
    assert.ok((await page.locator(".relays").innerText()).includes(B.url));
    page.assertNoErrors();
    await page.close();
  } finally {
    await B.stop();
  }
});

test("(11 §8) explorer: every listed record is checked against the verified checkpoint; a relay that alters its listing is caught row by row", async () => {
  // Honest relay: each row of the first page carries its inclusion path and checks.
  const page = await newPage();
  await page.goto(`${A.url}/explorer/scenarios/demo%2Fbudget`);
  await page.locator(".verified-note .pill.ok").waitFor({ timeout: 30_000 });
  await page.locator("td.listed .tag.ok").first().waitFor({ timeout: 30_000 });
  const honest = await page.$$eval("td.listed .tag", (ts) => ts.map((t) => t.textContent));
  assert.equal(honest.length, 20);
  assert.deepEqual([...new Set(honest)], ["✓ final"], `every row checks: ${honest}`);
  // The anchored size shown is the verified checkpoint's, and says so.
  assert.match(await page.locator("#anchored-stat").innerText(), /✓ verified in block/);
  page.assertNoErrors();
  await page.close();

  // A relay that serves honest proofs but alters the records of its listings.
  const L = await startRelay({ args: ["--misbehave", "tamper-listing"] });
  try {
    const p = await newPage();
    await p.goto(`${L.url}/explorer/scenarios/demo%2Fbudget`);
    await p.locator(".verified-note .pill.ok").waitFor({ timeout: 30_000 });
    await p.locator("td.listed .tag.bad").first().waitFor({ timeout: 30_000 });
    const rows = await p.$$eval("tr", (trs) => trs
      .filter((tr) => tr.querySelector("td.listed"))
      .map((tr) => [tr.querySelector("a.rec-link").textContent, tr.querySelector("td.listed .tag").textContent]));
    assert.equal(rows.length, 20);
    // Record 0 (the charter) is listed as is; every contract was altered and is refuted.
    assert.deepEqual(rows[0], ["0", "✓ final"]);
    for (const [i, t] of rows.slice(1)) assert.equal(t, "✗ not on chain", `record ${i}`);
    await p.screenshot({ path: join(SHOTS, "explorer-tampered-listing.png"), fullPage: true });
    p.assertNoErrors();
    await p.close();
  } finally {
    await L.stop();
  }
});

test("(11 §8) explorer: a scenario's checkpoint is checked against the one this browser saw last; a rewrite is flagged", async () => {
  const page = await newPage();
  const url = `${A.url}/explorer/scenarios/demo%2Fbudget`;
  const seen = page.locator("#seen-check");
  // A fresh page may find what another test of this browser remembered; start from nothing.
  await page.goto(url);
  await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("trustchain.seen.")).forEach((k) => localStorage.removeItem(k)));
  await page.reload();
  await seen.waitFor({ timeout: 30_000 });
  assert.match(await seen.innerText(), /First visit from this browser/);
  const key = await page.evaluate(() => Object.keys(localStorage).find((k) => k.startsWith("trustchain.seen.")));
  assert.ok(key?.endsWith(".demo/budget"), key);
  const first = JSON.parse(await page.evaluate((k) => localStorage.getItem(k), key));

  // The demo adds a payment every 5 s: once the anchored size grew, the next visit checks the
  // consistency proof from what was remembered.
  for (let t = 0; ; t++) {
    const info = await (await fetch(`${A.url}/v1/scenarios/demo%2Fbudget`)).json();
    if (info.head_checkpoint.size > first.size) break;
    assert.ok(t < 150, "the scenario did not grow within 15 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.reload();
  await seen.waitFor({ timeout: 30_000 });
  assert.match(await seen.innerText(), new RegExp(`Only appended since your last visit: size ${first.size} → \\d+`));
  assert.equal(await seen.getAttribute("class"), "seen ok");

  // What this browser remembered does not extend into what the relay shows now (as if the
  // scenario's history had been rewritten since): flagged, and not remembered over.
  const now = JSON.parse(await page.evaluate((k) => localStorage.getItem(k), key));
  const forged = { size: first.size, root: "ab".repeat(32) };
  await page.evaluate(([k, v]) => localStorage.setItem(k, v), [key, JSON.stringify(forged)]);
  await page.reload();
  await seen.waitFor({ timeout: 30_000 });
  assert.match(await seen.innerText(), /History rewritten since your last visit/);
  assert.equal(await seen.getAttribute("class"), "seen bad");
  assert.deepEqual(JSON.parse(await page.evaluate((k) => localStorage.getItem(k), key)), forged);
  assert.ok(now.size > first.size);
  await page.screenshot({ path: join(SHOTS, "explorer-history-rewritten.png"), fullPage: true });
  page.assertNoErrors();
  await page.close();
});
