//! The compiler (feature `compiler`): source text → checked [`Rule`].
//!
//! Lexer → recursive-descent parser (CEL precedence) → lowering (names resolved against the
//! schema) → the shared checker ([`check`]). Every stage is bounded: source length, token count,
//! parser nesting, and the tree limits of the checker.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use rust_decimal::Decimal;

use crate::encoding::value::{check_name, parse_decimal};
use crate::scenario::schema::FieldSchema;

use super::check::check;
use super::expr::{BinOp, Expr, Func, Type};
use super::{MAX_EXPR_DEPTH, MAX_MESSAGE_BYTES, MAX_RULE_COST, MAX_SOURCE_BYTES, Rule};

/// Most tokens in a rule's source.
pub const MAX_TOKENS: usize = 1024;
/// Deepest nesting of parentheses, lists, calls and unary operators in source.
pub const MAX_NESTING: u32 = 32;

/// Why a rule does not compile, with where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct CompileError {
    /// Byte offset in the source.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong, in words a charter author can act on.
    pub message: String,
}

impl CompileError {
    fn at(source: &str, offset: usize, message: String) -> Self {
        let offset = offset.min(source.len());
        let before = source.get(..offset).unwrap_or(source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        CompileError {
            offset,
            line,
            column,
            message,
        }
    }
}

/// An error before positions are resolved.
type PErr = (usize, String);
type PRes<T> = Result<T, PErr>;

/// Compiles a rule for a record kind whose fields are `fields`.
pub fn compile(
    name: &str,
    source: &str,
    message: &str,
    fields: &[FieldSchema],
) -> Result<Rule, CompileError> {
    let at = |(offset, message): PErr| CompileError::at(source, offset, message);
    if check_name(name, "rule name").is_err() {
        return Err(at((
            0,
            format!(
                "invalid rule name {name:?}: names are 1-64 bytes of a-z, 0-9 and '_', starting with a-z"
            ),
        )));
    }
    if source.len() > MAX_SOURCE_BYTES as usize {
        return Err(at((
            MAX_SOURCE_BYTES as usize,
            format!("rule source longer than {MAX_SOURCE_BYTES} bytes"),
        )));
    }
    if message.len() > MAX_MESSAGE_BYTES as usize {
        return Err(at((
            0,
            format!("rule message longer than {MAX_MESSAGE_BYTES} bytes"),
        )));
    }
    let tokens = lex(source).map_err(at)?;
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        depth: 0,
        end: source.len(),
    };
    let ast = p.expr().map_err(at)?;
    if let Some(t) = p.peek() {
        return Err(at((
            t.at,
            format!("unexpected {} after the expression", t.tok.describe()),
        )));
    }
    let schema: BTreeMap<&str, &FieldSchema> =
        fields.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut spans = Vec::new();
    let expr = Lower {
        schema: &schema,
        spans: &mut spans,
    }
    .lower(&ast, 1)
    .map_err(at)?;
    let checked =
        check(&expr).map_err(|e| at((spans.get(e.node).copied().unwrap_or(0), e.message)))?;
    if checked.ty != Type::Bool {
        return Err(at((
            spans.first().copied().unwrap_or(0),
            format!(
                "a rule must be a condition (bool), but this expression is {}",
                checked.ty
            ),
        )));
    }
    if checked.cost > u64::from(MAX_RULE_COST) {
        return Err(at((
            0,
            format!(
                "rule cost {} exceeds the limit {MAX_RULE_COST} (text operations cost a step per \
                 64 bytes of the field's max_len, and `in` over a list field a step per item: \
                 lower max_len or max_items, or split the rule)",
                checked.cost
            ),
        )));
    }
    Ok(Rule {
        name: name.to_string(),
        source: source.to_string(),
        message: message.to_string(),
        expr,
        cost: u32::try_from(checked.cost).unwrap_or(u32::MAX),
    })
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// An unsigned int literal (the sign is a separate token).
    Int(u64),
    /// An unsigned decimal literal.
    Dec(Decimal),
    Str(String),
    Ident(String),
    Sym(&'static str),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Int(i) => format!("number {i}"),
            Tok::Dec(d) => format!("number {d}"),
            Tok::Str(_) => "text literal".into(),
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Sym(s) => format!("`{s}`"),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    at: usize,
}

const SYMBOLS: [&str; 23] = [
    "==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", ",", ".", "?", ":", "!", "<", ">", "+",
    "-", "*", "/", "%", "=",
];

fn lex(src: &str) -> PRes<Vec<Token>> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if src[i..].starts_with("//") {
            i = src[i..].find('\n').map_or(b.len(), |n| i + n);
            continue;
        }
        if out.len() >= MAX_TOKENS {
            return Err((
                i,
                format!("rule is too long (more than {MAX_TOKENS} tokens)"),
            ));
        }
        let start = i;
        let tok = if c.is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let is_dec = i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit();
            if is_dec {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                let why = match b[i] {
                    b'e' | b'E' => "exponents are not supported; write the number out in full",
                    b'u' | b'U' => "unsigned literals are not supported",
                    b'x' | b'X' => "hexadecimal literals are not supported",
                    _ => "a number cannot be followed by a letter",
                };
                return Err((i, why.into()));
            }
            let text = &src[start..i];
            if is_dec {
                Tok::Dec(parse_decimal(text).map_err(|why| (start, format!("{why}: {text}")))?)
            } else {
                Tok::Int(
                    text.parse()
                        .map_err(|_| (start, format!("integer {text} does not fit in 64 bits")))?,
                )
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            Tok::Ident(src[start..i].to_string())
        } else if c == b'"' || c == b'\'' {
            let (s, next) = lex_string(src, i)?;
            i = next;
            Tok::Str(s)
        } else if let Some(sym) = SYMBOLS.iter().find(|s| src[i..].starts_with(**s)) {
            i += sym.len();
            match *sym {
                "=" => return Err((start, "`=` is not an operator; compare with `==`".into())),
                _ => Tok::Sym(sym),
            }
        } else {
            let ch = src[i..].chars().next().unwrap_or('?');
            let hint = match ch {
                '&' => "; write `&&`",
                '|' => "; write `||`",
                '{' | '}' => "; map literals are not supported",
                _ => "",
            };
            return Err((i, format!("unexpected character {ch:?}{hint}")));
        };
        out.push(Token { tok, at: start });
    }
    Ok(out)
}

