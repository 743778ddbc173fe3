//! Scenario replica sets (docs/network.md, "Replica sets").
//!
//! A scenario lives on its **home** relay (the one that received its charter, and takes its
//! writes) and on the `DEFAULT_REPLICAS - 1` other members of the home's region that rank first
//! by weighted rendezvous hashing of the scenario id ([`trustchain_core::chain::placement`]). The home
//! appends first (a client's write is acknowledged once it is on the home's disk), then sends
//! the new entries to its replicas over `/trustchain/replica/1` with the checkpoint it wants
//! co-signed; each replica checks them like a client's write (author signatures, charter rules,
//! nonces), appends them durably at exactly the index the home named, recomputes the log root
//! and only then signs the checkpoint. A checkpoint is anchored with the signatures of a
//! majority of the replica set (home included) of the home the chain recorded when the scenario
//! was founded: every relay checks that rule in every block (`trustchain_core::chain::validity`), so a
//! checkpoint on chain means that a majority of the scenario's replicas hold its log up to that
//! size — and a replica co-signs only for the recorded home, and only a log that starts with the
//! anchored one.
//!
//! Re-replication needs no separate mechanism: the replica set is computed over the validators
//! of the current epoch, so when PoSR drops a relay, the next member in rendezvous order takes
//! its place, answers the home's next checkpoint with [`ReplicaResponse::Need`]`{ size: 0 }`,
//! and receives the whole log in bounded requests.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use trustchain_core::chain::placement::{Places, replicas_of};
use trustchain_core::crypto::{PublicKey, sign};
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::encoding::{Decode, DecodeError, Encode, Limits, Reader, Writer};
use trustchain_core::scenario::checkpoint::{Checkpoint, ReplicaSignature};

use crate::ingest::{Ingest, IngestError};
use crate::store::{EncodedEntry, Store};
use trustchain_core::chain::state::ChainSnapshot;

/// Most entries one [`ReplicaRequest::Append`] carries.
pub const MAX_APPEND_ENTRIES: u32 = 256;
/// Most entry bytes a home puts in one request (a single entry may exceed it: it goes alone).
pub const APPEND_BYTES: usize = 2 << 20;
/// Longest entry (what the ingest stores and every reader decodes).
pub const MAX_ENTRY: u32 = Limits::DEFAULT.max_total as u32;
/// Longest [`ReplicaResponse::Refused`] message, in bytes.
pub const MAX_REFUSAL: u32 = 1_024;
/// Limits for one replica request: [`MAX_APPEND_ENTRIES`] entries of at most [`MAX_ENTRY`]
/// bytes would not fit; a home stops adding entries at [`APPEND_BYTES`], so a request is at
/// most `APPEND_BYTES + MAX_ENTRY` and some framing.
pub const REPLICA_LIMITS: Limits = Limits {
    max_total: APPEND_BYTES + MAX_ENTRY as usize + 64 * 1024,
    max_len: 1 << 20,
    max_depth: 8,
};

/// What a home asks a replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaRequest {
    /// Append `entries` at index `start` (none: just a question), then co-sign `checkpoint`
    /// if the log then holds it.
    Append {
        /// The checkpoint to co-sign.
        checkpoint: Checkpoint,
        /// Index of the first entry.
        start: u64,
        /// Entries `start..start + len`, oldest first, with their canonical bytes (sent as the
        /// home stored them, appended by the replica as received: never encoded again).
        entries: Vec<EncodedEntry>,
    },
}

/// What a replica answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaResponse {
    /// The replica's signature on the checkpoint: its log holds it.
    Signed(ReplicaSignature),
    /// The replica holds `size` entries of the scenario: send from there.
    Need {
        /// Its log size.
        size: u64,
    },
    /// The replica will not take these entries or sign (not a replica, rules refused, a log
    /// that differs).
    Refused {
        /// Why.
        message: String,
    },
}

