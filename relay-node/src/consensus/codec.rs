//! The bounded, canonical byte encoding of what relays send each other for consensus
//! ([`NetMessage`]), of the catch-up protocol `/trustchain/sync/1` ([`SyncRequest`],
//! [`SyncResponse`]) and of the consensus write-ahead log ([`WalRecord`]), in `core`'s
//! [canonical encoding](trustchain_core::encoding).
//!
//! Each top-level message is `FORMAT_VERSION ‖ tag ‖ fields`; inner enums are a `u8` tag then the
//! variant's fields. The fields:
//!
//! | item | bytes |
//! |---|---|
//! | round | `option(u32)`: `0` = malachite's `Round::Nil`, `1 ‖ u32` (as in [`super::signing`]) |
//! | validator address | the 32-byte ed25519 key (must be a valid, non-weak point) |
//! | signature ([`Sig`]) | 64 raw bytes |
//! | value id ([`BlockId`]) | 32 raw bytes |
//! | `NilOrVal<BlockId>` | `0` (nil) or `1 ‖ id` |
//! | vote ([`ConsVote`]) | `height u64 ‖ round ‖ kind u8 (0 prevote, 1 precommit) ‖ NilOrVal ‖ address` |
//! | value ([`BlockValue`]) | `BlockHeader ‖ BlockBody`; the id is recomputed as the header's hash, never read |
//! | proposal ([`BlockProposal`]) | `height u64 ‖ round ‖ pol_round ‖ proposer ‖ value` |
//! | signed vote / proposal | the message then its signature |
//! | polka certificate | `height ‖ round ‖ value id ‖ seq(address ‖ signature)` |
//! | round certificate | `height ‖ round ‖ type u8 (0 precommit, 1 skip) ‖ seq(kind ‖ NilOrVal ‖ address ‖ signature)` |
//! | timeout | `kind u8 (0 propose, 1 prevote, 2 precommit, 3 rebroadcast) ‖ round` |
//! | proposed value | `height ‖ round ‖ valid_round ‖ proposer ‖ value ‖ validity bool` |
//! | [`NetMessage`] tag | 0 consensus, 1 liveness, 2 final block, 3 checkpoint, 4 PoSR report, 5 beacon commit, 6 beacon reveal |
//!
//! The round of a vote, a proposal, a certificate or a proposed value must be defined: `Round::Nil`
//! there encodes (malachite never makes one) but is rejected on decoding. A `pol_round`, a
//! `valid_round` and a timeout's round may be nil. Certificates carry at most
//! [`MAX_CERTIFICATE_SIGNATURES`] signatures, in the order malachite made them.
//!
//! Decoding never panics and allocates no more than the input justifies, but it checks only
//! the form: **no signature is verified here**. Malachite's core verifies votes, proposals and
//! certificates when they are fed to [`super::ConsensusCore`]; blocks and checkpoints are
//! checked by whoever applies them. Equality of decoded messages is malachite's: two
//! [`BlockValue`]s are equal when their ids are, whatever their bodies (the re-encoding, though,
//! is byte-identical to the input).
//!
//! [`Decode::from_bytes`] of each type here applies that type's limits ([`NET_LIMITS`], or
//! [`SYNC_LIMITS`] for a [`SyncResponse`]) instead of [`Limits::DEFAULT`].

use informalsystems_malachitebft_core_consensus as mcc;
use informalsystems_malachitebft_core_types as mc;
use mc::{
    NilOrVal, PolkaCertificate, PolkaSignature, Round, RoundCertificate, RoundCertificateType,
    RoundSignature, SignedMessage, Timeout, TimeoutKind, Validity, VoteType,
};
use mcc::{LivenessMsg, ProposedValue, SignedConsensusMsg, WalEntry};
use trustchain_core::chain::beacon::{BeaconCommit, BeaconReveal};
use trustchain_core::chain::block::BlockHeader;
use trustchain_core::chain::posr::ObservationReport;
use trustchain_core::chain::validators::MAX_VALIDATORS;
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::Hash;
use trustchain_core::encoding::{
    Decode, DecodeError, Encode, FORMAT_VERSION, Limits, Reader, Writer,
};
use trustchain_core::scenario::checkpoint::SignedCheckpoint;

use super::ctx::{
    BlockId, BlockProposal, BlockValue, ConsVote, Height, TrustchainContext, ValAddr,
};
use super::signing::{Sig, encode_round};
use trustchain_core::chain::block::{BlockBody, FinalBlock};

/// Limits for one [`NetMessage`], [`SyncRequest`] or [`WalRecord`]: 2 MiB in all, lengths up
/// to 1 MiB, 16 levels deep. A proposal carries its whole block body, so a producer must keep
/// a block's encoding well below 2 MiB, or its proposal does not reach the others.
pub const NET_LIMITS: Limits = Limits {
    max_total: 2 << 20,
    max_len: 1 << 20,
    max_depth: 16,
};

/// Most blocks one [`SyncResponse`] carries, and the largest `limit` a [`SyncRequest`] may ask.
pub const MAX_SYNC_BLOCKS: u32 = 256;

/// Limits for one [`SyncResponse`]: 16 MiB in all. That is far less than [`MAX_SYNC_BLOCKS`]
/// blocks of the largest size; a server fills a response with [`SyncResponse::blocks_fitting`],
/// which stops before the limit (any single block of a proposable size fits).
pub const SYNC_LIMITS: Limits = Limits {
    max_total: 16 << 20,
    max_len: 1 << 20,
    max_depth: 16,
};

/// Most signatures in a polka or round certificate: one per validator, and a validator set has
/// at most [`MAX_VALIDATORS`].
pub const MAX_CERTIFICATE_SIGNATURES: u32 = MAX_VALIDATORS;

/// Longest [`SyncResponse::Error`] message, in bytes.
pub const MAX_SYNC_ERROR: u32 = 1_024;

/// Smallest encoding of a [`FinalBlock`]: a header with an empty chain id (161 bytes), a
/// certificate without signatures (49) and an empty body (4).
const MIN_FINAL_BLOCK: usize = 161 + 49 + 4;
/// Smallest polka signature: address and signature.
const MIN_POLKA_SIGNATURE: usize = 32 + 64;
/// Smallest round signature: kind, nil, address and signature.
const MIN_ROUND_SIGNATURE: usize = 1 + 1 + 32 + 64;

type Ctx = TrustchainContext;

