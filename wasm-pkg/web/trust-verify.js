// <trust-verify>: shows whether what the page displays is what the Trustchain holds.
//
//   <script type="module" src="https://…/widget/trust-verify.js"></script>
//   <trust-verify relay="https://relay.example" scenario="demo/budget" record="17" field="amount">
//     ¥ 12,480.00
//   </trust-verify>
//
// It reads the displayed text (its own, or the element named by `for`), fetches the record's
// proof from the relay, verifies it in WebAssembly with trustchain-core (signature, charter rules,
// Merkle inclusion, checkpoint, anchor, certificate under a trusted validator set), compares the
// text with the verified field under core's display normalisation, and shows a badge: verified,
// unpinned, mismatch or unverified. "verified" (green) needs the network this widget ships with —
// network.json beside this script — never a trust root the page names (see trustFor below). It re-checks whenever the displayed text changes. Attributes and
// behaviour: see README.md in this package.
//
// Transport: rust-libp2p inside the wasm module — WebRTC-direct first, WebSocket as the floor
// (the relay's addresses come from its /.well-known/trustchain.json) — or, with transport="http",
// the relay's plain HTTP API. The badge's details name the transport and address that served the
// proof.

import init, { LightClient, compareDisplay } from "./trustchain_widget.js";

let wasmReady = null;
function wasm() {
  wasmReady ??= init({ module_or_path: new URL("./trustchain_widget_bg.wasm", import.meta.url) });
  return wasmReady;
}

const TRANSPORTS = ["auto", "webrtc", "websocket", "http"];

// ---------------------------------------------------------------------------------------------
// Light clients and verdicts, shared by every badge on the page
// ---------------------------------------------------------------------------------------------

const clients = new Map(); // trust key -> Promise<LightClient>
const verdicts = new Map(); // trust key|relay|scenario|record -> { at, promise }
const VERDICT_TTL_MS = 15_000;

class Unverified extends Error {
  constructor(reason, detail) {
    super(reason);
    this.reason = reason;
    this.detail = detail ?? "";
  }
}

function cached(map, key, make) {
  let p = map.get(key);
  if (!p) {
    p = make();
    map.set(key, p);
    p.catch(() => map.get(key) === p && map.delete(key));
  }
  return p;
}

// The trust root. A badge is green only under the network this widget's own code came with: the
// network spec (chain id, genesis hash, a recent trusted checkpoint) served beside this script —
// `network.json`, resolved against this module's own URL, never against anything the page names.
// Whoever serves the widget's code already decides what the badge draws; the spec binds the trust
// root to that same party. A `trust` attribute, trust on first use, or a relay of another chain
// may still be checked, but such a badge is "unpinned" (amber), never "verified" (green).
const SPEC_URL = new URL("./network.json", import.meta.url).href;
let specPromise = null;

/** The widget's network: { client, chainId, fingerprint } or { error }. Loaded once per page. */
function networkSpec() {
  specPromise ??= (async () => {
    // Fetched while the module compiles.
    const fetched = fetch(SPEC_URL, { cache: "no-cache", credentials: "omit" }).then(async (res) => {
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return res.text();
    });
    fetched.catch(() => {});
    await wasm();
    let text;
    try {
      text = await fetched;
    } catch (e) {
      return { error: `no network spec beside the widget (${SPEC_URL}: ${e.message})` };
    }
    try {
      const client = LightClient.fromNetworkSpec(text);
      const t = client.trust;
      return { client, chainId: t.chain_id, fingerprint: t.fingerprint };
    } catch (e) {
      return { error: `the widget's network spec is not usable: ${e.message ?? e}` };
    }
  })();
  return specPromise;
}

/** A light client from a checkpoint URL the page named (`trust` attribute): never green. */
function pageClient(trustUrl) {
  const url = new URL(trustUrl, document.baseURI).href;
  return cached(clients, `page|${url}`, async () => {
    await wasm();
    let text;
    try {
      const res = await fetch(url, { cache: "no-cache", credentials: "omit" });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      text = await res.text();
    } catch (e) {
      throw new Unverified("trusted checkpoint not loaded", `${url}: ${e.message}`);
    }
    try {
      return new LightClient(text);
    } catch (e) {
      throw new Unverified("bad trusted checkpoint", `${url}: ${e.message ?? e}`);
    }
  });
}

/** Trust on first use of a relay: never green. */
function firstUseClient(relay, transport) {
  return cached(clients, `first-use|${transport}|${relay}`, async () => {
    await wasm();
    try {
      return await LightClient.fromRelay(relay, transport);
    } catch (e) {
      throw transportFailure(e, relay);
    }
  });
}

/**
 * Where a badge's trust comes from: { client, kind, why? }. kind "network" (the widget's own
 * spec: may be green), "page" (a `trust` attribute) or "first-use" (the relay vouches for itself).
 */
async function trustFor(trustUrl, relay, transport) {
  if (trustUrl) {
    return { client: await pageClient(trustUrl), kind: "page",
      why: `the page chose the trust root (trust="${trustUrl}")` };
  }
  const spec = await networkSpec();
  if (spec.client) return { client: spec.client, kind: "network", spec };
  return { client: await firstUseClient(relay, transport), kind: "first-use", why: spec.error };
}

