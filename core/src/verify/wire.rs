//! The relay protocol that browsers (and other light clients) speak over libp2p
//! request-response (`/trustchain/relay/1`): the same questions as the HTTP API, answered with the
//! same core types, in the canonical encoding, decoded with limits.
//!
//! A frame on the stream is a `u32` big-endian length and then the canonical bytes of one
//! [`Request`] or [`Response`]; [`MAX_FRAME`] bounds both.

use alloc::string::String;
use alloc::vec::Vec;

use crate::chain::block::{BlockHeader, CommitCertificate, EpochChange};
use crate::chain::validators::ValidatorSet;
use crate::encoding::value::ScenarioId;
use crate::encoding::{Decode, DecodeError, Encode, FORMAT_VERSION, Limits, Reader, Writer};
use crate::merkle::log::ConsistencyProof;
use crate::scenario::checkpoint::SignedCheckpoint;
use crate::verify::light_client::TrustedCheckpoint;
use crate::verify::proof::RecordProof;

/// The libp2p protocol name.
pub const PROTOCOL: &str = "/trustchain/relay/1";
/// Largest response frame, in bytes: a receipt of the largest stored entry fits.
pub const MAX_FRAME: usize = crate::verify::receipt::MAX_RECEIPT_BYTES + 64;
/// Largest request frame, in bytes (requests are small: a scenario id and a few numbers).
pub const MAX_REQUEST_FRAME: usize = 4 * 1024;
/// Most epoch changes in one answer.
pub const MAX_EPOCH_CHANGES: u32 = 256;

/// The decoding limits of a frame.
pub const FRAME_LIMITS: Limits = Limits {
    max_total: MAX_FRAME,
    ..Limits::DEFAULT
};

/// What a light client asks a relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The relay's current trusted checkpoint (head block and its validator set).
    Trust,
    /// The head block, once its height is above `after` (a long poll: the relay answers at once
    /// if it already is, otherwise when a new block is final or after a timeout with the head).
    Head {
        /// The height the client already has.
        after: u64,
    },
    /// The block at a height.
    Block {
        /// Its height.
        height: u64,
    },
    /// Epoch changes from an epoch on.
    EpochChanges {
        /// The first epoch the client does not know.
        from_epoch: u64,
    },
    /// A record with its proof.
    Record {
        /// The scenario.
        scenario: ScenarioId,
        /// The record's index.
        index: u64,
    },
    /// A consistency proof between two checkpoint sizes (`to = 0`: the latest).
    Consistency {
        /// The scenario.
        scenario: ScenarioId,
        /// The earlier size.
        from: u64,
        /// The later size, or 0 for the latest.
        to: u64,
    },
}

/// A relay's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// A trusted checkpoint.
    Trust(TrustedCheckpoint),
    /// A block with its certificate.
    Block {
        /// The header.
        header: BlockHeader,
        /// Its commit certificate.
        certificate: CommitCertificate,
    },
    /// Epoch changes, oldest first, and the current set.
    EpochChanges {
        /// The changes.
        changes: Vec<EpochChange>,
        /// The validators of the relay's current epoch.
        current: ValidatorSet,
    },
    /// A record proof.
    Record(alloc::boxed::Box<RecordProof>),
    /// A consistency proof with both checkpoints.
    Consistency {
        /// The earlier checkpoint.
        from: SignedCheckpoint,
        /// The later checkpoint.
        to: SignedCheckpoint,
        /// The proof.
        proof: ConsistencyProof,
    },
    /// The relay cannot answer: a stable code and a message.
    Error {
        /// Machine-readable code (the HTTP API's codes).
        code: String,
        /// What is wrong.
        message: String,
    },
}

impl Encode for Request {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        match self {
            Request::Trust => w.u8(0),
            Request::Head { after } => {
                w.u8(1);
                w.u64(*after);
            }
            Request::Block { height } => {
                w.u8(2);
                w.u64(*height);
            }
            Request::EpochChanges { from_epoch } => {
                w.u8(3);
                w.u64(*from_epoch);
            }
            Request::Record { scenario, index } => {
                w.u8(4);
                scenario.encode(w);
                w.u64(*index);
            }
            Request::Consistency { scenario, from, to } => {
                w.u8(5);
                scenario.encode(w);
                w.u64(*from);
                w.u64(*to);
            }
        }
    }
}

