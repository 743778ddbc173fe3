//! `RecordProof` and the verifier: contract → log inclusion → checkpoint → anchor → header →
//! certificate, each step named in the [`Verdict`].

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::chain::block::{BlockHeader, CommitCertificate};
use crate::chain::validators::ValidatorSet;
use crate::crypto::PublicKey;
use crate::crypto::hash::Hash;
use crate::encoding::value::ScenarioId;
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};
use crate::merkle::anchor::AnchorProof;
use crate::merkle::log::InclusionProof;
use crate::scenario::charter::{Charter, RuleReport};
use crate::scenario::checkpoint::SignedCheckpoint;
use crate::scenario::entry::Entry;
use crate::scenario::rules::NoLookup;

/// Everything needed to check one record against a trusted validator set, with no other data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordProof {
    /// The record (a contract, or the charter at index 0).
    pub entry: Entry,
    /// Its inclusion path in the scenario log, at the checkpoint's size.
    pub inclusion: InclusionProof,
    /// The scenario checkpoint the path leads to.
    pub checkpoint: SignedCheckpoint,
    /// The checkpoint's path in the block's anchor map.
    pub anchor: AnchorProof,
    /// The main block that anchors the checkpoint.
    pub header: BlockHeader,
    /// The block's commit certificate.
    pub certificate: CommitCertificate,
}

/// The checks a verifier makes, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Reading the bytes (receipt or API answer).
    Decode,
    /// The record's author signature.
    Signature,
    /// The charter's schema and rules.
    Rules,
    /// The Merkle path from the record to the checkpoint root.
    Inclusion,
    /// The checkpoint: same scenario and size, replica signatures.
    Checkpoint,
    /// The checkpoint's path in the block's anchor map.
    Anchor,
    /// The block's commit certificate under the trusted validator set.
    Certificate,
}

impl Step {
    /// Every step in order.
    pub const ALL: [Step; 7] = [
        Step::Decode,
        Step::Signature,
        Step::Rules,
        Step::Inclusion,
        Step::Checkpoint,
        Step::Anchor,
        Step::Certificate,
    ];
    /// The step's name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Decode => "decode",
            Step::Signature => "signature",
            Step::Rules => "rules",
            Step::Inclusion => "inclusion",
            Step::Checkpoint => "checkpoint",
            Step::Anchor => "anchor",
            Step::Certificate => "certificate",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How one step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Checked and holds.
    Passed,
    /// Checked and fails.
    Failed,
    /// Not checked (an earlier step failed, or the input for it was not supplied).
    Skipped,
}

/// One line of a verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    /// Which step.
    pub step: Step,
    /// How it ended.
    pub status: StepStatus,
    /// What was checked, or why it failed.
    pub detail: String,
}

/// The first failing step and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{step} step failed: {reason}")]
pub struct Failure {
    /// The failing step.
    pub step: Step,
    /// Why.
    pub reason: String,
}

/// A record that passed every check. Only the verifier makes one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedRecord {
    entry: Entry,
    index: u64,
    checkpoint_size: u64,
    block_height: u64,
    block_hash: Hash,
    block_time_ms: u64,
    signers: Vec<PublicKey>,
    rules: Option<RuleReport>,
}

impl VerifiedRecord {
    /// The record.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }
    /// Its index in the scenario log.
    pub fn index(&self) -> u64 {
        self.index
    }
    /// Its scenario.
    pub fn scenario(&self) -> &ScenarioId {
        self.entry.scenario()
    }
    /// Height of the anchoring block.
    pub fn block_height(&self) -> u64 {
        self.block_height
    }
    /// Hash of the anchoring block.
    pub fn block_hash(&self) -> Hash {
        self.block_hash
    }
    /// The anchoring block's time: the record existed by then.
    pub fn recorded_by_ms(&self) -> u64 {
        self.block_time_ms
    }
    /// The validators whose votes certified the block.
    pub fn signers(&self) -> &[PublicKey] {
        &self.signers
    }
    /// The rules outcome, when a charter was supplied.
    pub fn rules(&self) -> Option<&RuleReport> {
        self.rules.as_ref()
    }
    /// The size of the checkpoint the record was proven in.
    pub fn checkpoint_size(&self) -> u64 {
        self.checkpoint_size
    }
}

/// The outcome of verifying a record: every step with its status, and the record or the failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The steps, in order.
    pub steps: Vec<StepReport>,
    /// The verified record, or the first failure.
    pub outcome: Result<VerifiedRecord, Failure>,
}

