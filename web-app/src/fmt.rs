//! Formatting for people: times, hashes, numbers and field values. Pure functions, tested natively.

use trustchain_core::encoding::value::Value;

/// A 64-digit hex hash shortened for reading: `3bd1a2c4…9f0e` (the full value stays in a tooltip).
pub fn short_hex(hex: &str) -> String {
    if hex.len() <= 16 {
        return hex.to_string();
    }
    format!("{}…{}", &hex[..8], &hex[hex.len() - 4..])
}

/// Thousands separators: `1204000` → `1,204,000`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Milliseconds since the Unix epoch as (year, month, day, hour, minute, second), UTC.
fn civil(ms: u64) -> (i64, u32, u32, i64, i64, i64) {
    let secs = (ms / 1000) as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    (y, mo, d, t / 3600, t % 3600 / 60, t % 60)
}

/// Milliseconds since the Unix epoch as `2026-11-25 16:08:36 UTC`.
pub fn utc(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

/// Milliseconds since the Unix epoch as RFC 3339 with milliseconds: `2026-11-25T16:08:36.706Z`.
pub fn rfc3339(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        ms % 1000
    )
}

/// How long ago `then_ms` was at `now_ms`, coarsely: `just now`, `12 s ago`, `4 min ago`, …
pub fn ago(now_ms: u64, then_ms: u64) -> String {
    if then_ms > now_ms {
        let ahead = (then_ms - now_ms) / 1000;
        return if ahead < 2 {
            "just now".into()
        } else {
            format!("{ahead} s ahead of this clock")
        };
    }
    let s = (now_ms - then_ms) / 1000;
    match s {
        0..=1 => "just now".into(),
        2..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

/// Seconds as `3 d 4 h`, `2 h 5 min`, `42 s`.
pub fn duration(s: u64) -> String {
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A decimal string with thousands separators in its integer part: `-1204000.50` →
/// `-1,204,000.50`. Digits are never changed, only grouped.
pub fn group_decimal(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    if !int.bytes().all(|b| b.is_ascii_digit()) || int.is_empty() {
        return s.to_string();
    }
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A field value as text for a table cell: text unquoted, decimals grouped (exact digits kept).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Int(i) => {
            if *i < 0 {
                format!("-{}", thousands(i.unsigned_abs()))
            } else {
                thousands(*i as u64)
            }
        }
        Value::Decimal(d) => group_decimal(&d.to_string()),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        other => other.to_string(),
    }
}

/// A percentage with one decimal: `66.7 %`.
pub fn percent(part: u128, total: u128) -> String {
    if total == 0 {
        return "0 %".into();
    }
    let tenths = part * 1000 / total;
    format!("{}.{} %", tenths / 10, tenths % 10)
}

/// Percent-encodes a scenario id (or any text) for one URL path segment or query value:
/// everything but unreserved characters (`A-Z a-z 0-9 - _ . ~`), so `/` becomes `%2F`.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub fn decode_component(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        if b[i] == b'+' {
            out.push(b' ');
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustchain_core::encoding::value::parse_decimal;

    #[test]
    fn times() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(rfc3339(1_795_623_716_706), "2026-11-25T16:21:56.706Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(ago(10_000, 9_000), "just now");
        assert_eq!(ago(100_000, 40_000), "1 min ago");
        assert_eq!(duration(3_725), "1 h 2 min");
    }

    #[test]
    fn numbers() {
        assert_eq!(thousands(1_204_000), "1,204,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(group_decimal("-1204000.50"), "-1,204,000.50");
        assert_eq!(group_decimal("12.5"), "12.5");
        assert_eq!(
            value_text(&Value::Decimal(parse_decimal("3120000.00").unwrap())),
            "3,120,000.00"
        );
        assert_eq!(value_text(&Value::Int(-1234)), "-1,234");
        assert_eq!(percent(2, 3), "66.6 %");
        assert_eq!(percent(1, 1), "100.0 %");
    }

    #[test]
    fn hashes_and_urls() {
        let h = "3bd1a2c4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff00";
        assert_eq!(short_hex(h), "3bd1a2c4…ff00");
        assert_eq!(short_hex("abcd"), "abcd");
        assert_eq!(encode_component("demo/budget"), "demo%2Fbudget");
        assert_eq!(decode_component("demo%2Fbudget"), "demo/budget");
        assert_eq!(decode_component("demo%2fbudget"), "demo/budget");
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("a+b%20c"), "a b c");
        let url = "http://127.0.0.1:8080/v1/x?format=receipt";
        assert_eq!(decode_component(&encode_component(url)), url);
    }
}
