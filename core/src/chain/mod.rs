//! The main chain: [`validators`] (the lowest layer), [`block`]s with their commit certificates
//! and epoch changes, the [`beacon`], [`posr`] (who votes next), replica [`placement`], and the
//! [`validity`] predicates every relay applies to the blocks it votes for.
//!
//! Imports run one way: `validators` ← `beacon`, `posr` ← `block`; `placement` ← `validity`.

pub mod beacon;
pub mod block;
pub mod placement;
pub mod posr;
pub mod validators;
pub mod validity;
