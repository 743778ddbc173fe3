//! The light client: starts from a trusted checkpoint (a validator set at a height), follows epoch
//! changes and certified headers — never from genesis — and keeps equivocation evidence when it
//! meets two certified blocks at one height.
//!
//! Sans-IO: it takes headers, certificates and epoch changes as values and says what it concludes.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::chain::block::{BlockHeader, CertificateError, CommitCertificate, EpochChange};
use crate::chain::state::ChainSnapshot;
use crate::chain::validators::ValidatorSet;
use crate::crypto::hash::Hash;
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};
use crate::scenario::charter::Charter;
use crate::verify::proof::{RecordProof, Step, Verdict};

/// Certified headers kept per client for fork detection.
pub const MAX_REMEMBERED_HEADERS: usize = 4096;
/// Validator sets kept (the current epoch and a few before it).
pub const MAX_REMEMBERED_EPOCHS: usize = 8;

/// A trusted validator set and the heights it may certify: an epoch's set signs only the blocks
/// of its epoch, from the block after the previous hand-over to its own hand-over block. A set
/// that handed over is retired: its keys (perhaps sold or leaked since) certify nothing after it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct EpochSet {
    set: ValidatorSet,
    /// The epoch's first height; `None` for the epoch of the trusted checkpoint, which the
    /// client joined part-way (its earlier heights were certified by the same set or are not
    /// asked about).
    first: Option<u64>,
    /// The epoch's hand-over block (its last height), once the client followed the change.
    last: Option<u64>,
}

impl EpochSet {
    fn covers(&self, height: u64) -> bool {
        self.first.is_none_or(|f| height >= f) && self.last.is_none_or(|l| height <= l)
    }
}

/// Where trust starts: a validator set, and a block at a height it is trusted for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedCheckpoint {
    /// The network's name.
    pub chain_id: String,
    /// A trusted block height.
    pub height: u64,
    /// The trusted block's hash.
    pub block: Hash,
    /// The validators of that block's epoch.
    pub validators: ValidatorSet,
}

impl ChainSnapshot {
    /// The trusted checkpoint a new light client may start from: this state's head, and the
    /// validators that signed it.
    pub fn trust(&self) -> TrustedCheckpoint {
        TrustedCheckpoint {
            chain_id: self.head.header.chain_id.clone(),
            height: self.head.header.height,
            block: self.head_hash,
            validators: self.validators.clone(),
        }
    }
}

/// A header whose certificate was checked against a trusted set. Only the light client makes one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedHeader {
    header: BlockHeader,
    hash: Hash,
}

impl VerifiedHeader {
    /// The header.
    pub fn header(&self) -> &BlockHeader {
        &self.header
    }
    /// Its hash.
    pub fn hash(&self) -> Hash {
        self.hash
    }
}

/// Two certified blocks at one height: proof that validators holding more than 1/3 of the weight
/// signed conflicting blocks. Anyone with the epoch's validator set can check it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquivocationEvidence {
    /// The first block.
    pub first: BlockHeader,
    /// Its certificate.
    pub first_certificate: CommitCertificate,
    /// The conflicting block.
    pub second: BlockHeader,
    /// Its certificate.
    pub second_certificate: CommitCertificate,
}

impl EquivocationEvidence {
    /// Checks the evidence: same height, different blocks, both certified by `set`.
    pub fn verify(&self, set: &ValidatorSet) -> Result<(), LightClientError> {
        if self.first.height != self.second.height || self.first.hash() == self.second.hash() {
            return Err(LightClientError::NotConflicting);
        }
        self.first_certificate.verify(&self.first, set)?;
        self.second_certificate.verify(&self.second, set)?;
        Ok(())
    }
}

