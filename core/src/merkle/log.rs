//! The scenario log: an append-only Merkle tree in the shape of RFC 9162 §2.1, over blake3.
//!
//! - leaf hash: `Domain::LogLeaf.hash(entry bytes)`;
//! - interior node: `Domain::LogNode.hash(left || right)`;
//! - the root of the empty log: `Domain::LogNode.hash(b"")` (no node input is ever empty).
//!
//! Storage holds only *perfect* subtrees: node `(level, index)` covers leaves
//! `[index << level, (index + 1) << level)`. Every root and proof is computed from those, so a store
//! writes `O(log n)` nodes per append and never rewrites one. [`NodeStore`] abstracts the store (an
//! in-memory [`MemoryLog`] here, redb tables in the relay).

use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::crypto::hash::{Domain, Hash};
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};

/// Longest inclusion path (a log holds at most 2^63 leaves).
pub const MAX_INCLUSION_PATH: u32 = 64;
/// Longest consistency path.
pub const MAX_CONSISTENCY_PATH: u32 = 128;

/// The leaf hash of a log entry's canonical bytes.
pub fn leaf_hash(entry_bytes: &[u8]) -> Hash {
    Domain::LogLeaf.hash(entry_bytes)
}

/// The hash of an interior node.
#[inline]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Domain::LogNode.hash_pair(left, right)
}

/// The root of the empty log.
pub fn empty_root() -> Hash {
    Domain::LogNode.hash(&[])
}

/// A source of perfect-subtree hashes.
pub trait NodeStore {
    /// The store's error (I/O, corruption).
    type Error;
    /// The hash of the perfect subtree `(level, index)`; it exists for every subtree wholly inside
    /// the log's current size.
    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// The nodes to store when the leaf `leaf` is appended at `index` (reading only earlier nodes):
/// `(level, index, hash)`, starting with the leaf itself.
pub fn nodes_for_append<S: NodeStore>(
    store: &S,
    index: u64,
    leaf: Hash,
) -> Result<Vec<(u32, u64, Hash)>, S::Error> {
    let mut out = vec![(0, index, leaf)];
    let (mut level, mut idx, mut cur) = (0u32, index, leaf);
    while idx & 1 == 1 {
        let left = store.node(level, idx - 1)?;
        cur = node_hash(&left, &cur);
        idx >>= 1;
        level += 1;
        out.push((level, idx, cur));
    }
    Ok(out)
}

/// The largest power of two strictly less than `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The Merkle tree hash of leaves `[start, end)`, `end > start`.
pub fn subtree_root<S: NodeStore>(store: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return store.node(n.trailing_zeros(), start >> n.trailing_zeros());
    }
    let k = split_point(n);
    let left = subtree_root(store, start, start + k)?;
    let right = subtree_root(store, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the log of `size` leaves.
pub fn root<S: NodeStore>(store: &S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        Ok(empty_root())
    } else {
        subtree_root(store, 0, size)
    }
}

/// A proof that the leaf at `index` is in the log of `size` leaves (RFC 9162 §2.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The leaf's index.
    pub index: u64,
    /// The log size the proof is for.
    pub size: u64,
    /// Sibling hashes from the leaf up to the root.
    pub path: Vec<Hash>,
}

/// A proof that the log of `to` leaves extends the log of `from` leaves (RFC 9162 §2.1.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The earlier size.
    pub from: u64,
    /// The later size.
    pub to: u64,
    /// The proof hashes.
    pub path: Vec<Hash>,
}

/// Why a log proof does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogProofError {
    /// The index is not below the size.
    #[error("index {index} is not inside a log of size {size}")]
    IndexOutOfRange {
        /// The claimed index.
        index: u64,
        /// The claimed size.
        size: u64,
    },
    /// The sizes are not ordered.
    #[error("size {from} is larger than size {to}")]
    SizesOutOfOrder {
        /// The earlier size.
        from: u64,
        /// The later size.
        to: u64,
    },
    /// The path is too long or too short for the sizes.
    #[error("proof path has the wrong length for these sizes")]
    WrongLength,
    /// The recomputed root differs.
    #[error("recomputed root {computed} does not match the expected root {expected}")]
    RootMismatch {
        /// What the path hashes to.
        computed: Hash,
        /// What the checkpoint says.
        expected: Hash,
    },
}

