//! The checked expression tree, its static types, and their canonical encoding.
//!
//! Every node, operator, function and type has an explicit `u8` id that is part of the protocol:
//! ids are never reused or renumbered, so an encoded charter keeps its meaning forever. New
//! features (aggregates over a kind, cross-scenario references) get new ids.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use rust_decimal::Decimal;

use crate::encoding::value::{
    MAX_KEY_BYTES, MAX_LIST_ITEMS, MAX_MAP_ENTRIES, MAX_VALUE_BYTES, check_name, decode_decimal,
    encode_decimal,
};
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};
use crate::scenario::schema::FieldType;

use super::{MAX_EXPR_DEPTH, MAX_EXPR_NODES, MAX_SOURCE_BYTES};

/// Deepest accepted nesting of a [`Type`] (lists of lists ...).
pub const MAX_TYPE_DEPTH: u32 = 6;

/// The `u8` tags of [`Expr`] nodes in the canonical encoding.
pub mod tag {
    /// [`Expr::Bool`](super::Expr::Bool): then one bool byte.
    pub const BOOL: u8 = 0;
    /// [`Expr::Int`](super::Expr::Int): then an `i64`.
    pub const INT: u8 = 1;
    /// [`Expr::Decimal`](super::Expr::Decimal): then a canonical decimal.
    pub const DECIMAL: u8 = 2;
    /// [`Expr::Text`](super::Expr::Text): then length-prefixed UTF-8.
    pub const TEXT: u8 = 3;
    /// [`Expr::List`](super::Expr::List): then a `u32` count and the items.
    pub const LIST: u8 = 4;
    /// [`Expr::Field`](super::Expr::Field): then the name and the [`Type`](super::Type).
    pub const FIELD: u8 = 5;
    /// [`Expr::Has`](super::Expr::Has): then the field name.
    pub const HAS: u8 = 6;
    /// [`Expr::Not`](super::Expr::Not): then the operand.
    pub const NOT: u8 = 7;
    /// [`Expr::Neg`](super::Expr::Neg): then the operand.
    pub const NEG: u8 = 8;
    /// [`Expr::Binary`](super::Expr::Binary): then the [`BinOp`](super::BinOp) id and both operands.
    pub const BINARY: u8 = 9;
    /// [`Expr::Cond`](super::Expr::Cond): then condition, `then` and `else` operands.
    pub const COND: u8 = 10;
    /// [`Expr::Call`](super::Expr::Call): then the [`Func`](super::Func) id and exactly its
    /// arity's arguments (no count: the id fixes it).
    pub const CALL: u8 = 11;
}

/// A binary operator (`u8` id in the encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum BinOp {
    /// `&&` (short-circuit, left to right).
    And = 0,
    /// `||` (short-circuit, left to right).
    Or = 1,
    /// `==`
    Eq = 2,
    /// `!=`
    Ne = 3,
    /// `<`
    Lt = 4,
    /// `<=`
    Le = 5,
    /// `>`
    Gt = 6,
    /// `>=`
    Ge = 7,
    /// `in` (list membership or map key membership).
    In = 8,
    /// `+` (numbers, or text concatenation).
    Add = 9,
    /// `-`
    Sub = 10,
    /// `*`
    Mul = 11,
    /// `/` (ints truncate; decimals are exact or fail).
    Div = 12,
    /// `%` (ints only).
    Rem = 13,
}

impl BinOp {
    /// Every operator, in id order.
    pub const ALL: [BinOp; 14] = [
        BinOp::And,
        BinOp::Or,
        BinOp::Eq,
        BinOp::Ne,
        BinOp::Lt,
        BinOp::Le,
        BinOp::Gt,
        BinOp::Ge,
        BinOp::In,
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::Div,
        BinOp::Rem,
    ];

    /// The operator's id in the encoding.
    pub const fn id(self) -> u8 {
        self as u8
    }

    /// The operator with this id.
    pub fn from_id(id: u8) -> Option<BinOp> {
        BinOp::ALL.get(id as usize).copied()
    }

    /// The operator as written in rule source.
    pub const fn symbol(self) -> &'static str {
        match self {
            BinOp::And => "&&",
            BinOp::Or => "||",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }
}

/// A built-in function (`u8` id in the encoding). Its id also fixes its arity.
///
/// Reserved for later versions (never to be reused): aggregates over the records of a kind
/// (`sum`, `count`), and references into other scenarios; they will be new ids answered through
/// an extended lookup trait, so existing charters keep their meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Func {
    /// `size(x)` / `x.size()`: code points of text, bytes of bytes, items of a list or map.
    Size = 0,
    /// `scale(d)`: digits after the point of a decimal (0 for an int).
    Scale = 1,
    /// `x.startsWith(s)`
    StartsWith = 2,
    /// `x.endsWith(s)`
    EndsWith = 3,
    /// `x.contains(s)`
    Contains = 4,
    /// `int(x)`: from int, decimal (truncating toward zero) or text.
    Int = 5,
    /// `decimal(x)`: from int, decimal or text.
    Decimal = 6,
    /// `record_exists("kind", "field", value)`: an earlier record of this scenario, answered
    /// through [`RecordLookup`](super::RecordLookup).
    RecordExists = 7,
}

