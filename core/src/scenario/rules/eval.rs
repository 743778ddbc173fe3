//! The evaluator: `no_std`, no floats, a deterministic step budget.
//!
//! Values borrow from the record and the tree (nothing is copied except the results of text
//! concatenation), and every step is charged with the formulas in [`steps`] before it is taken.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cmp::Ordering;

use rust_decimal::Decimal;

use crate::encoding::value::{Fields, Value, parse_decimal};

use super::check::steps;
use super::decimal::{self, DecimalError};
use super::expr::{BinOp, Expr, Func, Type};
use super::{
    Lookup, MAX_EXPR_DEPTH, MAX_RULE_COST, RecordLookup, Rule, RuleOutcome, RuleViolation,
};

/// Why evaluation stopped without a value.
#[derive(Debug)]
pub(crate) enum Fault {
    /// A deterministic failure: the rule is violated.
    Error(String),
    /// A lookup this verifier cannot answer.
    Unresolved(String),
}

type Res<T> = Result<T, Fault>;

fn fail<T>(msg: String) -> Res<T> {
    Err(Fault::Error(msg))
}

/// A runtime value, borrowing from the record or the tree.
#[derive(Debug)]
enum Val<'a> {
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Text(Cow<'a, str>),
    Bytes(&'a [u8]),
    List(ListVal<'a>),
    Map(&'a BTreeMap<String, Value>),
}

#[derive(Debug)]
enum ListVal<'a> {
    /// A list field, with its declared item type (items are checked as they are read).
    Field(&'a [Value], &'a Type, &'a str),
    /// A list literal.
    Lit(Vec<Val<'a>>),
}

impl Val<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Dec(_) => "decimal",
            Val::Text(_) => "text",
            Val::Bytes(_) => "bytes",
            Val::List(_) => "list",
            Val::Map(_) => "map",
        }
    }

    /// Byte length of text and bytes, 0 otherwise (the size the step formulas use).
    fn len(&self) -> u64 {
        match self {
            Val::Text(s) => s.len() as u64,
            Val::Bytes(b) => b.len() as u64,
            _ => 0,
        }
    }
}

/// Reads a stored value as a value of type `ty`, checking its kind and its top-level size bound
/// (so the static cost stays an upper bound).
fn conform<'a>(v: &'a Value, ty: &'a Type, what: &dyn Fn() -> String) -> Res<Val<'a>> {
    let too_big = |n: usize, max: u32, unit: &str| {
        fail(format!(
            "{} holds {n} {unit}, more than the {max} the rule was compiled for",
            what()
        ))
    };
    match (ty, v) {
        (Type::Bool, Value::Bool(b)) => Ok(Val::Bool(*b)),
        (Type::Int, Value::Int(i)) => Ok(Val::Int(*i)),
        (Type::Decimal, Value::Decimal(d)) => Ok(Val::Dec(*d)),
        (Type::Text { max_len }, Value::Text(s)) => {
            if s.len() > *max_len as usize {
                return too_big(s.len(), *max_len, "bytes");
            }
            Ok(Val::Text(Cow::Borrowed(s)))
        }
        (Type::Bytes { max_len }, Value::Bytes(b)) => {
            if b.len() > *max_len as usize {
                return too_big(b.len(), *max_len, "bytes");
            }
            Ok(Val::Bytes(b))
        }
        (Type::List { item, max_items }, Value::List(items)) => {
            if items.len() > *max_items as usize {
                return too_big(items.len(), *max_items, "items");
            }
            Ok(Val::List(ListVal::Field(items, item, "")))
        }
        (Type::Map { max_entries, .. }, Value::Map(m)) => {
            if m.len() > *max_entries as usize {
                return too_big(m.len(), *max_entries, "entries");
            }
            Ok(Val::Map(m))
        }
        (t, v) => fail(format!(
            "{} holds {}, but the rule expects {t}",
            what(),
            v.type_name()
        )),
    }
}

fn decimal_fault(e: DecimalError) -> Fault {
    Fault::Error(
        match e {
            DecimalError::DivisionByZero => "division by zero",
            DecimalError::Overflow => "decimal overflow (more than 96 bits)",
            DecimalError::Inexact => "the exact decimal result needs more than 28 decimals",
        }
        .to_string(),
    )
}

fn as_decimal(v: &Val<'_>) -> Option<Decimal> {
    match v {
        Val::Int(i) => Some(Decimal::from(*i)),
        Val::Dec(d) => Some(*d),
        _ => None,
    }
}

/// The evaluation machine for one rule and one record.
pub(crate) struct Machine<'a> {
    fields: &'a Fields,
    lookup: &'a dyn RecordLookup,
    budget: u64,
    /// Steps charged so far.
    pub(crate) used: u64,
}

