//! Field schemas: the types, ranges and enumerations a charter declares for each record kind.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::encoding::value::{
    MAX_KEY_BYTES, MAX_LIST_ITEMS, MAX_MAP_ENTRIES, MAX_VALUE_BYTES, Value, check_name,
    decode_decimal, encode_decimal,
};
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};

/// Longest description text in a charter.
pub const MAX_DESCRIPTION_BYTES: u32 = 16 * 1024;
/// Most allowed values in an enumeration.
pub const MAX_ENUM_VALUES: u32 = 256;

/// The type of a field, with its constraints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FieldType {
    /// UTF-8 text of at most `max_len` bytes; if `one_of` is non-empty, one of those values.
    Text {
        /// Longest accepted text, in bytes.
        max_len: u32,
        /// The enumeration of allowed values (empty: any text).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        one_of: Vec<String>,
    },
    /// A 64-bit integer in `[min, max]`.
    Int {
        /// Smallest accepted value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        /// Largest accepted value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    /// An exact decimal in `[min, max]` with at most `max_scale` digits after the point.
    Decimal {
        /// Smallest accepted value.
        #[serde(default, with = "opt_decimal", skip_serializing_if = "Option::is_none")]
        min: Option<Decimal>,
        /// Largest accepted value.
        #[serde(default, with = "opt_decimal", skip_serializing_if = "Option::is_none")]
        max: Option<Decimal>,
        /// Most digits after the decimal point.
        max_scale: u8,
        /// The currency its amounts are in, when it is money: a page that shows a currency sign
        /// or code next to the figure must show this one (see [`crate::verify::display`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        currency: Option<CurrencyTie>,
    },
    /// `true` or `false`.
    Bool,
    /// Raw bytes of at most `max_len`.
    Bytes {
        /// Longest accepted byte string.
        max_len: u32,
    },
    /// A list of items of one type.
    List {
        /// The items' type.
        item: Box<FieldType>,
        /// Most items.
        max_items: u32,
    },
    /// A map from text keys (at most 64 bytes) to values of one type.
    Map {
        /// The values' type.
        value: Box<FieldType>,
        /// Most entries.
        max_entries: u32,
    },
}

/// The currency a decimal field is in: what ties a displayed `¥`, `$` or `EUR` to the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurrencyTie {
    /// The record's field of this name: a required text field of the same kind whose `one_of`
    /// lists ISO 4217 codes (JSON `{"field": "currency"}`).
    Field(String),
    /// Always this ISO 4217 code (JSON `{"code": "CNY"}`).
    Code(String),
}

