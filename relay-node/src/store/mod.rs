//! The relay's storage: one redb file. See `docs/storage.md` for the tables and the argument that
//! a crash cannot lose an acknowledged contract.
//!
//! Every row is written in the canonical encoding of `trustchain-core` and decoded back with its
//! limits; a row that does not decode is reported as corruption, never trusted.

use std::path::Path;

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, WriteTransaction,
};
use trustchain_core::chain::block::{BlockBody, FinalBlock, StoredBlock};
use trustchain_core::chain::validators::ValidatorSet;
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::Hash;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::encoding::{Decode, DecodeError, Encode, Limits, Writer};
use trustchain_core::merkle::log::{
    self, ConsistencyProof, InclusionProof, LogProofError, NodeStore,
};
use trustchain_core::scenario::charter::Charter;
use trustchain_core::scenario::checkpoint::SignedCheckpoint;
use trustchain_core::scenario::entry::Entry;

/// Log entries: `(scenario, index) → Entry` bytes.
pub const ENTRIES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("entries");
/// Perfect subtrees of each log: `(scenario, level, index) → hash`.
pub const LOG_NODES: TableDefinition<(&str, u32, u64), [u8; 32]> =
    TableDefinition::new("log_nodes");
/// Each scenario's log size.
pub const SIZES: TableDefinition<&str, u64> = TableDefinition::new("sizes");
/// Used nonces: `(scenario, author, nonce) → index` of the contract that used it.
pub const NONCES: TableDefinition<(&str, &[u8], u64), u64> = TableDefinition::new("nonces");
/// Reference index for `record_exists`: `(scenario, digest of kind/field/value) → count`.
pub const REFS: TableDefinition<(&str, [u8; 32]), u64> = TableDefinition::new("refs");
/// Checkpoints: `(scenario, size) → SignedCheckpoint` bytes.
pub const CHECKPOINTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("checkpoints");
/// The size of each scenario's latest anchored checkpoint.
pub const ANCHORED: TableDefinition<&str, u64> = TableDefinition::new("anchored");
/// Main blocks: `height → header + certificate` bytes.
pub const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// Validator sets by epoch.
pub const EPOCHS: TableDefinition<u64, &[u8]> = TableDefinition::new("epochs");
/// Epoch changes: `epoch → height` of the last block of the epoch before (whose
/// `next_validators_hash` names the epoch's set).
pub const EPOCH_CHANGES: TableDefinition<u64, u64> = TableDefinition::new("epoch_changes");
/// This relay's beacon secrets: `epoch → secret` (written durably before the commitment is
/// published, so a restart can still reveal).
pub const BEACON_SECRETS: TableDefinition<u64, [u8; 32]> = TableDefinition::new("beacon_secrets");
/// Main block bodies: `height → BlockBody` bytes (the checkpoints the block anchored).
pub const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");
/// Scenarios this relay keeps as a replica: scenario → its home relay's key (absent: the
/// scenario is homed here, or unknown). A replica appends only what its home sends.
pub const HOMES: TableDefinition<&str, [u8; 32]> = TableDefinition::new("homes");
/// What format this file is in: `"format" → u32` ([`STORAGE_FORMAT`]).
pub const META: TableDefinition<&str, u32> = TableDefinition::new("meta");
/// The storage format this relay writes and reads. 2: checkpoints carry their link to the chain
/// (`Link::Found` / `Link::Extend`, issue 11). A file without the row but with blocks is format 1.
pub const STORAGE_FORMAT: u32 = 2;

/// Consensus write-ahead log: `(height, sequence) → entry` bytes (docs/consensus.md §2.2);
/// entries of decided heights are removed with the block's commit.
pub const CONSENSUS_WAL: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("consensus_wal");

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb failed.
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    /// A row does not decode: the file is corrupt or from an incompatible version.
    #[error("corrupt row in table {table}: {source}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The decoding error.
        source: DecodeError,
    },
    /// The file was written in another storage format.
    #[error(
        "the database is in storage format {found}, this trustchain-relay reads format {STORAGE_FORMAT}: \
         it was written by another version; move the data directory away (or pass --data-dir with a \
         new one; a devnet: --fresh) and let the relay sync the chain again"
    )]
    Format {
        /// The file's format.
        found: u32,
    },
}

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

fn corrupt(table: &'static str) -> impl FnOnce(DecodeError) -> StoreError {
    move |source| StoreError::Corrupt { table, source }
}

