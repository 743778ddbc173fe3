//! # trustchain-core
//!
//! The Trustchain protocol as code: the canonical encoding, the hash domain table, ed25519 keys
//! and certificates, the scenario log (an RFC 9162 Merkle tree over blake3), the anchor map (a
//! sparse Merkle tree of scenario checkpoints), main-chain headers and commit certificates, the
//! light-client state machine, the charter rule engine, the `RecordProof` verifier, and the rules
//! every relay applies to a block (chain state, node registry, replica placement, quotas).
//!
//! `no_std` + `alloc` and sans-IO: no clocks, randomness, files or sockets. Time and keys come in as
//! arguments, so the relay (native) and the verifier widget (wasm) run exactly this code.
//!
//! The modules are grouped by concern, each folder using only the ones listed before it:
//!
//! - [`encoding`]: the canonical binary encoding, hex, and typed field values
//!   ([`encoding::value`]);
//! - [`crypto`]: keys and signatures, and the hash domain table ([`crypto::hash`]);
//! - [`merkle`]: the scenario log and the anchor map, with their proofs;
//! - [`scenario`]: what a scenario holds — contracts, charters, field schemas, the charter rule
//!   engine, log entries and signed checkpoints;
//! - [`chain`]: the main chain and everything that decides a block's validity — validator sets,
//!   blocks and certificates, the beacon, PoSR, replica placement, the anchoring predicates, the
//!   chain state at a head, the node registry, write quotas, and block validation;
//! - [`verify`]: what a light client runs — the light client, record proofs and receipts, the
//!   display check, the relay cross-checker and the relay wire protocol;
//! - [`client`]: the light-client shell every client runs over a transport (following epochs,
//!   the charter as record 0, records checked against it), and the relay's HTTP answers as types.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod chain;
pub mod client;
pub mod crypto;
pub mod encoding;
pub mod merkle;
pub mod scenario;
pub mod verify;
