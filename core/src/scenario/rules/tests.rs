//! Tests of the rule engine: decoding and checking always; compiling and evaluating with the
//! `compiler` feature.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;

use proptest::prelude::*;

use super::*;
use crate::encoding::value::parse_decimal;
use crate::encoding::{Decode, Encode};

fn dec(s: &str) -> rust_decimal::Decimal {
    parse_decimal(s).unwrap()
}

/// A well-typed tree built by hand (no compiler needed).
fn hand_rule() -> Rule {
    let amount = Expr::Field {
        name: "amount".into(),
        ty: Type::Decimal,
    };
    let expr = Expr::Binary(
        BinOp::And,
        Box::new(Expr::Binary(
            BinOp::Gt,
            Box::new(amount.clone()),
            Box::new(Expr::Int(0)),
        )),
        Box::new(Expr::Binary(
            BinOp::Le,
            Box::new(Expr::Call(Func::Scale, vec![amount])),
            Box::new(Expr::Int(2)),
        )),
    );
    let cost = check(&expr).unwrap().cost as u32;
    Rule {
        name: "amount_positive".into(),
        source: "amount > 0 && scale(amount) <= 2".into(),
        message: "an amount is positive with at most two decimals".into(),
        expr,
        cost,
    }
}

#[test]
fn rule_round_trips_and_cost_is_checked() {
    let rule = hand_rule();
    rule.validate().unwrap();
    let bytes = rule.to_bytes();
    assert_eq!(Rule::from_bytes(&bytes).unwrap(), rule);

    let mut wrong = rule.clone();
    wrong.cost += 1;
    assert!(Rule::from_bytes(&wrong.to_bytes()).is_err());

    let mut ill_typed = rule.clone();
    ill_typed.expr = Expr::Binary(
        BinOp::Add,
        Box::new(Expr::Int(1)),
        Box::new(Expr::Text("x".into())),
    );
    assert!(ill_typed.validate().is_err());

    let mut not_bool = rule;
    not_bool.expr = Expr::Int(1);
    not_bool.cost = 1;
    assert!(not_bool.validate().is_err());
}

#[test]
fn rule_json_round_trips() {
    let rule = hand_rule();
    let json = serde_json::to_string(&rule).unwrap();
    assert!(json.contains("\"expr\":\""));
    let back: Rule = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rule);
    let tampered = json.replace(&alloc::format!("\"cost\":{}", rule.cost), "\"cost\":1");
    assert!(serde_json::from_str::<Rule>(&tampered).is_err());
}

#[test]
fn decoder_bounds_depth_and_nodes() {
    // 100 nested `!`: too deep.
    let mut e = Expr::Bool(true);
    for _ in 0..100 {
        e = Expr::Not(Box::new(e));
    }
    assert!(Expr::from_bytes(&e.to_bytes()).is_err());
    // A list of 2000 literals: too many nodes.
    let e = Expr::List(vec![Expr::Bool(true); 2000]);
    assert!(Expr::from_bytes(&e.to_bytes()).is_err());
    // Bad names and unknown tags.
    let e = Expr::Has("Bad Name".into());
    assert!(Expr::from_bytes(&e.to_bytes()).is_err());
    assert!(Expr::from_bytes(&[tag::CALL, 99]).is_err());
    assert!(Expr::from_bytes(&[tag::BINARY, 77]).is_err());
    assert!(Expr::from_bytes(&[200]).is_err());
}

#[test]
fn ids_are_stable() {
    // These numbers are protocol: never change them.
    assert_eq!(tag::CALL, 11);
    assert_eq!(BinOp::Rem.id(), 13);
    assert_eq!(Func::RecordExists.id(), 7);
    for op in BinOp::ALL {
        assert_eq!(BinOp::from_id(op.id()), Some(op));
    }
    for f in Func::ALL {
        assert_eq!(Func::from_id(f.id()), Some(f));
    }
}

#[test]
fn hand_built_trees_never_panic() {
    let fields = Fields::new();
    // Deep, ill-typed, wrong arity, over budget: all violations, no panic.
    let mut deep = Expr::Bool(true);
    for _ in 0..200 {
        deep = Expr::Not(Box::new(deep));
    }
    let bad = [
        deep,
        Expr::Call(Func::Size, vec![]),
        Expr::Call(
            Func::RecordExists,
            vec![Expr::Int(1), Expr::Int(2), Expr::Int(3)],
        ),
        Expr::Binary(
            BinOp::Add,
            Box::new(Expr::Bool(true)),
            Box::new(Expr::Int(1)),
        ),
        Expr::Int(3),
    ];
    for expr in bad {
        let rule = Rule {
            name: "r".into(),
            source: String::new(),
            message: "m".into(),
            expr,
            cost: 50,
        };
        assert!(evaluate(&rule, &fields, &NoLookup).is_err());
    }
    let mut rule = hand_rule();
    rule.cost = 2; // dishonest: below what evaluation needs
    let mut f = Fields::new();
    f.insert("amount".into(), Value::Decimal(dec("1.5")));
    let v = evaluate(&rule, &f, &NoLookup).unwrap_err();
    assert!(v.detail.contains("budget"), "{v}");
}

fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::Int),
        Just(Type::Decimal),
        Just(Type::Bool),
        (0u32..300).prop_map(|max_len| Type::Text { max_len }),
        (0u32..300).prop_map(|max_len| Type::Bytes { max_len }),
    ];
    leaf.prop_recursive(2, 4, 1, |inner| {
        prop_oneof![
            (inner.clone(), 0u32..50).prop_map(|(t, n)| Type::List {
                item: Box::new(t),
                max_items: n
            }),
            (inner, 0u32..50).prop_map(|(t, n)| Type::Map {
                value: Box::new(t),
                max_entries: n
            }),
        ]
    })
}

fn arb_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Expr::Bool),
        any::<i64>().prop_map(Expr::Int),
        (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Expr::Decimal(
            rust_decimal::Decimal::from_i128_with_scale(m.into(), s)
        )),
        ".{0,12}".prop_map(Expr::Text),
        (arb_name(), arb_type()).prop_map(|(name, ty)| Expr::Field { name, ty }),
        arb_name().prop_map(Expr::Has),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Expr::List),
            inner.clone().prop_map(|x| Expr::Not(Box::new(x))),
            inner.clone().prop_map(|x| Expr::Neg(Box::new(x))),
            (0u8..14, inner.clone(), inner.clone()).prop_map(|(op, l, r)| {
                Expr::Binary(BinOp::from_id(op).unwrap(), Box::new(l), Box::new(r))
            }),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| Expr::Cond(
                Box::new(c),
                Box::new(a),
                Box::new(b)
            )),
            (0u8..8, prop::collection::vec(inner, 3)).prop_map(|(f, mut args)| {
                let f = Func::from_id(f).unwrap();
                args.truncate(f.arity());
                Expr::Call(f, args)
            }),
        ]
    })
}

proptest! {
    #[test]
    fn expr_round_trips(e in arb_expr()) {
        let bytes = e.to_bytes();
        let back = Expr::from_bytes(&bytes).unwrap();
        prop_assert_eq!(back.to_bytes(), bytes);
        prop_assert_eq!(back, e);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(e) = Expr::from_bytes(&bytes) {
            prop_assert_eq!(e.to_bytes(), bytes.clone());
            let _ = check(&e);
        }
        let _ = Rule::from_bytes(&bytes);
    }

    #[test]
    fn mutated_rules_never_panic(pos in 0usize..64, byte in any::<u8>()) {
        let mut bytes = hand_rule().to_bytes();
        let i = pos % bytes.len();
        bytes[i] = byte;
        if let Ok(rule) = Rule::from_bytes(&bytes) {
            let mut f = Fields::new();
            f.insert("amount".into(), Value::Decimal(dec("1.5")));
            let _ = evaluate(&rule, &f, &NoLookup);
        }
    }

    #[test]
    fn random_trees_check_and_evaluate_without_panic(e in arb_expr()) {
        let rule = Rule { name: "r".into(), source: String::new(), message: String::new(), expr: e, cost: MAX_RULE_COST };
        let mut f = Fields::new();
        f.insert("a".into(), Value::Int(3));
        let _ = check(&rule.expr);
        let _ = evaluate(&rule, &f, &NoLookup);
    }
}

#[cfg(feature = "compiler")]
mod compiled {
    use super::*;
    use crate::scenario::schema::{FieldSchema, FieldType};
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    fn field(name: &str, ty: FieldType, required: bool) -> FieldSchema {
        FieldSchema {
            name: name.into(),
            description: String::new(),
            ty,
            required,
        }
    }

    fn text(max_len: u32) -> FieldType {
        FieldType::Text {
            max_len,
            one_of: Vec::new(),
        }
    }

    /// The demo `payment` kind.
    fn payment() -> Vec<FieldSchema> {
        vec![
            field(
                "amount",
                FieldType::Decimal {
                    min: None,
                    max: None,
                    max_scale: 2,
                    currency: None,
                },
                true,
            ),
            field(
                "currency",
                FieldType::Text {
                    max_len: 3,
                    one_of: vec!["CNY".into(), "USD".into(), "EUR".into()],
                },
                true,
            ),
            field("payee", text(256), true),
            field("budget_line", text(64), true),
            field("approver", text(256), true),
            field("approved", FieldType::Bool, true),
            field("note", text(1000), false),
            field(
                "count",
                FieldType::Int {
                    min: None,
                    max: None,
                },
                false,
            ),
            field(
                "tags",
                FieldType::List {
                    item: Box::new(text(32)),
                    max_items: 16,
                },
                false,
            ),
            field(
                "limits",
                FieldType::Map {
                    value: Box::new(FieldType::Decimal {
                        min: None,
                        max: None,
                        max_scale: 2,
                        currency: None,
                    }),
                    max_entries: 8,
                },
                false,
            ),
        ]
    }

