//! Contracts: signed records of a scenario — the data, never code.

use alloc::string::String;
use alloc::vec::Vec;

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::crypto::hash::{Domain, Hash};
use crate::crypto::{BadSignature, PublicKey, Signature, sign};
use crate::encoding::value::{Fields, MAX_KEY_BYTES, MAX_MAP_ENTRIES, ScenarioId, check_name};
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer, decode_map, encode_map};

/// Most attachment digests on one contract.
pub const MAX_ATTACHMENTS: u32 = 64;

/// What a contract carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// Public typed fields, checked against the charter's schema and rules.
    Fields(Fields),
    /// Only a digest: the data stays with the project, the chain keeps its blake3 hash.
    Digest(Hash),
}

/// A contract before its author signs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsignedContract {
    /// The scenario it belongs to.
    pub scenario: ScenarioId,
    /// Its record kind, declared in the charter.
    pub kind: String,
    /// The author's key.
    pub author: PublicKey,
    /// A per-author number that is never used twice in a scenario (replay protection).
    pub nonce: u64,
    /// When the author made it, in milliseconds since the Unix epoch (a claim; the chain bounds it).
    pub time_ms: u64,
    /// The data.
    pub body: Body,
    /// blake3 digests of attached files.
    #[serde(default)]
    pub attachments: Vec<Hash>,
}

/// A signed contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    /// The signed content.
    #[serde(flatten)]
    pub content: UnsignedContract,
    /// The author's ed25519 signature over [`UnsignedContract::signing_digest`].
    pub signature: Signature,
}

impl UnsignedContract {
    /// The digest the author signs: `Domain::Contract` over the unsigned canonical bytes.
    pub fn signing_digest(&self) -> Hash {
        Domain::Contract.hash_encoded(self)
    }
    /// Signs with `key` (which must be the author's).
    pub fn sign(self, key: &SigningKey) -> Contract {
        let signature = sign(key, &self.signing_digest());
        Contract {
            content: self,
            signature,
        }
    }
}

impl Contract {
    /// Checks the author's signature (`verify_strict`).
    pub fn verify_signature(&self) -> Result<(), BadSignature> {
        self.content
            .author
            .verify(&self.content.signing_digest(), &self.signature)
    }
    /// The `(key, digest, signature)` triple for batch verification.
    pub fn signature_item(&self) -> (PublicKey, Hash, Signature) {
        (
            self.content.author,
            self.content.signing_digest(),
            self.signature,
        )
    }
}

impl Encode for Body {
    fn encode(&self, w: &mut Writer) {
        match self {
            Body::Fields(f) => {
                w.u8(0);
                encode_map(w, f);
            }
            Body::Digest(h) => {
                w.u8(1);
                h.encode(w);
            }
        }
    }
}

impl Decode for Body {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("body tag")? {
            0 => {
                let f: Fields = decode_map(r, "fields", MAX_MAP_ENTRIES, MAX_KEY_BYTES)?;
                for k in f.keys() {
                    check_name(k, "field name")?;
                }
                Ok(Body::Fields(f))
            }
            1 => Ok(Body::Digest(Hash::decode(r)?)),
            tag => Err(DecodeError::InvalidTag { what: "body", tag }),
        }
    }
}

impl Encode for UnsignedContract {
    fn encode(&self, w: &mut Writer) {
        w.u8(crate::encoding::FORMAT_VERSION);
        self.scenario.encode(w);
        w.str(&self.kind);
        self.author.encode(w);
        w.u64(self.nonce);
        w.u64(self.time_ms);
        self.body.encode(w);
        w.seq(&self.attachments);
    }
}

impl Decode for UnsignedContract {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("contract")?;
        let c = UnsignedContract {
            scenario: ScenarioId::decode(r)?,
            kind: r.str("record kind", MAX_KEY_BYTES)?,
            author: PublicKey::decode(r)?,
            nonce: r.u64("nonce")?,
            time_ms: r.u64("time")?,
            body: Body::decode(r)?,
            attachments: r.seq("attachments", MAX_ATTACHMENTS, 32)?,
        };
        check_name(&c.kind, "record kind")?;
        Ok(c)
    }
}

impl Encode for Contract {
    fn encode(&self, w: &mut Writer) {
        self.content.encode(w);
        self.signature.encode(w);
    }
}

impl Decode for Contract {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Contract {
            content: UnsignedContract::decode(r)?,
            signature: Signature::decode(r)?,
        })
    }
}