function transportFailure(e, relay) {
  if (e instanceof Unverified) return e;
  switch (e?.kind) {
    case "unreachable":
      return new Unverified("relay unreachable", e.message);
    case "refused":
      if (e.code === "not_anchored_yet") {
        const u = new Unverified("not final yet", e.message);
        u.retry = true;
        return u;
      }
      return new Unverified(e.status === 404 || e.code === "not_found" ? "record not found" : "relay refused", e.message);
    case "bad_answer":
      return new Unverified("bad answer from relay", e.message);
    case "argument":
      return new Unverified("misconfigured", e.message);
    default:
      return new Unverified("relay unreachable", `${relay}: ${e?.message ?? e}`);
  }
}

async function fetchWith(client, relay, scenario, record, transport) {
  try {
    return await client.fetchAndVerify(relay, scenario, record, transport);
  } catch (e) {
    throw transportFailure(e, relay);
  }
}

/** Resolves to { verdict, trust } (trust as from trustFor). */
function verify(trustUrl, relay, transport, scenario, record, fresh) {
  const key = `${trustUrl || "spec"}|${transport}|${relay}|${scenario}|${record}`;
  const hit = verdicts.get(key);
  if (!fresh && hit && performance.now() - hit.at < VERDICT_TTL_MS) return hit.promise;
  const promise = (async () => {
    let trust = await trustFor(trustUrl, relay, transport);
    let verdict = await fetchWith(trust.client, relay, scenario, record, transport);
    if (trust.kind === "network" && verdict.chain && verdict.chain !== trust.spec.chainId) {
      // A relay of another network than the widget's: it may be checked against its own word,
      // never shown as verified.
      const why = `the relay is on chain ${verdict.chain}, not on this widget's network ${trust.spec.chainId}`;
      trust = { client: await firstUseClient(relay, transport), kind: "first-use", why };
      verdict = await fetchWith(trust.client, relay, scenario, record, transport);
    }
    return { verdict, trust };
  })();
  const entry = { at: performance.now(), promise };
  verdicts.set(key, entry);
  // Only good news is kept: failures are asked again next time.
  promise.then(
    ({ verdict: v }) => !v.verified && verdicts.get(key) === entry && verdicts.delete(key),
    () => verdicts.get(key) === entry && verdicts.delete(key),
  );
  return promise;
}

/**
 * With two or more relays: their heads, verified and compared by the light client the verdict
 * used (which keeps equivocation evidence). Shared by every badge of the page for a short while.
 */
const crossChecks = new Map(); // trust key|transport|relays -> { at, promise }
function crossCheck(trust, relays, transport, fresh) {
  const key = `${trust.kind}|${trust.client.trust.fingerprint}|${transport}|${relays.join(",")}`;
  const hit = crossChecks.get(key);
  if (!fresh && hit && performance.now() - hit.at < VERDICT_TTL_MS) return hit.promise;
  const promise = trust.client.crossCheck(relays, transport);
  const entry = { at: performance.now(), promise };
  crossChecks.set(key, entry);
  promise.catch(() => crossChecks.get(key) === entry && crossChecks.delete(key));
  return promise;
}

/** A download link for equivocation evidence (JSON; `bytes` is core's canonical encoding, hex). */
function evidenceLink(ev) {
  const doc = {
    kind: "trustchain/equivocation-evidence",
    note: "Two blocks at one height, each with a valid commit certificate from the same validator set. Check with trustchain-core's EquivocationEvidence::verify (bytes: canonical encoding, hex).",
    ...ev,
  };
  const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" }));
  return el("a", { class: "evidence-link", href: url, download: `equivocation-${ev.chain_id}-h${ev.height}.json` },
    "download evidence");
}

// ---------------------------------------------------------------------------------------------
// What a person sees: the rendered text of the figure, or why it cannot be read
// ---------------------------------------------------------------------------------------------
//
// The widget compares what is *rendered* (innerText: no display:none or visibility:hidden text)
// and refuses — state "unreadable", never green — a figure whose rendering it cannot vouch for:
//  - generated content (::before, ::after, ::marker with text or an image) on the figure, any
//    element inside it, or any ancestor up to the document (CSS can draw digits next to it);
//  - hidden text inside it: text that is not rendered, or rendered invisibly (visibility,
//    opacity < 0.1 on it or any ancestor, transparent colour or text fill, colour equal to the
//    background behind it, font size under 6 px, zero-size glyphs, a filter, clip or clip-path
//    inside the figure, or glyphs outside an overflow:hidden/clip ancestor's box);
//  - characters not laid out in reading order (left to right, line by line): flex/grid order,
//    positioning, transforms, negative spacing, bidi reordering;
//  - bidi overrides in CSS (unicode-bidi: bidi-override / isolate-override, <bdo>), and — in
//    core — bidi control and other invisible format characters in the text;
//  - images, canvases, embedded documents, form controls, custom elements or shadow roots inside
//    the figure, and background images on it or inside it (they can draw anything).
// What it cannot know is listed in README.md ("What an in-page widget cannot know").

const EMBEDDED = new Set(["IMG", "SVG", "CANVAS", "PICTURE", "VIDEO", "IFRAME", "OBJECT", "EMBED", "INPUT",
  "TEXTAREA", "SELECT", "BUTTON", "MATH", "AUDIO", "METER", "PROGRESS"]);
