// Browser tests of issue 11, items 2, 3, 6 and 8 (parts): who chooses the trust root, script
// injection on the relay's origin, a charter that cannot be had, a proof of another record.
// Each of these failed on the code before the fix. Run: node --test e2e/trust.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startRelay, launch, settledBadges, requireExplorer, SHOTS } from "./lib.mjs";

let A, B, browser;
const shot = (page, name) => page.screenshot({ path: join(SHOTS, `trust-${name}.png`), fullPage: true });

before(async () => {
  requireExplorer();
  // Two dev relays: two networks (each its own chain id, genesis and validator).
  [A, B] = await Promise.all([startRelay(), startRelay()]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await A?.stop();
  await B?.stop();
});

async function newPage() {
  const page = await browser.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  page.assertNoErrors = () => assert.deepEqual(errors.map(String), [], "the page threw");
  return page;
}

async function verdict(page) {
  const v = page.locator("#verdict");
  await v.waitFor({ timeout: 30_000 });
  return { verified: await v.getAttribute("data-verified"), failedStep: await v.getAttribute("data-failed-step"), text: await v.innerText() };
}

test("(2) green only under the widget's own network: its relay's badges verify, a relay of another network named by the page never does", async () => {
  const { chain_id: chainA } = await (await fetch(`${A.url}/v1/status`)).json();
  const { chain_id: chainB } = await (await fetch(`${B.url}/v1/status`)).json();
  assert.notEqual(chainA, chainB, "two networks");
  const spec = { chain_id: chainA };

  // The same page, its badges pointed at relay B by the link (?relays=): B's proofs hold under
  // B's own word only. Before: green ("verified", trust on first use of B).
  let page = await newPage();
  await page.goto(`${A.url}/demo/?relays=${encodeURIComponent(B.url)}`);
  let all = await settledBadges(page, { min: 20 });
  for (const b of all) {
    assert.notEqual(b.state, "verified", `record ${b.record} ${b.field}: ${b.details}`);
    assert.equal(b.state, "unpinned", `record ${b.record} ${b.field}: ${b.details}`);
    assert.match(b.label, /^\?unpinned network · [0-9a-f]{8}$/);
  }
  assert.match(all[0].details, new RegExp(`the relay is on chain ${chainB}, not on this widget's network ${spec.chain_id}`));
  await page.locator('tbody#lines trust-verify[record="2"] .badge').hover();
  await page.waitForTimeout(250);
  await shot(page, "other-network-unpinned");
  await page.close();

  // The relay's own widget, under the spec it serves beside it: green.
  page = await newPage();
  await page.goto(`${A.url}/demo/`);
  all = await settledBadges(page, { min: 20 });
  for (const b of all) assert.equal(b.state, "verified", `record ${b.record} ${b.field}: ${b.details}`);
  assert.match(all[0].details, new RegExp(`network this widget ships with: chain ${spec.chain_id}`));
  await page.close();

  // A page that names its own trust file (B's /v1/trust) for B's relay: consistent, but chosen by
  // the page. Before: green ("pinned checkpoint").
  page = await newPage();
  await page.goto(`${B.url}/demo/?trust=${encodeURIComponent(`${B.url}/v1/trust`)}`);
  all = await settledBadges(page, { min: 20 });
  for (const b of all) assert.equal(b.state, "unpinned", `record ${b.record} ${b.field}: ${b.details}`);
  assert.match(all[0].details, /the page chose the trust root/);
  await page.close();

  // A widget with no network spec beside it (a copy served without one): trust on first use of
  // the relay, never green.
  page = await newPage();
  await page.route(/\/widget\/network\.json$/, (route) => route.fulfill({ status: 404, body: "not found" }));
  await page.goto(`${A.url}/demo/`);
  all = await settledBadges(page, { min: 20 });
  for (const b of all) assert.equal(b.state, "unpinned", `record ${b.record} ${b.field}: ${b.details}`);
  assert.match(all[0].details, /no network spec beside the widget/);
  await page.close();

  // Any site embedding A's widget: A's network, green; B named as the relay: not green.
  page = await newPage();
  await page.setContent(`<!doctype html><p>Paid: <trust-verify relay="${A.url}" scenario="demo/budget" record="1" field="code">BL-01</trust-verify>
    and <trust-verify relay="${B.url}" scenario="demo/budget" record="1" field="code">BL-01</trust-verify></p>`);
  await page.addScriptTag({ type: "module", url: `${A.url}/widget/trust-verify.js` });
  const [a, b] = await settledBadges(page, { min: 2 });
  assert.equal(a.state, "verified", a.details);
  assert.equal(b.state, "unpinned", b.details);
  await page.close();
});

test("(2) the explorer: green under its own network; ?relay= of another network is unpinned, never green", async () => {
  const page = await newPage();
  await page.goto(`${A.url}/explorer/scenarios/demo%2Fbudget/records/5`);
  let v = await verdict(page);
  assert.equal(v.verified, "true", v.text);
  assert.match(await page.locator(".tbadge").innerText(), /^network trustchain-dev-/);
  // Before: data-verified="true", with trust on first use of B.
  await page.goto(`${A.url}/explorer/scenarios/demo%2Fbudget/records/5?relay=${encodeURIComponent(B.url)}`);
  v = await verdict(page);
  assert.equal(v.verified, "unpinned", v.text);
  assert.equal(await page.locator(".verdict.ok").count(), 0, "nothing green");
  assert.match(await page.locator(".tbadge").innerText(), /unpinned network/);
  assert.match(await page.locator(".prov").innerText(), /taken on first use: the relay is on chain/);
  await shot(page, "explorer-other-network");
  // The network page: the relay's heads are certified by its own set only — amber, not green.
  await page.goto(`${A.url}/explorer/?relay=${encodeURIComponent(B.url)}`);
  await page.locator(".relays .pill.warn").first().waitFor({ timeout: 30_000 });
  assert.equal(await page.locator(".relays .pill.ok").count(), 0);
  // Its charter, too, is checked but not shown as verified.
  await page.goto(`${A.url}/explorer/scenarios/demo%2Fbudget?relay=${encodeURIComponent(B.url)}`);
  await page.locator(".verified-note .pill.warn").waitFor({ timeout: 30_000 });
  assert.equal(await page.locator(".verified-note .pill.ok").count(), 0);
  page.assertNoErrors();
  await page.close();
});

test("(3) the injection link does not run: no markup from the URL, and a CSP that forbids inline script", async () => {
  const page = await newPage();
  const payload = `<img src=x onerror="window.__pwned=1">`;
  // The relay string as a whole, and inside an http URL that fails (the error path used innerHTML).
  for (const relay of [payload, `http://127.0.0.1:9/${payload}`]) {
    const res = await page.goto(`${A.url}/demo/?relay=${encodeURIComponent(relay)}`);
    await page.waitForFunction(() => !document.querySelector("#lines .loading:not(.error)") || document.querySelector("trust-verify"), null, { timeout: 30_000 });
    await page.waitForTimeout(500);
    assert.equal(await page.evaluate(() => window.__pwned), undefined, `script ran for ?relay=${relay}`);
    assert.equal(await page.locator("#lines img, #pays img").count(), 0, "markup from the URL was parsed");
    assert.match(res.headers()["content-security-policy"] ?? "", /script-src 'self' 'wasm-unsafe-eval';/);
  }
  // Even a script element put into the page at run time does not run (no inline script at all).
  const ran = await page.evaluate(() => {
    const s = document.createElement("script");
    s.textContent = "window.__inline = 1";
    document.body.append(s);
    return window.__inline;
  });
  assert.equal(ran, undefined, "an inline script ran");
  await shot(page, "injection");

  // Every page type the relay serves carries the headers.
  for (const path of ["/", "/demo/", "/verify/", "/explorer/", "/explorer/trust", "/explorer/scenarios/demo%2Fbudget/records/1"]) {
    const r = await fetch(`${A.url}${path}`);
    const csp = r.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/, path);
    assert.doesNotMatch(csp.split(";").find((d) => d.trim().startsWith("script-src")), /unsafe-inline/, path);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff", path);
    assert.equal(r.headers.get("referrer-policy"), "no-referrer", path);
    const html = await r.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, `${path} has an inline script`);
  }
  // A reload revalidates the cached page (304): it must keep the page's policy, not get the
  // sandboxing file policy (seen: the reloaded demo page ran no script at all).
  await page.goto(`${A.url}/demo/`);
  await settledBadges(page, { min: 20 });
  await page.reload();
  const again = await settledBadges(page, { min: 20 });
  for (const b of again) assert.equal(b.state, "verified", `after a reload: record ${b.record} ${b.field}: ${b.details}`);
  await page.close();
  // The pages still work under the policy: the offline verifier and the explorer start.
  for (const [path, ready] of [["/verify/", () => document.getElementById("status").textContent.startsWith("Ready")],
    ["/explorer/", () => !!document.querySelector("#head-height")]]) {
    const p = await newPage();
    const blocked = [];
    p.on("console", (m) => { if (/Content[- ]Security[- ]Policy/i.test(m.text())) blocked.push(m.text()); });
    await p.goto(`${A.url}${path}`);
    await p.waitForFunction(ready, null, { timeout: 30_000 });
    assert.deepEqual(blocked, [], `${path}: the policy blocked something the page needs`);
    p.assertNoErrors();
    await p.close();
  }
});