/// Whether `s` has the shape of an ISO 4217 alphabetic code: three ASCII capital letters.
pub fn is_currency_code(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Checks the currency ties of one record kind's fields: a tie names a required text field of
/// the same kind whose enumeration holds only ISO 4217 codes, or is itself such a code.
pub fn check_currency_ties(fields: &[FieldSchema]) -> Result<(), String> {
    use alloc::format;
    for f in fields {
        let FieldType::Decimal {
            currency: Some(tie),
            ..
        } = &f.ty
        else {
            continue;
        };
        match tie {
            CurrencyTie::Code(c) if !is_currency_code(c) => {
                return Err(format!(
                    "field `{}`: currency {c:?} is not an ISO 4217 code",
                    f.name
                ));
            }
            CurrencyTie::Code(_) => {}
            CurrencyTie::Field(name) => {
                let Some(target) = fields.iter().find(|g| &g.name == name) else {
                    return Err(format!(
                        "field `{}`: its currency field `{name}` is not declared",
                        f.name
                    ));
                };
                let codes = match &target.ty {
                    FieldType::Text { one_of, .. } if target.required => one_of,
                    _ => {
                        return Err(format!(
                            "field `{}`: its currency field `{name}` must be a required text field",
                            f.name
                        ));
                    }
                };
                if codes.is_empty() || !codes.iter().all(|c| is_currency_code(c)) {
                    return Err(format!(
                        "field `{}`: its currency field `{name}` must list ISO 4217 codes in one_of",
                        f.name
                    ));
                }
            }
        }
    }
    Ok(())
}

mod opt_decimal {
    use rust_decimal::Decimal;
    pub fn serialize<S: serde::Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => crate::encoding::value::decimal_str::serialize(d, s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Decimal>, D::Error> {
        crate::encoding::value::decimal_str::deserialize(d).map(Some)
    }
}

/// One field of a record kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSchema {
    /// The field's name (`[a-z][a-z0-9_]*`).
    pub name: String,
    /// What the field means, for the verification interface.
    #[serde(default)]
    pub description: String,
    /// Its type and constraints.
    #[serde(flatten)]
    pub ty: FieldType,
    /// Whether a record of this kind must carry it.
    #[serde(default)]
    pub required: bool,
}

/// A value that does not fit its field's schema.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {problem}")]
pub struct SchemaViolation {
    /// The offending field.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl FieldType {
    /// Checks `value` against this type; `Err` carries the problem in words.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        use alloc::format;
        match (self, value) {
            (FieldType::Text { max_len, one_of }, Value::Text(s)) => {
                if s.len() > *max_len as usize {
                    return Err(format!("text of {} bytes exceeds {max_len}", s.len()));
                }
                if !one_of.is_empty() && !one_of.iter().any(|o| o == s) {
                    return Err(format!("{s:?} is not one of {}", one_of.join(", ")));
                }
                Ok(())
            }
            (FieldType::Int { min, max }, Value::Int(i)) => {
                if min.is_some_and(|m| *i < m) || max.is_some_and(|m| *i > m) {
                    return Err(format!("{i} is outside {}", range_text(min, max)));
                }
                Ok(())
            }
            (
                FieldType::Decimal {
                    min,
                    max,
                    max_scale,
                    ..
                },
                Value::Decimal(d),
            ) => {
                if d.scale() > *max_scale as u32 {
                    return Err(format!("{d} has more than {max_scale} decimals"));
                }
                if min.is_some_and(|m| *d < m) || max.is_some_and(|m| *d > m) {
                    return Err(format!("{d} is outside {}", range_text(min, max)));
                }
                Ok(())
            }
            (FieldType::Bool, Value::Bool(_)) => Ok(()),
            (FieldType::Bytes { max_len }, Value::Bytes(b)) => {
                if b.len() > *max_len as usize {
                    return Err(format!("{} bytes exceed {max_len}", b.len()));
                }
                Ok(())
            }
            (FieldType::List { item, max_items }, Value::List(items)) => {
                if items.len() > *max_items as usize {
                    return Err(format!("{} items exceed {max_items}", items.len()));
                }
                for (i, v) in items.iter().enumerate() {
                    item.check(v).map_err(|e| format!("item {i}: {e}"))?;
                }
                Ok(())
            }
            (FieldType::Map { value, max_entries }, Value::Map(m)) => {
                if m.len() > *max_entries as usize {
                    return Err(format!("{} entries exceed {max_entries}", m.len()));
                }
                for (k, v) in m {
                    if k.len() > MAX_KEY_BYTES as usize {
                        return Err(format!("key {k:?} longer than {MAX_KEY_BYTES} bytes"));
                    }
                    value.check(v).map_err(|e| format!("entry {k:?}: {e}"))?;
                }
                Ok(())
            }
            (t, v) => Err(format!("expected {}, found {}", t.name(), v.type_name())),
        }
    }

    /// The type's name as the verification interface shows it.
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::Text { .. } => "text",
            FieldType::Int { .. } => "int",
            FieldType::Decimal { .. } => "decimal",
            FieldType::Bool => "bool",
            FieldType::Bytes { .. } => "bytes",
            FieldType::List { .. } => "list",
            FieldType::Map { .. } => "map",
        }
    }

    fn validate(&self, depth: u32) -> Result<(), DecodeError> {
        let bad = |why| {
            Err(DecodeError::Invalid {
                what: "field type",
                why,
            })
        };
        match self {
            FieldType::Text { max_len, one_of } => {
                if *max_len > MAX_VALUE_BYTES {
                    return bad("text max_len above 65536");
                }
                if one_of.len() > MAX_ENUM_VALUES as usize {
                    return bad("more than 256 enumeration values");
                }
            }
            FieldType::Int {
                min: Some(a),
                max: Some(b),
            } if a > b => return bad("min above max"),
            FieldType::Decimal {
                min,
                max,
                max_scale,
                currency,
            } => {
                if *max_scale > 28 {
                    return bad("max_scale above 28");
                }
                match currency {
                    Some(CurrencyTie::Code(c)) if !is_currency_code(c) => {
                        return bad("currency code is not three capital letters");
                    }
                    Some(CurrencyTie::Field(f)) => check_name(f, "currency field")?,
                    _ => {}
                }
                if let (Some(a), Some(b)) = (min, max)
                    && a > b
                {
                    return bad("min above max");
                }
            }
            FieldType::Bytes { max_len } if *max_len > MAX_VALUE_BYTES => {
                return bad("bytes max_len above 65536");
            }
            FieldType::List { item, max_items } => {
                if *max_items > MAX_LIST_ITEMS {
                    return bad("list max_items above 1024");
                }
                if depth >= 4 {
                    return bad("lists nested more than 4 deep");
                }
                item.validate(depth + 1)?;
            }
            FieldType::Map { value, max_entries } => {
                if *max_entries > MAX_MAP_ENTRIES {
                    return bad("map max_entries above 256");
                }
                if depth >= 4 {
                    return bad("maps nested more than 4 deep");
                }
                value.validate(depth + 1)?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn range_text<T: fmt::Display>(min: &Option<T>, max: &Option<T>) -> String {
    use alloc::format;
    match (min, max) {
        (Some(a), Some(b)) => format!("[{a}, {b}]"),
        (Some(a), None) => format!("[{a}, ∞)"),
        (None, Some(b)) => format!("(-∞, {b}]"),
        (None, None) => String::from("(-∞, ∞)"),
    }
}

impl FieldSchema {
    /// Checks names and bounds (used when a charter is built or decoded).
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_name(&self.name, "field name")?;
        if self.description.len() > MAX_DESCRIPTION_BYTES as usize {
            return Err(DecodeError::TooLong {
                what: "field description",
                len: self.description.len() as u64,
                max: MAX_DESCRIPTION_BYTES as u64,
            });
        }
        self.ty.validate(0)
    }
}

fn encode_opt_i64(w: &mut Writer, v: &Option<i64>) {
    match v {
        None => w.u8(0),
        Some(x) => {
            w.u8(1);
            w.i64(*x);
        }
    }
}
fn decode_opt_i64(r: &mut Reader<'_>) -> Result<Option<i64>, DecodeError> {
    match r.u8("optional int")? {
        0 => Ok(None),
        1 => Ok(Some(r.i64("int bound")?)),
        tag => Err(DecodeError::InvalidTag {
            what: "optional int",
            tag,
        }),
    }
}
fn encode_opt_dec(w: &mut Writer, v: &Option<Decimal>) {
    match v {
        None => w.u8(0),
        Some(x) => {
            w.u8(1);
            encode_decimal(x, w);
        }
    }
}
fn decode_opt_dec(r: &mut Reader<'_>) -> Result<Option<Decimal>, DecodeError> {
    match r.u8("optional decimal")? {
        0 => Ok(None),
        1 => Ok(Some(decode_decimal(r)?)),
        tag => Err(DecodeError::InvalidTag {
            what: "optional decimal",
            tag,
        }),
    }
}

impl Encode for FieldType {
    fn encode(&self, w: &mut Writer) {
        match self {
            FieldType::Text { max_len, one_of } => {
                w.u8(0);
                w.u32(*max_len);
                w.seq(one_of);
            }
            FieldType::Int { min, max } => {
                w.u8(1);
                encode_opt_i64(w, min);
                encode_opt_i64(w, max);
            }
            FieldType::Decimal {
                min,
                max,
                max_scale,
                currency,
            } => {
                // A decimal without a currency keeps tag 2 (its bytes are what they always
                // were); one tied to a currency is tag 7, the same payload and the tie.
                w.u8(if currency.is_some() { 7 } else { 2 });
                encode_opt_dec(w, min);
                encode_opt_dec(w, max);
                w.u8(*max_scale);
                match currency {
                    None => {}
                    Some(CurrencyTie::Field(f)) => {
                        w.u8(0);
                        w.str(f);
                    }
                    Some(CurrencyTie::Code(c)) => {
                        w.u8(1);
                        w.str(c);
                    }
                }
            }
            FieldType::Bool => w.u8(3),
            FieldType::Bytes { max_len } => {
                w.u8(4);
                w.u32(*max_len);
            }
            FieldType::List { item, max_items } => {
                w.u8(5);
                item.encode(w);
                w.u32(*max_items);
            }
            FieldType::Map { value, max_entries } => {
                w.u8(6);
                value.encode(w);
                w.u32(*max_entries);
            }
        }
    }
}

struct EnumText(String);
impl Decode for EnumText {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(EnumText(r.str("enumeration value", MAX_VALUE_BYTES)?))
    }
}

impl Decode for FieldType {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let t = match r.u8("field type tag")? {
            0 => FieldType::Text {
                max_len: r.u32("text max_len")?,
                one_of: r
                    .seq::<EnumText>("enumeration", MAX_ENUM_VALUES, 4)?
                    .into_iter()
                    .map(|e| e.0)
                    .collect(),
            },
            1 => FieldType::Int {
                min: decode_opt_i64(r)?,
                max: decode_opt_i64(r)?,
            },
            2 => FieldType::Decimal {
                min: decode_opt_dec(r)?,
                max: decode_opt_dec(r)?,
                max_scale: r.u8("decimal max_scale")?,
                currency: None,
            },
            7 => FieldType::Decimal {
                min: decode_opt_dec(r)?,
                max: decode_opt_dec(r)?,
                max_scale: r.u8("decimal max_scale")?,
                currency: Some(match r.u8("currency tie")? {
                    0 => CurrencyTie::Field(r.str("currency field", MAX_KEY_BYTES)?),
                    1 => CurrencyTie::Code(r.str("currency code", 3)?),
                    tag => {
                        return Err(DecodeError::InvalidTag {
                            what: "currency tie",
                            tag,
                        });
                    }
                }),
            },
            3 => FieldType::Bool,
            4 => FieldType::Bytes {
                max_len: r.u32("bytes max_len")?,
            },
            5 => {
                let item = r.nested(|r| FieldType::decode(r))?;
                FieldType::List {
                    item: Box::new(item),
                    max_items: r.u32("list max_items")?,
                }
            }
            6 => {
                let value = r.nested(|r| FieldType::decode(r))?;
                FieldType::Map {
                    value: Box::new(value),
                    max_entries: r.u32("map max_entries")?,
                }
            }
            tag => {
                return Err(DecodeError::InvalidTag {
                    what: "field type",
                    tag,
                });
            }
        };
        Ok(t)
    }
}

