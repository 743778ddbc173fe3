//! A relay that lies on purpose, for testing the verifiers that must catch it
//! (`trustchain-relay dev --misbehave …`, hidden from `--help`). Every record proof the relay
//! serves — over HTTP and over libp2p alike — is altered after it was built from the store; the
//! store itself is never touched. Browser tests use it to show that a lying relay is caught over
//! the real transports (WebRTC-direct, WebSocket), where a page cannot intercept the bytes.

use trustchain_core::contract::Entry;
use trustchain_core::crypto::Signature;
use trustchain_core::proof::RecordProof;

/// How the relay lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Misbehave {
    /// Changes each contract's data after it was signed (its nonce), as a relay rewriting history
    /// would: the signature step fails.
    TamperRecord,
    /// Replaces every vote of the block's commit certificate with a signature the validator
    /// never made: the certificate step fails.
    ForgeCertificate,
}

impl Misbehave {
    /// Alters a proof about to be served.
    pub fn apply(self, proof: &mut RecordProof) {
        match self {
            Misbehave::TamperRecord => {
                if let Entry::Contract(c) = &mut proof.entry {
                    c.content.nonce ^= 1;
                }
            }
            Misbehave::ForgeCertificate => {
                for s in &mut proof.certificate.signatures {
                    let mut forged = s.signature.0;
                    forged[0] ^= 0x01;
                    s.signature = Signature(forged);
                }
            }
        }
    }
}
