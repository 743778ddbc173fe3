//! Lower-case hex for digests, keys and signatures in JSON and on the command line.

use alloc::string::String;
use alloc::vec::Vec;

use crate::encoding::DecodeError;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex of any even length.
pub fn decode(s: &str, what: &'static str) -> Result<Vec<u8>, DecodeError> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return Err(DecodeError::Invalid {
            what,
            why: "odd number of hex digits",
        });
    }
    b.chunks(2)
        .map(|p| match (nibble(p[0]), nibble(p[1])) {
            (Some(h), Some(l)) => Ok(h << 4 | l),
            _ => Err(DecodeError::Invalid {
                what,
                why: "not a hex digit",
            }),
        })
        .collect()
}

/// Decodes exactly `N` bytes of hex.
pub fn decode_array<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], DecodeError> {
    if s.len() != N * 2 {
        return Err(DecodeError::Invalid {
            what,
            why: "wrong number of hex digits",
        });
    }
    let v = decode(s, what)?;
    let mut out = [0u8; N];
    out.copy_from_slice(&v);
    Ok(out)
}

/// Implements serde for a type with `to_hex()` and `from_hex(&str)` as a hex string.
macro_rules! serde_hex {
    ($ty:ty, $what:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <alloc::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                <$ty>::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_hex;

/// serde helper: `Vec<u8>` as a hex string (`#[serde(with = "crate::encoding::hex::bytes")]`).
pub mod bytes {
    use alloc::vec::Vec;

    /// Serializes bytes as hex.
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(v))
    }
    /// Deserializes bytes from hex.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <alloc::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        super::decode(&s, "bytes").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let b = [0u8, 1, 0xab, 0xff];
        assert_eq!(super::encode(&b), "0001abff");
        assert_eq!(super::decode("0001ABff", "t").unwrap(), b);
        assert!(super::decode("0g", "t").is_err());
        assert!(super::decode("abc", "t").is_err());
    }
}
