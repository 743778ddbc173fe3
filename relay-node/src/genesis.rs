//! The network's genesis (placeholder; owned by the config/devnet work).

use trustchain_core::chain::ValidatorSet;

use crate::store::StoredBlock;

/// A network's genesis: its name, first validator set and block 0 with its certificate.
#[derive(Clone, Debug)]
pub struct Genesis {
    /// The network's name.
    pub chain_id: String,
    /// Epoch 0's validators.
    pub validators: ValidatorSet,
    /// Block 0, certified by the validators.
    pub block: StoredBlock,
}
