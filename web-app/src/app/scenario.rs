//! `/explorer/scenarios/{id}`: a scenario — its charter rendered as its verification interface
//! (itself verified as record 0), its records with pagination, its checkpoints, and a
//! consistency check between two of them.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::scenario::charter::{Charter, RecordKind};
use trustchain_core::scenario::checkpoint::{Checkpoint, SignedCheckpoint};
use trustchain_core::scenario::contract::Body;
use trustchain_core::scenario::entry::Entry;
use trustchain_core::scenario::schema::{CurrencyTie, FieldType};
use trustchain_core::verify::proof::StepStatus;

use super::net;
use super::state::{Ctx, TrustState, ctx};
use super::ui::{ErrorBox, Hex, Loading, Pill, Time, record_href, scenario_href};
use crate::api::{Checkpoints, Consistency, RecordsPage, ScenarioInfo};
use crate::check::{self, ConsistencyReport};
use crate::fmt;

/// Records per page.
const PAGE: u64 = 20;

/// The route's view.
#[component]
pub fn ScenarioPage() -> impl IntoView {
    let params = use_params_map();
    move || {
        let id = fmt::decode_component(&params.read().get("id").unwrap_or_default());
        view! { <Scenario id=id/> }
    }
}

/// Verifies the scenario's record 0 with the light client: the charter to render and check
/// rules against, with the block it was verified in.
pub async fn verified_charter(c: Ctx, id: &str) -> Result<(Charter, u64, Checkpoint), String> {
    let sid = ScenarioId::new(id).map_err(|e| e.to_string())?;
    let shell = c.shell().ok_or("no trusted checkpoint")?;
    let v = shell.verified_charter(&c.api(), &sid).await;
    c.client_version.update(|n| *n += 1);
    v.map(|v| (v.charter, v.block, v.checkpoint.checkpoint))
}

