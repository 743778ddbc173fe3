//! Validator sets: the validators of one epoch with their voting weights (from PoSR). The lowest
//! layer of the chain: blocks, certificates, the beacon and PoSR all name a [`ValidatorSet`].

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::crypto::PublicKey;
use crate::crypto::hash::{Domain, Hash};
use crate::encoding::{Decode, DecodeError, Encode, FORMAT_VERSION, Reader, Writer};

/// Most validators in one set.
pub const MAX_VALIDATORS: u32 = 1024;

/// A validator and its voting weight (from PoSR).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    /// The validator's consensus key.
    pub key: PublicKey,
    /// Its voting weight, > 0.
    pub weight: u64,
}

/// The validators of one epoch, keys strictly ascending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSet {
    /// The epoch this set votes in.
    pub epoch: u64,
    /// The validators.
    pub validators: Vec<Validator>,
}

/// Why a validator set is malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorSetError {
    /// No validators.
    #[error("a validator set needs at least one validator")]
    Empty,
    /// Keys not strictly ascending (unsorted or duplicated).
    #[error("validator keys must be strictly ascending")]
    Unsorted,
    /// A zero weight.
    #[error("validator {0} has zero weight")]
    ZeroWeight(PublicKey),
    /// Too many validators.
    #[error("more than {MAX_VALIDATORS} validators")]
    TooMany,
}

impl ValidatorSet {
    /// Builds a set, sorting by key and checking it.
    pub fn new(epoch: u64, mut validators: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        validators.sort_by_key(|v| v.key);
        let set = ValidatorSet { epoch, validators };
        set.check()?;
        Ok(set)
    }
    fn check(&self) -> Result<(), ValidatorSetError> {
        if self.validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        if self.validators.len() > MAX_VALIDATORS as usize {
            return Err(ValidatorSetError::TooMany);
        }
        if self.validators.windows(2).any(|w| w[0].key >= w[1].key) {
            return Err(ValidatorSetError::Unsorted);
        }
        if let Some(v) = self.validators.iter().find(|v| v.weight == 0) {
            return Err(ValidatorSetError::ZeroWeight(v.key));
        }
        Ok(())
    }
    /// The set's hash, as block headers name it.
    pub fn hash(&self) -> Hash {
        Domain::ValidatorSet.hash_encoded(self)
    }
    /// The sum of all weights.
    pub fn total_weight(&self) -> u128 {
        self.validators.iter().map(|v| v.weight as u128).sum()
    }
    /// The position of `key` in the set.
    pub fn index_of(&self, key: &PublicKey) -> Option<u16> {
        self.validators
            .binary_search_by_key(key, |v| v.key)
            .ok()
            .map(|i| i as u16)
    }
}

// --- encoding ---

impl Encode for Validator {
    fn encode(&self, w: &mut Writer) {
        self.key.encode(w);
        w.u64(self.weight);
    }
}
impl Decode for Validator {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Validator {
            key: PublicKey::decode(r)?,
            weight: r.u64("validator weight")?,
        })
    }
}
impl Encode for ValidatorSet {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        w.u64(self.epoch);
        w.seq(&self.validators);
    }
}
impl Decode for ValidatorSet {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("validator set")?;
        let set = ValidatorSet {
            epoch: r.u64("epoch")?,
            validators: r.seq("validators", MAX_VALIDATORS, 40)?,
        };
        set.check().map_err(|_| DecodeError::Invalid {
            what: "validator set",
            why: "empty, unsorted, duplicated or zero-weight",
        })?;
        Ok(set)
    }
}