impl Func {
    /// Every function, in id order.
    pub const ALL: [Func; 8] = [
        Func::Size,
        Func::Scale,
        Func::StartsWith,
        Func::EndsWith,
        Func::Contains,
        Func::Int,
        Func::Decimal,
        Func::RecordExists,
    ];

    /// The function's id in the encoding.
    pub const fn id(self) -> u8 {
        self as u8
    }

    /// The function with this id.
    pub fn from_id(id: u8) -> Option<Func> {
        Func::ALL.get(id as usize).copied()
    }

    /// How many arguments it takes (a method's receiver is the first).
    pub const fn arity(self) -> usize {
        match self {
            Func::Size | Func::Scale | Func::Int | Func::Decimal => 1,
            Func::StartsWith | Func::EndsWith | Func::Contains => 2,
            Func::RecordExists => 3,
        }
    }

    /// The name used in rule source.
    pub const fn name(self) -> &'static str {
        match self {
            Func::Size => "size",
            Func::Scale => "scale",
            Func::StartsWith => "startsWith",
            Func::EndsWith => "endsWith",
            Func::Contains => "contains",
            Func::Int => "int",
            Func::Decimal => "decimal",
            Func::RecordExists => "record_exists",
        }
    }
}

/// The static type of an expression, with the size bounds the cost estimate needs.
///
/// Field references carry their declared type, so a decoded rule can be type-checked and costed
/// without its charter's schema.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// Text of at most `max_len` bytes.
    Text {
        /// Longest possible text, in bytes.
        max_len: u32,
    },
    /// A 64-bit integer.
    Int,
    /// An exact decimal.
    Decimal,
    /// `true` or `false`.
    Bool,
    /// Bytes, at most `max_len`.
    Bytes {
        /// Longest possible byte string.
        max_len: u32,
    },
    /// A list of at most `max_items` items of one type.
    List {
        /// The items' type.
        item: Box<Type>,
        /// Most items.
        max_items: u32,
    },
    /// A map from text keys to values of one type.
    Map {
        /// The values' type.
        value: Box<Type>,
        /// Most entries.
        max_entries: u32,
    },
}

impl Type {
    /// The rule-language type of a schema field type.
    pub fn of_field(ty: &FieldType) -> Type {
        match ty {
            FieldType::Text { max_len, .. } => Type::Text { max_len: *max_len },
            FieldType::Int { .. } => Type::Int,
            FieldType::Decimal { .. } => Type::Decimal,
            FieldType::Bool => Type::Bool,
            FieldType::Bytes { max_len } => Type::Bytes { max_len: *max_len },
            FieldType::List { item, max_items } => Type::List {
                item: Box::new(Type::of_field(item)),
                max_items: *max_items,
            },
            FieldType::Map { value, max_entries } => Type::Map {
                value: Box::new(Type::of_field(value)),
                max_entries: *max_entries,
            },
        }
    }

    /// Whether this is `int` or `decimal`.
    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Decimal)
    }

    /// The byte-length bound of text and bytes (0 for other types).
    pub fn len_bound(&self) -> u64 {
        match self {
            Type::Text { max_len } | Type::Bytes { max_len } => u64::from(*max_len),
            _ => 0,
        }
    }

    fn validate(&self, depth: u32) -> Result<(), DecodeError> {
        let bad = |why| {
            Err(DecodeError::Invalid {
                what: "rule type",
                why,
            })
        };
        if depth >= MAX_TYPE_DEPTH {
            return bad("type nested too deeply");
        }
        match self {
            Type::Text { max_len } | Type::Bytes { max_len } if *max_len > MAX_VALUE_BYTES => {
                bad("max_len above 65536")
            }
            Type::List { item, max_items } => {
                if *max_items > MAX_LIST_ITEMS {
                    return bad("max_items above 1024");
                }
                item.validate(depth + 1)
            }
            Type::Map { value, max_entries } => {
                if *max_entries > MAX_MAP_ENTRIES {
                    return bad("max_entries above 256");
                }
                value.validate(depth + 1)
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Text { .. } => f.write_str("text"),
            Type::Int => f.write_str("int"),
            Type::Decimal => f.write_str("decimal"),
            Type::Bool => f.write_str("bool"),
            Type::Bytes { .. } => f.write_str("bytes"),
            Type::List { item, .. } => write!(f, "list<{item}>"),
            Type::Map { value, .. } => write!(f, "map<{value}>"),
        }
    }
}

