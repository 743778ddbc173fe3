//! BFT finality with malachite's Tendermint state machine (`informalsystems-malachitebft-core-consensus`
//! 0.5), as designed in `docs/consensus.md`.
//!
//! The [`TrustchainContext`] maps malachite's abstract types onto ours ([`ctx`]); the signing
//! scheme makes a non-nil precommit sign exactly the digest a `core`
//! [`CommitCertificate`](trustchain_core::chain::block::CommitCertificate) checks ([`signing`]);
//! a decided value's certificate converts into ours ([`cert`]); one validator's state machine sits
//! behind a sans-IO `step(input) -> Vec<Action>` ([`ConsensusCore`]), which the relay's node
//! machine (`crate::node::Machine`) drives in every network relay; the wire and WAL encodings are
//! in [`codec`]; and, for tests, `sim` is a seeded discrete-event simulation of many cores with
//! byzantine faults and crash-restarts from a write-ahead log. The dev relay (`trustchain-relay
//! dev`) does not run this engine: one validator certifies its own blocks
//! (`crate::node::chain::SoloFinalizer`).

pub mod cert;
pub mod codec;
pub mod core;
pub mod ctx;
pub mod signing;
/// Deterministic simulation (docs/consensus.md §7); test-only for now.
#[cfg(test)]
pub mod sim;

#[cfg(test)]
mod tests;

pub use self::core::{
    Action, ConsensusCore, Decision, Dropped, MAX_BUFFERED_PER_HEIGHT, MAX_BUFFERED_PER_SIGNER,
    MAX_ROUNDS_AHEAD, Role, TimeoutConfig,
};
pub use cert::{ConvertError, to_core_certificate};
pub use codec::{
    MAX_CERTIFICATE_SIGNATURES, MAX_SYNC_BLOCKS, MAX_SYNC_ERROR, NET_LIMITS, NetMessage,
    SYNC_LIMITS, SyncRequest, SyncResponse, WalRecord,
};
pub use ctx::{
    BlockId, BlockProposal, BlockValue, ConsVote, EpochSet, EpochSetError, Height, NoParts,
    TrustchainContext, ValAddr, ValInfo,
};
pub use signing::{Ed25519Strict, Sig, TrustchainSigner};

/// Malachite's consensus crate, re-exported so callers name one version.
pub use informalsystems_malachitebft_core_consensus as malachite;
/// Malachite's core types (the `Context` trait and the generic messages).
pub use informalsystems_malachitebft_core_types as malachite_types;
