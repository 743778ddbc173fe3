//! A record proof as a picture: the chain of evidence from the record to the validators, each link
//! marked with the status core's `Verdict` gave its step.

use leptos::prelude::*;
use trustchain_core::merkle::anchor::PathEnd;
use trustchain_core::scenario::contract::Body;
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::proof::{RecordProof, Step, StepStatus, Verdict};

use super::ui::{Hex, Pill, Time};
use crate::check::{self, CharterUse, Checked};
use crate::fmt;

/// Where a verdict came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// Where the proof came from (a relay's URL, a receipt URL, or "pasted").
    pub source: String,
    /// What the validators were trusted on.
    pub trust: String,
    /// Whether that was trust on first use.
    pub first_use: bool,
    /// When it was checked, by this browser's clock.
    pub at_ms: u64,
}

fn status_class(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Passed => "passed",
        StepStatus::Failed => "failed",
        StepStatus::Skipped => "skipped",
    }
}

/// The verdict banner. Green ("Verified") only when every step passed under a trust root the
/// reader chose or this explorer shipped with (`trusted`) and the record's rules were checked
/// against its charter (or the record is the charter). A proof that holds under a relay's own word
/// is "unpinned"; one whose charter was not at hand is "rules not checked" — both amber, never
/// green.
#[component]
pub fn VerdictBanner(checked: Checked, trusted: bool) -> impl IntoView {
    let v = checked.verdict.clone();
    let no_charter = matches!(checked.charter, CharterUse::NotSupplied)
        && matches!(&v.outcome, Ok(rec) if rec.index() != 0);
    match &v.outcome {
        Ok(rec) if !trusted || no_charter => {
            let (state, title, why) = if !trusted {
                (
                    "unpinned",
                    "Checked — but not under a network you pinned",
                    "The proof holds, but the validator set it was checked against came from the relay that served it (trust on first use): that shows the relay agrees with itself, not that it tells the truth. Pin a checkpoint you obtained independently to verify.",
                )
            } else {
                (
                    "no-charter",
                    "Proof checked — rules not checked",
                    "No charter was supplied, so the record's schema and rules were not checked. Add the scenario's charter to verify the record.",
                )
            };
            let text = format!(
                "Record {} of {} is in block {} by this proof.",
                rec.index(),
                rec.scenario(),
                fmt::thousands(rec.block_height()),
            );
            view! {
                <div class="verdict warn" id="verdict" data-verified=state>
                    <div class="v-icon">"?"</div>
                    <div>
                        <h2>{title}</h2>
                        <p>{text}</p>
                        <p class="muted small">{why}</p>
                    </div>
                </div>
            }
            .into_any()
        }
        Ok(rec) => {
            let text = format!(
                "Record {} of {} is in final block {}, recorded by {}.",
                rec.index(),
                rec.scenario(),
                fmt::thousands(rec.block_height()),
                fmt::utc(rec.recorded_by_ms())
            );
            view! {
                <div class="verdict ok" id="verdict" data-verified="true">
                    <div class="v-icon">"✓"</div>
                    <div>
                        <h2>"Verified"</h2>
                        <p>{text}</p>
                        <p class="muted small">{format!("{} validator signature(s) certify the block; every step below was checked in this browser.", rec.signers().len())}</p>
                    </div>
                </div>
            }
            .into_any()
        }
        Err(f) => view! {
            <div class="verdict bad" id="verdict" data-verified="false" data-failed-step=f.step.name()>
                <div class="v-icon">"✗"</div>
                <div>
                    <h2>"Not verified — the " <u>{f.step.name()}</u> " step failed"</h2>
                    <p>{f.reason.clone()}</p>
                    <p class="muted small">"Nothing in this proof is shown as verified. The steps after the failing one were not checked."</p>
                </div>
            </div>
        }
        .into_any(),
    }
}

/// The provenance box.
#[component]
pub fn ProvenanceBox(p: Provenance) -> impl IntoView {
    view! {
        <dl class="kv prov">
            <dt>"checked by"</dt><dd>"trustchain-core, in this browser (WebAssembly)"</dd>
            <dt>"at"</dt><dd><Time ms=p.at_ms/></dd>
            <dt>"proof from"</dt><dd><code class="wrap">{p.source}</code></dd>
            <dt>"validators trusted"</dt><dd>{p.trust}
                {p.first_use.then(|| view! {
                    <div class="tofu">"Trust on first use: the validator set came from the same relay that served the proof, so this shows the relay is consistent with itself — not verified. "
                        <a href=super::state::ctx().link("/explorer/trust")>"Pin a checkpoint"</a> " you trust independently."</div>
                })}</dd>
        </dl>
    }
}