impl Verdict {
    /// Turns a passing verdict into a failure of `step` (used when a later, stateful check —
    /// such as fork detection — refuses what the stateless checks accepted).
    pub(crate) fn fail_at(mut self, step: Step, reason: String) -> Verdict {
        if let Some(r) = self.steps.iter_mut().find(|r| r.step == step) {
            r.status = StepStatus::Failed;
            r.detail = reason.clone();
        }
        self.outcome = Err(Failure { step, reason });
        self
    }
    /// Whether every checked step passed.
    pub fn is_verified(&self) -> bool {
        self.outcome.is_ok()
    }
    /// The failing step, if any.
    pub fn failed_step(&self) -> Option<Step> {
        self.outcome.as_ref().err().map(|f| f.step)
    }
    /// A verdict for bytes that did not decode.
    pub fn undecodable(e: &DecodeError) -> Verdict {
        let mut steps = Vec::new();
        steps.push(StepReport {
            step: Step::Decode,
            status: StepStatus::Failed,
            detail: e.to_string(),
        });
        skip_rest(&mut steps, Step::Decode);
        Verdict {
            steps,
            outcome: Err(Failure {
                step: Step::Decode,
                reason: e.to_string(),
            }),
        }
    }
}

fn skip_rest(steps: &mut Vec<StepReport>, after: Step) {
    let pos = Step::ALL.iter().position(|s| *s == after).unwrap_or(0);
    for s in &Step::ALL[pos + 1..] {
        steps.push(StepReport {
            step: *s,
            status: StepStatus::Skipped,
            detail: "not reached".to_string(),
        });
    }
}

struct Run {
    steps: Vec<StepReport>,
}

impl Run {
    fn pass(&mut self, step: Step, detail: String) {
        self.steps.push(StepReport {
            step,
            status: StepStatus::Passed,
            detail,
        });
    }
    fn fail(mut self, step: Step, reason: String) -> Verdict {
        self.steps.push(StepReport {
            step,
            status: StepStatus::Failed,
            detail: reason.clone(),
        });
        skip_rest(&mut self.steps, step);
        Verdict {
            steps: self.steps,
            outcome: Err(Failure { step, reason }),
        }
    }
}

/// Why a listed record is not in a verified checkpoint's log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ListedError {
    /// The record is another scenario's.
    #[error("the record belongs to scenario {0}")]
    OtherScenario(ScenarioId),
    /// The proof is for another position or log size.
    #[error("the proof is for record {index} of {size}, not record {want_index} of {want_size}")]
    Position {
        /// The proof's index.
        index: u64,
        /// The proof's size.
        size: u64,
        /// The listed index.
        want_index: u64,
        /// The checkpoint's size.
        want_size: u64,
    },
    /// The path does not lead to the checkpoint's root.
    #[error(transparent)]
    Inclusion(#[from] crate::merkle::log::LogProofError),
}

/// Checks a record a relay *lists* (a page of a scenario's records) against a checkpoint the
/// caller verified before (e.g. through the scenario's record 0): the record is of the
/// checkpoint's scenario, and `proof` shows its leaf at `index` in the log of the checkpoint's
/// size and root. A listing thus carries only what the chain holds — a relay cannot insert,
/// alter, reorder or drop records below the verified size without a row failing.
pub fn verify_listed(
    entry: &Entry,
    index: u64,
    proof: &InclusionProof,
    checkpoint: &crate::scenario::checkpoint::Checkpoint,
) -> Result<(), ListedError> {
    if entry.scenario() != &checkpoint.scenario {
        return Err(ListedError::OtherScenario(entry.scenario().clone()));
    }
    if proof.index != index || proof.size != checkpoint.size {
        return Err(ListedError::Position {
            index: proof.index,
            size: proof.size,
            want_index: index,
            want_size: checkpoint.size,
        });
    }
    proof.verify(&entry.leaf_hash(), &checkpoint.root)?;
    Ok(())
}

impl RecordProof {
    /// Verifies this proof against `validators` (a set the caller trusts, e.g. from a
    /// [`crate::verify::light_client::LightClient`]) on chain `chain_id`. With a `charter` (which
    /// the caller has verified as the scenario's record 0), also checks the record against its schema
    /// and rules; rules that need other records are reported as unresolved.
    pub fn verify(
        &self,
        validators: &ValidatorSet,
        chain_id: &str,
        charter: Option<&Charter>,
    ) -> Verdict {
        self.check(Ok(validators), chain_id, charter)
    }

