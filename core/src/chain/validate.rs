//! Block validity over a chain state (docs/consensus.md §5): what a block must be to extend a
//! [`ChainSnapshot`] — network, height, parent, epoch and validator-set hashes, time, body hash,
//! the anchoring of each checkpoint ([`check_checkpoint`] over the predicates of
//! [`crate::chain::validity`]), the anchor root, the node-registry entries ([`Registry::apply`])
//! and the next validator set — and, for the checkpoints a relay pools before a block takes them,
//! whether they may be anchored now ([`check_checkpoint`]), later ([`early`]) or still join the
//! chain ([`links_to`]).
//!
//! Pure functions of values: the relay calls [`validate_block`] on every proposal before its
//! consensus engine sees it (Malachite in `ProposalOnly` mode treats every value as valid), and
//! [`validate_final`] on every block that arrives already final (gossiped after a decision, or
//! fetched by sync) before it commits it. The clock comes in as `now_ms`.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};

use crate::chain::block::{BlockBody, BlockHeader, CertificateError, CommitCertificate};
use crate::chain::placement::DEFAULT_REPLICAS;
use crate::chain::registry::{Registry, RegistryError};
use crate::chain::state::ChainSnapshot;
use crate::chain::validators::ValidatorSet;
use crate::chain::validity::{self, AnchorError};
use crate::crypto::hash::Hash;
use crate::encoding::value::ScenarioId;
use crate::scenario::checkpoint::SignedCheckpoint;

/// How far a proposed block's time may be ahead of this node's clock.
pub const MAX_CLOCK_AHEAD_MS: u64 = 10_000;

/// Why a block does not extend this node's chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBlock {
    /// Another network's block.
    #[error("block of network {got:?}, this is {want:?}")]
    ChainId {
        /// This network.
        want: String,
        /// The block's.
        got: String,
    },
    /// Not the height after the head.
    #[error("block at height {got}, the next height is {want}")]
    Height {
        /// Head + 1.
        want: u64,
        /// The block's.
        got: u64,
    },
    /// Does not point at the head.
    #[error("block {height} does not extend the head {head}")]
    Prev {
        /// The block's height.
        height: u64,
        /// The head's hash.
        head: Hash,
    },
    /// Wrong epoch or validator set hashes.
    #[error("block {height} names epoch {epoch} or a validator set that is not the current one")]
    Validators {
        /// The block's height.
        height: u64,
        /// The block's epoch.
        epoch: u64,
    },
    /// Time before the head's, or too far in the future.
    #[error("block {height} has time {time_ms} ms, outside [{min_ms}, {max_ms}]")]
    Time {
        /// The block's height.
        height: u64,
        /// Its time.
        time_ms: u64,
        /// The head's time.
        min_ms: u64,
        /// This node's clock plus [`MAX_CLOCK_AHEAD_MS`].
        max_ms: u64,
    },
    /// The body is not the one the header commits to.
    #[error("block {height}: the body does not hash to the header's body_hash")]
    BodyHash {
        /// The block's height.
        height: u64,
    },
    /// `moved` is not the body's length.
    #[error("block {height} says {moved} scenarios moved, its body has {body}")]
    Moved {
        /// The block's height.
        height: u64,
        /// The header's count.
        moved: u32,
        /// The body's.
        body: usize,
    },
    /// Checkpoints not strictly ascending by scenario (a scenario twice, or out of order).
    #[error("block {height}: checkpoints are not strictly ascending by scenario")]
    Order {
        /// The block's height.
        height: u64,
    },
    /// A checkpoint's signatures are invalid, or none is by a validator.
    #[error("block {height}: checkpoint of {scenario} has {why}")]
    CheckpointSignature {
        /// The block's height.
        height: u64,
        /// The scenario.
        scenario: String,
        /// What is wrong.
        why: String,
    },
    /// A checkpoint the chain may not anchor (core's block-validity predicates,
    /// [`crate::chain::validity`]): not its recorded replica set's, not growing, not
    /// consistent with the anchored one.
    #[error("block {height}: checkpoint of {scenario}: {source}")]
    Anchoring {
        /// The block's height.
        height: u64,
        /// The scenario.
        scenario: String,
        /// Which predicate failed.
        source: AnchorError,
    },
    /// The body does not hash to the header's anchor root.
    #[error("block {height}: the body does not hash to the header's anchor root")]
    AnchorRoot {
        /// The block's height.
        height: u64,
    },
    /// A node-registry report is refused.
    #[error("block {height}: {source}")]
    Registry {
        /// The block's height.
        height: u64,
        /// Why.
        source: Box<RegistryError>,
    },
    /// The beacon round in the body is not the one the registry finishes at this block.
    #[error("block {height}: its beacon round is not the one this block finishes")]
    BeaconRound {
        /// The block's height.
        height: u64,
    },
    /// Registry or beacon entries in a chain without a registry (dev mode).
    #[error("block {height} carries node-registry or beacon entries, but this chain has none")]
    UnexpectedReports {
        /// The block's height.
        height: u64,
    },
    /// `next_validators_hash` is not the set the registry computes.
    #[error("block {height} names a next validator set other than the one PoSR gives")]
    NextValidators {
        /// The block's height.
        height: u64,
    },
    /// A final block's certificate does not verify.
    #[error("block {height}: certificate: {source}")]
    Certificate {
        /// The block's height.
        height: u64,
        /// Why.
        source: CertificateError,
    },
}

