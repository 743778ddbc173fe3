//! The anchor map: a sparse Merkle tree from scenario (by [`ScenarioId::anchor_key`]) to the
//! digest of its latest checkpoint, with membership and non-membership proofs.
//!
//! The tree is over the 256 bits of the key, most significant bit first, with the usual
//! compression: an empty subtree hashes to [`Hash::ZERO`]; a subtree holding exactly one entry
//! hashes to that entry's leaf hash `Domain::AnchorLeaf.hash(key || value)` whatever its depth; any
//! other subtree hashes to `Domain::AnchorNode.hash(left || right)`. Proofs are therefore as long
//! as the depth at which a key is alone — about `log2(scenarios)` hashes, not 256.
//!
//! [`ScenarioId::anchor_key`]: crate::encoding::value::ScenarioId::anchor_key

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::crypto::hash::{Domain, Hash};
use crate::encoding::value::ScenarioId;
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};

impl ScenarioId {
    /// The scenario's key in the anchor map: `H_AnchorKey(id bytes)`. (Defined here, beside the
    /// map, so that `encoding::value` needs no hash.)
    pub fn anchor_key(&self) -> Hash {
        Domain::AnchorKey.hash(self.as_str().as_bytes())
    }
}

/// The hash of the entry `key → value`.
pub fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    Domain::AnchorLeaf.hash_pair(key, value)
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Domain::AnchorNode.hash_pair(left, right)
}

/// Bit `depth` of `key`, most significant first.
fn bit(key: &Hash, depth: usize) -> bool {
    (key.0[depth / 8] >> (7 - depth % 8)) & 1 == 1
}

/// An authenticated map from anchor keys to checkpoint digests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnchorMap {
    entries: BTreeMap<Hash, Hash>,
}

/// What ends an anchor path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathEnd {
    /// The key itself: the path proves membership of `key → value`.
    Member,
    /// An empty subtree: the key is absent.
    Empty,
    /// A subtree holding only another key: the key is absent.
    Other {
        /// The other entry's key.
        key: Hash,
        /// The other entry's value.
        value: Hash,
    },
}

/// A path from a key's position to the anchor-map root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorProof {
    /// Sibling hashes from the deepest level up to the root.
    pub siblings: Vec<Hash>,
    /// How the path ends.
    pub end: PathEnd,
}

/// Why an anchor proof does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnchorProofError {
    /// The proof's kind does not answer the question (e.g. absence proof for a present key).
    #[error("the proof shows {shows}, but {expected} was asked")]
    WrongKind {
        /// What the proof shows.
        shows: &'static str,
        /// What was asked.
        expected: &'static str,
    },
    /// The other key of an absence proof does not share the path.
    #[error("the neighbouring key does not lie on the key's path")]
    OffPath,
    /// The path is deeper than 256 levels.
    #[error("path deeper than 256 levels")]
    TooDeep,
    /// The recomputed root differs.
    #[error("recomputed anchor root {computed} does not match the block's anchor root {expected}")]
    RootMismatch {
        /// What the path hashes to.
        computed: Hash,
        /// The block's anchor root.
        expected: Hash,
    },
}

impl AnchorMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `key → value`.
    pub fn insert(&mut self, key: Hash, value: Hash) {
        self.entries.insert(key, value);
    }
    /// The value at `key`.
    pub fn get(&self, key: &Hash) -> Option<&Hash> {
        self.entries.get(key)
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn sorted(&self) -> Vec<(Hash, Hash)> {
        self.entries.iter().map(|(k, v)| (*k, *v)).collect()
    }

    fn subtree(entries: &[(Hash, Hash)], depth: usize) -> Hash {
        match entries {
            [] => Hash::ZERO,
            [(k, v)] => leaf_hash(k, v),
            _ => {
                let split = entries.partition_point(|(k, _)| !bit(k, depth));
                let (l, r) = entries.split_at(split);
                node_hash(&Self::subtree(l, depth + 1), &Self::subtree(r, depth + 1))
            }
        }
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        Self::subtree(&self.sorted(), 0)
    }

    /// A proof of `key`'s value, or of its absence.
    pub fn prove(&self, key: &Hash) -> AnchorProof {
        let all = self.sorted();
        let mut slice: &[(Hash, Hash)] = &all;
        let mut siblings = Vec::new();
        let mut depth = 0;
        let end = loop {
            match slice {
                [] => break PathEnd::Empty,
                [(k, v)] => {
                    break if k == key {
                        PathEnd::Member
                    } else {
                        PathEnd::Other { key: *k, value: *v }
                    };
                }
                _ => {
                    let split = slice.partition_point(|(k, _)| !bit(k, depth));
                    let (l, r) = slice.split_at(split);
                    if bit(key, depth) {
                        siblings.push(Self::subtree(l, depth + 1));
                        slice = r;
                    } else {
                        siblings.push(Self::subtree(r, depth + 1));
                        slice = l;
                    }
                    depth += 1;
                }
            }
        };
        siblings.reverse();
        AnchorProof { siblings, end }
    }
}

