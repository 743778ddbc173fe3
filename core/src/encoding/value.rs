//! Typed values of contract fields, and scenario identifiers.
//!
//! Money is never a float: decimals are exact (`rust_decimal`, 96-bit mantissa, scale 0..=28) and
//! keep their scale, so `12.50` and `12.5` are different values with the same magnitude.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer, decode_map, encode_map};

/// Longest text or byte string in a field.
pub const MAX_VALUE_BYTES: u32 = 64 * 1024;
/// Most items in a list.
pub const MAX_LIST_ITEMS: u32 = 1024;
/// Most entries in a map (or fields in a record).
pub const MAX_MAP_ENTRIES: u32 = 256;
/// Longest field or map key.
pub const MAX_KEY_BYTES: u32 = 64;

/// A field value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Value {
    /// UTF-8 text.
    Text(String),
    /// A signed 64-bit integer.
    Int(i64),
    /// An exact decimal.
    Decimal(#[serde(with = "decimal_str")] Decimal),
    /// A boolean.
    Bool(bool),
    /// Raw bytes (hex in JSON).
    Bytes(#[serde(with = "crate::encoding::hex::bytes")] Vec<u8>),
    /// A list of values.
    List(Vec<Value>),
    /// A map from text keys to values.
    Map(BTreeMap<String, Value>),
}

/// The fields of a record: name → value, in canonical (ascending) order.
pub type Fields = BTreeMap<String, Value>;

impl Value {
    /// The name of this value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Text(_) => "text",
            Value::Int(_) => "int",
            Value::Decimal(_) => "decimal",
            Value::Bool(_) => "bool",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Bytes(b) => write!(f, "0x{}", crate::encoding::hex::encode(b)),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k:?}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Canonical decimal encoding: `i128` mantissa (within 96 bits) then `u8` scale (0..=28). Zero is
/// always encoded with a positive sign.
pub fn encode_decimal(d: &Decimal, w: &mut Writer) {
    w.i128(d.mantissa());
    w.u8(d.scale() as u8);
}

/// Reads a canonical decimal.
pub fn decode_decimal(r: &mut Reader<'_>) -> Result<Decimal, DecodeError> {
    let m = r.i128("decimal mantissa")?;
    let scale = r.u8("decimal scale")?;
    const MAX_MANTISSA: i128 = (1i128 << 96) - 1;
    if !(-MAX_MANTISSA..=MAX_MANTISSA).contains(&m) {
        return Err(DecodeError::Invalid {
            what: "decimal",
            why: "mantissa exceeds 96 bits",
        });
    }
    if scale > 28 {
        return Err(DecodeError::Invalid {
            what: "decimal",
            why: "scale above 28",
        });
    }
    Ok(Decimal::from_i128_with_scale(m, scale as u32))
}

impl Encode for Value {
    fn encode(&self, w: &mut Writer) {
        match self {
            Value::Text(s) => {
                w.u8(0);
                w.str(s);
            }
            Value::Int(i) => {
                w.u8(1);
                w.i64(*i);
            }
            Value::Decimal(d) => {
                w.u8(2);
                encode_decimal(d, w);
            }
            Value::Bool(b) => {
                w.u8(3);
                w.bool(*b);
            }
            Value::Bytes(b) => {
                w.u8(4);
                w.bytes(b);
            }
            Value::List(items) => {
                w.u8(5);
                w.seq(items);
            }
            Value::Map(m) => {
                w.u8(6);
                encode_map(w, m);
            }
        }
    }
}

impl Decode for Value {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("value tag")? {
            0 => Value::Text(r.str("text value", MAX_VALUE_BYTES)?),
            1 => Value::Int(r.i64("int value")?),
            2 => Value::Decimal(decode_decimal(r)?),
            3 => Value::Bool(r.bool("bool value")?),
            4 => Value::Bytes(r.bytes("bytes value", MAX_VALUE_BYTES)?.to_vec()),
            5 => Value::List(r.seq("list value", MAX_LIST_ITEMS, 2)?),
            6 => Value::Map(decode_map(r, "map value", MAX_MAP_ENTRIES, MAX_KEY_BYTES)?),
            tag => return Err(DecodeError::InvalidTag { what: "value", tag }),
        })
    }
}