impl ReplicaResponse {
    /// A refusal, its message cut (at a character boundary) to [`MAX_REFUSAL`] bytes.
    pub fn refused(message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_REFUSAL as usize {
            let mut end = MAX_REFUSAL as usize;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        ReplicaResponse::Refused { message }
    }
}

impl Encode for ReplicaRequest {
    fn encode(&self, w: &mut Writer) {
        w.u8(trustchain_core::encoding::FORMAT_VERSION);
        match self {
            ReplicaRequest::Append {
                checkpoint,
                start,
                entries,
            } => {
                w.u8(0);
                checkpoint.encode(w);
                w.u64(*start);
                w.len(entries.len());
                for e in entries {
                    w.bytes(e.bytes());
                }
            }
        }
    }
}

impl Decode for ReplicaRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("replica request")?;
        match r.u8("replica request tag")? {
            0 => {
                let checkpoint = Checkpoint::decode(r)?;
                let start = r.u64("append start")?;
                let n = r.len("append entries", MAX_APPEND_ENTRIES, 2)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    // Each entry under the limits every reader of a stored entry uses.
                    let bytes = r.bytes("append entry", MAX_ENTRY)?;
                    entries.push(EncodedEntry::decode(bytes, Limits::DEFAULT)?);
                }
                Ok(ReplicaRequest::Append {
                    checkpoint,
                    start,
                    entries,
                })
            }
            tag => Err(DecodeError::InvalidTag {
                what: "replica request",
                tag,
            }),
        }
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_bytes_with(bytes, REPLICA_LIMITS)
    }
}

impl Encode for ReplicaResponse {
    fn encode(&self, w: &mut Writer) {
        w.u8(trustchain_core::encoding::FORMAT_VERSION);
        match self {
            ReplicaResponse::Signed(s) => {
                w.u8(0);
                s.encode(w);
            }
            ReplicaResponse::Need { size } => {
                w.u8(1);
                w.u64(*size);
            }
            ReplicaResponse::Refused { message } => {
                w.u8(2);
                w.str(message);
            }
        }
    }
}

impl Decode for ReplicaResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("replica response")?;
        match r.u8("replica response tag")? {
            0 => Ok(ReplicaResponse::Signed(ReplicaSignature::decode(r)?)),
            1 => Ok(ReplicaResponse::Need {
                size: r.u64("replica size")?,
            }),
            2 => Ok(ReplicaResponse::Refused {
                message: r.str("replica refusal", MAX_REFUSAL)?,
            }),
            tag => Err(DecodeError::InvalidTag {
                what: "replica response",
                tag,
            }),
        }
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_bytes_with(bytes, REPLICA_LIMITS)
    }
}

/// The home's side: the request that sends `checkpoint`'s scenario from index `start` on — as
/// many entries as fit in [`APPEND_BYTES`] (at least one), none if `start` is at or past the
/// checkpoint.
pub fn append_from(
    store: &Store,
    checkpoint: &Checkpoint,
    start: u64,
) -> Result<ReplicaRequest, crate::store::StoreError> {
    let mut entries = Vec::new();
    if start < checkpoint.size {
        let view = store.read()?;
        let want = (checkpoint.size - start).min(MAX_APPEND_ENTRIES.into());
        let mut bytes = 0;
        for (_, e) in view.entries_encoded(&checkpoint.scenario, start, want)? {
            let len = e.bytes().len() + 8;
            if !entries.is_empty() && bytes + len > APPEND_BYTES {
                break;
            }
            bytes += len;
            entries.push(e);
        }
    }
    Ok(ReplicaRequest::Append {
        checkpoint: checkpoint.clone(),
        start,
        entries,
    })
}

