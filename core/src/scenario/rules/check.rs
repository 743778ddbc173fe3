//! Static type checking and the static cost estimate, shared by the compiler and the decoder.
//!
//! The cost model (also in `docs/rules.md`) is defined by the functions in [`steps`]: the
//! evaluator charges exactly these formulas with the actual sizes, the checker charges them with
//! the declared maximum sizes and takes the costlier branch of every `?:`, so the static cost is
//! an upper bound of every evaluation of a record that fits its schema.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;

use crate::encoding::value::check_name;

use super::expr::{BinOp, Expr, Func, Type};
use super::{MAX_EXPR_DEPTH, MAX_EXPR_NODES};

/// The step formulas shared by the checker (with maximum sizes) and the evaluator (with actual
/// sizes). All are monotone in their arguments.
pub(crate) mod steps {
    /// Bytes of text processed per step.
    pub const TEXT_CHUNK: u64 = 64;
    /// Steps charged for one `record_exists` lookup (plus the size of the value looked up).
    pub const RECORD_EXISTS: u64 = 100;

    /// Steps to touch `bytes` bytes of text: one per started 64-byte chunk.
    pub fn units(bytes: u64) -> u64 {
        bytes.div_ceil(TEXT_CHUNK)
    }
    /// Extra steps to compare two values with these byte lengths (0 for numbers and bools).
    pub fn compare(a: u64, b: u64) -> u64 {
        units(a.min(b))
    }
    /// Extra steps to build the concatenation of texts of these lengths.
    pub fn concat(a: u64, b: u64) -> u64 {
        units(a.saturating_add(b))
    }
    /// Extra steps to search a text of length `a` for one of length `b`.
    pub fn search(a: u64, b: u64) -> u64 {
        units(a.saturating_add(b))
    }
    /// Extra steps to look a key up in a map of `entries` entries.
    pub fn map_lookup(entries: u64) -> u64 {
        2 * (u64::from(64 - entries.leading_zeros()) + 1)
    }
    /// Extra steps per item of a membership test over a list.
    pub fn list_item(needle: u64, item: u64) -> u64 {
        1 + compare(needle, item)
    }
}

/// The result of checking an expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The expression's static type.
    pub ty: Type,
    /// Its static cost: an upper bound on the steps any evaluation takes.
    pub cost: u64,
}

/// Why an expression tree is not well-formed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("node {node}: {message}")]
pub struct CheckError {
    /// The offending node's pre-order index (root = 0, then children left to right).
    pub node: usize,
    /// What is wrong, in words a charter author can act on.
    pub message: String,
}

/// Type-checks `expr` and computes its static cost. Checks node count, depth, names, operator and
/// function types, and the literal arguments of `record_exists`.
pub fn check(expr: &Expr) -> Result<Checked, CheckError> {
    let mut c = Checker { next: 0 };
    let (ty, cost) = c.visit(expr, 1)?;
    Ok(Checked { ty, cost })
}

struct Checker {
    next: usize,
}

fn err<T>(node: usize, message: String) -> Result<T, CheckError> {
    Err(CheckError { node, message })
}

/// The common type of two branches or list items: same kind, larger bounds.
pub(crate) fn join(a: &Type, b: &Type) -> Option<Type> {
    Some(match (a, b) {
        (Type::Text { max_len: x }, Type::Text { max_len: y }) => Type::Text { max_len: *x.max(y) },
        (Type::Bytes { max_len: x }, Type::Bytes { max_len: y }) => {
            Type::Bytes { max_len: *x.max(y) }
        }
        (Type::Int, Type::Int) => Type::Int,
        // Every operation on a decimal also accepts an int, so they mix into decimal.
        (a, b) if a.is_numeric() && b.is_numeric() => Type::Decimal,
        (Type::Bool, Type::Bool) => Type::Bool,
        (
            Type::List {
                item: i,
                max_items: m,
            },
            Type::List {
                item: j,
                max_items: n,
            },
        ) => Type::List {
            item: Box::new(join(i, j)?),
            max_items: *m.max(n),
        },
        (
            Type::Map {
                value: v,
                max_entries: m,
            },
            Type::Map {
                value: w,
                max_entries: n,
            },
        ) => Type::Map {
            value: Box::new(join(v, w)?),
            max_entries: *m.max(n),
        },
        _ => return None,
    })
}

/// Whether `==` applies: two numbers, or two values of the same scalar type.
pub(crate) fn equatable(a: &Type, b: &Type) -> bool {
    (a.is_numeric() && b.is_numeric())
        || matches!(
            (a, b),
            (Type::Bool, Type::Bool)
                | (Type::Text { .. }, Type::Text { .. })
                | (Type::Bytes { .. }, Type::Bytes { .. })
        )
}

