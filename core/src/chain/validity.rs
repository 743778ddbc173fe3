//! Block validity: when a main block may anchor a scenario checkpoint, as named predicates (the
//! shape of tendermint-rs' `light-client-verifier/src/predicates.rs`). Every relay calls them on
//! every block it votes for or commits, so this file states the rule; `docs/proofs.md` ("What a
//! block may anchor") says it in prose.
//!
//! A block may anchor a checkpoint `cp` of scenario `s` only if, in order:
//! 1. [`home_of`]: the chain decides whose replica set vouches for `s`. If `s` has no anchored
//!    checkpoint yet, `cp` must *found* it ([`Link::Found`]) and name a home that signed it; the
//!    block records that home. Otherwise `cp` must *extend* it ([`Link::Extend`]) and the home is
//!    the one the chain recorded — a signer cannot claim it.
//! 2. [`extends_anchored`]: the log only grows. A founding checkpoint has `1..=MAX_LOG_SIZE`
//!    entries (the charter is entry 0); a later one is larger than the anchored one, at most
//!    [`MAX_LOG_SIZE`], and carries an RFC 9162 consistency proof from the anchored size and root
//!    to its own.
//! 3. [`signed_by_replica_set`]: its distinct signers all belong to the recorded home's replica
//!    set (the home and its [`placement::replicas`] among the current members) and number at
//!    least that set's quorum (`min(quorum(size), set length)`).
//! 4. [`main_ref_recent`]: its `main_ref` names a block of this chain at most
//!    [`MAX_MAIN_REF_AGE`] blocks before the one anchoring it — so the checkpoint was made after
//!    that block (a lower time bound anyone can look up), and not from a fork.
//!
//! Signatures themselves are checked by [`SignedCheckpoint::verify_signatures`] (the caller may
//! skip it for a checkpoint whose exact bytes it verified before). Sans-IO: the anchored state
//! and the membership come in as values.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use crate::chain::placement::{self, Member};
use crate::crypto::PublicKey;
use crate::merkle::log::LogProofError;
use crate::scenario::checkpoint::{Checkpoint, Link, SignedCheckpoint};

/// The largest scenario log a checkpoint may claim: 2^40 entries (a million a second for twelve
/// days). A bound far below `u64::MAX` so that no checkpoint can claim a size no log will ever
/// reach and freeze its scenario (nothing could be anchored after it).
pub const MAX_LOG_SIZE: u64 = 1 << 40;

/// How many blocks before the anchoring block a checkpoint's `main_ref` may name.
pub const MAX_MAIN_REF_AGE: u64 = 1_024;

/// What the chain holds of a scenario: its anchored checkpoint and the home recorded when it was
/// founded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchored<'a> {
    /// The latest anchored checkpoint.
    pub checkpoint: &'a Checkpoint,
    /// The home the founding block recorded.
    pub home: &'a PublicKey,
}

/// Why a block may not anchor a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    /// The checkpoint carries no [`Link`]: nothing ties it to the chain.
    #[error("the checkpoint carries no link (founding or consistency proof)")]
    NoLink,
    /// A founding checkpoint for a scenario the chain already anchors.
    #[error("the scenario is already anchored: a checkpoint must extend it, not found it again")]
    AlreadyFounded,
    /// A consistency proof for a scenario the chain does not anchor yet.
    #[error("the scenario is not anchored yet: its first checkpoint must found it")]
    NotFounded,
    /// The founding home did not sign its checkpoint.
    #[error("the founding home {home} did not sign the checkpoint")]
    HomeUnsigned {
        /// The claimed home.
        home: PublicKey,
    },
    /// A size outside what may be anchored.
    #[error("size {size} is outside 1..={MAX_LOG_SIZE}")]
    Size {
        /// The checkpoint's size.
        size: u64,
    },
    /// Not larger than the anchored checkpoint.
    #[error("size {size} does not grow the anchored size {anchored}")]
    NotNewer {
        /// The checkpoint's size.
        size: u64,
        /// The anchored size.
        anchored: u64,
    },
    /// The consistency proof is for other sizes.
    #[error(
        "the consistency proof is from size {from} to {to}, the chain needs {anchored} to {size}"
    )]
    ProofSizes {
        /// The proof's earlier size.
        from: u64,
        /// The proof's later size.
        to: u64,
        /// The anchored size.
        anchored: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The consistency proof does not join the anchored root to the new one: history was
    /// rewritten.
    #[error("the log does not extend the anchored one: {0}")]
    Inconsistent(LogProofError),
    /// A signer outside the recorded home's replica set.
    #[error("signer {key} is not in the replica set of the recorded home {home}")]
    NotInSet {
        /// The stranger.
        key: PublicKey,
        /// The recorded home.
        home: PublicKey,
    },
    /// `main_ref` is not a block of this chain within [`MAX_MAIN_REF_AGE`] of the anchoring
    /// block.
    #[error("main_ref {main_ref} is not one of this chain's last {MAX_MAIN_REF_AGE} blocks")]
    MainRef {
        /// The claimed block.
        main_ref: crate::crypto::hash::Hash,
    },
    /// Too few of the replica set signed.
    #[error("{signed} of the replica set signed, its quorum is {needed}")]
    TooFew {
        /// Distinct signers from the set.
        signed: usize,
        /// The set's quorum.
        needed: usize,
    },
}