/// What a replica needs to answer.
#[derive(Clone)]
pub struct ReplicaSide {
    /// The relay's database.
    pub store: Arc<Store>,
    /// Its writer.
    pub ingest: Ingest,
    /// Its node key (it signs checkpoints with it).
    pub key: SigningKey,
    /// Regions and capacities of the registered nodes.
    pub places: Places,
    /// Counters.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl ReplicaSide {
    /// Answers `from`'s request as of the chain `snap` (its next validators are the current
    /// epoch's). A replica serves only the home the chain recorded for an anchored scenario
    /// (any other relay claiming it is refused: it would feed a forged log from index 0), and
    /// signs only a log that starts with the anchored checkpoint (a home cannot make it co-sign a
    /// rewritten history).
    pub async fn answer(
        &self,
        from: PublicKey,
        snap: &ChainSnapshot,
        now_ms: u64,
        req: ReplicaRequest,
    ) -> ReplicaResponse {
        let ReplicaRequest::Append {
            checkpoint,
            start,
            entries,
        } = req;
        let set = &snap.next_validators;
        let scenario = checkpoint.scenario.clone();
        let me = PublicKey::of(&self.key);
        let anchored = snap.anchored(&scenario);
        if let Some(a) = anchored
            && *a.home != from
        {
            return ReplicaResponse::refused(format!(
                "the chain records {} as the home of {scenario}, not {from}",
                a.home
            ));
        }
        if !replicas_of(&self.places, set, &scenario, &from).contains(&me) {
            return ReplicaResponse::refused(format!(
                "this relay is not a replica of {scenario} homed at {from} in the current epoch"
            ));
        }
        if checkpoint.time_ms > now_ms + trustchain_core::chain::validate::MAX_CLOCK_AHEAD_MS {
            return ReplicaResponse::refused(
                "the checkpoint's time is ahead of this relay's clock",
            );
        }
        let held = match self.held(&scenario, &from) {
            Ok(size) => size,
            Err(message) => return ReplicaResponse::refused(message),
        };
        let size = if start == held && !entries.is_empty() {
            match self
                .ingest
                .replicate(from, scenario.clone(), start, entries)
                .await
            {
                Ok(size) => {
                    self.metrics.replicated_entries.add(size - start);
                    size
                }
                // Another request of the same home got there first: go on from what is held.
                Err(IngestError::NotAt { .. } | IngestError::ScenarioExists(_)) => {
                    match self.held(&scenario, &from) {
                        Ok(size) => size,
                        Err(message) => return ReplicaResponse::refused(message),
                    }
                }
                Err(e) => {
                    tracing::warn!(%scenario, home = %from, error = %e, "refused replicated entries");
                    return ReplicaResponse::refused(e.to_string());
                }
            }
        } else {
            held
        };
        if size < checkpoint.size {
            return ReplicaResponse::Need { size };
        }
        let roots = self.store.read().and_then(|v| {
            let at_anchor = match anchored {
                Some(a) if a.checkpoint.size <= checkpoint.size => {
                    Some((a.checkpoint, v.root(&scenario, a.checkpoint.size)?))
                }
                _ => None,
            };
            Ok((v.root(&scenario, checkpoint.size)?, at_anchor))
        });
        let root = match roots {
            Ok((_, Some((a, r)))) if r != a.root => {
                tracing::error!(%scenario, home = %from, anchored = a.size, "this replica's log differs from the anchored checkpoint");
                return ReplicaResponse::refused(format!(
                    "the log here does not start with the checkpoint anchored at size {}",
                    a.size
                ));
            }
            Ok((root, _)) => root,
            Err(e) => return ReplicaResponse::refused(format!("reading the log: {e}")),
        };
        if root != checkpoint.root {
            tracing::error!(%scenario, home = %from, size = checkpoint.size, "the home's checkpoint root differs from this replica's log");
            return ReplicaResponse::refused(format!(
                "the log here has another root at size {}",
                checkpoint.size
            ));
        }
        ReplicaResponse::Signed(ReplicaSignature {
            key: me,
            signature: sign(&self.key, &checkpoint.digest()),
        })
    }