    fn record(amount: &str) -> Fields {
        let mut f = Fields::new();
        f.insert("amount".into(), Value::Decimal(dec(amount)));
        f.insert("currency".into(), Value::Text("CNY".into()));
        f.insert("payee".into(), Value::Text("Acme Ltd".into()));
        f.insert("budget_line".into(), Value::Text("B-17".into()));
        f.insert("approver".into(), Value::Text("Li Wei".into()));
        f.insert("approved".into(), Value::Bool(true));
        f
    }

    fn rule(src: &str) -> Rule {
        compile("r", src, "the rule holds", &payment()).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    fn run(src: &str, fields: &Fields) -> Result<RuleOutcome, RuleViolation> {
        evaluate(&rule(src), fields, &NoLookup)
    }

    fn compile_err(src: &str) -> CompileError {
        compile("r", src, "m", &payment()).unwrap_err()
    }

    /// Answers from a fixed set, and counts lookups.
    struct Known(Vec<(&'static str, &'static str, Value)>, RefCell<u32>);
    impl RecordLookup for Known {
        fn record_exists(&self, kind: &str, field: &str, value: &Value) -> Lookup {
            *self.1.borrow_mut() += 1;
            if self
                .0
                .iter()
                .any(|(k, f, v)| *k == kind && *f == field && v == value)
            {
                Lookup::Found
            } else {
                Lookup::Missing
            }
        }
    }

    #[test]
    fn demo_rules() {
        let schema = payment();
        let r = compile(
            "amount_positive",
            "amount > 0 && scale(amount) <= 2",
            "an amount is positive with at most two decimals",
            &schema,
        )
        .unwrap();
        assert_eq!(
            evaluate(&r, &record("12.50"), &NoLookup),
            Ok(RuleOutcome::Pass)
        );
        let v = evaluate(&r, &record("-3.5"), &NoLookup).unwrap_err();
        assert_eq!(
            v.to_string(),
            "rule \"amount_positive\" failed on field \"amount\": an amount is positive with at most two decimals (amount = -3.5)"
        );
        assert_eq!(v.field.as_deref(), Some("amount"));

        let exists = compile(
            "budget_line_known",
            "record_exists(\"budget_line\", \"code\", budget_line)",
            "the budget line is declared",
            &schema,
        )
        .unwrap();
        assert!(matches!(
            evaluate(&exists, &record("1"), &NoLookup),
            Ok(RuleOutcome::Unresolved { .. })
        ));
        let known = Known(
            vec![("budget_line", "code", Value::Text("B-17".into()))],
            RefCell::new(0),
        );
        assert_eq!(
            evaluate(&exists, &record("1"), &known),
            Ok(RuleOutcome::Pass)
        );
        let mut other = record("1");
        other.insert("budget_line".into(), Value::Text("B-99".into()));
        let v = evaluate(&exists, &other, &known).unwrap_err();
        assert_eq!(v.detail, "budget_line = \"B-99\"");

        let four_eyes = rule("size(approver) > 0 && approver != payee");
        assert_eq!(
            evaluate(&four_eyes, &record("1"), &NoLookup),
            Ok(RuleOutcome::Pass)
        );
        let mut same = record("1");
        same.insert("approver".into(), Value::Text("Acme Ltd".into()));
        let v = evaluate(&four_eyes, &same, &NoLookup).unwrap_err();
        assert_eq!(v.field.as_deref(), Some("approver"));
        let mut empty = record("1");
        empty.insert("approver".into(), Value::Text(String::new()));
        assert!(evaluate(&four_eyes, &empty, &NoLookup).is_err());

        let note = rule("!has(note) || size(note) <= 280");
        assert_eq!(
            evaluate(&note, &record("1"), &NoLookup),
            Ok(RuleOutcome::Pass)
        );
        let mut long = record("1");
        long.insert("note".into(), Value::Text("é".repeat(281)));
        let v = evaluate(&note, &long, &NoLookup).unwrap_err();
        assert_eq!(v.field.as_deref(), Some("note"));
        long.insert("note".into(), Value::Text("é".repeat(280))); // 560 bytes, 280 code points
        assert_eq!(evaluate(&note, &long, &NoLookup), Ok(RuleOutcome::Pass));

        let cur = rule("currency in [\"CNY\", \"USD\", \"EUR\"] && approved");
        assert_eq!(
            evaluate(&cur, &record("1"), &NoLookup),
            Ok(RuleOutcome::Pass)
        );
    }

    #[test]
    fn parses_with_cel_precedence() {
        let f = record("10");
        for (src, expect) in [
            ("1 + 2 * 3 == 7", true),
            ("(1 + 2) * 3 == 9", true),
            ("10 - 2 - 3 == 5", true),
            ("7 / 2 == 3 && -7 / 2 == -3 && -7 % 2 == -1", true),
            ("true || false && false", true),
            ("!false && !!true", true),
            ("1 < 2 == true", true),
            ("true ? false : true == false", false),
            ("(false ? 1 : true ? 2 : 3) == 2", true),
            ("(approved ? 1 : 0.5) == 1 && 10 in [10.0]", true),
            ("-2 * 3 == -6 && - (2 - 5) == 3", true),
            ("1.50 == 1.5 && 1 == 1.0 && 2 > 1.99", true),
            (
                "'a\\'b' == \"a'b\" && \"\\u00e9\" == 'é' && size('\\x41') == 1",
                true,
            ),
            ("'abc' < 'abd' && 'Z' < 'a'", true),
            ("'ab' + 'cd' == 'abcd'", true),
            (
                "payee.startsWith('Acme') && payee.endsWith('Ltd') && payee.contains('e L')",
                true,
            ),
            ("payee.size() == size(payee) && size([1, 2, 3]) == 3", true),
            (
                "int('42') + int(-3.9) == 39 && decimal('1.25') * 2 == 2.5",
                true,
            ),
            (
                "scale(1.250) == 3 && scale(decimal(7)) == 0 && scale(12.50 * 2) == 2",
                true,
            ),
            ("scale(10.00 / 4) == 1", true),
            ("amount in [5, 10.00, 20] && !(amount in [1, 2.5])", true),
            ("-9223372036854775808 < 0", true),
            ("size([1, 2,]) == 2", true),
            ("// a comment\n amount > 0 // and another", true),
        ] {
            assert_eq!(run(src, &f).is_ok(), expect, "{src}: {:?}", run(src, &f));
        }
    }

    #[test]
    fn compile_errors_are_actionable() {
        let e = compile_err("amout > 0");
        assert_eq!(e.message, "unknown field `amout` (did you mean `amount`?)");
        assert_eq!((e.offset, e.line, e.column), (0, 1, 1));

        let e = compile_err("payee + 1 == 'x'");
        assert_eq!(e.message, "operator `+` does not apply to text and int");
        assert_eq!(e.column, 7);

        let e = compile_err("amount > 0 &&\n  sise(payee) > 1");
        assert_eq!(e.message, "unknown function `sise` (did you mean `size`?)");
        assert_eq!((e.line, e.column), (2, 3));

        assert!(
            compile_err("amount")
                .message
                .contains("must be a condition (bool)")
        );
        assert!(
            compile_err("has(nope)")
                .message
                .contains("unknown field `nope`")
        );
        assert!(
            compile_err("has(1)")
                .message
                .contains("has() takes one field name")
        );
        assert!(
            compile_err("amount = 1")
                .message
                .contains("compare with `==`")
        );
        assert!(compile_err("amount > 1e5").message.contains("exponents"));
        assert!(
            compile_err("9223372036854775808 > 0")
                .message
                .contains("64 bits")
        );
        assert!(compile_err("amount % 2 == 0").message.contains("ints only"));
        assert!(
            compile_err("'a' < 1")
                .message
                .contains("does not apply to text and int")
        );
        assert!(
            compile_err("payee.startsWith(1)")
                .message
                .contains("startsWith")
        );
        assert!(
            compile_err("startsWith(payee, 'a')")
                .message
                .contains("is a method")
        );
        assert!(
            compile_err("size(payee, 1) > 0")
                .message
                .contains("takes 1 argument, found 2")
        );
        assert!(
            compile_err("record_exists(payee, 'code', 1)")
                .message
                .contains("quoted name")
        );
        assert!(
            compile_err("approved ? 1 : 'x'")
                .message
                .contains("branches")
        );
        assert!(compile_err("[] == []").message.contains("empty list"));
        assert!(
            compile_err("1 in [true]")
                .message
                .contains("types do not match")
        );
        assert!(
            compile_err("payee.name == 'x'")
                .message
                .contains("field selection")
        );
        assert!(compile_err("(amount > 0").message.contains("expected `)`"));
        assert!(compile_err("'open").message.contains("not closed"));
        assert!(compile_err("null == null").message.contains("null"));
        assert!(
            compile_err("amount > 0 amount")
                .message
                .contains("unexpected")
        );
        assert!(
            compile_err("amount > 0 & approved")
                .message
                .contains("`&&`")
        );

        // Bounds: nesting, tokens, source length, tree depth.
        let deep = format!("{}true{}", "(".repeat(40), ")".repeat(40));
        assert!(compile_err(&deep).message.contains("nested more than 32"));
        let nots = format!("{}true", "!".repeat(40));
        assert!(compile_err(&nots).message.contains("nested more than 32"));
        let chain = format!("1{} == 60", " + 1".repeat(59));
        assert!(compile_err(&chain).message.contains("deeper than 48"));
        let many = format!("amount > 0{}", "||a".repeat(600));
        assert!(compile_err(&many).message.contains("tokens"));
        let long = format!("'{}' == payee", "x".repeat(5000));
        assert!(compile_err(&long).message.contains("longer than 4096"));
    }

    #[test]
    fn cost_limit_is_enforced() {
        let schema = vec![
            field("body", text(65536), true),
            field(
                "items",
                FieldType::List {
                    item: Box::new(text(65536)),
                    max_items: 1024,
                },
                true,
            ),
        ];
        assert!(compile("r", "size(body) > 0", "m", &schema).is_ok());
        let e = compile("r", "body in items", "m", &schema).unwrap_err();
        assert!(e.message.starts_with("rule cost "), "{e}");
        assert!(e.message.contains("exceeds the limit 10000"), "{e}");
    }

    #[test]
    fn short_circuit_left_to_right() {
        let f = record("10");
        // The right side would fail (absent field, division by zero) but is never evaluated.
        assert!(run("has(note) && size(note) > 0", &f).is_err());
        assert!(run("!has(note) || size(note) > 0", &f).is_ok());
        assert!(
            run("false && 1 / 0 == 1", &f).is_err_and(|v| v.detail == "the condition is false")
        );
        assert!(run("true || 1 / 0 == 1", &f).is_ok());
        assert!(run("approved ? true : 1 / 0 == 1", &f).is_ok());
        // Left to right: an error on the left is not absorbed by a `true` on the right.
        assert!(run("1 / 0 == 1 || true", &f).is_err());
        // Lookups on the short-circuited side are never made.
        let known = Known(vec![], RefCell::new(0));
        let r = rule("amount < 0 && record_exists('budget_line', 'code', budget_line)");
        assert!(evaluate(&r, &f, &known).is_err());
        assert_eq!(*known.1.borrow(), 0);
    }

    #[test]
    fn runtime_failures_are_violations() {
        let mut f = record("10");
        f.insert("count".into(), Value::Int(i64::MAX));
        let v = run("count + 1 > 0", &f).unwrap_err();
        assert_eq!(v.detail, format!("integer overflow; count = {}", i64::MAX));
        assert_eq!(v.field.as_deref(), Some("count"));
        assert!(
            run("-count - 2 < 0", &f)
                .unwrap_err()
                .detail
                .contains("overflow")
        );
        assert!(
            run("amount / 0 > 1", &f)
                .unwrap_err()
                .detail
                .starts_with("division by zero")
        );
        assert!(
            run("count % 0 == 1", &f)
                .unwrap_err()
                .detail
                .starts_with("division by zero")
        );
        assert!(
            run("amount / 3 > 1", &f)
                .unwrap_err()
                .detail
                .contains("28 decimals")
        );
        assert!(
            run("7.9228162514264337593543950335 * 3 > amount", &f)
                .unwrap_err()
                .detail
                .contains("overflow")
        );
        assert!(
            run("int('x1') > 0", &f)
                .unwrap_err()
                .detail
                .contains("cannot convert")
        );
        assert!(
            run("decimal('1e5') > 0", &f)
                .unwrap_err()
                .detail
                .contains("cannot convert")
        );
        assert!(
            run("int(99999999999999999999.5) > 0", &f)
                .unwrap_err()
                .detail
                .contains("overflows")
        );
        // Absent optional field read without has().
        let v = run("size(note) < 10", &f).unwrap_err();
        assert_eq!(v.field.as_deref(), Some("note"));
        assert!(v.detail.contains("has(note)"), "{v}");
        // A value that does not fit the declared type is a type error, not a crash.
        f.insert("amount".into(), Value::Text("12".into()));
        assert!(
            run("amount > 0", &f)
                .unwrap_err()
                .detail
                .contains("expects decimal")
        );
        f.insert("payee".into(), Value::Text("x".repeat(300)));
        assert!(
            run("size(payee) > 0", &f)
                .unwrap_err()
                .detail
                .contains("more than the 256")
        );
    }

    #[test]
    fn violation_names_first_failing_conjunct() {
        let f = record("10");
        let v = run(
            "amount > 0 && approved && payee == 'nobody' && amount < 0",
            &f,
        )
        .unwrap_err();
        assert_eq!(v.field.as_deref(), Some("payee"));
        assert_eq!(v.detail, "payee = \"Acme Ltd\"");
        let v = run("(amount > 100 || payee == 'x') || approver == 'y'", &f).unwrap_err();
        assert_eq!(v.field.as_deref(), Some("amount"));
        let v = run("1 == 2", &f).unwrap_err();
        assert_eq!(v.field, None);
        assert_eq!(
            v.to_string(),
            "rule \"r\" failed: the rule holds (the condition is false)"
        );
    }

    #[test]
    fn unresolved_is_never_pass() {
        let f = record("10");
        let r = rule("record_exists('budget_line', 'code', budget_line) && amount > 0");
        let out = evaluate(&r, &f, &NoLookup).unwrap();
        assert!(
            matches!(out, RuleOutcome::Unresolved { ref reason } if reason.contains("\"B-17\""))
        );
        // A later conjunct that fails decides the verdict anyway.
        let r = rule("record_exists('budget_line', 'code', budget_line) && amount < 0");
        assert_eq!(
            evaluate(&r, &f, &NoLookup).unwrap_err().field.as_deref(),
            Some("amount")
        );
        // Inside an expression, an unknown answer makes the whole rule unresolved.
        let r = rule("!record_exists('payment', 'payee', payee) || approved");
        assert!(matches!(
            evaluate(&r, &f, &NoLookup),
            Ok(RuleOutcome::Unresolved { .. })
        ));
        let known = Known(vec![], RefCell::new(0));
        assert_eq!(evaluate(&r, &f, &known), Ok(RuleOutcome::Pass));
    }

    #[test]
    fn collections() {
        let mut f = record("10");
        f.insert(
            "tags".into(),
            Value::List(vec![Value::Text("ops".into()), Value::Text("q1".into())]),
        );
        let mut m = BTreeMap::new();
        m.insert("CNY".to_string(), Value::Decimal(dec("100.00")));
        f.insert("limits".into(), Value::Map(m));
        assert!(run("'q1' in tags && !('q2' in tags) && size(tags) == 2", &f).is_ok());
        assert!(
            run(
                "currency in limits && !('USD' in limits) && size(limits) == 1",
                &f
            )
            .is_ok()
        );
        assert!(
            compile_err("1 in limits")
                .message
                .contains("map keys are text")
        );
        f.insert("tags".into(), Value::List(vec![Value::Int(1)]));
        assert!(
            run("'q1' in tags", &f)
                .unwrap_err()
                .detail
                .contains("item 0 of field `tags`")
        );
    }

    use alloc::collections::BTreeMap;

    #[test]
    fn compiled_rules_survive_encoding() {
        for src in [
            "amount > 0 && scale(amount) <= 2",
            "record_exists(\"budget_line\", \"code\", budget_line)",
            "size(approver) > 0 && approver != payee",
            "!has(note) || size(note) <= 280",
            "approved ? amount <= 1000.00 : amount < 100",
        ] {
            let r = rule(src);
            assert_eq!(Rule::from_bytes(&r.to_bytes()).unwrap(), r);
            r.check_schema(&payment()).unwrap();
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), r);
        }
        let r = rule("size(payee) > 0");
        let mut narrower = payment();
        narrower[2] = field("payee", text(10), true);
        assert!(r.check_schema(&narrower).is_err());
        assert!(r.check_schema(&payment()[..1]).is_err());
        assert_eq!(
            rule("payee == approver || size(payee) > 0").fields(),
            vec!["payee", "approver"]
        );
    }

    #[test]
    fn demo_costs_are_pinned() {
        // Costs are protocol: decoders reject a rule whose stored cost differs from the
        // recomputed one, so changing the cost model changes which charters decode.
        for (src, cost) in [
            ("amount > 0 && scale(amount) <= 2", 8),
            ("record_exists(\"budget_line\", \"code\", budget_line)", 105),
            ("size(approver) > 0 && approver != payee", 16),
            ("!has(note) || size(note) <= 280", 23),
            ("currency in [\"CNY\", \"USD\", \"EUR\"]", 15),
        ] {
            assert_eq!(rule(src).cost, cost, "{src}");
        }
    }

    /// Sources whose costs the next test measures.
    const COSTLY: [&str; 12] = [
        "amount > 0 && scale(amount) <= 2",
        "record_exists(\"budget_line\", \"code\", budget_line)",
        "size(approver) > 0 && approver != payee",
        "!has(note) || size(note) <= 280",
        "has(note) && (note + payee).contains(approver + 'x')",
        "has(tags) && (payee in tags || approver in tags || 'ops' in tags)",
        "has(limits) && (currency in limits ? amount < 100 : amount > 0)",
        "size([payee, approver, 'x' + budget_line]) == 3 || payee in [approver, note + 'a']",
        "approved ? payee.startsWith(approver) : note.endsWith(payee + payee)",
        "has(note) && int(decimal(size(note)) / 4) >= 0 && note < payee",
        "has(count) && count * 2 - count / 3 % 5 + amount * amount > -1000000",
        "record_exists('payment', 'note', note) || record_exists('payment', 'payee', payee + note)",
    ];

    fn arb_text(max: usize) -> impl Strategy<Value = String> {
        prop_oneof![
            prop::collection::vec(
                prop_oneof![Just('a'), Just('é'), Just(' '), Just('x')],
                0..=max
            )
            .prop_map(|v| v.into_iter().collect::<String>()),
            Just("x".repeat(max)),
        ]
        .prop_map(move |mut s: String| {
            while s.len() > max {
                s.pop();
            }
            s
        })
    }

    fn arb_payment() -> impl Strategy<Value = Fields> {
        (
            (-100_000i64..100_000, 0u32..=2),
            arb_text(256),
            arb_text(256),
            arb_text(64),
            prop::option::of(arb_text(1000)),
            prop::option::of(any::<i64>()),
            prop::option::of(prop::collection::vec(arb_text(32), 0..=16)),
            prop::option::of(prop::collection::btree_map(
                "[A-Z]{3}",
                (0i64..1000).prop_map(|m| Value::Decimal(rust_decimal::Decimal::new(m, 2))),
                0..=8,
            )),
            any::<bool>(),
        )
            .prop_map(
                |((m, s), payee, approver, budget_line, note, count, tags, limits, approved)| {
                    let mut f = Fields::new();
                    f.insert(
                        "amount".into(),
                        Value::Decimal(rust_decimal::Decimal::new(m, s)),
                    );
                    f.insert("currency".into(), Value::Text("EUR".into()));
                    f.insert("payee".into(), Value::Text(payee));
                    f.insert("approver".into(), Value::Text(approver));
                    f.insert("budget_line".into(), Value::Text(budget_line));
                    f.insert("approved".into(), Value::Bool(approved));
                    if let Some(n) = note {
                        f.insert("note".into(), Value::Text(n));
                    }
                    if let Some(c) = count {
                        f.insert("count".into(), Value::Int(c));
                    }
                    if let Some(t) = tags {
                        f.insert(
                            "tags".into(),
                            Value::List(t.into_iter().map(Value::Text).collect()),
                        );
                    }
                    if let Some(l) = limits {
                        f.insert("limits".into(), Value::Map(l));
                    }
                    f
                },
            )
    }

    /// Finds every lookup, so evaluation goes as far as it can.
    struct Everything;
    impl RecordLookup for Everything {
        fn record_exists(&self, _: &str, _: &str, _: &Value) -> Lookup {
            Lookup::Found
        }
    }

    #[test]
    fn worst_case_fits_static_cost() {
        let mut f = Fields::new();
        f.insert("amount".into(), Value::Decimal(dec("1.00")));
        f.insert("currency".into(), Value::Text("USD".into()));
        for (k, n) in [
            ("payee", 256),
            ("approver", 256),
            ("budget_line", 64),
            ("note", 1000),
        ] {
            f.insert(k.into(), Value::Text("y".repeat(n)));
        }
        f.insert("approved".into(), Value::Bool(true));
        f.insert(
            "tags".into(),
            Value::List(vec![Value::Text("z".repeat(32)); 16]),
        );
        for src in COSTLY {
            let r = rule(src);
            let (_, steps) = eval::run(&r, &f, &Everything);
            assert!(steps <= u64::from(r.cost), "{src}: {steps} > {}", r.cost);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn steps_never_exceed_static_cost(f in arb_payment(), which in 0usize..COSTLY.len(), found in any::<bool>()) {
            let r = rule(COSTLY[which]);
            let lookup: &dyn RecordLookup = if found { &Everything } else { &NoLookup };
            let (out, steps) = eval::run(&r, &f, lookup);
            prop_assert!(steps <= u64::from(r.cost), "{}: {} > {}", COSTLY[which], steps, r.cost);
            if let Err(v) = out {
                prop_assert!(!v.detail.contains("budget"), "{}", v);
            }
        }

        #[test]
        fn decimal_arithmetic_matches_reference(
            a in (-1_000_000i64..1_000_000, 0u32..=6),
            b in (-1_000_000i64..1_000_000, 0u32..=6),
            c in (-1_000_000i64..1_000_000, 0u32..=6),
            op in 0usize..4,
            cmp in 0usize..6,
        ) {
            let ops = ["+", "-", "*", "/"];
            let cmps = ["==", "!=", "<", "<=", ">", ">="];
            let num = |(m, s): (i64, u32)| Value::Decimal(rust_decimal::Decimal::new(m, s));
            let schema = vec![
                field("a", FieldType::Decimal { min: None, max: None, max_scale: 28, currency: None }, true),
                field("b", FieldType::Decimal { min: None, max: None, max_scale: 28, currency: None }, true),
                field("c", FieldType::Decimal { min: None, max: None, max_scale: 28, currency: None }, true),
            ];
            let src = format!("a {} b {} c", ops[op], cmps[cmp]);
            let r = compile("r", &src, "m", &schema).unwrap();
            let mut f = Fields::new();
            f.insert("a".into(), num(a));
            f.insert("b".into(), num(b));
            f.insert("c".into(), num(c));
            let got = evaluate(&r, &f, &NoLookup);
            let want = reference(a, b, c, op, cmp);
            match want {
                None => prop_assert!(got.is_err()),
                Some(w) => prop_assert_eq!(got.is_ok(), w, "{} with a={:?} b={:?} c={:?}: {:?}", src, a, b, c, got),
            }
        }
    }

    /// The reference: exact rationals in i128. `None` when the operation must fail.
    fn reference(
        a: (i64, u32),
        b: (i64, u32),
        c: (i64, u32),
        op: usize,
        cmp: usize,
    ) -> Option<bool> {
        // Value = num / den with den = 10^k.
        let frac = |(m, s): (i64, u32)| (i128::from(m), 10i128.pow(s));
        let (an, ad) = frac(a);
        let (bn, bd) = frac(b);
        let (cn, cd) = frac(c);
        let (rn, rd) = match op {
            0 => (an * bd + bn * ad, ad * bd),
            1 => (an * bd - bn * ad, ad * bd),
            2 => (an * bn, ad * bd),
            _ => {
                if bn == 0 {
                    return None;
                }
                let (n, d) = (an * bd, ad * bn);
                let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
                // Exact iff the reduced denominator is 2^x 5^y with at most 28 decimals.
                let g = gcd(n.unsigned_abs(), d.unsigned_abs()) as i128;
                let mut rd = d / g;
                let (mut x, mut y) = (0, 0);
                while rd % 2 == 0 {
                    rd /= 2;
                    x += 1;
                }
                while rd % 5 == 0 {
                    rd /= 5;
                    y += 1;
                }
                if rd != 1 || x.max(y) > 28 {
                    return None;
                }
                (n, d)
            }
        };
        // Compare rn/rd with cn/cd (denominators positive).
        let l = rn * cd;
        let r = cn * rd;
        Some(match cmp {
            0 => l == r,
            1 => l != r,
            2 => l < r,
            3 => l <= r,
            4 => l > r,
            _ => l >= r,
        })
    }

    fn gcd(mut a: u128, mut b: u128) -> u128 {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a.max(1)
    }

    /// What a reader is shown is what verifiers evaluate: a rule printed from its checked tree
    /// compiles back to the very same tree (so the printed text means exactly the tree).
    #[test]
    fn printed_rules_compile_back_to_the_same_tree() {
        for src in [
            "amount > 0 && scale(amount) <= 2",
            "approver != payee",
            "(amount + 1.50) * 2 <= 10000.00 || !approved",
            "amount - (amount - 1) == 1",
            "amount - amount - 1 == -1",
            "-(5) == -5 && -amount < 0.00 || -(-amount) > 0.00",
            "!(approved && has(note)) || note.size() > 3",
            "payee.startsWith(\"Ac\") && payee.contains('m\\\"e\\n') && !payee.endsWith(\"\\u202e\")",
            "currency in [\"CNY\", \"USD\"] && (has(count) ? count % 2 == 0 : true)",
            "has(tags) ? (size(tags) <= 3 ? true : \"x\" in tags) : approved == true",
            "int(amount) >= 0 && decimal(\"1.5\") < amount + decimal(2)",
            "record_exists(\"budget_line\", \"code\", budget_line)",
            "has(limits) && \"k\" in limits",
        ] {
            let r = rule(src);
            let printed = print(&r.expr);
            let again = compile("r", &printed, "the rule holds", &payment())
                .unwrap_or_else(|e| panic!("{src} printed as {printed}: {e}"));
            assert_eq!(again.expr, r.expr, "{src} printed as {printed}");
        }
        // Canonical spacing and parentheses only where precedence needs them.
        assert_eq!(
            print(&rule("(amount+1)*2<=10||!approved").expr),
            "(amount + 1) * 2 <= 10 || !approved"
        );
        assert_eq!(
            print(&rule("amount - (amount - 1) == 1").expr),
            "amount - (amount - 1) == 1"
        );
        // A source that does not say what the tree says cannot hide it: the tree is printed.
        let mut r = rule("amount > 0");
        r.source = "amount > 1000000".into();
        assert_eq!(print(&r.expr), "amount > 0");
        // Invisible characters in text are shown as escapes.
        assert_eq!(
            print(&rule("payee != \"a\\u202eb\"").expr),
            "payee != \"a\\U0000202Eb\""
        );
    }
}