/// serde helper: a decimal as its exact decimal string (`"1204000.00"`).
pub mod decimal_str {
    use alloc::string::ToString;
    use rust_decimal::Decimal;

    /// Serializes as a string.
    pub fn serialize<S: serde::Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_string())
    }
    /// Parses an exact decimal string; rejects anything that would round.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let s = <alloc::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        super::parse_decimal(&s).map_err(serde::de::Error::custom)
    }
}

/// Parses an exact decimal (`-12.50`); rejects exponents, rounding and more than 28 decimals.
pub fn parse_decimal(s: &str) -> Result<Decimal, &'static str> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let ok = !body.is_empty()
        && body.bytes().filter(|b| *b == b'.').count() <= 1
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !body.starts_with('.')
        && !body.ends_with('.');
    if !ok {
        return Err("not an exact decimal like 1204000.00");
    }
    let d = Decimal::from_str_exact(s)
        .map_err(|_| "decimal out of range (96-bit mantissa, 28 decimals)")?;
    // `-0.00` and `0.00` are one value: normalise the sign of zero.
    Ok(if d.is_zero() {
        Decimal::from_i128_with_scale(0, d.scale())
    } else {
        d
    })
}

/// A scenario identifier such as `demo/budget`: 1–128 bytes of `/`-separated segments, each of
/// lower-case ASCII letters, digits, `-`, `_` and `.`, starting with a letter or digit.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ScenarioId(String);

impl ScenarioId {
    /// Longest id in bytes.
    pub const MAX_LEN: u32 = 128;

    /// Validates an id.
    pub fn new(s: &str) -> Result<Self, DecodeError> {
        let bad = |why| DecodeError::Invalid {
            what: "scenario id",
            why,
        };
        if s.is_empty() || s.len() > Self::MAX_LEN as usize {
            return Err(bad("must be 1 to 128 bytes"));
        }
        for seg in s.split('/') {
            let first = seg.bytes().next().ok_or(bad("empty path segment"))?;
            if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
                return Err(bad("each segment starts with a-z or 0-9"));
            }
            if !seg.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            }) {
                return Err(bad("segments hold only a-z, 0-9, '-', '_' and '.'"));
            }
        }
        Ok(ScenarioId(s.to_string()))
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ScenarioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScenarioId({})", self.0)
    }
}
impl fmt::Display for ScenarioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl<'de> Deserialize<'de> for ScenarioId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <alloc::borrow::Cow<'de, str> as Deserialize>::deserialize(d)?;
        ScenarioId::new(&s).map_err(serde::de::Error::custom)
    }
}
impl Encode for ScenarioId {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.0)
    }
}
impl Decode for ScenarioId {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let s = r.str("scenario id", Self::MAX_LEN)?;
        ScenarioId::new(&s)
    }
}

/// Validates a name used for record kinds, fields and rules: 1–64 bytes of `[a-z0-9_]`, starting
/// with a letter (so it is also a CEL identifier).
pub fn check_name(s: &str, what: &'static str) -> Result<(), DecodeError> {
    let ok = !s.is_empty()
        && s.len() <= MAX_KEY_BYTES as usize
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DecodeError::Invalid {
            what,
            why: "names are 1-64 bytes of a-z, 0-9 and '_', starting with a-z",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_ids() {
        assert!(ScenarioId::new("demo/budget").is_ok());
        assert!(ScenarioId::new("acme/ledger-2025.q1").is_ok());
        for bad in ["", "/x", "x/", "Demo", "a//b", "a b", "-a"] {
            assert!(ScenarioId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_decimal("12.50").unwrap().scale(), 2);
        assert!(parse_decimal("1e5").is_err());
        assert!(parse_decimal("1.").is_err());
        assert!(parse_decimal("0.1234567890123456789012345678901").is_err());
        let z = parse_decimal("-0.00").unwrap();
        assert!(!z.is_sign_negative());
    }

    #[test]
    fn value_round_trip() {
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), Value::Int(-3));
        m.insert(
            "b".to_string(),
            Value::Decimal(parse_decimal("-1.25").unwrap()),
        );
        let v = Value::List(alloc::vec![
            Value::Map(m),
            Value::Text("x".into()),
            Value::Bool(true)
        ]);
        let b = v.to_bytes();
        assert_eq!(Value::from_bytes(&b).unwrap(), v);
    }
}
