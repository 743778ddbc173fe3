//! `trustchain-relay verify`: a receipt offline, equivocation evidence, or a record fetched from
//! a relay — all through core's light-client shell (`trustchain_core::client`), the one the
//! browser widget and the explorer run. Online, the shell is driven by a tiny `block_on` over a
//! blocking HTTP transport (ureq): its futures never wait on anything else.

use std::future::Future;
use std::process::ExitCode;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyhow::Context as _;
use trustchain_core::chain::block::EpochChange;
use trustchain_core::client::api::{ApiError, Block, Epochs};
use trustchain_core::client::{CertifiedBlock, CharterJson, CharterUse, Checked, Shell, Transport};
use trustchain_core::encoding::DecodeError;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::verify::light_client::TrustedCheckpoint;
use trustchain_core::verify::proof::{RecordProof, StepStatus};
use trustchain_core::verify::receipt;

use crate::read_input;

/// Reads a trusted checkpoint file with the checks every trust input goes through.
pub fn read_trust(trust: &std::path::Path) -> anyhow::Result<TrustedCheckpoint> {
    let trust_text =
        std::fs::read(trust).with_context(|| format!("cannot read {}", trust.display()))?;
    let cp: TrustedCheckpoint = serde_json::from_slice(&trust_text).with_context(|| {
        format!(
            "{} is not a trusted checkpoint (save `GET /v1/trust` from a relay you trust)",
            trust.display()
        )
    })?;
    // JSON alone skips the validator set's checks (non-empty, keys strictly ascending, no zero
    // weight, at most MAX_VALIDATORS) and the chain id's length: the canonical decoder applies
    // them, so every trust input goes through it.
    use trustchain_core::encoding::{Decode as _, Encode as _};
    let back = TrustedCheckpoint::from_bytes(&cp.to_bytes()).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a usable trusted checkpoint: {e}",
            trust.display()
        )
    })?;
    anyhow::ensure!(
        back == cp,
        "{} is not a usable trusted checkpoint: not in canonical form",
        trust.display()
    );
    Ok(cp)
}

