//! `/explorer/scenarios?q=`: the relay's scenarios, searched over their charters (white-paper
//! search) in the browser.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use trustchain_core::scenario::charter::Charter;

use super::net;
use super::state::ctx;
use super::ui::{ErrorBox, Loading, scenario_href};
use crate::api::{ScenarioInfo, ScenarioSummary};
use crate::fmt;
use crate::search::{self, Doc};

#[derive(Clone, Debug, PartialEq)]
struct Indexed {
    summary: ScenarioSummary,
    charter: Option<Charter>,
    doc: Doc,
}

/// The scenarios page.
#[component]
pub fn ScenariosPage() -> impl IntoView {
    let c = ctx();
    super::ui::set_title("Scenarios");
    let query = use_query_map();
    let navigate = use_navigate();
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let index = LocalResource::new(move || {
        let api = c.api_tracked();
        async move {
            let list: Vec<ScenarioSummary> = net::json(&api.url("/v1/scenarios")).await?;
            let mut out = Vec::new();
            for s in list {
                let charter = net::json::<ScenarioInfo>(&api.scenario(s.id.as_str()))
                    .await
                    .ok()
                    .and_then(|i| i.charter);
                let doc = Doc::new(s.id.as_str(), &s.title, charter.as_ref());
                out.push(Indexed {
                    summary: s,
                    charter,
                    doc,
                });
            }
            Ok::<_, String>(out)
        }
    });
    let on_input = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        let path = if v.is_empty() {
            "/explorer/scenarios".to_string()
        } else {
            format!("/explorer/scenarios?q={}", fmt::encode_component(&v))
        };
        navigate(
            &c.link(&path),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };

    view! {
        <section class="hero">
            <p class="eyebrow">"Scenarios"</p>
            <h1>"Search the charters"</h1>
            <p class="lead">
                "Each scenario is an append-only log governed by its charter: who may write, which kinds of record it takes, "
                "their fields and the rules every record must satisfy. Search them all — titles, white papers, kinds, fields and rules."
            </p>
            <div class="searchbox">
                <input
                    id="charter-search"
                    type="search"
                    placeholder="e.g. payee, renovation, approved, amount > 0"
                    autocomplete="off"
                    prop:value=move || q.get()
                    on:input=on_input
                />
            </div>
        </section>
        {move || match index.get() {
            None => view! { <Loading what="Fetching every charter…"/> }.into_any(),
            Some(Err(e)) => view! { <ErrorBox message=e/> }.into_any(),
            Some(Ok(all)) => {
                let query = q.get();
                let docs: Vec<Doc> = all.iter().map(|i| i.doc.clone()).collect();
                let hits = search::search(&docs, &query);
                let n = all.len();
                let summary = if query.trim().is_empty() {
                    format!("{n} scenario(s) on this relay")
                } else {
                    format!("{} of {n} scenario(s) match “{}”", hits.len(), query.trim())
                };
                view! {
                    <p class="muted results-count" id="search-summary">{summary}</p>
                    {hits.is_empty().then(|| view! {
                        <div class="empty">"No charter mentions every word of your search. Try fewer or other words."</div>
                    })}
                    <div class="results">
                    {hits.into_iter().map(|h| {
                        let Some(ix) = all.iter().find(|i| i.summary.id.as_str() == h.id).cloned() else {
                            return ().into_any();
                        };
                        let s = ix.summary;
                        let kinds: Vec<String> = ix.charter.as_ref()
                            .map(|c| c.content.kinds.iter().map(|k| k.name.clone()).collect())
                            .unwrap_or_default();
                        let paper = ix.charter.as_ref().map(|c| c.content.white_paper.clone()).unwrap_or_default();
                        let paper: String = if paper.chars().count() > 220 {
                            paper.chars().take(220).collect::<String>() + "…"
                        } else { paper };
                        view! {
                            <article class="result">
                                <div class="result-h">
                                    <a class="rtitle" href=scenario_href(s.id.as_str())>{if s.title.is_empty() { s.id.to_string() } else { s.title.clone() }}</a>
                                    <code class="sid">{s.id.to_string()}</code>
                                </div>
                                <p class="paper">{paper}</p>
                                <div class="chips">
                                    {kinds.into_iter().map(|k| view! { <span class="chip">{k}</span> }).collect_view()}
                                    <span class="muted small">{fmt::thousands(s.size)} " records · "
                                        {fmt::thousands(s.anchored_size)} " anchored"</span>
                                </div>
                                {(!h.matches.is_empty()).then(|| view! {
                                    <ul class="matches">
                                        {h.matches.into_iter().map(|m| view! {
                                            <li><span class="place">{m.place}</span>
                                                <Highlight text=m.snippet word=m.word/></li>
                                        }).collect_view()}
                                    </ul>
                                })}
                            </article>
                        }.into_any()
                    }).collect_view()}
                    </div>
                }.into_any()
            }
        }}
    }
}

/// `text` with every occurrence of `word` (case-insensitive) marked.
#[component]
fn Highlight(text: String, word: String) -> impl IntoView {
    let lower = text.to_lowercase();
    let mut parts = Vec::new();
    let mut at = 0;
    if lower.len() == text.len() && !word.is_empty() {
        while let Some(i) = lower[at..].find(&word) {
            let s = at + i;
            if !text.is_char_boundary(s) || !text.is_char_boundary(s + word.len()) {
                break;
            }
            parts.push((text[at..s].to_string(), false));
            parts.push((text[s..s + word.len()].to_string(), true));
            at = s + word.len();
        }
    }
    parts.push((text[at..].to_string(), false));
    parts
        .into_iter()
        .map(|(t, m)| {
            if m {
                view! { <mark>{t}</mark> }.into_any()
            } else {
                t.into_any()
            }
        })
        .collect_view()
}
