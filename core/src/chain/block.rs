//! Main-chain blocks: headers, bodies, the votes and commit certificates that finalise them, and
//! epoch changes (the hand-over to the next [`ValidatorSet`]).

use alloc::string::String;
use alloc::vec::Vec;

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::chain::validators::{MAX_VALIDATORS, ValidatorSet};
use crate::crypto::hash::{Domain, Hash};
use crate::crypto::{BadSignature, PublicKey, Signature, sign};
use crate::encoding::{Decode, DecodeError, Encode, FORMAT_VERSION, Reader, Writer};

/// Longest chain id.
pub const MAX_CHAIN_ID: u32 = 64;

/// A main-chain block header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// The network's name; keeps votes of one network from counting in another.
    pub chain_id: String,
    /// Height, from 0 at genesis.
    pub height: u64,
    /// The epoch whose validators sign this block.
    pub epoch: u64,
    /// Hash of the previous block (zero at genesis).
    pub prev: Hash,
    /// Block time, milliseconds since the Unix epoch (the proposer's clock; an upper time bound).
    pub time_ms: u64,
    /// Root of the anchor map after this block.
    pub anchor_root: Hash,
    /// Number of scenarios whose checkpoint changed in this block.
    pub moved: u32,
    /// Hash of the block's [`BlockBody`] ([`BlockBody::hash`]).
    pub body_hash: Hash,
    /// Hash of this epoch's validator set.
    pub validators_hash: Hash,
    /// Hash of the validator set that signs the next block (differs at an epoch's last block).
    pub next_validators_hash: Hash,
}

/// Most checkpoints one block anchors (a body with more does not decode).
pub const MAX_BODY_CHECKPOINTS: u32 = 4_096;
/// Most node-registry reports one block carries.
pub const MAX_BODY_REPORTS: u32 = 4_096;

/// What a main block carries besides its header: the new checkpoint of every scenario that moved
/// (ascending by scenario; their digests are what `anchor_root` inserts) and the node-registry
/// entries — PoSR observation reports (docs/posr.md) — in the order they take effect. The header
/// commits to all of it, signatures included, through `body_hash`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockBody {
    /// The anchored checkpoints.
    pub checkpoints: Vec<crate::scenario::checkpoint::SignedCheckpoint>,
    /// Observation reports for the node registry.
    pub reports: Vec<crate::chain::posr::ObservationReport>,
    /// Beacon commitments of the current epoch's validators (docs/beacon.md).
    pub beacon_commits: Vec<crate::chain::beacon::BeaconCommit>,
    /// Beacon reveals of the previous epoch's secrets.
    pub beacon_reveals: Vec<crate::chain::beacon::BeaconReveal>,
    /// In the last block of an epoch: the finished beacon round of the epoch before (every
    /// commit and reveal recorded), from which anyone holding that epoch's validator set
    /// recomputes the beacon value (`BeaconRound::verify`).
    pub beacon_round: Option<crate::chain::beacon::BeaconRound>,
}

impl BlockBody {
    /// The hash a header commits to: `H_BlockBody(body bytes)`.
    pub fn hash(&self) -> Hash {
        Domain::BlockBody.hash_encoded(self)
    }
}

impl BlockHeader {
    /// The block's hash.
    pub fn hash(&self) -> Hash {
        Domain::BlockHeader.hash_encoded(self)
    }
}

/// What a validator signs to commit a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    /// Block height.
    pub height: u64,
    /// Consensus round in which the block was committed.
    pub round: u32,
    /// The block's hash.
    pub block: Hash,
}

impl Vote {
    /// The digest a validator signs.
    pub fn digest(&self) -> Hash {
        Domain::Vote.hash_encoded(self)
    }
}

/// One validator's vote in a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSignature {
    /// The validator's position in the epoch's set.
    pub validator: u16,
    /// Its signature over the [`Vote`] digest.
    pub signature: Signature,
}

/// Signatures of validators holding more than 2/3 of an epoch's weight on one block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitCertificate {
    /// Block height.
    pub height: u64,
    /// Consensus round.
    pub round: u32,
    /// The block's hash.
    pub block: Hash,
    /// Votes, validator positions strictly ascending.
    pub signatures: Vec<CertSignature>,
}

