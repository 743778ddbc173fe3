//! The relay's side of consensus (docs/consensus.md §5): what a block must be to get this
//! node's vote, and how blocks others proposed become final here.
//!
//! Malachite in `ProposalOnly` mode treats every proposed value as valid (docs/consensus.md
//! §2.3), so the driver calls [`validate_block`] on every proposal before the state machine sees
//! it; and a block that arrives already final (gossiped after a decision, or fetched by sync) is
//! checked with [`validate_block`] and its certificate before [`crate::producer::commit_block`]
//! writes it. Blocks a node decided itself and blocks it learnt from others go through the same
//! commit.

use trustchain_core::chain::{BlockHeader, CertificateError, CommitCertificate, ValidatorSet};
use trustchain_core::checkpoint::SignedCheckpoint;
use trustchain_core::hash::Hash;

use crate::producer::ChainSnapshot;
use crate::registry::{Registry, RegistryError};
use crate::store::BlockBody;

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
    /// A checkpoint that does not grow its scenario past the anchored one.
    #[error(
        "block {height}: checkpoint of {scenario} has size {size}, already anchored {anchored}"
    )]
    NotNewer {
        /// The block's height.
        height: u64,
        /// The scenario.
        scenario: String,
        /// The checkpoint's size.
        size: u64,
        /// The anchored size.
        anchored: u64,
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
/// time, which stays valid), the body hash, and a body whose checkpoints are each signed validly,
/// by at least one validator, grow their scenario, come in ascending scenario order and hash,
/// inserted into the anchor map, to the header's anchor root; then the node-registry reports
/// through `registry` (none without one), and `next_validators_hash` against the set the registry
/// computes for the block after.
///
/// Until scenario replica sets exist (docs/network.md), a validator's signature on a checkpoint is
/// what vouches for it; nobody but the scenario's own relay can check its log.
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
        let bad = |why: String| InvalidBlock::CheckpointSignature {
            height,
            scenario: c.scenario.to_string(),
            why,
        };
        // A checkpoint equal to one this relay already verified (its pool) needs its signers
        // checked against this set only, not its signatures again.
        if verified.is_some_and(|v| v.get(&c.scenario) == Some(cp)) {
            check_checkpoint_signers(set, registry, cp).map_err(bad)?;
        } else {
            check_checkpoint(set, registry, cp).map_err(bad)?;
        }
        let anchored = snap
            .checkpoints
            .get(&c.scenario)
            .map_or(0, |a| a.checkpoint.size);
        if c.size <= anchored {
            return Err(InvalidBlock::NotNewer {
                height,
                scenario: c.scenario.to_string(),
                size: c.size,
                anchored,
            });
        }
        anchors.insert(c.scenario.anchor_key(), c.digest());
    }
    if anchors.root() != header.anchor_root {
        return Err(InvalidBlock::AnchorRoot { height });
    }
    Ok(())
}

/// Checkpoints whose signatures this relay has verified already, by scenario (a driver's pool):
/// a block's checkpoint equal to one of them skips its signature checks.
pub type Verified<'a> =
    Option<&'a std::collections::BTreeMap<trustchain_core::value::ScenarioId, SignedCheckpoint>>;

/// Checks a checkpoint's signatures: all valid, and — on a network (with a registry) — by a
/// majority of its scenario's replica set among `set`'s members (docs/network.md, "Replica
/// sets"); in dev mode (no registry) by at least one validator.
pub fn check_checkpoint(
    set: &ValidatorSet,
    registry: Option<&Registry>,
    cp: &SignedCheckpoint,
) -> Result<(), String> {
    cp.verify_signatures().map_err(|e| e.to_string())?;
    check_checkpoint_signers(set, registry, cp)
}

/// [`check_checkpoint`] without the signature checks, for a checkpoint whose signatures are
/// known to be valid: who signed it, against `set`.
pub fn check_checkpoint_signers(
    set: &ValidatorSet,
    registry: Option<&Registry>,
    cp: &SignedCheckpoint,
) -> Result<(), String> {
    match registry {
        Some(r) => crate::replica::check_signers(r.places(), set, cp)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None if cp.signatures.iter().any(|s| set.index_of(&s.key).is_some()) => Ok(()),
        None => Err("no signature by a validator".into()),
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