impl Encode for Type {
    fn encode(&self, w: &mut Writer) {
        match self {
            Type::Text { max_len } => {
                w.u8(0);
                w.u32(*max_len);
            }
            Type::Int => w.u8(1),
            Type::Decimal => w.u8(2),
            Type::Bool => w.u8(3),
            Type::Bytes { max_len } => {
                w.u8(4);
                w.u32(*max_len);
            }
            Type::List { item, max_items } => {
                w.u8(5);
                item.encode(w);
                w.u32(*max_items);
            }
            Type::Map { value, max_entries } => {
                w.u8(6);
                value.encode(w);
                w.u32(*max_entries);
            }
        }
    }
}

fn decode_type(r: &mut Reader<'_>, depth: u32) -> Result<Type, DecodeError> {
    if depth >= MAX_TYPE_DEPTH {
        return Err(DecodeError::TooDeep {
            max: MAX_TYPE_DEPTH,
        });
    }
    let t = match r.u8("rule type tag")? {
        0 => Type::Text {
            max_len: r.u32("text max_len")?,
        },
        1 => Type::Int,
        2 => Type::Decimal,
        3 => Type::Bool,
        4 => Type::Bytes {
            max_len: r.u32("bytes max_len")?,
        },
        5 => {
            let item = r.nested(|r| decode_type(r, depth + 1))?;
            Type::List {
                item: Box::new(item),
                max_items: r.u32("list max_items")?,
            }
        }
        6 => {
            let value = r.nested(|r| decode_type(r, depth + 1))?;
            Type::Map {
                value: Box::new(value),
                max_entries: r.u32("map max_entries")?,
            }
        }
        tag => {
            return Err(DecodeError::InvalidTag {
                what: "rule type",
                tag,
            });
        }
    };
    Ok(t)
}

impl Decode for Type {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let t = decode_type(r, 0)?;
        t.validate(0)?;
        Ok(t)
    }
}

/// A checked rule expression. Build one with `rules::compile` (feature `compiler`, native) or decode one;
/// [`check`](super::check) gives its type and static cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `true` / `false`.
    Bool(bool),
    /// An int literal.
    Int(i64),
    /// A decimal literal (`12.50`, scale kept).
    Decimal(Decimal),
    /// A text literal.
    Text(String),
    /// A list literal `[a, b]` (never empty).
    List(Vec<Expr>),
    /// A reference to a field of the record, with the field's declared type.
    Field {
        /// The field's name.
        name: String,
        /// Its type as declared in the schema the rule was compiled against.
        ty: Type,
    },
    /// `has(field)`: whether the record carries the field.
    Has(String),
    /// `!x`
    Not(Box<Expr>),
    /// `-x`
    Neg(Box<Expr>),
    /// `lhs op rhs`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `cond ? then : else`
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A built-in function; a method's receiver is the first argument.
    Call(Func, Vec<Expr>),
}

impl Expr {
    /// The direct children, in evaluation (and pre-order numbering) order.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Bool(_)
            | Expr::Int(_)
            | Expr::Decimal(_)
            | Expr::Text(_)
            | Expr::Field { .. }
            | Expr::Has(_) => Vec::new(),
            Expr::List(items) | Expr::Call(_, items) => items.iter().collect(),
            Expr::Not(x) | Expr::Neg(x) => alloc::vec![&**x],
            Expr::Binary(_, l, r) => alloc::vec![&**l, &**r],
            Expr::Cond(c, a, b) => alloc::vec![&**c, &**a, &**b],
        }
    }

    /// The first field this expression mentions (a reference or a `has()`), in source order.
    pub fn first_field(&self) -> Option<&str> {
        // Iterative pre-order walk: hand-built trees may be arbitrarily deep.
        let mut stack = alloc::vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Field { name, .. } | Expr::Has(name) => return Some(name),
                _ => stack.extend(e.children().into_iter().rev()),
            }
        }
        None
    }

    /// Every field reference with its type, in source order (for checking against a schema).
    pub fn field_refs(&self) -> Vec<(&str, Option<&Type>)> {
        let mut out = Vec::new();
        let mut stack = alloc::vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Field { name, ty } => out.push((name.as_str(), Some(ty))),
                Expr::Has(name) => out.push((name.as_str(), None)),
                _ => stack.extend(e.children().into_iter().rev()),
            }
        }
        out
    }
}

