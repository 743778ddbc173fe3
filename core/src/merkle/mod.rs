//! Merkle structures: the scenario log ([`log`], RFC 9162 over blake3) and the anchor map
//! ([`anchor`], a sparse Merkle tree from scenario to its latest checkpoint), with their
//! inclusion, consistency and (non-)membership proofs.

pub mod anchor;
pub mod log;
