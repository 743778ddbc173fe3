//! The display rules, one test per rule, and properties over many readings.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::scenario::charter::RecordKind;
use crate::scenario::schema::{CurrencyTie, FieldSchema, FieldType};

fn dec(s: &str) -> Value {
    Value::Decimal(parse_decimal(s).unwrap())
}

fn lang(tag: &str) -> Reading<'_> {
    Reading {
        locale: Some(tag),
        ..Reading::default()
    }
}

fn money<'a>(tag: &'a str, chain: &'a str) -> Reading<'a> {
    Reading {
        locale: Some(tag),
        chain_currency: Some(chain),
        page_currency: None,
    }
}

fn is_mismatch(c: &DisplayCheck) -> bool {
    matches!(c, DisplayCheck::Mismatch { .. })
}

// ---- the readings of issue 11 item 5, each refused --------------------------------------------

#[test]
fn issue_1_204_000_with_two_separators_is_refused_in_every_locale() {
    let v = dec("1204000");
    // en: two different grouping separators (space, comma) — unreadable.
    assert!(compare("1 204,000", &v, &lang("en")).is_unreadable());
    // fr/de: the comma is the decimal mark — a person reads 1204, not 1204000.
    for tag in ["fr", "de", "ru"] {
        assert!(is_mismatch(&compare("1 204,000", &v, &lang(tag))), "{tag}");
    }
    // No locale: no separators at all.
    assert!(compare("1 204,000", &v, &Reading::default()).is_unreadable());
    for tag in LOCALES {
        assert!(!compare("1 204,000", &v, &lang(tag)).is_match(), "{tag}");
    }
}

#[test]
fn issue_dollar_sign_on_a_cny_record_is_refused() {
    let v = dec("3120000.00");
    // Tied to CNY by the charter: a $ is another currency — a mismatch.
    for shown in [
        "$ 3,120,000.00",
        "$3,120,000.00",
        "USD 3,120,000.00",
        "3,120,000.00 €",
        "US$ 3,120,000.00",
    ] {
        assert!(
            is_mismatch(&compare(shown, &v, &money("en", "CNY"))),
            "{shown}"
        );
    }
    // The right currency matches, said any of the usual ways.
    for shown in [
        "¥ 3,120,000.00",
        "￥3,120,000.00",
        "CNY 3,120,000.00",
        "3,120,000.00 元",
        "RMB 3,120,000",
        "3,120,000.00",
    ] {
        let c = compare(shown, &v, &money("en", "CNY"));
        assert_eq!(
            c,
            DisplayCheck::Match {
                on_chain: "3120000.00".into(),
                currency: Some("CNY".into()),
                currency_on_chain: true
            },
            "{shown}"
        );
    }
    // An element that claims another currency than the chain's: a mismatch.
    let r = Reading {
        locale: Some("en"),
        chain_currency: Some("CNY"),
        page_currency: Some("USD"),
    };
    assert!(is_mismatch(&compare("3,120,000.00", &v, &r)));
}

#[test]
fn a_currency_without_a_tie_is_unreadable_unless_the_element_names_it() {
    let v = dec("12.50");
    assert!(compare("$12.50", &v, &lang("en")).is_unreadable());
    assert!(compare("¥ 12.50", &v, &lang("en")).is_unreadable());
    let declared = |c| Reading {
        locale: Some("en"),
        chain_currency: None,
        page_currency: Some(c),
    };
    assert_eq!(
        compare("$12.50", &v, &declared("USD")),
        DisplayCheck::Match {
            on_chain: "12.50".into(),
            currency: Some("USD".into()),
            currency_on_chain: false
        }
    );
    // The sign and the element's claim disagree.
    assert!(compare("$12.50", &v, &declared("CNY")).is_unreadable());
    // Not a code.
    assert!(compare("12.50", &v, &declared("dollars")).is_unreadable());
    // A plain figure needs no currency.
    assert!(compare("12.50", &v, &lang("en")).is_match());
    // An unknown sign is unreadable, tied or not.
    assert!(compare("₿ 12.50", &v, &money("en", "CNY")).is_unreadable());
}

