//! Plain JSON record fields (`{"amount": "12.50", "approved": true}`) to typed values, guided by
//! the charter's schema — so people and scripts never write the tagged canonical form by hand.

use serde_json::Value as Json;
use trustchain_core::encoding::value::{Fields, Value, parse_decimal};
use trustchain_core::scenario::charter::RecordKind;
use trustchain_core::scenario::schema::FieldType;

/// Converts a JSON object into typed fields of `kind`. Errors name the field and what to write.
pub fn from_json(kind: &RecordKind, json: &Json) -> Result<Fields, String> {
    let obj = json
        .as_object()
        .ok_or("the record must be a JSON object of field names to values")?;
    let mut out = Fields::new();
    for (name, v) in obj {
        let schema = kind
            .fields
            .iter()
            .find(|f| &f.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = kind.fields.iter().map(|f| f.name.as_str()).collect();
                format!(
                    "field `{name}` is not declared for kind `{}` (fields: {})",
                    kind.name,
                    known.join(", ")
                )
            })?;
        let value = convert(&schema.ty, v).map_err(|e| format!("field `{name}`: {e}"))?;
        out.insert(name.clone(), value);
    }
    Ok(out)
}

fn convert(ty: &FieldType, v: &Json) -> Result<Value, String> {
    Ok(match (ty, v) {
        (FieldType::Text { .. }, Json::String(s)) => Value::Text(s.clone()),
        (FieldType::Int { .. }, Json::Number(n)) => Value::Int(
            n.as_i64()
                .ok_or("expected a whole number within 64-bit range")?,
        ),
        (FieldType::Decimal { .. }, Json::String(s)) => Value::Decimal(parse_decimal(s)?),
        (FieldType::Decimal { .. }, Json::Number(n)) if n.is_i64() => {
            Value::Decimal(parse_decimal(&n.to_string())?)
        }
        (FieldType::Decimal { .. }, Json::Number(_)) => {
            return Err(
                "write decimals as strings, e.g. \"12.50\", so no binary float rounding happens"
                    .into(),
            );
        }
        (FieldType::Bool, Json::Bool(b)) => Value::Bool(*b),
        (FieldType::Bytes { .. }, Json::String(s)) => Value::Bytes(
            trustchain_core::encoding::hex::decode(s, "bytes")
                .map_err(|e| format!("{e} (write bytes as hex)"))?,
        ),
        (FieldType::List { item, .. }, Json::Array(items)) => Value::List(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| convert(item, x).map_err(|e| format!("item {i}: {e}")))
                .collect::<Result<_, _>>()?,
        ),
        (FieldType::Map { value, .. }, Json::Object(m)) => Value::Map(
            m.iter()
                .map(|(k, x)| {
                    Ok((
                        k.clone(),
                        convert(value, x).map_err(|e| format!("entry {k:?}: {e}"))?,
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
        (t, other) => {
            return Err(format!(
                "expected {} but found JSON {}",
                t.name(),
                match other {
                    Json::Null => "null",
                    Json::Bool(_) => "bool",
                    Json::Number(_) => "number",
                    Json::String(_) => "string",
                    Json::Array(_) => "array",
                    Json::Object(_) => "object",
                }
            ));
        }
    })
}
