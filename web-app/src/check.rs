//! The explorer's verification glue. Every decision is `trustchain-core`'s — records are fetched
//! and verified by core's light-client shell (`trustchain_core::client::Shell`: epochs followed,
//! the charter verified as record 0, no charter no green), checkpoints' signatures by
//! `SignedCheckpoint::verify_signatures`, consistency by `ConsistencyProof::verify`. This module
//! only decides what to call with what, and keeps the results together for the views.

use serde::{Deserialize, Serialize};
use trustchain_core::client::CharterJson;
use trustchain_core::crypto::hash::Hash;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::encoding::{Decode as _, Encode as _};
use trustchain_core::merkle::log::ConsistencyProof;
use trustchain_core::scenario::charter::Charter;
use trustchain_core::scenario::checkpoint::{Checkpoint, SignedCheckpoint};
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::light_client::TrustedCheckpoint;
use trustchain_core::verify::proof::{Step, StepReport, StepStatus, Verdict};

pub use trustchain_core::client::{CharterUse, Checked, require_asked, without_charter};

/// What this browser remembers of a scenario: the largest checkpoint it verified (kept in
/// localStorage per chain and scenario), so the next visit can check that the scenario only
/// appended since — whatever relay is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// Its size.
    pub size: u64,
    /// Its root.
    pub root: Hash,
}

/// A newly verified checkpoint against the one remembered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeenVerdict {
    /// Nothing remembered: this one is remembered now.
    First {
        /// Its size.
        size: u64,
    },
    /// The same checkpoint.
    Same {
        /// Its size.
        size: u64,
    },
    /// Grown, and the consistency proof from the remembered one holds.
    Grew {
        /// The remembered size.
        from: u64,
        /// The new size.
        to: u64,
    },
    /// Smaller than the remembered one: this relay is behind what was seen before.
    Behind {
        /// The remembered size.
        seen: u64,
        /// This one's.
        size: u64,
    },
    /// Not an extension of the remembered one: history was rewritten (or forked).
    Rewritten(String),
    /// The check could not be made (no proof could be fetched).
    Unchecked(String),
}

impl SeenVerdict {
    /// Whether the new checkpoint should be remembered (it extends what was).
    pub fn remember(&self) -> bool {
        matches!(self, SeenVerdict::First { .. } | SeenVerdict::Grew { .. })
    }
}

/// Checks `now` (a checkpoint the light client verified) against `seen` with `proof` (the
/// relay's consistency proof from `seen.size` to `now.size`, if one was fetched), by core's
/// RFC 9162 `ConsistencyProof::verify`.
pub fn against_seen(
    seen: Option<Seen>,
    now: &Checkpoint,
    proof: Result<&ConsistencyProof, &str>,
) -> SeenVerdict {
    let Some(s) = seen else {
        return SeenVerdict::First { size: now.size };
    };
    if s.size == now.size {
        return if s.root == now.root {
            SeenVerdict::Same { size: now.size }
        } else {
            SeenVerdict::Rewritten(format!(
                "at size {} the root was {}, now it is {}",
                s.size,
                s.root.to_hex(),
                now.root.to_hex()
            ))
        };
    }
    if s.size > now.size {
        return SeenVerdict::Behind {
            seen: s.size,
            size: now.size,
        };
    }
    match proof {
        Err(e) => SeenVerdict::Unchecked(e.to_string()),
        Ok(p) if p.from != s.size || p.to != now.size => SeenVerdict::Rewritten(format!(
            "the relay's consistency proof is for sizes {} → {}, not {} → {}",
            p.from, p.to, s.size, now.size
        )),
        Ok(p) => match p.verify(&s.root, &now.root) {
            Ok(()) => SeenVerdict::Grew {
                from: s.size,
                to: now.size,
            },
            Err(e) => SeenVerdict::Rewritten(format!(
                "the log of size {} does not extend the one of size {} seen before: {e}",
                now.size, s.size
            )),
        },
    }
}

/// What a listed record is, checked against the checkpoint verified with the scenario's charter
/// (`core::proof::verify_listed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listed {
    /// In the verified checkpoint's log, at its index.
    Anchored,
    /// Not what the chain holds at that index (altered, moved, or without a path).
    Refuted(String),
    /// Past the verified checkpoint: the relay's word only.
    Pending,
    /// No verified checkpoint yet: the relay's word only.
    Unchecked,
}