    /// [`Self::verify`] where the trusted set may be unknown (`Err` says why): every step but the
    /// certificate is still checked and reported.
    pub(crate) fn check(
        &self,
        validators: Result<&ValidatorSet, String>,
        chain_id: &str,
        charter: Option<&Charter>,
    ) -> Verdict {
        let mut run = Run { steps: Vec::new() };
        run.pass(Step::Decode, "canonical encoding".to_string());

        // 1. The record's own signature.
        if let Err(e) = self.entry.verify_signature() {
            return run.fail(Step::Signature, e.to_string());
        }
        let who = match &self.entry {
            Entry::Charter(c) => format!(
                "charter signed by owner {}",
                short(c.content.owners[0].as_bytes())
            ),
            Entry::Contract(c) => format!(
                "contract signed by author {}",
                short(c.content.author.as_bytes())
            ),
        };
        run.pass(Step::Signature, who);

        // 2. Schema and rules, when the charter is at hand.
        let rules = match (charter, &self.entry) {
            (None, _) => {
                run.steps.push(StepReport {
                    step: Step::Rules,
                    status: StepStatus::Skipped,
                    detail: "charter not supplied".to_string(),
                });
                None
            }
            (Some(_), Entry::Charter(_)) => {
                run.steps.push(StepReport {
                    step: Step::Rules,
                    status: StepStatus::Skipped,
                    detail: "the record is the charter itself".to_string(),
                });
                None
            }
            (Some(ch), Entry::Contract(c)) => {
                if let Err(e) = ch.verify_signature() {
                    return run.fail(Step::Rules, format!("charter: {e}"));
                }
                match ch.admit(&c.content, &NoLookup) {
                    Ok(report) => {
                        let mut detail = format!("{} rules hold", report.passed.len());
                        if !report.unresolved.is_empty() {
                            detail.push_str(&format!(
                                "; {} need other records and were not decided offline",
                                report.unresolved.len()
                            ));
                        }
                        run.pass(Step::Rules, detail);
                        Some(report)
                    }
                    Err(e) => return run.fail(Step::Rules, e.to_string()),
                }
            }
        };

        // 3. Inclusion in the log at the checkpoint's size.
        let cp = &self.checkpoint.checkpoint;
        if self.inclusion.size != cp.size {
            return run.fail(
                Step::Inclusion,
                format!(
                    "path is for log size {}, checkpoint has size {}",
                    self.inclusion.size, cp.size
                ),
            );
        }
        if let Err(e) = self.inclusion.verify(&self.entry.leaf_hash(), &cp.root) {
            return run.fail(Step::Inclusion, e.to_string());
        }
        run.pass(
            Step::Inclusion,
            format!(
                "record {} of {} hashes to root {}",
                self.inclusion.index,
                cp.size,
                short(cp.root.as_bytes())
            ),
        );

        // 4. The checkpoint: same scenario, signed by its replicas.
        if &cp.scenario != self.entry.scenario() {
            return run.fail(
                Step::Checkpoint,
                format!(
                    "checkpoint is for scenario {}, record is in {}",
                    cp.scenario,
                    self.entry.scenario()
                ),
            );
        }
        if let Err(e) = self.checkpoint.verify_signatures() {
            return run.fail(Step::Checkpoint, e.to_string());
        }
        run.pass(
            Step::Checkpoint,
            format!(
                "{} replica signature(s) on checkpoint of size {}",
                self.checkpoint.signatures.len(),
                cp.size
            ),
        );

        // 5. The checkpoint in the block's anchor map.
        let key = cp.scenario.anchor_key();
        if let Err(e) = self
            .anchor
            .verify_member(&key, &cp.digest(), &self.header.anchor_root)
        {
            return run.fail(Step::Anchor, e.to_string());
        }
        run.pass(
            Step::Anchor,
            format!(
                "checkpoint anchored in block {} ({} hashes)",
                self.header.height,
                self.anchor.siblings.len()
            ),
        );

        // 6. The block's certificate under the trusted set.
        if self.header.chain_id != chain_id {
            return run.fail(
                Step::Certificate,
                format!(
                    "block is on chain {:?}, trusted chain is {:?}",
                    self.header.chain_id, chain_id
                ),
            );
        }
        let validators = match validators {
            Ok(v) => v,
            Err(why) => return run.fail(Step::Certificate, why),
        };
        if let Err(e) = self.certificate.verify(&self.header, validators) {
            return run.fail(Step::Certificate, e.to_string());
        }
        let signers: Vec<PublicKey> = self.certificate.signers(validators).copied().collect();
        run.pass(
            Step::Certificate,
            format!(
                "{} of {} validators (epoch {}) signed block {}",
                signers.len(),
                validators.validators.len(),
                validators.epoch,
                self.header.height
            ),
        );

        Verdict {
            steps: run.steps,
            outcome: Ok(VerifiedRecord {
                entry: self.entry.clone(),
                index: self.inclusion.index,
                checkpoint_size: cp.size,
                block_height: self.header.height,
                block_hash: self.header.hash(),
                block_time_ms: self.header.time_ms,
                signers,
                rules,
            }),
        }
    }
}

fn short(b: &[u8]) -> String {
    crate::encoding::hex::encode(&b[..8])
}

impl Encode for RecordProof {
    fn encode(&self, w: &mut Writer) {
        w.u8(crate::encoding::FORMAT_VERSION);
        self.entry.encode(w);
        self.inclusion.encode(w);
        self.checkpoint.encode_unlinked(w);
        self.anchor.encode(w);
        self.header.encode(w);
        self.certificate.encode(w);
    }
}

impl Decode for RecordProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("record proof")?;
        Ok(RecordProof {
            entry: Entry::decode(r)?,
            inclusion: InclusionProof::decode(r)?,
            checkpoint: SignedCheckpoint::decode_unlinked(r)?,
            anchor: AnchorProof::decode(r)?,
            header: BlockHeader::decode(r)?,
            certificate: CommitCertificate::decode(r)?,
        })
    }
}