/// What the light client refuses, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LightClientError {
    /// The header is for another network.
    #[error("header is for chain {found:?}, the client follows {expected:?}")]
    WrongChain {
        /// The header's chain.
        found: String,
        /// The client's chain.
        expected: String,
    },
    /// The header's epoch is ahead: follow the epoch change first.
    #[error(
        "header is in epoch {header_epoch}, but the client knows validators up to epoch {known}; fetch the epoch change"
    )]
    UnknownEpoch {
        /// The header's epoch.
        header_epoch: u64,
        /// The latest epoch the client trusts.
        known: u64,
    },
    /// The certificate does not hold.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// A certified block conflicts with one already certified at the same height.
    #[error("equivocation at height {height}: two certified blocks {first} and {second}")]
    Equivocation {
        /// Height.
        height: u64,
        /// The block seen first.
        first: Hash,
        /// The conflicting block.
        second: Hash,
    },
    /// A certified block conflicts with the trusted checkpoint's block.
    #[error(
        "certified block {found} at height {height} conflicts with the trusted block {trusted}"
    )]
    ConflictsWithTrust {
        /// Height.
        height: u64,
        /// Trusted block hash.
        trusted: Hash,
        /// The other block.
        found: Hash,
    },
    /// A header names an epoch whose set the client knows, at a height outside that epoch:
    /// after its hand-over (a retired set), or before its first block.
    #[error(
        "header at height {height} claims epoch {epoch}, which covers heights {first}..={last}"
    )]
    OutsideEpoch {
        /// The header's height.
        height: u64,
        /// The epoch it claims.
        epoch: u64,
        /// The epoch's first height known to the client (0 when unknown).
        first: u64,
        /// The epoch's last height (`u64::MAX` while it is the current epoch).
        last: u64,
    },
    /// An epoch change that does not follow from the current epoch.
    #[error("epoch change: {0}")]
    BadEpochChange(&'static str),
    /// Evidence whose blocks do not conflict.
    #[error("the two blocks are not at one height with different hashes")]
    NotConflicting,
}

/// The light-client state machine.
#[derive(Clone, Debug)]
pub struct LightClient {
    chain_id: String,
    trusted: (u64, Hash),
    sets: BTreeMap<u64, EpochSet>,
    seen: BTreeMap<u64, (BlockHeader, CommitCertificate)>,
    highest: Option<VerifiedHeader>,
    evidence: Vec<EquivocationEvidence>,
}

impl LightClient {
    /// Starts from a trusted checkpoint.
    pub fn new(trust: TrustedCheckpoint) -> Self {
        let mut sets = BTreeMap::new();
        sets.insert(
            trust.validators.epoch,
            EpochSet {
                set: trust.validators,
                first: None,
                last: None,
            },
        );
        LightClient {
            chain_id: trust.chain_id,
            trusted: (trust.height, trust.block),
            sets,
            seen: BTreeMap::new(),
            highest: None,
            evidence: Vec::new(),
        }
    }

    /// The chain followed.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }
    /// The latest epoch whose validators the client trusts.
    pub fn epoch(&self) -> u64 {
        *self.sets.keys().next_back().unwrap_or(&0)
    }
    /// The trusted validators of `epoch`, if known.
    pub fn validators(&self, epoch: u64) -> Option<&ValidatorSet> {
        self.sets.get(&epoch).map(|e| &e.set)
    }
    /// The heights `epoch`'s set may certify, as far as the client knows them: its first height
    /// (`None` for the trusted checkpoint's epoch) and its hand-over height (`None` while it is
    /// the latest epoch).
    pub fn epoch_heights(&self, epoch: u64) -> Option<(Option<u64>, Option<u64>)> {
        self.sets.get(&epoch).map(|e| (e.first, e.last))
    }
    /// The highest certified header seen.
    pub fn highest(&self) -> Option<&VerifiedHeader> {
        self.highest.as_ref()
    }
    /// Equivocation evidence gathered so far.
    pub fn evidence(&self) -> &[EquivocationEvidence] {
        &self.evidence
    }

    fn set_for(&self, header: &BlockHeader) -> Result<&ValidatorSet, LightClientError> {
        if header.chain_id != self.chain_id {
            return Err(LightClientError::WrongChain {
                found: header.chain_id.clone(),
                expected: self.chain_id.clone(),
            });
        }
        let e = self
            .sets
            .get(&header.epoch)
            .ok_or(LightClientError::UnknownEpoch {
                header_epoch: header.epoch,
                known: self.epoch(),
            })?;
        if !e.covers(header.height) {
            return Err(LightClientError::OutsideEpoch {
                height: header.height,
                epoch: header.epoch,
                first: e.first.unwrap_or(0),
                last: e.last.unwrap_or(u64::MAX),
            });
        }
        Ok(&e.set)
    }

    /// Checks a header's certificate against the trusted set of its epoch and remembers it. A
    /// second certified block at a remembered height is kept as evidence and refused.
    pub fn verify_header(
        &mut self,
        header: &BlockHeader,
        cert: &CommitCertificate,
    ) -> Result<VerifiedHeader, LightClientError> {
        let set = self.set_for(header)?;
        cert.verify(header, set)?;
        let hash = header.hash();
        if header.height == self.trusted.0 && hash != self.trusted.1 {
            return Err(LightClientError::ConflictsWithTrust {
                height: header.height,
                trusted: self.trusted.1,
                found: hash,
            });
        }
        if let Some((prev, prev_cert)) = self.seen.get(&header.height) {
            let prev_hash = prev.hash();
            if prev_hash != hash {
                let ev = EquivocationEvidence {
                    first: prev.clone(),
                    first_certificate: prev_cert.clone(),
                    second: header.clone(),
                    second_certificate: cert.clone(),
                };
                if !self.evidence.contains(&ev) {
                    self.evidence.push(ev);
                }
                return Err(LightClientError::Equivocation {
                    height: header.height,
                    first: prev_hash,
                    second: hash,
                });
            }
        } else {
            self.seen
                .insert(header.height, (header.clone(), cert.clone()));
            while self.seen.len() > MAX_REMEMBERED_HEADERS {
                self.seen.pop_first();
            }
        }
        let verified = VerifiedHeader {
            header: header.clone(),
            hash,
        };
        if self
            .highest
            .as_ref()
            .is_none_or(|h| h.header.height < header.height)
        {
            self.highest = Some(verified.clone());
        }
        Ok(verified)
    }

