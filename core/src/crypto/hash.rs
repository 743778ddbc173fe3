//! Hashes and the domain-separation table.
//!
//! Every hash in Trustchain is `blake3::keyed_hash(domain_key, input)`, where each domain's key is
//! `blake3::derive_key(context, b"")` for the context string in [`Domain::context`]. Keyed hashing
//! with a precomputed key keeps a Merkle node hash at exactly one blake3 compression of a 64-byte
//! input, while no two domains can ever produce the same digest for the same input. The keys are
//! written out below so no verifier pays for deriving them; a test checks them against blake3.

use core::fmt;

use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};

/// A 32-byte blake3 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero digest, used as "empty" in the anchor map.
    pub const ZERO: Hash = Hash([0; 32]);

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> alloc::string::String {
        crate::encoding::hex::encode(&self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self, DecodeError> {
        crate::encoding::hex::decode_array(s, "hash").map(Hash)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Encode for Hash {
    fn encode(&self, w: &mut Writer) {
        w.raw(&self.0)
    }
}

impl Decode for Hash {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Hash(r.array("hash")?))
    }
}

crate::encoding::hex::serde_hex!(Hash, "hash");

/// The domain-separation table. Adding a domain is a new context string; an existing one never
/// changes (that would change every hash in that domain).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// A scenario log leaf: the canonical bytes of a log entry.
    LogLeaf,
    /// A scenario log interior node: `left || right`, 64 bytes.
    LogNode,
    /// An anchor-map leaf: `key || checkpoint digest`, 64 bytes.
    AnchorLeaf,
    /// An anchor-map interior node: `left || right`, 64 bytes.
    AnchorNode,
    /// The anchor-map key of a scenario: its id's bytes.
    AnchorKey,
    /// What a contract's author signs: the contract's unsigned canonical bytes.
    Contract,
    /// What a charter's owner signs: the charter's unsigned canonical bytes.
    Charter,
    /// A checkpoint's digest (what the anchor map holds and replicas sign).
    Checkpoint,
    /// A main block's hash: the header's canonical bytes.
    BlockHeader,
    /// A validator set's hash.
    ValidatorSet,
    /// What a validator signs to commit a block.
    Vote,
    /// What a node and its operator sign to register the node in the PoSR node registry.
    PosrRegistration,
    /// What an observer signs in a PoSR observation report.
    PosrReport,
    /// A beacon commitment: `epoch || validator || secret`.
    BeaconSecret,
    /// What a validator signs to publish its beacon commitment.
    BeaconCommit,
    /// An epoch's beacon value over the previous value and the sorted reveals.
    BeaconValue,
    /// What a validator signs for a consensus vote that is not a commit: a prevote, or a nil
    /// precommit. Never the [`Domain::Vote`] digest, so it can never count in a certificate.
    ConsensusVote,
    /// What a proposer signs to propose a block in a consensus round.
    ConsensusProposal,
    /// The draw that picks a round's proposer in proportion to weight.
    Proposer,
    /// A main block's body: the anchored checkpoints and the node-registry reports.
    BlockBody,
    /// Overlay placement draws: a member's rendezvous ticket for a scenario, and the seeded tie
    /// break among equally healthy hub candidates (see `placement`). Not signed.
    Placement,
}

impl Domain {
    /// Every domain, for the table in the docs and the test vectors.
    pub const ALL: [Domain; 21] = [
        Domain::LogLeaf,
        Domain::LogNode,
        Domain::AnchorLeaf,
        Domain::AnchorNode,
        Domain::AnchorKey,
        Domain::Contract,
        Domain::Charter,
        Domain::Checkpoint,
        Domain::BlockHeader,
        Domain::ValidatorSet,
        Domain::Vote,
        Domain::PosrRegistration,
        Domain::PosrReport,
        Domain::BeaconSecret,
        Domain::BeaconCommit,
        Domain::BeaconValue,
        Domain::ConsensusVote,
        Domain::ConsensusProposal,
        Domain::Proposer,
        Domain::BlockBody,
        Domain::Placement,
    ];

