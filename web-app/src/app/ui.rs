//! Small shared pieces: hashes, status pills, loading and error boxes, time.

use leptos::prelude::*;
use trustchain_core::verify::proof::StepStatus;

use super::net;
use super::state::ctx;
use crate::fmt;

/// A hash (or key, or signature) shortened for reading; the full value in the tooltip, copied on
/// click.
#[component]
pub fn Hex(#[prop(into)] value: String, #[prop(optional)] long: bool) -> impl IntoView {
    let copied = RwSignal::new(false);
    let shown = if long {
        value.clone()
    } else {
        fmt::short_hex(&value)
    };
    let full = value.clone();
    view! {
        <code
            class="hex"
            class:long=long
            class:copied=move || copied.get()
            title=format!("{value} — click to copy")
            data-full=full.clone()
            on:click=move |_| {
                net::copy(&full);
                copied.set(true);
                set_timeout(move || copied.set(false), std::time::Duration::from_millis(1200));
            }
        >
            {shown}
        </code>
    }
}

/// A step status as a pill: ✓ verified, ✗ failed, – skipped.
#[component]
pub fn Pill(status: StepStatus) -> impl IntoView {
    let (class, text) = match status {
        StepStatus::Passed => ("pill ok", "✓ verified"),
        StepStatus::Failed => ("pill bad", "✗ failed"),
        StepStatus::Skipped => ("pill skip", "– skipped"),
    };
    view! { <span class=class>{text}</span> }
}

/// A spinner line.
#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! { <p class="loading"><span class="spinner"></span>{what}</p> }
}

/// An error box.
#[component]
pub fn ErrorBox(#[prop(into)] message: String) -> impl IntoView {
    view! { <div class="errorbox" role="alert"><b>"Could not load: "</b>{message}</div> }
}

/// A time as UTC with "… ago", ticking.
#[component]
pub fn Time(ms: u64) -> impl IntoView {
    let c = ctx();
    view! {
        <span class="time" title=fmt::rfc3339(ms)>
            {fmt::utc(ms)}
            <span class="ago">" · " {move || fmt::ago(c.now.get(), ms)}</span>
        </span>
    }
}

/// The trust badge in use: "pinned checkpoint" or, plainly, "trust on first use".
#[component]
pub fn TrustBadge() -> impl IntoView {
    use super::state::{TrustSource, TrustState};
    let c = ctx();
    move || {
        match c.trust.get() {
        TrustState::Loading => view! { <span class="tbadge">"trust: loading…"</span> }.into_any(),
        TrustState::Failed(_) => {
            view! { <a class="tbadge bad" href=c.link("/explorer/trust")>"no trusted checkpoint"</a> }
                .into_any()
        }
        TrustState::Ready(t) => match t.source {
            TrustSource::Pinned => view! {
                <a class="tbadge ok" href=c.link("/explorer/trust")
                    title="Proofs are checked against the checkpoint you pinned in this browser">
                    "pinned checkpoint · " {crate::check::fingerprint(&t.checkpoint)}
                </a>
            }
            .into_any(),
            TrustSource::Network { .. } => view! {
                <a class="tbadge ok" href=c.link("/explorer/trust")
                    title="Proofs are checked against the network this explorer was served with, followed from its checkpoint">
                    "network " {t.checkpoint.chain_id.clone()}
                </a>
            }
            .into_any(),
            TrustSource::FirstUse { .. } => view! {
                <a class="tbadge warn" href=c.link("/explorer/trust")
                    title="The validator set was taken from the relay being read: nothing is shown as verified until you pin a checkpoint you trust">
                    "unpinned network · trust on first use"
                </a>
            }
            .into_any(),
        },
    }
    }
}

/// The scenario page's URL.
pub fn scenario_href(id: &str) -> String {
    ctx().link(&format!(
        "/explorer/scenarios/{}",
        fmt::encode_component(id)
    ))
}

/// A record page's URL.
pub fn record_href(id: &str, index: u64) -> String {
    ctx().link(&format!(
        "/explorer/scenarios/{}/records/{index}",
        fmt::encode_component(id)
    ))
}

/// Sets the document's title (`… · Trustchain explorer`).
pub fn set_title(what: &str) {
    if let Some(d) = web_sys::window().and_then(|w| w.document()) {
        d.set_title(&format!("{what} · Trustchain explorer"));
    }
}