/// Lexes a quoted text literal starting at `start`; returns it and the offset after it.
fn lex_string(src: &str, start: usize) -> PRes<(String, usize)> {
    let quote = src.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    let off = |i: usize| start + 1 + i;
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((out, off(i) + 1)),
            '\n' | '\r' => return Err((off(i), "text literal is not closed on this line".into())),
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                let simple = match e {
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'v' => Some('\u{b}'),
                    '\\' | '"' | '\'' | '`' | '?' => Some(e),
                    _ => None,
                };
                if let Some(s) = simple {
                    out.push(s);
                    continue;
                }
                let digits = match e {
                    'x' => 2,
                    'u' => 4,
                    'U' => 8,
                    _ => {
                        return Err((
                            off(i),
                            format!(
                                "unknown escape `\\{e}` (use \\n, \\t, \\\\, \\\", \\', \\xHH, \\uHHHH or \\UHHHHHHHH)"
                            ),
                        ));
                    }
                };
                let mut code = 0u32;
                for _ in 0..digits {
                    let d = chars.next().and_then(|(_, h)| h.to_digit(16));
                    let Some(d) = d else {
                        return Err((off(i), format!("`\\{e}` needs {digits} hex digits")));
                    };
                    code = code * 16 + d;
                }
                let Some(ch) = char::from_u32(code) else {
                    return Err((
                        off(i),
                        format!("\\{e}{code:X} is not a Unicode scalar value"),
                    ));
                };
                out.push(ch);
            }
            c => out.push(c),
        }
    }
    Err((start, "text literal is not closed".into()))
}

// ---------------------------------------------------------------------------------------------
// Parser