/// Why a certificate does not certify a header.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The certificate is for another block.
    #[error(
        "the certificate is for block {cert} at height {cert_height}, not block {header} at height {header_height}"
    )]
    WrongBlock {
        /// Block named by the certificate.
        cert: Hash,
        /// Its height.
        cert_height: u64,
        /// The header's hash.
        header: Hash,
        /// The header's height.
        header_height: u64,
    },
    /// The header names another validator set.
    #[error(
        "the header names validator set {header}, but the trusted set for epoch {epoch} is {trusted}"
    )]
    WrongValidatorSet {
        /// The epoch.
        epoch: u64,
        /// The header's validator set hash.
        header: Hash,
        /// The trusted set's hash.
        trusted: Hash,
    },
    /// The header belongs to another network.
    #[error("the header is for chain {found:?}, not {expected:?}")]
    WrongChain {
        /// The header's chain id.
        found: String,
        /// The expected chain id.
        expected: String,
    },
    /// Validator positions not ascending or out of range.
    #[error("signer list is not strictly ascending or names an unknown validator")]
    BadSigners,
    /// Not enough weight signed.
    #[error("signers hold {signed} of {total} weight; more than two thirds is needed")]
    InsufficientWeight {
        /// Signed weight.
        signed: u128,
        /// Total weight.
        total: u128,
    },
    /// A signature fails.
    #[error("vote of validator {validator}: {source}")]
    BadSignature {
        /// Position of the validator.
        validator: u16,
        /// The failure.
        source: BadSignature,
    },
}

impl CommitCertificate {
    /// Makes a certificate from the signing keys of some validators of `set`.
    pub fn sign(
        header: &BlockHeader,
        round: u32,
        set: &ValidatorSet,
        keys: &[&SigningKey],
    ) -> Self {
        let block = header.hash();
        let digest = Vote {
            height: header.height,
            round,
            block,
        }
        .digest();
        let mut signatures: Vec<CertSignature> = keys
            .iter()
            .filter_map(|k| {
                set.index_of(&PublicKey::of(k))
                    .map(|validator| CertSignature {
                        validator,
                        signature: sign(k, &digest),
                    })
            })
            .collect();
        signatures.sort_by_key(|s| s.validator);
        signatures.dedup_by_key(|s| s.validator);
        CommitCertificate {
            height: header.height,
            round,
            block,
            signatures,
        }
    }

    /// Checks that this certificate commits `header` under `set`: names it, its signers hold
    /// more than 2/3 of the weight, and each signature passes `verify_strict`. Signatures are
    /// checked one by one, not batched: a certificate is consensus-critical and small.
    pub fn verify(&self, header: &BlockHeader, set: &ValidatorSet) -> Result<(), CertificateError> {
        let hash = header.hash();
        if self.block != hash || self.height != header.height {
            return Err(CertificateError::WrongBlock {
                cert: self.block,
                cert_height: self.height,
                header: hash,
                header_height: header.height,
            });
        }
        let set_hash = set.hash();
        if header.validators_hash != set_hash || header.epoch != set.epoch {
            return Err(CertificateError::WrongValidatorSet {
                epoch: header.epoch,
                header: header.validators_hash,
                trusted: set_hash,
            });
        }
        let mut signed: u128 = 0;
        let mut last: Option<u16> = None;
        for s in &self.signatures {
            if last.is_some_and(|l| l >= s.validator) {
                return Err(CertificateError::BadSigners);
            }
            last = Some(s.validator);
            let v = set
                .validators
                .get(s.validator as usize)
                .ok_or(CertificateError::BadSigners)?;
            signed += v.weight as u128;
        }
        let total = set.total_weight();
        if signed * 3 <= total * 2 {
            return Err(CertificateError::InsufficientWeight { signed, total });
        }
        let digest = Vote {
            height: self.height,
            round: self.round,
            block: self.block,
        }
        .digest();
        for s in &self.signatures {
            let v = &set.validators[s.validator as usize];
            v.key.verify(&digest, &s.signature).map_err(|source| {
                CertificateError::BadSignature {
                    validator: s.validator,
                    source,
                }
            })?;
        }
        Ok(())
    }

    /// The keys of the validators that signed.
    pub fn signers<'a>(
        &'a self,
        set: &'a ValidatorSet,
    ) -> impl Iterator<Item = &'a PublicKey> + 'a {
        self.signatures
            .iter()
            .filter_map(|s| set.validators.get(s.validator as usize).map(|v| &v.key))
    }
}

/// The hand-over from one epoch's validators to the next: the last block of epoch `e` (whose
/// `next_validators_hash` names the new set), its certificate by the old set, and the new set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochChange {
    /// The last block of the old epoch.
    pub header: BlockHeader,
    /// Its certificate, signed by the old set.
    pub certificate: CommitCertificate,
    /// The new epoch's validators.
    pub next: ValidatorSet,
}

