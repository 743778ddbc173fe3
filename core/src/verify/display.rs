//! Comparing what a page *displays* with a verified field — the last step of "what you see is
//! the fact".
//!
//! The question is not "can these characters be parsed into the chain's value?" but "does a
//! person reading them read the chain's value?". So the reading is strict, and anything a person
//! might read differently is *unreadable* (the widget says it cannot check it: never verified,
//! never a mismatch). Normalisation never rounds. The rules (see also `wasm-pkg/README.md`):
//!
//! - **Invisible characters.** Text that holds bidi controls (U+202A–202E, U+2066–2069,
//!   U+200E/200F, U+061C), other invisible format characters (zero-width spaces and joiners,
//!   U+2060–206F, U+FEFF, soft hyphen, variation selectors, tag characters, …) or control
//!   characters other than line feed and tab is unreadable, whatever the field's type.
//! - **Space** is only U+0020, NBSP U+00A0, thin space U+2009 and narrow NBSP U+202F. Other
//!   `char::is_whitespace` characters (U+1680, U+2000–2008, U+3000, …) are not trimmed and not
//!   read as separators. Surrounding space is ignored; in text, runs of space count as one.
//! - **Numbers** (int and decimal fields) are read under the page's **locale**, which the page
//!   states (`lang`/`locale` on the element or an ancestor, or the document's `lang`) and which
//!   is never guessed: [`Locale::from_tag`] fixes the decimal mark and the grouping separator.
//!   - Without a (supported) locale, only plain digits read (`1204000`, `-12`).
//!   - The decimal mark is the locale's (`.` in en/zh/ja, `,` in de/fr/ru…), at most once, with
//!     at least one digit after it.
//!   - Grouping: at most **one** separator character per number, used for every group, and only
//!     at group positions (1–3 digits not starting with 0, then groups of exactly 3): the
//!     locale's own (`,` in en, `.` in de, `’` or `'` in de-CH) or a space (any of the four
//!     above). `1,204,000.00` reads in en; `1 204,000` does not (two separators), `12,04,000`
//!     does not (positions), `0,001` does not (a leading 0).
//!   - A minus sign is `-` or `−` (U+2212), before the number or after a leading currency.
//!   - **Currency**: at most one sign or ISO 4217 code, before or after the number
//!     ([`currency_codes`] says which codes each sign read may stand for). When the
//!     charter ties the decimal field to a currency
//!     ([`crate::scenario::schema::CurrencyTie`]), a shown currency must be that one, or the reading is a mismatch; when it does not, a shown
//!     currency makes the value unreadable unless the element says which currency it shows
//!     (`currency="CNY"`, compared with the sign; the badge then says the currency is the page's
//!     claim, not the chain's).
//!   - The shown number must equal the chain's value *exactly*: `1204000` matches `1204000.00`,
//!     but `1,204,000` does not match `1204000.40` (that would be rounding).
//! - Booleans read `true`/`false`, `yes`/`no` (any case).
//! - Text must be equal after space normalisation (case matters); a word that mixes Latin letters
//!   with look-alike letters of another script (`Αpple` with a Greek Alpha) is unreadable.
//!
//! Anything else (`1.2M`, `about 3,000`, `１２３`, `–12` with an en dash) is unreadable.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::encoding::value::{Fields, Value, parse_decimal};
use crate::scenario::charter::RecordKind;
use crate::scenario::schema::{CurrencyTie, FieldType, is_currency_code};

/// How a displayed text compares with a field on the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum DisplayCheck {
    /// The page shows the chain's value.
    Match {
        /// The value on the chain, as text.
        on_chain: String,
        /// The currency the figure is in (ISO 4217), when one is known.
        #[serde(skip_serializing_if = "Option::is_none")]
        currency: Option<String>,
        /// Whether that currency comes from the chain (the charter's tie) rather than from the
        /// page's own `currency` attribute, which nothing checks.
        #[serde(skip_serializing_if = "core::ops::Not::not")]
        currency_on_chain: bool,
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
    /// Whether the text could not be read.
    pub fn is_unreadable(&self) -> bool {
        matches!(self, DisplayCheck::Unreadable { .. })
    }
}

