//! The Trustchain relay node: redb storage, group-committed ingestion, block production behind
//! the consensus boundary, the HTTP API, and the dev single-node network.
#![deny(missing_docs)]

pub mod api;
pub mod bandwidth;
pub mod config;
pub mod consensus;
pub mod demo;
pub mod devnet;
pub mod driver;
pub mod fields;
pub mod genesis;
pub mod http_limits;
pub mod ingest;
pub mod keys;
pub mod metrics;
pub mod misbehave;
pub mod node;
pub mod overlay;
pub mod p2p;
pub mod producer;
pub mod quota;
pub mod registry;
pub mod replica;
pub mod store;