/// Predicate 1: the home whose replica set must vouch for `cp` — the recorded one if the chain
/// anchors the scenario (`anchored`), else the founding home `cp` names, which must have signed.
pub fn home_of(
    anchored: Option<Anchored<'_>>,
    cp: &SignedCheckpoint,
) -> Result<PublicKey, AnchorError> {
    match (anchored, &cp.link) {
        (_, None) => Err(AnchorError::NoLink),
        (Some(_), Some(Link::Found { .. })) => Err(AnchorError::AlreadyFounded),
        (None, Some(Link::Extend { .. })) => Err(AnchorError::NotFounded),
        (Some(a), Some(Link::Extend { .. })) => Ok(*a.home),
        (None, Some(Link::Found { home })) => {
            if cp.signatures.iter().any(|s| s.key == *home) {
                Ok(*home)
            } else {
                Err(AnchorError::HomeUnsigned { home: *home })
            }
        }
    }
}

/// Predicate 2: `cp` only grows the scenario's anchored log (`anchored`, if any): a size in
/// `1..=MAX_LOG_SIZE` larger than the anchored one, and for a scenario already anchored, a
/// consistency proof from the anchored size and root to `cp`'s.
pub fn extends_anchored(
    anchored: Option<&Checkpoint>,
    cp: &SignedCheckpoint,
) -> Result<(), AnchorError> {
    let c = &cp.checkpoint;
    if c.size == 0 || c.size > MAX_LOG_SIZE {
        return Err(AnchorError::Size { size: c.size });
    }
    let Some(a) = anchored else {
        return Ok(());
    };
    if c.size <= a.size {
        return Err(AnchorError::NotNewer {
            size: c.size,
            anchored: a.size,
        });
    }
    let Some(Link::Extend { proof }) = &cp.link else {
        return Err(AnchorError::NoLink);
    };
    if proof.from != a.size || proof.to != c.size {
        return Err(AnchorError::ProofSizes {
            from: proof.from,
            to: proof.to,
            anchored: a.size,
            size: c.size,
        });
    }
    proof
        .verify(&a.root, &c.root)
        .map_err(AnchorError::Inconsistent)
}

/// Predicate 3: every distinct signer of `cp` is `home` or one of its replicas among `members`
/// (`placement::replicas` with `replicas` places), and they are at least the set's quorum,
/// `min(quorum(replicas), set length)` — a home alone in its region signs alone.
pub fn signed_by_replica_set(
    home: &PublicKey,
    cp: &SignedCheckpoint,
    members: &[Member],
    replicas: usize,
) -> Result<(), AnchorError> {
    let set = placement::replicas(&cp.checkpoint.scenario, home, members, replicas);
    let signers: BTreeSet<PublicKey> = cp.signatures.iter().map(|s| s.key).collect();
    if let Some(key) = signers.iter().find(|k| *k != home && !set.contains(k)) {
        return Err(AnchorError::NotInSet {
            key: *key,
            home: *home,
        });
    }
    let needed = placement::quorum(replicas).min(1 + set.len());
    if signers.len() < needed {
        return Err(AnchorError::TooFew {
            signed: signers.len(),
            needed,
        });
    }
    Ok(())
}

/// Predicate 4: `main_ref` names a block of this chain (`main_ref_height`: its height if it is
/// one, from the caller's index of recent blocks) at most [`MAX_MAIN_REF_AGE`] blocks before the
/// block at `height` that would anchor `cp`.
pub fn main_ref_recent(
    cp: &SignedCheckpoint,
    main_ref_height: Option<u64>,
    height: u64,
) -> Result<(), AnchorError> {
    match main_ref_height {
        Some(h) if h < height && height - h <= MAX_MAIN_REF_AGE => Ok(()),
        _ => Err(AnchorError::MainRef {
            main_ref: cp.checkpoint.main_ref,
        }),
    }
}

/// The first three predicates, in order: may a block anchor `cp` on top of `anchored`? `members_of`
/// gives the placement members for a home (the registry's members, with the home added if it is
/// registered but not a validator). Returns the home to record (the founding one, or the
/// recorded one unchanged). Signatures are not checked here.
pub fn check_anchoring(
    anchored: Option<Anchored<'_>>,
    cp: &SignedCheckpoint,
    members_of: impl FnOnce(&PublicKey) -> Vec<Member>,
    replicas: usize,
) -> Result<PublicKey, AnchorError> {
    let home = home_of(anchored, cp)?;
    extends_anchored(anchored.map(|a| a.checkpoint), cp)?;
    signed_by_replica_set(&home, cp, &members_of(&home), replicas)?;
    Ok(home)
}

#[cfg(test)]
mod tests;
