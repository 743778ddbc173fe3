//! The app: a header, and one view per route under `/explorer/`.
//!
//! | route | view |
//! |---|---|
//! | `/explorer/` | the network: relays and their heads, validators, epochs, browser addresses |
//! | `/explorer/scenarios?q=` | scenarios, searched over their charters |
//! | `/explorer/scenarios/{id}?from=` | a scenario: charter, records, checkpoints, consistency |
//! | `/explorer/scenarios/{id}/records/{i}` | a record and its proof as a picture |
//! | `/explorer/verify?receipt=` | verify a receipt offline |
//! | `/explorer/trust` | the trusted checkpoint and the relays |
//!
//! Scenario ids are one path segment, percent-encoded (`demo%2Fbudget`), as in the relay's API;
//! `/explorer/scenarios/demo/budget/records/3` is understood too.

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::use_params_map;
use leptos_router::path;

mod net;
mod network;
mod proof;
mod record;
mod scenario;
mod scenarios;
mod state;
mod trust;
mod ui;
mod verify;

use state::{Ctx, ctx};

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    let c = Ctx::new();
    provide_context(c);
    c.start();
    view! {
        <Router>
            <Header/>
            <main class="page">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/explorer") view=network::NetworkPage/>
                    <Route path=path!("/explorer/scenarios") view=scenarios::ScenariosPage/>
                    <Route path=path!("/explorer/scenarios/:id") view=scenario::ScenarioPage/>
                    <Route
                        path=path!("/explorer/scenarios/:id/records/:index")
                        view=record::RecordPage
                    />
                    <Route path=path!("/explorer/scenarios/*rest") view=ScenarioPath/>
                    <Route path=path!("/explorer/verify") view=verify::VerifyPage/>
                    <Route path=path!("/explorer/trust") view=trust::TrustPage/>
                </Routes>
            </main>
            <footer class="foot">
                <span>
                    "Every proof on these pages is checked in your browser by "
                    <code>"trustchain-core"</code> " (WebAssembly) against the checkpoint you trust."
                </span>
                <a href="https://github.com/trustchain/trustchain" rel="external">"Trustchain"</a>
            </footer>
        </Router>
    }
}

#[component]
fn Header() -> impl IntoView {
    let c = ctx();
    let host = move || {
        let r = c.relay.get();
        r.split("://").nth(1).unwrap_or(&r).to_string()
    };
    view! {
        <header class="top">
            <div class="top-in">
                <a class="brand" href=move || c.link("/explorer/")>
                    <span class="logo" aria-hidden="true"></span>
                    "Trustchain" <small>"explorer"</small>
                </a>
                <nav class="nav">
                    <A href=move || c.link("/explorer/") exact=true>"Network"</A>
                    <A href=move || c.link("/explorer/scenarios")>"Scenarios"</A>
                    <A href=move || c.link("/explorer/verify")>"Verify a receipt"</A>
                    <A href=move || c.link("/explorer/trust")>"Trust"</A>
                </nav>
                <div class="top-right">
                    <a class="relaychip" href=move || c.link("/explorer/trust") title="The relay this explorer reads">
                        <span class="dot"></span>
                        {host}
                    </a>
                    <ui::TrustBadge/>
                </div>
            </div>
        </header>
    }
}

/// `/explorer/scenarios/demo/budget[/records/3]`: scenario ids written with their `/`.
#[component]
fn ScenarioPath() -> impl IntoView {
    let params = use_params_map();
    move || {
        let rest = crate::fmt::decode_component(&params.read().get("rest").unwrap_or_default());
        let rest = rest.trim_end_matches('/');
        if let Some((id, i)) = rest.rsplit_once("/records/")
            && let Ok(i) = i.parse::<u64>()
        {
            return view! { <record::Record id=id.to_string() index=i/> }.into_any();
        }
        view! { <scenario::Scenario id=rest.to_string()/> }.into_any()
    }
}

#[component]
fn NotFound() -> impl IntoView {
    let c = ctx();
    view! {
        <section class="hero">
            <h1>"Nothing here"</h1>
            <p class="lead">
                "This explorer has no page at this address. Start from the "
                <a href=c.link("/explorer/")>"network"</a> " or the "
                <a href=c.link("/explorer/scenarios")>"scenarios"</a> "."
            </p>
        </section>
    }
}
