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
mod tests;