const PSEUDOS = ["::before", "::after", "::marker"];
const RTL = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]/;
const NOT_SPACE = /[^ \u00a0\u2009\u202f\n\t\r]/;

/** The parent in the flat tree: the parent element, or a shadow root's host. */
const up = (e) => e.parentElement ?? (e.parentNode instanceof ShadowRoot ? e.parentNode.host : null);

/** [r, g, b, a] of a computed colour (rgb()/rgba()/color(srgb …)); null if unknown. */
function rgba(c) {
  const m = /^rgba?\(([^)]+)\)$/.exec(c) ?? /^color\(srgb ([^)]+)\)$/.exec(c);
  if (!m) return null;
  const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
  const scale = c.startsWith("color(") ? 255 : 1;
  return [p[0] * scale, p[1] * scale, p[2] * scale, p.length > 3 ? p[3] : 1];
}

function generated(e) {
  for (const p of PSEUDOS) {
    const cs = getComputedStyle(e, p);
    const c = cs.content;
    if (c && c !== "none" && c !== "normal" && c !== '""' && cs.display !== "none") {
      return `${p} content (${c.length > 24 ? c.slice(0, 24) + "…" : c}) on <${e.localName}>`;
    }
  }
  return null;
}

/** The colour behind `e`: the nearest opaque background of it or an ancestor (white if none). */
function backdrop(e) {
  for (let x = e; x; x = up(x)) {
    const b = rgba(getComputedStyle(x).backgroundColor);
    if (b && b[3] >= 0.99) return b;
    if (b && b[3] > 0.01) return null; // translucent layers: not compared
  }
  return [255, 255, 255, 1];
}

/**
 * Reads what a person sees in `target` (this <trust-verify>, whose own shadow root holds only
 * the slot and the badge, or the element named by `for`): { text } or { unreadable: why }.
 */
export function readRendered(target) {
  const bad = (why) => ({ unreadable: why });
  if (!target.isConnected || target.getClientRects().length === 0) return bad("the figure is not displayed");
  // The figure and everything around it.
  for (let x = target; x; x = up(x)) {
    const why = generated(x);
    if (why) return bad(`generated content next to the figure: ${why}`);
    const cs = getComputedStyle(x);
    if (Number(cs.opacity) < 0.1) return bad(`the figure is transparent (opacity ${cs.opacity} on <${x.localName}>)`);
    if (/override/.test(cs.unicodeBidi)) return bad(`a bidi override (unicode-bidi: ${cs.unicodeBidi}) reorders the figure`);
  }
  // Everything inside it.
  const inside = [...target.querySelectorAll("*")];
  for (const x of [target, ...inside]) {
    if (x !== target) {
      if (EMBEDDED.has(x.tagName.toUpperCase()) || x.namespaceURI !== "http://www.w3.org/1999/xhtml") return bad(`the figure holds an embedded <${x.localName}>`);
      if (x.localName.includes("-") || x.shadowRoot) return bad(`the figure holds <${x.localName}>, whose rendering this widget cannot read`);
      const why = generated(x);
      if (why) return bad(`generated content in the figure: ${why}`);
      const cs = getComputedStyle(x);
      if (/override/.test(cs.unicodeBidi)) return bad(`a bidi override (unicode-bidi: ${cs.unicodeBidi}) reorders the figure`);
      if (Number(cs.opacity) < 0.1) return bad(`part of the figure is transparent (opacity ${cs.opacity})`);
    }
    const cs = getComputedStyle(x);
    if (cs.backgroundImage !== "none" || cs.filter !== "none") return bad(`a background image or filter on the figure (<${x.localName}>)`);
    if (x !== target && (cs.clipPath !== "none" || (cs.clip && cs.clip !== "auto"))) return bad(`part of the figure is clipped (<${x.localName}>)`);
  }
  // Every character of text: visible, big enough, inside what clips it, in reading order.
  const walker = document.createTreeWalker(target, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let prev = null, count = 0;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const data = n.data;
    if (!NOT_SPACE.test(data)) continue;
    const el = n.parentElement;
    if (!el || el.closest("script, style, template")) continue;
    range.selectNodeContents(n);
    const shownAt = range.getClientRects();
    if (shownAt.length === 0) return bad(`hidden text in the figure (“${data.trim().slice(0, 20)}”)`);
    const cs = getComputedStyle(el);
    if (cs.visibility !== "visible") return bad(`hidden text in the figure (visibility: ${cs.visibility})`);
    if (parseFloat(cs.fontSize) < 6) return bad(`text too small to read in the figure (font-size ${cs.fontSize})`);
    const color = rgba(cs.color), fill = rgba(cs.webkitTextFillColor ?? cs.color);
    if ((color && color[3] < 0.1) || (fill && fill[3] < 0.1)) return bad("transparent text in the figure");
    const back = backdrop(el);
    const ink = fill ?? color;
    if (back && ink && Math.abs(ink[0] - back[0]) + Math.abs(ink[1] - back[1]) + Math.abs(ink[2] - back[2]) < 24) {
      return bad("text in the figure has the colour of its background");
    }
    const clips = [];
    for (let x = el; x; x = up(x)) {
      const o = getComputedStyle(x);
      if (/hidden|clip/.test(o.overflowX + o.overflowY)) clips.push(x.getBoundingClientRect());
    }
    const rtl = RTL.test(data);
    for (let i = 0; i < data.length; ) {
      const cp = data.codePointAt(i);
      const len = cp > 0xffff ? 2 : 1;
      const ch = data.slice(i, i + len);
      if (NOT_SPACE.test(ch)) {
        if (++count > 4000) return bad("the figure is too long to check");
        range.setStart(n, i);
        range.setEnd(n, i + len);
        const r = range.getBoundingClientRect();
        if (r.width <= 0 || r.height <= 0) return bad(`an invisible character in the figure (“${ch}”)`);
        const cx = (r.left + r.right) / 2, cy = (r.top + r.bottom) / 2;
        if (clips.some((c) => cx < c.left || cx > c.right || cy < c.top || cy > c.bottom)) {
          return bad(`part of the figure is cut off (“${ch}”)`);
        }
        // Left of or above the page: nobody can scroll there.
        if (cx + scrollX < 0 || cy + scrollY < 0) return bad(`part of the figure is off the page (“${ch}”)`);
        if (prev && !rtl && !prev.rtl) {
          const h = Math.min(r.height, prev.r.height);
          const sameLine = Math.min(r.bottom, prev.r.bottom) - Math.max(r.top, prev.r.top) > h / 2;
          const inOrder = sameLine
            ? r.left >= prev.r.right - 0.35 * Math.min(r.width, prev.r.width) && r.left > prev.r.left
            : r.top >= prev.r.bottom - h / 2;
          if (!inOrder) return bad(`the figure's characters are not laid out in reading order (“${prev.ch}” then “${ch}”)`);
        }
        prev = { r, ch, rtl };
      }
      i += len;
    }
  }
  return { text: target.innerText };
}

