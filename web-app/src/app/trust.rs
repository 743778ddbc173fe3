//! `/explorer/trust`: which checkpoint the explorer trusts and where it came from; pinning one;
//! the relays it reads; equivocation evidence the light client kept.

use leptos::prelude::*;
use trustchain_core::verify::light_client::TrustedCheckpoint;

use super::net;
use super::state::{TrustSource, TrustState, ctx};
use super::ui::{Hex, Loading};
use crate::check;
use crate::fmt;

/// The page.
#[component]
pub fn TrustPage() -> impl IntoView {
    let c = ctx();
    super::ui::set_title("Trust");
    let paste = RwSignal::new(String::new());
    let paste_error = RwSignal::new(None::<String>);
    let relay_input = RwSignal::new(c.relay.get_untracked());
    let others_input = RwSignal::new(c.others.get_untracked().join("\n"));
    let saved = RwSignal::new(false);

    // Replacing a pinned checkpoint by another needs the person's explicit confirmation, with
    // both fingerprints in front of them: a pasted text (or anything else) never silently takes
    // the place of what they pinned.
    let pending = RwSignal::new(None::<TrustedCheckpoint>);
    let pin_or_ask = move |cp: TrustedCheckpoint| match super::state::Ctx::pinned() {
        Some(old) if old != cp => pending.set(Some(cp)),
        _ => {
            c.pin(&cp);
            pending.set(None);
        }
    };
    let pin_pasted = move |_| match check::parse_trust(&paste.get_untracked()) {
        Ok(cp) => {
            pin_or_ask(cp);
            paste.set(String::new());
            paste_error.set(None);
        }
        Err(e) => paste_error.set(Some(e)),
    };
    let confirm = move |_| {
        if let Some(cp) = pending.get_untracked() {
            c.pin(&cp);
        }
        pending.set(None);
    };
    let save_relays = move |_| {
        c.set_relays(&relay_input.get_untracked(), &others_input.get_untracked());
        saved.set(true);
    };
    let evidence = move || {
        c.client_version.track();
        c.shell()
            .map(|s| s.with_client(|lc| lc.evidence().to_vec()))
            .unwrap_or_default()
    };

    view! {
        <section class="hero">
            <p class="eyebrow">"Trust"</p>
            <h1>"What this explorer trusts"</h1>
            <p class="lead">
                "A proof is only as good as the validator set it is checked against. The explorer starts from a "
                <b>"trusted checkpoint"</b> " — a validator set at a block — and follows epoch changes from it, never trusting a relay's word for what is final."
            </p>
        </section>

        <section class="card" id="trust-in-use">
            <div class="card-h"><h2>"The checkpoint in use"</h2></div>
            {move || match c.trust.get() {
                TrustState::Loading => view! { <Loading what="Loading the trusted checkpoint…"/> }.into_any(),
                TrustState::Failed(e) => view! {
                    <div class="errorbox">"No trusted checkpoint: " {e} ". Paste one below."</div>
                }.into_any(),
                TrustState::Ready(t) => {
                    let cp = t.checkpoint.clone();
                    let json = serde_json::to_string_pretty(&cp).unwrap_or_default();
                    let is_pinned = t.source == TrustSource::Pinned;
                    let fp = check::fingerprint(&cp);
                    view! {
                        {match &t.source {
                            TrustSource::Pinned => view! {
                                <div class="verdict ok small" id="trust-mode" data-mode="pinned"><b>"Pinned."</b>
                                    " You pinned this checkpoint in this browser; every proof is checked against it, whichever relay serves it. Replacing it asks for your confirmation."</div>
                            }.into_any(),
                            TrustSource::Network { genesis } => view! {
                                <div class="verdict ok small" id="trust-mode" data-mode="network"><b>"This explorer's network."</b>
                                    " The relay that served this explorer names its network (chain, genesis " <code>{genesis[..genesis.len().min(16)].to_string()}"…"</code>
                                    ", a recent checkpoint) beside its files; epoch changes are followed from there. A link cannot change it; pin a checkpoint of your own to override it."</div>
                            }.into_any(),
                            TrustSource::FirstUse { relay, why } => view! {
                                <div class="verdict warn small" id="trust-mode" data-mode="first-use"><b>"Trust on first use — unpinned."</b>
                                    " This checkpoint came from " <code>{relay.clone()}</code>
                                    " — the same relay whose proofs it checks (" {why.clone()} "). That shows the relay agrees with itself, not that it tells the truth, so nothing is shown as verified. "
                                    "Compare it with other relays or with a source you trust, then pin it."</div>
                            }.into_any(),
                        }}
                        <dl class="kv">
                            <dt>"fingerprint"</dt><dd><code id="trust-fingerprint">{fp}</code>
                                <span class="muted small">" blake3 of the checkpoint's canonical encoding: compare it with your source"</span></dd>
                            <dt>"chain"</dt><dd><code>{cp.chain_id.clone()}</code></dd>
                            <dt>"block"</dt><dd>{fmt::thousands(cp.height)} " · " <Hex value=cp.block.to_hex()/></dd>
                            <dt>"epoch"</dt><dd>{cp.validators.epoch}</dd>
                            <dt>"validator set"</dt><dd><Hex value=cp.validators.hash().to_hex()/></dd>
                            <dt>"validators"</dt><dd>{cp.validators.validators.iter().map(|v| view! {
                                <div><Hex value=v.key.to_hex()/> <span class="muted small">" weight " {fmt::thousands(v.weight)}</span></div>
                            }).collect_view()}</dd>
                        </dl>
                        <div class="actions">
                            {if is_pinned {
                                view! { <button class="btn ghost" id="unpin" on:click=move |_| c.unpin()>"Unpin (back to this explorer's network)"</button> }.into_any()
                            } else {
                                let cp2: TrustedCheckpoint = cp.clone();
                                view! { <button class="btn" id="pin-current" on:click=move |_| pin_or_ask(cp2.clone())>"Pin this checkpoint"</button> }.into_any()
                            }}
                            <a class="btn ghost" download="trusted-checkpoint.json" href=net::data_url("application/json", &json)>"Download as JSON"</a>
                        </div>
                    }.into_any()
                }
            }}
        </section>

        <div class="grid2">
            <section class="card">
                <div class="card-h"><h2>"Pin a checkpoint"</h2></div>
                <p class="muted">"Paste the JSON of " <code>"GET /v1/trust"</code> " obtained from a source you trust (another relay, the project, an auditor). It is kept in this browser's storage."</p>
                <textarea id="pin-input" spellcheck="false" placeholder="{\"chain_id\": …, \"height\": …, \"block\": …, \"validators\": {…}}"
                    prop:value=move || paste.get() on:input=move |ev| paste.set(event_target_value(&ev))></textarea>
                {move || paste_error.get().map(|e| view! { <p class="bad small" id="pin-error">{e}</p> })}
                {move || pending.get().map(|new| {
                    let old = super::state::Ctx::pinned().map(|o| check::fingerprint(&o)).unwrap_or_default();
                    view! {
                        <div class="verdict warn small" id="pin-confirm">
                            <b>"Replace your pinned checkpoint?"</b>
                            " You pinned " <code id="pin-old">{old}</code> "; this is " <code id="pin-new">{check::fingerprint(&new)}</code>
                            " (chain " {new.chain_id.clone()} ", block " {fmt::thousands(new.height)} "). Every proof will be checked against the new one."
                            <div class="actions">
                                <button class="btn" id="pin-confirm-yes" on:click=confirm>"Replace it"</button>
                                <button class="btn ghost" id="pin-confirm-no" on:click=move |_| pending.set(None)>"Keep mine"</button>
                            </div>
                        </div>
                    }
                })}
                <div class="actions"><button class="btn" id="pin-pasted" on:click=pin_pasted
                    disabled=move || paste.get().trim().is_empty()>"Pin it"</button></div>
            </section>
            <section class="card">
                <div class="card-h"><h2>"Relays"</h2></div>
                <p class="muted">"The relay this explorer reads (its API at " <code>"/v1/…"</code> "), and others whose heads the Network page compares with it. "
                    "A link with " <code>"?relay=<url>"</code> " reads another relay for that visit."</p>
                <label for="relay-input">"Relay"</label>
                <input id="relay-input" type="url" prop:value=move || relay_input.get()
                    on:input=move |ev| { relay_input.set(event_target_value(&ev)); saved.set(false); }/>
                <label for="others-input">"Other relays " <small>"(one per line)"</small></label>
                <textarea id="others-input" class="short" spellcheck="false" placeholder="http://relay-b.example:8080"
                    prop:value=move || others_input.get()
                    on:input=move |ev| { others_input.set(event_target_value(&ev)); saved.set(false); }></textarea>
                <div class="actions"><button class="btn" on:click=save_relays>"Save"</button>
                    {move || saved.get().then(|| view! { <span class="ok small">"saved"</span> })}</div>
            </section>
        </div>

        <section class="card">
            <div class="card-h"><h2>"Equivocation evidence"</h2></div>
            {move || {
                let ev = evidence();
                if ev.is_empty() {
                    view! { <p class="muted">"None seen: no two certified blocks at one height among the headers this explorer checked."</p> }.into_any()
                } else {
                    let json = serde_json::to_string_pretty(&ev).unwrap_or_default();
                    view! {
                        <div class="verdict bad small"><b>{ev.len()} " conflicting certified block pair(s)."</b>
                            " Validators holding more than a third of the weight signed two blocks at one height. Keep this evidence and report it."</div>
                        <ul>{ev.iter().map(|e| view! {
                            <li>"height " {e.first.height} ": " <Hex value=e.first.hash().to_hex()/> " vs " <Hex value=e.second.hash().to_hex()/></li>
                        }).collect_view()}</ul>
                        <a class="btn" download="equivocation-evidence.json" href=net::data_url("application/json", &json)>"Download the evidence"</a>
                    }.into_any()
                }
            }}
        </section>
    }
}