#[derive(Debug)]
struct Node {
    at: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Int(i64),
    Dec(Decimal),
    Text(String),
    Bool(bool),
    List(Vec<Node>),
    Ident(String),
    Call {
        name: String,
        receiver: Option<Box<Node>>,
        args: Vec<Node>,
    },
    Not(Box<Node>),
    Neg(Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    depth: u32,
    end: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Sym(x), .. }) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> Option<usize> {
        if self.peek_sym(s) {
            self.pos += 1;
            Some(self.tokens[self.pos - 1].at)
        } else {
            None
        }
    }

    fn here(&self) -> usize {
        self.peek().map_or(self.end, |t| t.at)
    }

    fn expect_sym(&mut self, s: &str, context: &str) -> PRes<usize> {
        self.eat_sym(s).ok_or_else(|| {
            let found = self
                .peek()
                .map_or("the end of the rule".into(), |t| t.tok.describe());
            (
                self.here(),
                format!("expected `{s}` {context}, found {found}"),
            )
        })
    }

    fn enter(&mut self) -> PRes<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err((
                self.here(),
                format!("nested more than {MAX_NESTING} levels deep"),
            ));
        }
        Ok(())
    }

    /// `Expr = Or ["?" Or ":" Expr]`
    fn expr(&mut self) -> PRes<Node> {
        self.enter()?;
        let cond = self.binary_level(0)?;
        let out = if let Some(at) = self.eat_sym("?") {
            let a = self.binary_level(0)?;
            self.expect_sym(":", "in `cond ? a : b`")?;
            let b = self.expr()?;
            Node {
                at,
                kind: Kind::Cond(Box::new(cond), Box::new(a), Box::new(b)),
            }
        } else {
            cond
        };
        self.depth -= 1;
        Ok(out)
    }

    /// Binary operators by precedence level: `||`, `&&`, relations, `+ -`, `* / %`.
    fn binary_level(&mut self, level: usize) -> PRes<Node> {
        const LEVELS: [&[(&str, BinOp)]; 5] = [
            &[("||", BinOp::Or)],
            &[("&&", BinOp::And)],
            &[
                ("==", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
                ("in", BinOp::In),
            ],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
        ];
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut lhs = self.binary_level(level + 1)?;
        loop {
            let found = self.peek().and_then(|t| {
                ops.iter().find_map(|(s, op)| match &t.tok {
                    Tok::Sym(x) if x == s => Some((*op, t.at)),
                    Tok::Ident(x) if x == s => Some((*op, t.at)),
                    _ => None,
                })
            });
            let Some((op, at)) = found else { break };
            self.pos += 1;
            let rhs = self.binary_level(level + 1)?;
            lhs = Node {
                at,
                kind: Kind::Binary(op, Box::new(lhs), Box::new(rhs)),
            };
        }
        Ok(lhs)
    }

    /// `Unary = "!" Unary | "-" Unary | Member` (a `-` directly before a number is its sign).
    fn unary(&mut self) -> PRes<Node> {
        if let Some(at) = self.eat_sym("!") {
            self.enter()?;
            let x = self.unary()?;
            self.depth -= 1;
            return Ok(Node {
                at,
                kind: Kind::Not(Box::new(x)),
            });
        }
        if let Some(at) = self.eat_sym("-") {
            let literal = match self.peek().map(|t| &t.tok) {
                Some(Tok::Int(i)) => Some(
                    0i64.checked_sub_unsigned(*i)
                        .map(Kind::Int)
                        .ok_or((at, format!("integer -{i} does not fit in 64 bits"))),
                ),
                Some(Tok::Dec(d)) => Some(Ok(Kind::Dec(-*d))),
                _ => None,
            };
            if let Some(kind) = literal {
                self.pos += 1;
                return self.member(Node { at, kind: kind? });
            }
            self.enter()?;
            let x = self.unary()?;
            self.depth -= 1;
            return Ok(Node {
                at,
                kind: Kind::Neg(Box::new(x)),
            });
        }
        let p = self.primary()?;
        self.member(p)
    }

    /// `Member = Primary {"." IDENT "(" args ")"}`
    fn member(&mut self, mut node: Node) -> PRes<Node> {
        loop {
            if let Some(dot) = self.eat_sym(".") {
                let Some(Token {
                    tok: Tok::Ident(name),
                    at,
                }) = self.peek().cloned()
                else {
                    return Err((self.here(), "expected a method name after `.`".into()));
                };
                self.pos += 1;
                if !self.peek_sym("(") {
                    return Err((
                        dot,
                        format!(
                            "field selection `.{name}` is not supported: records are flat, refer to fields by name"
                        ),
                    ));
                }
                let args = self.args()?;
                node = Node {
                    at,
                    kind: Kind::Call {
                        name,
                        receiver: Some(Box::new(node)),
                        args,
                    },
                };
            } else if self.peek_sym("[") {
                return Err((self.here(), "indexing with `[...]` is not supported".into()));
            } else {
                return Ok(node);
            }
        }
    }

    /// `"(" [Expr {"," Expr}] ")"`
    fn args(&mut self) -> PRes<Vec<Node>> {
        self.expect_sym("(", "")?;
        self.list_tail(")", "in the argument list")
    }

    fn list_tail(&mut self, close: &str, context: &str) -> PRes<Vec<Node>> {
        let mut items = Vec::new();
        if self.eat_sym(close).is_some() {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.eat_sym(close).is_some() {
                return Ok(items);
            }
            self.expect_sym(",", context)?;
            // A trailing comma is allowed.
            if self.eat_sym(close).is_some() {
                return Ok(items);
            }
        }
    }

    fn primary(&mut self) -> PRes<Node> {
        let Some(t) = self.peek().cloned() else {
            return Err((self.end, "the rule ends where a value was expected".into()));
        };
        let at = t.at;
        self.pos += 1;
        let kind = match t.tok {
            Tok::Int(i) => Kind::Int(
                i64::try_from(i)
                    .map_err(|_| (at, format!("integer {i} does not fit in 64 bits")))?,
            ),
            Tok::Dec(d) => Kind::Dec(d),
            Tok::Str(s) => Kind::Text(s),
            Tok::Ident(name) => match name.as_str() {
                "true" => Kind::Bool(true),
                "false" => Kind::Bool(false),
                "null" => {
                    return Err((
                        at,
                        "`null` is not supported; test optional fields with has(field)".into(),
                    ));
                }
                "in" => return Err((at, "`in` needs a value on its left".into())),
                _ if self.peek_sym("(") => {
                    let args = self.args()?;
                    Kind::Call {
                        name,
                        receiver: None,
                        args,
                    }
                }
                _ => Kind::Ident(name),
            },
            Tok::Sym("(") => {
                let inner = self.expr()?;
                self.expect_sym(")", "to close `(`")?;
                return Ok(inner);
            }
            Tok::Sym("[") => {
                self.enter()?;
                let items = self.list_tail("]", "in the list")?;
                self.depth -= 1;
                Kind::List(items)
            }
            Tok::Sym(s) => return Err((at, format!("expected a value, found `{s}`"))),
        };
        Ok(Node { at, kind })
    }
}