/// Checks equivocation evidence against the trusted validator set.
pub fn verify_evidence(arg: &str, trust: &std::path::Path) -> anyhow::Result<ExitCode> {
    use trustchain_core::encoding::Decode as _;
    use trustchain_core::verify::light_client::EquivocationEvidence;
    let trust = read_trust(trust)?;
    let raw = read_input(arg)?;
    let text = String::from_utf8(raw).context("the evidence is not text (JSON or hex)")?;
    let hex = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => v
            .get("bytes")
            .and_then(|b| b.as_str())
            .context("the evidence JSON has no \"bytes\" field (hex of the canonical encoding)")?
            .to_string(),
        Err(_) => text.trim().to_string(),
    };
    let bytes =
        trustchain_core::encoding::hex::decode(&hex, "evidence").context("the evidence bytes")?;
    let ev = EquivocationEvidence::from_bytes(&bytes)
        .context("the evidence does not decode as canonical EquivocationEvidence")?;
    let set = &trust.validators;
    if ev.first.chain_id != trust.chain_id {
        println!(
            "NOT PROVEN: the evidence is for chain {:?}, the trusted checkpoint for {:?}",
            ev.first.chain_id, trust.chain_id
        );
        return Ok(ExitCode::from(1));
    }
    if ev.first.epoch != set.epoch || ev.second.epoch != set.epoch {
        println!(
            "NOT PROVEN: the blocks are in epoch {} and {}, the trusted validator set is epoch {}'s; use a checkpoint of that epoch",
            ev.first.epoch, ev.second.epoch, set.epoch
        );
        return Ok(ExitCode::from(1));
    }
    match ev.verify(set) {
        Ok(()) => {
            println!(
                "EQUIVOCATION PROVEN: two different blocks at height {} of {}, each certified by validators of epoch {}:",
                ev.first.height, trust.chain_id, set.epoch
            );
            for (h, c) in [
                (&ev.first, &ev.first_certificate),
                (&ev.second, &ev.second_certificate),
            ] {
                println!(
                    "  block {}  {} of {} validator signature(s)",
                    h.hash(),
                    c.signatures.len(),
                    set.validators.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("NOT PROVEN: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Verifies a receipt offline, against a charter given as JSON (the charter or a
/// `GET /v1/scenarios/{id}` answer: core's `CharterJson`) when there is one.
pub fn verify(
    receipt_arg: &str,
    trust: &std::path::Path,
    charter: Option<&std::path::Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let trust = read_trust(trust)?;
    let charter = match charter {
        Some(p) => Some(
            serde_json::from_slice::<CharterJson>(
                &std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
            )
            .context("not a charter")?
            .into_charter(),
        ),
        None => None,
    };
    let raw = read_input(receipt_arg)?;
    let text = String::from_utf8_lossy(&raw);
    let checked = Shell::new(trust).check(
        receipt::from_base64url(&text),
        charter.as_ref().map(|c| (c, CharterUse::Pasted)),
    );
    report(&checked, json)
}

/// Fetches record `index` of `scenario` from `relay` and verifies it with the shell: the epoch
/// hand-overs from the trusted checkpoint to the record's block are followed (each checked),
/// the scenario's charter is verified as its record 0 and the record checked against it (no
/// charter, not verified), and the proof must be of the record asked for.
pub fn verify_online(
    relay: &str,
    scenario: &str,
    index: u64,
    trust: &std::path::Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let trust = read_trust(trust)?;
    let id = ScenarioId::new(scenario).map_err(|e| anyhow::anyhow!("--scenario: {e}"))?;
    let t = Ureq::new(relay);
    let checked = block_on(Shell::new(trust).fetch_and_verify(&t, &id, index))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let CharterUse::Unverified(note) = &checked.charter {
        eprintln!("charter: {note}");
    }
    report(&checked, json)
}

/// Prints a verdict and says how to exit: 0 verified, 1 not, 3 when the proof holds but a
/// contract's charter rules were not checked (no charter, no "verified"). Record 0 is the charter
/// itself.
fn report(checked: &Checked, json: bool) -> anyhow::Result<ExitCode> {
    let verdict = &checked.verdict;
    let rules_unchecked = verdict.outcome.as_ref().is_ok_and(|r| r.index() > 0)
        && verdict.steps.iter().any(|s| {
            s.step == trustchain_core::verify::proof::Step::Rules && s.status == StepStatus::Skipped
        });
    if json {
        println!("{}", serde_json::to_string_pretty(verdict)?);
    } else {
        for s in &verdict.steps {
            let mark = match s.status {
                StepStatus::Passed => "ok  ",
                StepStatus::Failed => "FAIL",
                StepStatus::Skipped => "skip",
            };
            println!("{mark} {:<12} {}", s.step.name(), s.detail);
        }
        let at = |ms: u64| {
            humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + Duration::from_millis(ms))
        };
        match &verdict.outcome {
            Ok(r) if rules_unchecked => println!(
                "PROOF HOLDS, RULES NOT CHECKED: record {} of {} is in final block {}, recorded by {}; pass --charter (the scenario's record 0) to check it against its charter",
                r.index(),
                r.scenario(),
                r.block_height(),
                at(r.recorded_by_ms())
            ),
            Ok(r) => println!(
                "VERIFIED: record {} of {} is in final block {}, recorded by {}",
                r.index(),
                r.scenario(),
                r.block_height(),
                at(r.recorded_by_ms())
            ),
            Err(f) => println!("NOT VERIFIED: {f}"),
        }
    }
    Ok(if !verdict.is_verified() {
        ExitCode::from(1)
    } else if rules_unchecked {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Polls a future to its end on this thread. The shell's futures only await the transport's,
/// and this transport blocks instead of waiting: each poll makes progress.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// A relay's HTTP API (`docs/openapi.yaml`) through a blocking agent: a transport of the shell.
struct Ureq {
    base: String,
    agent: ureq::Agent,
}

impl Ureq {
    fn new(base: &str) -> Ureq {
        Ureq {
            base: base.trim().trim_end_matches('/').to_string(),
            agent: crate::http(),
        }
    }

    fn get(&self, path: &str, limit: usize) -> Result<Vec<u8>, String> {
        let url = format!("{}{path}", self.base);
        let mut res = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| format!("relay unreachable: {url}: {e}"))?;
        let status = res.status();
        let body = res
            .body_mut()
            .with_config()
            .limit(limit as u64)
            .read_to_vec()
            .map_err(|e| format!("{url}: {e}"))?;
        if !status.is_success() {
            let why = serde_json::from_slice::<ApiError>(&body)
                .map(|e| format!("{} ({})", e.message, e.error))
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).chars().take(200).collect());
            return Err(format!("relay refused ({status}): {why}"));
        }
        Ok(body)
    }

    fn json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let body = self.get(path, trustchain_core::verify::wire::MAX_FRAME)?;
        serde_json::from_slice(&body)
            .map_err(|e| format!("{}{path}: unexpected answer: {e}", self.base))
    }
}

impl Transport for Ureq {
    type Error = String;

    fn name(&self) -> &str {
        &self.base
    }

    fn served_by(&self) -> Option<(&'static str, String)> {
        Some(("http", self.base.clone()))
    }

    async fn trusted_checkpoint(&self) -> Result<TrustedCheckpoint, String> {
        self.json("/v1/trust")
    }

    async fn record_proof(
        &self,
        scenario: &ScenarioId,
        index: u64,
    ) -> Result<Result<RecordProof, DecodeError>, String> {
        let path = format!(
            "/v1/scenarios/{}/records/{index}?format=bytes",
            scenario.as_str().replace('/', "%2F")
        );
        let bytes = self.get(&path, receipt::MAX_RECEIPT_BYTES)?;
        Ok(receipt::from_bytes(&bytes))
    }

    async fn block(&self, height: Option<u64>) -> Result<CertifiedBlock, String> {
        let b: Block = match height {
            None => self.json("/v1/main/head")?,
            Some(h) => self.json(&format!("/v1/main/blocks/{h}"))?,
        };
        Ok((b.block.header, b.block.certificate))
    }

    async fn epoch_changes(&self, from_epoch: u64) -> Result<Vec<EpochChange>, String> {
        let e: Epochs = self.json("/v1/main/epochs")?;
        Ok(e.changes
            .into_iter()
            .filter(|c| c.next.epoch >= from_epoch)
            .collect())
    }
}
