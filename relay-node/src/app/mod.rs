//! What the binary needs besides the relay itself: configuration files, the local devnet, the
//! demo scenario, node keys, and starting a relay ([`run`]).

pub mod config;
pub mod demo;
pub mod devnet;
pub mod keys;
pub mod run;
