//! `/explorer/verify?receipt=<url>`: verify a receipt offline — pasted, or fetched from a URL —
//! against a trusted checkpoint: the pinned one, a pasted one, or (said plainly: trust on first
//! use) the serving relay's. No relay is asked anything else.

use leptos::prelude::*;
use leptos_router::hooks::use_location;
use trustchain_core::client::Shell;
use trustchain_core::verify::light_client::TrustedCheckpoint;
use trustchain_core::verify::receipt;

use super::net;
use super::proof::{ProofPicture, Provenance, ProvenanceBox, RecordFields, VerdictBanner};
use super::state::{TrustSource, TrustState, ctx};
use crate::check::{self, CharterUse, Checked};
use crate::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TrustChoice {
    Pinned,
    Pasted,
    Relay,
}

#[derive(Clone)]
struct Outcome {
    checked: Checked,
    provenance: Provenance,
}

/// The page.
#[component]
pub fn VerifyPage() -> impl IntoView {
    let c = ctx();
    super::ui::set_title("Verify a receipt");
    let location = use_location();
    let receipt = RwSignal::new(String::new());
    let source = RwSignal::new("pasted".to_string());
    let fetch_error = RwSignal::new(None::<String>);
    // The checkpoint you pinned, or the network this explorer was served with.
    let pinned = move || match c.trust.get() {
        TrustState::Ready(t) if t.source.trusted() => Some(t.checkpoint),
        _ => None,
    };
    let choice = RwSignal::new(None::<TrustChoice>);
    let effective = move || {
        choice.get().unwrap_or(if pinned().is_some() {
            TrustChoice::Pinned
        } else {
            TrustChoice::Relay
        })
    };
    let trust_text = RwSignal::new(String::new());
    let charter_text = RwSignal::new(String::new());
    let outcome = RwSignal::new(None::<Result<Outcome, String>>);
    let busy = RwSignal::new(false);

    // ?receipt=<url>: fetch the receipt text.
    Effect::new(move |_| {
        if let Some(url) = super::state::param_in(&location.search.get(), "receipt") {
            source.set(url.clone());
            leptos::task::spawn_local(async move {
                match net::text(&url).await {
                    Ok(t) => {
                        receipt.set(t.trim().to_string());
                        fetch_error.set(None);
                    }
                    Err(e) => fetch_error.set(Some(e)),
                }
            });
        }
    });

    let run = move |_| {
        let text = receipt.get_untracked();
        let which = effective();
        let pasted_trust = trust_text.get_untracked();
        let pasted_charter = charter_text.get_untracked();
        let src = source.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = verify(c, which, &text, &pasted_trust, &pasted_charter, src).await;
            outcome.set(Some(r));
            busy.set(false);
        });
    };

    async fn verify(
        c: super::state::Ctx,
        which: TrustChoice,
        text: &str,
        pasted_trust: &str,
        pasted_charter: &str,
        src: String,
    ) -> Result<Outcome, String> {
        let (cp, trust, first_use): (TrustedCheckpoint, String, bool) = match which {
            TrustChoice::Pinned => match c.trust.get_untracked() {
                TrustState::Ready(t) if t.source.trusted() => {
                    let h = t.checkpoint.height;
                    let what = if t.source == TrustSource::Pinned {
                        format!(
                            "the checkpoint you pinned (block {}, fingerprint {})",
                            fmt::thousands(h),
                            check::fingerprint(&t.checkpoint)
                        )
                    } else {
                        format!(
                            "this explorer's network (chain {}, followed from block {})",
                            t.checkpoint.chain_id,
                            fmt::thousands(h)
                        )
                    };
                    (t.checkpoint, what, false)
                }
                _ => return Err("no checkpoint is pinned".into()),
            },
            TrustChoice::Pasted => {
                let cp = check::parse_trust(pasted_trust)?;
                let h = cp.height;
                (
                    cp,
                    format!("the checkpoint you pasted (block {})", fmt::thousands(h)),
                    false,
                )
            }
            TrustChoice::Relay => {
                let url = c.api().url("/v1/trust");
                let cp: TrustedCheckpoint = check::checked_trust(net::json(&url).await?)?;
                let h = cp.height;
                (
                    cp,
                    format!("{url} (block {}), taken on first use", fmt::thousands(h)),
                    true,
                )
            }
        };
        let charter = if pasted_charter.trim().is_empty() {
            None
        } else {
            Some(check::parse_charter(pasted_charter)?)
        };
        let checked = Shell::new(cp).check(
            receipt::from_base64url(text),
            charter.as_ref().map(|ch| (ch, CharterUse::Pasted)),
        );
        Ok(Outcome {
            checked,
            provenance: Provenance {
                source: src,
                trust,
                first_use,
                at_ms: net::now_ms(),
            },
        })
    }

    view! {
        <section class="hero">
            <p class="eyebrow">"Offline verification"</p>
            <h1>"Verify a receipt"</h1>
            <p class="lead">
                "A receipt is a record with its whole proof. Paste one — or open "
                <code>"/explorer/verify?receipt=<url>"</code>
                " — and check it here, in WebAssembly, against a checkpoint you trust. No relay is needed: with a pinned or pasted checkpoint, nothing leaves this page."
            </p>
        </section>
        <section class="card">
            <div class="vgrid">
                <div>
                    <label for="receipt-input">"Receipt " <small>"(base64url text)"</small></label>
                    <textarea id="receipt-input" spellcheck="false" placeholder="AQEAAAA…"
                        prop:value=move || receipt.get()
                        on:input=move |ev| { receipt.set(event_target_value(&ev)); source.set("pasted".into()); }></textarea>
                    {move || fetch_error.get().map(|e| view! { <p class="bad small">"Could not fetch the receipt: " {e}</p> })}
                    <details class="opt">
                        <summary>"Check the charter's rules too (optional)"</summary>
                        <textarea id="charter-input" spellcheck="false" placeholder="the charter's JSON, e.g. GET /v1/scenarios/demo%2Fbudget"
                            prop:value=move || charter_text.get()
                            on:input=move |ev| charter_text.set(event_target_value(&ev))></textarea>
                    </details>
                </div>
                <div>
                    <label>"Trusted checkpoint"</label>
                    <div class="choices">
                        <label class="choice" class:disabled=move || pinned().is_none()>
                            <input type="radio" name="trust" id="trust-pinned" disabled=move || pinned().is_none()
                                prop:checked=move || effective() == TrustChoice::Pinned
                                on:change=move |_| choice.set(Some(TrustChoice::Pinned))/>
                            <span><b>"Pinned in this browser, or this explorer's network"</b>
                                {move || match pinned() {
                                    Some(cp) => format!(" — chain {}, block {}", cp.chain_id, fmt::thousands(cp.height)),
                                    None => " — none yet (see Trust)".to_string(),
                                }}</span>
                        </label>
                        <label class="choice">
                            <input type="radio" name="trust" id="trust-pasted"
                                prop:checked=move || effective() == TrustChoice::Pasted
                                on:change=move |_| choice.set(Some(TrustChoice::Pasted))/>
                            <span><b>"Paste one"</b> " — the JSON of " <code>"GET /v1/trust"</code> " from a source you trust"</span>
                        </label>
                        {move || (effective() == TrustChoice::Pasted).then(|| view! {
                            <textarea id="trust-input" class="short" spellcheck="false" placeholder="{\"chain_id\": …, \"height\": …, \"block\": …, \"validators\": …}"
                                prop:value=move || trust_text.get()
                                on:input=move |ev| trust_text.set(event_target_value(&ev))></textarea>
                        })}
                        <label class="choice">
                            <input type="radio" name="trust" id="trust-relay"
                                prop:checked=move || effective() == TrustChoice::Relay
                                on:change=move |_| choice.set(Some(TrustChoice::Relay))/>
                            <span><b>"This relay's, on first use"</b> " — "
                                <code>{move || c.relay.get()}</code> " vouches for itself; fine for a look, not for an audit"</span>
                        </label>
                    </div>
                    <button class="btn wide" id="verify-button" on:click=run
                        disabled=move || busy.get() || receipt.get().trim().is_empty()>"Verify"</button>
                </div>
            </div>
        </section>
        {move || outcome.get().map(|o| match o {
            Err(e) => view! { <div class="verdict bad" id="verdict" data-verified="false"><div class="v-icon">"!"</div><div><h2>"Could not verify"</h2><p>{e}</p></div></div> }.into_any(),
            Ok(o) => view! {
                <VerdictBanner checked=o.checked.clone() trusted=!o.provenance.first_use/>
                <div class="grid2 top">
                    <section class="card">
                        <div class="card-h"><h2>"The record"</h2></div>
                        {match o.checked.proof.as_ref() {
                            Some(p) => view! { <RecordFields entry=p.entry.clone() verified=o.checked.verdict.is_verified()/> }.into_any(),
                            None => view! { <p class="muted">"The receipt did not decode, so there is no record to show."</p> }.into_any(),
                        }}
                    </section>
                    <section class="card">
                        <div class="card-h"><h2>"Provenance"</h2></div>
                        <ProvenanceBox p=o.provenance.clone()/>
                    </section>
                </div>
                <section class="card">
                    <div class="card-h"><h2>"The proof"</h2></div>
                    <ProofPicture checked=o.checked trusted=!o.provenance.first_use/>
                </section>
            }.into_any(),
        })}
    }
}
