//! The main chain and everything that decides whether a block is valid: [`validators`] (the
//! lowest layer), [`block`]s with their commit certificates and epoch changes, the [`beacon`],
//! [`posr`] (who votes next), replica [`placement`], the checkpoint-anchoring predicates of
//! [`validity`], the chain [`state`] at a head, the node [`registry`] (PoSR reports, beacon
//! rounds and epoch changes as blocks carry them), write [`quota`]s, and [`validate`]: whether a
//! block extends a state.
//!
//! No import circles: `beacon`, `posr` and `placement` use `validators`; `block` uses `beacon` and
//! `posr`; `validity` uses `placement`; `state` uses `block` and `validity`; `registry` uses
//! `block`, `beacon`, `posr` and `placement`; `validate` uses `state`, `registry` and `validity`;
//! `quota` uses `state` and `placement`.

pub mod beacon;
pub mod block;
pub mod placement;
pub mod posr;
pub mod quota;
pub mod registry;
pub mod state;
pub mod validate;
pub mod validators;
pub mod validity;
