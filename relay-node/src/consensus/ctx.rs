//! The [`TrustchainContext`]: malachite's abstract types mapped onto `trustchain_core`'s
//! (docs/consensus.md §3).
//!
//! Orphan rules forbid implementing malachite's traits on `core` types here, and `core` must not
//! depend on malachite, so each type is a thin wrapper.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use informalsystems_malachitebft_core_types as mc;
use mc::{NilOrVal, Round, SignedExtension, VoteType};
use trustchain_core::chain::block::BlockHeader;
use trustchain_core::chain::validators::ValidatorSet;
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::{Domain, Hash};
use trustchain_core::encoding::{FORMAT_VERSION, Writer};

use super::signing::{Ed25519Strict, TrustchainSigner, encode_round};
use trustchain_core::chain::block::BlockBody;

/// Trustchain's consensus context. Holds the chain id, which every signed consensus message binds
/// (a commit vote binds it through the block hash, `BlockHeader::chain_id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustchainContext {
    chain_id: Arc<str>,
}

impl TrustchainContext {
    /// The context of the network named `chain_id`.
    pub fn new(chain_id: &str) -> Self {
        TrustchainContext {
            chain_id: chain_id.into(),
        }
    }
    /// The network's name.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }
    /// The signing provider of this network for `key` (signs with it; verifies any key).
    pub fn signing_provider(&self, key: SigningKey) -> TrustchainSigner {
        TrustchainSigner::new(key, self.chain_id.clone())
    }
}

/// A validator's address: its consensus key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValAddr(pub PublicKey);

impl fmt::Display for ValAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
impl mc::Address for ValAddr {}

/// A block height. Height 0 (genesis) is signed at network creation, outside consensus.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
impl mc::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);
    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }
    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }
    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// What votes carry: the block header's hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockId(pub Hash);

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What is decided: a block, identified by its header's hash. Equality and order are those of
/// the id.
///
/// The value carries the body (the anchored checkpoints) too. The header commits to the body's
/// checkpoints through `anchor_root` (the previous anchor map with their digests inserted) and
/// `moved`, so a validator that checks a proposal's body against its header (the relay's
/// `ChainApp::validate`) cannot be given two different bodies for one id, up to the checkpoints'
/// signatures.
#[derive(Clone, Debug)]
pub struct BlockValue {
    id: BlockId,
    header: Arc<BlockHeader>,
    body: Arc<BlockBody>,
}

impl BlockValue {
    /// The value proposing `header` with an empty body.
    pub fn new(header: BlockHeader) -> Self {
        Self::with_body(header, BlockBody::default())
    }
    /// The value proposing `header` and `body`.
    pub fn with_body(header: BlockHeader, body: BlockBody) -> Self {
        BlockValue {
            id: BlockId(header.hash()),
            header: Arc::new(header),
            body: Arc::new(body),
        }
    }
    /// The proposed header.
    pub fn header(&self) -> &BlockHeader {
        &self.header
    }
    /// The proposed body.
    pub fn body(&self) -> &BlockBody {
        &self.body
    }
}
impl PartialEq for BlockValue {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for BlockValue {}
impl PartialOrd for BlockValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for BlockValue {
    fn cmp(&self, other: &Self) -> Ordering {
        self.id.cmp(&other.id)
    }
}
impl mc::Value for BlockValue {
    type Id = BlockId;
    fn id(&self) -> BlockId {
        self.id
    }
}

/// A block proposal (`ProposalOnly` mode: the proposal carries the whole value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockProposal {
    /// Height.
    pub height: Height,
    /// Round of the proposal.
    pub round: Round,
    /// The proposed block.
    pub value: BlockValue,
    /// The round of the polka that justifies re-proposing `value`, or `Nil` for a fresh value.
    pub pol_round: Round,
    /// The proposer.
    pub proposer: ValAddr,
}

impl mc::Proposal<TrustchainContext> for BlockProposal {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &BlockValue {
        &self.value
    }
    fn take_value(self) -> BlockValue {
        self.value
    }
    fn pol_round(&self) -> Round {
        self.pol_round
    }
    fn validator_address(&self) -> &ValAddr {
        &self.proposer
    }
}

/// Proposal parts: none while values travel whole in the proposal (`ProposalOnly`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoParts {}

impl mc::ProposalPart<TrustchainContext> for NoParts {
    fn is_first(&self) -> bool {
        match *self {}
    }
    fn is_last(&self) -> bool {
        match *self {}
    }
}

/// A prevote or precommit. No vote extensions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConsVote {
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// Prevote or precommit.
    pub kind: VoteType,
    /// The block voted for, or nil.
    pub value: NilOrVal<BlockId>,
    /// The voter.
    pub validator: ValAddr,
}

impl mc::Vote<TrustchainContext> for ConsVote {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &NilOrVal<BlockId> {
        &self.value
    }
    fn take_value(self) -> NilOrVal<BlockId> {
        self.value
    }
    fn vote_type(&self) -> VoteType {
        self.kind
    }
    fn validator_address(&self) -> &ValAddr {
        &self.validator
    }
    fn extension(&self) -> Option<&SignedExtension<TrustchainContext>> {
        None
    }
    fn take_extension(&mut self) -> Option<SignedExtension<TrustchainContext>> {
        None
    }
    fn extend(self, _extension: SignedExtension<TrustchainContext>) -> Self {
        // Vote extensions are not used: the signed bytes of a precommit must stay the commit digest.
        self
    }
}