/** Whether a result's field is a number (its reading depends on the locale). */
const numeric = (r) => {
  const v = r.verdict?.record?.fields?.[r.field];
  return v !== null && typeof v === "object" && ("decimal" in v || "int" in v);
};

/** The locale the page declares for the figure: locale/lang on the element, else the closest lang. */
function localeOf(badge, target) {
  const own = badge.getAttribute("locale")?.trim() || badge.getAttribute("lang")?.trim();
  if (own) return own;
  for (const x of [target, badge]) {
    const l = x?.closest?.("[lang]")?.getAttribute("lang")?.trim();
    if (l) return l;
  }
  return document.documentElement.lang?.trim() || undefined;
}

// ---------------------------------------------------------------------------------------------
// Presentation helpers
// ---------------------------------------------------------------------------------------------

const STEP_WORDS = {
  decode: "unreadable proof",
  signature: "bad record signature",
  rules: "breaks the charter's rules",
  inclusion: "bad inclusion proof",
  checkpoint: "bad checkpoint",
  anchor: "bad anchor proof",
  certificate: "bad certificate",
};

const TRANSPORT_WORDS = { "webrtc-direct": "libp2p WebRTC-direct", websocket: "libp2p WebSocket", http: "HTTP API" };

/** A multiaddr for people: long parts (certhash, peer id) shortened; the full one is in `result`. */
const shortAddr = (a) => (a ?? "").split("/").map((p) => (p.length > 20 ? `${p.slice(0, 8)}…${p.slice(-4)}` : p)).join("/");

const short = (hex) => (hex ? `${hex.slice(0, 8)}…` : "");

function when(ms) {
  try {
    return new Intl.DateTimeFormat(undefined, {
      dateStyle: "medium",
      timeStyle: "long",
    }).format(new Date(ms));
  } catch {
    return new Date(ms).toISOString();
  }
}

