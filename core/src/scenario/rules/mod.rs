//! The charter rule engine: a documented subset of CEL compiled into a checked expression tree,
//! stored in its canonical encoding with a static cost, and evaluated with exact decimals and a
//! deterministic step budget. The language is specified in `docs/rules.md`.
//!
//! - `compile` (feature `compiler`, natives only) turns source text into a [`Rule`];
//! - [`Rule`]'s decoder re-validates an untrusted tree: names, sizes, node count, depth, types,
//!   and the stored cost against a recomputed one;
//! - [`evaluate`] runs a rule on a record's [`Fields`]: `Pass`, `Unresolved` (a lookup this
//!   verifier cannot answer) or a [`RuleViolation`] naming the rule and the offending field.
//!
//! ```
//! # #[cfg(feature = "compiler")] {
//! use trustchain_core::scenario::rules::{compile, evaluate, NoLookup, RuleOutcome};
//! use trustchain_core::scenario::schema::{FieldSchema, FieldType};
//! use trustchain_core::encoding::value::{Fields, Value, parse_decimal};
//!
//! let schema = [FieldSchema {
//!     name: "amount".into(),
//!     description: String::new(),
//!     ty: FieldType::Decimal { min: None, max: None, max_scale: 2, currency: None },
//!     required: true,
//! }];
//! let rule = compile("amount_positive", "amount > 0 && scale(amount) <= 2",
//!                    "an amount is positive with at most two decimals", &schema).unwrap();
//! let mut fields = Fields::new();
//! fields.insert("amount".into(), Value::Decimal(parse_decimal("12.50").unwrap()));
//! assert_eq!(evaluate(&rule, &fields, &NoLookup), Ok(RuleOutcome::Pass));
//! fields.insert("amount".into(), Value::Decimal(parse_decimal("-3.5").unwrap()));
//! let v = evaluate(&rule, &fields, &NoLookup).unwrap_err();
//! assert_eq!(v.to_string(), "rule \"amount_positive\" failed on field \"amount\": \
//!     an amount is positive with at most two decimals (amount = -3.5)");
//! # }
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::encoding::value::{MAX_KEY_BYTES, Value, check_name};
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};
use crate::scenario::schema::FieldSchema;

mod check;
#[cfg(feature = "compiler")]
mod compile;
mod decimal;
mod eval;
mod expr;
mod print;
#[cfg(test)]
mod tests;

pub use check::{CheckError, Checked, check};
#[cfg(feature = "compiler")]
pub use compile::{CompileError, MAX_NESTING, MAX_TOKENS, compile};
pub use expr::{BinOp, Expr, Func, MAX_TYPE_DEPTH, Type, tag};
pub use print::print;

use crate::encoding::value::Fields;

/// Largest static cost (in evaluation steps) a rule may have.
pub const MAX_RULE_COST: u32 = 10_000;
/// Most nodes in a rule's expression tree.
pub const MAX_EXPR_NODES: u32 = 1024;
/// Deepest nesting of a rule's expression tree (the root is level 1).
pub const MAX_EXPR_DEPTH: u32 = 48;
/// Longest rule source text, in bytes (also the longest text literal).
pub const MAX_SOURCE_BYTES: u32 = 4096;
/// Longest rule message, in bytes.
pub const MAX_MESSAGE_BYTES: u32 = 1024;

/// One charter rule: its source (for people), its checked tree (authoritative), and the static
/// cost of the tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RuleJson", into = "RuleJson")]
pub struct Rule {
    /// The rule's name (`[a-z][a-z0-9_]*`, at most 64 bytes).
    pub name: String,
    /// The source text it was compiled from.
    pub source: String,
    /// What the rule means, shown when it fails.
    pub message: String,
    /// The checked expression; the rule passes iff it evaluates to `true`.
    pub expr: Expr,
    /// The static cost of `expr` (an upper bound on evaluation steps), at most [`MAX_RULE_COST`].
    pub cost: u32,
}