/// An entry with its canonical bytes, as the entries table holds them: encoded (or read) once,
/// then carried to the log, the table and the replicas without being encoded again. The bytes
/// are always the entry's own encoding: [`EncodedEntry::new`] encodes, [`EncodedEntry::decode`]
/// keeps bytes that decode — and the decoder accepts only canonical encodings (core's
/// `fuzz/fuzz_targets/decode_entry.rs` checks that every accepted input re-encodes to itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedEntry {
    entry: Entry,
    bytes: Vec<u8>,
}

impl EncodedEntry {
    /// Encodes `entry`.
    pub fn new(entry: Entry) -> Self {
        let bytes = entry.to_bytes();
        EncodedEntry { entry, bytes }
    }
    /// Decodes `bytes` under `limits`, keeping them.
    pub fn decode(bytes: &[u8], limits: Limits) -> Result<Self, DecodeError> {
        let entry = Entry::from_bytes_with(bytes, limits)?;
        debug_assert_eq!(entry.to_bytes(), bytes, "the entry decoder is canonical");
        Ok(EncodedEntry {
            entry,
            bytes: bytes.to_vec(),
        })
    }
    /// An entry with the bytes it was just decoded from (by a canonical decoder: they are its
    /// encoding; checked in debug builds).
    pub fn from_parts(entry: Entry, bytes: Vec<u8>) -> Self {
        debug_assert_eq!(entry.to_bytes(), bytes, "the entry decoder is canonical");
        EncodedEntry { entry, bytes }
    }
    /// The entry.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }
    /// Its canonical bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The entry and its bytes.
    pub fn into_parts(self) -> (Entry, Vec<u8>) {
        (self.entry, self.bytes)
    }
}

/// The relay's database.
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (or creates) the database file and its tables.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        {
            txn.open_table(ENTRIES)?;
            txn.open_table(LOG_NODES)?;
            txn.open_table(SIZES)?;
            txn.open_table(NONCES)?;
            txn.open_table(REFS)?;
            txn.open_table(CHECKPOINTS)?;
            txn.open_table(ANCHORED)?;
            txn.open_table(BLOCKS)?;
            txn.open_table(EPOCHS)?;
            txn.open_table(BODIES)?;
            txn.open_table(CONSENSUS_WAL)?;
            txn.open_table(EPOCH_CHANGES)?;
            txn.open_table(BEACON_SECRETS)?;
            txn.open_table(HOMES)?;
            let mut meta = txn.open_table(META)?;
            let found = meta.get("format")?.map(|v| v.value());
            let has_blocks = txn.open_table(BLOCKS)?.first()?.is_some();
            match (found, has_blocks) {
                (Some(f), _) if f != STORAGE_FORMAT => return Err(StoreError::Format { found: f }),
                (None, true) => return Err(StoreError::Format { found: 1 }),
                (Some(_), _) => {}
                (None, false) => {
                    meta.insert("format", STORAGE_FORMAT)?;
                }
            }
        }
        txn.commit()?;
        Ok(Store { db })
    }

    /// A consistent read view.
    pub fn read(&self) -> Result<ReadView, StoreError> {
        Ok(ReadView {
            txn: self.db.begin_read()?,
        })
    }

    /// Begins the (single) write transaction. Commits are durable (`fsync`) before they return.
    /// Private to `store/`: other rooms write through named operations (`chain.rs`, `logs.rs`).
    fn write(&self) -> Result<WriteTransaction, StoreError> {
        Ok(self.db.begin_write()?)
    }
}

/// A snapshot of the database for reading.
pub struct ReadView {
    txn: ReadTransaction,
}

/// Perfect-subtree hashes of one scenario's log, read from a table.
pub struct TableNodes<'a, T: ReadableTable<(&'static str, u32, u64), [u8; 32]>> {
    /// The table.
    pub table: &'a T,
    /// The scenario.
    pub scenario: &'a str,
}