/// What relays gossip to each other. Nothing in it is signature-checked by decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetMessage {
    /// A signed vote or proposal (malachite verifies the signature when it is received).
    Consensus(SignedConsensusMsg<TrustchainContext>),
    /// A republished vote, a polka certificate or a round certificate.
    Liveness(LivenessMsg<TrustchainContext>),
    /// A decided block with its body.
    Block(Box<FinalBlock>),
    /// A scenario checkpoint to anchor.
    Checkpoint(Box<SignedCheckpoint>),
    /// A PoSR observation report for the node registry (docs/posr.md).
    Report(Box<ObservationReport>),
    /// A validator's beacon commitment (docs/beacon.md).
    BeaconCommit(Box<BeaconCommit>),
    /// A validator's beacon reveal.
    BeaconReveal(Box<BeaconReveal>),
}

/// One write-ahead-log entry (docs/consensus.md §2.2).
#[derive(Clone, Debug)]
pub struct WalRecord(pub WalEntry<TrustchainContext>);

impl PartialEq for WalRecord {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (WalEntry::ConsensusMsg(a), WalEntry::ConsensusMsg(b)) => a == b,
            (WalEntry::Timeout(a), WalEntry::Timeout(b)) => a == b,
            (WalEntry::ProposedValue(a), WalEntry::ProposedValue(b)) => a == b,
            _ => false,
        }
    }
}
impl Eq for WalRecord {}

/// A request of the catch-up protocol `/trustchain/sync/1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncRequest {
    /// Final blocks from height `from` on, at most `limit` (≤ [`MAX_SYNC_BLOCKS`]) of them.
    Blocks {
        /// First height wanted.
        from: u64,
        /// How many blocks at most.
        limit: u32,
    },
}

/// A response of the catch-up protocol `/trustchain/sync/1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncResponse {
    /// Consecutive final blocks (at most [`MAX_SYNC_BLOCKS`]; not checked here to be
    /// consecutive, certified or anything but well-formed).
    Blocks(Vec<FinalBlock>),
    /// The server could not answer; `message` is at most [`MAX_SYNC_ERROR`] bytes.
    Error {
        /// Why.
        message: String,
    },
}

