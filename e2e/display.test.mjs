// Browser tests of what <trust-verify> reads (issue 11, items 4 and 5): the rendered figure, not
// the DOM's text; the page's locale; the record's currency. Each page below is served from the
// relay's own origin (a route), and its badges check real proofs of the demo scenario.
// Run: node --test e2e/display.test.mjs   (after e2e/setup.sh)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startRelay, launch, settledBadges, SHOTS } from "./lib.mjs";

let A, browser, amount, amountText;

before(async () => {
  A = await startRelay({ args: ["--demo-every-ms", "0"] });
  browser = await launch();
  const r = await (await fetch(`${A.url}/v1/scenarios/demo%2Fbudget/records?from=2&limit=1`)).json();
  amount = r.records[0].entry.body.fields.amount.decimal; // e.g. "3120000.00"
  assert.equal(r.records[0].entry.body.fields.currency.text, "CNY");
  const [i, d] = amount.split(".");
  amountText = { int: i, frac: d ?? "", en: i.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (d ? "." + d : "") };
});
after(async () => {
  await browser?.close();
  await A?.stop();
});

/** Groups `amountText.int` with `sep` and joins the fraction with `dec`. */
const written = (sep, dec) => amountText.int.replace(/\B(?=(\d{3})+(?!\d))/g, sep) + (amountText.frac ? dec + amountText.frac : "");

/**
 * Opens a page on the relay's origin whose body is `body` (badges for record 2's amount are
 * written `<b2>TEXT</b2>` → a <trust-verify>, `<b2 attrs>` passes attributes), with `css` and
 * `<html lang>`; returns the page and its settled badges.
 */
async function open(name, { body, css = "", lang = "en" }) {
  const page = await browser.context.newPage();
  const url = `${A.url}/display-test/${name}.html`;
  const html = `<!doctype html><html${lang === null ? "" : ` lang="${lang}"`}><head><meta charset="utf-8">
<style>body{font:16px/1.5 sans-serif;background:#fff;color:#111;padding:1rem} p{margin:.4rem 0} ${css}</style>
<script type="module" src="/widget/trust-verify.js"></script></head><body>
${body.replace(/<b2([^>]*)>/g, `<trust-verify relay="${A.url}" transport="http" scenario="demo/budget" record="2" field="amount"$1>`).replace(/<\/b2>/g, "</trust-verify>")}
</body></html>`;
  await page.route(url, (route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html }));
  await page.goto(url);
  const all = await settledBadges(page);
  return { page, all };
}

test("an ordinary figure, shown as it is, is verified (the baseline for the tests below)", async () => {
  const { page, all } = await open("plain", { body: `<p>Budget: <b2>¥ ${amountText.en}</b2></p>` });
  assert.equal(all[0].state, "verified", all[0].details);
  assert.match(all[0].details, /CurrencyCNY \(on the chain\)/);
  await page.close();
});

// ---- item 4: what a person sees ------------------------------------------------------------

test("item 4: CSS-hidden digits are not read as shown — the figure is unreadable, never verified", async () => {
  // Each figure's DOM text is the chain's value, but part of it is hidden: a person reads less.
  const [head, rest] = [amountText.en.slice(0, 2), amountText.en.slice(2)]; // "3," + "120,000.00"
  const hiders = {
    "display-none": "display:none",
    "visibility-hidden": "visibility:hidden",
    "opacity-0": "opacity:0",
    "font-size-0": "font-size:0",
    "white-on-white": "color:#fff",
    "transparent": "color:transparent",
    "zero-width-box": "display:inline-block;width:0;overflow:hidden;vertical-align:bottom",
    "off-screen": "position:absolute;left:-9999px",
    "clip-path": "clip-path:inset(50%)",
  };
  const body = Object.entries(hiders).map(([k, style]) =>
    `<p id="${k}">${k}: <b2 data-case="${k}">¥ <span style="${style}">${head}</span>${rest}</b2></p>`).join("\n");
  const { page, all } = await open("hidden", { body });
  for (const [i, k] of Object.keys(hiders).entries()) {
    const b = all[i];
    assert.equal(b.state, "unreadable", `${k}: ${b.state} — ${b.details}`);
    assert.match(b.label, /unreadable/);
  }
  await page.locator('trust-verify[data-case="opacity-0"] .badge').hover();
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(SHOTS, "display-hidden-digits.png"), fullPage: true });
  await page.close();

  // A `for` figure moved off the page, next to a false one in plain text: the badge must not
  // vouch for what nobody can see.
  const off = await open("off-page", {
    body: `<p>Budget: ¥ 120,000.00 <span id="real" style="position:absolute;left:-9999px">¥ ${amountText.en}</span><b2 for="real"></b2></p>`,
  });
  assert.equal(off.all[0].state, "unreadable", off.all[0].details);
  assert.match(off.all[0].details, /off the page/);
  await off.page.close();
});


