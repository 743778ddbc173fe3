// The demo project's own page script: it reads the records from the relay's API and renders them
// the way this site formats money. The <trust-verify> badges then check what was rendered.
//
// Everything from the URL or the network is put into the page as text (textContent, DOM nodes),
// never as markup: the relay serves this page with a Content-Security-Policy that forbids inline
// script, and no string below ever reaches innerHTML.
const params = new URLSearchParams(location.search);
/** An http(s) base URL, or null: a `javascript:` or `data:` "relay" never becomes a link. */
const httpUrl = (s) => {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href.replace(/\/+$/, "") : null;
  } catch {
    return null;
  }
};
const RELAY = httpUrl(params.get("relay") || location.origin) ?? location.origin;
const TRUST = params.get("trust");
// The badges' relays (comma separated, tried in order; default: the page's relay) and transport
// (auto | webrtc | websocket | http; default auto: libp2p WebRTC-direct, then WebSocket).
const BADGE_RELAYS = params.get("relays") || RELAY;
const TRANSPORT = params.get("transport");
const SCENARIO = "demo/budget";
const api = `${RELAY}/v1/scenarios/${encodeURIComponent(SCENARIO)}`;

document.getElementById("relay-link").textContent = RELAY;
document.getElementById("relay-link").href = RELAY + "/";
document.getElementById("api-link").href = `${api}/records?limit=50`;
if (TRUST) document.getElementById("trust-note").textContent =
  `This link asks the badges to check against ${TRUST}: a trust root chosen by a link, not by you, so no badge can be green.`;

const f = (entry, name) => {
  const v = entry.body?.fields?.[name];
  return v && Object.values(v)[0];
};
const yuan = (dec) => {
  const [i, d] = String(dec).split(".");
  return "¥ " + i.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (d ? "." + d : "");
};
const day = (ms) => new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric" }).format(new Date(ms));

function badge(index, field, text, extra = {}) {
  const b = document.createElement("trust-verify");
  for (const [k, v] of Object.entries({ relay: BADGE_RELAYS, scenario: SCENARIO, record: index, field, ...extra })) b.setAttribute(k, v);
  if (TRUST) b.setAttribute("trust", TRUST);
  if (TRANSPORT) b.setAttribute("transport", TRANSPORT);
  if (text !== undefined) b.textContent = text;
  return b;
}
const td = (cls, ...kids) => { const e = document.createElement("td"); if (cls) e.className = cls; e.append(...kids); return e; };

async function get(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${r.status} ${url}`);
  return r.json();
}

try {
  const first = await get(`${api}/records?from=1&limit=12`);
  const lines = first.records.filter((r) => r.entry.kind === "budget_line" && r.anchored);
  const tb = document.getElementById("lines");
  tb.replaceChildren();
  let total = 0n, largest = null;
  for (const r of lines) {
    const e = r.entry;
    const cents = BigInt(String(f(e, "amount")).replace(".", ""));
    total += cents;
    if (!largest || cents > largest.cents) largest = { cents, r };
    const tr = document.createElement("tr");
    tr.append(td("code", f(e, "code")), td("", f(e, "title")), td("muted", f(e, "owner")),
      td("num", badge(r.index, "amount", yuan(f(e, "amount")))));
    tb.append(tr);
  }
  const t = total.toString();
  document.getElementById("total-budget").textContent = yuan(t.slice(0, -2) + "." + t.slice(-2));
  document.getElementById("n-lines").textContent = lines.length;
  if (largest) {
    const e = largest.r.entry;
    document.getElementById("largest").replaceChildren(badge(largest.r.index, "amount", yuan(f(e, "amount"))));
    document.getElementById("largest-title").textContent = `${f(e, "code")} · ${f(e, "title")}`;
  }

  const anchored = first.anchored_size;
  const from = Math.max(13, anchored - 40);
  const recent = await get(`${api}/records?from=${from}&limit=40`);
  const pays = recent.records.filter((r) => r.entry.kind === "payment" && r.anchored).slice(-8).reverse();
  document.getElementById("n-payments").textContent = (anchored - 15).toLocaleString("en");
  const pb = document.getElementById("pays");
  pb.replaceChildren();
  for (const r of pays) {
    const e = r.entry;
    const tr = document.createElement("tr");
    const payee = document.createElement("span");
    payee.id = `payee-${r.index}`;
    payee.textContent = f(e, "payee");
    tr.append(td("muted nowrap", day(e.time_ms)), td("", payee, badge(r.index, "payee", undefined, { for: payee.id })),
      td("code", f(e, "budget_line")), td("muted", f(e, "approver")),
      td("num", badge(r.index, "amount", yuan(f(e, "amount")))));
    pb.append(tr);
  }
} catch (err) {
  // Text only: RELAY comes from this page's URL and the message from the network; neither may
  // ever be parsed as markup.
  for (const id of ["lines", "pays"]) {
    const cell = td("loading error", `The records could not be loaded from ${RELAY}: ${err.message}`);
    cell.colSpan = 5;
    const tr = document.createElement("tr");
    tr.append(cell);
    document.getElementById(id).replaceChildren(tr);
  }
}