/// A validator: its key and its PoSR weight as voting power.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValInfo {
    /// Address (= key).
    pub address: ValAddr,
    /// Consensus key.
    pub key: PublicKey,
    /// PoSR weight (`trustchain_core::chain::validators::Validator::weight`).
    pub weight: u64,
}

impl mc::Validator<TrustchainContext> for ValInfo {
    fn address(&self) -> &ValAddr {
        &self.address
    }
    fn public_key(&self) -> &PublicKey {
        &self.key
    }
    fn voting_power(&self) -> mc::VotingPower {
        self.weight
    }
}

/// Why a `core` validator set cannot be used by malachite.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EpochSetError {
    /// Malachite computes `weight × 3` in `u64` and panics on overflow.
    #[error("total validator weight {0} exceeds u64::MAX / 3")]
    TooHeavy(u128),
}

/// An epoch's validator set, in `core`'s order (keys ascending), so that `get_by_index(i)` is the
/// certificate position `i`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochSet {
    set: Arc<ValidatorSet>,
    vals: Arc<[ValInfo]>,
    total: u64,
    seed: Hash,
}

impl EpochSet {
    /// Wraps `set`. `seed` fixes the leader order (the beacon value, docs/beacon.md; zero until it
    /// exists).
    pub fn new(set: ValidatorSet, seed: Hash) -> Result<Self, EpochSetError> {
        let total = set.total_weight();
        if total > (u64::MAX / 3) as u128 {
            return Err(EpochSetError::TooHeavy(total));
        }
        let vals = set
            .validators
            .iter()
            .map(|v| ValInfo {
                address: ValAddr(v.key),
                key: v.key,
                weight: v.weight,
            })
            .collect();
        Ok(EpochSet {
            set: Arc::new(set),
            vals,
            total: total as u64,
            seed,
        })
    }
    /// The `core` set.
    pub fn core(&self) -> &ValidatorSet {
        &self.set
    }
    /// The validators, keys ascending.
    pub fn validators(&self) -> &[ValInfo] {
        &self.vals
    }
    /// The leader-order seed.
    pub fn seed(&self) -> &Hash {
        &self.seed
    }

    /// The proposer of `(height, round)`: `x = H_Proposer(version ‖ seed ‖ height ‖ round) mod
    /// total`, then the validator whose cumulative weight interval (keys ascending) holds `x`. Each
    /// validator is chosen with probability proportional to its weight; a pure function.
    pub fn proposer(&self, height: Height, round: Round) -> &ValInfo {
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION);
        w.raw(self.seed.as_bytes());
        w.u64(height.0);
        encode_round(&mut w, round);
        let h = Domain::Proposer.hash(&w.into_bytes());
        let mut wide = [0u8; 16];
        wide.copy_from_slice(&h.as_bytes()[..16]);
        // total ≤ 2^63: the bias of a 128-bit draw reduced mod total is below 2^-64.
        let mut x = (u128::from_le_bytes(wide) % self.total as u128) as u64;
        for v in self.vals.iter() {
            if x < v.weight {
                return v;
            }
            x -= v.weight;
        }
        // Unreachable: x < total = sum of weights. Fall back to the last validator (the set is
        // never empty: core checks it).
        &self.vals[self.vals.len() - 1]
    }
}

impl mc::ValidatorSet<TrustchainContext> for EpochSet {
    fn count(&self) -> usize {
        self.vals.len()
    }
    fn total_voting_power(&self) -> mc::VotingPower {
        self.total
    }
    fn get_by_address(&self, address: &ValAddr) -> Option<&ValInfo> {
        self.vals
            .binary_search_by(|v| v.address.cmp(address))
            .ok()
            .map(|i| &self.vals[i])
    }
    fn get_by_index(&self, index: usize) -> Option<&ValInfo> {
        self.vals.get(index)
    }
}

impl mc::Context for TrustchainContext {
    type Address = ValAddr;
    type Height = Height;
    type ProposalPart = NoParts;
    type Proposal = BlockProposal;
    type Validator = ValInfo;
    type ValidatorSet = EpochSet;
    type Value = BlockValue;
    type Vote = ConsVote;
    type Extension = ();
    type SigningScheme = Ed25519Strict;

    fn select_proposer<'a>(&self, set: &'a EpochSet, height: Height, round: Round) -> &'a ValInfo {
        set.proposer(height, round)
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: BlockValue,
        pol_round: Round,
        address: ValAddr,
    ) -> BlockProposal {
        BlockProposal {
            height,
            round,
            value,
            pol_round,
            proposer: address,
        }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value: NilOrVal<BlockId>,
        address: ValAddr,
    ) -> ConsVote {
        ConsVote {
            height,
            round,
            kind: VoteType::Prevote,
            value,
            validator: address,
        }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value: NilOrVal<BlockId>,
        address: ValAddr,
    ) -> ConsVote {
        ConsVote {
            height,
            round,
            kind: VoteType::Precommit,
            value,
            validator: address,
        }
    }
}
