//! The shell: one light client, walked over a [`Transport`].

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use serde::Deserialize;

use super::transport::Transport;
use crate::chain::validators::ValidatorSet;
use crate::encoding::DecodeError;
use crate::encoding::value::ScenarioId;
use crate::scenario::charter::Charter;
use crate::scenario::checkpoint::SignedCheckpoint;
use crate::scenario::entry::Entry;
use crate::verify::light_client::{LightClient, TrustedCheckpoint};
use crate::verify::proof::{RecordProof, Step, Verdict};

/// A scenario's charter, verified by the light client as the scenario's record 0.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedCharter {
    /// The charter.
    pub charter: Charter,
    /// The height of the certified block its proof was anchored in.
    pub block: u64,
    /// The anchored checkpoint its proof verified (listed records can be checked against it).
    pub checkpoint: SignedCheckpoint,
}

/// The charter a record's rules step used.
#[derive(Clone, Debug, PartialEq)]
pub enum CharterUse {
    /// None was given (or the record is the charter itself).
    NotSupplied,
    /// The scenario's record 0, itself verified by the light client.
    Verified {
        /// The block its proof was anchored in.
        block: u64,
    },
    /// Given by the person (pasted, or a file): its signature is checked by the rules step, its
    /// being the scenario's record 0 is their claim.
    Pasted,
    /// It could not be verified as the scenario's record 0, so it was not used: the record is
    /// not verified (no charter, no green). The note says why.
    Unverified(String),
}

/// A proof and what core concluded about it.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The decoded proof (`None`: the bytes did not decode).
    pub proof: Option<RecordProof>,
    /// Core's verdict: every step, and the record or the first failure.
    pub verdict: Verdict,
    /// The trusted validator set of the proof's block epoch, when the client knows it.
    pub validators: Option<ValidatorSet>,
    /// What happened to the charter the rules were checked against.
    pub charter: CharterUse,
    /// That charter, when one was used.
    pub rules_charter: Option<Charter>,
}

/// A charter given as JSON: the charter itself, or an answer holding it under `charter` (such as
/// `GET /v1/scenarios/{id}`). Read with any serde format: `serde_json::from_str::<CharterJson>`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum CharterJson {
    /// The charter itself.
    Bare(Charter),
    /// An object holding it under `charter`.
    Wrapped {
        /// The charter.
        charter: Charter,
    },
}

impl CharterJson {
    /// The charter.
    pub fn into_charter(self) -> Charter {
        match self {
            CharterJson::Bare(c) | CharterJson::Wrapped { charter: c } => c,
        }
    }
}

/// Whether `proof` is of record `index` of `scenario`: a relay answering another record's valid
/// proof must not make a page show that record as the one asked for.
pub fn answers(proof: &RecordProof, scenario: &str, index: u64) -> Result<(), String> {
    let (got_s, got_i) = (proof.entry.scenario().as_str(), proof.inclusion.index);
    if got_s == scenario && got_i == index {
        return Ok(());
    }
    Err(format!(
        "asked for record {index} of {scenario}, the relay answered with a proof of record {got_i} of {got_s}"
    ))
}

/// The record a proof is of must be the one asked for ([`answers`]): a mismatch turns the verdict
/// into a failure of the decode step (the answer is not the proof asked for), whatever the other
/// steps said.
pub fn require_asked(mut checked: Checked, scenario: &str, index: u64) -> Checked {
    if let Some(Err(reason)) = checked.proof.as_ref().map(|p| answers(p, scenario, index)) {
        checked.verdict = checked.verdict.fail_at(Step::Decode, reason);
    }
    checked
}

/// No charter, no green: a record (other than the charter itself) whose scenario's charter could
/// not be verified is not verified — its schema and rules were never checked. A verdict that
/// passed every step fails at the rules step, naming why.
pub fn without_charter(verdict: Verdict, why: &str) -> Verdict {
    if verdict.outcome.is_err() {
        return verdict;
    }
    verdict.fail_at(
        Step::Rules,
        format!(
            "the scenario's charter (record 0) was not verified ({why}), so the record's schema and rules were not checked"
        ),
    )
}

struct State {
    client: LightClient,
    /// Charters verified as record 0, per relay (the transport's name) and scenario.
    charters: Vec<(String, ScenarioId, VerifiedCharter)>,
}

/// One light client and what it verified, driven over [`Transport`]s. Its methods take `&self`
/// and never hold the client across an `.await`, so a page may run many verifications at once
/// (share it in an `Rc`).
pub struct Shell {
    state: RefCell<State>,
}

impl Shell {
    /// A shell that trusts `trust` (a validator set at a height).
    pub fn new(trust: TrustedCheckpoint) -> Shell {
        Shell {
            state: RefCell::new(State {
                client: LightClient::new(trust),
                charters: Vec::new(),
            }),
        }
    }

    /// Runs `f` on the light client (headers, evidence, validator sets, cross-checks).
    pub fn with_client<R>(&self, f: impl FnOnce(&mut LightClient) -> R) -> R {
        f(&mut self.state.borrow_mut().client)
    }