/// What the page says about how to read a figure, besides its text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reading<'a> {
    /// The locale (a BCP 47 language tag, e.g. `en`, `de-CH`, `zh-CN`) the page declares for the
    /// figure: its element's `lang`/`locale`, the closest ancestor's `lang`, or the document's.
    /// `None`: not declared (then only plain digits read).
    pub locale: Option<&'a str>,
    /// The record's currency (ISO 4217) when the charter ties this field to one — from
    /// [`field_currency`], never from the page.
    pub chain_currency: Option<&'a str>,
    /// The currency the element says it shows (its `currency` attribute), if any.
    pub page_currency: Option<&'a str>,
}

/// The separators of a locale's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locale {
    /// The decimal mark.
    pub decimal: char,
    /// Grouping separators of the locale other than space (a number uses one of these, or a
    /// space, throughout). Empty for locales that group with spaces only.
    pub groups: &'static [char],
}

const DOT: Locale = Locale {
    decimal: '.',
    groups: &[','],
};
const COMMA_DOT: Locale = Locale {
    decimal: ',',
    groups: &['.'],
};
const COMMA_SPACE: Locale = Locale {
    decimal: ',',
    groups: &[],
};
const SWISS: Locale = Locale {
    decimal: '.',
    groups: &['\u{2019}', '\''],
};

impl Locale {
    /// The separators for a BCP 47 language tag (`en`, `en-GB`, `de-CH`, `zh-Hans-CN`, `pt_PT`),
    /// following CLDR's conventions for the languages listed; other languages (and those that
    /// group in lakhs, such as `hi` or `en-IN`) are not supported.
    pub fn from_tag(tag: &str) -> Result<Locale, String> {
        let tag = tag.trim_matches(is_space).to_ascii_lowercase();
        let mut parts = tag.split(['-', '_']);
        let lang = parts.next().unwrap_or("");
        // The region: a 2-letter or 3-digit subtag after the language (a 4-letter script is
        // skipped).
        let region = parts
            .take_while(|p| p.len() <= 4)
            .find(|p| p.len() == 2 || (p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit())))
            .unwrap_or("");
        let unsupported = || {
            Err(format!(
                "the page's language {tag:?} is not one this widget reads numbers in"
            ))
        };
        let by_region = match (lang, region) {
            ("de" | "it" | "rm" | "gsw", "ch" | "li") => Some(SWISS),
            ("fr", "ch") => Some(COMMA_SPACE),
            ("de", "at") => Some(COMMA_SPACE),
            ("pt", "pt" | "ao" | "mz") => Some(COMMA_SPACE),
            ("en", "za") => Some(COMMA_SPACE),
            ("en", "in") => return unsupported(),
            ("es", "mx" | "us" | "419" | "pr" | "do" | "gt" | "hn" | "ni" | "pa" | "pe" | "sv") => {
                Some(DOT)
            }
            _ => None,
        };
        if let Some(l) = by_region {
            return Ok(l);
        }
        match lang {
            "en" | "zh" | "ja" | "ko" | "he" | "iw" | "th" | "ms" | "fil" | "tl" | "ga" | "cy"
            | "mt" | "sw" => Ok(DOT),
            "de" | "nl" | "it" | "es" | "pt" | "id" | "da" | "tr" | "el" | "ro" | "hr" | "sl"
            | "sr" | "bs" | "vi" | "ca" | "is" | "gl" => Ok(COMMA_DOT),
            "fr" | "ru" | "uk" | "pl" | "cs" | "sk" | "sv" | "nb" | "nn" | "no" | "fi" | "hu"
            | "bg" | "lt" | "lv" | "et" | "be" | "kk" | "hy" | "ka" => Ok(COMMA_SPACE),
            _ => unsupported(),
        }
    }
}

/// The four characters that count as space: U+0020, NBSP, thin space, narrow NBSP.
pub fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{2009}' | '\u{202f}')
}

/// Characters a person does not see, or that reorder or hide what is next to them: bidi
/// controls, other format characters (Unicode category Cf), variation selectors, fillers that
/// render as nothing, and control characters other than line feed and tab.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{0600}'..='\u{0605}' | '\u{06DD}' | '\u{070F}'
        | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
        || (c.is_control() && c != '\n' && c != '\t')
}

/// Whether a word mixes ASCII Latin letters with letters that look like them from another script
/// (Greek, Cyrillic, Armenian, Cherokee, full-width Latin): `Αpple` with a Greek Alpha reads as
/// `Apple`. (Whole words in one script — `Москва`, `Αθήνα` — are fine.)
pub fn mixes_look_alikes(word: &str) -> bool {
    let latin = word.bytes().any(|b| b.is_ascii_alphabetic());
    latin
        && word.chars().any(|c| {
            matches!(c,
                '\u{0370}'..='\u{03FF}' | '\u{0400}'..='\u{052F}' | '\u{0530}'..='\u{058F}'
                | '\u{13A0}'..='\u{13FF}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}')
        })
}