/// Builds the inclusion proof of `index` in the log of `size` leaves.
pub fn prove_inclusion<S: NodeStore>(
    store: &S,
    index: u64,
    size: u64,
) -> Result<Result<InclusionProof, LogProofError>, S::Error> {
    if index >= size {
        return Ok(Err(LogProofError::IndexOutOfRange { index, size }));
    }
    let mut path = Vec::new();
    // Walk down from the whole range, collecting siblings; reverse for leaf-to-root order.
    let (mut start, mut end, m) = (0u64, size, index);
    while end - start > 1 {
        let k = split_point(end - start);
        if m < start + k {
            path.push(subtree_root(store, start + k, end)?);
            end = start + k;
        } else {
            path.push(subtree_root(store, start, start + k)?);
            start += k;
        }
    }
    path.reverse();
    Ok(Ok(InclusionProof { index, size, path }))
}

impl InclusionProof {
    /// The root this proof hashes `leaf` up to (RFC 9162 §2.1.3.2).
    pub fn compute_root(&self, leaf: &Hash) -> Result<Hash, LogProofError> {
        if self.index >= self.size {
            return Err(LogProofError::IndexOutOfRange {
                index: self.index,
                size: self.size,
            });
        }
        let (mut fn_, mut sn) = (self.index, self.size - 1);
        let mut r = *leaf;
        for p in &self.path {
            if sn == 0 {
                return Err(LogProofError::WrongLength);
            }
            if fn_ & 1 == 1 || fn_ == sn {
                r = node_hash(p, &r);
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            } else {
                r = node_hash(&r, p);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        if sn != 0 {
            return Err(LogProofError::WrongLength);
        }
        Ok(r)
    }

    /// Checks that `leaf` is at `self.index` in the log with root `root`.
    pub fn verify(&self, leaf: &Hash, root: &Hash) -> Result<(), LogProofError> {
        let computed = self.compute_root(leaf)?;
        if &computed != root {
            return Err(LogProofError::RootMismatch {
                computed,
                expected: *root,
            });
        }
        Ok(())
    }
}

/// Builds the consistency proof from size `from` to size `to`.
pub fn prove_consistency<S: NodeStore>(
    store: &S,
    from: u64,
    to: u64,
) -> Result<Result<ConsistencyProof, LogProofError>, S::Error> {
    if from > to {
        return Ok(Err(LogProofError::SizesOutOfOrder { from, to }));
    }
    let mut path = Vec::new();
    if from > 0 && from < to {
        // SUBPROOF(m, D[start:end], b), iteratively; collected root-first, reversed at the end.
        let (mut start, mut end, mut m, mut b) = (0u64, to, from, true);
        loop {
            let n = end - start;
            if m == n {
                if !b {
                    path.push(subtree_root(store, start, end)?);
                }
                break;
            }
            let k = split_point(n);
            if m <= k {
                path.push(subtree_root(store, start + k, end)?);
                end = start + k;
            } else {
                path.push(subtree_root(store, start, start + k)?);
                start += k;
                m -= k;
                b = false;
            }
        }
        path.reverse();
    }
    Ok(Ok(ConsistencyProof { from, to, path }))
}

impl ConsistencyProof {
    /// Checks that the log with root `to_root` (size `self.to`) extends the log with root
    /// `from_root` (size `self.from`), per RFC 9162 §2.1.4.2.
    pub fn verify(&self, from_root: &Hash, to_root: &Hash) -> Result<(), LogProofError> {
        let (first, second) = (self.from, self.to);
        if first > second {
            return Err(LogProofError::SizesOutOfOrder {
                from: first,
                to: second,
            });
        }
        if first == second {
            if !self.path.is_empty() {
                return Err(LogProofError::WrongLength);
            }
            if from_root != to_root {
                return Err(LogProofError::RootMismatch {
                    computed: *from_root,
                    expected: *to_root,
                });
            }
            return Ok(());
        }
        if first == 0 {
            // Every log extends the empty one, whose root is fixed.
            if !self.path.is_empty() {
                return Err(LogProofError::WrongLength);
            }
            let empty = empty_root();
            return if from_root == &empty {
                Ok(())
            } else {
                Err(LogProofError::RootMismatch {
                    computed: empty,
                    expected: *from_root,
                })
            };
        }
        let mut proof: Vec<Hash> = Vec::with_capacity(self.path.len() + 1);
        if first.is_power_of_two() {
            proof.push(*from_root);
        }
        proof.extend_from_slice(&self.path);
        let Some((head, rest)) = proof.split_first() else {
            return Err(LogProofError::WrongLength);
        };
        let (mut fn_, mut sn) = (first - 1, second - 1);
        while fn_ & 1 == 1 {
            fn_ >>= 1;
            sn >>= 1;
        }
        let (mut fr, mut sr) = (*head, *head);
        for c in rest {
            if sn == 0 {
                return Err(LogProofError::WrongLength);
            }
            if fn_ & 1 == 1 || fn_ == sn {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            } else {
                sr = node_hash(&sr, c);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        if sn != 0 {
            return Err(LogProofError::WrongLength);
        }
        if &fr != from_root {
            return Err(LogProofError::RootMismatch {
                computed: fr,
                expected: *from_root,
            });
        }
        if &sr != to_root {
            return Err(LogProofError::RootMismatch {
                computed: sr,
                expected: *to_root,
            });
        }
        Ok(())
    }
}

impl Encode for InclusionProof {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.index);
        w.u64(self.size);
        w.seq(&self.path);
    }
}
impl Decode for InclusionProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(InclusionProof {
            index: r.u64("inclusion index")?,
            size: r.u64("inclusion size")?,
            path: r.seq("inclusion path", MAX_INCLUSION_PATH, 32)?,
        })
    }
}
impl Encode for ConsistencyProof {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.from);
        w.u64(self.to);
        w.seq(&self.path);
    }
}
impl Decode for ConsistencyProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ConsistencyProof {
            from: r.u64("consistency from")?,
            to: r.u64("consistency to")?,
            path: r.seq("consistency path", MAX_CONSISTENCY_PATH, 32)?,
        })
    }
}