/// A main block as relays store and serve it: its header and its commit certificate (block 0's
/// included: a genesis file carries it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredBlock {
    /// The header.
    pub header: BlockHeader,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
}

impl Encode for StoredBlock {
    fn encode(&self, w: &mut Writer) {
        self.header.encode(w);
        self.certificate.encode(w);
    }
}
impl Decode for StoredBlock {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(StoredBlock {
            header: BlockHeader::decode(r)?,
            certificate: CommitCertificate::decode(r)?,
        })
    }
}

/// A final block with its body: what relays gossip after a decision and serve to a relay
/// catching up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalBlock {
    /// Header and certificate.
    pub block: StoredBlock,
    /// The anchored checkpoints.
    pub body: BlockBody,
}

impl Encode for FinalBlock {
    fn encode(&self, w: &mut Writer) {
        self.block.encode(w);
        self.body.encode(w);
    }
}
impl Decode for FinalBlock {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FinalBlock {
            block: StoredBlock::decode(r)?,
            body: BlockBody::decode(r)?,
        })
    }
}

// --- encoding ---

impl Encode for BlockBody {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        w.seq(&self.checkpoints);
        w.seq(&self.reports);
        w.seq(&self.beacon_commits);
        w.seq(&self.beacon_reveals);
        w.option(&self.beacon_round);
    }
}
impl Decode for BlockBody {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("block body")?;
        Ok(BlockBody {
            checkpoints: r.seq("body checkpoints", MAX_BODY_CHECKPOINTS, 80)?,
            reports: r.seq(
                "body reports",
                MAX_BODY_REPORTS,
                crate::chain::posr::REPORT_SIZE,
            )?,
            beacon_commits: r.seq(
                "body beacon commits",
                MAX_VALIDATORS,
                crate::chain::beacon::COMMIT_SIZE,
            )?,
            beacon_reveals: r.seq(
                "body beacon reveals",
                MAX_VALIDATORS,
                crate::chain::beacon::REVEAL_SIZE,
            )?,
            beacon_round: r.option("body beacon round")?,
        })
    }
}

impl Encode for BlockHeader {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        w.str(&self.chain_id);
        w.u64(self.height);
        w.u64(self.epoch);
        self.prev.encode(w);
        w.u64(self.time_ms);
        self.anchor_root.encode(w);
        w.u32(self.moved);
        self.body_hash.encode(w);
        self.validators_hash.encode(w);
        self.next_validators_hash.encode(w);
    }
}
impl Decode for BlockHeader {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("block header")?;
        Ok(BlockHeader {
            chain_id: r.str("chain id", MAX_CHAIN_ID)?,
            height: r.u64("height")?,
            epoch: r.u64("epoch")?,
            prev: Hash::decode(r)?,
            time_ms: r.u64("block time")?,
            anchor_root: Hash::decode(r)?,
            moved: r.u32("moved")?,
            body_hash: Hash::decode(r)?,
            validators_hash: Hash::decode(r)?,
            next_validators_hash: Hash::decode(r)?,
        })
    }
}
impl Encode for Vote {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        w.u64(self.height);
        w.u32(self.round);
        self.block.encode(w);
    }
}
impl Encode for CertSignature {
    fn encode(&self, w: &mut Writer) {
        w.u16(self.validator);
        self.signature.encode(w);
    }
}
impl Decode for CertSignature {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(CertSignature {
            validator: r.u16("validator index")?,
            signature: Signature::decode(r)?,
        })
    }
}
impl Encode for CommitCertificate {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        w.u64(self.height);
        w.u32(self.round);
        self.block.encode(w);
        w.seq(&self.signatures);
    }
}
impl Decode for CommitCertificate {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("certificate")?;
        let c = CommitCertificate {
            height: r.u64("certificate height")?,
            round: r.u32("certificate round")?,
            block: Hash::decode(r)?,
            signatures: r.seq("certificate signatures", MAX_VALIDATORS, 66)?,
        };
        if c.signatures
            .windows(2)
            .any(|w| w[0].validator >= w[1].validator)
        {
            return Err(DecodeError::NonCanonical(
                "certificate signers must be strictly ascending",
            ));
        }
        Ok(c)
    }
}
impl Encode for EpochChange {
    fn encode(&self, w: &mut Writer) {
        self.header.encode(w);
        self.certificate.encode(w);
        self.next.encode(w);
    }
}
impl Decode for EpochChange {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(EpochChange {
            header: BlockHeader::decode(r)?,
            certificate: CommitCertificate::decode(r)?,
            next: ValidatorSet::decode(r)?,
        })
    }
}