/// Checks one listed record (`inclusion` as the relay served it) against `checkpoint`.
pub fn listed(
    checkpoint: Option<&Checkpoint>,
    entry: &Entry,
    index: u64,
    inclusion: Option<&trustchain_core::merkle::log::InclusionProof>,
) -> Listed {
    match (checkpoint, inclusion) {
        (None, _) => Listed::Unchecked,
        (Some(cp), _) if index >= cp.size => Listed::Pending,
        (Some(_), None) => Listed::Refuted("the relay sent no inclusion path".into()),
        (Some(cp), Some(p)) => {
            match trustchain_core::verify::proof::verify_listed(entry, index, p, cp) {
                Ok(()) => Listed::Anchored,
                Err(e) => Listed::Refuted(e.to_string()),
            }
        }
    }
}

/// Reads a charter pasted as JSON: the charter itself, or `/v1/scenarios/{id}`'s answer (which
/// holds it under `charter`) — core's [`CharterJson`].
pub fn parse_charter(text: &str) -> Result<Charter, String> {
    serde_json::from_str::<CharterJson>(text.trim())
        .map(CharterJson::into_charter)
        .map_err(|e| format!("not a charter: {e}"))
}

/// Reads a trusted checkpoint pasted as JSON (what `GET /v1/trust` answers), with every check of
/// [`checked_trust`].
pub fn parse_trust(text: &str) -> Result<TrustedCheckpoint, String> {
    let cp = serde_json::from_str::<TrustedCheckpoint>(text.trim())
        .map_err(|e| format!("not a trusted checkpoint (the JSON of GET /v1/trust): {e}"))?;
    checked_trust(cp)
}

/// Every trust input — a pasted or pinned checkpoint, a relay's `/v1/trust`, a network spec —
/// passes the checks core's decoder applies to a checkpoint: JSON deserialization alone would
/// take an empty, unsorted, duplicated or zero-weight validator set, or an over-long chain id
/// (serde skips `ValidatorSet::check`). The checkpoint is encoded canonically and decoded again;
/// the decoder refuses what is malformed, and the round trip must give it back unchanged.
pub fn checked_trust(cp: TrustedCheckpoint) -> Result<TrustedCheckpoint, String> {
    let bytes = cp.to_bytes();
    let back = TrustedCheckpoint::from_bytes(&bytes)
        .map_err(|e| format!("not a usable trusted checkpoint: {e}"))?;
    if back != cp {
        return Err("not a usable trusted checkpoint: it is not in canonical form".into());
    }
    Ok(back)
}

/// A trusted checkpoint's fingerprint: the first 16 hex digits of blake3 over its canonical
/// encoding — the same as the widget's (`trust.fingerprint`).
pub fn fingerprint(cp: &TrustedCheckpoint) -> String {
    let h = blake3::hash(&cp.to_bytes());
    trustchain_core::encoding::hex::encode(&h.as_bytes()[..8])
}

/// A network spec (`/widget/network.json`, served by the relay that serves this explorer).
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSpec {
    /// The chain's id.
    pub chain_id: String,
    /// The genesis block's hash.
    pub genesis: Hash,
    /// A recent trusted checkpoint of the chain.
    pub checkpoint: TrustedCheckpoint,
}

pub use trustchain_core::client::api::SPEC_KIND;

/// Reads a network spec with the checks of every trust input ([`checked_trust`]); its checkpoint
/// is of its chain, and one at height 0 is the genesis block itself.
pub fn parse_spec(text: &str) -> Result<NetworkSpec, String> {
    let bad = |what: String| format!("not a Trustchain network spec: {what}");
    let j: trustchain_core::client::api::NetworkSpec =
        serde_json::from_str(text.trim()).map_err(|e| bad(e.to_string()))?;
    if j.kind != SPEC_KIND || j.version != 1 {
        return Err(bad(format!("kind {:?} version {}", j.kind, j.version)));
    }
    let checkpoint = checked_trust(j.checkpoint)?;
    if checkpoint.chain_id != j.chain_id {
        return Err(bad("the checkpoint is of another chain".into()));
    }
    if checkpoint.height == 0 && checkpoint.block != j.genesis {
        return Err(bad(
            "a checkpoint at height 0 must be the genesis block".into()
        ));
    }
    Ok(NetworkSpec {
        chain_id: j.chain_id,
        genesis: j.genesis,
        checkpoint,
    })
}