#[test]
fn issue_other_unicode_white_space_is_not_space() {
    let v = dec("1204000");
    for c in WEIRD_SPACES {
        for shown in [
            format!("{c}1204000"),
            format!("1204000{c}"),
            format!("1{c}204{c}000"),
            format!("¥{c}1204000"),
        ] {
            assert!(
                compare(&shown, &v, &lang("en")).is_unreadable(),
                "{shown:?}"
            );
            assert!(
                compare(&shown, &v, &lang("fr")).is_unreadable(),
                "{shown:?}"
            );
        }
        // In text, they are characters, not space: not trimmed.
        assert!(
            !compare(
                &format!("Li Na{c}"),
                &Value::Text("Li Na".into()),
                &lang("en")
            )
            .is_match()
        );
    }
    // The four spaces are space.
    for c in [' ', '\u{a0}', '\u{2009}', '\u{202f}'] {
        assert!(
            compare(&format!("{c}1{c}204{c}000{c}"), &v, &lang("fr")).is_match(),
            "{c:?}"
        );
        assert!(
            compare(
                &format!("Li{c}Na "),
                &Value::Text("Li Na".into()),
                &lang("en")
            )
            .is_match()
        );
    }
}

#[test]
fn bidi_and_invisible_characters_are_unreadable_for_every_type() {
    for c in [
        '\u{202E}',
        '\u{202A}',
        '\u{2066}',
        '\u{2069}',
        '\u{200E}',
        '\u{200F}',
        '\u{061C}',
        '\u{200B}',
        '\u{200D}',
        '\u{2060}',
        '\u{FEFF}',
        '\u{00AD}',
        '\u{FE0F}',
        '\u{E0031}',
        '\u{0007}',
    ] {
        let n = format!("{c}1204000");
        assert!(
            compare(&n, &dec("1204000"), &lang("en")).is_unreadable(),
            "{c:?}"
        );
        let n = format!("12{c}04000");
        assert!(
            compare(&n, &dec("1204000"), &lang("en")).is_unreadable(),
            "{c:?}"
        );
        let t = format!("Li{c} Na");
        assert!(
            compare(&t, &Value::Text(format!("Li{c} Na")), &lang("en")).is_unreadable(),
            "{c:?}"
        );
        assert!(compare(&format!("yes{c}"), &Value::Bool(true), &lang("en")).is_unreadable());
    }
    // U+202E then reversed digits: "0004021" displays as 1204000.
    assert!(compare("\u{202E}0004021", &dec("1204000"), &lang("en")).is_unreadable());
    assert!(compare("\u{202E}0004021", &dec("4021"), &lang("en")).is_unreadable());
}

#[test]
fn look_alike_digits_signs_and_separators_are_unreadable() {
    let v = dec("1204000");
    for shown in [
        "１２０４０００",          // full-width digits
        "1\u{201A}204\u{201A}000", // ‚ single low quote
        "1，204，000",             // full-width comma
        "1\u{066C}204\u{066C}000", // Arabic thousands separator
        "١٢٠٤٠٠٠",                 // Arabic-Indic digits
        "1.2M",
        "about 3",
    ] {
        assert!(compare(shown, &v, &lang("en")).is_unreadable(), "{shown}");
    }
    // A dash that is not a minus sign does not make a positive number.
    for shown in ["\u{2013}12", "\u{2010}12", "\u{2012}12"] {
        assert!(
            compare(shown, &dec("-12"), &lang("en")).is_unreadable(),
            "{shown}"
        );
        assert!(
            compare(shown, &dec("12"), &lang("en")).is_unreadable(),
            "{shown}"
        );
    }
}

// ---- the locale -------------------------------------------------------------------------------

const LOCALES: [&str; 12] = [
    "en", "en-GB", "zh-CN", "ja", "de", "de-DE", "fr", "fr-FR", "ru", "de-CH", "pt-PT", "es-MX",
];
const WEIRD_SPACES: [char; 14] = [
    '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}',
    '\u{2007}', '\u{2008}', '\u{200A}', '\u{205F}', '\u{3000}', '\u{0085}',
];

