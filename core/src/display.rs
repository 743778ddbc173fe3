//! Comparing what a page *displays* with a verified field — the last step of "what you see is
//! the fact".
//!
//! Normalisation is explicit and never rounds:
//! - surrounding white space is ignored, and runs of white space inside text count as one space;
//! - for numbers (int and decimal fields):
//!   - one currency sign or code may stand before or after the number: `¥ $ € £ ₩ ₹ ￥ 元`,
//!     `CNY RMB USD EUR GBP JPY`;
//!   - a minus sign is `-` or `−` (U+2212), before the number or after a leading currency sign;
//!   - thousands separators are `,` `_` `'` or a (thin, no-break) space, and only between groups
//!     of exactly three digits in the integer part — `1,204,000.00` reads, `12,04,000` does not;
//!   - the decimal mark is `.`;
//!   - the shown number must equal the chain's value *exactly*: `1204000` matches `1204000.00`,
//!     but `1,204,000` does not match `1204000.40` (that would be rounding);
//! - booleans read `true`/`false`, `yes`/`no` (any case);
//! - text must be equal after white-space normalisation (case matters).
//!
//! Anything else (`1.2M`, `about 3,000`) is *unreadable*: the widget says it cannot check it,
//! rather than calling it verified or a mismatch.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::value::{Value, parse_decimal};

/// How a displayed text compares with a field on the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum DisplayCheck {
    /// The page shows the chain's value.
    Match {
        /// The value on the chain, as text.
        on_chain: String,
    },
    /// The page shows something else.
    Mismatch {
        /// What the page shows (normalised).
        shown: String,
        /// The value on the chain.
        on_chain: String,
    },
    /// The displayed text could not be read as this field's type.
    Unreadable {
        /// Why.
        why: String,
        /// The value on the chain.
        on_chain: String,
    },
}

impl DisplayCheck {
    /// Whether the page shows the chain's value.
    pub fn is_match(&self) -> bool {
        matches!(self, DisplayCheck::Match { .. })
    }
}

const CURRENCY: &[&str] = &[
    "CNY", "RMB", "USD", "EUR", "GBP", "JPY", "¥", "￥", "$", "€", "£", "₩", "₹", "元",
];

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{202f}' || c == '\u{a0}'
}

fn normalise_text(s: &str) -> String {
    s.split(is_space)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn strip_currency(s: &str) -> &str {
    let s = s.trim_matches(is_space);
    for c in CURRENCY {
        if let Some(rest) = s.strip_prefix(c) {
            return rest.trim_start_matches(is_space);
        }
        if let Some(rest) = s.strip_suffix(c) {
            return rest.trim_end_matches(is_space);
        }
    }
    s
}

/// Reads a displayed number into an exact decimal, or says why it cannot.
pub fn read_number(shown: &str) -> Result<Decimal, String> {
    let mut s = shown.trim_matches(is_space);
    let mut negative = false;
    for minus in ["-", "\u{2212}"] {
        if let Some(rest) = s.strip_prefix(minus) {
            negative = true;
            s = rest;
            break;
        }
    }
    s = strip_currency(s);
    if !negative {
        for minus in ["-", "\u{2212}"] {
            if let Some(rest) = s.strip_prefix(minus) {
                negative = true;
                s = rest;
                break;
            }
        }
    }
    let (int_part, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if let Some(f) = frac
        && (f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("digits after the decimal point are not plain digits".to_string());
    }
    let groups: Vec<&str> = int_part
        .split(|c: char| matches!(c, ',' | '_' | '\'') || is_space(c))
        .collect();
    if groups
        .iter()
        .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(alloc::format!(
            "{shown:?} is not a number this widget reads"
        ));
    }
    if groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return Err("thousands separators must split the number into groups of three".to_string());
    }
    let mut digits: String = groups.concat();
    if let Some(f) = frac {
        digits.push('.');
        digits.push_str(f);
    }
    if negative {
        digits.insert(0, '-');
    }
    parse_decimal(&digits).map_err(|e| e.to_string())
}

/// Compares the displayed text with the chain's value.
pub fn compare(shown: &str, on_chain: &Value) -> DisplayCheck {
    let chain_text = match on_chain {
        Value::Text(t) => t.clone(),
        other => other.to_string(),
    };
    let unreadable = |why: String| DisplayCheck::Unreadable {
        why,
        on_chain: chain_text.clone(),
    };
    let verdict = |equal: bool, shown: String| {
        if equal {
            DisplayCheck::Match {
                on_chain: chain_text.clone(),
            }
        } else {
            DisplayCheck::Mismatch {
                shown,
                on_chain: chain_text.clone(),
            }
        }
    };
    match on_chain {
        Value::Decimal(d) => match read_number(shown) {
            Ok(n) => verdict(n == *d, n.to_string()),
            Err(why) => unreadable(why),
        },
        Value::Int(i) => match read_number(shown) {
            Ok(n) => verdict(n == Decimal::from(*i), n.to_string()),
            Err(why) => unreadable(why),
        },
        Value::Bool(b) => match normalise_text(shown).to_ascii_lowercase().as_str() {
            "true" | "yes" => verdict(*b, "true".to_string()),
            "false" | "no" => verdict(!*b, "false".to_string()),
            _ => unreadable("a yes/no field shows neither true/false nor yes/no".to_string()),
        },
        Value::Text(t) => {
            let s = normalise_text(shown);
            verdict(s == normalise_text(t), s)
        }
        _ => unreadable(alloc::format!(
            "{} fields cannot be compared with displayed text",
            on_chain.type_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Value {
        Value::Decimal(parse_decimal(s).unwrap())
    }

    #[test]
    fn numbers_match_exactly_after_normalisation() {
        for shown in [
            "¥ 1,204,000.00",
            "1204000",
            "1 204 000.0",
            "CNY 1,204,000",
            "1'204'000.00 元",
            "\u{a0}1\u{202f}204\u{202f}000.00 ",
        ] {
            assert!(compare(shown, &dec("1204000.00")).is_match(), "{shown}");
        }
        assert!(compare("-¥12.50", &dec("-12.5")).is_match());
        assert!(compare("¥ −12.50", &dec("-12.50")).is_match());
        assert!(compare("42", &Value::Int(42)).is_match());
    }

    #[test]
    fn never_rounds() {
        assert!(matches!(
            compare("¥ 1,204,000", &dec("1204000.40")),
            DisplayCheck::Mismatch { .. }
        ));
        assert!(matches!(
            compare("12.5", &Value::Int(12)),
            DisplayCheck::Mismatch { .. }
        ));
        let c = compare("¥ 1,204,001.00", &dec("1204000.00"));
        assert_eq!(
            c,
            DisplayCheck::Mismatch {
                shown: "1204001.00".into(),
                on_chain: "1204000.00".into()
            }
        );
    }

    #[test]
    fn unreadable_is_neither_match_nor_mismatch() {
        for shown in [
            "1.2M",
            "about 3",
            "12,04,000",
            "1,2345",
            "1.",
            "",
            "1..2",
            "-\u{2212}5",
            "--5",
        ] {
            assert!(
                matches!(
                    compare(shown, &dec("1204000")),
                    DisplayCheck::Unreadable { .. }
                ),
                "{shown}"
            );
        }
    }

    #[test]
    fn text_and_bool() {
        assert!(compare("  Li   Na ", &Value::Text("Li Na".into())).is_match());
        assert!(!compare("li na", &Value::Text("Li Na".into())).is_match());
        assert!(compare("Yes", &Value::Bool(true)).is_match());
        assert!(!compare("no", &Value::Bool(true)).is_match());
    }
}
