//! A decided value's malachite certificate as a `core` [`CommitCertificate`].

use informalsystems_malachitebft_core_types as mc;
use trustchain_core::chain::block::{CertSignature, CommitCertificate};
use trustchain_core::chain::validators::ValidatorSet;

use super::ctx::{TrustchainContext, ValAddr};

/// Why a malachite certificate has no `core` form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// Certificates name a defined round.
    #[error("the certificate has no round")]
    NilRound,
    /// A signer outside the validator set.
    #[error("signer {0} is not in the validator set")]
    UnknownSigner(ValAddr),
    /// The same signer twice.
    #[error("signer {0} appears twice")]
    DuplicateSigner(ValAddr),
}

/// Converts `cert` into the certificate `core` verifies: each signer becomes its position in
/// `set` (keys ascending), positions sorted ascending. The signatures are carried unchanged: a
/// non-nil precommit already signs the `core` vote digest (see [`super::signing`]). The result
/// still has to pass [`CommitCertificate::verify`] against the header; nothing here checks
/// signatures or weight.
pub fn to_core_certificate(
    cert: &mc::CommitCertificate<TrustchainContext>,
    set: &ValidatorSet,
) -> Result<CommitCertificate, ConvertError> {
    let round = cert.round.as_u32().ok_or(ConvertError::NilRound)?;
    let mut signatures = cert
        .commit_signatures
        .iter()
        .map(|s| {
            let validator = set
                .index_of(&s.address.0)
                .ok_or(ConvertError::UnknownSigner(s.address))?;
            Ok(CertSignature {
                validator,
                signature: s.signature.into(),
            })
        })
        .collect::<Result<Vec<_>, ConvertError>>()?;
    signatures.sort_by_key(|s| s.validator);
    if let Some(w) = signatures
        .windows(2)
        .find(|w| w[0].validator == w[1].validator)
    {
        let key = set.validators[w[0].validator as usize].key;
        return Err(ConvertError::DuplicateSigner(ValAddr(key)));
    }
    Ok(CommitCertificate {
        height: cert.height.0,
        round,
        block: cert.value_id.0,
        signatures,
    })
}
