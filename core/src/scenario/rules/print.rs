//! Prints a checked rule tree as rule-language source, so what a reader is shown is what verifiers
//! evaluate. A rule's stored `source` is the author's text, carried for people; nothing checks that
//! it compiles to the stored tree except the relay that took the charter. A viewer that shows
//! [`print`]`(&rule.expr)` instead shows the tree itself.
//!
//! The output is canonical: operators spaced, lists and arguments separated by `", "`, text in
//! double quotes with escapes for `"`, `\` and control characters, and parentheses exactly where
//! the grammar's precedence needs them (`docs/rules.md`). For a tree the compiler made, compiling
//! the printed text gives the same tree back (tested in `rules::tests`).

use alloc::string::String;
use core::fmt::Write as _;

use super::expr::{BinOp, Expr, Func};

/// Binding strength: higher binds tighter. `?:` 1, `||` 2, `&&` 3, relations 4, `+ -` 5,
/// `* / %` 6, unary 7, member calls and primaries 8.
fn level(e: &Expr) -> u8 {
    match e {
        Expr::Cond(..) => 1,
        Expr::Binary(op, ..) => op_level(*op),
        Expr::Not(_) | Expr::Neg(_) => 7,
        // A negative literal is printed with its sign: it is a unary expression.
        Expr::Int(i) if *i < 0 => 7,
        Expr::Decimal(d) if d.is_sign_negative() => 7,
        _ => 8,
    }
}

fn op_level(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 2,
        BinOp::And => 3,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::In => 4,
        BinOp::Add | BinOp::Sub => 5,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 6,
    }
}

/// The rule-language source of `e`.
pub fn print(e: &Expr) -> String {
    let mut out = String::new();
    write(&mut out, e);
    out
}

/// Writes `e`, in parentheses when it binds less tightly than `min`.
fn child(out: &mut String, e: &Expr, min: u8) {
    if level(e) < min {
        out.push('(');
        write(out, e);
        out.push(')');
    } else {
        write(out, e);
    }
}

fn write(out: &mut String, e: &Expr) {
    match e {
        Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Expr::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Expr::Decimal(d) => {
            let text = alloc::format!("{d}");
            if text.contains('.') {
                out.push_str(&text);
            } else {
                // A decimal of scale 0 has no literal of its own (`5` is an int): the same value
                // as the conversion the language has for it.
                let _ = write!(out, "decimal({text})");
            }
        }
        Expr::Text(s) => text(out, s),
        Expr::List(items) => {
            out.push('[');
            list(out, items);
            out.push(']');
        }
        Expr::Field { name, .. } => out.push_str(name),
        Expr::Has(name) => {
            let _ = write!(out, "has({name})");
        }
        Expr::Not(x) => {
            out.push('!');
            child(out, x, 7);
        }
        Expr::Neg(x) => {
            out.push('-');
            // `--x` would not lex as two signs before a literal: parenthesise a signed operand.
            // `-(5)` is a negation of the literal 5, `-5` the literal -5: keep them apart.
            if matches!(**x, Expr::Neg(_) | Expr::Int(_) | Expr::Decimal(_)) || level(x) == 7 {
                out.push('(');
                write(out, x);
                out.push(')');
            } else {
                child(out, x, 7);
            }
        }
        Expr::Binary(op, l, r) => {
            let p = op_level(*op);
            // Left-associative: the left operand may sit at the same level, the right may not.
            child(out, l, p);
            let _ = write!(out, " {} ", op.symbol());
            child(out, r, p + 1);
        }
        Expr::Cond(c, a, b) => {
            // `Or ? Or : Expr`
            child(out, c, 2);
            out.push_str(" ? ");
            child(out, a, 2);
            out.push_str(" : ");
            write(out, b);
        }
        Expr::Call(f, args) => match f {
            Func::StartsWith | Func::EndsWith | Func::Contains => {
                if let Some((recv, rest)) = args.split_first() {
                    child(out, recv, 8);
                    let _ = write!(out, ".{}(", f.name());
                    list(out, rest);
                    out.push(')');
                }
            }
            _ => {
                let _ = write!(out, "{}(", f.name());
                list(out, args);
                out.push(')');
            }
        },
    }
}

fn list(out: &mut String, items: &[Expr]) {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write(out, x);
    }
}

fn text(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Control and invisible formatting characters (bidi controls among them) are shown
            // as escapes: a reader sees every code point the rule compares with.
            c if c.is_control() || is_format(c) => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Invisible formatting characters: bidi controls, zero-width characters, the BOM.
fn is_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}' | '\u{00AD}')
}
