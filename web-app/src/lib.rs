//! # trustchain-explorer
//!
//! The Trustchain explorer: a client-side [Leptos](https://leptos.dev) app, built by Trunk from
//! the repository's `Trunk.toml` into `wasm-pkg/site/explorer/` and served by the relay at
//! `/explorer/`. It browses a relay's network, scenarios and records, and verifies every proof in
//! the browser with `trustchain-core`'s light client — the same code as the relay, the widget and
//! the command-line verifier. See `README.md`.
//!
//! The pure parts (the relay's JSON answers, formatting, white-paper search, the verification
//! glue over core) build on every target and are tested natively; the app itself (`app`) only
//! builds for `wasm32`.

pub mod api;
pub mod check;
pub mod fmt;
pub mod search;

#[cfg(target_arch = "wasm32")]
pub mod app;