test("item 4: digits drawn by ::before / ::after (on the figure, inside it, or an ancestor) make it unreadable", async () => {
  const body = `
<p><b2 id="own">${amountText.en}</b2></p>
<p><b2 id="inner"><span class="pre"></span>${amountText.en}</b2></p>
<p class="anc"><b2 id="anc">${amountText.en}</b2></p>
<p><span id="fig">${amountText.en}</span><b2 for="fig"></b2></p>
<p class="clearfix"><b2 id="ok">${amountText.en}</b2></p>`;
  const css = `#own::before{content:"1"} .pre::after{content:"9"} .anc::after{content:"0 000"} #fig::before{content:"1"}
    .clearfix::after{content:"";display:table;clear:both}`;
  const { page, all } = await open("generated", { body, css });
  for (const b of all.slice(0, 4)) {
    assert.equal(b.state, "unreadable", b.details);
    assert.match(b.details, /generated content/);
  }
  // Empty generated content (a clearfix) draws nothing: still verified.
  assert.equal(all[4].state, "verified", all[4].details);
  await page.locator("trust-verify[for=fig] .badge").hover();
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(SHOTS, "display-generated.png"), fullPage: true });
  await page.close();
});

test("item 4: bidi controls and bidi overrides make the figure unreadable", async () => {
  const body = `
<p>isolate inside: <b2>\u2066¥ ${amountText.en}\u2069</b2></p>
<p>RLM inside: <b2>¥ ${amountText.en}\u200F</b2></p>
<p>RLO before it, outside: \u202E<b2>¥ ${amountText.en}</b2></p>
<p>bdo: <b2><bdo dir="rtl">${amountText.en}</bdo></b2></p>
<p>css override: <b2><span style="unicode-bidi:bidi-override;direction:rtl">${amountText.en}</span></b2></p>
<p>flex reversed: <b2><span style="display:inline-flex;flex-direction:row-reverse"><span>${amountText.en.slice(0, 4)}</span><span>${amountText.en.slice(4)}</span></span></b2></p>`;
  const { page, all } = await open("bidi", { body });
  for (const b of all) assert.equal(b.state, "unreadable", b.details);
  assert.match(all[0].details, /invisible character/);
  assert.match(all[2].details, /not laid out in reading order/);
  assert.match(all[3].details, /bidi override/);
  await page.screenshot({ path: join(SHOTS, "display-bidi.png"), fullPage: true });
  await page.close();
});

test("item 4: the badge checks again when the figure's rendering changes (a class, a style)", async () => {
  const { page, all } = await open("restyle", {
    body: `<p id="row"><b2>¥ <span id="part">${amountText.en.slice(0, 2)}</span>${amountText.en.slice(2)}</b2></p>`,
    css: ".gone{opacity:0} .row-label::before{content:'1'}",
  });
  assert.equal(all[0].state, "verified", all[0].details);
  // A class inside the figure (seen by the MutationObserver)…
  await page.evaluate(() => document.getElementById("part").classList.add("gone"));
  await page.waitForFunction(() => document.querySelector("trust-verify").getAttribute("state") === "unreadable");
  await page.evaluate(() => document.getElementById("part").classList.remove("gone"));
  await page.waitForFunction(() => document.querySelector("trust-verify").getAttribute("state") === "verified");
  // …and a class on an ancestor (seen by the once-a-second read of the rendering).
  await page.evaluate(() => document.getElementById("row").classList.add("row-label"));
  await page.waitForFunction(() => document.querySelector("trust-verify").getAttribute("state") === "unreadable", null, { timeout: 5000 });
  await page.close();
});

// ---- item 5: how the figure is read ----------------------------------------------------------

test("item 5: a currency sign other than the record's (CNY) is a mismatch, never verified", async () => {
  const body = `
<p><b2>$ ${amountText.en}</b2></p>
<p><b2>USD ${amountText.en}</b2></p>
<p><b2>${amountText.en} €</b2></p>
<p><b2 currency="USD">${amountText.en}</b2></p>
<p><b2>¥${amountText.en}</b2></p>
<p><b2>CNY ${amountText.en}</b2></p>
<p><b2>${amountText.en}</b2></p>`;
  const { page, all } = await open("currency", { body });
  for (const b of all.slice(0, 4)) assert.equal(b.state, "mismatch", b.details);
  for (const b of all.slice(4)) assert.equal(b.state, "verified", b.details);
  await page.locator("trust-verify .badge").first().hover();
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(SHOTS, "display-currency.png"), fullPage: true });
  await page.close();
});