/** The chain's value for people: digits grouped by three, nothing rounded or dropped. */
function chainText(check, value, currency) {
  const t = check.on_chain;
  if (value && typeof value === "object" && ("decimal" in value || "int" in value)) {
    const m = /^(-?)(\d+)(\.\d+)?$/.exec(t);
    if (m) return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (m[3] ?? "") + (currency ? ` ${currency}` : "");
  }
  return t;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

const STYLE = `
:host { display: inline; }
:host([hidden]) { display: none; }
:host([state="mismatch"]) .value {
  text-decoration: line-through 2px rgba(180, 35, 24, .85);
  background: #fee4e2; border-radius: 3px; box-shadow: 0 0 0 2px #fee4e2;
}
.badge {
  all: unset; box-sizing: border-box; cursor: pointer;
  display: inline-flex; align-items: center; gap: .3em; vertical-align: .08em;
  margin-inline-start: .45em; padding: .12em .55em .12em .4em;
  font: 600 .72rem/1.35 ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  letter-spacing: .01em; white-space: nowrap; border-radius: 999px; border: 1px solid transparent;
  transition: box-shadow .15s, background-color .15s;
}
.badge:focus-visible { outline: 2px solid #2563eb; outline-offset: 2px; }
.badge:hover { box-shadow: 0 1px 3px rgba(16, 24, 40, .18); }
.icon { display: inline-grid; place-items: center; width: 1.05em; height: 1.05em; border-radius: 50%;
  font-size: .78em; line-height: 1; color: #fff; }
.verified .badge { color: #05603a; background: #ecfdf3; border-color: #a6f4c5; }
.verified .icon { background: #12b76a; }
.mismatch .badge { color: #fff; background: #d92d20; border-color: #b42318; font-weight: 700; }
.mismatch .icon { background: #fff; color: #d92d20; }
.unverified .badge { color: #93370d; background: #fffaeb; border-color: #fedf89; }
.unverified .icon { background: #f79009; }
.unreadable .badge { color: #3e4784; background: #f8f9fc; border-color: #d5d9eb; border-style: dashed; }
.unreadable .icon { background: #717bbc; }
.unpinned .badge { color: #93370d; background: #fffaeb; border-color: #f79009; border-style: dashed; }
.unpinned .icon { background: #dc6803; }
.alarm .badge { color: #fff; background: #b42318; border-color: #912018; font-weight: 700; }
.alarm .icon { background: #fff; color: #b42318; }
.checking .badge { color: #475467; background: #f2f4f7; border-color: #e4e7ec; }
.checking .icon { border: 2px solid #98a2b3; border-top-color: transparent; width: .8em; height: .8em;
  animation: spin .8s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .checking .icon { animation: none; } }
.card {
  /* Fixed, placed by #place(): never clipped by a scrolling table or a narrow column. */
  position: fixed; z-index: 2147483000; top: 0; left: 0;
  width: max-content; max-width: min(26rem, 90vw); white-space: normal; text-align: left;
  padding: .7rem .85rem; border-radius: 10px; background: #fff; color: #101828;
  border: 1px solid #eaecf0; box-shadow: 0 12px 24px -6px rgba(16, 24, 40, .18), 0 4px 8px -4px rgba(16, 24, 40, .08);
  font: 400 .78rem/1.45 ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  overflow-wrap: anywhere; opacity: 0; visibility: hidden; transform: translateY(-3px);
  /* Hidden only after a moment, so a pointer can cross the gap to a link in the card. */
  transition: opacity .12s .25s, transform .12s .25s, visibility 0s .37s;
}
:host(:hover) .card, .badge:focus-visible + .card, :host([open]) .card {
  opacity: 1; visibility: visible; transform: none; transition-delay: 0s;
}
.card h3 { margin: 0 0 .35rem; font-size: .85rem; font-weight: 650; }
.verified .card h3 { color: #05603a; } .mismatch .card h3 { color: #b42318; } .unverified .card h3, .unpinned .card h3 { color: #93370d; }
.unreadable .card h3 { color: #3e4784; }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: .12rem .7rem; margin: 0 0 .45rem; }
.card dt { color: #667085; } .card dd { margin: 0; overflow-wrap: anywhere; }
.card code { font: .72rem/1.3 ui-monospace, SFMono-Regular, Menlo, monospace; }
.card ol { list-style: none; margin: .35rem 0 0; padding: .35rem 0 0; border-top: 1px solid #f2f4f7; }
.card li { display: grid; grid-template-columns: 1.1rem 5.4rem minmax(0, 1fr); gap: .25rem; color: #344054; }
.card li .st { font-weight: 700; } .card li.passed .st { color: #12b76a; }
.card li.failed { color: #b42318; font-weight: 600; } .card li.skipped { color: #98a2b3; }
.card .trust { margin-top: .4rem; padding: .35rem .5rem; border-radius: 6px; background: #f9fafb; color: #475467; }
.card .trust.first-use { background: #fffaeb; color: #93370d; }
.card .foot { margin-top: .4rem; color: #667085; font-size: .72rem; }
.card .evidence { margin: .35rem 0; padding: .4rem .5rem; border-radius: 6px; background: #fef3f2; color: #b42318;
  border: 1px solid #fecdca; }
.card .evidence a { color: #b42318; font-weight: 650; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

// ---------------------------------------------------------------------------------------------
// The element
// ---------------------------------------------------------------------------------------------

export class TrustVerify extends HTMLElement {
  static observedAttributes = ["scenario", "record", "field", "relay", "trust", "for", "transport", "locale", "lang", "currency"];

  #root;
  #wrap;
  #badge;
  #label;
  #icon;
  #card;
  #live;
  #observer = null;
  #observed = null;
  #gen = 0;
  #timer = 0;
  #retry = 0;
  #lastShown = null;
  #fresh = false;
  #poll = 0;

  /** The last result: { state, verdict?, check?, reason?, detail? }. */
  result = null;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: "open" });
    const style = el("style");
    style.textContent = STYLE;
    this.#icon = el("span", { class: "icon", "aria-hidden": "true" });
    this.#label = el("span", { class: "label" });
    this.#badge = el("a", { class: "badge", part: "badge", target: "_blank", rel: "noopener" }, this.#icon, this.#label);
    this.#card = el("div", { class: "card", part: "details", role: "tooltip", id: "details" });
    this.#badge.setAttribute("aria-describedby", "details");
    this.#live = el("span", { class: "sr", role: "status", "aria-live": "polite" });
    this.#wrap = el("span", { class: "checking" },
      el("span", { class: "value", part: "value" }, el("slot")), this.#badge, this.#card, this.#live);
    this.#root.append(style, this.#wrap);
    this.#badge.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.#badge.blur();
    });
    const place = () => this.#place();
    this.addEventListener("pointerenter", place);
    this.#badge.addEventListener("focus", place);
  }

  /** Puts the details card under the badge (above it near the bottom), inside the viewport. */
  #place() {
    const r = this.#badge.getBoundingClientRect();
    const card = this.#card;
    const w = card.offsetWidth, h = card.offsetHeight, vw = innerWidth, vh = innerHeight;
    const left = Math.max(8, Math.min(r.left, vw - w - 8));
    let top = r.bottom + 6;
    if (top + h > vh - 8 && r.top - h - 6 >= 8) top = r.top - h - 6;
    card.style.left = `${left}px`;
    card.style.top = `${top}px`;
  }

  connectedCallback() {
    this.#watch();
    this.#schedule(0);
    // Styles can change without touching the figure (a class on an ancestor, a new stylesheet):
    // what is rendered is read again every second, and checked again when it changed.
    clearInterval(this.#poll);
    this.#poll = setInterval(() => {
      if (this.result && this.result.state !== "checking" && this.#lastShown !== null && this.#reading().key !== this.#lastShown) {
        this.#schedule(0);
      }
    }, 1000);
    addEventListener("scroll", this.#onScroll, { capture: true, passive: true });
  }

  #onScroll = () => {
    if (this.matches(":hover") || this.#root.activeElement === this.#badge) this.#place();
  };

  disconnectedCallback() {
    removeEventListener("scroll", this.#onScroll, { capture: true });
    this.#observer?.disconnect();
    this.#observed = null;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
  }

  attributeChangedCallback() {
    if (!this.isConnected) return;
    this.#watch();
    this.#lastShown = null;
    this.#schedule(0);
  }

  /** Checks again now, asking the relays afresh (also when the displayed text did not change). */
  recheck() {
    this.#lastShown = null;
    this.#fresh = true;
    this.#schedule(0);
  }

  #target() {
    const id = this.getAttribute("for");
    return id ? this.ownerDocument.getElementById(id) : this;
  }

  #watch() {
    const target = this.#target() ?? this.ownerDocument.documentElement;
    if (target === this.#observed) return;
    this.#observer?.disconnect();
    this.#observer = new MutationObserver(() => this.#schedule(30));
    // Text of the displayed value (or, while the `for` element is missing, the document, to
    // notice it appear), and the attributes that change how it is rendered or read.
    this.#observer.observe(target, { characterData: true, childList: true, subtree: true, attributes: true,
      attributeFilter: ["style", "class", "hidden", "dir", "lang"] });
    this.#observed = target;
  }

  #schedule(ms) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#check(), ms);
  }

  /** What the figure shows and how the page says to read it; `key` changes when any of it does. */
  #reading() {
    const target = this.#target();
    // What a person sees, not the DOM's text: hidden text is not read, and a figure whose
    // rendering cannot be vouched for is refused (see readRendered).
    const seen = target ? readRendered(target) : null;
    const locale = localeOf(this, target);
    const currency = this.getAttribute("currency")?.trim() || undefined;
    const key = seen && JSON.stringify([seen.text ?? null, seen.unreadable ?? null, locale ?? null, currency ?? null]);
    return { target, seen, locale, currency, key };
  }

  async #check() {
    this.#watch();
    const { target, seen, locale, currency, key } = this.#reading();
    const shown = seen?.text ?? null;
    if (key !== null && key === this.#lastShown && this.result?.state !== "unverified") return;
    this.#lastShown = key;
    const gen = ++this.#gen;

    const scenario = this.getAttribute("scenario")?.trim();
    const record = this.getAttribute("record")?.trim();
    const field = this.getAttribute("field")?.trim();
    // Relays: base URLs or multiaddrs, comma separated; a relay's several multiaddrs may be joined
    // with spaces ("/ip4/…/webrtc-direct/… /ip4/…/ws/…").
    const relays = (this.getAttribute("relay") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    const transport = (this.getAttribute("transport") ?? "").trim().toLowerCase() || "auto";
    const fresh = this.#fresh;
    this.#fresh = false;
    const trust = this.getAttribute("trust")?.trim() || null;
    const index = Number(record);

    if (!scenario || !field || !relays.length || record === undefined || record === "" || !Number.isInteger(index) || index < 0) {
      return this.#show({ state: "unverified", reason: "misconfigured", detail: "<trust-verify> needs the attributes relay, scenario, record (a whole number) and field." });
    }
    if (!TRANSPORTS.includes(transport)) {
      return this.#show({ state: "unverified", reason: "misconfigured", detail: `transport="${transport}": use auto, webrtc, websocket or http.` });
    }
    if (target === null) {
      return this.#show({ state: "unverified", reason: "nothing to check", detail: `No element with id "${this.getAttribute("for")}" on the page.` });
    }
    // Clicking the badge opens the record and its proof in the relay's explorer.
    const web = relays.find((r) => /^https?:\/\//.test(r));
    if (web) this.#badge.href = web.replace(/\/+$/, "") + `/explorer/scenarios/${encodeURIComponent(scenario)}/records/${index}`;
    else this.#badge.removeAttribute("href");
    if (seen.unreadable) {
      return this.#show({ state: "unreadable", reason: "unreadable figure", detail: `This widget cannot tell what the page shows here: ${seen.unreadable}. Nothing was compared.` });
    }
    if (this.result?.state !== "checking") this.#show({ state: "checking" });

    let failure = null;
    for (const relay of relays) {
      try {
        const { verdict, trust: t } = await verify(trust, relay, transport, scenario, index, fresh);
        if (gen !== this.#gen) return;
        const root = { trustKind: t.kind, trustWhy: t.why };
        if (!verdict.verified) {
          const f = verdict.failure;
          // No charter, no green: a charter that could not be had is named as such.
          const reason = f.step === "rules" && verdict.charter_note ? "charter not verified" : STEP_WORDS[f.step] ?? `${f.step} failed`;
          return this.#show({ state: "unverified", verdict, relay, ...root, reason, detail: `The ${f.step} step failed: ${f.reason}` });
        }
        const fields = verdict.record.fields ?? {};
        if (!(field in fields)) {
          return this.#show({ state: "unverified", verdict, relay, ...root, reason: "no such field", detail: `Record ${index} (${verdict.record.kind}) has no field "${field}".` });
        }
        const chainCurrency = verdict.record.currencies?.[field];
        const check = compareDisplay(shown, fields[field], { locale, currency, chainCurrency });
        const chain = chainText(check, fields[field], chainCurrency);
        let r;
        // Green only under the widget's own network; any other trust root is "unpinned" (amber).
        const matched = t.kind === "network" ? "verified" : "unpinned";
        if (check.result === "match") r = { state: matched, verdict, check, chain, relay, locale, ...root };
        else if (check.result === "mismatch") r = { state: "mismatch", verdict, check, chain, relay, locale, ...root, shown: shown.trim() };
        else r = { state: "unreadable", verdict, check, chain, relay, locale, ...root, reason: "unreadable value", detail: `The page shows “${shown.trim()}”, which cannot be compared exactly: ${check.why}.` };
        // A locale set on the figure (or a part of the page) that changes how the page's own
        // language reads it: "630.000" tagged lang="de" on an English page. The tag is the page's
        // word; the reader may well read it the English way. Ambiguous: unreadable.
        const pageLocale = document.documentElement.lang?.trim();
        if (r.state === matched && pageLocale && locale && pageLocale.toLowerCase() !== locale.toLowerCase()) {
          const alt = compareDisplay(shown, fields[field], { locale: pageLocale, currency, chainCurrency });
          if (alt.result === "mismatch") {
            r = { state: "unreadable", verdict, check, chain, relay, locale, ...root, reason: "unreadable value",
              detail: `The page shows “${shown.trim()}”: in “${locale}” (as this figure is tagged) that is the chain's value, but in the page's language (“${pageLocale}”) it reads as ${alt.shown}. It cannot be compared exactly.` };
          }
        }
        r.field = field;
        this.#show(r);
        if (relays.length > 1) this.#crossCheck(gen, r, t, relays, transport, fresh);
        return;
      } catch (e) {
        if (gen !== this.#gen) return;
        failure = e instanceof Unverified ? e : new Unverified("verifier error", String(e?.message ?? e));
        failure.relay = relay;
      }
    }
    this.#show({ state: "unverified", reason: failure.reason, detail: failure.detail, relay: failure.relay });
    if (failure.retry && this.#retry++ < 20) {
      // Accepted but not yet in a final block: blocks come every few hundred milliseconds.
      this.#lastShown = null;
      this.#schedule(1000);
    }
  }

  /** Compares the relays' heads; the badge shows how many agree, or the evidence of a fork. */
  async #crossCheck(gen, r, trust, relays, transport, fresh) {
    let cross;
    try {
      cross = await crossCheck(trust, relays, transport, fresh);
    } catch (e) {
      cross = { error: String(e?.detail || e?.message || e) };
    }
    if (gen !== this.#gen) return;
    if (cross.equivocation && (r.state === "verified" || r.state === "unpinned")) {
      const h = cross.evidence.map((e) => e.height).join(", ");
      return this.#show({ ...r, cross, state: "unverified", reason: "conflicting chains",
        detail: `Relays present two different certified blocks at height ${h}: the validators signed both. Nothing on this chain can be trusted until that is resolved; the evidence is below.` });
    }
    this.#show({ ...r, cross });
  }

  #show(r) {
    this.result = r;
    if (r.state !== "checking") this.#retry = r.state === "unverified" ? this.#retry : 0;
    this.setAttribute("state", r.state);
    // A fork is an alarm, not a shrug: the badge turns red like a mismatch.
    this.#wrap.className = r.cross?.equivocation ? `${r.state} alarm` : r.state;
    const v = r.verdict;
    let icon = "", label = "", aria = "", live = "";
    switch (r.state) {
      case "checking":
        label = "checking";
        aria = "Checking this figure against the chain";
        break;
      case "verified":
        icon = "✓";
        label = "verified";
        aria = `Verified on chain: block ${v.block.height}, recorded by ${when(v.block.time_ms)}, signed by ${v.signers.length} of ${v.validators} validators. Open the record.`;
        live = `Verified: ${label}`;
        break;
      case "unpinned":
        icon = "?";
        label = `unpinned network · ${v.trust.fingerprint.slice(0, 8)}`;
        aria = `Checked, but not under a network this widget knows: ${r.trustWhy ?? v.trust.note}. Fingerprint of the trusted checkpoint ${v.trust.fingerprint}. Open the record.`;
        live = `Not verified: unpinned network`;
        break;
      case "mismatch":
        icon = "✕";
        label = `mismatch · chain: ${r.chain}`;
        aria = `Mismatch: the page shows ${r.shown}, the chain holds ${r.chain}. Open the record.`;
        live = aria;
        break;
      case "unreadable":
        icon = "?";
        // "unreadable value": the text does not read exactly; "unreadable figure": its rendering
        // cannot be vouched for.
        label = r.reason;
        aria = `Not verified: this widget cannot read the figure. ${r.detail ?? ""}`;
        live = "Not verified: unreadable figure";
        break;
      default:
        icon = "!";
        label = `unverified · ${r.reason}`;
        aria = `Not verified: ${r.reason}. ${r.detail ?? ""}`;
        live = `Not verified: ${r.reason}`;
    }
    this.#icon.textContent = icon;
    this.#label.textContent = label;
    this.#badge.setAttribute("aria-label", aria);
    this.#badge.title = "";
    this.#live.setAttribute("aria-live", r.state === "mismatch" ? "assertive" : "polite");
    this.#live.textContent = live;
    this.#card.replaceChildren(...this.#details(r));
    if (this.matches(":hover") || this.#root.activeElement === this.#badge) this.#place();
    if (r.state !== "checking") {
      this.dispatchEvent(new CustomEvent("trust-verify", { detail: r, bubbles: true, composed: true }));
    }
  }

  #details(r) {
    const v = r.verdict;
    const out = [];
    const title = {
      checking: "Checking against the chain…",
      verified: "Verified on chain",
      unpinned: "Checked — but not under a network this widget knows",
      mismatch: "The page does not show what the chain holds",
      unverified: `Not verified: ${r.reason}`,
      unreadable: "Not verified: this figure cannot be read exactly",
    }[r.state];
    out.push(el("h3", {}, title));
    const rows = [];
    if (r.state === "mismatch") {
      rows.push(["Page shows", r.shown], ["Chain holds", r.chain]);
    }
    if (r.detail) out.push(el("div", { class: "why" }, r.detail));
    if (v?.verified) {
      const rec = v.record;
      rows.push(
        ["Record", `${rec.kind} #${rec.index} of ${rec.scenario}`],
        ["Block", `${v.block.height} (final)`],
        ["Recorded by", when(v.block.time_ms)],
        ["Signed by", `${v.signers.length} of ${v.validators} validator${v.validators === 1 ? "" : "s"}: ${v.signers.map(short).join(", ")}`],
      );
      const matched = r.state === "verified" || r.state === "unpinned";
      if (matched) rows.push(["Value", r.chain]);
      const cur = r.check?.currency;
      if (matched && cur) {
        rows.push(["Currency", r.check.currency_on_chain ? `${cur} (on the chain)` : `${cur} — as this page says; the chain does not say`]);
      }
      if (r.check && numeric(r)) rows.push(["Read as", r.locale ? `numbers in “${r.locale}” (the page's language)` : "no language declared: plain digits only"]);
    }
    if (r.relay) rows.push(["Relay", r.relay]);
    const c = r.cross;
    if (c && !c.error) {
      rows.push(["Relays", c.height === undefined ? `none of ${c.asked} served a valid head`
        : `${c.agreeing} of ${c.asked} agree on head ${c.height}`]);
      for (const x of c.relays) {
        const why = { lags: `${x.behind} block${x.behind === 1 ? "" : "s"} behind (at ${x.height})`,
          invalid: `invalid head: ${x.reason}`, equivocates: `conflicting block at ${x.height}`,
          unreachable: `unreachable: ${x.reason}` }[x.status];
        if (why) rows.push(["", `${x.relay}: ${why}`]);
      }
    } else if (c?.error) {
      rows.push(["Relays", `not compared: ${c.error}`]);
    }
    if (v?.transport) rows.push(["Via", `${TRANSPORT_WORDS[v.transport] ?? v.transport} · ${shortAddr(v.address)}`]);
    if (rows.length) {
      const dl = el("dl");
      for (const [k, val] of rows) dl.append(el("dt", {}, k), el("dd", {}, val));
      out.push(dl);
    }
    for (const ev of r.cross?.evidence ?? []) {
      out.push(el("div", { class: "evidence" },
        el("strong", {}, `Equivocation at height ${ev.height}`),
        ` — block ${short(ev.first)} (${ev.first_signers} signatures) and block ${short(ev.second)} (${ev.second_signers} signatures). `,
        evidenceLink(ev)));
    }
    if (v?.steps) {
      const ol = el("ol", { "aria-label": "Verification steps" });
      for (const s of v.steps) {
        const mark = { passed: "✓", failed: "✕", skipped: "–" }[s.status];
        ol.append(el("li", { class: s.status }, el("span", { class: "st", "aria-hidden": "true" }, mark),
          el("span", {}, s.step), el("span", {}, s.detail)));
      }
      out.push(ol);
    }
    if (v?.trust) {
      if (r.trustKind === "network") {
        out.push(el("div", { class: "trust network" }, v.trust.note));
      } else {
        // Not the widget's own network: say whose word the check rests on, and its fingerprint.
        out.push(el("div", { class: "trust first-use" },
          `⚠ Unpinned network: ${r.trustWhy ?? "no network spec"}. ${v.trust.note}. Fingerprint ${v.trust.fingerprint}. A page can choose this trust root, so this badge is never shown as verified.`));
      }
    }
    if (r.state !== "checking") out.push(el("div", { class: "foot" }, "Click the badge to open the record and its proof in the explorer."));
    return out;
  }
}

if (!customElements.get("trust-verify")) customElements.define("trust-verify", TrustVerify);
