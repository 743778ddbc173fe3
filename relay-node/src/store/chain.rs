//! The chain's writes: block 0, final blocks with what they anchor, epoch changes, the
//! consensus WAL and beacon secrets. Each is one redb transaction.

use redb::Durability;
use trustchain_core::chain::validators::ValidatorSet;
use trustchain_core::encoding::Encode;

use super::{
    ANCHORED, BEACON_SECRETS, BLOCKS, BODIES, BlockBody, CHECKPOINTS, CONSENSUS_WAL, EPOCH_CHANGES,
    EPOCHS, Store, StoreError, StoredBlock,
};

impl Store {
    /// Writes block 0 and the first validator set into a new database.
    pub fn write_genesis(
        &self,
        block: &StoredBlock,
        validators: &ValidatorSet,
    ) -> Result<(), StoreError> {
        let txn = self.write()?;
        {
            txn.open_table(BLOCKS)?
                .insert(0, block.to_bytes().as_slice())?;
            txn.open_table(EPOCHS)?
                .insert(validators.epoch, validators.to_bytes().as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Writes a final block: its header and certificate, its body (unless empty), every
    /// checkpoint it anchors (and the anchored size of each scenario), the validator set it hands
    /// over to (`epoch_change`), and removes the WAL rows of heights below `wal_below`. Durable
    /// when it returns.
    pub fn commit_block(
        &self,
        block: &StoredBlock,
        body: &BlockBody,
        epoch_change: Option<&ValidatorSet>,
        wal_below: Option<u64>,
    ) -> Result<(), StoreError> {
        let height = block.header.height;
        let txn = self.write()?;
        {
            txn.open_table(BLOCKS)?
                .insert(height, block.to_bytes().as_slice())?;
            if *body != BlockBody::default() {
                txn.open_table(BODIES)?
                    .insert(height, body.to_bytes().as_slice())?;
            }
            let mut cps = txn.open_table(CHECKPOINTS)?;
            let mut anchored = txn.open_table(ANCHORED)?;
            for cp in &body.checkpoints {
                let c = &cp.checkpoint;
                cps.insert((c.scenario.as_str(), c.size), cp.to_bytes().as_slice())?;
                anchored.insert(c.scenario.as_str(), c.size)?;
            }
            if let Some(h) = wal_below {
                txn.open_table(CONSENSUS_WAL)?
                    .retain_in((0, 0)..(h, 0), |_, _| false)?;
            }
            if let Some(next) = epoch_change {
                txn.open_table(EPOCHS)?
                    .insert(next.epoch, next.to_bytes().as_slice())?;
                txn.open_table(EPOCH_CHANGES)?.insert(next.epoch, height)?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Appends consensus WAL rows `(height, bytes)`, numbered from `seq` on; returns the next
    /// number. `durable`: `fsync` before returning (which also makes earlier lazy appends
    /// durable); otherwise the rows may be lost in a crash, never reordered.
    pub fn append_wal(
        &self,
        rows: impl IntoIterator<Item = (u64, Vec<u8>)>,
        mut seq: u64,
        durable: bool,
    ) -> Result<u64, StoreError> {
        let mut txn = self.write()?;
        if !durable {
            txn.set_durability(Durability::None)?;
        }
        {
            let mut t = txn.open_table(CONSENSUS_WAL)?;
            for (h, bytes) in rows {
                t.insert((h, seq), bytes.as_slice())?;
                seq += 1;
            }
        }
        txn.commit()?;
        Ok(seq)
    }

    /// Keeps the beacon secret of `epoch` (durably: a restart must still reveal it).
    pub fn put_beacon_secret(&self, epoch: u64, secret: [u8; 32]) -> Result<(), StoreError> {
        let txn = self.write()?;
        txn.open_table(BEACON_SECRETS)?.insert(epoch, secret)?;
        txn.commit()?;
        Ok(())
    }
}