/// What a valid block leads to.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The validators of the block after it.
    pub next_validators: ValidatorSet,
    /// The registry after it (with `Some` registry given).
    pub registry: Option<Registry>,
}

/// Checks that `header` with `body` extends `snap`'s head: network, height, parent, epoch and
/// set hashes (the block is signed by `snap.next_validators`), time (not before the head's; with
/// `now_ms`, not more than [`MAX_CLOCK_AHEAD_MS`] after it — a re-proposed block keeps its older
/// time, which stays valid), the body hash, and a body whose checkpoints each pass
/// [`check_checkpoint`] (valid signatures; core's block-validity predicates: founded once by a
/// home that signed, signed by a quorum of the recorded home's replica set, growing with a
/// consistency proof from the anchored checkpoint), come in ascending scenario order and hash,
/// inserted into the anchor map, to the header's anchor root; then the node-registry reports
/// through `registry` (none without one), and `next_validators_hash` against the set the registry
/// computes for the block after.
pub fn validate_block(
    snap: &ChainSnapshot,
    registry: Option<&Registry>,
    header: &BlockHeader,
    body: &BlockBody,
    now_ms: Option<u64>,
    verified: Verified<'_>,
) -> Result<Checked, InvalidBlock> {
    let set = &snap.next_validators;
    validate_shape(snap, set, registry, header, body, now_ms, verified)?;
    let height = header.height;
    let (next_validators, registry) = match registry {
        None if !body.reports.is_empty()
            || !body.beacon_commits.is_empty()
            || !body.beacon_reveals.is_empty()
            || body.beacon_round.is_some() =>
        {
            return Err(InvalidBlock::UnexpectedReports { height });
        }
        None => (set.clone(), None),
        Some(r) => {
            let mut r = r.clone();
            let applied =
                r.apply(header.time_ms, body, set)
                    .map_err(|source| InvalidBlock::Registry {
                        height,
                        source: Box::new(source),
                    })?;
            if body.beacon_round != applied.round {
                return Err(InvalidBlock::BeaconRound { height });
            }
            (applied.next.unwrap_or_else(|| set.clone()), Some(r))
        }
    };
    if header.next_validators_hash != next_validators.hash() {
        return Err(InvalidBlock::NextValidators { height });
    }
    Ok(Checked {
        next_validators,
        registry,
    })
}