impl<'a> Machine<'a> {
    pub(crate) fn new(fields: &'a Fields, lookup: &'a dyn RecordLookup, budget: u32) -> Self {
        Machine {
            fields,
            lookup,
            budget: u64::from(budget.min(MAX_RULE_COST)),
            used: 0,
        }
    }

    fn charge(&mut self, n: u64) -> Res<()> {
        self.used = self.used.saturating_add(n);
        if self.used > self.budget {
            return fail(format!("step budget of {} exhausted", self.budget));
        }
        Ok(())
    }

    fn bool(&mut self, e: &'a Expr, depth: u32) -> Res<bool> {
        match self.eval(e, depth)? {
            Val::Bool(b) => Ok(b),
            v => fail(format!("expected bool, found {}", v.type_name())),
        }
    }

    fn eval(&mut self, e: &'a Expr, depth: u32) -> Res<Val<'a>> {
        if depth > MAX_EXPR_DEPTH {
            return fail(format!(
                "expression nested deeper than {MAX_EXPR_DEPTH} levels"
            ));
        }
        self.charge(1)?;
        let d = depth + 1;
        match e {
            Expr::Bool(b) => Ok(Val::Bool(*b)),
            Expr::Int(i) => Ok(Val::Int(*i)),
            Expr::Decimal(x) => Ok(Val::Dec(*x)),
            Expr::Text(s) => Ok(Val::Text(Cow::Borrowed(s))),
            Expr::List(items) => {
                self.charge(items.len() as u64)?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval(item, d)?);
                }
                Ok(Val::List(ListVal::Lit(out)))
            }
            Expr::Field { name, ty } => {
                let Some(v) = self.fields.get(name) else {
                    return fail(format!(
                        "field `{name}` is absent (guard an optional field with has({name}))"
                    ));
                };
                match conform(v, ty, &|| format!("field `{name}`"))? {
                    Val::List(ListVal::Field(items, item, _)) => {
                        Ok(Val::List(ListVal::Field(items, item, name)))
                    }
                    v => Ok(v),
                }
            }
            Expr::Has(name) => Ok(Val::Bool(self.fields.contains_key(name))),
            Expr::Not(x) => Ok(Val::Bool(!self.bool(x, d)?)),
            Expr::Neg(x) => match self.eval(x, d)? {
                Val::Int(i) => i
                    .checked_neg()
                    .map(Val::Int)
                    .ok_or_else(|| Fault::Error("integer overflow".into())),
                Val::Dec(x) => Ok(Val::Dec(decimal::neg(&x))),
                v => fail(format!(
                    "unary `-` applies to numbers, not {}",
                    v.type_name()
                )),
            },
            Expr::Binary(op, l, r) => self.binary(*op, l, r, d),
            Expr::Cond(c, a, b) => {
                let branch = if self.bool(c, d)? { a } else { b };
                self.eval(branch, d)
            }
            Expr::Call(f, args) => self.call(*f, args, d),
        }
    }

    fn binary(&mut self, op: BinOp, l: &'a Expr, r: &'a Expr, d: u32) -> Res<Val<'a>> {
        match op {
            BinOp::And => return Ok(Val::Bool(self.bool(l, d)? && self.bool(r, d)?)),
            BinOp::Or => return Ok(Val::Bool(self.bool(l, d)? || self.bool(r, d)?)),
            _ => {}
        }
        let a = self.eval(l, d)?;
        let b = self.eval(r, d)?;
        match op {
            BinOp::Eq | BinOp::Ne => {
                self.charge(steps::compare(a.len(), b.len()))?;
                let eq = equal(&a, &b)?;
                Ok(Val::Bool(eq == (op == BinOp::Eq)))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                self.charge(steps::compare(a.len(), b.len()))?;
                let ord = order(&a, &b, op)?;
                Ok(Val::Bool(match op {
                    BinOp::Lt => ord.is_lt(),
                    BinOp::Le => ord.is_le(),
                    BinOp::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                }))
            }
            BinOp::In => self.member(&a, &b).map(Val::Bool),
            _ => self.arith(op, a, b),
        }
    }

    fn member(&mut self, needle: &Val<'a>, hay: &Val<'a>) -> Res<bool> {
        match hay {
            Val::List(ListVal::Lit(items)) => {
                for item in items {
                    self.charge(steps::list_item(needle.len(), item.len()))?;
                    if equal(needle, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Val::List(ListVal::Field(items, ty, name)) => {
                for (i, v) in items.iter().enumerate() {
                    let item = conform(v, ty, &|| format!("item {i} of field `{name}`"))?;
                    self.charge(steps::list_item(needle.len(), item.len()))?;
                    if equal(needle, &item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Val::Map(m) => {
                self.charge(steps::map_lookup(m.len() as u64))?;
                match needle {
                    Val::Text(k) => Ok(m.contains_key(k.as_ref())),
                    v => fail(format!("map keys are text, not {}", v.type_name())),
                }
            }
            v => fail(format!("`in` needs a list or a map, not {}", v.type_name())),
        }
    }

    fn arith(&mut self, op: BinOp, a: Val<'a>, b: Val<'a>) -> Res<Val<'a>> {
        let mismatch = |a: &Val<'_>, b: &Val<'_>| {
            fail(format!(
                "operator `{}` does not apply to {} and {}",
                op.symbol(),
                a.type_name(),
                b.type_name()
            ))
        };
        match (&a, &b) {
            (Val::Int(x), Val::Int(y)) => {
                let (x, y) = (*x, *y);
                if matches!(op, BinOp::Div | BinOp::Rem) && y == 0 {
                    return fail("division by zero".into());
                }
                let r = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div => x.checked_div(y),
                    BinOp::Rem => x.checked_rem(y),
                    _ => return mismatch(&a, &b),
                };
                r.map(Val::Int)
                    .ok_or_else(|| Fault::Error("integer overflow".into()))
            }
            (Val::Text(x), Val::Text(y)) if op == BinOp::Add => {
                self.charge(steps::concat(a.len(), b.len()))?;
                let mut s = String::with_capacity(x.len() + y.len());
                s.push_str(x);
                s.push_str(y);
                Ok(Val::Text(Cow::Owned(s)))
            }
            _ => {
                let (Some(x), Some(y)) = (as_decimal(&a), as_decimal(&b)) else {
                    return mismatch(&a, &b);
                };
                let r = match op {
                    BinOp::Add => decimal::add(&x, &y),
                    BinOp::Sub => decimal::sub(&x, &y),
                    BinOp::Mul => decimal::mul(&x, &y),
                    BinOp::Div => decimal::div(&x, &y),
                    _ => return mismatch(&a, &b),
                };
                r.map(Val::Dec).map_err(decimal_fault)
            }
        }
    }

    fn call(&mut self, f: Func, args: &'a [Expr], d: u32) -> Res<Val<'a>> {
        if args.len() != f.arity() {
            return fail(format!("`{}` takes {} argument(s)", f.name(), f.arity()));
        }
        if f == Func::RecordExists {
            return self.record_exists(args, d);
        }
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a, d)?);
        }
        let bad = |vals: &[Val<'_>]| {
            let found: Vec<&str> = vals.iter().map(Val::type_name).collect();
            fail(format!(
                "`{}` does not apply to ({})",
                f.name(),
                found.join(", ")
            ))
        };
        match (f, vals.as_slice()) {
            (Func::Size, [v]) => {
                let n = match v {
                    Val::Text(s) => {
                        self.charge(steps::units(v.len()))?;
                        s.chars().count()
                    }
                    Val::Bytes(b) => b.len(),
                    Val::List(ListVal::Field(items, ..)) => items.len(),
                    Val::List(ListVal::Lit(items)) => items.len(),
                    Val::Map(m) => m.len(),
                    _ => return bad(&vals),
                };
                Ok(Val::Int(i64::try_from(n).unwrap_or(i64::MAX)))
            }
            (Func::Scale, [Val::Dec(x)]) => Ok(Val::Int(i64::from(x.scale()))),
            (Func::Scale, [Val::Int(_)]) => Ok(Val::Int(0)),
            (Func::StartsWith, [a @ Val::Text(x), b @ Val::Text(y)]) => {
                self.charge(steps::compare(a.len(), b.len()))?;
                Ok(Val::Bool(x.starts_with(y.as_ref())))
            }
            (Func::EndsWith, [a @ Val::Text(x), b @ Val::Text(y)]) => {
                self.charge(steps::compare(a.len(), b.len()))?;
                Ok(Val::Bool(x.ends_with(y.as_ref())))
            }
            (Func::Contains, [a @ Val::Text(x), b @ Val::Text(y)]) => {
                self.charge(steps::search(a.len(), b.len()))?;
                Ok(Val::Bool(x.contains(y.as_ref())))
            }
            (Func::Int, [Val::Int(i)]) => Ok(Val::Int(*i)),
            (Func::Int, [Val::Dec(x)]) => decimal::trunc_to_i64(x)
                .map(Val::Int)
                .ok_or_else(|| Fault::Error(format!("int({x}) overflows a 64-bit int"))),
            (Func::Int, [v @ Val::Text(s)]) => {
                self.charge(steps::units(v.len()))?;
                parse_int(s)
                    .map(Val::Int)
                    .ok_or_else(|| Fault::Error(format!("cannot convert {} to int", shorten(s))))
            }
            (Func::Decimal, [Val::Int(i)]) => Ok(Val::Dec(Decimal::from(*i))),
            (Func::Decimal, [Val::Dec(x)]) => Ok(Val::Dec(*x)),
            (Func::Decimal, [v @ Val::Text(s)]) => {
                self.charge(steps::units(v.len()))?;
                parse_decimal(s).map(Val::Dec).map_err(|why| {
                    Fault::Error(format!("cannot convert {} to decimal: {why}", shorten(s)))
                })
            }
            _ => bad(&vals),
        }
    }

    fn record_exists(&mut self, args: &'a [Expr], d: u32) -> Res<Val<'a>> {
        let (Expr::Text(kind), Expr::Text(field)) = (&args[0], &args[1]) else {
            return fail("record_exists needs a quoted kind and field name".into());
        };
        // The two literal arguments are charged as the nodes they are.
        self.charge(2)?;
        let v = self.eval(&args[2], d)?;
        self.charge(steps::RECORD_EXISTS.saturating_add(steps::units(v.len())))?;
        let value = match v {
            Val::Bool(b) => Value::Bool(b),
            Val::Int(i) => Value::Int(i),
            Val::Dec(x) => Value::Decimal(x),
            Val::Text(s) => Value::Text(s.into_owned()),
            Val::Bytes(b) => Value::Bytes(b.to_vec()),
            v => return fail(format!("record_exists cannot look up a {}", v.type_name())),
        };
        match self.lookup.record_exists(kind, field, &value) {
            Lookup::Found => Ok(Val::Bool(true)),
            Lookup::Missing => Ok(Val::Bool(false)),
            Lookup::Unknown => Err(Fault::Unresolved(format!(
                "record_exists({kind:?}, {field:?}, {}) needs a lookup this verifier cannot answer",
                show_value(&value)
            ))),
        }
    }
}

/// `-?[0-9]+` as an `i64`.
fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn equal(a: &Val<'_>, b: &Val<'_>) -> Res<bool> {
    Ok(match (a, b) {
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Int(x), Val::Int(y)) => x == y,
        (Val::Text(x), Val::Text(y)) => x == y,
        (Val::Bytes(x), Val::Bytes(y)) => x == y,
        _ => match (as_decimal(a), as_decimal(b)) {
            (Some(x), Some(y)) => decimal::cmp(&x, &y).is_eq(),
            _ => {
                return fail(format!(
                    "cannot compare {} with {}",
                    a.type_name(),
                    b.type_name()
                ));
            }
        },
    })
}

fn order(a: &Val<'_>, b: &Val<'_>, op: BinOp) -> Res<Ordering> {
    Ok(match (a, b) {
        (Val::Int(x), Val::Int(y)) => x.cmp(y),
        (Val::Text(x), Val::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Val::Bytes(x), Val::Bytes(y)) => x.cmp(y),
        _ => match (as_decimal(a), as_decimal(b)) {
            (Some(x), Some(y)) => decimal::cmp(&x, &y),
            _ => {
                return fail(format!(
                    "operator `{}` does not apply to {} and {}",
                    op.symbol(),
                    a.type_name(),
                    b.type_name()
                ));
            }
        },
    })
}

/// At most 64 characters of `s`, for messages.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        None => format!("{s:?}"),
        Some((i, _)) => format!("{:?}…", &s[..i]),
    }
}