/// The report of one step of a verdict (core reports every step).
pub fn step(v: &Verdict, s: Step) -> Option<&StepReport> {
    v.steps.iter().find(|r| r.step == s)
}

/// A step's status, `Skipped` when the verdict does not name it.
pub fn status(v: &Verdict, s: Step) -> StepStatus {
    step(v, s).map_or(StepStatus::Skipped, |r| r.status)
}

/// One line of a consistency check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// What was checked.
    pub what: &'static str,
    /// How it ended.
    pub status: StepStatus,
    /// Details.
    pub detail: String,
}

/// The outcome of checking that a scenario only appended between two checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyReport {
    /// The checks, in order; checking stops at the first failure (the rest are skipped).
    pub lines: Vec<Line>,
}

impl ConsistencyReport {
    /// Whether every line passed.
    pub fn ok(&self) -> bool {
        self.lines.iter().all(|l| l.status == StepStatus::Passed)
    }
    /// The first failing line.
    pub fn failure(&self) -> Option<&Line> {
        self.lines.iter().find(|l| l.status == StepStatus::Failed)
    }
}

/// Checks a consistency answer (`/consistency?from&to`): both checkpoints are the scenario's and
/// carry valid replica signatures, the proof is for their sizes, and core's RFC 9162 consistency
/// check passes from the earlier root to the later one. `anchored`: the checkpoint of a record
/// proof the light client verified just before, so the later checkpoint can be tied to a
/// certified block when it is that one.
pub fn check_consistency(
    scenario: &ScenarioId,
    from: &SignedCheckpoint,
    to: &SignedCheckpoint,
    proof: &ConsistencyProof,
    anchored: Option<(&SignedCheckpoint, u64)>,
) -> ConsistencyReport {
    let mut lines = Vec::new();
    let mut failed = false;
    let mut push = |what: &'static str, result: Result<String, String>| {
        let (status, detail) = match (failed, result) {
            (true, _) => (StepStatus::Skipped, "not reached".to_string()),
            (false, Ok(d)) => (StepStatus::Passed, d),
            (false, Err(e)) => {
                failed = true;
                (StepStatus::Failed, e)
            }
        };
        lines.push(Line {
            what,
            status,
            detail,
        });
    };
    let (f, t) = (&from.checkpoint, &to.checkpoint);
    push(
        "scenario",
        if &f.scenario == scenario && &t.scenario == scenario {
            Ok(format!("both checkpoints are of {scenario}"))
        } else {
            Err(format!(
                "checkpoints are of {} and {}, not {scenario}",
                f.scenario, t.scenario
            ))
        },
    );
    push(
        "signatures",
        from.verify_signatures()
            .map_err(|e| format!("checkpoint of size {}: {e}", f.size))
            .and_then(|_| {
                to.verify_signatures()
                    .map_err(|e| format!("checkpoint of size {}: {e}", t.size))
            })
            .map(|_| {
                format!(
                    "{} + {} replica signature(s) verify",
                    from.signatures.len(),
                    to.signatures.len()
                )
            }),
    );
    push(
        "sizes",
        if proof.from == f.size && proof.to == t.size {
            Ok(format!("proof is from size {} to size {}", f.size, t.size))
        } else {
            Err(format!(
                "proof is from size {} to {}, checkpoints have sizes {} and {}",
                proof.from, proof.to, f.size, t.size
            ))
        },
    );
    push(
        "consistency",
        proof
            .verify(&f.root, &t.root)
            .map(|_| {
                format!(
                    "the log of size {} is a prefix of the log of size {} ({} hashes)",
                    f.size,
                    t.size,
                    proof.path.len()
                )
            })
            .map_err(|e| e.to_string()),
    );
    let (status, detail) = match (failed, anchored) {
        (true, _) => (StepStatus::Skipped, "not reached".to_string()),
        // The anchored digest is the checkpoint's; signatures and the link (how it joined the
        // chain) are not part of it.
        (false, Some((cp, block))) if cp.checkpoint == to.checkpoint => (
            StepStatus::Passed,
            format!("the later checkpoint is the one anchored in certified block {block}"),
        ),
        (false, Some((cp, block))) => (
            StepStatus::Skipped,
            format!(
                "the later checkpoint (size {}) is not the one the light client verified in block {block} (size {}): the chain moved on; check again",
                t.size, cp.checkpoint.size
            ),
        ),
        (false, None) => (
            StepStatus::Skipped,
            "no verified record proof ties the later checkpoint to a certified block".to_string(),
        ),
    };
    lines.push(Line {
        what: "anchored",
        status,
        detail,
    });
    ConsistencyReport { lines }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustchain_core::chain::validators::ValidatorSet;
    use trustchain_core::client::Shell;
    use trustchain_core::crypto::hash::Hash;
    use trustchain_core::merkle::log::{MemoryLog, leaf_hash};
    use trustchain_core::scenario::checkpoint::Checkpoint;
    use trustchain_core::verify::proof::Failure;
    use trustchain_core::verify::receipt;

    fn key(b: u8) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[b; 32])
    }

    /// Issue 11 §8: a checkpoint verified now is checked against the one remembered from the
    /// last visit — growth with a good proof passes, a rewrite, a wrong proof or another root at
    /// the same size are flagged; a relay behind is noted.
    #[test]
    fn against_seen_flags_rewrites_and_notes_lag() {
        let mut log = MemoryLog::new();
        let mut forked = MemoryLog::new();
        for i in 0..20u64 {
            log.append(leaf_hash(&i.to_le_bytes()));
            forked.append(leaf_hash(&(if i == 3 { 99u64 } else { i }).to_le_bytes()));
        }
        let at = |l: &MemoryLog, size: u64| Checkpoint {
            scenario: ScenarioId::new("demo/budget").unwrap(),
            size,
            root: l.root_at(size),
            main_ref: Hash::ZERO,
            time_ms: 0,
        };
        let seen = Seen {
            size: 8,
            root: log.root_at(8),
        };
        let good = log.prove_consistency(8, 20).unwrap();
        assert_eq!(
            against_seen(None, &at(&log, 8), Err("")),
            SeenVerdict::First { size: 8 }
        );
        assert_eq!(
            against_seen(Some(seen), &at(&log, 8), Err("")),
            SeenVerdict::Same { size: 8 }
        );
        let grew = against_seen(Some(seen), &at(&log, 20), Ok(&good));
        assert_eq!(grew, SeenVerdict::Grew { from: 8, to: 20 });
        assert!(grew.remember());
        assert_eq!(
            against_seen(Some(seen), &at(&log, 5), Err("")),
            SeenVerdict::Behind { seen: 8, size: 5 }
        );
        // A log that differs below the remembered size, with its own "proof".
        let bad = forked.prove_consistency(8, 20).unwrap();
        let v = against_seen(Some(seen), &at(&forked, 20), Ok(&bad));
        assert!(matches!(v, SeenVerdict::Rewritten(_)), "{v:?}");
        assert!(!v.remember());
        // Another root at the same size; a proof for other sizes; no proof at all.
        assert!(matches!(
            against_seen(Some(seen), &at(&forked, 8), Err("")),
            SeenVerdict::Rewritten(_)
        ));
        let other = log.prove_consistency(7, 20).unwrap();
        assert!(matches!(
            against_seen(Some(seen), &at(&log, 20), Ok(&other)),
            SeenVerdict::Rewritten(_)
        ));
        assert!(matches!(
            against_seen(Some(seen), &at(&log, 20), Err("unreachable")),
            SeenVerdict::Unchecked(_)
        ));
    }

    fn cps(log: &MemoryLog, a: u64, b: u64) -> (SignedCheckpoint, SignedCheckpoint) {
        let id = ScenarioId::new("demo/budget").unwrap();
        let k = key(7);
        let mk = |size| {
            Checkpoint {
                scenario: id.clone(),
                size,
                root: log.root_at(size),
                main_ref: Hash::ZERO,
                time_ms: 1,
            }
            .sign(&[&k])
        };
        (mk(a), mk(b))
    }

    #[test]
    fn consistency_passes_and_fails_where_it_should() {
        let mut log = MemoryLog::new();
        for i in 0..20u8 {
            log.append(leaf_hash(&[i]));
        }
        let id = ScenarioId::new("demo/budget").unwrap();
        let (a, b) = cps(&log, 7, 20);
        let p = log.prove_consistency(7, 20).unwrap();
        let r = check_consistency(&id, &a, &b, &p, Some((&b, 12)));
        assert!(r.ok(), "{r:?}");
        assert!(r.lines.last().unwrap().detail.contains("block 12"));

        let r = check_consistency(&id, &a, &b, &p, None);
        assert!(!r.ok() && r.failure().is_none());

        let mut bad = p.clone();
        bad.path[0] = Hash([1; 32]);
        let r = check_consistency(&id, &a, &b, &bad, None);
        assert_eq!(r.failure().unwrap().what, "consistency");
        assert_eq!(r.lines.last().unwrap().detail, "not reached");

        let mut forged = b.clone();
        forged.checkpoint.time_ms = 2;
        let r = check_consistency(&id, &a, &forged, &p, None);
        assert_eq!(r.failure().unwrap().what, "signatures");
    }

    fn trust_json() -> serde_json::Value {
        serde_json::to_value(TrustedCheckpoint {
            chain_id: "x".into(),
            height: 3,
            block: Hash([9; 32]),
            validators: ValidatorSet::new(
                0,
                vec![trustchain_core::chain::validators::Validator {
                    key: trustchain_core::crypto::PublicKey::of(&key(1)),
                    weight: 1,
                }],
            )
            .unwrap(),
        })
        .unwrap()
    }

    #[test]
    fn every_trust_input_goes_through_the_validator_set_checks() {
        let good = trust_json();
        let cp = parse_trust(&good.to_string()).unwrap();
        assert_eq!(fingerprint(&cp).len(), 16);
        let v = good["validators"]["validators"][0].clone();
        let mut zero = v.clone();
        zero["weight"] = 0.into();
        for list in [
            serde_json::json!([v.clone(), v.clone()]),
            serde_json::json!([zero]),
            serde_json::json!([]),
        ] {
            let mut bad = good.clone();
            bad["validators"]["validators"] = list.clone();
            // serde alone takes it …
            assert!(serde_json::from_value::<TrustedCheckpoint>(bad.clone()).is_ok());
            // … the checks every trust input goes through do not.
            let e = parse_trust(&bad.to_string()).unwrap_err();
            assert!(e.contains("not a usable trusted checkpoint"), "{list}: {e}");
            let spec = serde_json::json!({"kind": SPEC_KIND, "version": 1, "chain_id": "x",
                "genesis": Hash([1; 32]), "checkpoint": bad});
            assert!(parse_spec(&spec.to_string()).is_err());
        }
        let mut long = good.clone();
        long["chain_id"] = "c".repeat(65).into();
        assert!(parse_trust(&long.to_string()).is_err());
        // A network spec: its checkpoint must be of its chain.
        let spec = serde_json::json!({"kind": SPEC_KIND, "version": 1, "chain_id": "x",
            "genesis": Hash([1; 32]), "checkpoint": good});
        assert_eq!(parse_spec(&spec.to_string()).unwrap().checkpoint, cp);
        let mut other = spec.clone();
        other["chain_id"] = "y".into();
        assert!(parse_spec(&other.to_string()).is_err());
    }

    #[test]
    fn a_proof_of_another_record_and_a_missing_charter_are_not_verified() {
        let checked = Checked {
            proof: None,
            verdict: Verdict {
                steps: vec![StepReport {
                    step: Step::Rules,
                    status: StepStatus::Skipped,
                    detail: "charter not supplied".into(),
                }],
                outcome: Err(Failure {
                    step: Step::Decode,
                    reason: "x".into(),
                }),
            },
            validators: None,
            charter: CharterUse::NotSupplied,
            rules_charter: None,
        };
        // Without a proof there is nothing to compare; a failed verdict stays failed.
        let same = require_asked(checked.clone(), "demo/budget", 1);
        assert_eq!(same.verdict, checked.verdict);
        let v = without_charter(checked.verdict.clone(), "unreachable");
        assert_eq!(v.failed_step(), Some(Step::Decode));
    }

    #[test]
    fn pasted_inputs() {
        assert!(parse_trust("{}").unwrap_err().contains("GET /v1/trust"));
        assert!(
            parse_charter("[1]")
                .unwrap_err()
                .starts_with("not a charter")
        );
        let undecodable = Shell::new(TrustedCheckpoint {
            chain_id: "x".into(),
            height: 0,
            block: Hash::ZERO,
            validators: ValidatorSet::new(
                0,
                vec![trustchain_core::chain::validators::Validator {
                    key: trustchain_core::crypto::PublicKey::of(&key(1)),
                    weight: 1,
                }],
            )
            .unwrap(),
        })
        .check(receipt::from_base64url("not a receipt!"), None);
        assert_eq!(undecodable.verdict.failed_step(), Some(Step::Decode));
        assert_eq!(
            status(&undecodable.verdict, Step::Certificate),
            StepStatus::Skipped
        );
    }
}