fn validate_shape(
    snap: &ChainSnapshot,
    set: &ValidatorSet,
    registry: Option<&Registry>,
    header: &BlockHeader,
    body: &BlockBody,
    now_ms: Option<u64>,
    verified: Verified<'_>,
) -> Result<(), InvalidBlock> {
    let height = header.height;
    let head = &snap.head.header;
    if header.chain_id != head.chain_id {
        return Err(InvalidBlock::ChainId {
            want: head.chain_id.clone(),
            got: header.chain_id.clone(),
        });
    }
    if height != head.height + 1 {
        return Err(InvalidBlock::Height {
            want: head.height + 1,
            got: height,
        });
    }
    if header.prev != snap.head_hash {
        return Err(InvalidBlock::Prev {
            height,
            head: snap.head_hash,
        });
    }
    if header.epoch != set.epoch || header.validators_hash != set.hash() {
        return Err(InvalidBlock::Validators {
            height,
            epoch: header.epoch,
        });
    }
    let max_ms = now_ms.map_or(u64::MAX, |n| n.saturating_add(MAX_CLOCK_AHEAD_MS));
    if header.time_ms < head.time_ms || header.time_ms > max_ms {
        return Err(InvalidBlock::Time {
            height,
            time_ms: header.time_ms,
            min_ms: head.time_ms,
            max_ms,
        });
    }
    if header.body_hash != body.hash() {
        return Err(InvalidBlock::BodyHash { height });
    }
    if header.moved as usize != body.checkpoints.len() {
        return Err(InvalidBlock::Moved {
            height,
            moved: header.moved,
            body: body.checkpoints.len(),
        });
    }
    if body
        .checkpoints
        .windows(2)
        .any(|w| w[0].checkpoint.scenario >= w[1].checkpoint.scenario)
    {
        return Err(InvalidBlock::Order { height });
    }
    let mut anchors = snap.anchors.clone();
    for cp in &body.checkpoints {
        let c = &cp.checkpoint;
        // A checkpoint equal to one this relay already verified (its pool) needs its anchoring
        // checked against this chain only, not its signatures again.
        let known = verified.is_some_and(|v| v.get(&c.scenario) == Some(cp));
        check_checkpoint(snap, set, registry, cp, !known).map_err(|e| match e {
            CheckpointRefused::Signature(why) => InvalidBlock::CheckpointSignature {
                height,
                scenario: c.scenario.to_string(),
                why,
            },
            CheckpointRefused::Anchoring(source) => InvalidBlock::Anchoring {
                height,
                scenario: c.scenario.to_string(),
                source,
            },
        })?;
        anchors.insert(c.scenario.anchor_key(), c.digest());
    }
    if anchors.root() != header.anchor_root {
        return Err(InvalidBlock::AnchorRoot { height });
    }
    Ok(())
}

/// Checkpoints whose signatures this relay has verified already, by scenario (a driver's pool):
/// a block's checkpoint equal to one of them skips its signature checks.
pub type Verified<'a> = Option<&'a BTreeMap<ScenarioId, SignedCheckpoint>>;

/// Why a checkpoint may not be anchored on top of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointRefused {
    /// A signature fails, or (dev mode) none is by a validator.
    #[error("{0}")]
    Signature(String),
    /// Core's block-validity predicates refuse it (`main_ref` included).
    #[error(transparent)]
    Anchoring(#[from] AnchorError),
}

/// May a block after `snap`, signed by `set`, anchor `cp`? Its signatures (all valid; skipped
/// with `signatures = false` for a checkpoint whose exact bytes were verified before), then
/// core's predicates ([`validity::check_anchoring`]): the scenario founded once, by a home that
/// signed, whose recorded replica set (among `set`'s members, docs/network.md "Replica sets")
/// signs every checkpoint by a quorum; sizes that only grow, each with a consistency proof from
/// the anchored checkpoint. In dev mode (no registry) the one validator is every scenario's
/// replica set: a checkpoint needs a validator's signature, and the founding and consistency
/// rules all the same.
pub fn check_checkpoint(
    snap: &ChainSnapshot,
    set: &ValidatorSet,
    registry: Option<&Registry>,
    cp: &SignedCheckpoint,
    signatures: bool,
) -> Result<(), CheckpointRefused> {
    if signatures {
        cp.verify_signatures()
            .map_err(|e| CheckpointRefused::Signature(e.to_string()))?;
    }
    let anchored = snap.anchored(&cp.checkpoint.scenario);
    snap.main_ref_recent(cp)?;
    match registry {
        Some(r) => {
            validity::check_anchoring(
                anchored,
                cp,
                |home| r.places().members_with(set, home),
                DEFAULT_REPLICAS,
            )?;
        }
        None => {
            validity::home_of(anchored, cp)?;
            validity::extends_anchored(anchored.map(|a| a.checkpoint), cp)?;
            if !cp.signatures.iter().any(|s| set.index_of(&s.key).is_some()) {
                return Err(CheckpointRefused::Signature(
                    "no signature by a validator".into(),
                ));
            }
        }
    }
    Ok(())
}