impl Encode for Expr {
    fn encode(&self, w: &mut Writer) {
        match self {
            Expr::Bool(b) => {
                w.u8(tag::BOOL);
                w.bool(*b);
            }
            Expr::Int(i) => {
                w.u8(tag::INT);
                w.i64(*i);
            }
            Expr::Decimal(d) => {
                w.u8(tag::DECIMAL);
                encode_decimal(d, w);
            }
            Expr::Text(s) => {
                w.u8(tag::TEXT);
                w.str(s);
            }
            Expr::List(items) => {
                w.u8(tag::LIST);
                w.seq(items);
            }
            Expr::Field { name, ty } => {
                w.u8(tag::FIELD);
                w.str(name);
                ty.encode(w);
            }
            Expr::Has(name) => {
                w.u8(tag::HAS);
                w.str(name);
            }
            Expr::Not(x) => {
                w.u8(tag::NOT);
                x.encode(w);
            }
            Expr::Neg(x) => {
                w.u8(tag::NEG);
                x.encode(w);
            }
            Expr::Binary(op, l, r) => {
                w.u8(tag::BINARY);
                w.u8(op.id());
                l.encode(w);
                r.encode(w);
            }
            Expr::Cond(c, a, b) => {
                w.u8(tag::COND);
                c.encode(w);
                a.encode(w);
                b.encode(w);
            }
            Expr::Call(f, args) => {
                w.u8(tag::CALL);
                w.u8(f.id());
                for a in args {
                    a.encode(w);
                }
            }
        }
    }
}

/// Decoding state: nodes left in the budget and the current depth.
struct TreeReader {
    nodes_left: u32,
}

impl TreeReader {
    fn boxed(&mut self, r: &mut Reader<'_>, depth: u32) -> Result<Box<Expr>, DecodeError> {
        self.expr(r, depth).map(Box::new)
    }

    fn name(r: &mut Reader<'_>, what: &'static str) -> Result<String, DecodeError> {
        let name = r.str(what, MAX_KEY_BYTES)?;
        check_name(&name, what)?;
        Ok(name)
    }

    fn expr(&mut self, r: &mut Reader<'_>, depth: u32) -> Result<Expr, DecodeError> {
        if depth > MAX_EXPR_DEPTH {
            return Err(DecodeError::TooDeep {
                max: MAX_EXPR_DEPTH,
            });
        }
        self.nodes_left = self.nodes_left.checked_sub(1).ok_or(DecodeError::TooLong {
            what: "rule expression nodes",
            len: u64::from(MAX_EXPR_NODES) + 1,
            max: u64::from(MAX_EXPR_NODES),
        })?;
        r.nested(|r| {
            let d = depth + 1;
            Ok(match r.u8("expression tag")? {
                tag::BOOL => Expr::Bool(r.bool("bool literal")?),
                tag::INT => Expr::Int(r.i64("int literal")?),
                tag::DECIMAL => Expr::Decimal(decode_decimal(r)?),
                tag::TEXT => Expr::Text(r.str("text literal", MAX_SOURCE_BYTES)?),
                tag::LIST => {
                    // Each item takes at least two bytes (tag and payload).
                    let n = r.len("list literal", MAX_EXPR_NODES, 2)?;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.expr(r, d)?);
                    }
                    Expr::List(items)
                }
                tag::FIELD => Expr::Field {
                    name: Self::name(r, "field name")?,
                    ty: Type::decode(r)?,
                },
                tag::HAS => Expr::Has(Self::name(r, "field name")?),
                tag::NOT => Expr::Not(self.boxed(r, d)?),
                tag::NEG => Expr::Neg(self.boxed(r, d)?),
                tag::BINARY => {
                    let id = r.u8("operator")?;
                    let op = BinOp::from_id(id).ok_or(DecodeError::InvalidTag {
                        what: "operator",
                        tag: id,
                    })?;
                    Expr::Binary(op, self.boxed(r, d)?, self.boxed(r, d)?)
                }
                tag::COND => Expr::Cond(self.boxed(r, d)?, self.boxed(r, d)?, self.boxed(r, d)?),
                tag::CALL => {
                    let id = r.u8("function")?;
                    let f = Func::from_id(id).ok_or(DecodeError::InvalidTag {
                        what: "function",
                        tag: id,
                    })?;
                    let mut args = Vec::with_capacity(f.arity());
                    for _ in 0..f.arity() {
                        args.push(self.expr(r, d)?);
                    }
                    Expr::Call(f, args)
                }
                tag => {
                    return Err(DecodeError::InvalidTag {
                        what: "expression",
                        tag,
                    });
                }
            })
        })
    }
}

impl Decode for Expr {
    /// Reads a tree of at most [`MAX_EXPR_NODES`] nodes and [`MAX_EXPR_DEPTH`] levels, with valid
    /// names and types. Types and cost are checked by [`Rule`](super::Rule)'s decoder.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        TreeReader {
            nodes_left: MAX_EXPR_NODES,
        }
        .expr(r, 1)
    }
}