#[test]
fn ordinary_readings_in_en_de_fr_and_zh() {
    let v = dec("1204000.50");
    let ok: &[(&str, &[&str])] = &[
        (
            "en",
            &[
                "1,204,000.50",
                "1204000.50",
                "1 204 000.50",
                "¥ 1,204,000.50",
                "1,204,000.5",
            ],
        ),
        ("en-GB", &["1,204,000.50"]),
        (
            "zh-CN",
            &[
                "1,204,000.50",
                "¥1,204,000.50",
                "1,204,000.50元",
                "人民币 1,204,000.50",
            ],
        ),
        ("zh-Hans-CN", &["1,204,000.50"]),
        ("ja", &["¥1,204,000.50"]),
        (
            "de",
            &[
                "1.204.000,50",
                "1204000,50",
                "1 204 000,50",
                "1.204.000,50 €",
            ],
        ),
        ("de-AT", &["1\u{a0}204\u{a0}000,50"]),
        ("de-CH", &["1’204’000.50", "1'204'000.50"]),
        (
            "fr",
            &[
                "1 204 000,50",
                "1\u{202f}204\u{202f}000,50",
                "1\u{a0}204\u{a0}000,50",
                "1 204 000,50 €",
            ],
        ),
        ("fr-CH", &["1\u{202f}204\u{202f}000,50"]),
        ("ru", &["1 204 000,50"]),
        ("es-MX", &["$1,204,000.50"]),
        ("es", &["1.204.000,50"]),
    ];
    for (tag, readings) in ok {
        for shown in *readings {
            let currency = Reading {
                locale: Some(tag),
                chain_currency: None,
                page_currency: Some(if shown.contains('€') {
                    "EUR"
                } else if shown.contains('$') {
                    "MXN"
                } else {
                    "CNY"
                }),
            };
            assert!(compare(shown, &v, &currency).is_match(), "{tag}: {shown}");
        }
    }
    assert!(compare("-12.50", &dec("-12.5"), &lang("en")).is_match());
    assert!(compare("\u{2212}12,50", &dec("-12.5"), &lang("de")).is_match());
    let cny = money("zh", "CNY");
    assert!(compare("-¥12.50", &dec("-12.5"), &cny).is_match());
    assert!(compare("¥ −12.50", &dec("-12.50"), &cny).is_match());
    assert!(compare("42", &Value::Int(42), &Reading::default()).is_match());
    assert!(compare("1,042", &Value::Int(1042), &lang("en")).is_match());
}

#[test]
fn the_locale_fixes_the_decimal_mark() {
    // The same characters, two readings: each locale reads its own.
    assert!(compare("1.204", &dec("1.204"), &lang("en")).is_match());
    assert!(compare("1.204", &dec("1204"), &lang("de")).is_match());
    assert!(compare("1,204", &dec("1204"), &lang("en")).is_match());
    assert!(compare("1,204", &dec("1.204"), &lang("fr")).is_match());
    assert!(is_mismatch(&compare("1.204", &dec("1204"), &lang("en"))));
    assert!(is_mismatch(&compare("1,204", &dec("1204"), &lang("de"))));
    // In fr, a dot is not a separator at all.
    assert!(compare("1.204", &dec("1204"), &lang("fr")).is_unreadable());
    // Not said, or not supported: only plain digits.
    for how in [
        Reading::default(),
        lang("hi"),
        lang("en-IN"),
        lang("xx"),
        lang(""),
    ] {
        assert!(compare("1204", &dec("1204"), &how).is_match());
        assert!(compare("1,204", &dec("1204"), &how).is_unreadable());
        assert!(compare("1.5", &dec("1.5"), &how).is_unreadable());
    }
}

#[test]
fn one_grouping_separator_at_group_positions() {
    let v = dec("1204000");
    for shown in [
        "1,204 000",
        "1 204\u{a0}000",
        "1\u{2009}204\u{202f}000",
        "1’204'000",
    ] {
        let tag = if shown.contains('’') { "de-CH" } else { "en" };
        assert!(compare(shown, &v, &lang(tag)).is_unreadable(), "{shown}");
    }
    for shown in [
        "12,04,000",
        "1,2040,00",
        ",1204,000",
        "1204,000,",
        "1,,204,000",
        "1204,000",
    ] {
        assert!(!compare(shown, &v, &lang("en")).is_match(), "{shown}");
    }
    assert!(compare("1.204.000", &v, &lang("en")).is_unreadable());
    assert!(compare("1,204,000.", &v, &lang("en")).is_unreadable());
    assert!(compare("1,204,000.5.0", &v, &lang("en")).is_unreadable());
    // A grouped number does not start with 0: "0,001" reads as a decimal to many.
    assert!(compare("0,001", &dec("1"), &lang("en")).is_unreadable());
    assert!(compare("0,001", &dec("0.001"), &lang("en")).is_unreadable());
    assert!(compare("0.001", &dec("0.001"), &lang("en")).is_match());
    // Grouping in the fraction is not read.
    assert!(compare("0.000,1", &dec("0.0001"), &lang("en")).is_unreadable());
}