    /// The blake3 `derive_key` context string of this domain.
    pub const fn context(self) -> &'static str {
        match self {
            Domain::LogLeaf => "trustchain v1 log leaf",
            Domain::LogNode => "trustchain v1 log node",
            Domain::AnchorLeaf => "trustchain v1 anchor leaf",
            Domain::AnchorNode => "trustchain v1 anchor node",
            Domain::AnchorKey => "trustchain v1 anchor key",
            Domain::Contract => "trustchain v1 contract",
            Domain::Charter => "trustchain v1 charter",
            Domain::Checkpoint => "trustchain v1 checkpoint",
            Domain::BlockHeader => "trustchain v1 block header",
            Domain::ValidatorSet => "trustchain v1 validator set",
            Domain::Vote => "trustchain v1 vote",
            Domain::PosrRegistration => "trustchain v1 posr registration",
            Domain::PosrReport => "trustchain v1 posr report",
            Domain::BeaconSecret => "trustchain v1 beacon secret",
            Domain::BeaconCommit => "trustchain v1 beacon commit",
            Domain::BeaconValue => "trustchain v1 beacon value",
            Domain::ConsensusVote => "trustchain v1 consensus vote",
            Domain::ConsensusProposal => "trustchain v1 consensus proposal",
            Domain::Proposer => "trustchain v1 proposer",
            Domain::BlockBody => "trustchain v1 block body",
            Domain::Placement => "trustchain v1 placement",
        }
    }

    /// The 32-byte key: `blake3::derive_key(self.context(), b"")`, precomputed.
    pub const fn key(self) -> &'static [u8; 32] {
        match self {
            Domain::LogLeaf => &KEYS[0],
            Domain::LogNode => &KEYS[1],
            Domain::AnchorLeaf => &KEYS[2],
            Domain::AnchorNode => &KEYS[3],
            Domain::AnchorKey => &KEYS[4],
            Domain::Contract => &KEYS[5],
            Domain::Charter => &KEYS[6],
            Domain::Checkpoint => &KEYS[7],
            Domain::BlockHeader => &KEYS[8],
            Domain::ValidatorSet => &KEYS[9],
            Domain::Vote => &KEYS[10],
            Domain::PosrRegistration => &KEYS[11],
            Domain::PosrReport => &KEYS[12],
            Domain::BeaconSecret => &KEYS[13],
            Domain::BeaconCommit => &KEYS[14],
            Domain::BeaconValue => &KEYS[15],
            Domain::ConsensusVote => &KEYS[16],
            Domain::ConsensusProposal => &KEYS[17],
            Domain::Proposer => &KEYS[18],
            Domain::BlockBody => &KEYS[19],
            Domain::Placement => &KEYS[20],
        }
    }

    /// Hashes `input` in this domain.
    #[inline]
    pub fn hash(self, input: &[u8]) -> Hash {
        Hash(*blake3::keyed_hash(self.key(), input).as_bytes())
    }

    /// Hashes the 64-byte pair `left || right` in this domain (one blake3 compression).
    #[inline]
    pub fn hash_pair(self, left: &Hash, right: &Hash) -> Hash {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(&left.0);
        buf[32..].copy_from_slice(&right.0);
        self.hash(&buf)
    }

    /// Hashes the canonical encoding of `value` in this domain.
    pub fn hash_encoded<T: Encode + ?Sized>(self, value: &T) -> Hash {
        let mut w = Writer::new();
        value.encode(&mut w);
        self.hash(&w.into_bytes())
    }
}

