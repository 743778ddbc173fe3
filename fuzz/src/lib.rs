//! Helpers shared by the fuzz targets.

use trustchain_core::chain::validators::ValidatorSet;
use trustchain_core::encoding::{Decode, Encode};
use trustchain_core::scenario::charter::Charter;

/// Decodes `data` as `T`; when it decodes, the value must encode back to exactly `data`
/// (a decoder that accepts two byte strings for one value breaks signatures and hashes).
pub fn round_trip<T: Decode + Encode>(data: &[u8]) -> Option<T> {
    let v = T::from_bytes(data).ok()?;
    assert_eq!(
        v.to_bytes(),
        data,
        "decoded a non-canonical encoding of {}",
        core::any::type_name::<T>()
    );
    Some(v)
}

const RECEIPT_VECTOR: &str = include_str!("../../core/tests/vectors/receipt.json");

/// The chain of the receipt vector.
pub const CHAIN_ID: &str = "trustchain-test";

fn vector_hex(field: &str) -> Vec<u8> {
    let tag = format!("\"{field}\": \"");
    let start = RECEIPT_VECTOR.find(&tag).expect("field in receipt.json") + tag.len();
    let end = start + RECEIPT_VECTOR[start..].find('"').expect("closing quote");
    trustchain_core::encoding::hex::decode(&RECEIPT_VECTOR[start..end], "vector").expect("hex")
}

/// The trusted validator set of the receipt vector.
pub fn validator_set() -> ValidatorSet {
    ValidatorSet::from_bytes(&vector_hex("validator_set_hex")).expect("validator set")
}

/// The charter of the receipt vector's scenario.
pub fn charter() -> Charter {
    Charter::from_bytes(&vector_hex("charter_hex")).expect("charter")
}