/// The record's content; `verified`: whether core verified the proof it came with (if not, it is
/// labelled unverified: only what core checked is shown as verified).
#[component]
pub fn RecordFields(entry: Entry, verified: bool) -> impl IntoView {
    let note = (!verified).then(|| {
        view! {
            <p class="unverified-note">"Not verified — this is what the proof claims; see the verdict above for why it is not shown as verified."</p>
        }
    });
    let body = match entry {
        Entry::Charter(ch) => {
            let c = ch.content;
            view! {
                <dl class="kv">
                    <dt>"kind"</dt><dd><span class="chip">"charter"</span> " (record 0: the scenario's genesis)"</dd>
                    <dt>"title"</dt><dd>{c.title.clone()}</dd>
                    <dt>"owner"</dt><dd>{c.owners.first().map(|o| view! { <Hex value=o.to_hex()/> })}</dd>
                    <dt>"record kinds"</dt><dd>{c.kinds.iter().map(|k| view! { <span class="chip">{k.name.clone()}</span> " " }).collect_view()}</dd>
                    <dt>"made"</dt><dd><Time ms=c.time_ms/></dd>
                </dl>
            }
            .into_any()
        }
        Entry::Contract(ct) => {
            let c = ct.content;
            view! {
                <dl class="kv">
                    <dt>"kind"</dt><dd><span class="chip">{c.kind.clone()}</span></dd>
                    <dt>"author"</dt><dd><Hex value=c.author.to_hex()/></dd>
                    <dt>"nonce"</dt><dd>{c.nonce}</dd>
                    <dt>"author's time"</dt><dd><Time ms=c.time_ms/> <span class="muted small">" (a claim; the chain bounds it)"</span></dd>
                </dl>
                {match c.body {
                    Body::Fields(f) => view! {
                        <table class="tbl fields" id="record-fields">
                            <thead><tr><th>"field"</th><th>"value"</th><th>"type"</th></tr></thead>
                            <tbody>
                            {f.iter().map(|(k, v)| view! {
                                <tr data-field=k.clone()>
                                    <td><code>{k.clone()}</code></td>
                                    <td class="fval">{fmt::value_text(v)}</td>
                                    <td class="muted">{v.type_name()}</td>
                                </tr>
                            }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Body::Digest(h) => view! {
                        <p>"Digest only — the record's data stays with the project; the chain holds its blake3 hash: "
                            <Hex value=h.to_hex() long=true/></p>
                    }.into_any(),
                }}
                {(!c.attachments.is_empty()).then(|| view! {
                    <p class="small">"attachments: " {c.attachments.iter().map(|a| view! { <Hex value=a.to_hex()/> " " }).collect_view()}</p>
                })}
            }
            .into_any()
        }
    };
    view! { {note} <div class:unverified=!verified>{body}</div> }
}

fn detail(v: &Verdict, s: Step) -> String {
    check::step(v, s)
        .map(|r| r.detail.clone())
        .unwrap_or_default()
}

/// One link of the chain.
#[component]
fn Link(
    n: u8,
    step: Step,
    #[prop(into)] title: String,
    verdict: Verdict,
    children: Children,
) -> impl IntoView {
    let status = check::status(&verdict, step);
    view! {
        <li class=format!("link {}", status_class(status)) data-step=step.name() data-status=status_class(status)>
            <div class="link-h">
                <span class="n">{n}</span>
                <h3>{title}</h3>
                <Pill status=status/>
            </div>
            <p class="detail"><code class="stepname">{step.name()}</code> " " {detail(&verdict, step)}</p>
            <div class="link-b">{children()}</div>
        </li>
    }
}

/// A Merkle path drawn as nodes: start → siblings → root.
#[component]
fn Path(
    #[prop(into)] start_label: String,
    start: String,
    siblings: Vec<String>,
    #[prop(into)] end_label: String,
    end: String,
) -> impl IntoView {
    let n = siblings.len();
    view! {
        <div class="path">
            <div class="node start"><span class="nl">{start_label}</span><Hex value=start/></div>
            {siblings.into_iter().enumerate().map(|(i, s)| view! {
                <span class="arrow">"→"</span>
                <div class="node sib"><span class="nl">{format!("sibling {}/{n}", i + 1)}</span><Hex value=s/></div>
            }).collect_view()}
            <span class="arrow">"→"</span>
            <div class="node end"><span class="nl">{end_label}</span><Hex value=end/></div>
        </div>
    }
}

/// The whole picture.
#[component]
pub fn ProofPicture(
    checked: Checked,
    /// Whether the validator set is one the reader pinned or this explorer shipped with (else:
    /// the relay's own, on first use — said so at the certificate step).
    #[prop(default = true)]
    trusted: bool,
) -> impl IntoView {
    let v = checked.verdict.clone();
    let decode = check::status(&v, Step::Decode);
    let Some(p) = checked.proof.clone() else {
        return view! {
            <ol class="chain">
                <li class=format!("link {}", status_class(decode)) data-step="decode" data-status=status_class(decode)>
                    <div class="link-h"><span class="n">"0"</span><h3>"Reading the receipt"</h3><Pill status=decode/></div>
                    <p class="detail"><code class="stepname">"decode"</code> " " {detail(&v, Step::Decode)}</p>
                </li>
                {Step::ALL[1..].iter().map(|s| view! {
                    <li class="link skipped" data-step=s.name() data-status="skipped">
                        <div class="link-h"><span class="n">"·"</span><h3>{s.name()}</h3><Pill status=StepStatus::Skipped/></div>
                    </li>
                }).collect_view()}
            </ol>
        }
        .into_any();
    };
    let RecordProof {
        entry,
        inclusion,
        checkpoint,
        anchor,
        header,
        certificate,
    } = p.clone();
    let cp = checkpoint.checkpoint.clone();
    let rules_report = v.outcome.as_ref().ok().and_then(|r| r.rules().cloned());
    let signer_line = match &entry {
        Entry::Charter(c) => (
            "charter, signed by every owner (first shown)",
            c.content
                .owners
                .first()
                .map(|k| k.to_hex())
                .unwrap_or_default(),
            c.signatures.first().map(|s| s.to_hex()).unwrap_or_default(),
        ),
        Entry::Contract(c) => (
            "contract, signed by its author",
            c.content.author.to_hex(),
            c.signature.to_hex(),
        ),
    };
    let scenario = entry.scenario().to_string();
    let leaf = entry.leaf_hash().to_hex();
    let root = cp.root.to_hex();
    let root2 = root.clone();
    let digest = cp.digest().to_hex();
    let digest2 = digest.clone();
    let cp_scenario = cp.scenario.to_string();
    let cp_scenario2 = cp_scenario.clone();
    let anchor_key = cp.scenario.anchor_key().to_hex();
    let (cp_size, cp_main_ref, cp_time) = (cp.size, cp.main_ref.to_hex(), cp.time_ms);
    let validators = checked.validators.clone();
    let cert_ok = check::status(&v, Step::Certificate) == StepStatus::Passed;
    let signed: Vec<u16> = certificate.signatures.iter().map(|s| s.validator).collect();
    let header_hash = header.hash().to_hex();
    let anchor_end = match &anchor.end {
        PathEnd::Member => "membership of the scenario's entry".to_string(),
        PathEnd::Empty => "an empty subtree (absence!)".to_string(),
        PathEnd::Other { .. } => "another key's entry (absence!)".to_string(),
    };
    let charter_note = match &checked.charter {
        CharterUse::NotSupplied => "No charter supplied: the rules were not checked.".to_string(),
        CharterUse::Verified { block } => format!(
            "Checked against the scenario's charter, itself verified as record 0 in block {}.",
            fmt::thousands(*block)
        ),
        CharterUse::Pasted => "Checked against the pasted charter (its signature is checked; that it is this scenario's record 0 is your claim).".to_string(),
        CharterUse::Unverified(e) => format!("The charter could not be verified, so the rules were not checked: {e}"),
    };

    view! {
        <ol class="chain">
            <Link n=1 step=Step::Signature title="The record, signed" verdict=v.clone()>
                <dl class="kv">
                    <dt>"record"</dt><dd>{format!("#{} of ", inclusion.index)}<code>{scenario}</code>{format!(" — {}", signer_line.0)}</dd>
                    <dt>"key"</dt><dd><Hex value=signer_line.1/></dd>
                    <dt>"signature"</dt><dd><Hex value=signer_line.2/></dd>
                </dl>
            </Link>
            <Link n=2 step=Step::Rules title="The charter's rules" verdict=v.clone()>
                <p class="muted small">{charter_note}</p>
                {rules_report.map(|r| view! {
                    <ul class="rulelist">
                        {r.passed.into_iter().map(|n| view! { <li><span class="pill ok">"✓ holds"</span> " " <code>{n}</code></li> }).collect_view()}
                        {r.unresolved.into_iter().map(|(n, why)| view! { <li><span class="pill skip">"? unresolved"</span> " " <code>{n}</code> <span class="muted small">" — " {why}</span></li> }).collect_view()}
                    </ul>
                })}
            </Link>
            <Link n=3 step=Step::Inclusion title="Inclusion in the scenario log" verdict=v.clone()>
                <p class="muted small">{format!("The record's leaf hash, combined with {} sibling hash(es), must give the root of the log of {} records (RFC 9162, blake3).", inclusion.path.len(), fmt::thousands(inclusion.size))}</p>
                <Path start_label=format!("leaf #{}", inclusion.index) start=leaf
                    siblings=inclusion.path.iter().map(|h| h.to_hex()).collect()
                    end_label="checkpoint root" end=root/>
            </Link>
            <Link n=4 step=Step::Checkpoint title="The checkpoint, signed by replicas" verdict=v.clone()>
                <dl class="kv">
                    <dt>"scenario"</dt><dd><code>{cp_scenario}</code></dd>
                    <dt>"size"</dt><dd>{fmt::thousands(cp_size)} " records"</dd>
                    <dt>"root"</dt><dd><Hex value=root2/></dd>
                    <dt>"main_ref"</dt><dd><Hex value=cp_main_ref/> <span class="muted small">" the recent main block it names: a lower time bound"</span></dd>
                    <dt>"made"</dt><dd><Time ms=cp_time/></dd>
                    <dt>"digest"</dt><dd><Hex value=digest/></dd>
                </dl>
                <table class="tbl sigs">
                    <thead><tr><th>"replica key"</th><th>"signature"</th></tr></thead>
                    <tbody>
                    {checkpoint.signatures.iter().map(|s| view! {
                        <tr><td><Hex value=s.key.to_hex()/></td><td><Hex value=s.signature.to_hex()/></td></tr>
                    }).collect_view()}
                    </tbody>
                </table>
            </Link>
            <Link n=5 step=Step::Anchor title="Anchored in the main block" verdict=v.clone()>
                <p class="muted small">{format!("The anchor map is a sparse Merkle tree from scenario to its latest checkpoint digest; this path proves {anchor_end} under the block's anchor root.")}</p>
                <Path start_label="checkpoint digest" start=digest2
                    siblings=anchor.siblings.iter().map(|h| h.to_hex()).collect()
                    end_label=format!("anchor root, block {}", header.height) end=header.anchor_root.to_hex()/>
                <p class="muted small">"key: AnchorKey(" <code>{cp_scenario2}</code> ") = " <Hex value=anchor_key/></p>
            </Link>
            <Link n=6 step=Step::Certificate title=if trusted { "Certified by the validators you trust" } else { "Certified by validators the relay itself named (unpinned network)" } verdict=v.clone()>
                <dl class="kv">
                    <dt>"block"</dt><dd>{fmt::thousands(header.height)} " · " <Hex value=header_hash/></dd>
                    <dt>"chain"</dt><dd><code>{header.chain_id.clone()}</code> " · epoch " {header.epoch}</dd>
                    <dt>"time"</dt><dd><Time ms=header.time_ms/> <span class="muted small">" the record existed by then"</span></dd>
                    <dt>"previous"</dt><dd><Hex value=header.prev.to_hex()/></dd>
                    <dt>"validator set"</dt><dd><Hex value=header.validators_hash.to_hex()/></dd>
                    <dt>"certificate"</dt><dd>{format!("round {}, {} vote(s)", certificate.round, certificate.signatures.len())}</dd>
                </dl>
                {match validators {
                    None => view! { <p class="muted">{format!("The validators of epoch {} are not in the trusted set, so the votes cannot be matched to them.", header.epoch)}</p> }.into_any(),
                    Some(set) => {
                        let total = set.total_weight();
                        let weight: u128 = set.validators.iter().enumerate()
                            .filter(|(i, _)| signed.contains(&(*i as u16)))
                            .map(|(_, v)| v.weight as u128).sum();
                        let pct = (weight * 100).checked_div(total).unwrap_or(0);
                        view! {
                            <div class="quorum">
                                <div class="qbar"><span class="qfill" style=format!("width:{pct}%")></span><span class="qmark" title="two thirds"></span></div>
                                <span class="small">{format!("signers hold {} of {} weight ({}); more than ⅔ is needed", fmt::thousands(weight as u64), fmt::thousands(total as u64), fmt::percent(weight, total))}</span>
                            </div>
                            <table class="tbl sigs">
                                <thead><tr><th>"#"</th><th>"validator (trusted set, epoch " {set.epoch} ")"</th><th>"weight"</th><th>"voted"</th></tr></thead>
                                <tbody>
                                {set.validators.iter().enumerate().map(|(i, val)| {
                                    let did = signed.contains(&(i as u16));
                                    view! {
                                        <tr>
                                            <td class="num">{i}</td>
                                            <td><Hex value=val.key.to_hex()/></td>
                                            <td class="num">{fmt::thousands(val.weight)}</td>
                                            <td>{match (did, cert_ok) {
                                                (true, true) => view! { <span class="pill ok">"✓ signed"</span> }.into_any(),
                                                (true, false) => view! { <span class="pill skip">"vote, not checked"</span> }.into_any(),
                                                (false, _) => view! { <span class="pill skip">"– no vote"</span> }.into_any(),
                                            }}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Link>
        </ol>
    }
    .into_any()
}