/// Whether a checkpoint refused with `e` on top of `snap` may instead be *early*: linked to a block this
/// relay has not committed yet, as a home one block ahead signs it — its `main_ref` is no block
/// of `snap`'s window, or its consistency proof starts past the anchored size, or it extends a
/// scenario whose founding `snap` does not hold yet. The driver keeps such a checkpoint for a
/// few blocks instead of refusing it (gossip races the block that the home already committed).
pub fn early(snap: &ChainSnapshot, e: &CheckpointRefused) -> bool {
    match e {
        // Unknown, rather than known but too old.
        CheckpointRefused::Anchoring(AnchorError::MainRef { main_ref }) => {
            snap.recent.height_of(main_ref).is_none()
        }
        // `home_of` says so only when `snap` anchors nothing of the scenario.
        CheckpointRefused::Anchoring(AnchorError::NotFounded) => true,
        CheckpointRefused::Anchoring(AnchorError::ProofSizes {
            from, anchored: a, ..
        }) => from > a,
        _ => false,
    }
}

/// Whether a pooled checkpoint still joins `snap`'s chain: its `main_ref` is still recent
/// enough, and it founds a scenario not yet anchored, or its consistency proof starts at the
/// anchored size (after a block anchored another checkpoint of its scenario, the home signs a
/// new one from there). O(1): no hashing.
pub fn links_to(snap: &ChainSnapshot, cp: &SignedCheckpoint) -> bool {
    use crate::scenario::checkpoint::Link;
    let c = &cp.checkpoint;
    if snap.main_ref_recent(cp).is_err() {
        return false;
    }
    match (snap.checkpoints.get(&c.scenario), &cp.link) {
        (None, Some(Link::Found { .. })) => true,
        (Some(a), Some(Link::Extend { proof })) => {
            proof.from == a.checkpoint.size && proof.to == c.size && c.size > a.checkpoint.size
        }
        _ => false,
    }
}

/// Checks a block that arrives final (gossiped or synced): [`validate_block`] without the clock
/// rule (it may be old), and its certificate against the set that signs it.
pub fn validate_final(
    snap: &ChainSnapshot,
    registry: Option<&Registry>,
    header: &BlockHeader,
    certificate: &CommitCertificate,
    body: &BlockBody,
    verified: Verified<'_>,
) -> Result<Checked, InvalidBlock> {
    let checked = validate_block(snap, registry, header, body, None, verified)?;
    certificate
        .verify(header, &snap.next_validators)
        .map_err(|source| InvalidBlock::Certificate {
            height: header.height,
            source,
        })?;
    Ok(checked)
}

#[cfg(test)]
mod tests {
    //! Block and checkpoint checks over the anchoring predicates, on a real snapshot (dev mode: one
    //! validator is every scenario's replica set). The network rule (recorded replica sets) is
    //! tested in `validity`'s tests and the relay's multi-relay tests.
    use crate::crypto::PublicKey;
    use crate::merkle::log::MemoryLog;
    use crate::scenario::checkpoint::{Checkpoint, Link};
    use alloc::vec::Vec;
    use ed25519_dalek::SigningKey;

    use super::*;

    /// The block before the snapshot's head, which checkpoints name as `main_ref`.
    const MAIN_REF: Hash = Hash([7; 32]);

    fn log(n: u64, salt: u8) -> MemoryLog {
        let mut log = MemoryLog::new();
        for i in 0..n {
            log.append(Hash([(i as u8) ^ salt; 32]));
        }
        log
    }

    fn cp(log: &MemoryLog, signer: &SigningKey, link: Option<Link>) -> SignedCheckpoint {
        let mut cp = Checkpoint {
            scenario: ScenarioId::new("acme/ledger").unwrap(),
            size: log.size(),
            root: log.root(),
            main_ref: MAIN_REF,
            time_ms: 1,
        }
        .sign(&[signer]);
        cp.link = link;
        cp
    }

    /// A chain whose head anchors `anchored` (founded by `key`), signed by `key` alone.
    fn snapshot(key: &SigningKey, anchored: Option<&SignedCheckpoint>) -> ChainSnapshot {
        let anchored: Vec<_> = anchored
            .map(|a| (a.clone(), PublicKey::of(key)))
            .into_iter()
            .collect();
        crate::chain::state::test_snapshot(core::slice::from_ref(key), &anchored, &[MAIN_REF])
    }