// ---- carried over -----------------------------------------------------------------------------

#[test]
fn never_rounds() {
    assert!(is_mismatch(&compare(
        "1,204,000",
        &dec("1204000.40"),
        &lang("en")
    )));
    assert!(is_mismatch(&compare("12.5", &Value::Int(12), &lang("en"))));
    let c = compare("¥ 1,204,001.00", &dec("1204000.00"), &money("en", "CNY"));
    assert_eq!(
        c,
        DisplayCheck::Mismatch {
            shown: "¥ 1204001.00".into(),
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
        "- 5",
        "¥¥5",
        "5 ¥ ¥",
    ] {
        assert!(
            compare(shown, &dec("1204000"), &money("en", "CNY")).is_unreadable(),
            "{shown}"
        );
    }
}

#[test]
fn look_alike_letters_mixed_into_latin_words_are_unreadable() {
    let r = lang("en");
    // The chain holds the homograph too: equal text, yet a reader sees "Apple Ltd.".
    for t in [
        "\u{0391}pple Ltd.",
        "Warmline HVA\u{0421}",
        "Oakle\u{0430}f",
        "\u{FF21}pple",
    ] {
        assert!(
            compare(t, &Value::Text(t.into()), &r).is_unreadable(),
            "{t}"
        );
    }
    // Whole words of one script are text like any other.
    for t in ["Москва Ltd.", "Αθήνα", "李娜", "Zoë Müller"] {
        assert!(compare(t, &Value::Text(t.into()), &r).is_match(), "{t}");
    }
}

#[test]
fn text_and_bool() {
    let r = lang("en");
    assert!(compare("  Li   Na ", &Value::Text("Li Na".into()), &r).is_match());
    assert!(!compare("li na", &Value::Text("Li Na".into()), &r).is_match());
    assert!(compare("Yes", &Value::Bool(true), &r).is_match());
    assert!(!compare("no", &Value::Bool(true), &r).is_match());
}

// ---- the charter's currency tie ---------------------------------------------------------------

fn kind(tie: Option<CurrencyTie>) -> RecordKind {
    RecordKind {
        name: "payment".into(),
        description: String::new(),
        digest_only: false,
        fields: vec![
            FieldSchema {
                name: "amount".into(),
                description: String::new(),
                ty: FieldType::Decimal {
                    min: None,
                    max: None,
                    max_scale: 2,
                    currency: tie,
                },
                required: true,
            },
            FieldSchema {
                name: "currency".into(),
                description: String::new(),
                ty: FieldType::Text {
                    max_len: 3,
                    one_of: vec!["CNY".into(), "USD".into()],
                },
                required: true,
            },
        ],
        rules: vec![],
    }
}

#[test]
fn field_currency_reads_the_tie() {
    let mut f = Fields::new();
    f.insert("amount".into(), dec("1.00"));
    f.insert("currency".into(), Value::Text("USD".into()));
    let tied = kind(Some(CurrencyTie::Field("currency".into())));
    assert_eq!(field_currency(&tied, "amount", &f).as_deref(), Some("USD"));
    assert_eq!(field_currency(&tied, "currency", &f), None);
    let fixed = kind(Some(CurrencyTie::Code("EUR".into())));
    assert_eq!(field_currency(&fixed, "amount", &f).as_deref(), Some("EUR"));
    assert_eq!(field_currency(&kind(None), "amount", &f), None);
    assert_eq!(
        record_currencies(&tied, &f),
        vec![("amount".into(), "USD".into())]
    );
}

// ---- properties -------------------------------------------------------------------------------

/// `d` written the way `tag` writes it, grouped with `group` (None: not grouped).
fn write(d: &Decimal, tag: &str, group: Option<char>) -> String {
    let l = Locale::from_tag(tag).unwrap();
    let s = d.to_string();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.as_str()),
    };
    let (int, frac) = s.split_once('.').map_or((s, None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0
            && (int.len() - i) % 3 == 0
            && let Some(g) = group
        {
            out.push(g);
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push(l.decimal);
        out.push_str(f);
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

fn groups_of(tag: &str) -> Vec<Option<char>> {
    let l = Locale::from_tag(tag).unwrap();
    let mut g: Vec<Option<char>> = vec![
        None,
        Some(' '),
        Some('\u{a0}'),
        Some('\u{202f}'),
        Some('\u{2009}'),
    ];
    g.extend(l.groups.iter().map(|c| Some(*c)));
    g
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every value, written the ordinary way of every supported locale, reads back exactly.
    #[test]
    fn ordinary_writing_reads_back(m in any::<i64>(), scale in 0u32..5, li in 0usize..LOCALES.len(), gi in 0usize..8) {
        let d = Decimal::new(m, scale);
        let tag = LOCALES[li];
        let gs = groups_of(tag);
        let shown = write(&d, tag, gs[gi % gs.len()]);
        prop_assert!(compare(&shown, &Value::Decimal(d), &lang(tag)).is_match(), "{} {:?}", tag, shown);
        // With the chain's currency sign: still a match; with a sign of another currency: not.
        let tied = money(tag, "CNY");
        let (yuan, euro, dollar) = (format!("¥ {shown}"), format!("{shown} €"), format!("$ {shown}"));
        prop_assert!(compare(&yuan, &Value::Decimal(d), &tied).is_match());
        prop_assert!(is_mismatch(&compare(&euro, &Value::Decimal(d), &tied)));
        prop_assert!(!compare(&dollar, &Value::Decimal(d), &tied).is_match());
    }

    /// A written value never matches another value (no reading is shared by two numbers).
    #[test]
    fn no_reading_matches_two_values(m in any::<i64>(), delta in 1i64..1000, scale in 0u32..5, li in 0usize..LOCALES.len(), gi in 0usize..8) {
        let d = Decimal::new(m, scale);
        let other = Decimal::new(m.wrapping_add(delta), scale);
        let tag = LOCALES[li];
        let gs = groups_of(tag);
        let shown = write(&d, tag, gs[gi % gs.len()]);
        prop_assert!(!compare(&shown, &Value::Decimal(other), &lang(tag)).is_match());
    }

    /// Two different grouping separators in one number never read.
    #[test]
    fn mixed_separators_never_match(m in 1_000_000i64..i64::MAX, li in 0usize..LOCALES.len(), a in 0usize..8, b in 0usize..8) {
        let tag = LOCALES[li];
        let gs: Vec<char> = groups_of(tag).into_iter().flatten().collect();
        let (ga, gb) = (gs[a % gs.len()], gs[b % gs.len()]);
        prop_assume!(ga != gb);
        let d = Decimal::new(m, 0);
        let shown = write(&d, tag, Some(ga));
        // Replace the last separator with another one.
        let at = shown.rfind(ga).unwrap();
        let mixed = format!("{}{}{}", &shown[..at], gb, &shown[at + ga.len_utf8()..]);
        prop_assert!(!compare(&mixed, &Value::Decimal(d), &lang(tag)).is_match(), "{:?}", mixed);
    }

    /// An invisible or non-space white-space character anywhere: never a match, for any type.
    #[test]
    fn invisible_characters_never_match(m in any::<i64>(), at in 0usize..30, ci in 0usize..40, li in 0usize..LOCALES.len()) {
        let tag = LOCALES[li];
        let invisible: Vec<char> = ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{180E}', '\u{FE0F}', '\u{E0001}', '\u{0000}', '\u{001B}', '\u{0085}']
            .into_iter().chain(WEIRD_SPACES).collect();
        let c = invisible[ci % invisible.len()];
        let d = Decimal::new(m, 2);
        let mut shown: Vec<char> = write(&d, tag, None).chars().collect();
        let at = at % (shown.len() + 1);
        shown.insert(at, c);
        let shown: String = shown.into_iter().collect();
        prop_assert!(!compare(&shown, &Value::Decimal(d), &lang(tag)).is_match(), "{:?}", shown);
        let t = Value::Text(shown.clone());
        if is_invisible(c) {
            prop_assert!(compare(&shown, &t, &lang(tag)).is_unreadable());
        }
    }

    /// Reading never panics, whatever the text and locale.
    #[test]
    fn reading_never_panics(s in ".{0,40}", tag in "[a-zA-Z]{0,3}(-[a-zA-Z0-9]{1,4}){0,2}") {
        let _ = compare(&s, &dec("1.5"), &lang(&tag));
        let _ = compare(&s, &Value::Int(3), &money(&tag, "CNY"));
    }
}