test("(3) the explorer's pinned checkpoint: shown with its fingerprint; replacing it needs the person's confirmation", async () => {
  const trustA = await (await fetch(`${A.url}/v1/trust`)).text();
  const trustB = await (await fetch(`${B.url}/v1/trust`)).text();
  const page = await newPage();
  await page.goto(`${A.url}/explorer/trust`);
  await page.locator("#trust-mode[data-mode='network']").waitFor({ timeout: 30_000 });
  // First pin: the person's own act.
  await page.fill("#pin-input", trustA);
  await page.click("#pin-pasted");
  await page.locator("#trust-mode[data-mode='pinned']").waitFor();
  const fpA = await page.locator("#trust-fingerprint").innerText();
  assert.match(fpA, /^[0-9a-f]{16}$/);
  assert.match(await page.locator(".tbadge").innerText(), new RegExp(`pinned checkpoint · ${fpA}`));

  // Another checkpoint pasted: nothing changes until confirmed.
  await page.fill("#pin-input", trustB);
  await page.click("#pin-pasted");
  await page.locator("#pin-confirm").waitFor();
  assert.equal(await page.locator("#pin-old").innerText(), fpA);
  const fpB = await page.locator("#pin-new").innerText();
  assert.notEqual(fpB, fpA);
  assert.equal(await page.locator("#trust-fingerprint").innerText(), fpA, "replaced without confirmation");
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem("trustchain.explorer.pinned-checkpoint")).chain_id),
    JSON.parse(trustA).chain_id);
  await shot(page, "pin-confirm");
  await page.click("#pin-confirm-no");
  assert.equal(await page.locator("#trust-fingerprint").innerText(), fpA);
  // Confirmed: replaced.
  await page.fill("#pin-input", trustB);
  await page.click("#pin-pasted");
  await page.click("#pin-confirm-yes");
  await page.waitForFunction((fp) => document.querySelector("#trust-fingerprint")?.textContent === fp, fpB);

  // A malformed trust file (a validator twice) is refused, not pinned.
  const dup = JSON.parse(trustA);
  dup.validators.validators = [dup.validators.validators[0], dup.validators.validators[0]];
  await page.fill("#pin-input", JSON.stringify(dup));
  await page.click("#pin-pasted");
  await page.locator("#pin-error").waitFor();
  assert.match(await page.locator("#pin-error").innerText(), /not a usable trusted checkpoint/);
  assert.equal(await page.locator("#trust-fingerprint").innerText(), fpB);

  // Unpin (the browser profile is shared with the other tests).
  await page.click("#unpin");
  await page.locator("#trust-mode[data-mode='network']").waitFor();
  page.assertNoErrors();
  await page.close();
});

