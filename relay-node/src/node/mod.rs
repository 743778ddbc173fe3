//! The relay's behaviour: a sans-IO state machine ([`Machine`]) that takes inputs and the time
//! and returns effects, the chain it keeps on the store ([`chain`]; the rules a block must meet
//! are `core`'s, `trustchain_core::chain::validate`), the node registry from genesis, the
//! placement overlay, and the thread that runs the machine against the real clock ([`spawn`]).

pub mod chain;
pub mod genesis;
mod machine;
pub mod misbehave;
pub mod overlay;
pub mod registry;
mod shell;

pub use machine::{Input, Machine, MachineConfig, Now, Output, Peer};
pub use shell::{Inbox, LANE, NotTaken, spawn};