impl<T: ReadableTable<(&'static str, u32, u64), [u8; 32]>> NodeStore for TableNodes<'_, T> {
    type Error = StoreError;
    fn node(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        match self.table.get((self.scenario, level, index))? {
            Some(v) => Ok(Hash(v.value())),
            None => Err(StoreError::Corrupt {
                table: "log_nodes",
                source: DecodeError::Invalid {
                    what: "log node",
                    why: "missing node inside the log",
                },
            }),
        }
    }
}

impl ReadView {
    /// The scenarios and their sizes.
    pub fn scenarios(&self) -> Result<Vec<(ScenarioId, u64)>, StoreError> {
        let t = self.txn.open_table(SIZES)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            let id = ScenarioId::new(k.value()).map_err(corrupt("sizes"))?;
            out.push((id, v.value()));
        }
        Ok(out)
    }

    /// At most `limit` scenarios with their sizes, ascending by id, after `after` (exclusive).
    pub fn scenarios_page(
        &self,
        after: Option<&ScenarioId>,
        limit: usize,
    ) -> Result<Vec<(ScenarioId, u64)>, StoreError> {
        let t = self.txn.open_table(SIZES)?;
        let rows = match after {
            Some(a) => t.range::<&str>((
                std::ops::Bound::Excluded(a.as_str()),
                std::ops::Bound::Unbounded,
            ))?,
            None => t.iter()?,
        };
        let mut out = Vec::new();
        for row in rows.take(limit) {
            let (k, v) = row?;
            out.push((
                ScenarioId::new(k.value()).map_err(corrupt("sizes"))?,
                v.value(),
            ));
        }
        Ok(out)
    }

    /// The scenarios kept here as replicas, with their home relays.
    pub fn homes(&self) -> Result<Vec<(ScenarioId, PublicKey)>, StoreError> {
        let t = self.txn.open_table(HOMES)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            let id = ScenarioId::new(k.value()).map_err(corrupt("homes"))?;
            out.push((
                id,
                PublicKey::from_bytes(v.value()).map_err(corrupt("homes"))?,
            ));
        }
        Ok(out)
    }

    /// The home relay of a scenario kept here as a replica (`None`: homed here, or unknown).
    pub fn home(&self, scenario: &ScenarioId) -> Result<Option<PublicKey>, StoreError> {
        let t = self.txn.open_table(HOMES)?;
        t.get(scenario.as_str())?
            .map(|v| PublicKey::from_bytes(v.value()).map_err(corrupt("homes")))
            .transpose()
    }

    /// A scenario's log size (`None`: unknown scenario).
    pub fn size(&self, scenario: &ScenarioId) -> Result<Option<u64>, StoreError> {
        let t = self.txn.open_table(SIZES)?;
        Ok(t.get(scenario.as_str())?.map(|v| v.value()))
    }

    /// The entry at `index`.
    pub fn entry(&self, scenario: &ScenarioId, index: u64) -> Result<Option<Entry>, StoreError> {
        let t = self.txn.open_table(ENTRIES)?;
        t.get((scenario.as_str(), index))?
            .map(|v| Entry::from_bytes(v.value()).map_err(corrupt("entries")))
            .transpose()
    }

    /// Entries `[from, from + limit)`.
    pub fn entries(
        &self,
        scenario: &ScenarioId,
        from: u64,
        limit: u64,
    ) -> Result<Vec<(u64, Entry)>, StoreError> {
        let t = self.txn.open_table(ENTRIES)?;
        let end = from.saturating_add(limit);
        let mut out = Vec::new();
        for row in t.range((scenario.as_str(), from)..(scenario.as_str(), end))? {
            let (k, v) = row?;
            let entry = Entry::from_bytes(v.value()).map_err(corrupt("entries"))?;
            out.push((k.value().1, entry));
        }
        Ok(out)
    }

    /// Entries `[from, from + limit)` with their stored bytes (for replicas: sent as stored,
    /// never encoded again).
    pub fn entries_encoded(
        &self,
        scenario: &ScenarioId,
        from: u64,
        limit: u64,
    ) -> Result<Vec<(u64, EncodedEntry)>, StoreError> {
        let t = self.txn.open_table(ENTRIES)?;
        let end = from.saturating_add(limit);
        let mut out = Vec::new();
        for row in t.range((scenario.as_str(), from)..(scenario.as_str(), end))? {
            let (k, v) = row?;
            let entry =
                EncodedEntry::decode(v.value(), Limits::DEFAULT).map_err(corrupt("entries"))?;
            out.push((k.value().1, entry));
        }
        Ok(out)
    }

    /// The scenario's charter (entry 0).
    pub fn charter(&self, scenario: &ScenarioId) -> Result<Option<Charter>, StoreError> {
        match self.entry(scenario, 0)? {
            Some(Entry::Charter(c)) => Ok(Some(c)),
            Some(Entry::Contract(_)) => Err(StoreError::Corrupt {
                table: "entries",
                source: DecodeError::Invalid {
                    what: "entry 0",
                    why: "is not a charter",
                },
            }),
            None => Ok(None),
        }
    }

    /// The log root at `size`.
    pub fn root(&self, scenario: &ScenarioId, size: u64) -> Result<Hash, StoreError> {
        let t = self.txn.open_table(LOG_NODES)?;
        log::root(
            &TableNodes {
                table: &t,
                scenario: scenario.as_str(),
            },
            size,
        )
    }

    /// The inclusion proof of `index` at `size`.
    pub fn inclusion(
        &self,
        scenario: &ScenarioId,
        index: u64,
        size: u64,
    ) -> Result<Result<InclusionProof, LogProofError>, StoreError> {
        let t = self.txn.open_table(LOG_NODES)?;
        log::prove_inclusion(
            &TableNodes {
                table: &t,
                scenario: scenario.as_str(),
            },
            index,
            size,
        )
    }

    /// The consistency proof from `from` to `to`.
    pub fn consistency(
        &self,
        scenario: &ScenarioId,
        from: u64,
        to: u64,
    ) -> Result<Result<ConsistencyProof, LogProofError>, StoreError> {
        let t = self.txn.open_table(LOG_NODES)?;
        log::prove_consistency(
            &TableNodes {
                table: &t,
                scenario: scenario.as_str(),
            },
            from,
            to,
        )
    }

    /// The checkpoint of `scenario` at `size`.
    pub fn checkpoint(
        &self,
        scenario: &ScenarioId,
        size: u64,
    ) -> Result<Option<SignedCheckpoint>, StoreError> {
        let t = self.txn.open_table(CHECKPOINTS)?;
        t.get((scenario.as_str(), size))?
            .map(|v| SignedCheckpoint::from_bytes(v.value()).map_err(corrupt("checkpoints")))
            .transpose()
    }

    /// Every checkpoint of `scenario`, oldest first, at most `limit` from size `from`.
    pub fn checkpoints(
        &self,
        scenario: &ScenarioId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let t = self.txn.open_table(CHECKPOINTS)?;
        let mut out = Vec::new();
        for row in t.range((scenario.as_str(), from)..=(scenario.as_str(), u64::MAX))? {
            if out.len() >= limit {
                break;
            }
            let (_, v) = row?;
            out.push(SignedCheckpoint::from_bytes(v.value()).map_err(corrupt("checkpoints"))?);
        }
        Ok(out)
    }

    /// The latest anchored checkpoint size of each scenario.
    pub fn anchored(&self) -> Result<Vec<(ScenarioId, u64)>, StoreError> {
        let t = self.txn.open_table(ANCHORED)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push((
                ScenarioId::new(k.value()).map_err(corrupt("anchored"))?,
                v.value(),
            ));
        }
        Ok(out)
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<StoredBlock>, StoreError> {
        let t = self.txn.open_table(BLOCKS)?;
        t.get(height)?
            .map(|v| StoredBlock::from_bytes(v.value()).map_err(corrupt("blocks")))
            .transpose()
    }

    /// The latest block.
    pub fn head(&self) -> Result<Option<StoredBlock>, StoreError> {
        let t = self.txn.open_table(BLOCKS)?;
        t.last()?
            .map(|(_, v)| StoredBlock::from_bytes(v.value()).map_err(corrupt("blocks")))
            .transpose()
    }

    /// The body of the block at `height` (`None` for genesis and for blocks written before
    /// bodies were kept).
    pub fn body(&self, height: u64) -> Result<Option<BlockBody>, StoreError> {
        let t = self.txn.open_table(BODIES)?;
        t.get(height)?
            .map(|v| BlockBody::from_bytes(v.value()).map_err(corrupt("bodies")))
            .transpose()
    }

    /// Blocks `[from, from + limit)` with their bodies, as far as they exist.
    pub fn final_blocks(&self, from: u64, limit: u64) -> Result<Vec<FinalBlock>, StoreError> {
        let mut out = Vec::new();
        for h in from..from.saturating_add(limit) {
            let Some(block) = self.block(h)? else { break };
            let body = self.body(h)?.unwrap_or_default();
            out.push(FinalBlock { block, body });
        }
        Ok(out)
    }

    /// The write-ahead log entries of `height`, in append order.
    pub fn wal(&self, height: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let t = self.txn.open_table(CONSENSUS_WAL)?;
        let mut out = Vec::new();
        for row in t.range((height, 0)..=(height, u64::MAX))? {
            out.push(row?.1.value().to_vec());
        }
        Ok(out)
    }

    /// The validator set of `epoch`.
    pub fn epoch_set(&self, epoch: u64) -> Result<Option<ValidatorSet>, StoreError> {
        let t = self.txn.open_table(EPOCHS)?;
        t.get(epoch)?
            .map(|v| ValidatorSet::from_bytes(v.value()).map_err(corrupt("epochs")))
            .transpose()
    }

    /// The epoch changes from `from_epoch` on (at most `limit`): the hand-over block with its
    /// certificate and the new set, as light clients follow them.
    pub fn epoch_changes(
        &self,
        from_epoch: u64,
        limit: usize,
    ) -> Result<Vec<trustchain_core::chain::block::EpochChange>, StoreError> {
        let t = self.txn.open_table(EPOCH_CHANGES)?;
        let mut out = Vec::new();
        for row in t.range(from_epoch..)? {
            if out.len() >= limit {
                break;
            }
            let (epoch, height) = row?;
            let (epoch, height) = (epoch.value(), height.value());
            let missing = |what| StoreError::Corrupt {
                table: "epoch_changes",
                source: DecodeError::Invalid {
                    what,
                    why: "missing for a recorded epoch change",
                },
            };
            let block = self
                .block(height)?
                .ok_or_else(|| missing("hand-over block"))?;
            let next = self
                .epoch_set(epoch)?
                .ok_or_else(|| missing("validator set"))?;
            out.push(trustchain_core::chain::block::EpochChange {
                header: block.header,
                certificate: block.certificate,
                next,
            });
        }
        Ok(out)
    }

    /// This relay's beacon secret of `epoch`, if it made one.
    pub fn beacon_secret(&self, epoch: u64) -> Result<Option<[u8; 32]>, StoreError> {
        let t = self.txn.open_table(BEACON_SECRETS)?;
        Ok(t.get(epoch)?.map(|v| v.value()))
    }

    /// The largest sequence number in the write-ahead log (`None`: empty).
    pub fn wal_last_seq(&self) -> Result<Option<u64>, StoreError> {
        let t = self.txn.open_table(CONSENSUS_WAL)?;
        let mut max = None;
        for row in t.iter()? {
            let seq = row?.0.value().1;
            max = Some(max.map_or(seq, |m: u64| m.max(seq)));
        }
        Ok(max)
    }

    /// Number of blocks.
    pub fn block_count(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(BLOCKS)?.len()?)
    }

    /// The validator sets, by epoch.
    pub fn epochs(&self) -> Result<Vec<ValidatorSet>, StoreError> {
        let t = self.txn.open_table(EPOCHS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (_, v) = row?;
            out.push(ValidatorSet::from_bytes(v.value()).map_err(corrupt("epochs"))?);
        }
        Ok(out)
    }

    /// Whether `(scenario, author, nonce)` was used.
    pub fn nonce_used(
        &self,
        scenario: &ScenarioId,
        author: &[u8; 32],
        nonce: u64,
    ) -> Result<bool, StoreError> {
        let t = self.txn.open_table(NONCES)?;
        Ok(t.get((scenario.as_str(), author.as_slice(), nonce))?
            .is_some())
    }
}

