#![no_main]
//! The rule compiler (CEL subset) faces charter authors' source text: it never panics, and what it
//! accepts survives its canonical encoding and evaluates (pass, unresolved or violation) without
//! panicking on a fixed record.

use libfuzzer_sys::fuzz_target;
use trustchain_core::encoding::value::{Fields, Value, parse_decimal};
use trustchain_core::encoding::{Decode, Encode};
use trustchain_core::scenario::rules::{NoLookup, Rule, compile, evaluate};
use trustchain_core::scenario::schema::{FieldSchema, FieldType};

fn field(name: &str, ty: FieldType, required: bool) -> FieldSchema {
    FieldSchema {
        name: name.into(),
        description: String::new(),
        ty,
        required,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let fields = [
        field(
            "amount",
            FieldType::Decimal {
                min: None,
                max: None,
                max_scale: 4,
                currency: None,
            },
            true,
        ),
        field(
            "count",
            FieldType::Int {
                min: None,
                max: None,
            },
            true,
        ),
        field(
            "payee",
            FieldType::Text {
                max_len: 64,
                one_of: vec![],
            },
            true,
        ),
        field("approved", FieldType::Bool, true),
        field(
            "note",
            FieldType::Text {
                max_len: 280,
                one_of: vec![],
            },
            false,
        ),
        field(
            "tags",
            FieldType::List {
                item: Box::new(FieldType::Text {
                    max_len: 16,
                    one_of: vec![],
                }),
                max_items: 8,
            },
            false,
        ),
    ];
    let Ok(rule) = compile("fuzzed", source, "fuzzed rule", &fields) else {
        return;
    };
    let bytes = rule.to_bytes();
    let back = Rule::from_bytes(&bytes).expect("a compiled rule decodes");
    assert_eq!(back, rule);
    let mut record = Fields::new();
    record.insert(
        "amount".into(),
        Value::Decimal(parse_decimal("1204000.50").unwrap()),
    );
    record.insert("count".into(), Value::Int(i64::MAX));
    record.insert("payee".into(), Value::Text("Jiangbei Roofing Ltd.".into()));
    record.insert("approved".into(), Value::Bool(true));
    record.insert("tags".into(), Value::List(vec![Value::Text("roof".into())]));
    let _ = evaluate(&rule, &record, &NoLookup);
});