impl Rule {
    /// Checks everything the decoder checks: the name, the source and message lengths, the tree
    /// (node count, depth, names, types; the result must be bool), and that `cost` is the
    /// recomputed static cost and within [`MAX_RULE_COST`].
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_name(&self.name, "rule name")?;
        for (what, text, max) in [
            ("rule source", &self.source, MAX_SOURCE_BYTES),
            ("rule message", &self.message, MAX_MESSAGE_BYTES),
        ] {
            if text.len() > max as usize {
                return Err(DecodeError::TooLong {
                    what,
                    len: text.len() as u64,
                    max: u64::from(max),
                });
            }
        }
        let invalid = |why| DecodeError::Invalid { what: "rule", why };
        let checked = check(&self.expr).map_err(|_| invalid("expression is not well-typed"))?;
        if checked.ty != Type::Bool {
            return Err(invalid("expression is not a bool condition"));
        }
        if checked.cost > u64::from(MAX_RULE_COST) {
            return Err(invalid("cost exceeds MAX_RULE_COST"));
        }
        if checked.cost != u64::from(self.cost) {
            return Err(invalid("stored cost differs from the recomputed cost"));
        }
        Ok(())
    }

    /// Checks the rule against its record kind's schema: every field it reads or tests with
    /// `has()` is declared, with the type the rule was compiled for. A charter decoder calls this
    /// so a rule cannot claim smaller sizes (hence a smaller cost) than the schema allows.
    pub fn check_schema(&self, fields: &[FieldSchema]) -> Result<(), DecodeError> {
        for (name, ty) in self.expr.field_refs() {
            let Some(f) = fields.iter().find(|f| f.name == name) else {
                return Err(DecodeError::Invalid {
                    what: "rule",
                    why: "refers to a field its kind does not declare",
                });
            };
            if ty.is_some_and(|t| *t != Type::of_field(&f.ty)) {
                return Err(DecodeError::Invalid {
                    what: "rule",
                    why: "a field's type differs from its declaration",
                });
            }
        }
        Ok(())
    }

    /// The names of the fields the rule mentions, in source order, without repeats.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (name, _) in self.expr.field_refs() {
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }
}

impl Encode for Rule {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.name);
        w.str(&self.source);
        w.str(&self.message);
        self.expr.encode(w);
        w.u32(self.cost);
    }
}

impl Decode for Rule {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let rule = Rule {
            name: r.str("rule name", MAX_KEY_BYTES)?,
            source: r.str("rule source", MAX_SOURCE_BYTES)?,
            message: r.str("rule message", MAX_MESSAGE_BYTES)?,
            expr: Expr::decode(r)?,
            cost: r.u32("rule cost")?,
        };
        rule.validate()?;
        Ok(rule)
    }
}

/// The JSON form of a [`Rule`]: `expr` is the hex of the tree's canonical encoding.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleJson {
    name: String,
    source: String,
    message: String,
    expr: String,
    cost: u32,
}

impl From<Rule> for RuleJson {
    fn from(r: Rule) -> Self {
        RuleJson {
            expr: crate::encoding::hex::encode(&r.expr.to_bytes()),
            name: r.name,
            source: r.source,
            message: r.message,
            cost: r.cost,
        }
    }
}

impl TryFrom<RuleJson> for Rule {
    type Error = DecodeError;
    fn try_from(j: RuleJson) -> Result<Self, DecodeError> {
        let bytes = crate::encoding::hex::decode(&j.expr, "rule expression")?;
        let rule = Rule {
            name: j.name,
            source: j.source,
            message: j.message,
            expr: Expr::from_bytes(&bytes)?,
            cost: j.cost,
        };
        rule.validate()?;
        Ok(rule)
    }
}

/// The answer to a `record_exists` lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A matching earlier record exists.
    Found,
    /// No earlier record matches.
    Missing,
    /// This verifier cannot tell (e.g. it is offline and holds no index).
    Unknown,
}

/// Answers references to earlier records of the same scenario.
///
/// Later protocol versions will add aggregates and cross-scenario references as new function ids
/// answered through an extended trait; this one stays as it is.
pub trait RecordLookup {
    /// Whether an earlier record of `kind` has `field` equal to `value`.
    fn record_exists(&self, kind: &str, field: &str, value: &Value) -> Lookup;
}

/// The lookup of an offline verifier: every answer is [`Lookup::Unknown`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NoLookup;

impl RecordLookup for NoLookup {
    fn record_exists(&self, _kind: &str, _field: &str, _value: &Value) -> Lookup {
        Lookup::Unknown
    }
}

/// A rule's verdict when it is not violated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleOutcome {
    /// The rule evaluated to `true`.
    Pass,
    /// The verdict depends on a lookup this verifier cannot answer; never a pass.
    Unresolved {
        /// Which lookup, in words.
        reason: String,
    },
}

/// A record that breaks a rule (evaluated to `false`, or failed deterministically: a type error,
/// an absent field read without `has()`, overflow, division by zero, or an exhausted budget).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "rule \"{rule}\" failed{}: {message} ({detail})",
    field.as_ref().map(|f| alloc::format!(" on field \"{f}\"")).unwrap_or_default()
)]
pub struct RuleViolation {
    /// The rule's name.
    pub rule: String,
    /// The offending field: the first field of the first failing `&&` conjunct.
    pub field: Option<String>,
    /// The rule's message.
    pub message: String,
    /// What happened (`amount = -3.5`, `division by zero; amount = 0`).
    pub detail: String,
}

/// Evaluates `rule` on a record's `fields`. The rule passes iff its expression is `true`; see
/// [`RuleViolation`] for what fails and `docs/rules.md` for the exact semantics.
pub fn evaluate(
    rule: &Rule,
    fields: &Fields,
    lookup: &dyn RecordLookup,
) -> Result<RuleOutcome, RuleViolation> {
    eval::run(rule, fields, lookup).0
}