/// The digest under which `record_exists(kind, field, value)` finds a record.
pub fn ref_digest(
    kind: &str,
    field: &str,
    value: &trustchain_core::encoding::value::Value,
) -> [u8; 32] {
    let mut w = Writer::new();
    w.str(kind);
    w.str(field);
    value.encode(&mut w);
    *blake3::hash(&w.into_bytes()).as_bytes()
}

mod chain;
mod logs;

pub use logs::LogBatch;

#[cfg(test)]
mod tests {
    use super::*;

    /// A data directory of another storage format is refused with an error that says what to do,
    /// never read as if it were this one's (older checkpoints lack their link to the chain).
    #[test]
    fn another_storage_format_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.redb");
        drop(Store::open(&path).unwrap());
        // Reopened: the same format.
        let store = Store::open(&path).unwrap();
        let txn = store.write().unwrap();
        assert_eq!(
            txn.open_table(META)
                .unwrap()
                .get("format")
                .unwrap()
                .map(|v| v.value()),
            Some(STORAGE_FORMAT)
        );
        // A file of format 1: blocks, no format row.
        txn.open_table(META).unwrap().remove("format").unwrap();
        txn.open_table(BLOCKS)
            .unwrap()
            .insert(0, [0u8; 4].as_slice())
            .unwrap();
        txn.commit().unwrap();
        drop(store);
        let e = Store::open(&path).err().expect("format 1 refused");
        assert!(matches!(e, StoreError::Format { found: 1 }), "{e}");
        assert!(
            e.to_string().contains("move the data directory away"),
            "{e}"
        );
        // A newer format.
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("format", STORAGE_FORMAT + 1)
            .unwrap();
        txn.commit().unwrap();
        drop(db);
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::Format { found }) if found == STORAGE_FORMAT + 1
        ));
    }
}