/// A scenario.
#[component]
pub fn Scenario(id: String) -> impl IntoView {
    let c = ctx();
    super::ui::set_title(&id);
    let query = use_query_map();
    let from = Memo::new(move |_| {
        query
            .read()
            .get("from")
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    });
    let id = StoredValue::new(id);
    let info = LocalResource::new(move || {
        let api = c.api_tracked();
        let id = id.get_value();
        async move { net::json::<ScenarioInfo>(&api.scenario(&id)).await }
    });
    // Whether the trust in use may show green (pinned, or this explorer's own network).
    let trusted = move || matches!(c.trust.get(), TrustState::Ready(t) if t.source.trusted());
    // The charter, verified as record 0 (waits for the trusted checkpoint).
    let charter = LocalResource::new(move || {
        c.relay.track();
        let ready = matches!(c.trust.get(), TrustState::Ready(_));
        let id = id.get_value();
        async move {
            if !ready {
                return None;
            }
            Some(verified_charter(c, &id).await)
        }
    });
    // The checkpoint verified with the charter — only under a trust root the reader pinned or
    // this explorer shipped with.
    let verified_checkpoint = move || match charter.get() {
        Some(Some(Ok((_, _, cp)))) if trusted() => Some(cp),
        _ => None,
    };
    // The verified checkpoint against the one this browser verified on its last visit: the
    // scenario must only have appended since (a relay or a fork rewriting it is flagged).
    let seen = LocalResource::new(move || {
        let api = c.api_tracked();
        let id = id.get_value();
        let verified = verified_checkpoint();
        async move {
            let cp = verified?;
            let chain = c.with_client(|lc| lc.chain_id().to_string())?;
            let key = format!("trustchain.seen.{chain}.{id}");
            let seen: Option<check::Seen> =
                net::load(&key).and_then(|t| serde_json::from_str(&t).ok());
            let proof = match seen {
                Some(s) if s.size < cp.size => net::json::<Consistency>(&format!(
                    "{}/consistency?from={}&to={}",
                    api.scenario(&id),
                    s.size,
                    cp.size
                ))
                .await
                .map(|c| c.proof),
                _ => Err(String::new()),
            };
            let v = check::against_seen(seen, &cp, proof.as_ref().map_err(|e| e.as_str()));
            if v.remember() {
                let now = check::Seen {
                    size: cp.size,
                    root: cp.root,
                };
                if let Ok(t) = serde_json::to_string(&now) {
                    net::store(&key, Some(&t));
                }
            }
            Some(v)
        }
    });
    // A page of records; once the charter is verified, each with its inclusion path in the
    // checkpoint verified with it, checked here row by row (a relay's listing is its word only).
    let records = LocalResource::new(move || {
        let api = c.api_tracked();
        let id = id.get_value();
        let from = from.get();
        let verified = verified_checkpoint();
        async move {
            let proofs = verified
                .as_ref()
                .map(|cp| format!("&proofs_at={}", cp.size))
                .unwrap_or_default();
            let page = net::json::<RecordsPage>(&format!(
                "{}/records?from={from}&limit={PAGE}{proofs}",
                api.scenario(&id)
            ))
            .await?;
            Ok::<_, String>((page, verified))
        }
    });

    view! {
        <nav class="crumbs">
            <a href=c.link("/explorer/scenarios")>"Scenarios"</a>
            <span>"/"</span>
            <span>{id.get_value()}</span>
        </nav>
        {move || match info.get() {
            None => view! { <Loading what="Loading the scenario…"/> }.into_any(),
            Some(Err(e)) => view! { <ErrorBox message=e/> }.into_any(),
            Some(Ok(i)) => {
                let title = i.charter.as_ref().map(|c| c.content.title.clone()).unwrap_or_else(|| i.id.to_string());
                let anchored = i.head_checkpoint.as_ref().map_or(0, |c| c.checkpoint.size);
                view! {
                    <section class="hero slim">
                        <p class="eyebrow">"Scenario " <code>{i.id.to_string()}</code></p>
                        <h1 id="scenario-title">{title}</h1>
                        <div class="stats inline">
                            <div class="stat"><span class="label">"records"</span><span class="value">{fmt::thousands(i.size)}</span>
                                <span class="sub">"held by this relay (its word)"</span></div>
                            <div class="stat" id="anchored-stat"><span class="label">"anchored in a final block"</span>
                                {move || match charter.get() {
                                    Some(Some(Ok((_, block, cp)))) if trusted() => view! {
                                        <span class="value">{fmt::thousands(cp.size)}</span>
                                        <span class="sub">{format!("✓ verified in block {}", fmt::thousands(block))}</span>
                                    }.into_any(),
                                    _ => view! {
                                        <span class="value">{fmt::thousands(anchored)}</span>
                                        <span class="sub">"as the relay says (not verified yet)"</span>
                                    }.into_any(),
                                }}</div>
                            {Some(i.role.clone()).map(|role| {
                                let home = i.home.map(|h| h.to_hex());
                                view! {
                                    <div class="stat" id="scenario-role"><span class="label">"kept on this relay as"</span>
                                        <span class="value">{if role == "replica" { "a replica" } else { "its home" }}</span>
                                        <span class="sub">{match home {
                                            Some(h) => view! { "writes go to its home " <Hex value=h/> }.into_any(),
                                            None => view! { "takes its writes; replicas co-sign its checkpoints" }.into_any(),
                                        }}</span></div>
                                }
                            })}
                            {i.head_checkpoint.clone().map(|cp| view! {
                                <div class="stat"><span class="label">"latest checkpoint root"</span>
                                    <span class="value small"><Hex value=cp.checkpoint.root.to_hex()/></span>
                                    <span class="sub"><Time ms=cp.checkpoint.time_ms/></span></div>
                            })}
                        </div>
                        <p class="jump">
                            <a href="#records">"Records"</a>
                            <a href="#interface">"Verification interface"</a>
                            <a href="#checkpoints">"Checkpoints & consistency"</a>
                        </p>
                    </section>
                }.into_any()
            }
        }}

        <section class="card" id="records">
            <div class="card-h"><h2>"Records"</h2>
                <span class="muted">"newest last · each opens with its proof"</span></div>
            {move || seen.get().flatten().map(|v| view! { <SeenLine verdict=v/> })}
            {move || match records.get() {
                None => view! { <Loading what="Loading records…"/> }.into_any(),
                Some(Err(e)) => view! { <ErrorBox message=e/> }.into_any(),
                Some(Ok((page, checkpoint))) => view! { <RecordsTable page=page checkpoint=checkpoint id=id.get_value()/> }.into_any(),
            }}
        </section>

        <section class="card" id="interface">
            <div class="card-h"><h2>"Verification interface"</h2>
                <a href=move || format!("{}/interface", c.api_tracked().scenario(&id.get_value())) rel="external">"as Markdown"</a></div>
            {move || match (charter.get(), info.get()) {
                // Green only under a trust root the reader pinned or this explorer shipped with.
                (Some(Some(Ok((ch, block, _)))), _) if !trusted() => view! {
                    <p class="verified-note"><span class="pill warn">"? unpinned network"</span>
                        " This charter is record 0 of " <code>{ch.content.scenario.to_string()}</code>
                        ", in block " {fmt::thousands(block)}
                        " by validators the relay itself named (trust on first use) — not verified. "
                        <a href=record_href(ch.content.scenario.as_str(), 0)>"See its proof."</a></p>
                    <CharterView charter=ch/>
                }.into_any(),
                (Some(Some(Ok((ch, block, _)))), _) => view! {
                    <p class="verified-note"><span class="pill ok">"✓ verified"</span>
                        " This charter is record 0 of " <code>{ch.content.scenario.to_string()}</code>
                        ", proven to be in block " {fmt::thousands(block)}
                        " under the validators you trust. "
                        <a href=record_href(ch.content.scenario.as_str(), 0)>"See its proof."</a></p>
                    <CharterView charter=ch/>
                }.into_any(),
                (Some(Some(Err(e))), Some(Ok(i))) => view! {
                    <p class="verified-note"><span class="pill bad">"✗ not verified"</span> " " {e}
                        " — shown as the relay serves it:"</p>
                    {i.charter.map(|ch| view! { <CharterView charter=ch/> })}
                }.into_any(),
                (Some(Some(Err(e))), _) => view! { <ErrorBox message=e/> }.into_any(),
                _ => view! { <Loading what="Verifying the charter (record 0)…"/> }.into_any(),
            }}
        </section>

        <section class="card" id="checkpoints">
            <div class="card-h"><h2>"Checkpoints & consistency"</h2></div>
            <CheckpointsView id=id.get_value()/>
        </section>
    }
}