// ---------------------------------------------------------------------------------------------
// Lowering: resolve names against the schema; record each node's offset in pre-order.

struct Lower<'s, 'o> {
    schema: &'s BTreeMap<&'s str, &'s FieldSchema>,
    spans: &'o mut Vec<usize>,
}

/// Levenshtein distance (names are at most a few dozen bytes).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = alloc::vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let best = candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min();
    best.map_or_else(String::new, |(_, c)| format!(" (did you mean `{c}`?)"))
}

const GLOBALS: [(&str, Func); 5] = [
    ("size", Func::Size),
    ("scale", Func::Scale),
    ("int", Func::Int),
    ("decimal", Func::Decimal),
    ("record_exists", Func::RecordExists),
];
const METHODS: [(&str, Func); 4] = [
    ("size", Func::Size),
    ("startsWith", Func::StartsWith),
    ("endsWith", Func::EndsWith),
    ("contains", Func::Contains),
];

impl Lower<'_, '_> {
    fn field(&self, name: &str, at: usize) -> PRes<&FieldSchema> {
        self.schema.get(name).copied().ok_or_else(|| {
            let hint = suggest(name, self.schema.keys().copied());
            (at, format!("unknown field `{name}`{hint}"))
        })
    }

    fn lower(&mut self, n: &Node, depth: u32) -> PRes<Expr> {
        if depth > MAX_EXPR_DEPTH {
            return Err((
                n.at,
                format!(
                    "expression nested deeper than {MAX_EXPR_DEPTH} levels (split it into several rules)"
                ),
            ));
        }
        self.spans.push(n.at);
        let d = depth + 1;
        Ok(match &n.kind {
            Kind::Int(i) => Expr::Int(*i),
            Kind::Dec(x) => Expr::Decimal(*x),
            Kind::Text(s) => Expr::Text(s.clone()),
            Kind::Bool(b) => Expr::Bool(*b),
            Kind::List(items) => Expr::List(self.all(items, d)?),
            Kind::Ident(name) => {
                let f = self.field(name, n.at)?;
                Expr::Field {
                    name: name.clone(),
                    ty: Type::of_field(&f.ty),
                }
            }
            Kind::Not(x) => Expr::Not(Box::new(self.lower(x, d)?)),
            Kind::Neg(x) => Expr::Neg(Box::new(self.lower(x, d)?)),
            Kind::Binary(op, l, r) => Expr::Binary(
                *op,
                Box::new(self.lower(l, d)?),
                Box::new(self.lower(r, d)?),
            ),
            Kind::Cond(c, a, b) => Expr::Cond(
                Box::new(self.lower(c, d)?),
                Box::new(self.lower(a, d)?),
                Box::new(self.lower(b, d)?),
            ),
            Kind::Call {
                name,
                receiver: None,
                args,
            } if name == "has" => match args.as_slice() {
                [
                    Node {
                        kind: Kind::Ident(f),
                        at,
                    },
                ] => {
                    self.field(f, *at)?;
                    Expr::Has(f.clone())
                }
                _ => return Err((n.at, "has() takes one field name, e.g. has(note)".into())),
            },
            Kind::Call {
                name,
                receiver: None,
                args,
            } => {
                let Some((_, f)) = GLOBALS.iter().find(|(s, _)| s == name) else {
                    if METHODS.iter().any(|(s, _)| s == name) {
                        return Err((n.at, format!("`{name}` is a method: write x.{name}(y)")));
                    }
                    let names = GLOBALS.iter().map(|(s, _)| *s).chain(["has"]);
                    let hint = suggest(name, names);
                    return Err((n.at, format!("unknown function `{name}`{hint}")));
                };
                self.arity(*f, args.len(), n.at)?;
                Expr::Call(*f, self.all(args, d)?)
            }
            Kind::Call {
                name,
                receiver: Some(recv),
                args,
            } => {
                let Some((_, f)) = METHODS.iter().find(|(s, _)| s == name) else {
                    if GLOBALS.iter().any(|(s, _)| s == name) || name == "has" {
                        return Err((
                            n.at,
                            format!("`{name}` is a function, not a method: write {name}(x)"),
                        ));
                    }
                    let hint = suggest(name, METHODS.iter().map(|(s, _)| *s));
                    return Err((n.at, format!("unknown method `{name}`{hint}")));
                };
                self.arity(*f, args.len() + 1, n.at)?;
                let mut all = alloc::vec![self.lower(recv, d)?];
                all.extend(self.all(args, d)?);
                Expr::Call(*f, all)
            }
        })
    }

    fn arity(&self, f: Func, given: usize, at: usize) -> PRes<()> {
        if given == f.arity() {
            return Ok(());
        }
        let method = matches!(f, Func::StartsWith | Func::EndsWith | Func::Contains);
        let (want, got) = if method {
            (f.arity() - 1, given - 1)
        } else {
            (f.arity(), given)
        };
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        Err((
            at,
            format!(
                "`{}` takes {want} argument{}, found {got}",
                f.name(),
                plural(want)
            ),
        ))
    }

    fn all(&mut self, nodes: &[Node], d: u32) -> PRes<Vec<Expr>> {
        nodes.iter().map(|x| self.lower(x, d)).collect()
    }
}
