//! What the binary needs besides the relay itself: configuration files, the local devnet, node
//! keys, and starting a relay ([`run`]).

pub mod config;
pub mod devnet;
pub mod keys;
pub mod run;
