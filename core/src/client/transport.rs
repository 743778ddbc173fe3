//! What a light client asks a relay.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Display;

use crate::chain::block::{BlockHeader, CommitCertificate, EpochChange};
use crate::encoding::DecodeError;
use crate::encoding::value::ScenarioId;
use crate::verify::light_client::TrustedCheckpoint;
use crate::verify::proof::RecordProof;

/// A block header with its commit certificate, as a relay served it (not yet verified).
pub type CertifiedBlock = (BlockHeader, CommitCertificate);

/// How a client reaches one relay. Implementations move and decode bytes (with core's limits)
/// and nothing else: every answer is checked by the [`Shell`](super::Shell) and core's light
/// client. Futures need not be `Send` (browsers are single-threaded).
#[allow(async_fn_in_trait)] // never boxed or sent across threads
pub trait Transport {
    /// Why the relay could not be asked (unreachable, refused, an unusable answer). Verification
    /// failures are never transport errors: they come back as verdicts.
    type Error: Display;
    /// A human-readable name for messages, and the key of the charters cached per relay (its
    /// URL or multiaddr).
    fn name(&self) -> &str;
    /// Which transport and address served the last answer (`webrtc-direct`, `websocket`,
    /// `http`), when the transport can say.
    fn served_by(&self) -> Option<(&'static str, String)> {
        None
    }
    /// The relay's current trusted checkpoint (only for trust on first use).
    async fn trusted_checkpoint(&self) -> Result<TrustedCheckpoint, Self::Error>;
    /// Record `index`'s proof, decoded by core with its limits — or why it does not decode (a
    /// verdict whose decode step failed, not a transport error).
    async fn record_proof(
        &self,
        scenario: &ScenarioId,
        index: u64,
    ) -> Result<Result<RecordProof, DecodeError>, Self::Error>;
    /// The relay's head block (`None`) or its block at a height, with the certificate.
    async fn block(&self, height: Option<u64>) -> Result<CertifiedBlock, Self::Error>;
    /// The epoch changes from `from_epoch` (the first epoch the client does not know) on, oldest
    /// first — not yet verified: the light client checks each hand-over against the set it trusts.
    async fn epoch_changes(&self, from_epoch: u64) -> Result<Vec<EpochChange>, Self::Error>;
}