test("item 5: the locale comes from lang / locale, never guessed", async () => {
  const de = written(".", ","), fr = written("\u202f", ","), ch = written("’", ".");
  const body = `
<p lang="de"><b2>${de} ¥</b2></p>
<p lang="fr"><b2>${fr} ¥</b2></p>
<p><b2 locale="de-CH">¥ ${ch}</b2></p>
<p><b2 lang="zh-CN">¥${amountText.en}</b2></p>
<p><b2>${de} ¥</b2></p>
<p><b2>${written(" ", ",")}</b2></p>`;
  const { page, all } = await open("locale", { body, lang: "en" });
  for (const b of all.slice(0, 4)) assert.equal(b.state, "verified", `${b.details}`);
  // The page is English: "3.120.000,00" does not read as the chain's value, "3 120 000,00" neither.
  assert.notEqual(all[4].state, "verified", all[4].details);
  assert.notEqual(all[5].state, "verified", all[5].details);
  assert.match(all[0].details, /numbers in “de”/);
  await page.close();

  // No language anywhere: only plain digits read.
  const bare = await open("no-lang", { body: `<p><b2>¥ ${amountText.en}</b2></p><p><b2>${amountText.int}</b2></p>`, lang: null });
  assert.equal(bare.all[0].state, "unreadable", bare.all[0].details);
  assert.match(bare.all[0].details, /does not say its language/);
  if (!amountText.frac || /^0+$/.test(amountText.frac)) assert.equal(bare.all[1].state, "verified", bare.all[1].details);
  await bare.page.close();
});

test("item 5: a figure tagged with another locale than the page's, which the page's language reads otherwise, is unreadable", async () => {
  // A budget line like 630000.00: "630.000" is 630000 in German and 630 in English.
  const lines = await (await fetch(`${A.url}/v1/scenarios/demo%2Fbudget/records?from=1&limit=12`)).json();
  const hit = lines.records.map((r) => [r.index, /^(\d{1,3})000\.00$/.exec(r.entry.body.fields?.amount?.decimal ?? "")]).find(([, m]) => m);
  assert.ok(hit, "a budget line of whole thousands");
  const [index, m] = hit;
  const badge = (attrs) => `<trust-verify relay="${A.url}" transport="http" scenario="demo/budget" record="${index}" field="amount" ${attrs}>${m[1]}.000</trust-verify>`;
  // On an English page, one figure tagged German: ambiguous.
  const en = await open("tagged", { body: `<p>${badge('lang="de"')}</p><p lang="de">${badge("")}</p>` });
  for (const b of en.all) {
    assert.equal(b.state, "unreadable", b.details);
    assert.match(b.details, /in the page's language \(“en”\) it reads as \d+/);
  }
  await en.page.close();
  // On a German page, the same figure reads one way only.
  const de = await open("german", { body: `<p>${badge("")}</p>`, lang: "de" });
  assert.equal(de.all[0].state, "verified", de.all[0].details);
  await de.page.close();
});

test("item 5: the issue's readings are refused in the browser: '1 204,000'-style grouping, U+1680", async () => {
  const mixed = amountText.int.replace(/\B(?=(\d{3})+(?!\d))/g, (_m, _g, off) => (off === 1 ? " " : ",")); // "3 120,000"
  const body = `
<p><b2>${mixed}</b2></p>
<p><b2>\u1680${amountText.en}</b2></p>
<p><b2>${amountText.int.replace(/\B(?=(\d{3})+(?!\d))/g, "\u1680")}${amountText.frac ? "." + amountText.frac : ""}</b2></p>`;
  const { page, all } = await open("issue-readings", { body });
  const texts = await page.$$eval("trust-verify", (l) => l.map((b) => JSON.stringify(b.result?.check ?? b.result?.reason) + " " + JSON.stringify(b.innerText)));
  for (const [i, b] of all.entries()) assert.notEqual(b.state, "verified", `${i}: ${texts[i]}`);
  for (const [i, b] of all.entries()) assert.equal(b.state, "unreadable", `${i}: ${texts[i]}`);
  await page.close();
});
