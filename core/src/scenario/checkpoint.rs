//! Scenario checkpoints: `(scenario, size, root, main_ref, time)` signed by the scenario's replicas.

use alloc::vec::Vec;

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::crypto::hash::{Domain, Hash};
use crate::crypto::{BadSignature, PublicKey, Signature, sign};
use crate::encoding::value::ScenarioId;
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};
use crate::merkle::log::ConsistencyProof;

/// Most replica signatures on one checkpoint.
pub const MAX_CHECKPOINT_SIGNERS: u32 = 64;

/// A scenario log's state at a size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The scenario.
    pub scenario: ScenarioId,
    /// Number of entries in the log.
    pub size: u64,
    /// The log's Merkle root at that size.
    pub root: Hash,
    /// The hash of a recent main block (the reverse binding: this checkpoint is newer than it).
    pub main_ref: Hash,
    /// When the replicas made it, in milliseconds since the Unix epoch.
    pub time_ms: u64,
}

/// A replica's signature on a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaSignature {
    /// The replica's key.
    pub key: PublicKey,
    /// Its signature over [`Checkpoint::digest`].
    pub signature: Signature,
}

/// How a checkpoint joins what the chain already holds of its scenario — what a block needs,
/// besides the signatures, to anchor it ([`crate::chain::validity`]). Not signed: both kinds are
/// checked against the chain itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// The scenario's first anchored checkpoint, founded at `home`: the chain records the home,
    /// and this checkpoint and every later one must be signed by a quorum of the replica set of
    /// that home.
    Found {
        /// The relay that founded the scenario (it must be among the signers).
        home: PublicKey,
    },
    /// A later checkpoint: the RFC 9162 consistency proof from the checkpoint anchored before it
    /// (`proof.from` is that checkpoint's size, `proof.to` this one's).
    Extend {
        /// The proof.
        proof: ConsistencyProof,
    },
}

/// A checkpoint with its replicas' signatures, and — on its way into a block — its [`Link`] to
/// the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    /// The checkpoint.
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// Replica signatures, keys strictly ascending.
    pub signatures: Vec<ReplicaSignature>,
    /// How it extends the scenario's anchored history: required in a block body, absent where
    /// it does not matter (a record proof only needs the anchored digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
}

/// Why a checkpoint's signatures are not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// No replica signed.
    #[error("the checkpoint carries no replica signature")]
    Unsigned,
    /// A signature fails.
    #[error(transparent)]
    BadSignature(#[from] BadSignature),
}

impl Checkpoint {
    /// The digest that replicas sign and the anchor map holds.
    pub fn digest(&self) -> Hash {
        Domain::Checkpoint.hash_encoded(self)
    }
    /// Signs as one replica.
    pub fn sign(self, keys: &[&SigningKey]) -> SignedCheckpoint {
        let d = self.digest();
        let mut signatures: Vec<ReplicaSignature> = keys
            .iter()
            .map(|k| ReplicaSignature {
                key: PublicKey::of(k),
                signature: sign(k, &d),
            })
            .collect();
        signatures.sort_by_key(|s| s.key);
        signatures.dedup_by_key(|s| s.key);
        SignedCheckpoint {
            checkpoint: self,
            signatures,
            link: None,
        }
    }
}

impl SignedCheckpoint {
    /// Checks every replica signature (at least one), each with `verify_strict`: like a commit
    /// certificate, a checkpoint is few signatures and must get the same verdict everywhere.
    pub fn verify_signatures(&self) -> Result<(), CheckpointError> {
        if self.signatures.is_empty() {
            return Err(CheckpointError::Unsigned);
        }
        let d = self.checkpoint.digest();
        for s in &self.signatures {
            s.key.verify(&d, &s.signature)?;
        }
        Ok(())
    }
}

impl Encode for Checkpoint {
    fn encode(&self, w: &mut Writer) {
        w.u8(crate::encoding::FORMAT_VERSION);
        self.scenario.encode(w);
        w.u64(self.size);
        self.root.encode(w);
        self.main_ref.encode(w);
        w.u64(self.time_ms);
    }
}
impl Decode for Checkpoint {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("checkpoint")?;
        Ok(Checkpoint {
            scenario: ScenarioId::decode(r)?,
            size: r.u64("checkpoint size")?,
            root: Hash::decode(r)?,
            main_ref: Hash::decode(r)?,
            time_ms: r.u64("checkpoint time")?,
        })
    }
}
impl Encode for ReplicaSignature {
    fn encode(&self, w: &mut Writer) {
        self.key.encode(w);
        self.signature.encode(w);
    }
}
impl Decode for ReplicaSignature {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ReplicaSignature {
            key: PublicKey::decode(r)?,
            signature: Signature::decode(r)?,
        })
    }
}
impl SignedCheckpoint {
    /// The checkpoint and its signatures without the [`Link`] (what a
    /// [`crate::verify::proof::RecordProof`] carries: a verifier needs the anchored digest, not how
    /// it joined the chain).
    pub fn encode_unlinked(&self, w: &mut Writer) {
        self.checkpoint.encode(w);
        w.seq(&self.signatures);
    }
    /// Reads what [`Self::encode_unlinked`] wrote; `link` is `None`.
    pub fn decode_unlinked(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let checkpoint = Checkpoint::decode(r)?;
        let signatures: Vec<ReplicaSignature> =
            r.seq("checkpoint signatures", MAX_CHECKPOINT_SIGNERS, 96)?;
        if signatures.windows(2).any(|w| w[0].key >= w[1].key) {
            return Err(DecodeError::NonCanonical(
                "checkpoint signers must be strictly ascending by key",
            ));
        }
        Ok(SignedCheckpoint {
            checkpoint,
            signatures,
            link: None,
        })
    }
    /// The same checkpoint without its link.
    pub fn unlinked(mut self) -> Self {
        self.link = None;
        self
    }
}

/// The full form (block bodies, gossip, storage): [`SignedCheckpoint::encode_unlinked`], then
/// the link: tag 0 none, 1 found + home key, 2 extend + consistency proof.
impl Encode for SignedCheckpoint {
    fn encode(&self, w: &mut Writer) {
        self.encode_unlinked(w);
        match &self.link {
            None => w.u8(0),
            Some(Link::Found { home }) => {
                w.u8(1);
                home.encode(w);
            }
            Some(Link::Extend { proof }) => {
                w.u8(2);
                proof.encode(w);
            }
        }
    }
}
impl Decode for SignedCheckpoint {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut cp = Self::decode_unlinked(r)?;
        cp.link = match r.u8("checkpoint link tag")? {
            0 => None,
            1 => Some(Link::Found {
                home: PublicKey::decode(r)?,
            }),
            2 => Some(Link::Extend {
                proof: ConsistencyProof::decode(r)?,
            }),
            tag => {
                return Err(DecodeError::InvalidTag {
                    what: "checkpoint link",
                    tag,
                });
            }
        };
        Ok(cp)
    }
}
