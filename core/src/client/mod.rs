//! The light-client shell every Trustchain client runs: the browser widget (`wasm-pkg`), the
//! explorer (`web-app`) and the relay's command line. Core's
//! [`LightClient`](crate::verify::light_client::LightClient) is the sans-IO state machine; this
//! shell is the one place that walks it over a network:
//!
//! - [`Transport`] — what a client asks a relay (smoldot's `PlatformRef` idea: the shell never
//!   knows whether bytes come over libp2p, `fetch` or a blocking HTTP agent);
//! - [`Shell`] — follows the epoch hand-overs from the trust root to the block a proof needs,
//!   fetches and verifies a scenario's charter as its record 0, and fetches and verifies records
//!   against it (no charter, no green);
//! - [`CharterJson`] — a charter given as JSON: the charter itself or an answer holding it under
//!   `charter`;
//! - [`api`] — the relay's HTTP/JSON answers as types, shared by the relay that writes them and
//!   the clients that read them (`docs/openapi.yaml`).
//!
//! `no_std` + `alloc`: the shell's futures only await the transport's, so any executor drives
//! them (the browser's event loop, or a tiny `block_on` over a blocking transport).

pub mod api;
mod shell;
mod transport;

pub use shell::{
    CharterJson, CharterUse, Checked, Shell, VerifiedCharter, answers, require_asked,
    without_charter,
};
pub use transport::{CertifiedBlock, Transport};