/// The verified checkpoint against this browser's last visit.
#[component]
fn SeenLine(verdict: check::SeenVerdict) -> impl IntoView {
    use check::SeenVerdict::*;
    let (class, text) = match verdict {
        First { size } => (
            "seen muted",
            format!(
                "First visit from this browser: the verified checkpoint (size {size}) is remembered; next time the explorer checks that the scenario only appended."
            ),
        ),
        Same { size } => (
            "seen ok",
            format!("✓ The same checkpoint as on your last visit (size {size})."),
        ),
        Grew { from, to } => (
            "seen ok",
            format!(
                "✓ Only appended since your last visit: size {from} → {to}, consistency proof checked."
            ),
        ),
        Behind { seen, size } => (
            "seen warn",
            format!("! This relay is behind what you saw before: size {size}, you saw {seen}."),
        ),
        Rewritten(why) => (
            "seen bad",
            format!(
                "✗ History rewritten since your last visit — {why}. Do not trust this relay's view of the scenario."
            ),
        ),
        Unchecked(why) => (
            "seen warn",
            format!("? Could not check against your last visit: {why}"),
        ),
    };
    view! { <p class=class id="seen-check">{text}</p> }
}

/// One line summary of a record's fields.
pub fn summary(entry: &Entry) -> String {
    match entry {
        Entry::Charter(c) => format!(
            "charter “{}” · {} kind(s)",
            c.content.title,
            c.content.kinds.len()
        ),
        Entry::Contract(c) => match &c.content.body {
            Body::Digest(h) => format!("digest {}", fmt::short_hex(&h.to_hex())),
            Body::Fields(f) => {
                let mut parts: Vec<String> = Vec::new();
                let amount = f.get("amount").map(fmt::value_text);
                let cur = f.get("currency").map(fmt::value_text);
                if let Some(a) = amount {
                    parts.push(match cur {
                        Some(c) => format!("{c} {a}"),
                        None => a,
                    });
                }
                for (k, v) in f {
                    if k == "amount" || k == "currency" || parts.len() >= 4 {
                        continue;
                    }
                    let t = fmt::value_text(v);
                    let t = if t.chars().count() > 40 {
                        t.chars().take(40).collect::<String>() + "…"
                    } else {
                        t
                    };
                    parts.push(format!("{k}: {t}"));
                }
                parts.join(" · ")
            }
        },
    }
}