    #[test]
    fn founding_extending_and_what_is_refused() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let home = PublicKey::of(&key);
        let empty = snapshot(&key, None);
        let set = empty.next_validators.clone();
        let check = |snap: &ChainSnapshot, c: &SignedCheckpoint| {
            check_checkpoint(snap, &set, None, c, true)
        };

        let founding = cp(&log(3, 0), &key, Some(Link::Found { home }));
        assert_eq!(check(&empty, &founding), Ok(()));
        assert!(links_to(&empty, &founding));
        // main_ref naming no block of this chain: refused, and dropped from a pool.
        let mut elsewhere = founding.checkpoint.clone();
        elsewhere.main_ref = Hash([8; 32]);
        let elsewhere = SignedCheckpoint {
            link: founding.link.clone(),
            ..elsewhere.sign(&[&key])
        };
        assert!(matches!(
            check(&empty, &elsewhere),
            Err(CheckpointRefused::Anchoring(AnchorError::MainRef { .. }))
        ));
        assert!(!links_to(&empty, &elsewhere));
        let unlinked = cp(&log(3, 0), &key, None);
        assert_eq!(
            check(&empty, &unlinked),
            Err(CheckpointRefused::Anchoring(AnchorError::NoLink))
        );
        let stranger = SigningKey::from_bytes(&[6; 32]);
        let foreign = cp(
            &log(3, 0),
            &stranger,
            Some(Link::Found {
                home: PublicKey::of(&stranger),
            }),
        );
        assert!(matches!(
            check(&empty, &foreign),
            Err(CheckpointRefused::Signature(_))
        ));

        let snap = snapshot(&key, Some(&founding));
        // Founding it again (a second relay claiming the id) is refused.
        assert_eq!(
            check(&snap, &founding),
            Err(CheckpointRefused::Anchoring(AnchorError::AlreadyFounded))
        );
        // Growing it with a consistency proof is the only way on.
        let grown = log(7, 0);
        let next = cp(
            &grown,
            &key,
            Some(Link::Extend {
                proof: grown.prove_consistency(3, 7).unwrap(),
            }),
        );
        assert_eq!(check(&snap, &next), Ok(()));
        assert!(links_to(&snap, &next));
        // A rewritten history, a frozen size, a proof from another size.
        let rewritten = log(7, 1);
        let forged = cp(
            &rewritten,
            &key,
            Some(Link::Extend {
                proof: rewritten.prove_consistency(3, 7).unwrap(),
            }),
        );
        assert!(matches!(
            check(&snap, &forged),
            Err(CheckpointRefused::Anchoring(AnchorError::Inconsistent(_)))
        ));
        let mut frozen = next.clone();
        frozen.checkpoint.size = u64::MAX;
        let frozen = frozen.checkpoint.sign(&[&key]);
        let frozen = SignedCheckpoint {
            link: next.link.clone(),
            ..frozen
        };
        assert!(matches!(
            check(&snap, &frozen),
            Err(CheckpointRefused::Anchoring(AnchorError::Size { .. }))
        ));
        let stale = cp(
            &grown,
            &key,
            Some(Link::Extend {
                proof: grown.prove_consistency(2, 7).unwrap(),
            }),
        );
        assert!(!links_to(&snap, &stale));
        // Gossip from a home one block ahead is early, not refused: a proof from a size past the
        // anchored one, an extension of a scenario not founded here yet, an unknown main_ref.
        // A proof from an older size is stale.
        let err = |snap: &ChainSnapshot, c: &SignedCheckpoint| check(snap, c).unwrap_err();
        let ahead = cp(
            &grown,
            &key,
            Some(Link::Extend {
                proof: grown.prove_consistency(5, 7).unwrap(),
            }),
        );
        assert!(early(&snap, &err(&snap, &ahead)));
        assert!(!early(&snap, &err(&snap, &stale)));
        assert!(early(&empty, &err(&empty, &next)));
        assert!(early(&empty, &err(&empty, &elsewhere)));
        assert!(!early(&snap, &err(&snap, &forged)));
        assert!(matches!(
            check(&snap, &stale),
            Err(CheckpointRefused::Anchoring(AnchorError::ProofSizes { .. }))
        ));
    }
}
