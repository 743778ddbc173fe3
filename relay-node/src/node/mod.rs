//! The relay's behaviour: a sans-IO state machine ([`Machine`]) that takes inputs and the time
//! and returns effects, the chain state it keeps ([`chain`]), the rules it applies to blocks
//! ([`validate`]), the node registry, placement overlay and genesis, and the thread that runs
//! the machine against the real clock ([`spawn`]).

pub mod chain;
pub mod genesis;
mod machine;
pub mod misbehave;
pub mod overlay;
pub mod registry;
mod shell;
pub mod validate;

pub use machine::{Input, Machine, MachineConfig, Now, Output, Peer};
pub use shell::{Inbox, LANE, NotTaken, spawn};
