//! What a light client runs: the [`light_client`] (follows epochs and certified headers), the
//! [`proof`] verifier and its [`receipt`] form, the [`display`] check, the relay cross-checker
//! ([`detector`]) and the request-response protocol it speaks to relays ([`wire`]).

pub mod detector;
pub mod display;
pub mod light_client;
pub mod proof;
pub mod receipt;
pub mod wire;
