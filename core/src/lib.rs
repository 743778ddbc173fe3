//! # trustchain-core
//!
//! The Trustchain protocol as code: the canonical encoding, the hash domain table, ed25519 keys
//! and certificates, the scenario log (an RFC 9162 Merkle tree over blake3), the anchor map (a
//! sparse Merkle tree of scenario checkpoints), main-chain headers and commit certificates, the
//! light-client state machine, the charter rule engine, and the `RecordProof` verifier.
//!
//! `no_std` + `alloc` and sans-IO: no clocks, randomness, files or sockets. Time and keys come in as
//! arguments, so the relay (native) and the verifier widget (wasm) run exactly this code.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod anchor;
pub mod beacon;
pub mod chain;
pub mod charter;
pub mod checkpoint;
pub mod client;
pub mod contract;
pub mod crypto;
pub mod detector;
pub mod display;
pub mod encoding;
pub mod hash;
pub mod hex;
pub mod light_client;
pub mod log;
pub mod placement;
pub mod posr;
pub mod proof;
pub mod receipt;
pub mod rules;
pub mod schema;
pub mod validity;
pub mod value;
pub mod wire;
