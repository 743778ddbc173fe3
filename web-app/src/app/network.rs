//! `/explorer/`: the network as the relays show it — each relay's head (polled every 2 s, every
//! certificate checked by the light client), the chain, validators and epochs, the relay's
//! browser addresses, its scenarios and the latest blocks.

use leptos::prelude::*;
use leptos::task::spawn_local;
use trustchain_core::chain::validators::ValidatorSet;

use super::net;
use super::state::{Ctx, TrustState, ctx};
use super::ui::{ErrorBox, Hex, Loading, Time, scenario_href};
use crate::api::{Block, Epochs, OverlayInfo, Relay, ScenarioSummary, Status};
use crate::fmt;

/// How often heads are polled.
const POLL_MS: u64 = 2000;
/// Blocks listed.
const RECENT: usize = 8;

/// A block as seen from a relay, with the light client's opinion of its certificate.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    height: u64,
    hash: String,
    time_ms: u64,
    moved: u32,
    epoch: u64,
    signers: usize,
    /// `Ok`: certified by the trusted validators; `Err`: why not.
    certified: Result<(), String>,
    /// Of an epoch before the trusted checkpoint's: not checkable here (not a failed check).
    before_trust: bool,
}

#[derive(Clone, Debug, PartialEq)]
struct RelayHead {
    relay: String,
    head: Result<Seen, String>,
}

fn seen(c: Ctx, b: &Block) -> Seen {
    let h = &b.block.header;
    let certified = match c.with_client(|lc| lc.verify_header(h, &b.block.certificate)) {
        Some(Ok(v)) => {
            if v.hash() == b.hash {
                Ok(())
            } else {
                Err("the relay names the block by another hash".into())
            }
        }
        Some(Err(e)) => Err(e.to_string()),
        None => Err("no trusted checkpoint yet".into()),
    };
    Seen {
        height: h.height,
        hash: h.hash().to_hex(),
        time_ms: h.time_ms,
        moved: h.moved,
        epoch: h.epoch,
        signers: b.block.certificate.signatures.len(),
        certified,
        before_trust: c.before_trust(h.epoch),
    }
}

async fn head_of(c: Ctx, relay: &str) -> Result<Seen, String> {
    let relay = Relay::new(relay);
    let b: Block = net::json(&relay.url("/v1/main/head")).await?;
    // A head of a newer epoch: learn the hand-overs first (each checked by the client).
    if c.client_epoch().is_some_and(|e| b.block.header.epoch > e) {
        c.follow_epochs(&relay).await;
    }
    Ok(seen(c, &b))
}