impl Encode for FieldSchema {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.name);
        w.str(&self.description);
        self.ty.encode(w);
        w.bool(self.required);
    }
}

impl Decode for FieldSchema {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let f = FieldSchema {
            name: r.str("field name", MAX_KEY_BYTES)?,
            description: r.str("field description", MAX_DESCRIPTION_BYTES)?,
            ty: FieldType::decode(r)?,
            required: r.bool("field required")?,
        };
        f.validate()?;
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Decode;
    use alloc::vec;

    fn decimal(currency: Option<CurrencyTie>) -> FieldType {
        FieldType::Decimal {
            min: None,
            max: None,
            max_scale: 2,
            currency,
        }
    }

    fn field(name: &str, ty: FieldType, required: bool) -> FieldSchema {
        FieldSchema {
            name: name.into(),
            description: String::new(),
            ty,
            required,
        }
    }

    fn hex(b: &[u8]) -> String {
        crate::encoding::hex::encode(b)
    }

    #[test]
    fn an_untied_decimal_keeps_its_encoding() {
        // Tag 2, as before the tie existed: charters written before keep their bytes and hashes.
        assert_eq!(hex(&decimal(None).to_bytes()), "02000002");
    }

    #[test]
    fn a_currency_tie_is_tag_7_and_round_trips() {
        let by_field = decimal(Some(CurrencyTie::Field("currency".into())));
        let b = by_field.to_bytes();
        assert_eq!(hex(&b), "07000002000000000863757272656e6379");
        assert_eq!(FieldType::from_bytes(&b).unwrap(), by_field);
        let fixed = decimal(Some(CurrencyTie::Code("CNY".into())));
        let b = fixed.to_bytes();
        assert_eq!(hex(&b), "070000020100000003434e59");
        assert_eq!(FieldType::from_bytes(&b).unwrap(), fixed);
        // An unknown tie tag, or a code that is no code, is refused.
        assert!(
            FieldType::from_bytes(&crate::encoding::hex::decode("070000020200", "t").unwrap())
                .is_err()
        );
        let bad = field(
            "amount",
            decimal(Some(CurrencyTie::Code("cny".into()))),
            true,
        );
        assert!(FieldSchema::from_bytes(&bad.to_bytes()).is_err());
        // JSON form.
        let j = serde_json::to_string(&by_field).unwrap();
        assert_eq!(
            j,
            r#"{"type":"decimal","max_scale":2,"currency":{"field":"currency"}}"#
        );
        assert_eq!(serde_json::from_str::<FieldType>(&j).unwrap(), by_field);
        let j = r#"{"type":"decimal","max_scale":2}"#;
        assert_eq!(serde_json::from_str::<FieldType>(j).unwrap(), decimal(None));
    }