/// An in-memory log: every perfect subtree by level.
#[derive(Clone, Debug, Default)]
pub struct MemoryLog {
    levels: Vec<Vec<Hash>>,
}

impl NodeStore for MemoryLog {
    type Error = core::convert::Infallible;
    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        Ok(self.levels[level as usize][index as usize])
    }
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }
    /// Appends a leaf hash; returns its index.
    pub fn append(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        let Ok(nodes) = nodes_for_append(self, index, leaf);
        for (level, _, h) in nodes {
            if self.levels.len() <= level as usize {
                self.levels.push(Vec::new());
            }
            self.levels[level as usize].push(h);
        }
        index
    }
    /// The root at the current size.
    pub fn root(&self) -> Hash {
        let Ok(r) = root(self, self.size());
        r
    }
    /// The root at an earlier size.
    pub fn root_at(&self, size: u64) -> Hash {
        let Ok(r) = root(self, size);
        r
    }
    /// Inclusion proof of `index` at `size`.
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<InclusionProof, LogProofError> {
        let Ok(p) = prove_inclusion(self, index, size);
        p
    }
    /// Consistency proof from `from` to `to`.
    pub fn prove_consistency(&self, from: u64, to: u64) -> Result<ConsistencyProof, LogProofError> {
        let Ok(p) = prove_consistency(self, from, to);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The naive model: RFC 9162's recursive definitions over the list of leaf hashes.
    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }
    fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() <= 1 {
            return Vec::new();
        }
        let k = split_point(d.len() as u64) as usize;
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }
    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { Vec::new() } else { vec![mth(d)] };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }
    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u32).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn exhaustive_against_model_up_to_70() {
        let d = leaves(70);
        let mut log = MemoryLog::new();
        for (n, leaf) in d.iter().enumerate() {
            log.append(*leaf);
            let size = n as u64 + 1;
            let root = log.root();
            assert_eq!(root, mth(&d[..=n]), "root at {size}");
            for m in 0..=n {
                let p = log.prove_inclusion(m as u64, size).unwrap();
                assert_eq!(p.path, path(m, &d[..=n]));
                p.verify(&d[m], &root).unwrap();
                // The same path for any other leaf or index fails.
                assert!(p.verify(&d[(m + 1) % d.len()], &root).is_err());
            }
            for from in 1..=size {
                let p = log.prove_consistency(from, size).unwrap();
                if from < size {
                    assert_eq!(p.path, subproof(from as usize, &d[..=n], true));
                }
                p.verify(&log.root_at(from), &root).unwrap();
                if from < size {
                    assert!(p.verify(&log.root_at(from - 1), &root).is_err() || from == 1);
                }
            }
        }
        assert_eq!(MemoryLog::new().root(), empty_root());
        // From size 0, only the empty root is an earlier state.
        let p = log.prove_consistency(0, 5).unwrap();
        p.verify(&empty_root(), &log.root_at(5)).unwrap();
        assert!(p.verify(&d[0], &log.root_at(5)).is_err());
    }

    proptest! {
        #[test]
        fn random_sizes_verify(n in 1usize..3000, a in any::<u64>(), b in any::<u64>()) {
            let d = leaves(n);
            let mut log = MemoryLog::new();
            for l in &d { log.append(*l); }
            let size = n as u64;
            let m = a % size;
            let p = log.prove_inclusion(m, size).unwrap();
            prop_assert_eq!(&p.path, &path(m as usize, &d));
            p.verify(&d[m as usize], &log.root()).unwrap();
            let from = b % size + 1;
            let c = log.prove_consistency(from, size).unwrap();
            c.verify(&log.root_at(from), &log.root()).unwrap();
            // A wrong earlier root never passes.
            let mut bad = log.root_at(from);
            bad.0[0] ^= 1;
            prop_assert!(c.verify(&bad, &log.root()).is_err());
        }

        #[test]
        fn tampered_inclusion_paths_fail(n in 2usize..500, a in any::<u64>(), byte in 0usize..32, which in any::<usize>()) {
            let d = leaves(n);
            let mut log = MemoryLog::new();
            for l in &d { log.append(*l); }
            let m = a % n as u64;
            let mut p = log.prove_inclusion(m, n as u64).unwrap();
            let i = which % p.path.len();
            p.path[i].0[byte] ^= 0x40;
            prop_assert!(p.verify(&d[m as usize], &log.root()).is_err());
        }

        #[test]
        fn proof_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = InclusionProof::from_bytes(&bytes);
            let _ = ConsistencyProof::from_bytes(&bytes);
        }
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        let d = leaves(5);
        let mut log = MemoryLog::new();
        for l in &d {
            log.append(*l);
        }
        let mut p = log.prove_inclusion(2, 5).unwrap();
        p.path.push(Hash::ZERO);
        assert_eq!(
            p.verify(&d[2], &log.root()),
            Err(LogProofError::WrongLength)
        );
        p.path.truncate(1);
        assert_eq!(
            p.verify(&d[2], &log.root()),
            Err(LogProofError::WrongLength)
        );
        let p = InclusionProof {
            index: 5,
            size: 5,
            path: Vec::new(),
        };
        assert!(matches!(
            p.verify(&d[0], &log.root()),
            Err(LogProofError::IndexOutOfRange { .. })
        ));
    }
}