fn normalise_text(s: &str) -> String {
    s.split(is_space)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Currency signs and the ISO 4217 codes each may stand for. A three-capital-letter code stands
/// for itself. Longer signs come first (they are matched in this order).
const SIGNS: &[(&str, &[&str])] = &[
    ("人民币", &["CNY"]),
    ("US$", &["USD"]),
    ("CA$", &["CAD"]),
    ("AU$", &["AUD"]),
    ("HK$", &["HKD"]),
    ("NZ$", &["NZD"]),
    ("NT$", &["TWD"]),
    ("MX$", &["MXN"]),
    ("CN¥", &["CNY"]),
    ("JP¥", &["JPY"]),
    ("RMB", &["CNY"]),
    ("C$", &["CAD"]),
    ("A$", &["AUD"]),
    ("S$", &["SGD"]),
    ("R$", &["BRL"]),
    ("kr", &["SEK", "NOK", "DKK", "ISK"]),
    ("zł", &["PLN"]),
    ("Kč", &["CZK"]),
    ("Ft", &["HUF"]),
    (
        "$",
        &["USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "MXN"],
    ),
    ("¥", &["CNY", "JPY"]),
    ("￥", &["CNY", "JPY"]),
    ("元", &["CNY"]),
    ("円", &["JPY"]),
    ("€", &["EUR"]),
    ("£", &["GBP"]),
    ("₩", &["KRW"]),
    ("₹", &["INR"]),
    ("₽", &["RUB"]),
    ("₺", &["TRY"]),
    ("₪", &["ILS"]),
    ("₫", &["VND"]),
    ("₴", &["UAH"]),
    ("฿", &["THB"]),
    ("₱", &["PHP"]),
];

/// Whether a shown currency sign or code may stand for the ISO 4217 code `code` (`"$"` → USD,
/// CAD, …; `"CNY"` → CNY only); `None` if the sign is not a currency this module reads.
pub fn currency_codes(sign: &str, code: &str) -> Option<bool> {
    if let Some((_, codes)) = SIGNS.iter().find(|(s, _)| *s == sign) {
        return Some(codes.contains(&code));
    }
    is_currency_code(sign).then(|| sign == code)
}

/// A currency sign or code at the start of `s`.
fn currency_prefix(s: &str) -> Option<(&str, &str)> {
    for (sign, _) in SIGNS {
        if let Some(rest) = s.strip_prefix(sign) {
            return Some((sign, rest));
        }
    }
    let b = s.as_bytes();
    (b.len() >= 3 && b[..3].iter().all(u8::is_ascii_uppercase))
        .then(|| (&s[..3], &s[3..]))
        .filter(|(_, rest)| !rest.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// A currency sign or code at the end of `s`.
fn currency_suffix(s: &str) -> Option<(&str, &str)> {
    for (sign, _) in SIGNS {
        if let Some(rest) = s.strip_suffix(sign) {
            return Some((sign, rest));
        }
    }
    let b = s.as_bytes();
    let n = b.len();
    (n >= 3 && b[n - 3..].iter().all(u8::is_ascii_uppercase))
        .then(|| (&s[n - 3..], &s[..n - 3]))
        .filter(|(_, rest)| !rest.ends_with(|c: char| c.is_ascii_alphabetic()))
}

fn strip_minus(s: &str) -> Option<&str> {
    s.strip_prefix('-').or_else(|| s.strip_prefix('\u{2212}'))
}

/// A number as a page shows it: the exact value and the currency sign or code next to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownNumber {
    /// The value.
    pub value: Decimal,
    /// The currency sign or code shown with it, as shown (`"¥"`, `"USD"`).
    pub currency: Option<String>,
}

/// Reads a displayed number under `locale` (`None`: the page did not say, or its language is not
/// supported — then only plain digits read), or says why it cannot.
pub fn read_number(shown: &str, locale: Option<&Locale>) -> Result<ShownNumber, String> {
    if let Some(c) = shown.chars().find(|c| is_invisible(*c)) {
        return Err(format!(
            "it holds an invisible character (U+{:04X}) that can hide or reorder what is shown",
            c as u32
        ));
    }
    let not_a_number = || {
        format!(
            "{:?} is not a number this widget reads",
            shown.trim_matches(is_space)
        )
    };
    let mut s = shown.trim_matches(is_space);
    let mut negative = false;
    let mut currency = None;
    if let Some(rest) = strip_minus(s) {
        negative = true;
        s = rest;
    }
    if let Some((sign, rest)) = currency_prefix(s) {
        currency = Some(sign);
        s = rest.trim_start_matches(is_space);
        if !negative && let Some(rest) = strip_minus(s) {
            negative = true;
            s = rest;
        }
    }
    if currency.is_none()
        && let Some((sign, rest)) = currency_suffix(s)
    {
        currency = Some(sign);
        s = rest.trim_end_matches(is_space);
    }
    if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(not_a_number());
    }
    // Every character is now a digit or a separator.
    let plain = s.bytes().all(|b| b.is_ascii_digit());
    let Some(locale) = locale else {
        if plain {
            return finish(s, None, negative, currency);
        }
        return Err(
            "the page does not say its language (a lang or locale attribute), so its decimal and grouping separators are unknown".to_string(),
        );
    };
    let (int_part, frac) = match s.split_once(locale.decimal) {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if let Some(f) = frac
        && (f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "{:?} does not read as a number: after the decimal mark {:?} come other characters than digits",
            shown.trim_matches(is_space),
            locale.decimal
        ));
    }
    let mut seps = int_part.chars().filter(|c| !c.is_ascii_digit());
    if let Some(g) = seps.next() {
        if !(is_space(g) || locale.groups.contains(&g)) {
            return Err(not_a_number());
        }
        if seps.any(|c| c != g) {
            return Err(format!(
                "{:?} mixes grouping separators; a number uses one throughout",
                shown.trim_matches(is_space)
            ));
        }
        let groups: Vec<&str> = int_part.split(g).collect();
        // A grouped number does not start with 0 (`0,001` is a decimal to many readers).
        if groups[0].is_empty()
            || groups[0].len() > 3
            || groups[0].starts_with('0')
            || groups[1..].iter().any(|g| g.len() != 3)
        {
            return Err(
                "grouping separators must split the number into groups of three".to_string(),
            );
        }
    }
    finish(s, Some((int_part, frac)), negative, currency)
}

fn finish(
    plain: &str,
    parts: Option<(&str, Option<&str>)>,
    negative: bool,
    currency: Option<&str>,
) -> Result<ShownNumber, String> {
    let mut digits: String = match parts {
        None => plain.to_string(),
        Some((int_part, frac)) => {
            let mut d: String = int_part.chars().filter(char::is_ascii_digit).collect();
            if let Some(f) = frac {
                d.push('.');
                d.push_str(f);
            }
            d
        }
    };
    if negative {
        digits.insert(0, '-');
    }
    let value = parse_decimal(&digits).map_err(|e| e.to_string())?;
    Ok(ShownNumber {
        value,
        currency: currency.map(String::from),
    })
}

/// The currency the charter ties `field` of a record of `kind` to, read from the record's
/// `fields` (for a [`CurrencyTie::Field`]) or the charter (for a [`CurrencyTie::Code`]); `None`
/// when the field is not tied (or the record lacks a valid code, which the charter's schema
/// rules out).
pub fn field_currency(kind: &RecordKind, field: &str, fields: &Fields) -> Option<String> {
    let schema = kind.fields.iter().find(|f| f.name == field)?;
    let FieldType::Decimal {
        currency: Some(tie),
        ..
    } = &schema.ty
    else {
        return None;
    };
    let code = match tie {
        CurrencyTie::Code(c) => c.clone(),
        CurrencyTie::Field(f) => match fields.get(f) {
            Some(Value::Text(t)) => t.clone(),
            _ => return None,
        },
    };
    is_currency_code(&code).then_some(code)
}

/// Every tied field's currency for a record: (field name, ISO 4217 code), in schema order.
pub fn record_currencies(kind: &RecordKind, fields: &Fields) -> Vec<(String, String)> {
    kind.fields
        .iter()
        .filter_map(|f| Some((f.name.clone(), field_currency(kind, &f.name, fields)?)))
        .collect()
}

/// Compares the displayed text with the chain's value, read as the page says to read it.
pub fn compare(shown: &str, on_chain: &Value, how: &Reading<'_>) -> DisplayCheck {
    let chain_text = match on_chain {
        Value::Text(t) => t.clone(),
        other => other.to_string(),
    };
    let unreadable = |why: String| DisplayCheck::Unreadable {
        why,
        on_chain: chain_text.clone(),
    };
    let mismatch = |shown: String| DisplayCheck::Mismatch {
        shown,
        on_chain: chain_text.clone(),
    };
    let matched = |currency: Option<&str>, currency_on_chain: bool| DisplayCheck::Match {
        on_chain: chain_text.clone(),
        currency: currency.map(String::from),
        currency_on_chain,
    };
    if let Some(c) = shown.chars().find(|c| is_invisible(*c)) {
        return unreadable(format!(
            "it holds an invisible character (U+{:04X}) that can hide or reorder what is shown",
            c as u32
        ));
    }
    let verdict = |equal: bool, shown: String| {
        if equal {
            matched(None, false)
        } else {
            mismatch(shown)
        }
    };
    match on_chain {
        Value::Decimal(_) | Value::Int(_) => {
            let want = match on_chain {
                Value::Decimal(d) => *d,
                Value::Int(i) => Decimal::from(*i),
                _ => unreachable!(),
            };
            let locale = match how.locale.map(Locale::from_tag) {
                Some(Ok(l)) => Some(l),
                Some(Err(why)) => {
                    // Plain digits still read; anything else says why not.
                    return match read_number(shown, None) {
                        Ok(n) => compare_number(n, want, how, &chain_text),
                        Err(_) => unreadable(why),
                    };
                }
                None => None,
            };
            match read_number(shown, locale.as_ref()) {
                Ok(n) => compare_number(n, want, how, &chain_text),
                Err(why) => unreadable(why),
            }
        }
        Value::Bool(b) => match normalise_text(shown).to_ascii_lowercase().as_str() {
            "true" | "yes" => verdict(*b, "true".to_string()),
            "false" | "no" => verdict(!*b, "false".to_string()),
            _ => unreadable("a yes/no field shows neither true/false nor yes/no".to_string()),
        },
        Value::Text(t) => {
            let s = normalise_text(shown);
            if let Some(w) = s.split(' ').find(|w| mixes_look_alikes(w)) {
                return unreadable(format!(
                    "the word {w:?} mixes Latin letters with look-alike letters of another script"
                ));
            }
            verdict(s == normalise_text(t), s)
        }
        _ => unreadable(format!(
            "{} fields cannot be compared with displayed text",
            on_chain.type_name()
        )),
    }
}

fn compare_number(n: ShownNumber, want: Decimal, how: &Reading<'_>, chain: &str) -> DisplayCheck {
    let unreadable = |why: String| DisplayCheck::Unreadable {
        why,
        on_chain: chain.to_string(),
    };
    let shown_text = |cur: Option<&str>| match cur {
        Some(c) => format!("{c} {}", n.value),
        None => n.value.to_string(),
    };
    let mismatch = |shown: String| DisplayCheck::Mismatch {
        shown,
        on_chain: chain.to_string(),
    };
    if let Some(p) = how.page_currency
        && !is_currency_code(p)
    {
        return unreadable(format!(
            "the element's currency {p:?} is not an ISO 4217 code"
        ));
    }
    let sign = n.currency.as_deref();
    // Whether the shown sign may stand for `code` (no sign: it says nothing against it).
    let fits = |code: &str| sign.and_then(|c| currency_codes(c, code)) != Some(false);
    if let Some(c) = sign
        && !(SIGNS.iter().any(|(s, _)| *s == c) || is_currency_code(c))
    {
        return unreadable(format!("{c:?} is not a currency this widget reads"));
    }
    let (currency, on_chain) = match how.chain_currency {
        Some(k) => {
            // The chain says which currency the amount is in: what the page shows or declares
            // must be that one.
            if let Some(p) = how.page_currency
                && p != k
            {
                return mismatch(shown_text(Some(p)));
            }
            if !fits(k) {
                return mismatch(shown_text(sign));
            }
            (Some(k), true)
        }
        None => match (sign, how.page_currency) {
            (None, p) => (p, false),
            (Some(c), None) => {
                return unreadable(format!(
                    "it shows a currency ({c}), and neither the chain nor the element says which currency this figure is in"
                ));
            }
            (Some(c), Some(p)) if !fits(p) => {
                return unreadable(format!("it shows {c} while the element says {p}"));
            }
            (Some(_), Some(p)) => (Some(p), false),
        },
    };
    if n.value == want {
        DisplayCheck::Match {
            on_chain: chain.to_string(),
            currency: currency.map(String::from),
            currency_on_chain: on_chain,
        }
    } else {
        mismatch(shown_text(n.currency.as_deref()))
    }
}

#[cfg(test)]
mod tests;