    #[test]
    fn ties_must_name_a_required_field_of_codes() {
        let codes = || FieldType::Text {
            max_len: 3,
            one_of: vec!["CNY".into(), "EUR".into()],
        };
        let tied = || {
            field(
                "amount",
                decimal(Some(CurrencyTie::Field("currency".into()))),
                true,
            )
        };
        assert!(check_currency_ties(&[tied(), field("currency", codes(), true)]).is_ok());
        assert!(check_currency_ties(&[tied()]).is_err());
        assert!(check_currency_ties(&[tied(), field("currency", codes(), false)]).is_err());
        let free = FieldType::Text {
            max_len: 3,
            one_of: vec![],
        };
        assert!(check_currency_ties(&[tied(), field("currency", free, true)]).is_err());
        let words = FieldType::Text {
            max_len: 10,
            one_of: vec!["yuan".into()],
        };
        assert!(check_currency_ties(&[tied(), field("currency", words, true)]).is_err());
        let int = FieldType::Int {
            min: None,
            max: None,
        };
        assert!(check_currency_ties(&[tied(), field("currency", int, true)]).is_err());
        assert!(
            check_currency_ties(&[field(
                "amount",
                decimal(Some(CurrencyTie::Code("CNY".into()))),
                true
            )])
            .is_ok()
        );
        assert!(
            check_currency_ties(&[field(
                "amount",
                decimal(Some(CurrencyTie::Code("C1Y".into()))),
                true
            )])
            .is_err()
        );
    }
}
