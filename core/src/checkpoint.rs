//! Scenario checkpoints: `(scenario, size, root, main_ref, time)` signed by the scenario's replicas.

use alloc::vec::Vec;

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::crypto::{BadSignature, PublicKey, Signature, sign};
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};
use crate::hash::{Domain, Hash};
use crate::value::ScenarioId;

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

/// A checkpoint with its replicas' signatures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    /// The checkpoint.
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// Replica signatures, keys strictly ascending.
    pub signatures: Vec<ReplicaSignature>,
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
impl Encode for SignedCheckpoint {
    fn encode(&self, w: &mut Writer) {
        self.checkpoint.encode(w);
        w.seq(&self.signatures);
    }
}
impl Decode for SignedCheckpoint {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
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
        })
    }
}