/// The anchor map with every interior hash computed once: `root()` is free and `prove()` walks
/// one path, `O(depth)` instead of rehashing the map. Build one per block, share it for reads.
#[derive(Clone, Debug)]
pub struct AnchorTree {
    nodes: Vec<TreeNode>,
    root: usize,
}

#[derive(Clone, Debug)]
enum TreeNode {
    Empty,
    Leaf {
        key: Hash,
        value: Hash,
    },
    Inner {
        hash: Hash,
        left: usize,
        right: usize,
    },
}

impl AnchorTree {
    /// Computes the tree of `map`.
    pub fn new(map: &AnchorMap) -> Self {
        let entries = map.sorted();
        let mut nodes = Vec::with_capacity(entries.len() * 2 + 1);
        let root = Self::build(&mut nodes, &entries, 0);
        AnchorTree { nodes, root }
    }

    fn build(nodes: &mut Vec<TreeNode>, entries: &[(Hash, Hash)], depth: usize) -> usize {
        let node = match entries {
            [] => TreeNode::Empty,
            [(key, value)] => TreeNode::Leaf {
                key: *key,
                value: *value,
            },
            _ => {
                let split = entries.partition_point(|(k, _)| !bit(k, depth));
                let (l, r) = entries.split_at(split);
                let left = Self::build(nodes, l, depth + 1);
                let right = Self::build(nodes, r, depth + 1);
                let hash = node_hash(&nodes[left].hash(), &nodes[right].hash());
                TreeNode::Inner { hash, left, right }
            }
        };
        nodes.push(node);
        nodes.len() - 1
    }

    /// The root hash (equal to [`AnchorMap::root`]).
    pub fn root(&self) -> Hash {
        self.nodes[self.root].hash()
    }

    /// A proof of `key`'s value or absence (equal to [`AnchorMap::prove`]).
    pub fn prove(&self, key: &Hash) -> AnchorProof {
        let mut siblings = Vec::new();
        let mut at = self.root;
        let mut depth = 0;
        let end = loop {
            match &self.nodes[at] {
                TreeNode::Empty => break PathEnd::Empty,
                TreeNode::Leaf { key: k, value } => {
                    break if k == key {
                        PathEnd::Member
                    } else {
                        PathEnd::Other {
                            key: *k,
                            value: *value,
                        }
                    };
                }
                TreeNode::Inner { left, right, .. } => {
                    let (next, sibling) = if bit(key, depth) {
                        (*right, *left)
                    } else {
                        (*left, *right)
                    };
                    siblings.push(self.nodes[sibling].hash());
                    at = next;
                    depth += 1;
                }
            }
        };
        siblings.reverse();
        AnchorProof { siblings, end }
    }
}

impl TreeNode {
    fn hash(&self) -> Hash {
        match self {
            TreeNode::Empty => Hash::ZERO,
            TreeNode::Leaf { key, value } => leaf_hash(key, value),
            TreeNode::Inner { hash, .. } => *hash,
        }
    }
}

impl AnchorProof {
    fn fold(&self, key: &Hash, start: Hash) -> Hash {
        let d = self.siblings.len();
        let mut cur = start;
        for (i, s) in self.siblings.iter().enumerate() {
            let depth = d - 1 - i;
            cur = if bit(key, depth) {
                node_hash(s, &cur)
            } else {
                node_hash(&cur, s)
            };
        }
        cur
    }

    fn check_root(computed: Hash, root: &Hash) -> Result<(), AnchorProofError> {
        if &computed == root {
            Ok(())
        } else {
            Err(AnchorProofError::RootMismatch {
                computed,
                expected: *root,
            })
        }
    }