impl Decode for Request {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("request")?;
        Ok(match r.u8("request tag")? {
            0 => Request::Trust,
            1 => Request::Head {
                after: r.u64("after")?,
            },
            2 => Request::Block {
                height: r.u64("height")?,
            },
            3 => Request::EpochChanges {
                from_epoch: r.u64("from epoch")?,
            },
            4 => Request::Record {
                scenario: ScenarioId::decode(r)?,
                index: r.u64("index")?,
            },
            5 => Request::Consistency {
                scenario: ScenarioId::decode(r)?,
                from: r.u64("from")?,
                to: r.u64("to")?,
            },
            tag => {
                return Err(DecodeError::InvalidTag {
                    what: "request",
                    tag,
                });
            }
        })
    }
}

impl Encode for Response {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        match self {
            Response::Trust(t) => {
                w.u8(0);
                t.encode(w);
            }
            Response::Block {
                header,
                certificate,
            } => {
                w.u8(1);
                header.encode(w);
                certificate.encode(w);
            }
            Response::EpochChanges { changes, current } => {
                w.u8(2);
                w.seq(changes);
                current.encode(w);
            }
            Response::Record(p) => {
                w.u8(3);
                p.encode(w);
            }
            Response::Consistency { from, to, proof } => {
                w.u8(4);
                from.encode_unlinked(w);
                to.encode_unlinked(w);
                proof.encode(w);
            }
            Response::Error { code, message } => {
                w.u8(5);
                w.str(code);
                w.str(message);
            }
        }
    }
}

impl Decode for Response {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("response")?;
        Ok(match r.u8("response tag")? {
            0 => Response::Trust(TrustedCheckpoint::decode(r)?),
            1 => Response::Block {
                header: BlockHeader::decode(r)?,
                certificate: CommitCertificate::decode(r)?,
            },
            2 => Response::EpochChanges {
                changes: r.seq("epoch changes", MAX_EPOCH_CHANGES, 64)?,
                current: ValidatorSet::decode(r)?,
            },
            3 => Response::Record(alloc::boxed::Box::new(RecordProof::decode(r)?)),
            4 => Response::Consistency {
                from: SignedCheckpoint::decode_unlinked(r)?,
                to: SignedCheckpoint::decode_unlinked(r)?,
                proof: ConsistencyProof::decode(r)?,
            },
            5 => Response::Error {
                code: r.str("error code", 64)?,
                message: r.str("error message", 4096)?,
            },
            tag => {
                return Err(DecodeError::InvalidTag {
                    what: "response",
                    tag,
                });
            }
        })
    }
}

/// Reads one frame's payload length from its 4-byte prefix, refusing frames above [`MAX_FRAME`].
pub fn frame_len(prefix: [u8; 4]) -> Result<usize, DecodeError> {
    frame_len_max(prefix, MAX_FRAME)
}

/// Reads one frame's payload length from its 4-byte prefix, refusing frames above `max`
/// (a relay reads requests with [`MAX_REQUEST_FRAME`]).
pub fn frame_len_max(prefix: [u8; 4], max: usize) -> Result<usize, DecodeError> {
    let n = u32::from_be_bytes(prefix) as usize;
    if n > max {
        return Err(DecodeError::TooLarge { len: n, max });
    }
    Ok(n)
}

/// A frame: the length prefix and the canonical bytes of `value`.
pub fn frame<T: Encode>(value: &T) -> Vec<u8> {
    let body = value.to_bytes();
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn requests_round_trip() {
        let id = ScenarioId::new("demo/budget").unwrap();
        for req in [
            Request::Trust,
            Request::Head { after: 7 },
            Request::Block { height: 3 },
            Request::EpochChanges { from_epoch: 1 },
            Request::Record {
                scenario: id.clone(),
                index: 17,
            },
            Request::Consistency {
                scenario: id,
                from: 2,
                to: 0,
            },
        ] {
            assert_eq!(
                Request::from_bytes_with(&req.to_bytes(), FRAME_LIMITS).unwrap(),
                req
            );
        }
        let e = Response::Error {
            code: "not_found".into(),
            message: "no record".into(),
        };
        assert_eq!(Response::from_bytes(&e.to_bytes()).unwrap(), e);
        assert!(frame_len((MAX_FRAME as u32 + 1).to_be_bytes()).is_err());
    }

    proptest! {
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Request::from_bytes_with(&bytes, FRAME_LIMITS);
            let _ = Response::from_bytes_with(&bytes, FRAME_LIMITS);
        }
    }
}