    /// Follows an epoch change: the last block of the current epoch, certified by the current
    /// set, whose `next_validators_hash` names the new set. From then on the old set certifies
    /// only heights up to the hand-over block and the new one only heights after it; a hand-over
    /// below a height the old set already certified is refused (two conflicting views of where
    /// the epoch ended: its set signed both).
    pub fn apply_epoch_change(&mut self, change: &EpochChange) -> Result<(), LightClientError> {
        let current = self.epoch();
        if change.header.epoch != current {
            return Err(LightClientError::BadEpochChange(
                "the hand-over block is not in the client's latest epoch",
            ));
        }
        if change.next.epoch != current + 1 {
            return Err(LightClientError::BadEpochChange(
                "the new set is not for the next epoch",
            ));
        }
        if change.header.next_validators_hash != change.next.hash() {
            return Err(LightClientError::BadEpochChange(
                "the certified block does not name the new validator set",
            ));
        }
        let end = change.header.height;
        if self
            .seen
            .range(end.saturating_add(1)..)
            .any(|(_, (h, _))| h.epoch == current)
            || self
                .highest
                .as_ref()
                .is_some_and(|h| h.header.epoch == current && h.header.height > end)
        {
            return Err(LightClientError::BadEpochChange(
                "the current set already certified a block after this hand-over",
            ));
        }
        self.verify_header(&change.header, &change.certificate)?;
        if let Some(e) = self.sets.get_mut(&current) {
            e.last = Some(end);
        }
        self.sets.insert(
            change.next.epoch,
            EpochSet {
                set: change.next.clone(),
                first: Some(end.saturating_add(1)),
                last: None,
            },
        );
        while self.sets.len() > MAX_REMEMBERED_EPOCHS {
            self.sets.pop_first();
        }
        Ok(())
    }

    /// Verifies a record proof: every step of [`RecordProof::verify`] under the trusted set of
    /// the block's epoch, then the header through [`Self::verify_header`], so a fork is noticed.
    pub fn verify_record(&mut self, proof: &RecordProof, charter: Option<&Charter>) -> Verdict {
        let set = self
            .set_for(&proof.header)
            .cloned()
            .map_err(|e| e.to_string());
        let verdict = proof.check(set.as_ref().map_err(Clone::clone), &self.chain_id, charter);
        if !verdict.is_verified() {
            return verdict;
        }
        match self.verify_header(&proof.header, &proof.certificate) {
            Ok(_) => verdict,
            Err(e) => verdict.fail_at(Step::Certificate, e.to_string()),
        }
    }
}

impl Encode for TrustedCheckpoint {
    fn encode(&self, w: &mut Writer) {
        w.u8(crate::encoding::FORMAT_VERSION);
        w.str(&self.chain_id);
        w.u64(self.height);
        self.block.encode(w);
        self.validators.encode(w);
    }
}
impl Decode for TrustedCheckpoint {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("trusted checkpoint")?;
        Ok(TrustedCheckpoint {
            chain_id: r.str("chain id", crate::chain::block::MAX_CHAIN_ID)?,
            height: r.u64("trusted height")?,
            block: Hash::decode(r)?,
            validators: ValidatorSet::decode(r)?,
        })
    }
}
impl Encode for EquivocationEvidence {
    fn encode(&self, w: &mut Writer) {
        w.u8(crate::encoding::FORMAT_VERSION);
        self.first.encode(w);
        self.first_certificate.encode(w);
        self.second.encode(w);
        self.second_certificate.encode(w);
    }
}
impl Decode for EquivocationEvidence {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("equivocation evidence")?;
        Ok(EquivocationEvidence {
            first: BlockHeader::decode(r)?,
            first_certificate: CommitCertificate::decode(r)?,
            second: BlockHeader::decode(r)?,
            second_certificate: CommitCertificate::decode(r)?,
        })
    }
}