    /// How many entries of `scenario`, homed at `home`, this relay holds (0: none yet); an error
    /// if it holds the scenario for another home or as its home.
    fn held(&self, scenario: &ScenarioId, home: &PublicKey) -> Result<u64, String> {
        let view = self.store.read().map_err(|e| e.to_string())?;
        let size = view.size(scenario).map_err(|e| e.to_string())?;
        match (size, view.home(scenario).map_err(|e| e.to_string())?) {
            (None, _) => Ok(0),
            (Some(size), Some(h)) if h == *home => Ok(size),
            (Some(_), Some(h)) => Err(format!("{scenario} is kept here for home {h}")),
            (Some(_), None) => Err(format!("{scenario} is homed at this relay")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use trustchain_core::crypto::hash::Hash;
    use trustchain_core::scenario::entry::Entry;

    fn checkpoint(size: u64) -> Checkpoint {
        Checkpoint {
            scenario: ScenarioId::new("demo/budget").unwrap(),
            size,
            root: Hash([7; 32]),
            main_ref: Hash([9; 32]),
            time_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn messages_round_trip() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let cp = checkpoint(4);
        for res in [
            ReplicaResponse::Signed(ReplicaSignature {
                key: PublicKey::of(&key),
                signature: sign(&key, &cp.digest()),
            }),
            ReplicaResponse::Need { size: 3 },
            ReplicaResponse::refused("no"),
        ] {
            assert_eq!(ReplicaResponse::from_bytes(&res.to_bytes()).unwrap(), res);
        }
        let req = ReplicaRequest::Append {
            checkpoint: cp,
            start: 4,
            entries: vec![],
        };
        assert_eq!(ReplicaRequest::from_bytes(&req.to_bytes()).unwrap(), req);
    }

    #[test]
    fn a_long_refusal_is_cut_to_what_decodes() {
        let res = ReplicaResponse::refused("é".repeat(2_000));
        let ReplicaResponse::Refused { message } = &res else {
            unreachable!()
        };
        assert!(message.len() <= MAX_REFUSAL as usize);
        assert_eq!(ReplicaResponse::from_bytes(&res.to_bytes()).unwrap(), res);
    }

    #[test]
    fn too_many_entries_are_refused_before_reading_them() {
        let mut w = Writer::new();
        w.u8(trustchain_core::encoding::FORMAT_VERSION);
        w.u8(0);
        checkpoint(1).encode(&mut w);
        w.u64(0);
        w.len(MAX_APPEND_ENTRIES as usize + 1);
        assert!(ReplicaRequest::from_bytes(&w.into_bytes()).is_err());
    }

    /// A replica on a real store and writer, and the chain as `anchored` (recorded home and
    /// anchored checkpoint of the demo scenario) says.
    fn replica_on(
        dir: &std::path::Path,
        me: &SigningKey,
        keys: &[SigningKey],
        anchored: (&PublicKey, &Checkpoint),
    ) -> (ReplicaSide, ChainSnapshot) {
        let store = Arc::new(Store::open(&dir.join("relay.redb")).unwrap());
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let (ingest, _writer) = crate::ingest::start(store.clone(), metrics.clone()).unwrap();
        let places = Places::from_list(
            keys.iter()
                .map(|k| (PublicKey::of(k), "eu".to_string(), 1))
                .collect(),
        );
        let (home, cp) = anchored;
        let snap = trustchain_core::chain::state::test_snapshot(
            keys,
            &[(cp.clone().sign(&[me]), *home)],
            &[],
        );
        let side = ReplicaSide {
            store,
            ingest,
            key: me.clone(),
            places,
            metrics,
        };
        (side, snap)
    }

    /// Issue 11 §1 (threats C6): a replica that does not hold a scenario yet takes its log only
    /// from the home the chain recorded — another relay of the region claiming to be its home,
    /// feeding a log from index 0, is refused and nothing is stored — and co-signs only a log
    /// that starts with the anchored checkpoint (the recorded home rewriting history gets no
    /// signature).
    #[tokio::test]
    async fn a_replica_serves_only_the_recorded_home_and_the_anchored_history() {
        use trustchain_core::merkle::log::MemoryLog;
        let t0 = 1_767_225_600_000;
        let keys: Vec<SigningKey> = (1..=3u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]))
            .collect();
        let (home, me, other) = (&keys[0], &keys[1], &keys[2]);
        let owner = SigningKey::from_bytes(&[9; 32]);
        let treasurer = SigningKey::from_bytes(&[8; 32]);
        let charter = crate::demo::charter(&owner, &PublicKey::of(&treasurer), t0);
        let lines = crate::demo::DemoGen::new(treasurer, 7).budget_lines(1, t0 + 1);
        let genuine: Vec<Entry> = std::iter::once(Entry::Charter(charter))
            .chain(lines.into_iter().map(Entry::Contract))
            .collect();
        let log_of = |entries: &[Entry]| {
            let mut log = MemoryLog::new();
            for e in entries {
                log.append(e.leaf_hash());
            }
            log
        };
        let log = log_of(&genuine);
        let scenario = ScenarioId::new(crate::demo::SCENARIO).unwrap();
        let at = |log: &MemoryLog, size: u64| Checkpoint {
            scenario: scenario.clone(),
            size,
            root: log.root_at(size),
            main_ref: Hash([1; 32]),
            time_ms: t0 + 2,
        };
        let anchored = at(&log, 5);
        let home_key = PublicKey::of(home);
        let append = |cp: Checkpoint, entries: &[Entry]| ReplicaRequest::Append {
            checkpoint: cp,
            start: 0,
            entries: entries.iter().cloned().map(EncodedEntry::new).collect(),
        };
        let now = t0 + 3;

        // Another member of the region, claiming the scenario: refused, nothing stored.
        let dir = tempfile::tempdir().unwrap();
        let (side, snap) = replica_on(dir.path(), me, &keys, (&home_key, &anchored));
        assert!(
            replicas_of(
                &side.places,
                &snap.next_validators,
                &scenario,
                &PublicKey::of(other)
            )
            .contains(&PublicKey::of(me)),
            "this relay would be a replica of the impostor's placement"
        );
        let res = side
            .answer(
                PublicKey::of(other),
                &snap,
                now,
                append(at(&log, 13), &genuine),
            )
            .await;
        let ReplicaResponse::Refused { message } = res else {
            panic!("the impostor was answered {res:?}")
        };
        assert!(
            message.contains("records") && message.contains("as the home"),
            "{message}"
        );
        assert_eq!(side.store.read().unwrap().size(&scenario).unwrap(), None);

        // The recorded home, with a rewritten history (two budget lines swapped below the
        // anchored size; each still a valid contract): stored, but not co-signed.
        let mut rewritten = genuine.clone();
        rewritten.swap(1, 2);
        let forged_log = log_of(&rewritten);
        let dir = tempfile::tempdir().unwrap();
        let (side, snap) = replica_on(dir.path(), me, &keys, (&home_key, &anchored));
        let res = side
            .answer(
                home_key,
                &snap,
                now,
                append(at(&forged_log, 13), &rewritten),
            )
            .await;
        let ReplicaResponse::Refused { message } = res else {
            panic!("a rewritten history was co-signed: {res:?}")
        };
        assert!(message.contains("anchored at size 5"), "{message}");

        // The recorded home, with the genuine log: co-signed.
        let dir = tempfile::tempdir().unwrap();
        let (side, snap) = replica_on(dir.path(), me, &keys, (&home_key, &anchored));
        let res = side
            .answer(home_key, &snap, now, append(at(&log, 13), &genuine))
            .await;
        let ReplicaResponse::Signed(sig) = res else {
            panic!("the genuine log was refused: {res:?}")
        };
        assert_eq!(sig.key, PublicKey::of(me));
        sig.key
            .verify(&at(&log, 13).digest(), &sig.signature)
            .unwrap();
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = ReplicaRequest::from_bytes(&bytes);
            let _ = ReplicaResponse::from_bytes(&bytes);
        }
    }
}