/// Whether `<` applies: two numbers, two texts or two byte strings.
pub(crate) fn ordered(a: &Type, b: &Type) -> bool {
    (a.is_numeric() && b.is_numeric())
        || matches!(
            (a, b),
            (Type::Text { .. }, Type::Text { .. }) | (Type::Bytes { .. }, Type::Bytes { .. })
        )
}

fn arith(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Int, Type::Int) => Some(Type::Int),
        _ if a.is_numeric() && b.is_numeric() => Some(Type::Decimal),
        _ => None,
    }
}

impl Checker {
    fn visit(&mut self, e: &Expr, depth: u32) -> Result<(Type, u64), CheckError> {
        let id = self.next;
        self.next += 1;
        if id >= MAX_EXPR_NODES as usize {
            return err(
                id,
                format!("expression has more than {MAX_EXPR_NODES} nodes"),
            );
        }
        if depth > MAX_EXPR_DEPTH {
            return err(
                id,
                format!(
                    "expression nested deeper than {MAX_EXPR_DEPTH} levels (split it into several rules)"
                ),
            );
        }
        let d = depth + 1;
        Ok(match e {
            Expr::Bool(_) => (Type::Bool, 1),
            Expr::Int(_) => (Type::Int, 1),
            Expr::Decimal(_) => (Type::Decimal, 1),
            Expr::Text(s) => (
                Type::Text {
                    max_len: len_u32(s.len()),
                },
                1,
            ),
            Expr::List(items) => {
                let mut ty: Option<Type> = None;
                let mut cost = 1 + items.len() as u64;
                for item in items {
                    let at = self.next;
                    let (t, c) = self.visit(item, d)?;
                    cost = cost.saturating_add(c);
                    ty = Some(match ty {
                        None => t,
                        Some(prev) => match join(&prev, &t) {
                            Some(j) => j,
                            None => {
                                return err(
                                    at,
                                    format!("list items have different types: {prev} and {t}"),
                                );
                            }
                        },
                    });
                }
                let Some(item) = ty else {
                    return err(
                        id,
                        "an empty list has no item type; list at least one item".into(),
                    );
                };
                (
                    Type::List {
                        item: Box::new(item),
                        max_items: len_u32(items.len()),
                    },
                    cost,
                )
            }
            Expr::Field { name, ty } => {
                check_name(name, "field name").map_err(|_| CheckError {
                    node: id,
                    message: format!("invalid field name {name:?}"),
                })?;
                (ty.clone(), 1)
            }
            Expr::Has(name) => {
                check_name(name, "field name").map_err(|_| CheckError {
                    node: id,
                    message: format!("invalid field name {name:?}"),
                })?;
                (Type::Bool, 1)
            }
            Expr::Not(x) => {
                let (t, c) = self.visit(x, d)?;
                if t != Type::Bool {
                    return err(id, format!("operator `!` applies to bool, not {t}"));
                }
                (Type::Bool, c.saturating_add(1))
            }
            Expr::Neg(x) => {
                let (t, c) = self.visit(x, d)?;
                if !t.is_numeric() {
                    return err(id, format!("unary `-` applies to int and decimal, not {t}"));
                }
                (t, c.saturating_add(1))
            }
            Expr::Binary(op, l, r) => {
                let (lt, lc) = self.visit(l, d)?;
                let (rt, rc) = self.visit(r, d)?;
                let (ty, extra) = binary(id, *op, &lt, &rt)?;
                (
                    ty,
                    1u64.saturating_add(lc)
                        .saturating_add(rc)
                        .saturating_add(extra),
                )
            }
            Expr::Cond(c, a, b) => {
                let (ct, cc) = self.visit(c, d)?;
                if ct != Type::Bool {
                    return err(id, format!("the condition of `?:` must be bool, not {ct}"));
                }
                let (at, ac) = self.visit(a, d)?;
                let (bt, bc) = self.visit(b, d)?;
                let Some(ty) = join(&at, &bt) else {
                    return err(
                        id,
                        format!(
                            "the branches of `?:` have different types {at} and {bt} (convert with int() or decimal())"
                        ),
                    );
                };
                (ty, 1u64.saturating_add(cc).saturating_add(ac.max(bc)))
            }
            Expr::Call(f, args) => {
                if args.len() != f.arity() {
                    return err(
                        id,
                        format!(
                            "`{}` takes {} argument(s), found {}",
                            f.name(),
                            f.arity(),
                            args.len()
                        ),
                    );
                }
                let mut types = alloc::vec::Vec::with_capacity(args.len());
                let mut cost: u64 = 1;
                for a in args {
                    let (t, c) = self.visit(a, d)?;
                    cost = cost.saturating_add(c);
                    types.push(t);
                }
                let (ty, extra) = call(id, *f, args, &types)?;
                (ty, cost.saturating_add(extra))
            }
        })
    }
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn binary(id: usize, op: BinOp, l: &Type, r: &Type) -> Result<(Type, u64), CheckError> {
    let mismatch = || {
        err(
            id,
            format!("operator `{}` does not apply to {l} and {r}", op.symbol()),
        )
    };
    let cmp = steps::compare(l.len_bound(), r.len_bound());
    match op {
        BinOp::And | BinOp::Or => {
            if *l == Type::Bool && *r == Type::Bool {
                Ok((Type::Bool, 0))
            } else {
                mismatch()
            }
        }
        BinOp::Eq | BinOp::Ne if equatable(l, r) => Ok((Type::Bool, cmp)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge if ordered(l, r) => Ok((Type::Bool, cmp)),
        BinOp::In => match r {
            Type::List { item, max_items } if equatable(l, item) => {
                let per = steps::list_item(l.len_bound(), item.len_bound());
                Ok((Type::Bool, u64::from(*max_items).saturating_mul(per)))
            }
            Type::Map { max_entries, .. } if matches!(l, Type::Text { .. }) => {
                Ok((Type::Bool, steps::map_lookup(u64::from(*max_entries))))
            }
            Type::List { item, .. } => err(
                id,
                format!("`in` looks for {l} in list<{item}>: the types do not match"),
            ),
            Type::Map { .. } => err(id, format!("map keys are text; `in` cannot look up {l}")),
            _ => err(
                id,
                format!("`in` needs a list or a map on its right, not {r}"),
            ),
        },
        BinOp::Add => match (l, r) {
            (Type::Text { max_len: a }, Type::Text { max_len: b }) => Ok((
                Type::Text {
                    max_len: a.saturating_add(*b),
                },
                steps::concat(u64::from(*a), u64::from(*b)),
            )),
            _ => arith(l, r).map(|t| (t, 0)).map_or_else(mismatch, Ok),
        },
        BinOp::Sub | BinOp::Mul | BinOp::Div => {
            arith(l, r).map(|t| (t, 0)).map_or_else(mismatch, Ok)
        }
        BinOp::Rem => match (l, r) {
            (Type::Int, Type::Int) => Ok((Type::Int, 0)),
            _ if l.is_numeric() && r.is_numeric() => err(
                id,
                "operator `%` applies to ints only (there is no decimal remainder)".into(),
            ),
            _ => mismatch(),
        },
        _ => mismatch(),
    }
}

fn call(id: usize, f: Func, args: &[Expr], types: &[Type]) -> Result<(Type, u64), CheckError> {
    let bad = |what: &str| {
        let found: alloc::vec::Vec<String> = types.iter().map(|t| format!("{t}")).collect();
        err(
            id,
            format!("`{}` {what}, not ({})", f.name(), found.join(", ")),
        )
    };
    match (f, types) {
        (Func::Size, [t]) => match t {
            Type::Text { max_len } => Ok((Type::Int, steps::units(u64::from(*max_len)))),
            Type::Bytes { .. } | Type::List { .. } | Type::Map { .. } => Ok((Type::Int, 0)),
            _ => bad("applies to text, bytes, lists and maps"),
        },
        (Func::Scale, [t]) if t.is_numeric() => Ok((Type::Int, 0)),
        (Func::Scale, _) => bad("applies to a decimal"),
        (
            Func::StartsWith | Func::EndsWith,
            [Type::Text { max_len: a }, Type::Text { max_len: b }],
        ) => Ok((Type::Bool, steps::compare(u64::from(*a), u64::from(*b)))),
        (Func::Contains, [Type::Text { max_len: a }, Type::Text { max_len: b }]) => {
            Ok((Type::Bool, steps::search(u64::from(*a), u64::from(*b))))
        }
        (Func::StartsWith | Func::EndsWith | Func::Contains, _) => {
            bad("applies to text with a text argument")
        }
        (Func::Int | Func::Decimal, [t]) => {
            let ty = if f == Func::Int {
                Type::Int
            } else {
                Type::Decimal
            };
            match t {
                Type::Int | Type::Decimal => Ok((ty, 0)),
                Type::Text { max_len } => Ok((ty, steps::units(u64::from(*max_len)))),
                _ => bad("converts an int, a decimal or text"),
            }
        }
        (Func::RecordExists, [_, _, value]) => {
            for (i, what) in [(0, "record kind"), (1, "field name")] {
                let ok = matches!(&args[i], Expr::Text(s) if check_name(s, what).is_ok());
                if !ok {
                    return err(
                        id,
                        format!(
                            "the {what} of `record_exists` must be a quoted name like \"budget_line\""
                        ),
                    );
                }
            }
            match value {
                Type::List { .. } | Type::Map { .. } => {
                    bad("looks up a single value (text, int, decimal, bool or bytes)")
                }
                v => Ok((
                    Type::Bool,
                    steps::RECORD_EXISTS.saturating_add(steps::units(v.len_bound())),
                )),
            }
        }
        _ => bad("has the wrong number of arguments"),
    }
}