/// A value for a violation's detail, shortened.
fn show_value(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(80) {
        None => s,
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// Splits the top-level `&&` chain into its conjuncts (left to right) and counts the `&&` nodes.
fn conjuncts(e: &Expr) -> (Vec<&Expr>, u64) {
    let mut out = Vec::new();
    let mut ands = 0u64;
    let mut stack = alloc::vec![e];
    while let Some(e) = stack.pop() {
        if let Expr::Binary(BinOp::And, l, r) = e {
            ands += 1;
            stack.push(r);
            stack.push(l);
        } else {
            out.push(e);
        }
    }
    (out, ands)
}

/// Evaluates `rule` and reports the steps it took.
pub(crate) fn run(
    rule: &Rule,
    fields: &Fields,
    lookup: &dyn RecordLookup,
) -> (Result<RuleOutcome, RuleViolation>, u64) {
    let mut m = Machine::new(fields, lookup, rule.cost);
    let violation = |conjunct: &Expr, reason: Option<String>| {
        let field = conjunct.first_field().map(String::from);
        let value = field.as_deref().map(|f| match fields.get(f) {
            Some(v) => format!("{f} = {}", show_value(v)),
            None => format!("{f} is absent"),
        });
        let detail = match (reason, value) {
            (None, Some(v)) => v,
            (None, None) => "the condition is false".into(),
            (Some(r), Some(v)) if fields.contains_key(field.as_deref().unwrap_or("")) => {
                format!("{r}; {v}")
            }
            (Some(r), _) => r,
        };
        RuleViolation {
            rule: rule.name.clone(),
            field,
            message: rule.message.clone(),
            detail,
        }
    };
    let (parts, ands) = conjuncts(&rule.expr);
    if let Err(Fault::Error(e)) = m.charge(ands) {
        return (Err(violation(&rule.expr, Some(e))), m.used);
    }
    let mut unresolved = None;
    for part in parts {
        match m.eval(part, 1) {
            Ok(Val::Bool(true)) => {}
            Ok(Val::Bool(false)) => return (Err(violation(part, None)), m.used),
            Ok(v) => {
                let e = format!("the rule evaluated to {}, not bool", v.type_name());
                return (Err(violation(part, Some(e))), m.used);
            }
            // Keep going: a later conjunct that fails decides the verdict whatever the lookup
            // would have answered.
            Err(Fault::Unresolved(reason)) => {
                unresolved.get_or_insert(reason);
            }
            Err(Fault::Error(e)) => return (Err(violation(part, Some(e))), m.used),
        }
    }
    let outcome = match unresolved {
        None => RuleOutcome::Pass,
        Some(reason) => RuleOutcome::Unresolved { reason },
    };
    (Ok(outcome), m.used)
}
