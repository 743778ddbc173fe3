//! TEMPORARY interface stand-in; replaced by the real rule engine before commit.
#![allow(missing_docs)]
use alloc::string::String;
use serde::{Deserialize, Serialize};
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};
use crate::value::{Fields, Value};
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expr;
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule { pub name: String, pub source: String, pub message: String, pub expr: Expr, pub cost: u32 }
pub enum Lookup { Found, Missing, Unknown }
pub trait RecordLookup { fn record_exists(&self, kind: &str, field: &str, value: &Value) -> Lookup; }
pub struct NoLookup;
impl RecordLookup for NoLookup { fn record_exists(&self, _: &str, _: &str, _: &Value) -> Lookup { Lookup::Unknown } }
pub enum RuleOutcome { Pass, Unresolved { reason: String } }
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule}")]
pub struct RuleViolation { pub rule: String, pub field: Option<String>, pub message: String, pub detail: String }
pub fn evaluate(_: &Rule, _: &Fields, _: &dyn RecordLookup) -> Result<RuleOutcome, RuleViolation> { todo!() }
impl Encode for Rule { fn encode(&self, _: &mut Writer) { todo!() } }
impl Decode for Rule { fn decode(_: &mut Reader<'_>) -> Result<Self, DecodeError> { todo!() } }
#[cfg(feature = "compiler")]
pub fn compile(_: &str, _: &str, _: &str, _: &[crate::schema::FieldSchema]) -> Result<Rule, String> { todo!() }