#[component]
fn RecordsTable(page: RecordsPage, checkpoint: Option<Checkpoint>, id: String) -> impl IntoView {
    let c = ctx();
    let from = page.from;
    let size = page.size;
    let base = format!("/explorer/scenarios/{}", fmt::encode_component(&id));
    let at = move |f: u64| c.link(&format!("{base}?from={f}#records"));
    let last_page = size.saturating_sub(1) / PAGE * PAGE;
    let shown = page.records.len() as u64;
    view! {
        <table class="tbl records">
            <thead><tr><th>"#"</th><th>"kind"</th><th>"summary"</th><th>"author's time"</th><th title="each row checked against the checkpoint verified with the charter">"anchored"</th></tr></thead>
            <tbody>
            {page.records.into_iter().map(|r| {
                let (kind, time) = match &r.entry {
                    Entry::Charter(ch) => ("charter".to_string(), ch.content.time_ms),
                    Entry::Contract(ct) => (ct.content.kind.clone(), ct.content.time_ms),
                };
                let href = record_href(&id, r.index);
                view! {
                    <tr>
                        <td class="num"><a class="rec-link" href=href.clone()>{r.index}</a></td>
                        <td><span class="chip">{kind}</span></td>
                        <td class="summary"><a href=href>{summary(&r.entry)}</a></td>
                        <td class="nowrap muted">{fmt::utc(time).replace(" UTC", "")}</td>
                        <td class="listed">{match check::listed(checkpoint.as_ref(), &r.entry, r.index, r.inclusion.as_ref()) {
                            check::Listed::Anchored => view! { <span class="tag ok" title="its inclusion path in the verified checkpoint checks">"✓ final"</span> }.into_any(),
                            check::Listed::Refuted(why) => view! { <span class="tag bad" title=why>"✗ not on chain"</span> }.into_any(),
                            check::Listed::Pending => view! { <span class="tag warn" title="past the verified checkpoint">"pending"</span> }.into_any(),
                            check::Listed::Unchecked if r.anchored => view! { <span class="tag" title="the relay's word; not checked yet">"final?"</span> }.into_any(),
                            check::Listed::Unchecked => view! { <span class="tag warn" title="the relay's word">"pending"</span> }.into_any(),
                        }}</td>
                    </tr>
                }
            }).collect_view()}
            </tbody>
        </table>
        <div class="pager">
            <span class="muted">{format!("records {}–{} of {}", from, (from + shown).saturating_sub(1), fmt::thousands(size))}</span>
            <span class="pages">
                {(from > 0).then(|| view! { <a href=at(0)>"« first"</a> <a href=at(from.saturating_sub(PAGE))>"‹ previous"</a> })}
                {(from + PAGE < size).then(|| view! { <a href=at(from + PAGE)>"next ›"</a> <a href=at(last_page)>"last »"</a> })}
            </span>
        </div>
    }
}