/// The network page.
#[component]
pub fn NetworkPage() -> impl IntoView {
    let c = ctx();
    super::ui::set_title("Network");
    let status = LocalResource::new(move || {
        let api = c.api_tracked();
        async move { net::json::<Status>(&api.url("/v1/status")).await }
    });
    let epochs = LocalResource::new(move || {
        let api = c.api_tracked();
        async move { net::json::<Epochs>(&api.url("/v1/main/epochs")).await }
    });
    // The P2PT overlay (a dev relay has none: its 404 just hides the section).
    let overlay = LocalResource::new(move || {
        let api = c.api_tracked();
        async move {
            net::json::<OverlayInfo>(&api.url("/v1/main/overlay"))
                .await
                .ok()
        }
    });
    let scenarios = LocalResource::new(move || {
        let api = c.api_tracked();
        async move { net::json::<Vec<ScenarioSummary>>(&api.url("/v1/scenarios")).await }
    });

    // Heads of every relay, and the latest blocks of the first one.
    let heads = RwSignal::new(Vec::<RelayHead>::new());
    let blocks = RwSignal::new(Vec::<Seen>::new());
    let busy = StoredValue::new(false);
    let poll = move || {
        if busy.get_value() || !matches!(c.trust.get_untracked(), TrustState::Ready(_)) {
            return;
        }
        busy.set_value(true);
        let relays: Vec<String> = std::iter::once(c.relay.get_untracked())
            .chain(c.others.get_untracked())
            .collect();
        spawn_local(async move {
            let mut out = Vec::new();
            for r in relays {
                let head = head_of(c, &r).await;
                out.push(RelayHead { relay: r, head });
            }
            // The latest blocks: fill in from the first relay's head downwards.
            if let Some(Ok(top)) = out.first().map(|h| h.head.clone()) {
                let known: Vec<u64> = blocks.get_untracked().iter().map(|b| b.height).collect();
                let mut add = vec![top.clone()];
                let api = Relay::new(&out[0].relay);
                for h in (top.height.saturating_sub(RECENT as u64 - 1)..top.height).rev() {
                    if known.contains(&h) {
                        continue;
                    }
                    if let Ok(b) =
                        net::json::<Block>(&api.url(&format!("/v1/main/blocks/{h}"))).await
                    {
                        add.push(seen(c, &b));
                    }
                }
                blocks.update(|list| {
                    for b in add {
                        if !list.iter().any(|x| x.height == b.height) {
                            list.push(b);
                        }
                    }
                    list.sort_by_key(|b| std::cmp::Reverse(b.height));
                    list.truncate(RECENT);
                });
            }
            heads.set(out);
            busy.set_value(false);
        });
    };
    // Poll now, whenever the relays or the trust change, and every 2 s.
    Effect::new(move |_| {
        c.relay.track();
        c.others.track();
        c.trust.track();
        heads.set(Vec::new());
        blocks.set(Vec::new());
        poll();
    });
    if let Ok(h) = set_interval_with_handle(poll, std::time::Duration::from_millis(POLL_MS)) {
        on_cleanup(move || h.clear());
    }

    view! {
        <section class="hero">
            <p class="eyebrow">"Network"</p>
            <h1>"The chain, as these relays show it"</h1>
            <p class="lead">
                "Every head below is checked here: its commit certificate must be signed by validators holding more than "
                "two thirds of the weight of the set you trust. Records and their proofs are under "
                <a href=c.link("/explorer/scenarios")>"Scenarios"</a> "."
            </p>
        </section>

        <HeadCards heads=heads status=status/>

        <section class="card">
            <div class="card-h">
                <h2>"Relays"</h2>
                <span class="muted">"heads compared every 2 s · "
                    <a href=c.link("/explorer/trust")>"add relays"</a></span>
            </div>
            <RelaysTable heads=heads/>
        </section>

        <div class="grid2">
            <section class="card">
                <div class="card-h"><h2>"Scenarios on this relay"</h2>
                    <a href=c.link("/explorer/scenarios")>"search charters →"</a></div>
                {move || match scenarios.get() {
                    None => view! { <Loading what="Loading scenarios…"/> }.into_any(),
                    Some(Err(e)) => view! { <ErrorBox message=e/> }.into_any(),
                    Some(Ok(list)) => view! {
                        <ul class="slist">
                            {list.into_iter().map(|s| view! {
                                <li>
                                    <a class="sname" href=scenario_href(s.id.as_str())>{s.title.clone()}</a>
                                    <code class="sid">{s.id.to_string()}</code>
                                    <span class="muted">{fmt::thousands(s.size)} " records · "
                                        {fmt::thousands(s.anchored_size)} " anchored"</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
            </section>
            <section class="card">
                <div class="card-h"><h2>"Latest blocks"</h2></div>
                <BlocksTable blocks=blocks/>
            </section>
        </div>

        <div class="grid2">
            <section class="card">
                <div class="card-h"><h2>"Validators and epochs"</h2></div>
                {move || match epochs.get() {
                    None => view! { <Loading what="Loading validator sets…"/> }.into_any(),
                    Some(Err(e)) => view! { <ErrorBox message=e/> }.into_any(),
                    Some(Ok(e)) => view! { <EpochsView epochs=e/> }.into_any(),
                }}
            </section>
            <section class="card">
                <div class="card-h"><h2>"This relay"</h2></div>
                {move || match status.get() {
                    None => view! { <Loading what="Loading status…"/> }.into_any(),
                    Some(Err(e)) => view! { <ErrorBox message=e/> }.into_any(),
                    Some(Ok(s)) => view! { <RelayInfo status=s/> }.into_any(),
                }}
                {move || overlay.get().flatten().map(|o| view! { <OverlayView info=o/> })}
            </section>
        </div>
    }
}

/// The P2PT overlay: each region's hubs, and this relay's links.
#[component]
fn OverlayView(info: OverlayInfo) -> impl IntoView {
    let me = info.this_relay.clone();
    view! {
        <h3 class="sub-h" id="overlay">"P2PT overlay · epoch " {info.overlay.epoch}</h3>
        <p class="muted small">"Each region's heaviest validators are its hubs: every relay keeps its region's hubs connected, hubs keep each other. Hubs get no extra vote."</p>
        <table class="tbl">
            <thead><tr><th>"region"</th><th>"validators"</th><th>"hubs"</th></tr></thead>
            <tbody>
            {info.overlay.regions.into_iter().map(|(name, r)| view! {
                <tr>
                    <td><span class="tag">{name}</span></td>
                    <td class="num">{r.members.len()}</td>
                    <td>{r.hubs.into_iter().map(|h| view! { <Hex value=h.to_hex()/> " " }).collect_view()}</td>
                </tr>
            }).collect_view()}
            </tbody>
        </table>
        <p class="small">"This relay " <Hex value=me.key.to_hex()/> " is "
            {if me.hub { view! { <span class="pill ok">"a hub"</span> }.into_any() } else { view! { <span class="pill">"not a hub"</span> }.into_any() }}
            " this epoch and keeps " {me.links.len()} " overlay link(s)."</p>
    }
}

#[component]
fn HeadCards(
    heads: RwSignal<Vec<RelayHead>>,
    status: LocalResource<Result<Status, String>>,
) -> impl IntoView {
    let c = ctx();
    let first = move || heads.get().into_iter().next();
    view! {
        <div class="stats">
            <div class="stat big">
                <span class="label">"Head block"</span>
                {move || match first() {
                    Some(RelayHead { head: Ok(h), .. }) => view! {
                        <span class="value" id="head-height">{fmt::thousands(h.height)}</span>
                        <span class="sub"><Hex value=h.hash.clone()/></span>
                        <span class="sub"><Time ms=h.time_ms/></span>
                        {match &h.certified {
                            Ok(()) => view! { <span class=ok_class() title=ok_title()>"✓ certified"</span> }.into_any(),
                            Err(e) => view! { <span class="pill bad" title=e.clone()>"✗ not certified"</span> }.into_any(),
                        }}
                    }.into_any(),
                    Some(RelayHead { head: Err(e), .. }) => view! { <span class="value bad">"—"</span><span class="sub">{e}</span> }.into_any(),
                    None => view! { <span class="value muted">"…"</span> }.into_any(),
                }}
            </div>
            <div class="stat">
                <span class="label">"Chain"</span>
                {move || status.get().and_then(|s| s.ok()).map(|s| view! {
                    <span class="value small"><code>{s.chain_id.clone()}</code></span>
                    <span class="sub">"epoch " {s.epoch} " · " {s.validators} " validator(s)"</span>
                    <span class="sub">{if s.mode == "network" {
                        "BFT: a block as soon as scenarios move or PoSR reports arrive".to_string()
                    } else {
                        format!("a block every {} ms when a scenario moved", s.block_interval_ms)
                    }}</span>
                })}
            </div>
            <div class="stat">
                <span class="label">"Trusted checkpoint"</span>
                {move || match c.trust.get() {
                    TrustState::Ready(t) => view! {
                        <span class="value small">"block " {fmt::thousands(t.checkpoint.height)}</span>
                        <span class="sub"><Hex value=t.checkpoint.block.to_hex()/></span>
                        <span class="sub">{match t.source {
                            super::state::TrustSource::Pinned => format!("pinned in this browser · fingerprint {}", crate::check::fingerprint(&t.checkpoint)),
                            super::state::TrustSource::Network { .. } => "this explorer's network spec".to_string(),
                            super::state::TrustSource::FirstUse { relay, .. } =>
                                format!("trust on first use: taken from {relay} itself (unpinned: nothing is shown as verified)"),
                        }}</span>
                    }.into_any(),
                    TrustState::Loading => view! { <span class="value muted">"…"</span> }.into_any(),
                    TrustState::Failed(e) => view! { <span class="value bad">"none"</span><span class="sub">{e}</span> }.into_any(),
                }}
            </div>
        </div>
    }
}

#[component]
fn RelaysTable(heads: RwSignal<Vec<RelayHead>>) -> impl IntoView {
    move || {
        let list = heads.get();
        if list.is_empty() {
            return view! { <Loading what="Asking the relays for their heads…"/> }.into_any();
        }
        let top = list
            .iter()
            .filter_map(|h| h.head.as_ref().ok().map(|s| s.height))
            .max()
            .unwrap_or(0);
        // Two relays with different certified blocks at one height: a fork, or equivocation.
        let conflict = |s: &Seen| {
            list.iter().any(|o| {
                o.head
                    .as_ref()
                    .is_ok_and(|x| x.height == s.height && x.hash != s.hash)
            })
        };
        view! {
            <table class="tbl relays">
                <thead><tr><th>"relay"</th><th>"head"</th><th>"block hash"</th><th>"time"</th><th>"certificate"</th></tr></thead>
                <tbody>
                {list.iter().enumerate().map(|(i, r)| {
                    let relay = r.relay.clone();
                    match &r.head {
                        Ok(s) => {
                            let lag = top - s.height;
                            let note = if conflict(s) {
                                Some(view! { <span class="pill bad">"conflicting block at this height"</span> })
                            } else {
                                None
                            };
                            view! {
                                <tr>
                                    <td><code>{relay}</code>{(i == 0).then(|| view! { <span class="tag">"reading"</span> })}</td>
                                    <td class="num">{fmt::thousands(s.height)}
                                        {(lag > 2).then(|| view! { <span class="tag warn">{format!("{lag} behind")}</span> })}</td>
                                    <td><Hex value=s.hash.clone()/></td>
                                    <td><Time ms=s.time_ms/></td>
                                    <td>{match &s.certified {
                                        Ok(()) => view! { <span class=ok_class() title=ok_title()>{format!("✓ {} signer(s)", s.signers)}</span> }.into_any(),
                                        Err(e) => view! { <span class="pill bad">"✗ " {e.clone()}</span> }.into_any(),
                                    }}{note}</td>
                                </tr>
                            }.into_any()
                        }
                        Err(e) => view! {
                            <tr class="down">
                                <td><code>{relay}</code></td>
                                <td colspan="4"><span class="pill bad">"unreachable"</span> " " {e.clone()}</td>
                            </tr>
                        }.into_any(),
                    }
                }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    }
}

#[component]
fn BlocksTable(blocks: RwSignal<Vec<Seen>>) -> impl IntoView {
    move || {
        let list = blocks.get();
        if list.is_empty() {
            return view! { <Loading what="Loading blocks…"/> }.into_any();
        }
        view! {
            <table class="tbl">
                <thead><tr><th>"height"</th><th>"hash"</th><th>"time"</th><th>"moved"</th><th>"certified"</th></tr></thead>
                <tbody>
                {list.into_iter().map(|b| view! {
                    <tr>
                        <td class="num">{fmt::thousands(b.height)}</td>
                        <td><Hex value=b.hash.clone()/></td>
                        <td class="nowrap">{fmt::utc(b.time_ms).replace(" UTC", "")}</td>
                        <td class="num">{b.moved}</td>
                        <td>{match b.certified {
                            Ok(()) => view! { <span class=ok_class() title=format!("epoch {} · {}", b.epoch, ok_title())>{format!("✓ {}", b.signers)}</span> }.into_any(),
                            Err(_) if b.before_trust => view! {
                                <span class="pill" title=format!("epoch {} is before the checkpoint you trust: its validators are not known here", b.epoch)>{format!("– ep. {}", b.epoch)}</span>
                            }.into_any(),
                            Err(e) => view! { <span class="pill bad" title=e>"✗"</span> }.into_any(),
                        }}</td>
                    </tr>
                }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    }
}

#[component]
fn EpochsView(epochs: Epochs) -> impl IntoView {
    let c = ctx();
    let trusted = move || match c.trust.get() {
        TrustState::Ready(t) => Some(t.checkpoint.validators),
        _ => None,
    };
    let latest = epochs.epochs.last().cloned();
    let all = epochs.epochs.clone();
    view! {
        {latest.map(|set| {
            let total = set.total_weight();
            let epoch = set.epoch;
            let set2 = set.clone();
            view! {
                <p class="muted">"Epoch " {epoch} " · total weight " {fmt::thousands(total as u64)}
                    " · a block is final when validators holding more than ⅔ of it sign."</p>
                <table class="tbl">
                    <thead><tr><th>"validator key"</th><th>"weight"</th><th>"share"</th><th>"in your trusted set"</th></tr></thead>
                    <tbody>
                    {set.validators.iter().map(|v| {
                        let key = v.key;
                        let in_trusted = move || trusted().map(|t: ValidatorSet| t.epoch == set2.epoch && t.index_of(&key).is_some());
                        view! {
                            <tr>
                                <td><Hex value=v.key.to_hex()/></td>
                                <td class="num">{fmt::thousands(v.weight)}</td>
                                <td class="num">
                                    <span class="bar"><span style=format!("width:{}%", (v.weight as u128 * 100 / total.max(1)))></span></span>
                                    {fmt::percent(v.weight as u128, total)}
                                </td>
                                <td>{move || match in_trusted() {
                                    Some(true) => view! { <span class="pill ok">"✓ yes"</span> }.into_any(),
                                    Some(false) => view! { <span class="pill bad">"✗ no"</span> }.into_any(),
                                    None => view! { <span class="muted">"…"</span> }.into_any(),
                                }}</td>
                            </tr>
                        }
                    }).collect_view()}
                    </tbody>
                </table>
            }
        })}
        <h3 class="sub-h">"Epochs"</h3>
        <table class="tbl">
            <thead><tr><th>"epoch"</th><th>"validators"</th><th>"total weight"</th><th>"set hash"</th></tr></thead>
            <tbody>
            {all.into_iter().rev().map(|s| view! {
                <tr>
                    <td class="num">{s.epoch}</td>
                    <td class="num">{s.validators.len()}</td>
                    <td class="num">{fmt::thousands(s.total_weight() as u64)}</td>
                    <td><Hex value=s.hash().to_hex()/></td>
                </tr>
            }).collect_view()}
            </tbody>
        </table>
        <p class="muted small">{if epochs.changes.is_empty() {
            "No epoch changes yet: one validator set since genesis.".to_string()
        } else {
            format!("{} epoch change(s), each certified by the outgoing set.", epochs.changes.len())
        }}</p>
    }
}

#[component]
fn RelayInfo(status: Status) -> impl IntoView {
    let c = ctx();
    let addrs = status.browser_addresses.clone();
    view! {
        <dl class="kv">
            <dt>"URL"</dt><dd><code>{move || c.relay.get()}</code></dd>
            <dt>"software"</dt><dd>{status.software.clone()} " (" {status.mode.clone()} ")"</dd>
            <dt>"up for"</dt><dd>{fmt::duration(status.uptime_s)}</dd>
            <dt>"scenarios"</dt><dd>{status.scenarios}</dd>
            <dt>"contracts accepted"</dt><dd>{fmt::thousands(status.contracts_accepted)} " since start"</dd>
            <dt>"peer id"</dt><dd>{status.peer_id.clone().map(|p| view! { <Hex value=p/> })}</dd>
        </dl>
        <h3 class="sub-h">"Browser addresses"</h3>
        <p class="muted small">"Browsers reach this relay over rust-libp2p — WebRTC-direct (no CA certificate needed) or WebSocket:"</p>
        <ul class="addrs">
            {if addrs.is_empty() {
                view! { <li class="muted">"none published (libp2p is off)"</li> }.into_any()
            } else {
                addrs.into_iter().map(|a| {
                    let kind = if a.contains("/webrtc-direct") { "WebRTC-direct" }
                        else if a.contains("/ws") { "WebSocket" } else { "libp2p" };
                    view! { <li><span class="tag">{kind}</span><code class="addr">{a}</code></li> }
                }).collect_view().into_any()
            }}
        </ul>
        <p class="small"><a href=move || c.api().url("/.well-known/trustchain.json") rel="external">"/.well-known/trustchain.json"</a>
            " · " <a href=move || c.api().url("/v1/status") rel="external">"/v1/status"</a></p>
    }
}

/// A certificate check's pill: green under a checkpoint the reader pinned or this explorer's own
/// network; amber under trust on first use (the relay's own validator set vouches for its heads).
fn ok_class() -> &'static str {
    if trusted_now() {
        "pill ok"
    } else {
        "pill warn"
    }
}

fn ok_title() -> &'static str {
    if trusted_now() {
        "certified by the validators you trust"
    } else {
        "certified by the validators this relay itself named (trust on first use): not verified"
    }
}

fn trusted_now() -> bool {
    matches!(ctx().trust.get(), TrustState::Ready(t) if t.source.trusted())
}
