//! What a scenario holds: its [`charter`] (genesis record, field [`schema`]s and [`rules`]), its
//! signed [`contract`]s, the log [`entry`] that is one or the other, and the [`checkpoint`]s its
//! replicas sign over the log.
//!
//! Imports run one way: `contract` ← `charter` ← `entry`; `schema` ← `rules` ← `charter`.

pub mod charter;
pub mod checkpoint;
pub mod contract;
pub mod entry;
pub mod rules;
pub mod schema;