    /// Follows the chain's epoch changes from the client's latest trusted epoch up to `epoch`
    /// (`u64::MAX`: as far as the relay serves them). Each hand-over is checked by core's light
    /// client (the last block of the epoch it trusts, certified by that epoch's set, naming the
    /// next set), so a relay cannot hand over to a set of its choosing. Failures are left to the
    /// verdict: a header of an epoch still unknown fails its certificate step, saying so.
    pub async fn follow_epochs<T: Transport>(&self, t: &T, epoch: u64) {
        loop {
            let known = self.with_client(|c| c.epoch());
            if known >= epoch {
                return;
            }
            let Ok(changes) = t.epoch_changes(known + 1).await else {
                return;
            };
            let mut st = self.state.borrow_mut();
            for change in &changes {
                if change.header.epoch == st.client.epoch()
                    && st.client.apply_epoch_change(change).is_err()
                {
                    return;
                }
            }
            if st.client.epoch() == known {
                return; // no progress: the relay has nothing newer
            }
        }
    }

    /// Verifies a proof (or its decoding error) with the light client, against `charter` when
    /// one is given. Nothing is fetched: epochs must have been followed already.
    pub fn check(
        &self,
        decoded: Result<RecordProof, DecodeError>,
        charter: Option<(&Charter, CharterUse)>,
    ) -> Checked {
        let proof = match decoded {
            Ok(p) => p,
            Err(e) => {
                return Checked {
                    proof: None,
                    verdict: Verdict::undecodable(&e),
                    validators: None,
                    charter: CharterUse::NotSupplied,
                    rules_charter: None,
                };
            }
        };
        let (rules_charter, used) = match charter {
            Some((c, u)) => (Some(c), u),
            None => (None, CharterUse::NotSupplied),
        };
        let mut st = self.state.borrow_mut();
        let verdict = st.client.verify_record(&proof, rules_charter);
        let validators = st.client.validators(proof.header.epoch).cloned();
        Checked {
            proof: Some(proof),
            verdict,
            validators,
            charter: used,
            rules_charter: rules_charter.cloned(),
        }
    }

    /// Verifies a proof of record 0 of `scenario` as its charter: it must verify and be that
    /// scenario's charter. The error is a note for the verdict of the records it was wanted for.
    pub fn check_charter(
        &self,
        scenario: &ScenarioId,
        decoded: Result<RecordProof, DecodeError>,
    ) -> Result<VerifiedCharter, String> {
        let proof = decoded.map_err(|e| format!("charter not decoded: {e}"))?;
        let checked = self.check(Ok(proof), None);
        match (checked.verdict.outcome, checked.proof) {
            (Ok(rec), Some(p)) => match p.entry {
                Entry::Charter(c) if rec.index() == 0 && &c.content.scenario == scenario => {
                    Ok(VerifiedCharter {
                        charter: c,
                        block: rec.block_height(),
                        checkpoint: p.checkpoint,
                    })
                }
                _ => Err("record 0 is not this scenario's charter".to_string()),
            },
            (Err(f), _) => Err(format!("charter not verified: {f}")),
            (Ok(_), None) => Err("charter not decoded".to_string()),
        }
    }

    /// Fetches record 0 of `scenario` from `t`, follows the epochs its block needs and verifies it
    /// as the scenario's charter ([`Self::check_charter`]); remembers it for `t`.
    pub async fn verified_charter<T: Transport>(
        &self,
        t: &T,
        scenario: &ScenarioId,
    ) -> Result<VerifiedCharter, String> {
        let decoded = t
            .record_proof(scenario, 0)
            .await
            .map_err(|e| format!("charter not fetched: {e}"))?;
        if let Ok(p) = &decoded {
            self.follow_epochs(t, p.header.epoch).await;
        }
        let v = self.check_charter(scenario, decoded)?;
        let mut st = self.state.borrow_mut();
        st.charters
            .retain(|(r, s, _)| !(r == t.name() && s == scenario));
        st.charters
            .push((t.name().to_string(), scenario.clone(), v.clone()));
        Ok(v)
    }

    /// The charter of `scenario` as verified from `t` before, else fetched and verified now.
    pub async fn charter<T: Transport>(
        &self,
        t: &T,
        scenario: &ScenarioId,
    ) -> Result<VerifiedCharter, String> {
        let cached = self
            .state
            .borrow()
            .charters
            .iter()
            .find(|(r, s, _)| r == t.name() && s == scenario)
            .map(|(_, _, c)| c.clone());
        match cached {
            Some(c) => Ok(c),
            None => self.verified_charter(t, scenario).await,
        }
    }

    /// Fetches record `index` of `scenario` from `t` and verifies it: the epochs its block needs
    /// are followed first and, when it is not the charter, it is checked against the scenario's
    /// charter ([`Self::charter`]) — without one it is not verified ([`without_charter`]). A proof
    /// of another record than the one asked for fails its decode step ([`require_asked`]).
    ///
    /// `Err` only when the relay could not be asked for the record itself.
    pub async fn fetch_and_verify<T: Transport>(
        &self,
        t: &T,
        scenario: &ScenarioId,
        index: u64,
    ) -> Result<Checked, T::Error> {
        let charter = if index == 0 {
            None
        } else {
            Some(self.charter(t, scenario).await)
        };
        let decoded = t.record_proof(scenario, index).await?;
        if let Ok(p) = &decoded {
            self.follow_epochs(t, p.header.epoch).await;
        }
        let checked = match &charter {
            None => self.check(decoded, None),
            Some(Ok(v)) => self.check(
                decoded,
                Some((&v.charter, CharterUse::Verified { block: v.block })),
            ),
            Some(Err(note)) => {
                let mut c = self.check(decoded, None);
                if c.proof.is_some() {
                    c.verdict = without_charter(c.verdict, note);
                }
                c.charter = CharterUse::Unverified(note.clone());
                c
            }
        };
        Ok(require_asked(checked, scenario.as_str(), index))
    }
}
