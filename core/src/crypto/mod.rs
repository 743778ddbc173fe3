//! Keys and signatures: ed25519 with `verify_strict`, and batch verification for many at once.
//!
//! Validity is defined by `verify_strict` (RFC 8032 with small-order keys and `R` rejected). Batch
//! verification ([`verify_batch`]) is a fast path: when it fails, each signature is checked on its
//! own so the caller learns which one is bad. See `docs/encoding.md` for why batch acceptance is
//! used only where a signer could at worst make its own signature unverifiable.
//!
//! Submodule: [`hash`], the hash type and the domain-separation table every hash goes through.

pub mod hash;

use alloc::vec::Vec;
use core::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::crypto::hash::Hash;
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};

/// An ed25519 public key (32 bytes, a valid curve point that is not of small order).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

/// An ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

/// A signature that does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify under key {key}")]
pub struct BadSignature {
    /// The key the signature was checked against.
    pub key: PublicKey,
}

impl PublicKey {
    /// Checks that `bytes` are a usable ed25519 public key.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, DecodeError> {
        let vk = VerifyingKey::from_bytes(&bytes).map_err(|_| DecodeError::Invalid {
            what: "public key",
            why: "not a point on the curve",
        })?;
        if vk.is_weak() {
            return Err(DecodeError::Invalid {
                what: "public key",
                why: "small-order (weak) key",
            });
        }
        // One point, one encoding: a key is also an identity (author, owner, validator).
        if vk.to_edwards().compress().to_bytes() != bytes {
            return Err(DecodeError::Invalid {
                what: "public key",
                why: "non-canonical point encoding",
            });
        }
        Ok(PublicKey(bytes))
    }
    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Lower-case hex.
    pub fn to_hex(&self) -> alloc::string::String {
        crate::encoding::hex::encode(&self.0)
    }
    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, DecodeError> {
        Self::from_bytes(crate::encoding::hex::decode_array(s, "public key")?)
    }
    /// The public key of a signing key.
    pub fn of(key: &SigningKey) -> Self {
        PublicKey(key.verifying_key().to_bytes())
    }
    fn verifying_key(&self) -> VerifyingKey {
        // Checked at construction.
        VerifyingKey::from_bytes(&self.0).expect("validated at construction")
    }
    /// Verifies `sig` over the 32-byte `digest` with `verify_strict`.
    pub fn verify(&self, digest: &Hash, sig: &Signature) -> Result<(), BadSignature> {
        let s = ed25519_dalek::Signature::from_bytes(&sig.0);
        self.verifying_key()
            .verify_strict(digest.as_bytes(), &s)
            .map_err(|_| BadSignature { key: *self })
    }
}

/// Signs the 32-byte `digest`.
pub fn sign(key: &SigningKey, digest: &Hash) -> Signature {
    Signature(key.sign(digest.as_bytes()).to_bytes())
}

/// Verifies many `(key, digest, signature)` triples. `Ok` when all verify; otherwise the index of
/// the first that fails on its own.
pub fn verify_batch(items: &[(PublicKey, Hash, Signature)]) -> Result<(), (usize, BadSignature)> {
    if items.is_empty() {
        return Ok(());
    }
    if items.len() > 1 {
        let msgs: Vec<&[u8]> = items
            .iter()
            .map(|(_, d, _)| d.as_bytes().as_slice())
            .collect();
        let sigs: Vec<ed25519_dalek::Signature> = items
            .iter()
            .map(|(_, _, s)| ed25519_dalek::Signature::from_bytes(&s.0))
            .collect();
        let keys: Vec<VerifyingKey> = items.iter().map(|(k, _, _)| k.verifying_key()).collect();
        if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok() {
            return Ok(());
        }
    }
    for (i, (k, d, s)) in items.iter().enumerate() {
        k.verify(d, s).map_err(|e| (i, e))?;
    }
    Ok(())
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl Signature {
    /// Lower-case hex.
    pub fn to_hex(&self) -> alloc::string::String {
        crate::encoding::hex::encode(&self.0)
    }
    /// Parses 128 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, DecodeError> {
        crate::encoding::hex::decode_array(s, "signature").map(Signature)
    }
}

crate::encoding::hex::serde_hex!(PublicKey, "public key");
crate::encoding::hex::serde_hex!(Signature, "signature");

impl Encode for PublicKey {
    fn encode(&self, w: &mut Writer) {
        w.raw(&self.0)
    }
}
impl Decode for PublicKey {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        PublicKey::from_bytes(r.array("public key")?)
    }
}
impl Encode for Signature {
    fn encode(&self, w: &mut Writer) {
        w.raw(&self.0)
    }
}
impl Decode for Signature {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Signature(r.array("signature")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hash::Domain;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn sign_verify_and_batch_pinpoints_failure() {
        let items: Vec<_> = (1..6u8)
            .map(|i| {
                let k = key(i);
                let d = Domain::Contract.hash(&[i]);
                (PublicKey::of(&k), d, sign(&k, &d))
            })
            .collect();
        assert!(verify_batch(&items).is_ok());
        let mut bad = items.clone();
        bad[3].2.0[0] ^= 1;
        assert_eq!(verify_batch(&bad).unwrap_err().0, 3);
    }

    #[test]
    fn non_canonical_keys_are_rejected() {
        // y = p + 1 (non-canonical encoding of the point with y = 1... which is also weak) and
        // y = 2^255 - 1 region: any y >= p is non-canonical.
        let mut b = [0xffu8; 32];
        b[31] = 0x7f;
        assert!(PublicKey::from_bytes(b).is_err());
        let k = SigningKey::from_bytes(&[7; 32]);
        assert!(PublicKey::from_bytes(PublicKey::of(&k).0).is_ok());
    }

    #[test]
    fn weak_keys_are_rejected() {
        // The identity point encodes as 1 followed by zeros: small order.
        let mut b = [0u8; 32];
        b[0] = 1;
        assert!(PublicKey::from_bytes(b).is_err());
    }
}
