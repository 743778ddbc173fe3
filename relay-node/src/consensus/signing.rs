//! Signed bytes (docs/consensus.md §3.2): ed25519 (`verify_strict`) over 32-byte digests of OUR
//! encodings. Malachite never signs or verifies by itself; it asks through effects, answered here.
//!
//! | message | digest signed |
//! |---|---|
//! | precommit for a block at a defined round | `Domain::Vote` over `chain::block::Vote { height, round, block }` — exactly what a `core` `CommitCertificate` checks |
//! | prevote, nil precommit | `Domain::ConsensusVote` over `version ‖ chain_id ‖ kind ‖ height ‖ round ‖ option(block)` |
//! | proposal | `Domain::ConsensusProposal` over `version ‖ chain_id ‖ height ‖ round ‖ pol_round ‖ block` |
//!
//! A prevote therefore never passes as a commit signature: a polka is not a certificate.
//! Rounds are encoded as `option(u32)` (`0` = malachite's `Round::Nil`, `1 ‖ u32` = a round), so
//! every message has bytes and no input panics. The signed bytes depend only on `(chain id,
//! height, round, kind, value id)`, which malachite relies on when it rebuilds votes from
//! certificates (`SigningProviderExt`).

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use informalsystems_malachitebft_core_types as mc;
use mc::{NilOrVal, Round, SignedMessage, VoteType};
use trustchain_core::chain::block::Vote;
use trustchain_core::crypto::hash::{Domain, Hash};
use trustchain_core::crypto::{PublicKey, Signature, sign};
use trustchain_core::encoding::{FORMAT_VERSION, Writer};

use super::ctx::{BlockProposal, ConsVote, NoParts, TrustchainContext};

/// A 64-byte ed25519 signature, ordered by its bytes (malachite wants `Ord`; `core`'s
/// `Signature` has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sig(pub [u8; 64]);

impl From<Signature> for Sig {
    fn from(s: Signature) -> Self {
        Sig(s.0)
    }
}
impl From<Sig> for Signature {
    fn from(s: Sig) -> Self {
        Signature(s.0)
    }
}

/// Ed25519 with `verify_strict`, over `core`'s types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ed25519Strict;

impl mc::SigningScheme for Ed25519Strict {
    type DecodingError = String;
    type Signature = Sig;
    type PublicKey = PublicKey;
    type PrivateKey = SigningKey;

    fn decode_signature(bytes: &[u8]) -> Result<Sig, String> {
        <[u8; 64]>::try_from(bytes)
            .map(Sig)
            .map_err(|_| format!("a signature is 64 bytes, not {}", bytes.len()))
    }
    fn encode_signature(signature: &Sig) -> Vec<u8> {
        signature.0.to_vec()
    }
}

/// Writes a malachite round as `option(u32)`.
pub(crate) fn encode_round(w: &mut Writer, round: Round) {
    match round.as_u32() {
        None => w.u8(0),
        Some(r) => {
            w.u8(1);
            w.u32(r);
        }
    }
}

/// The digest a validator signs for `vote` on the network `chain_id`.
pub fn vote_digest(chain_id: &str, vote: &ConsVote) -> Hash {
    if let (VoteType::Precommit, NilOrVal::Val(block), Some(round)) =
        (vote.kind, &vote.value, vote.round.as_u32())
    {
        return Vote {
            height: vote.height.0,
            round,
            block: block.0,
        }
        .digest();
    }
    let mut w = Writer::new();
    w.u8(FORMAT_VERSION);
    w.str(chain_id);
    w.u8(match vote.kind {
        VoteType::Prevote => 0,
        VoteType::Precommit => 1,
    });
    w.u64(vote.height.0);
    encode_round(&mut w, vote.round);
    match &vote.value {
        NilOrVal::Nil => w.u8(0),
        NilOrVal::Val(block) => {
            w.u8(1);
            w.raw(block.0.as_bytes());
        }
    }
    Domain::ConsensusVote.hash(&w.into_bytes())
}

/// The digest a proposer signs for `proposal` on the network `chain_id`.
pub fn proposal_digest(chain_id: &str, proposal: &BlockProposal) -> Hash {
    let mut w = Writer::new();
    w.u8(FORMAT_VERSION);
    w.str(chain_id);
    w.u64(proposal.height.0);
    encode_round(&mut w, proposal.round);
    encode_round(&mut w, proposal.pol_round);
    w.raw(mc::Value::id(&proposal.value).0.as_bytes());
    Domain::ConsensusProposal.hash(&w.into_bytes())
}

/// Signs with one validator key and verifies anyone's, for one network.
#[derive(Clone)]
pub struct TrustchainSigner {
    key: SigningKey,
    chain_id: Arc<str>,
}

impl std::fmt::Debug for TrustchainSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustchainSigner")
            .field("key", &PublicKey::of(&self.key))
            .field("chain_id", &self.chain_id)
            .finish()
    }
}

impl TrustchainSigner {
    pub(crate) fn new(key: SigningKey, chain_id: Arc<str>) -> Self {
        TrustchainSigner { key, chain_id }
    }
    /// The public key this signer signs with.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::of(&self.key)
    }
}

type Signed<M> = SignedMessage<TrustchainContext, M>;

impl mc::SigningProvider<TrustchainContext> for TrustchainSigner {
    fn sign_vote(&self, vote: ConsVote) -> Signed<ConsVote> {
        let sig = sign(&self.key, &vote_digest(&self.chain_id, &vote));
        SignedMessage::new(vote, sig.into())
    }
    fn verify_signed_vote(&self, vote: &ConsVote, signature: &Sig, public_key: &PublicKey) -> bool {
        public_key
            .verify(&vote_digest(&self.chain_id, vote), &(*signature).into())
            .is_ok()
    }
    fn sign_proposal(&self, proposal: BlockProposal) -> Signed<BlockProposal> {
        let sig = sign(&self.key, &proposal_digest(&self.chain_id, &proposal));
        SignedMessage::new(proposal, sig.into())
    }
    fn verify_signed_proposal(
        &self,
        proposal: &BlockProposal,
        signature: &Sig,
        public_key: &PublicKey,
    ) -> bool {
        public_key
            .verify(
                &proposal_digest(&self.chain_id, proposal),
                &(*signature).into(),
            )
            .is_ok()
    }
    fn sign_proposal_part(&self, part: NoParts) -> Signed<NoParts> {
        match part {}
    }
    fn verify_signed_proposal_part(&self, part: &NoParts, _: &Sig, _: &PublicKey) -> bool {
        match *part {}
    }
    /// Vote extensions are not used: an all-zero signature, which never verifies.
    fn sign_vote_extension(&self, extension: ()) -> Signed<()> {
        SignedMessage::new(extension, Sig([0; 64]))
    }
    fn verify_signed_vote_extension(&self, _: &(), _: &Sig, _: &PublicKey) -> bool {
        false
    }
}
