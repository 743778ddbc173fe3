//! Receipts: a [`RecordProof`] in its canonical bytes, and as a base64url string for URLs.

use alloc::string::String;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::encoding::{Decode, DecodeError, Encode, Limits};
use crate::verify::proof::RecordProof;

/// Largest receipt accepted, in bytes (before base64): the largest entry a relay stores
/// ([`Limits::DEFAULT`], 1 MiB) plus room for the proof around it (paths, checkpoint signatures,
/// a certificate of up to 1,024 votes).
pub const MAX_RECEIPT_BYTES: usize = Limits::DEFAULT.max_total + 128 * 1024;

/// The limits receipts are decoded with: those of the stored entry, so every record a relay
/// accepts has a receipt that decodes.
pub const RECEIPT_LIMITS: Limits = Limits {
    max_total: MAX_RECEIPT_BYTES,
    ..Limits::DEFAULT
};

/// The receipt's bytes.
pub fn to_bytes(proof: &RecordProof) -> alloc::vec::Vec<u8> {
    proof.to_bytes()
}

/// Reads a receipt's bytes.
pub fn from_bytes(bytes: &[u8]) -> Result<RecordProof, DecodeError> {
    RecordProof::from_bytes_with(bytes, RECEIPT_LIMITS)
}

/// The receipt as unpadded base64url text.
pub fn to_base64url(proof: &RecordProof) -> String {
    URL_SAFE_NO_PAD.encode(to_bytes(proof))
}

/// Reads a base64url receipt (surrounding whitespace is ignored).
pub fn from_base64url(text: &str) -> Result<RecordProof, DecodeError> {
    let text = text.trim();
    if text.len() > MAX_RECEIPT_BYTES / 3 * 4 + 4 {
        return Err(DecodeError::TooLarge {
            len: text.len(),
            max: MAX_RECEIPT_BYTES / 3 * 4 + 4,
        });
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| DecodeError::Invalid {
            what: "receipt",
            why: "not unpadded base64url",
        })?;
    from_bytes(&bytes)
}