const KEYS: [[u8; 32]; 21] = [
    // log leaf
    [
        0x89, 0x72, 0xd2, 0x5a, 0x5d, 0x46, 0xe4, 0x32, 0xf3, 0xb7, 0xf2, 0xcc, 0x4f, 0x35, 0xed,
        0x24, 0x60, 0x55, 0x9e, 0xbd, 0xe1, 0x60, 0xb3, 0x12, 0xca, 0x4c, 0xbd, 0x35, 0x8a, 0x04,
        0xef, 0xac,
    ],
    // log node
    [
        0xf4, 0x20, 0xf5, 0x45, 0xf3, 0x62, 0x1c, 0xd0, 0x1e, 0xe4, 0x07, 0xbf, 0x5e, 0x29, 0x79,
        0xba, 0x20, 0xd6, 0x6b, 0xc8, 0xed, 0x6d, 0x2e, 0x97, 0x62, 0x43, 0x01, 0xa4, 0x58, 0x1b,
        0xe1, 0x26,
    ],
    // anchor leaf
    [
        0xb0, 0xa2, 0xf7, 0x79, 0x6f, 0x42, 0xf3, 0x6f, 0x0e, 0xab, 0x8f, 0xb2, 0x1a, 0x15, 0x3f,
        0x48, 0xbf, 0xd3, 0x52, 0x50, 0xde, 0x36, 0x5f, 0xce, 0x90, 0x69, 0x5f, 0xa4, 0x02, 0x20,
        0x57, 0x2e,
    ],
    // anchor node
    [
        0xa6, 0xd4, 0x25, 0x7d, 0xf4, 0x16, 0xb9, 0x85, 0xee, 0x4a, 0x75, 0xc2, 0xa4, 0x99, 0x4c,
        0x1e, 0xfd, 0x58, 0x5c, 0xc4, 0x05, 0x26, 0xe6, 0x34, 0x88, 0x64, 0xcf, 0xc3, 0x20, 0xb5,
        0x96, 0xa6,
    ],
    // anchor key
    [
        0x2d, 0x2f, 0xa0, 0x0f, 0xb8, 0x1a, 0x35, 0x7d, 0xd9, 0xd5, 0x98, 0x5a, 0x73, 0x50, 0xe6,
        0x4f, 0x01, 0x3c, 0xc0, 0x95, 0xb2, 0x08, 0x6b, 0xa1, 0x50, 0x7c, 0x62, 0x9a, 0x29, 0xfc,
        0xf3, 0x96,
    ],
    // contract
    [
        0xec, 0xa3, 0x54, 0xf0, 0x3e, 0x28, 0x14, 0x04, 0x9d, 0xee, 0x57, 0xe7, 0x47, 0x6f, 0x79,
        0xf6, 0xe7, 0x20, 0x7f, 0x47, 0x7a, 0x46, 0x5d, 0xe1, 0x36, 0xb5, 0x36, 0x5f, 0xa7, 0xc3,
        0x0d, 0xa7,
    ],
    // charter
    [
        0xc5, 0x57, 0x7b, 0x49, 0xcc, 0xc9, 0x85, 0xf1, 0x44, 0x75, 0x6c, 0xe1, 0x31, 0x16, 0xc2,
        0xa4, 0xb0, 0x65, 0x0d, 0xff, 0x98, 0x1e, 0x1f, 0x81, 0x78, 0x44, 0xd4, 0x33, 0x69, 0x68,
        0x20, 0x59,
    ],
    // checkpoint
    [
        0xf1, 0xba, 0x05, 0x6b, 0x27, 0xb5, 0x2d, 0x71, 0x8c, 0xcf, 0x60, 0x5e, 0x19, 0x14, 0xd6,
        0x12, 0xd7, 0xd6, 0x06, 0x51, 0x9b, 0xac, 0x8f, 0xe3, 0x58, 0xb6, 0x69, 0x96, 0x4f, 0x9d,
        0x09, 0x32,
    ],
    // block header
    [
        0xdf, 0x6d, 0x9a, 0xc6, 0x18, 0x6b, 0xc6, 0x78, 0xee, 0x74, 0xa8, 0xb0, 0x76, 0xb0, 0x76,
        0x38, 0x0b, 0xe7, 0x4a, 0x03, 0xf1, 0x52, 0x03, 0x11, 0xc8, 0x76, 0xcc, 0xa8, 0x6f, 0x98,
        0x98, 0xce,
    ],
    // validator set
    [
        0x5a, 0xba, 0xdf, 0x97, 0xed, 0x33, 0x27, 0xf1, 0x21, 0x2e, 0x1e, 0x0a, 0xcb, 0x69, 0xc0,
        0xfa, 0xa3, 0x08, 0x34, 0xca, 0x51, 0xc3, 0x9f, 0xe7, 0xad, 0x33, 0x29, 0xc2, 0x1b, 0xab,
        0xc8, 0xd0,
    ],
    // vote
    [
        0x68, 0xd3, 0xa4, 0xf9, 0xa9, 0x7c, 0x03, 0x5a, 0x62, 0x9d, 0xb5, 0xb4, 0xd7, 0x99, 0x19,
        0xd0, 0x8f, 0x72, 0x61, 0x7d, 0x23, 0x0f, 0xb1, 0x7d, 0x4c, 0x24, 0xc0, 0x4e, 0xf5, 0x16,
        0x7f, 0x2a,
    ],
    // posr registration
    [
        0xd7, 0x8d, 0xab, 0x10, 0x0b, 0x78, 0xcd, 0x27, 0xc7, 0x67, 0x2a, 0x83, 0xd6, 0x1b, 0x1c,
        0x7d, 0x7a, 0x7c, 0x34, 0xe4, 0x69, 0x22, 0x9e, 0xab, 0x5a, 0x06, 0xd2, 0xf5, 0x2f, 0x7c,
        0x8f, 0x32,
    ],
    // posr report
    [
        0x02, 0x0d, 0xd2, 0xea, 0x1b, 0x9d, 0xce, 0x4f, 0xea, 0xe9, 0x98, 0x33, 0x60, 0x51, 0x74,
        0x75, 0x40, 0xaf, 0xfd, 0x03, 0x9b, 0x21, 0x47, 0x86, 0x76, 0x95, 0x87, 0x05, 0x6a, 0xdc,
        0x9c, 0xb4,
    ],
    // beacon secret
    [
        0x02, 0xf2, 0x08, 0x0a, 0xae, 0x4b, 0x43, 0x83, 0x2a, 0x17, 0xf1, 0x5e, 0xd1, 0x16, 0x33,
        0xeb, 0x3e, 0xc2, 0x53, 0x5b, 0xb0, 0x8f, 0x97, 0xaa, 0x8e, 0x2e, 0xb0, 0xeb, 0x2f, 0x5e,
        0x82, 0xe8,
    ],
    // beacon commit
    [
        0x68, 0xbd, 0x5a, 0xe8, 0x83, 0x4d, 0x96, 0x14, 0x30, 0x6a, 0x6f, 0x49, 0xfb, 0x2f, 0x0f,
        0xd5, 0x81, 0xd1, 0x3b, 0x05, 0x07, 0x2b, 0x8a, 0xa3, 0x98, 0x99, 0x7d, 0x4e, 0x4b, 0x5b,
        0x18, 0x01,
    ],
    // beacon value
    [
        0xd4, 0xa1, 0x97, 0x21, 0x03, 0xad, 0xf8, 0x68, 0x85, 0x9b, 0xae, 0xc2, 0x8c, 0xa4, 0x84,
        0x0c, 0x64, 0x7a, 0xd6, 0xd7, 0x25, 0x7b, 0x5f, 0xa7, 0x29, 0x36, 0x97, 0x6d, 0x04, 0x4d,
        0xba, 0x5b,
    ],
    // consensus vote
    [
        0x81, 0x06, 0x07, 0x28, 0x77, 0xf9, 0xb5, 0xde, 0xd2, 0x7a, 0x58, 0x34, 0x9f, 0x4f, 0x23,
        0x4e, 0x42, 0x39, 0xe8, 0xdf, 0xa8, 0xb7, 0xc5, 0x49, 0x17, 0x5f, 0x8a, 0xd7, 0xaf, 0x13,
        0x81, 0x82,
    ],
    // consensus proposal
    [
        0x15, 0x6f, 0x31, 0xfe, 0xca, 0x8e, 0xa3, 0xac, 0x2c, 0x8c, 0x47, 0xec, 0x91, 0x2d, 0x53,
        0xef, 0x69, 0x15, 0x5a, 0xa2, 0xfb, 0x01, 0xf4, 0x63, 0x79, 0x5d, 0x1d, 0x4f, 0x6e, 0x32,
        0x2b, 0x28,
    ],
    // proposer
    [
        0xd3, 0x9d, 0x1f, 0x8a, 0x34, 0x77, 0xa3, 0x6f, 0xc8, 0xaf, 0x05, 0x74, 0x34, 0x5c, 0x9e,
        0xd0, 0x4e, 0xef, 0xe2, 0x8b, 0xe2, 0x8a, 0x7a, 0xbd, 0x8d, 0xe4, 0xd1, 0x41, 0x24, 0xa6,
        0x0e, 0x90,
    ],
    // block body
    [
        0xbc, 0x27, 0xaf, 0x44, 0x69, 0xeb, 0x43, 0xe3, 0x65, 0x70, 0x64, 0x69, 0x2a, 0x33, 0xe0,
        0x5b, 0x25, 0x7d, 0x72, 0x92, 0x81, 0xe3, 0x14, 0xbd, 0x51, 0xe5, 0xe5, 0xba, 0x37, 0x5f,
        0x2a, 0xcd,
    ],
    // placement
    [
        0x4a, 0xf0, 0x20, 0x1a, 0xee, 0x0c, 0x70, 0x29, 0x4c, 0x3f, 0x23, 0xc6, 0xef, 0x49, 0xc3,
        0x25, 0x0d, 0xf3, 0xfe, 0xe1, 0x4b, 0x8c, 0x43, 0x04, 0xc0, 0x57, 0xe4, 0x13, 0x0a, 0x90,
        0xa3, 0x8e,
    ],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_derived_from_contexts() {
        for d in Domain::ALL {
            let derived = blake3::derive_key(d.context(), b"");
            assert_eq!(&derived, d.key(), "key of {d:?}");
        }
    }

    #[test]
    fn domains_separate() {
        let a = Domain::LogNode.hash_pair(&Hash::ZERO, &Hash::ZERO);
        let b = Domain::AnchorNode.hash_pair(&Hash::ZERO, &Hash::ZERO);
        assert_ne!(a, b);
    }
}