impl SyncResponse {
    /// An error response, its message cut (at a character boundary) to [`MAX_SYNC_ERROR`] bytes
    /// so that it decodes.
    pub fn error(message: impl Into<String>) -> Self {
        let mut message = message.into();
        let max = MAX_SYNC_ERROR as usize;
        if message.len() > max {
            let mut end = max;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        SyncResponse::Error { message }
    }

    /// A response with the leading `blocks`, as many as fit: at most [`MAX_SYNC_BLOCKS`], and
    /// an encoding within [`SYNC_LIMITS`]. The first block is left out only if it alone is too
    /// large (it could never have been proposed).
    pub fn blocks_fitting(blocks: impl IntoIterator<Item = FinalBlock>) -> Self {
        // Version, tag and count.
        let mut size = 1 + 1 + 4;
        let mut out = Vec::new();
        for block in blocks.into_iter().take(MAX_SYNC_BLOCKS as usize) {
            let len = block.to_bytes().len();
            if size + len > SYNC_LIMITS.max_total {
                break;
            }
            size += len;
            out.push(block);
        }
        SyncResponse::Blocks(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Fields.

fn invalid(what: &'static str, why: &'static str) -> DecodeError {
    DecodeError::Invalid { what, why }
}

fn read_round(r: &mut Reader<'_>, what: &'static str) -> Result<Round, DecodeError> {
    match r.u8(what)? {
        0 => Ok(Round::Nil),
        1 => Ok(Round::new(r.u32(what)?)),
        tag => Err(DecodeError::InvalidTag { what, tag }),
    }
}

/// A round that must be defined.
fn read_defined_round(r: &mut Reader<'_>, what: &'static str) -> Result<Round, DecodeError> {
    match read_round(r, what)? {
        Round::Nil => Err(invalid(what, "must be a defined round, not nil")),
        round => Ok(round),
    }
}

fn write_addr(w: &mut Writer, a: &ValAddr) {
    a.0.encode(w);
}
fn read_addr(r: &mut Reader<'_>) -> Result<ValAddr, DecodeError> {
    Ok(ValAddr(PublicKey::decode(r)?))
}

fn write_sig(w: &mut Writer, s: &Sig) {
    w.raw(&s.0);
}
fn read_sig(r: &mut Reader<'_>) -> Result<Sig, DecodeError> {
    Ok(Sig(r.array("signature")?))
}

fn write_id(w: &mut Writer, id: &BlockId) {
    id.0.encode(w);
}
fn read_id(r: &mut Reader<'_>) -> Result<BlockId, DecodeError> {
    Ok(BlockId(Hash::decode(r)?))
}

fn write_nil_or_id(w: &mut Writer, v: &NilOrVal<BlockId>) {
    match v {
        NilOrVal::Nil => w.u8(0),
        NilOrVal::Val(id) => {
            w.u8(1);
            write_id(w, id);
        }
    }
}
fn read_nil_or_id(r: &mut Reader<'_>) -> Result<NilOrVal<BlockId>, DecodeError> {
    match r.u8("nil or value")? {
        0 => Ok(NilOrVal::Nil),
        1 => Ok(NilOrVal::Val(read_id(r)?)),
        tag => Err(DecodeError::InvalidTag {
            what: "nil or value",
            tag,
        }),
    }
}

fn write_vote_type(w: &mut Writer, t: VoteType) {
    w.u8(match t {
        VoteType::Prevote => 0,
        VoteType::Precommit => 1,
    });
}
fn read_vote_type(r: &mut Reader<'_>) -> Result<VoteType, DecodeError> {
    match r.u8("vote type")? {
        0 => Ok(VoteType::Prevote),
        1 => Ok(VoteType::Precommit),
        tag => Err(DecodeError::InvalidTag {
            what: "vote type",
            tag,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Votes, proposals, values.

fn write_vote(w: &mut Writer, v: &ConsVote) {
    w.u64(v.height.0);
    encode_round(w, v.round);
    write_vote_type(w, v.kind);
    write_nil_or_id(w, &v.value);
    write_addr(w, &v.validator);
}
fn read_vote(r: &mut Reader<'_>) -> Result<ConsVote, DecodeError> {
    Ok(ConsVote {
        height: Height(r.u64("vote height")?),
        round: read_defined_round(r, "vote round")?,
        kind: read_vote_type(r)?,
        value: read_nil_or_id(r)?,
        validator: read_addr(r)?,
    })
}

fn write_signed_vote(w: &mut Writer, v: &SignedMessage<Ctx, ConsVote>) {
    write_vote(w, &v.message);
    write_sig(w, &v.signature);
}
fn read_signed_vote(r: &mut Reader<'_>) -> Result<SignedMessage<Ctx, ConsVote>, DecodeError> {
    let vote = read_vote(r)?;
    Ok(SignedMessage::new(vote, read_sig(r)?))
}

fn write_value(w: &mut Writer, v: &BlockValue) {
    v.header().encode(w);
    v.body().encode(w);
}
/// The id is the header's hash, recomputed by [`BlockValue::with_body`].
fn read_value(r: &mut Reader<'_>) -> Result<BlockValue, DecodeError> {
    let header = BlockHeader::decode(r)?;
    let body = BlockBody::decode(r)?;
    Ok(BlockValue::with_body(header, body))
}

fn write_proposal(w: &mut Writer, p: &BlockProposal) {
    w.u64(p.height.0);
    encode_round(w, p.round);
    encode_round(w, p.pol_round);
    write_addr(w, &p.proposer);
    write_value(w, &p.value);
}
fn read_proposal(r: &mut Reader<'_>) -> Result<BlockProposal, DecodeError> {
    let height = Height(r.u64("proposal height")?);
    let round = read_defined_round(r, "proposal round")?;
    let pol_round = read_round(r, "proposal pol_round")?;
    let proposer = read_addr(r)?;
    let value = read_value(r)?;
    Ok(BlockProposal {
        height,
        round,
        value,
        pol_round,
        proposer,
    })
}

fn write_consensus_msg(w: &mut Writer, m: &SignedConsensusMsg<Ctx>) {
    match m {
        SignedConsensusMsg::Vote(v) => {
            w.u8(0);
            write_signed_vote(w, v);
        }
        SignedConsensusMsg::Proposal(p) => {
            w.u8(1);
            write_proposal(w, &p.message);
            write_sig(w, &p.signature);
        }
    }
}
fn read_consensus_msg(r: &mut Reader<'_>) -> Result<SignedConsensusMsg<Ctx>, DecodeError> {
    match r.u8("consensus message tag")? {
        0 => Ok(SignedConsensusMsg::Vote(read_signed_vote(r)?)),
        1 => {
            let proposal = read_proposal(r)?;
            Ok(SignedConsensusMsg::Proposal(SignedMessage::new(
                proposal,
                read_sig(r)?,
            )))
        }
        tag => Err(DecodeError::InvalidTag {
            what: "consensus message",
            tag,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates and liveness messages.

/// Writes a signature count. The encoder does not refuse more than
/// [`MAX_CERTIFICATE_SIGNATURES`]; the decoder does.
fn write_count(w: &mut Writer, n: usize) {
    w.len(n);
}

fn write_polka(w: &mut Writer, c: &PolkaCertificate<Ctx>) {
    w.u64(c.height.0);
    encode_round(w, c.round);
    write_id(w, &c.value_id);
    write_count(w, c.polka_signatures.len());
    for s in &c.polka_signatures {
        write_addr(w, &s.address);
        write_sig(w, &s.signature);
    }
}
fn read_polka(r: &mut Reader<'_>) -> Result<PolkaCertificate<Ctx>, DecodeError> {
    let height = Height(r.u64("polka height")?);
    let round = read_defined_round(r, "polka round")?;
    let value_id = read_id(r)?;
    let n = r.len(
        "polka signatures",
        MAX_CERTIFICATE_SIGNATURES,
        MIN_POLKA_SIGNATURE,
    )?;
    let polka_signatures = r.nested(|r| {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let address = read_addr(r)?;
            v.push(PolkaSignature::new(address, read_sig(r)?));
        }
        Ok(v)
    })?;
    Ok(PolkaCertificate {
        height,
        round,
        value_id,
        polka_signatures,
    })
}

fn write_round_cert(w: &mut Writer, c: &RoundCertificate<Ctx>) {
    w.u64(c.height.0);
    encode_round(w, c.round);
    w.u8(match c.cert_type {
        RoundCertificateType::Precommit => 0,
        RoundCertificateType::Skip => 1,
    });
    write_count(w, c.round_signatures.len());
    for s in &c.round_signatures {
        write_vote_type(w, s.vote_type);
        write_nil_or_id(w, &s.value_id);
        write_addr(w, &s.address);
        write_sig(w, &s.signature);
    }
}
fn read_round_cert(r: &mut Reader<'_>) -> Result<RoundCertificate<Ctx>, DecodeError> {
    let height = Height(r.u64("round certificate height")?);
    let round = read_defined_round(r, "round certificate round")?;
    let cert_type = match r.u8("round certificate type")? {
        0 => RoundCertificateType::Precommit,
        1 => RoundCertificateType::Skip,
        tag => {
            return Err(DecodeError::InvalidTag {
                what: "round certificate type",
                tag,
            });
        }
    };
    let n = r.len(
        "round signatures",
        MAX_CERTIFICATE_SIGNATURES,
        MIN_ROUND_SIGNATURE,
    )?;
    let round_signatures = r.nested(|r| {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let vote_type = read_vote_type(r)?;
            let value_id = read_nil_or_id(r)?;
            let address = read_addr(r)?;
            v.push(RoundSignature::new(
                vote_type,
                value_id,
                address,
                read_sig(r)?,
            ));
        }
        Ok(v)
    })?;
    Ok(RoundCertificate {
        height,
        round,
        cert_type,
        round_signatures,
    })
}

fn write_liveness(w: &mut Writer, m: &LivenessMsg<Ctx>) {
    match m {
        LivenessMsg::Vote(v) => {
            w.u8(0);
            write_signed_vote(w, v);
        }
        LivenessMsg::PolkaCertificate(c) => {
            w.u8(1);
            write_polka(w, c);
        }
        LivenessMsg::SkipRoundCertificate(c) => {
            w.u8(2);
            write_round_cert(w, c);
        }
    }
}
fn read_liveness(r: &mut Reader<'_>) -> Result<LivenessMsg<Ctx>, DecodeError> {
    match r.u8("liveness message tag")? {
        0 => Ok(LivenessMsg::Vote(read_signed_vote(r)?)),
        1 => Ok(LivenessMsg::PolkaCertificate(read_polka(r)?)),
        2 => Ok(LivenessMsg::SkipRoundCertificate(read_round_cert(r)?)),
        tag => Err(DecodeError::InvalidTag {
            what: "liveness message",
            tag,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Write-ahead-log entries.

fn write_timeout(w: &mut Writer, t: &Timeout) {
    w.u8(match t.kind {
        TimeoutKind::Propose => 0,
        TimeoutKind::Prevote => 1,
        TimeoutKind::Precommit => 2,
        TimeoutKind::Rebroadcast => 3,
    });
    encode_round(w, t.round);
}
fn read_timeout(r: &mut Reader<'_>) -> Result<Timeout, DecodeError> {
    let kind = match r.u8("timeout kind")? {
        0 => TimeoutKind::Propose,
        1 => TimeoutKind::Prevote,
        2 => TimeoutKind::Precommit,
        3 => TimeoutKind::Rebroadcast,
        tag => {
            return Err(DecodeError::InvalidTag {
                what: "timeout kind",
                tag,
            });
        }
    };
    Ok(Timeout::new(read_round(r, "timeout round")?, kind))
}

fn write_proposed_value(w: &mut Writer, v: &ProposedValue<Ctx>) {
    w.u64(v.height.0);
    encode_round(w, v.round);
    encode_round(w, v.valid_round);
    write_addr(w, &v.proposer);
    write_value(w, &v.value);
    w.bool(v.validity == Validity::Valid);
}
fn read_proposed_value(r: &mut Reader<'_>) -> Result<ProposedValue<Ctx>, DecodeError> {
    let height = Height(r.u64("proposed value height")?);
    let round = read_defined_round(r, "proposed value round")?;
    let valid_round = read_round(r, "proposed value valid_round")?;
    let proposer = read_addr(r)?;
    let value = read_value(r)?;
    let validity = if r.bool("validity")? {
        Validity::Valid
    } else {
        Validity::Invalid
    };
    Ok(ProposedValue {
        height,
        round,
        valid_round,
        proposer,
        value,
        validity,
    })
}

// ---------------------------------------------------------------------------------------------
// Top-level messages.

impl Encode for NetMessage {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        match self {
            NetMessage::Consensus(m) => {
                w.u8(0);
                write_consensus_msg(w, m);
            }
            NetMessage::Liveness(m) => {
                w.u8(1);
                write_liveness(w, m);
            }
            NetMessage::Block(b) => {
                w.u8(2);
                b.encode(w);
            }
            NetMessage::Checkpoint(c) => {
                w.u8(3);
                c.encode(w);
            }
            NetMessage::Report(r) => {
                w.u8(4);
                r.encode(w);
            }
            NetMessage::BeaconCommit(c) => {
                w.u8(5);
                c.encode(w);
            }
            NetMessage::BeaconReveal(r) => {
                w.u8(6);
                r.encode(w);
            }
        }
    }
}
impl Decode for NetMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("net message")?;
        match r.u8("net message tag")? {
            0 => Ok(NetMessage::Consensus(read_consensus_msg(r)?)),
            1 => Ok(NetMessage::Liveness(read_liveness(r)?)),
            2 => Ok(NetMessage::Block(Box::new(FinalBlock::decode(r)?))),
            3 => Ok(NetMessage::Checkpoint(Box::new(SignedCheckpoint::decode(
                r,
            )?))),
            4 => Ok(NetMessage::Report(Box::new(ObservationReport::decode(r)?))),
            5 => Ok(NetMessage::BeaconCommit(Box::new(BeaconCommit::decode(r)?))),
            6 => Ok(NetMessage::BeaconReveal(Box::new(BeaconReveal::decode(r)?))),
            tag => Err(DecodeError::InvalidTag {
                what: "net message",
                tag,
            }),
        }
    }
    /// Decodes under [`NET_LIMITS`].
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_bytes_with(bytes, NET_LIMITS)
    }
}

impl Encode for WalRecord {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        match &self.0 {
            WalEntry::ConsensusMsg(m) => {
                w.u8(0);
                write_consensus_msg(w, m);
            }
            WalEntry::Timeout(t) => {
                w.u8(1);
                write_timeout(w, t);
            }
            WalEntry::ProposedValue(v) => {
                w.u8(2);
                write_proposed_value(w, v);
            }
        }
    }
}
impl Decode for WalRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("wal entry")?;
        let entry = match r.u8("wal entry tag")? {
            0 => WalEntry::ConsensusMsg(read_consensus_msg(r)?),
            1 => WalEntry::Timeout(read_timeout(r)?),
            2 => WalEntry::ProposedValue(read_proposed_value(r)?),
            tag => {
                return Err(DecodeError::InvalidTag {
                    what: "wal entry",
                    tag,
                });
            }
        };
        Ok(WalRecord(entry))
    }
    /// Decodes under [`NET_LIMITS`].
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_bytes_with(bytes, NET_LIMITS)
    }
}

impl Encode for SyncRequest {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        match self {
            SyncRequest::Blocks { from, limit } => {
                w.u8(0);
                w.u64(*from);
                w.u32(*limit);
            }
        }
    }
}
impl Decode for SyncRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("sync request")?;
        match r.u8("sync request tag")? {
            0 => {
                let from = r.u64("sync from")?;
                let limit = r.u32("sync limit")?;
                if limit > MAX_SYNC_BLOCKS {
                    return Err(DecodeError::TooLong {
                        what: "sync limit",
                        len: limit.into(),
                        max: MAX_SYNC_BLOCKS.into(),
                    });
                }
                Ok(SyncRequest::Blocks { from, limit })
            }
            tag => Err(DecodeError::InvalidTag {
                what: "sync request",
                tag,
            }),
        }
    }
    /// Decodes under [`NET_LIMITS`].
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_bytes_with(bytes, NET_LIMITS)
    }
}

impl Encode for SyncResponse {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        match self {
            SyncResponse::Blocks(blocks) => {
                w.u8(0);
                w.seq(blocks);
            }
            SyncResponse::Error { message } => {
                w.u8(1);
                w.str(message);
            }
        }
    }
}
impl Decode for SyncResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("sync response")?;
        match r.u8("sync response tag")? {
            0 => Ok(SyncResponse::Blocks(r.seq(
                "sync blocks",
                MAX_SYNC_BLOCKS,
                MIN_FINAL_BLOCK,
            )?)),
            1 => Ok(SyncResponse::Error {
                message: r.str("sync error", MAX_SYNC_ERROR)?,
            }),
            tag => Err(DecodeError::InvalidTag {
                what: "sync response",
                tag,
            }),
        }
    }
    /// Decodes under [`SYNC_LIMITS`].
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_bytes_with(bytes, SYNC_LIMITS)
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use ed25519_dalek::SigningKey;
    use mc::{Context as _, SigningProvider};
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;
    use proptest::sample::select;
    use trustchain_core::chain::block::CommitCertificate;
    use trustchain_core::chain::validators::{Validator, ValidatorSet};
    use trustchain_core::encoding::value::ScenarioId;
    use trustchain_core::scenario::checkpoint::Checkpoint;

    use super::*;
    use trustchain_core::chain::block::StoredBlock;

    const CHAIN: &str = "trustchain-test";
    /// Validators in the tests' set.
    const N: usize = 4;

    fn key(i: u8) -> SigningKey {
        SigningKey::from_bytes(&[i; 32])
    }
    /// Keys 1..=N, in key order.
    fn keys() -> Vec<SigningKey> {
        let mut keys: Vec<SigningKey> = (1..=N as u8).map(key).collect();
        keys.sort_by_key(PublicKey::of);
        keys
    }
    fn set() -> ValidatorSet {
        ValidatorSet::new(
            0,
            keys()
                .iter()
                .map(|k| Validator {
                    key: PublicKey::of(k),
                    weight: 10,
                })
                .collect(),
        )
        .unwrap()
    }
    fn ctx() -> TrustchainContext {
        TrustchainContext::new(CHAIN)
    }
    fn addr(i: usize) -> ValAddr {
        ValAddr(PublicKey::of(&keys()[i]))
    }
    fn sign_vote(i: usize, vote: ConsVote) -> SignedMessage<Ctx, ConsVote> {
        ctx().signing_provider(keys()[i].clone()).sign_vote(vote)
    }

    // --- strategies ----------------------------------------------------------------------

    fn arb_hash() -> impl Strategy<Value = Hash> {
        any::<[u8; 32]>().prop_map(Hash)
    }
    fn arb_round() -> impl Strategy<Value = Round> {
        any::<u32>().prop_map(Round::new)
    }
    fn arb_opt_round() -> impl Strategy<Value = Round> {
        option::of(any::<u32>()).prop_map(Round::from)
    }
    fn arb_nil_or_id() -> impl Strategy<Value = NilOrVal<BlockId>> {
        option::of(arb_hash()).prop_map(|h| match h {
            None => NilOrVal::Nil,
            Some(h) => NilOrVal::Val(BlockId(h)),
        })
    }
    fn arb_vote_type() -> impl Strategy<Value = VoteType> {
        select(vec![VoteType::Prevote, VoteType::Precommit])
    }
    fn arb_header() -> impl Strategy<Value = BlockHeader> {
        (
            "[a-z0-9-]{0,20}",
            any::<u64>(),
            any::<u64>(),
            arb_hash(),
            any::<u64>(),
            arb_hash(),
            any::<u32>(),
            arb_hash(),
            arb_hash(),
        )
            .prop_map(
                |(chain_id, height, epoch, prev, time_ms, anchor_root, moved, vh, nvh)| {
                    BlockHeader {
                        chain_id,
                        height,
                        epoch,
                        prev,
                        time_ms,
                        anchor_root,
                        moved,
                        body_hash: vh,
                        validators_hash: vh,
                        next_validators_hash: nvh,
                    }
                },
            )
    }
    fn arb_checkpoint() -> impl Strategy<Value = SignedCheckpoint> {
        (
            "[a-z][a-z0-9]{0,8}(/[a-z0-9][a-z0-9._-]{0,7})?",
            any::<u64>(),
            arb_hash(),
            arb_hash(),
            any::<u64>(),
            0..=3usize,
        )
            .prop_map(|(scenario, size, root, main_ref, time_ms, signers)| {
                let keys = keys();
                let refs: Vec<&SigningKey> = keys.iter().take(signers).collect();
                Checkpoint {
                    scenario: ScenarioId::new(&scenario).unwrap(),
                    size,
                    root,
                    main_ref,
                    time_ms,
                }
                .sign(&refs)
            })
    }
    fn arb_body() -> impl Strategy<Value = BlockBody> {
        vec(arb_checkpoint(), 0..3).prop_map(|checkpoints| BlockBody {
            checkpoints,
            ..Default::default()
        })
    }
    fn arb_value() -> impl Strategy<Value = BlockValue> {
        (arb_header(), arb_body()).prop_map(|(h, b)| BlockValue::with_body(h, b))
    }
    fn arb_signed_vote() -> impl Strategy<Value = SignedMessage<Ctx, ConsVote>> {
        (
            any::<u64>(),
            arb_round(),
            arb_vote_type(),
            arb_nil_or_id(),
            0..N,
        )
            .prop_map(|(height, round, kind, value, i)| {
                sign_vote(
                    i,
                    ConsVote {
                        height: Height(height),
                        round,
                        kind,
                        value,
                        validator: addr(i),
                    },
                )
            })
    }
    fn arb_consensus_msg() -> impl Strategy<Value = SignedConsensusMsg<Ctx>> {
        let proposal = (
            any::<u64>(),
            arb_round(),
            arb_opt_round(),
            arb_value(),
            0..N,
        )
            .prop_map(|(height, round, pol_round, value, i)| {
                let p = ctx().new_proposal(Height(height), round, value, pol_round, addr(i));
                SignedConsensusMsg::Proposal(
                    ctx().signing_provider(keys()[i].clone()).sign_proposal(p),
                )
            });
        prop_oneof![
            arb_signed_vote().prop_map(SignedConsensusMsg::Vote),
            proposal
        ]
    }
    fn arb_polka() -> impl Strategy<Value = PolkaCertificate<Ctx>> {
        (any::<u64>(), arb_round(), arb_hash(), vec(0..N, 0..6)).prop_map(
            |(height, round, id, signers)| {
                let id = BlockId(id);
                let votes = signers
                    .into_iter()
                    .map(|i| {
                        let v =
                            ctx().new_prevote(Height(height), round, NilOrVal::Val(id), addr(i));
                        sign_vote(i, v)
                    })
                    .collect();
                PolkaCertificate::new(Height(height), round, id, votes)
            },
        )
    }
    fn arb_round_cert() -> impl Strategy<Value = RoundCertificate<Ctx>> {
        (
            any::<u64>(),
            arb_round(),
            select(vec![
                RoundCertificateType::Precommit,
                RoundCertificateType::Skip,
            ]),
            vec((0..N, arb_vote_type(), arb_nil_or_id()), 0..6),
        )
            .prop_map(|(height, round, cert_type, votes)| {
                let votes = votes
                    .into_iter()
                    .map(|(i, kind, value)| {
                        let vote = ConsVote {
                            height: Height(height),
                            round,
                            kind,
                            value,
                            validator: addr(i),
                        };
                        sign_vote(i, vote)
                    })
                    .collect();
                RoundCertificate::new_from_votes(Height(height), round, cert_type, votes)
            })
    }
    fn arb_liveness() -> impl Strategy<Value = LivenessMsg<Ctx>> {
        prop_oneof![
            arb_signed_vote().prop_map(LivenessMsg::Vote),
            arb_polka().prop_map(LivenessMsg::PolkaCertificate),
            arb_round_cert().prop_map(LivenessMsg::SkipRoundCertificate),
        ]
    }
    fn arb_final_block() -> impl Strategy<Value = FinalBlock> {
        (arb_header(), any::<u32>(), 0..=N, arb_body()).prop_map(|(header, round, n, body)| {
            let keys = keys();
            let refs: Vec<&SigningKey> = keys.iter().take(n).collect();
            let certificate = CommitCertificate::sign(&header, round, &set(), &refs);
            FinalBlock {
                block: StoredBlock {
                    header,
                    certificate,
                },
                body,
            }
        })
    }
    fn arb_net_message() -> impl Strategy<Value = NetMessage> {
        prop_oneof![
            arb_consensus_msg().prop_map(NetMessage::Consensus),
            arb_liveness().prop_map(NetMessage::Liveness),
            arb_final_block().prop_map(|b| NetMessage::Block(Box::new(b))),
            arb_checkpoint().prop_map(|c| NetMessage::Checkpoint(Box::new(c))),
            (any::<u8>(), any::<u8>(), any::<u64>(), any::<u32>()).prop_map(
                |(a, b, window, rtt)| {
                    NetMessage::Report(Box::new(ObservationReport::sign(
                        "trustchain-test",
                        &SigningKey::from_bytes(&[a; 32]),
                        PublicKey::of(&SigningKey::from_bytes(&[b; 32])),
                        window,
                        trustchain_core::chain::posr::Measurements {
                            heartbeat_ppm: 1_000_000,
                            reachability_ppm: 990_000,
                            rtt_us: rtt,
                            bandwidth_kbps: 0,
                        },
                    )))
                }
            ),
        ]
    }
    fn arb_timeout() -> impl Strategy<Value = Timeout> {
        (
            select(vec![
                TimeoutKind::Propose,
                TimeoutKind::Prevote,
                TimeoutKind::Precommit,
                TimeoutKind::Rebroadcast,
            ]),
            arb_opt_round(),
        )
            .prop_map(|(kind, round)| Timeout::new(round, kind))
    }
    fn arb_wal() -> impl Strategy<Value = WalRecord> {
        let proposed = (
            any::<u64>(),
            arb_round(),
            arb_opt_round(),
            0..N,
            arb_value(),
            any::<bool>(),
        )
            .prop_map(|(height, round, valid_round, i, value, valid)| {
                WalEntry::ProposedValue(ProposedValue {
                    height: Height(height),
                    round,
                    valid_round,
                    proposer: addr(i),
                    value,
                    validity: if valid {
                        Validity::Valid
                    } else {
                        Validity::Invalid
                    },
                })
            });
        prop_oneof![
            arb_consensus_msg().prop_map(WalEntry::ConsensusMsg),
            arb_timeout().prop_map(WalEntry::Timeout),
            proposed,
        ]
        .prop_map(WalRecord)
    }
    fn arb_sync_request() -> impl Strategy<Value = SyncRequest> {
        (any::<u64>(), 0..=MAX_SYNC_BLOCKS)
            .prop_map(|(from, limit)| SyncRequest::Blocks { from, limit })
    }
    fn arb_sync_response() -> impl Strategy<Value = SyncResponse> {
        prop_oneof![
            vec(arb_final_block(), 0..3).prop_map(SyncResponse::Blocks),
            ".{0,40}".prop_map(SyncResponse::error),
        ]
    }

    // --- properties ----------------------------------------------------------------------

    /// `decode(encode(x)) == x`, the re-encoding is byte-identical, every strict prefix and one
    /// trailing byte are errors.
    fn check_roundtrip<T: Encode + Decode + PartialEq + Debug>(x: &T) -> Result<(), TestCaseError> {
        let bytes = x.to_bytes();
        let back = T::from_bytes(&bytes);
        prop_assert!(back.is_ok(), "{:?}", back);
        let back = back.unwrap();
        prop_assert_eq!(&back, x);
        prop_assert_eq!(back.to_bytes(), bytes.clone());
        for n in 0..bytes.len() {
            prop_assert!(
                T::from_bytes(&bytes[..n]).is_err(),
                "prefix of {} bytes decodes",
                n
            );
        }
        let mut longer = bytes;
        longer.push(0);
        prop_assert_eq!(
            T::from_bytes(&longer),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
        Ok(())
    }

    /// Decoding never panics, and whatever decodes re-encodes to the same bytes (one encoding
    /// per value).
    fn check_canonical<T: Encode + Decode + Debug>(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(x) = T::from_bytes(bytes) {
            prop_assert_eq!(x.to_bytes(), bytes.to_vec(), "{:?}", x);
        }
        Ok(())
    }
    fn check_all_decoders(bytes: &[u8]) -> Result<(), TestCaseError> {
        check_canonical::<NetMessage>(bytes)?;
        check_canonical::<WalRecord>(bytes)?;
        check_canonical::<SyncRequest>(bytes)?;
        check_canonical::<SyncResponse>(bytes)
    }

    /// The bodies of the values in `m`, which `==` ignores (values compare by id).
    fn bodies(m: &NetMessage) -> Option<&BlockBody> {
        match m {
            NetMessage::Consensus(SignedConsensusMsg::Proposal(p)) => Some(p.value.body()),
            _ => None,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn net_messages_round_trip(m in arb_net_message()) {
            check_roundtrip(&m)?;
            let back = NetMessage::from_bytes(&m.to_bytes()).unwrap();
            prop_assert_eq!(bodies(&back), bodies(&m));
        }

        #[test]
        fn wal_records_round_trip(w in arb_wal()) {
            check_roundtrip(&w)?;
        }

        #[test]
        fn sync_messages_round_trip(q in arb_sync_request(), s in arb_sync_response()) {
            check_roundtrip(&q)?;
            check_roundtrip(&s)?;
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Valid messages with one byte changed, inserted or removed.
        #[test]
        fn mutated_messages_never_panic(
            m in arb_net_message(),
            w in arb_wal(),
            s in arb_sync_response(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            how in 0..3u8,
        ) {
            for mut bytes in [m.to_bytes(), w.to_bytes(), s.to_bytes()] {
                let i = at.index(bytes.len());
                match how {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => {
                        bytes.remove(i);
                    }
                }
                check_all_decoders(&bytes)?;
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
            check_all_decoders(&bytes)?;
        }

        /// Past the version byte and a valid tag, so that the decoders get further.
        #[test]
        fn random_bodies_never_panic(tag in 0..4u8, inner in 0..3u8, rest in vec(any::<u8>(), 0..600)) {
            let mut bytes = vec![FORMAT_VERSION, tag, inner];
            bytes.extend_from_slice(&rest);
            check_all_decoders(&bytes)?;
        }
    }

    // --- specific failures -----------------------------------------------------------------

    fn vote(round: Round) -> ConsVote {
        ConsVote {
            height: Height(5),
            round,
            kind: VoteType::Precommit,
            value: NilOrVal::Val(BlockId(Hash([3; 32]))),
            validator: addr(0),
        }
    }
    fn vote_message(round: Round) -> NetMessage {
        NetMessage::Consensus(SignedConsensusMsg::Vote(sign_vote(0, vote(round))))
    }

    #[test]
    fn a_signed_vote_has_its_exact_layout() {
        let bytes = vote_message(Round::new(2)).to_bytes();
        // version, tag, tag, height, round, kind, value, address, signature
        assert_eq!(bytes.len(), 1 + 1 + 1 + 8 + 5 + 1 + 33 + 32 + 64);
        assert_eq!(&bytes[..3], &[FORMAT_VERSION, 0, 0]);
        assert_eq!(&bytes[11..16], &[1, 0, 0, 0, 2]);
    }

    #[test]
    fn unknown_tags_are_rejected() {
        let mut bytes = vote_message(Round::new(0)).to_bytes();
        bytes[1] = 7;
        assert_eq!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::InvalidTag {
                what: "net message",
                tag: 7
            })
        );
        bytes[1] = 0;
        bytes[2] = 2;
        assert!(matches!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::InvalidTag { tag: 2, .. })
        ));
        // The vote kind.
        let mut bytes = vote_message(Round::new(0)).to_bytes();
        bytes[16] = 2;
        assert!(matches!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::InvalidTag {
                what: "vote type",
                ..
            })
        ));
        let wal = WalRecord(WalEntry::Timeout(Timeout::propose(Round::new(1)))).to_bytes();
        let mut bad = wal.clone();
        bad[1] = 3;
        assert!(matches!(
            WalRecord::from_bytes(&bad),
            Err(DecodeError::InvalidTag { .. })
        ));
        let mut bad = wal;
        bad[2] = 4;
        assert!(matches!(
            WalRecord::from_bytes(&bad),
            Err(DecodeError::InvalidTag {
                what: "timeout kind",
                ..
            })
        ));
        assert!(matches!(
            SyncRequest::from_bytes(&[FORMAT_VERSION, 1]),
            Err(DecodeError::InvalidTag { .. })
        ));
        assert!(matches!(
            SyncResponse::from_bytes(&[FORMAT_VERSION, 2]),
            Err(DecodeError::InvalidTag { .. })
        ));
    }

    #[test]
    fn other_versions_are_rejected() {
        let mut bytes = vote_message(Round::new(0)).to_bytes();
        bytes[0] = FORMAT_VERSION + 1;
        assert!(matches!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::BadVersion { .. })
        ));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = vote_message(Round::new(0)).to_bytes();
        bytes.extend_from_slice(&[0, 0]);
        assert_eq!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::TrailingBytes { count: 2 })
        );
        let mut bytes = SyncRequest::Blocks { from: 1, limit: 2 }.to_bytes();
        bytes.push(0);
        assert_eq!(
            SyncRequest::from_bytes(&bytes),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
    }

    #[test]
    fn a_nil_round_is_rejected_where_a_round_is_required() {
        // Encodes (malachite never makes one), but does not decode.
        let bytes = vote_message(Round::Nil).to_bytes();
        assert_eq!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::Invalid {
                what: "vote round",
                why: "must be a defined round, not nil"
            })
        );
        let p = ctx().new_proposal(
            Height(1),
            Round::Nil,
            BlockValue::new(header()),
            Round::Nil,
            addr(0),
        );
        let p = ctx().signing_provider(keys()[0].clone()).sign_proposal(p);
        let bytes = NetMessage::Consensus(SignedConsensusMsg::Proposal(p)).to_bytes();
        assert!(matches!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::Invalid {
                what: "proposal round",
                ..
            })
        ));
        let cert = PolkaCertificate::<Ctx> {
            height: Height(1),
            round: Round::Nil,
            value_id: BlockId(Hash([1; 32])),
            polka_signatures: vec![],
        };
        let bytes = NetMessage::Liveness(LivenessMsg::PolkaCertificate(cert)).to_bytes();
        assert!(matches!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::Invalid {
                what: "polka round",
                ..
            })
        ));
        // A nil pol_round, valid_round or timeout round is fine.
        let t = WalRecord(WalEntry::Timeout(Timeout::prevote(Round::Nil)));
        assert_eq!(WalRecord::from_bytes(&t.to_bytes()), Ok(t));
    }

    fn header() -> BlockHeader {
        let set = set();
        BlockHeader {
            chain_id: CHAIN.into(),
            height: 1,
            epoch: 0,
            prev: Hash([7; 32]),
            time_ms: 1_700_000_000_000,
            anchor_root: Hash([9; 32]),
            moved: 0,
            body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
            validators_hash: set.hash(),
            next_validators_hash: set.hash(),
        }
    }

    #[test]
    fn too_many_certificate_signatures_are_rejected() {
        let sig = sign_vote(0, vote(Round::new(0))).signature;
        let polka = |n: usize| PolkaCertificate::<Ctx> {
            height: Height(1),
            round: Round::new(0),
            value_id: BlockId(Hash([1; 32])),
            polka_signatures: vec![PolkaSignature::new(addr(0), sig); n],
        };
        let max = MAX_CERTIFICATE_SIGNATURES as usize;
        let ok = NetMessage::Liveness(LivenessMsg::PolkaCertificate(polka(max)));
        assert_eq!(NetMessage::from_bytes(&ok.to_bytes()), Ok(ok));
        let bytes = NetMessage::Liveness(LivenessMsg::PolkaCertificate(polka(max + 1))).to_bytes();
        assert!(matches!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::TooLong {
                what: "polka signatures",
                ..
            })
        ));
        let round = RoundCertificate::<Ctx> {
            height: Height(1),
            round: Round::new(0),
            cert_type: RoundCertificateType::Skip,
            round_signatures: vec![
                RoundSignature::new(
                    VoteType::Prevote,
                    NilOrVal::Nil,
                    addr(0),
                    sig
                );
                max + 1
            ],
        };
        let bytes = NetMessage::Liveness(LivenessMsg::SkipRoundCertificate(round)).to_bytes();
        assert!(matches!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::TooLong {
                what: "round signatures",
                ..
            })
        ));
        // A count the input cannot hold is refused before any allocation.
        let mut bytes = NetMessage::Liveness(LivenessMsg::PolkaCertificate(polka(0))).to_bytes();
        let n = bytes.len();
        bytes[n - 4..].copy_from_slice(&1000u32.to_be_bytes());
        assert!(matches!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
    }

    #[test]
    fn an_invalid_validator_key_is_rejected() {
        let mut bytes = vote_message(Round::new(0)).to_bytes();
        // The address: a y coordinate that is not on the curve.
        let at = bytes.len() - 64 - 32;
        bytes[at..at + 32].copy_from_slice(&[0xff; 32]);
        bytes[at] = 2;
        assert!(NetMessage::from_bytes(&bytes).is_err());
    }

    #[test]
    fn the_value_id_is_the_header_hash() {
        let body = BlockBody {
            checkpoints: vec![
                Checkpoint {
                    scenario: ScenarioId::new("demo/budget").unwrap(),
                    size: 3,
                    root: Hash([4; 32]),
                    main_ref: Hash([5; 32]),
                    time_ms: 9,
                }
                .sign(&[&key(1), &key(2)]),
            ],
            ..Default::default()
        };
        let value = BlockValue::with_body(header(), body.clone());
        let p = ctx().new_proposal(Height(1), Round::new(0), value, Round::Nil, addr(0));
        let p = ctx().signing_provider(keys()[0].clone()).sign_proposal(p);
        let m = NetMessage::Consensus(SignedConsensusMsg::Proposal(p.clone()));
        let NetMessage::Consensus(SignedConsensusMsg::Proposal(back)) =
            NetMessage::from_bytes(&m.to_bytes()).unwrap()
        else {
            panic!("not a proposal");
        };
        assert_eq!(mc::Value::id(&back.value), BlockId(header().hash()));
        assert_eq!(back.value.body(), &body);
        // Decoding checks no signature: malachite does, and this one verifies.
        let verifier = ctx().signing_provider(key(99));
        assert!(verifier.verify_signed_proposal(&back.message, &back.signature, &addr(0).0));
    }

    #[test]
    fn sync_limits_are_enforced() {
        assert!(matches!(
            SyncRequest::from_bytes(
                &SyncRequest::Blocks {
                    from: 0,
                    limit: MAX_SYNC_BLOCKS + 1
                }
                .to_bytes()
            ),
            Err(DecodeError::TooLong { .. })
        ));
        let block = FinalBlock {
            block: StoredBlock {
                header: header(),
                certificate: CommitCertificate::sign(&header(), 0, &set(), &[&key(1)]),
            },
            body: BlockBody::default(),
        };
        let too_many = SyncResponse::Blocks(vec![block.clone(); MAX_SYNC_BLOCKS as usize + 1]);
        assert!(matches!(
            SyncResponse::from_bytes(&too_many.to_bytes()),
            Err(DecodeError::TooLong { .. })
        ));
        // `blocks_fitting` caps the count...
        let fitted = SyncResponse::blocks_fitting(vec![block.clone(); 300]);
        let SyncResponse::Blocks(b) = &fitted else {
            panic!()
        };
        assert_eq!(b.len(), MAX_SYNC_BLOCKS as usize);
        assert_eq!(
            SyncResponse::from_bytes(&fitted.to_bytes()).as_ref(),
            Ok(&fitted)
        );
        // ...and the size.
        let big = FinalBlock {
            body: BlockBody {
                checkpoints: vec![
                    Checkpoint {
                        scenario: ScenarioId::new("demo/big").unwrap(),
                        size: 1,
                        root: Hash([1; 32]),
                        main_ref: Hash([2; 32]),
                        time_ms: 3,
                    }
                    .sign(&[&key(1)]);
                    4_000
                ],
                ..Default::default()
            },
            ..block
        };
        let fitted = SyncResponse::blocks_fitting(vec![big; 40]);
        let bytes = fitted.to_bytes();
        assert!(bytes.len() <= SYNC_LIMITS.max_total);
        let SyncResponse::Blocks(b) = SyncResponse::from_bytes(&bytes).unwrap() else {
            panic!()
        };
        assert!(b.len() > 1 && b.len() < 40, "{}", b.len());
        // Error messages are cut to fit.
        let e = SyncResponse::error("é".repeat(1_000));
        let SyncResponse::Error { message } = &e else {
            panic!()
        };
        assert!(message.len() <= MAX_SYNC_ERROR as usize);
        assert_eq!(SyncResponse::from_bytes(&e.to_bytes()).as_ref(), Ok(&e));
    }

    #[test]
    fn oversized_messages_are_rejected_at_once() {
        let bytes = vec![0u8; NET_LIMITS.max_total + 1];
        assert!(matches!(
            NetMessage::from_bytes(&bytes),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(matches!(
            WalRecord::from_bytes(&bytes),
            Err(DecodeError::TooLarge { .. })
        ));
    }
}