fn type_text(t: &FieldType) -> String {
    match t {
        FieldType::Text { max_len, one_of } if one_of.is_empty() => {
            format!("text, ≤ {max_len} bytes")
        }
        FieldType::Text { one_of, .. } => format!("text, one of {}", one_of.join(" · ")),
        FieldType::Int { min, max } => match (min, max) {
            (Some(a), Some(b)) => format!("integer, {a} … {b}"),
            (Some(a), None) => format!("integer, ≥ {a}"),
            (None, Some(b)) => format!("integer, ≤ {b}"),
            (None, None) => "integer".into(),
        },
        FieldType::Decimal {
            min,
            max,
            max_scale,
            currency,
        } => {
            let mut s = format!("decimal, ≤ {max_scale} decimals");
            if let Some(a) = min {
                s.push_str(&format!(", ≥ {}", fmt::group_decimal(&a.to_string())));
            }
            if let Some(b) = max {
                s.push_str(&format!(", ≤ {}", fmt::group_decimal(&b.to_string())));
            }
            match currency {
                Some(CurrencyTie::Field(f)) => s.push_str(&format!(", in the currency of `{f}`")),
                Some(CurrencyTie::Code(c)) => s.push_str(&format!(", in {c}")),
                None => {}
            }
            s
        }
        FieldType::Bool => "yes / no".into(),
        FieldType::Bytes { max_len } => format!("bytes, ≤ {max_len}"),
        FieldType::List { item, max_items } => {
            format!("list of ≤ {max_items} × {}", type_text(item))
        }
        FieldType::Map { value, max_entries } => {
            format!("map of ≤ {max_entries} × {}", type_text(value))
        }
    }
}

/// A charter as its verification interface.
#[component]
pub fn CharterView(charter: Charter) -> impl IntoView {
    let c = charter.content.clone();
    let paragraphs: Vec<String> = c
        .white_paper
        .split("\n\n")
        .map(|p| p.trim().replace('\n', " "))
        .filter(|p| !p.is_empty())
        .collect();
    view! {
        <div class="charter">
            <div class="paper-text">
                {paragraphs.into_iter().map(|p| view! { <p>{p}</p> }).collect_view()}
            </div>
            <dl class="kv">
                <dt>"charter digest"</dt><dd><Hex value=c.signing_digest().to_hex()/></dd>
                <dt>"made"</dt><dd><Time ms=c.time_ms/></dd>
                <dt>"owners"</dt><dd>{c.owners.iter().map(|o| view! { <Hex value=o.to_hex()/> " " }).collect_view()}</dd>
                <dt>"writers"</dt><dd>{if c.writers.is_empty() {
                    view! { <span class="muted">"owners only"</span> }.into_any()
                } else {
                    c.writers.iter().map(|w| view! { <Hex value=w.to_hex()/> " " }).collect_view().into_any()
                }}</dd>
            </dl>
            {c.kinds.into_iter().map(|k| view! { <KindView kind=k/> }).collect_view()}
        </div>
    }
}

