//! The scenario logs' writes: one group commit of the ingest writer — entries and their log
//! nodes, nonces, the reference index, sizes and founding homes — in one write transaction.

use redb::{ReadableTable as _, Table};
use trustchain_core::crypto::PublicKey;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::merkle::log::{self, nodes_for_append};

use super::{ENTRIES, HOMES, LOG_NODES, NONCES, REFS, SIZES, Store, StoreError, TableNodes};

/// The log tables of one write transaction ([`Store::write_logs`]). Reads see what the
/// transaction wrote so far.
pub struct LogBatch<'t> {
    entries: Table<'t, (&'static str, u64), &'static [u8]>,
    nodes: Table<'t, (&'static str, u32, u64), [u8; 32]>,
    sizes: Table<'t, &'static str, u64>,
    nonces: Table<'t, (&'static str, &'static [u8], u64), u64>,
    refs: Table<'t, (&'static str, [u8; 32]), u64>,
    homes: Table<'t, &'static str, [u8; 32]>,
}

impl Store {
    /// Runs `f` over the log tables in one write transaction and commits it durably if `f`
    /// returns `Ok` (an `Err` leaves the database as it was).
    pub fn write_logs<T>(
        &self,
        f: impl FnOnce(&mut LogBatch<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.write()?;
        let out = {
            let mut batch = LogBatch {
                entries: txn.open_table(ENTRIES)?,
                nodes: txn.open_table(LOG_NODES)?,
                sizes: txn.open_table(SIZES)?,
                nonces: txn.open_table(NONCES)?,
                refs: txn.open_table(REFS)?,
                homes: txn.open_table(HOMES)?,
            };
            f(&mut batch)?
        };
        txn.commit()?;
        Ok(out)
    }
}

impl LogBatch<'_> {
    /// Appends the entry `bytes` at `index` of `scenario`'s log, with the log nodes it completes.
    pub fn append(
        &mut self,
        scenario: &ScenarioId,
        index: u64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        self.entries.insert((scenario.as_str(), index), bytes)?;
        let leaf = log::leaf_hash(bytes);
        let new = nodes_for_append(
            &TableNodes {
                table: &self.nodes,
                scenario: scenario.as_str(),
            },
            index,
            leaf,
        )?;
        for (level, idx, h) in new {
            self.nodes.insert((scenario.as_str(), level, idx), h.0)?;
        }
        Ok(())
    }

    /// Whether `author` used `nonce` in `scenario` already.
    pub fn nonce_used(
        &self,
        scenario: &ScenarioId,
        author: &PublicKey,
        nonce: u64,
    ) -> Result<bool, StoreError> {
        Ok(self
            .nonces
            .get((scenario.as_str(), author.as_bytes().as_slice(), nonce))?
            .is_some())
    }

    /// Records that `author`'s `nonce` is the entry at `index`.
    pub fn put_nonce(
        &mut self,
        scenario: &ScenarioId,
        author: &PublicKey,
        nonce: u64,
        index: u64,
    ) -> Result<(), StoreError> {
        self.nonces.insert(
            (scenario.as_str(), author.as_bytes().as_slice(), nonce),
            index,
        )?;
        Ok(())
    }

    /// How many records of `scenario` carry the reference digest `d` (see `ref_digest`).
    pub fn ref_count(&self, scenario: &ScenarioId, d: [u8; 32]) -> Result<u64, StoreError> {
        Ok(self
            .refs
            .get((scenario.as_str(), d))?
            .map_or(0, |v| v.value()))
    }

    /// Counts one more record of `scenario` carrying the reference digest `d`.
    pub fn add_ref(&mut self, scenario: &ScenarioId, d: [u8; 32]) -> Result<(), StoreError> {
        let n = self.ref_count(scenario, d)?;
        self.refs.insert((scenario.as_str(), d), n + 1)?;
        Ok(())
    }

    /// Sets `scenario`'s log size.
    pub fn set_size(&mut self, scenario: &ScenarioId, size: u64) -> Result<(), StoreError> {
        self.sizes.insert(scenario.as_str(), size)?;
        Ok(())
    }

    /// Records the relay that founded `scenario` (its home).
    pub fn set_home(&mut self, scenario: &ScenarioId, home: &PublicKey) -> Result<(), StoreError> {
        self.homes.insert(scenario.as_str(), *home.as_bytes())?;
        Ok(())
    }
}
