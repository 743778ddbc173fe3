//! `/explorer/scenarios/{id}/records/{i}`: a record, its fields, and its proof as a picture,
//! verified by the light client from the trusted checkpoint.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::verify::receipt;

use super::net;
use super::proof::{ProofPicture, Provenance, ProvenanceBox, RecordFields, VerdictBanner};
use super::state::{Ctx, TrustSource, TrustState, ctx};
use super::ui::{ErrorBox, Loading, record_href, scenario_href};
use crate::check::{self, Checked};
use crate::fmt;

/// The route's view.
#[component]
pub fn RecordPage() -> impl IntoView {
    let params = use_params_map();
    move || {
        let p = params.read();
        let id = fmt::decode_component(&p.get("id").unwrap_or_default());
        match p.get("index").and_then(|i| i.parse::<u64>().ok()) {
            Some(index) => view! { <Record id=id index=index/> }.into_any(),
            None => view! { <ErrorBox message="a record number is a whole number"/> }.into_any(),
        }
    }
}

#[derive(Clone)]
struct Loaded {
    checked: Checked,
    provenance: Provenance,
    receipt: Option<String>,
}

async fn load(c: Ctx, id: &str, index: u64) -> Result<Loaded, String> {
    let TrustState::Ready(trust) = c.trust.get_untracked() else {
        return Err("no trusted checkpoint".into());
    };
    // Core's shell: epochs followed, the charter verified as record 0 first (no charter, no
    // green), and the proof must be of the record this page's URL names.
    let sid = ScenarioId::new(id).map_err(|e| e.to_string())?;
    let shell = c.shell().ok_or("no trusted checkpoint")?;
    let checked = shell.fetch_and_verify(&c.api(), &sid, index).await?;
    c.client_version.update(|v| *v += 1);
    let receipt = checked.proof.as_ref().map(receipt::to_base64url);
    let (trust_text, first_use) = match &trust.source {
        TrustSource::Pinned => (
            format!(
                "the checkpoint you pinned (chain {}, block {}, fingerprint {})",
                trust.checkpoint.chain_id,
                fmt::thousands(trust.checkpoint.height),
                check::fingerprint(&trust.checkpoint)
            ),
            false,
        ),
        TrustSource::Network { genesis } => (
            format!(
                "this explorer's network: chain {}, genesis {}…, followed from block {}",
                trust.checkpoint.chain_id,
                &genesis[..genesis.len().min(16)],
                fmt::thousands(trust.checkpoint.height)
            ),
            false,
        ),
        TrustSource::FirstUse { relay, why } => (
            format!(
                "{relay}/v1/trust (block {}, fingerprint {}), taken on first use: {why}",
                fmt::thousands(trust.checkpoint.height),
                check::fingerprint(&trust.checkpoint)
            ),
            true,
        ),
    };
    Ok(Loaded {
        checked,
        provenance: Provenance {
            source: c.api().record(id, index, "bytes"),
            trust: trust_text,
            first_use,
            at_ms: net::now_ms(),
        },
        receipt,
    })
}

/// A record with its verified proof.
#[component]
pub fn Record(id: String, index: u64) -> impl IntoView {
    let c = ctx();
    super::ui::set_title(&format!("Record {index} of {id}"));
    let id = StoredValue::new(id);
    let data = LocalResource::new(move || {
        c.relay.track();
        let ready = matches!(c.trust.get(), TrustState::Ready(_));
        let failed = match c.trust.get() {
            TrustState::Failed(e) => Some(e),
            _ => None,
        };
        async move {
            if let Some(e) = failed {
                return Some(Err(format!("no trusted checkpoint: {e}")));
            }
            if !ready {
                return None;
            }
            Some(load(c, &id.get_value(), index).await)
        }
    });
    let sid = id.get_value();
    view! {
        <nav class="crumbs">
            <a href=c.link("/explorer/scenarios")>"Scenarios"</a>
            <span>"/"</span>
            <a href=scenario_href(&sid)>{sid.clone()}</a>
            <span>"/"</span>
            <span>"record " {index}</span>
        </nav>
        <section class="hero slim">
            <p class="eyebrow">"Record " <code>{format!("#{index}")}</code> " of " <code>{sid.clone()}</code></p>
            <h1>"Record " {index}</h1>
            <p class="jump">
                {(index > 0).then(|| view! { <a href=record_href(&sid, index - 1)>"‹ record " {index - 1}</a> })}
                <a href=record_href(&sid, index + 1)>"record " {index + 1} " ›"</a>
                <a href=scenario_href(&sid)>"all records"</a>
            </p>
        </section>
        {move || match data.get() {
            None | Some(None) => view! { <Loading what="Fetching the proof and verifying it…"/> }.into_any(),
            Some(Some(Err(e))) => view! { <ErrorBox message=e/> }.into_any(),
            Some(Some(Ok(l))) => {
                let name = format!("{}-record-{index}.receipt.txt", id.get_value().replace('/', "-"));
                let receipt_url = c.api().record(&id.get_value(), index, "receipt");
                let verify_href = c.link(&format!("/explorer/verify?receipt={}", fmt::encode_component(&receipt_url)));
                view! {
                    <VerdictBanner checked=l.checked.clone() trusted=!l.provenance.first_use/>
                    <div class="grid2 top">
                        <section class="card">
                            <div class="card-h"><h2>"The record"</h2></div>
                            {l.checked.proof.as_ref().map(|p| view! { <RecordFields entry=p.entry.clone() verified=l.checked.verdict.is_verified() && !l.provenance.first_use/> })}
                        </section>
                        <section class="card">
                            <div class="card-h"><h2>"Provenance"</h2></div>
                            <ProvenanceBox p=l.provenance.clone()/>
                            <div class="actions">
                                {l.receipt.as_ref().map(|r| view! {
                                    <a class="btn" id="download-receipt" download=name.clone()
                                        href=net::data_url("text/plain", r)>"Download the receipt"</a>
                                })}
                                <a class="btn ghost" href=verify_href>"Verify it offline"</a>
                            </div>
                        </section>
                    </div>
                    <section class="card">
                        <div class="card-h"><h2>"The proof"</h2>
                            <span class="muted">"record → log root → checkpoint → anchor root → block → validators"</span></div>
                        <ProofPicture checked=l.checked trusted=!l.provenance.first_use/>
                    </section>
                }.into_any()
            }
        }}
    }
}
