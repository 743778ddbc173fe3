//! The Trustchain relay node. Each folder is a room with one door (ARCHITECTURE.md):
//!
//! - [`store`]: the redb database; every table write goes through [`store::Store`].
//! - [`consensus`]: the Tendermint engine (malachite) behind [`consensus::ConsensusCore`], its
//!   codec, signing and seeded simulation; no storage, no network, no clock.
//! - [`node`]: the relay's behaviour as a sans-IO state machine ([`node::Machine`]: inputs and
//!   `now` in, effects out), the chain state it keeps, and the thread that runs it.
//! - [`ingest`]: group-committed ingestion of contracts.
//! - [`net`]: libp2p — the browser wire, gossip, block sync, replication, PoSR probes, hubs.
//! - [`query`]: record and consistency proofs, for HTTP and libp2p alike.
//! - [`api`]: the axum handlers, HTTP limits and security headers.
//! - [`app`]: what the binary needs — configuration, devnet, keys, startup.
//! - [`demo`]: the demo scenario (a budget charter and its payments), for dev mode and tests.
#![deny(missing_docs)]

pub mod api;
pub mod app;
pub mod consensus;
pub mod demo;
pub mod ingest;
pub mod metrics;
pub mod net;
pub mod node;
pub mod query;
pub mod store;