    /// Checks that the map with root `root` holds `key → value`.
    pub fn verify_member(
        &self,
        key: &Hash,
        value: &Hash,
        root: &Hash,
    ) -> Result<(), AnchorProofError> {
        if self.siblings.len() > 256 {
            return Err(AnchorProofError::TooDeep);
        }
        if self.end != PathEnd::Member {
            return Err(AnchorProofError::WrongKind {
                shows: "absence",
                expected: "membership",
            });
        }
        Self::check_root(self.fold(key, leaf_hash(key, value)), root)
    }

    /// Checks that the map with root `root` has no entry at `key`.
    pub fn verify_absent(&self, key: &Hash, root: &Hash) -> Result<(), AnchorProofError> {
        let d = self.siblings.len();
        if d > 256 {
            return Err(AnchorProofError::TooDeep);
        }
        let start = match &self.end {
            PathEnd::Member => {
                return Err(AnchorProofError::WrongKind {
                    shows: "membership",
                    expected: "absence",
                });
            }
            PathEnd::Empty => Hash::ZERO,
            PathEnd::Other { key: other, value } => {
                if other == key || (0..d).any(|i| bit(other, i) != bit(key, i)) {
                    return Err(AnchorProofError::OffPath);
                }
                leaf_hash(other, value)
            }
        };
        Self::check_root(self.fold(key, start), root)
    }
}

impl Encode for AnchorProof {
    fn encode(&self, w: &mut Writer) {
        w.seq(&self.siblings);
        match &self.end {
            PathEnd::Member => w.u8(0),
            PathEnd::Empty => w.u8(1),
            PathEnd::Other { key, value } => {
                w.u8(2);
                key.encode(w);
                value.encode(w);
            }
        }
    }
}

impl Decode for AnchorProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let siblings = r.seq("anchor path", 256, 32)?;
        let end = match r.u8("anchor path end")? {
            0 => PathEnd::Member,
            1 => PathEnd::Empty,
            2 => PathEnd::Other {
                key: Hash::decode(r)?,
                value: Hash::decode(r)?,
            },
            tag => {
                return Err(DecodeError::InvalidTag {
                    what: "anchor path end",
                    tag,
                });
            }
        };
        Ok(AnchorProof { siblings, end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(i: u32) -> Hash {
        Domain::AnchorKey.hash(&i.to_be_bytes())
    }

    #[test]
    fn empty_and_single() {
        let m = AnchorMap::new();
        assert_eq!(m.root(), Hash::ZERO);
        m.prove(&key(1))
            .verify_absent(&key(1), &Hash::ZERO)
            .unwrap();
        let mut m = AnchorMap::new();
        m.insert(key(1), key(100));
        let p = m.prove(&key(1));
        assert!(p.siblings.is_empty());
        p.verify_member(&key(1), &key(100), &m.root()).unwrap();
        m.prove(&key(2)).verify_absent(&key(2), &m.root()).unwrap();
    }

    proptest! {
        #[test]
        fn membership_and_absence(n in 0u32..300, probe in 0u32..600) {
            let mut m = AnchorMap::new();
            for i in 0..n { m.insert(key(i), key(i + 10_000)); }
            let root = m.root();
            let k = key(probe);
            let p = m.prove(&k);
            if probe < n {
                p.verify_member(&k, &key(probe + 10_000), &root).unwrap();
                prop_assert!(p.verify_member(&k, &key(probe + 10_001), &root).is_err());
                prop_assert!(p.verify_absent(&k, &root).is_err());
                // Depth is logarithmic, not 256.
                prop_assert!(p.siblings.len() <= 40);
            } else {
                p.verify_absent(&k, &root).unwrap();
                prop_assert!(p.verify_member(&k, &key(0), &root).is_err());
            }
            let bytes = p.to_bytes();
            prop_assert_eq!(AnchorProof::from_bytes(&bytes).unwrap(), p.clone());
            // The precomputed tree gives the same root and the same proofs.
            let tree = AnchorTree::new(&m);
            prop_assert_eq!(tree.root(), root);
            prop_assert_eq!(tree.prove(&k), p);
        }

        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = AnchorProof::from_bytes(&bytes);
        }
    }
}
