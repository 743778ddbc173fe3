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
function chainText(check, value) {
  const t = check.on_chain;
  if (value && typeof value === "object" && ("decimal" in value || "int" in value)) {
    const m = /^(-?)(\d+)(\.\d+)?$/.exec(t);
    if (m) return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (m[3] ?? "");
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
  static observedAttributes = ["scenario", "record", "field", "relay", "trust", "for", "transport"];

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
    // notice it appear).
    this.#observer.observe(target, { characterData: true, childList: true, subtree: true });
    this.#observed = target;
  }

  #schedule(ms) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#check(), ms);
  }

  async #check() {
    this.#watch();
    const target = this.#target();
    const shown = target ? target.textContent : null;
    if (shown !== null && shown === this.#lastShown && this.result?.state !== "unverified") return;
    this.#lastShown = shown;
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
        const check = compareDisplay(shown, fields[field]);
        const chain = chainText(check, fields[field]);
        let r;
        // Green only under the widget's own network; any other trust root is "unpinned" (amber).
        if (check.result === "match") r = { state: t.kind === "network" ? "verified" : "unpinned", verdict, check, chain, relay, ...root };
        else if (check.result === "mismatch") r = { state: "mismatch", verdict, check, chain, relay, ...root, shown: shown.trim() };
        else r = { state: "unverified", verdict, check, chain, relay, ...root, reason: "unreadable value", detail: `The page shows “${shown.trim()}”, which cannot be compared exactly: ${check.why}.` };
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
      if (r.state === "verified" || r.state === "unpinned") rows.push(["Value", r.chain]);
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