test("(6) no charter, no green: a charter that cannot be fetched leaves every badge and the record page unverified", async () => {
  const page = await newPage();
  // Record 0 (the charter) never arrives; every other proof does.
  await page.route(/\/v1\/scenarios\/demo%2Fbudget\/records\/0(\?|$)/, (route) => route.fulfill({ status: 503, contentType: "application/json", body: '{"error":"unavailable","message":"try later"}' }));
  await page.goto(`${A.url}/demo/?transport=http`);
  const all = await settledBadges(page, { min: 20 });
  for (const b of all) {
    assert.equal(b.state, "unverified", `record ${b.record} ${b.field}: ${b.details}`);
    assert.equal(b.failedStep, "rules", `record ${b.record}`);
    assert.equal(b.reason, "charter not verified");
  }
  assert.match(all[0].details, /charter \(record 0\) was not verified/);
  await page.locator('tbody#lines trust-verify[record="2"] .badge').hover();
  await page.waitForTimeout(250);
  await shot(page, "no-charter-widget");

  await page.goto(`${A.url}/explorer/scenarios/demo%2Fbudget/records/7`);
  const v = await verdict(page);
  assert.equal(v.verified, "false", v.text);
  assert.equal(v.failedStep, "rules");
  assert.equal(await page.locator(".verdict.ok").count(), 0);
  await shot(page, "no-charter-explorer");
  await page.close();
});

test("(6) the explorer shows each rule printed from its checked tree", async () => {
  const page = await newPage();
  await page.goto(`${A.url}/explorer/scenarios/demo%2Fbudget`);
  await page.locator(".verified-note .pill.ok").waitFor({ timeout: 30_000 });
  const rules = await page.$$eval("code.rsrc", (cs) => cs.map((c) => c.textContent));
  assert.ok(rules.length >= 3, JSON.stringify(rules));
  assert.ok(rules.includes(`record_exists("budget_line", "code", budget_line)`), JSON.stringify(rules));
  page.assertNoErrors();
  await page.close();
});

test("(8) the explorer's record page: a relay answering another record's valid proof fails", async () => {
  const six = Buffer.from(await (await fetch(`${A.url}/v1/scenarios/demo%2Fbudget/records/6?format=bytes`)).arrayBuffer());
  const page = await newPage();
  await page.route(/\/v1\/scenarios\/demo%2Fbudget\/records\/5\?format=bytes$/, (route) =>
    route.fulfill({ status: 200, contentType: "application/octet-stream", body: six }));
  await page.goto(`${A.url}/explorer/scenarios/demo%2Fbudget/records/5`);
  const v = await verdict(page);
  assert.equal(v.verified, "false", v.text);
  assert.equal(v.failedStep, "decode");
  assert.match(v.text, /asked for record 5 of demo\/budget, the relay answered with a proof of record 6/);
  await shot(page, "wrong-record");
  await page.close();
});
