// The offline receipt verifier: everything runs in this page, nothing is fetched. Every value
// is put into the page as text (DOM nodes), never as markup.
import init, { verifyReceipt } from "../widget/trustchain_verify.js";
const $ = (id) => document.getElementById(id);
const h = (tag, attrs = {}, ...kids) => { const e = document.createElement(tag); Object.assign(e, attrs); e.append(...kids); return e; };
await init();
$("status").textContent = "Ready. Nothing you paste leaves this page.";
const params = new URLSearchParams(location.hash.slice(1));
if (params.get("receipt")) $("receipt").value = params.get("receipt");

$("go").addEventListener("click", () => {
  const out = $("out");
  let v;
  const t0 = performance.now();
  try {
    v = verifyReceipt($("receipt").value, $("trust").value, $("charter").value.trim() || undefined);
  } catch (e) {
    out.replaceChildren(h("div", { className: "verdict fail" }, h("h3", {}, "Cannot verify"), h("p", {}, e.message ?? String(e))));
    $("status").textContent = "The trusted checkpoint is not usable.";
    return;
  }
  const ms = (performance.now() - t0).toFixed(1);
  // No charter, no green: a record's proof that holds while its rules were not checked (no
  // charter receipt given) is said so, in amber.
  const rulesUnchecked = v.verified && v.record.kind !== "charter"
    && v.steps.some((s) => s.step === "rules" && s.status === "skipped");
  const head = rulesUnchecked
    ? h("div", { className: "verdict warn", id: "verdict" }, h("h3", {}, "? Proof holds — rules not checked"),
        h("p", {}, `Record ${v.record.index} of ${v.record.scenario} is in final block ${v.block.height}; without the scenario's charter (the receipt of its record 0) its schema and rules were not checked, so it is not shown as verified.`))
    : v.verified
    ? h("div", { className: "verdict ok", id: "verdict" }, h("h3", {}, "✓ Verified"),
        h("p", {}, `Record ${v.record.index} of ${v.record.scenario} is in final block ${v.block.height}, recorded by ${new Date(v.block.time_ms).toISOString()}; ${v.signers.length} of ${v.validators} validator(s) signed it.`))
    : h("div", { className: "verdict fail", id: "verdict" }, h("h3", {}, `✕ Not verified — ${v.failure.step} step failed`),
        h("p", {}, v.failure.reason));
  const table = h("table", { className: "steps" }, h("tbody", {}, ...v.steps.map((s) =>
    h("tr", { className: s.status }, h("td", {}, { passed: "✓", failed: "✕", skipped: "–" }[s.status]), h("td", {}, s.step), h("td", {}, s.detail)))));
  const kids = [head, table];
  if (v.verified && v.record.fields) {
    const dl = h("dl");
    for (const [k, val] of Object.entries(v.record.fields)) dl.append(h("dt", {}, k), h("dd", {}, String(Object.values(val)[0])));
    kids.push(h("div", { className: "fields" }, h("h3", {}, `${v.record.kind} #${v.record.index}`), dl));
  }
  out.replaceChildren(...kids);
  $("status").textContent = `Checked in ${ms} ms, offline.`;
});
