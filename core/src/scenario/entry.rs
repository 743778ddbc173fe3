//! Log entries: one leaf of a scenario log is the [`Charter`] (always index 0) or a [`Contract`].
//! Kept apart from both so that [`crate::scenario::charter`] (which checks contracts against its
//! rules) and [`crate::scenario::contract`] do not import each other.

use serde::{Deserialize, Serialize};

use crate::crypto::BadSignature;
use crate::crypto::hash::Hash;
use crate::encoding::value::ScenarioId;
use crate::encoding::{Decode, DecodeError, Encode, Reader, Writer};
use crate::scenario::charter::Charter;
use crate::scenario::contract::Contract;

/// One leaf of a scenario log: the charter (always index 0) or a contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "entry")]
pub enum Entry {
    /// The scenario's charter, its genesis record.
    Charter(Charter),
    /// A contract.
    Contract(Contract),
}

impl Entry {
    /// The leaf hash of this entry in the scenario log.
    pub fn leaf_hash(&self) -> Hash {
        crate::merkle::log::leaf_hash(&self.to_bytes())
    }
    /// The scenario this entry belongs to.
    pub fn scenario(&self) -> &ScenarioId {
        match self {
            Entry::Charter(c) => &c.content.scenario,
            Entry::Contract(c) => &c.content.scenario,
        }
    }
    /// Checks the entry's own signature.
    pub fn verify_signature(&self) -> Result<(), BadSignature> {
        match self {
            Entry::Charter(c) => c.verify_signature(),
            Entry::Contract(c) => c.verify_signature(),
        }
    }
}

impl Encode for Entry {
    fn encode(&self, w: &mut Writer) {
        match self {
            Entry::Charter(c) => {
                w.u8(0);
                c.encode(w);
            }
            Entry::Contract(c) => {
                w.u8(1);
                c.encode(w);
            }
        }
    }
}

impl Decode for Entry {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("entry tag")? {
            0 => Ok(Entry::Charter(Charter::decode(r)?)),
            1 => Ok(Entry::Contract(Contract::decode(r)?)),
            tag => Err(DecodeError::InvalidTag { what: "entry", tag }),
        }
    }
}