#[component]
fn KindView(kind: RecordKind) -> impl IntoView {
    view! {
        <div class="kind">
            <h3><span class="chip">{kind.name.clone()}</span> " " <span class="kdesc">{kind.description.clone()}</span></h3>
            {if kind.digest_only {
                view! { <p class="muted">"Digest only: the chain keeps the blake3 hash of each record; the data stays with the project, which can prove any copy unchanged."</p> }.into_any()
            } else {
                view! {
                    <table class="tbl fields">
                        <thead><tr><th>"field"</th><th>"type"</th><th>"required"</th><th>"meaning"</th></tr></thead>
                        <tbody>
                        {kind.fields.iter().map(|f| view! {
                            <tr>
                                <td><code>{f.name.clone()}</code></td>
                                <td>{type_text(&f.ty)}</td>
                                <td>{if f.required { "yes" } else { "no" }}</td>
                                <td class="muted">{f.description.clone()}</td>
                            </tr>
                        }).collect_view()}
                        </tbody>
                    </table>
                    {(!kind.rules.is_empty()).then(|| view! {
                        <p class="rules-h">"Rules — each must hold for every " <b>{kind.name.clone()}</b> " record:"</p>
                        <ul class="rules">
                            {kind.rules.iter().map(|r| view! {
                                <li>
                                    <span class="rname">{r.name.clone()}</span>
                                    <span class="rmsg">{r.message.clone()}</span>
                                    // What verifiers evaluate: the checked tree, printed — not
                                    // the author's source text, which nothing in the browser
                                    // checks against the tree.
                                    <code class="rsrc" title="printed from the rule's checked expression tree, which is what every verifier evaluates">{trustchain_core::scenario::rules::print(&r.expr)}</code>
                                    <span class="muted small">"cost ≤ " {r.cost} " steps"</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    })}
                }.into_any()
            }}
        </div>
    }
}

#[component]
fn CheckpointsView(id: String) -> impl IntoView {
    let c = ctx();
    let id = StoredValue::new(id);
    // The first few checkpoints and those covering the latest ~300 records.
    let cps = LocalResource::new(move || {
        let api = c.api_tracked();
        let id = id.get_value();
        async move {
            let base = api.scenario(&id);
            let info: ScenarioInfo = net::json(&base).await?;
            let anchored = info.head_checkpoint.map_or(0, |c| c.checkpoint.size);
            let first: Checkpoints =
                net::json(&format!("{base}/checkpoints?from=0&limit=3")).await?;
            let recent: Checkpoints = net::json(&format!(
                "{base}/checkpoints?from={}&limit=500",
                anchored.saturating_sub(300)
            ))
            .await?;
            let mut all = first.checkpoints;
            for cp in recent.checkpoints {
                if !all.iter().any(|x| x.checkpoint.size == cp.checkpoint.size) {
                    all.push(cp);
                }
            }
            all.sort_by_key(|c| c.checkpoint.size);
            Ok::<_, String>(all)
        }
    });
    move || match cps.get() {
        None => view! { <Loading what="Loading checkpoints…"/> }.into_any(),
        Some(Err(e)) => view! { <ErrorBox message=e/> }.into_any(),
        Some(Ok(all)) if all.is_empty() => {
            view! { <p class="muted">"No checkpoint yet."</p> }.into_any()
        }
        Some(Ok(all)) => view! { <CheckpointsList all=all id=id.get_value()/> }.into_any(),
    }
}

#[component]
fn CheckpointsList(all: Vec<SignedCheckpoint>, id: String) -> impl IntoView {
    let c = ctx();
    let sizes: Vec<u64> = all.iter().map(|c| c.checkpoint.size).collect();
    let from = RwSignal::new(sizes[0]);
    // 0: the checkpoint anchored at the moment of the check (the scenario may grow meanwhile).
    let to = RwSignal::new(0u64);
    let report = RwSignal::new(None::<Result<ConsistencyReport, String>>);
    let running = RwSignal::new(false);
    let id2 = id.clone();
    let run = move |_| {
        let (f, t) = (from.get_untracked(), to.get_untracked());
        let id = id2.clone();
        running.set(true);
        report.set(None);
        leptos::task::spawn_local(async move {
            let r = consistency(c, &id, f, t).await;
            report.set(Some(r));
            running.set(false);
        });
    };
    let shown: Vec<SignedCheckpoint> = all.iter().rev().take(12).cloned().collect();
    let options = move || {
        sizes
            .iter()
            .map(|s| view! { <option value=s.to_string()>{format!("size {}", fmt::thousands(*s))}</option> })
            .collect_view()
    };
    let to_options = {
        let options = options.clone();
        move || {
            view! {
                <option value="0">"the latest anchored"</option>
                {options()}
            }
        }
    };
    view! {
        <p class="muted">"A checkpoint is the scenario's log at a size — its Merkle root, signed by the scenario's replicas and anchored in a main block. "
            {all.len()} " listed; the latest:"</p>
        <table class="tbl cps">
            <thead><tr><th>"size"</th><th>"root"</th><th>"main_ref"</th><th>"time"</th><th>"replica signatures"</th></tr></thead>
            <tbody>
            {shown.into_iter().map(|cp| view! {
                <tr>
                    <td class="num">{fmt::thousands(cp.checkpoint.size)}</td>
                    <td><Hex value=cp.checkpoint.root.to_hex()/></td>
                    <td><Hex value=cp.checkpoint.main_ref.to_hex()/></td>
                    <td class="nowrap">{fmt::utc(cp.checkpoint.time_ms).replace(" UTC", "")}</td>
                    <td>{cp.signatures.iter().map(|s| view! { <Hex value=s.key.to_hex()/> " " }).collect_view()}</td>
                </tr>
            }).collect_view()}
            </tbody>
        </table>
        <div class="consistency">
            <h3 class="sub-h">"Did the scenario only append?"</h3>
            <p class="muted">"A consistency proof shows that the log at the later size extends the log at the earlier size, unchanged (RFC 9162). It is checked here, with both checkpoints' signatures."</p>
            <div class="form-row">
                <label>"from " <select id="cons-from" on:change=move |ev| from.set(event_target_value(&ev).parse().unwrap_or(0))
                    prop:value=move || from.get().to_string()>{options.clone()}</select></label>
                <label>"to " <select id="cons-to" on:change=move |ev| to.set(event_target_value(&ev).parse().unwrap_or(0))
                    prop:value=move || to.get().to_string()>{to_options}</select></label>
                <button class="btn" id="cons-check" on:click=run disabled=move || running.get()>"Check consistency"</button>
            </div>
            {move || match report.get() {
                None if running.get() => view! { <Loading what="Fetching and checking the proof…"/> }.into_any(),
                None => ().into_any(),
                Some(Err(e)) => view! { <ErrorBox message=e/> }.into_any(),
                Some(Ok(r)) => view! { <ConsistencyView report=r/> }.into_any(),
            }}
        </div>
        <p class="small"><a href=scenario_href(&id)>"↑ back to the top"</a></p>
    }
}

/// Fetches and checks the consistency proof from checkpoint size `from` to `to`; `to == 0`: the
/// checkpoint the chain anchors now.
async fn consistency(c: Ctx, id: &str, from: u64, to: u64) -> Result<ConsistencyReport, String> {
    let sid = ScenarioId::new(id).map_err(|e| e.to_string())?;
    // Tie the later checkpoint to a certified block: the checkpoint of a record proof the light
    // client verifies now (proofs are built on the latest anchored checkpoint). Fetched first, so
    // "latest" means exactly that checkpoint even while the scenario keeps growing.
    let anchored = match c.shell() {
        Some(shell) => shell
            .verified_charter(&c.api(), &sid)
            .await
            .ok()
            .map(|v| (v.checkpoint, v.block)),
        None => None,
    };
    c.client_version.update(|n| *n += 1);
    let to = match (to, &anchored) {
        (0, Some((cp, _))) => cp.checkpoint.size,
        (0, None) => {
            return Err(
                "no verified record proof names the checkpoint anchored now; pick a size".into(),
            );
        }
        (t, _) => t,
    };
    let (from, to) = (from.min(to), from.max(to));
    let ans: Consistency = net::json(&format!(
        "{}/consistency?from={from}&to={to}",
        c.api().scenario(id)
    ))
    .await?;
    Ok(check::check_consistency(
        &sid,
        &ans.from,
        &ans.to,
        &ans.proof,
        anchored.as_ref().map(|(cp, h)| (cp, *h)),
    ))
}

#[component]
fn ConsistencyView(report: ConsistencyReport) -> impl IntoView {
    let ok = report.failure().is_none();
    view! {
        <div class=if ok { "verdict ok small" } else { "verdict bad small" } id="consistency-verdict">
            <b>{if ok { "✓ Consistent: the scenario only appended between these checkpoints." }
                else { "✗ NOT consistent" }}</b>
            {report.failure().map(|f| view! { " — " {f.what} ": " {f.detail.clone()} })}
        </div>
        <table class="tbl steps">
            <tbody>
            {report.lines.into_iter().map(|l| view! {
                <tr class=match l.status { StepStatus::Passed => "passed", StepStatus::Failed => "failed", StepStatus::Skipped => "skipped" }>
                    <td><Pill status=l.status/></td>
                    <td class="sname">{l.what}</td>
                    <td>{l.detail}</td>
                </tr>
            }).collect_view()}
            </tbody>
        </table>
    }
}
