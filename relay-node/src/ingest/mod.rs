//! Ingestion: one writer thread takes submissions from many clients and commits them in groups,
//! one durable redb transaction per group, and answers each client only after its commit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use trustchain_core::crypto::{PublicKey, verify_batch};
use trustchain_core::encoding::Encode;
use trustchain_core::encoding::value::{ScenarioId, Value};
use trustchain_core::scenario::charter::{Charter, Rejection};
use trustchain_core::scenario::contract::{Body, Contract};
use trustchain_core::scenario::entry::Entry;
use trustchain_core::scenario::rules::{Lookup, RecordLookup};

use crate::metrics::Metrics;
use crate::store::{EncodedEntry, LogBatch, Store, StoreError, ref_digest};

/// Most contracts in one request.
pub const MAX_BATCH: usize = 1000;
/// Most contracts committed in one transaction.
pub const MAX_GROUP: usize = 8192;

/// Contracts whose author signatures were checked (only [`Ingest::submit`] makes one), so the
/// single writer thread spends no time on signatures: they are checked on the callers' threads,
/// on every core. Each carries its canonical entry bytes (`Entry::Contract`), encoded or read
/// once where it entered the relay: the writer stores and hashes them as they are.
pub struct Verified(Vec<(Contract, Vec<u8>)>);

/// A contract with its canonical entry bytes (the `Entry::Contract` encoding).
fn encoded(c: Contract) -> (Contract, Vec<u8>) {
    let (entry, bytes) = EncodedEntry::new(Entry::Contract(c)).into_parts();
    let Entry::Contract(c) = entry else {
        unreachable!("encoded as a contract")
    };
    (c, bytes)
}

/// What the writer is asked to do.
pub enum Command {
    /// Append contracts to a scenario, all or none.
    Contracts {
        /// The scenario named in the URL.
        scenario: ScenarioId,
        /// The contracts, in order, signatures checked.
        contracts: Verified,
        /// `Some(size)`: a replica appending what the scenario's home sent, which must land at
        /// index `size`; `None`: a client's write, refused on a replica.
        at: Option<u64>,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Accepted, IngestError>>,
    },
    /// Found a scenario with its charter.
    CreateScenario {
        /// The signed charter.
        charter: Box<Charter>,
        /// `Some(home)`: founded here as a replica of the scenario homed at `home`.
        home: Option<PublicKey>,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Accepted, IngestError>>,
    },
}

impl Command {
    fn weight(&self) -> usize {
        match self {
            Command::Contracts { contracts, .. } => contracts.0.len(),
            Command::CreateScenario { .. } => 1,
        }
    }
}

/// A durable acceptance.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Accepted {
    /// The scenario.
    pub scenario: ScenarioId,
    /// Log indices of the accepted entries.
    pub indices: Vec<u64>,
    /// The log size after the commit.
    pub size: u64,
}

/// Why a submission was refused. Nothing of a refused submission is written.
#[derive(Clone, Debug, thiserror::Error)]
pub enum IngestError {
    /// The scenario has no charter here.
    #[error("unknown scenario {0}: found it first with a charter (POST /v1/scenarios)")]
    UnknownScenario(ScenarioId),
    /// The scenario exists already.
    #[error("scenario {0} already exists")]
    ScenarioExists(ScenarioId),
    /// An author signature fails.
    #[error("contract {item}: bad signature by author {author}")]
    BadSignature {
        /// Position in the request.
        item: usize,
        /// The author.
        author: PublicKey,
    },
    /// The charter refuses a contract.
    #[error("contract {item}: {rejection}")]
    Rejected {
        /// Position in the request.
        item: usize,
        /// Why.
        rejection: Rejection,
    },
    /// The nonce was used before.
    #[error("contract {item}: nonce {nonce} of author {author} was already used (replay)")]
    ReplayedNonce {
        /// Position in the request.
        item: usize,
        /// The author.
        author: PublicKey,
        /// The nonce.
        nonce: u64,
    },
    /// A malformed charter.
    #[error("charter: {0}")]
    BadCharter(String),
    /// A record larger than a stored entry may be (so it could never be read back or proven).
    #[error("contract {item} is {size} bytes encoded; the limit is {max}")]
    TooLarge {
        /// Position in the request.
        item: usize,
        /// Its encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The request is too large.
    #[error("batch of {0} contracts exceeds the limit of {MAX_BATCH}")]
    BatchTooLarge(usize),
    /// Storage failed: nothing was acknowledged.
    #[error("storage failure, nothing was written: {0}")]
    Storage(String),
    /// A client wrote to a scenario this relay keeps as a replica.
    #[error(
        "scenario {scenario} is kept here as a replica; its home relay {home} takes its writes (submit there)"
    )]
    NotHome {
        /// The scenario.
        scenario: ScenarioId,
        /// Its home relay's key.
        home: PublicKey,
    },
    /// Replicated entries that do not continue the log where it ends.
    #[error("scenario {scenario} holds {size} entries here, not {at}")]
    NotAt {
        /// The scenario.
        scenario: ScenarioId,
        /// Its size here.
        size: u64,
        /// Where the entries were to go.
        at: u64,
    },
    /// The node is stopping.
    #[error("the relay is shutting down")]
    ShuttingDown,
}

impl IngestError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::UnknownScenario(_) => "unknown_scenario",
            IngestError::ScenarioExists(_) => "scenario_exists",
            IngestError::BadSignature { .. } => "bad_signature",
            IngestError::Rejected { rejection, .. } => match rejection {
                Rejection::Unauthorised(_) => "unauthorised_author",
                Rejection::Rule(_) => "rule_violation",
                Rejection::WrongScenario { .. } => "wrong_scenario",
                _ => "schema_violation",
            },
            IngestError::ReplayedNonce { .. } => "replayed_nonce",
            IngestError::BadCharter(_) => "bad_charter",
            IngestError::TooLarge { .. } => "contract_too_large",
            IngestError::BatchTooLarge(_) => "batch_too_large",
            IngestError::Storage(_) => "storage",
            IngestError::ShuttingDown => "shutting_down",
            IngestError::NotHome { .. } => "not_home",
            IngestError::NotAt { .. } => "not_at",
        }
    }
}

/// The handle through which the API submits work.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Command>,
}

impl Ingest {
    /// Appends contracts; resolves after the durable commit.
    pub async fn submit(
        &self,
        scenario: ScenarioId,
        contracts: Vec<Contract>,
    ) -> Result<Accepted, IngestError> {
        self.append(scenario, contracts.into_iter().map(encoded).collect(), None)
            .await
    }

    /// Appends contracts already in their canonical form (as the HTTP API decoded or checked
    /// them), so they are never encoded again; resolves after the durable commit. An entry that
    /// is not a contract is refused.
    pub async fn submit_encoded(
        &self,
        scenario: ScenarioId,
        contracts: Vec<EncodedEntry>,
    ) -> Result<Accepted, IngestError> {
        let mut out = Vec::with_capacity(contracts.len());
        for (item, e) in contracts.into_iter().enumerate() {
            match e.into_parts() {
                (Entry::Contract(c), bytes) => out.push((c, bytes)),
                (Entry::Charter(_), _) => {
                    return Err(IngestError::BadCharter(format!(
                        "item {item} is a charter, not a contract"
                    )));
                }
            }
        }
        self.append(scenario, out, None).await
    }

    /// Appends, as a replica, what the home of `scenario` sent: entries from index `start`
    /// (the charter first when `start` is 0), checked like a client's and landing exactly at
    /// `start`. Returns the log size after them.
    pub async fn replicate(
        &self,
        home: PublicKey,
        scenario: ScenarioId,
        start: u64,
        entries: Vec<EncodedEntry>,
    ) -> Result<u64, IngestError> {
        let mut entries = entries.into_iter().map(EncodedEntry::into_parts).peekable();
        let mut size = start;
        if start == 0
            && let Some((Entry::Charter(_), _)) = entries.peek()
        {
            let Some((Entry::Charter(charter), _)) = entries.next() else {
                unreachable!("peeked")
            };
            if charter.content.scenario != scenario {
                return Err(IngestError::BadCharter(format!(
                    "the charter founds {}, not {scenario}",
                    charter.content.scenario
                )));
            }
            size = self.found(charter, Some(home)).await?.size;
        }
        let mut contracts = Vec::new();
        for (item, e) in entries.enumerate() {
            match e {
                (Entry::Contract(c), bytes) => contracts.push((c, bytes)),
                (Entry::Charter(_), _) => {
                    return Err(IngestError::BadCharter(format!(
                        "entry {} is a second charter",
                        size + item as u64
                    )));
                }
            }
        }
        let mut contracts = contracts.into_iter().peekable();
        while contracts.peek().is_some() {
            let chunk: Vec<_> = contracts.by_ref().take(MAX_BATCH).collect();
            size = self.append(scenario.clone(), chunk, Some(size)).await?.size;
        }
        Ok(size)
    }

    async fn append(
        &self,
        scenario: ScenarioId,
        contracts: Vec<(Contract, Vec<u8>)>,
        at: Option<u64>,
    ) -> Result<Accepted, IngestError> {
        if contracts.len() > MAX_BATCH {
            return Err(IngestError::BatchTooLarge(contracts.len()));
        }
        for (item, (_, bytes)) in contracts.iter().enumerate() {
            // The entry (a tag byte and the contract) must decode under the limits every reader
            // uses, or it could be acknowledged and then never served nor proven.
            let size = bytes.len();
            if size > ENTRY_LIMIT {
                return Err(IngestError::TooLarge {
                    item,
                    size,
                    max: ENTRY_LIMIT,
                });
            }
        }
        let contracts = if contracts.len() <= 16 {
            verify_signatures(contracts)?
        } else {
            tokio::task::spawn_blocking(move || verify_signatures(contracts))
                .await
                .map_err(|_| IngestError::ShuttingDown)??
        };
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Contracts {
                scenario,
                contracts,
                at,
                reply,
            })
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        rx.await.map_err(|_| IngestError::ShuttingDown)?
    }

    /// Founds a scenario; resolves after the durable commit.
    pub async fn create(&self, charter: Charter) -> Result<Accepted, IngestError> {
        self.found(charter, None).await
    }

    async fn found(
        &self,
        charter: Charter,
        home: Option<PublicKey>,
    ) -> Result<Accepted, IngestError> {
        check_charter(&charter)?;
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::CreateScenario {
                charter: Box::new(charter),
                home,
                reply,
            })
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        rx.await.map_err(|_| IngestError::ShuttingDown)?
    }
}

/// The largest stored entry: what [`trustchain_core::encoding::Limits::DEFAULT`] decodes.
const ENTRY_LIMIT: usize = trustchain_core::encoding::Limits::DEFAULT.max_total;

/// What a relay checks of a charter beyond its decoding: its size as a stored entry, and that
/// every rule's tree is the compilation of the source people read — a charter whose interface
/// shows one rule and whose tree checks another is refused.
fn check_charter(charter: &Charter) -> Result<(), IngestError> {
    let size = 1 + charter.to_bytes().len();
    if size > ENTRY_LIMIT {
        return Err(IngestError::BadCharter(format!(
            "{size} bytes encoded; the limit is {ENTRY_LIMIT}"
        )));
    }
    for kind in &charter.content.kinds {
        for rule in &kind.rules {
            let compiled = trustchain_core::scenario::rules::compile(
                &rule.name,
                &rule.source,
                &rule.message,
                &kind.fields,
            )
            .map_err(|e| {
                IngestError::BadCharter(format!(
                    "kind `{}`, rule `{}`: its source does not compile: {e}",
                    kind.name, rule.name
                ))
            })?;
            if &compiled != rule {
                return Err(IngestError::BadCharter(format!(
                    "kind `{}`, rule `{}`: the stored expression is not the compilation of its source",
                    kind.name, rule.name
                )));
            }
        }
    }
    Ok(())
}

/// Checks every author signature of a request: one batch, and on failure each alone to name the
/// culprit.
fn verify_signatures(contracts: Vec<(Contract, Vec<u8>)>) -> Result<Verified, IngestError> {
    let items: Vec<_> = contracts.iter().map(|(c, _)| c.signature_item()).collect();
    match verify_batch(&items) {
        Ok(()) => Ok(Verified(contracts)),
        Err((item, _)) => Err(IngestError::BadSignature {
            item,
            author: contracts[item].0.content.author,
        }),
    }
}

/// Called after every durable group commit that accepted something (from the writer thread).
pub type CommitHook = Box<dyn Fn() + Send>;

/// Starts the writer thread.
pub fn start(
    store: Arc<Store>,
    metrics: Arc<Metrics>,
) -> Result<(Ingest, std::thread::JoinHandle<()>), StoreError> {
    start_with_hook(store, metrics, None)
}

/// [`start`], calling `on_commit` after each durable commit that accepted contracts or charters
/// (a network relay wakes its consensus driver with it, so new records are checkpointed at once).
pub fn start_with_hook(
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    on_commit: Option<CommitHook>,
) -> Result<(Ingest, std::thread::JoinHandle<()>), StoreError> {
    let view = store.read()?;
    let mut charters = HashMap::new();
    let mut sizes = HashMap::new();
    let homes = view.homes()?.into_iter().collect();
    for (id, size) in view.scenarios()? {
        if let Some(c) = view.charter(&id)? {
            charters.insert(id.clone(), ScenarioRules::new(c));
        }
        sizes.insert(id, size);
    }
    drop(view);
    let (tx, rx) = mpsc::channel(4096);
    let mut writer = Writer {
        store,
        charters,
        sizes,
        homes,
        metrics,
        on_commit,
    };
    let handle = std::thread::Builder::new()
        .name("ingest-writer".into())
        .spawn(move || writer.run(rx))
        .expect("spawn writer thread");
    Ok((Ingest { tx }, handle))
}

/// A scenario's charter and the `(kind, field)` pairs its rules look up.
struct ScenarioRules {
    charter: Charter,
    referenced: std::collections::BTreeSet<(String, String)>,
}

impl ScenarioRules {
    fn new(charter: Charter) -> Arc<Self> {
        let referenced = charter.referenced_fields();
        Arc::new(ScenarioRules {
            charter,
            referenced,
        })
    }

    /// The reference digests of a contract: the fields some `record_exists` rule looks up.
    fn refs_of(&self, c: &Contract) -> Vec<[u8; 32]> {
        match &c.content.body {
            Body::Fields(f) => f
                .iter()
                .filter(|(k, _)| {
                    self.referenced
                        .iter()
                        .any(|(kind, field)| kind == &c.content.kind && field == *k)
                })
                .map(|(k, v)| ref_digest(&c.content.kind, k, v))
                .collect(),
            Body::Digest(_) => Vec::new(),
        }
    }
}

struct Writer {
    store: Arc<Store>,
    charters: HashMap<ScenarioId, Arc<ScenarioRules>>,
    sizes: HashMap<ScenarioId, u64>,
    /// Scenarios kept here as replicas, and their homes.
    homes: HashMap<ScenarioId, PublicKey>,
    metrics: Arc<Metrics>,
    on_commit: Option<CommitHook>,
}

type Reply = oneshot::Sender<Result<Accepted, IngestError>>;

/// `record_exists` answered from the reference index plus the request's earlier contracts.
struct Refs<'a, 'b> {
    logs: &'a LogBatch<'b>,
    scenario: &'a ScenarioId,
    pending: &'a HashSet<[u8; 32]>,
}

impl RecordLookup for Refs<'_, '_> {
    fn record_exists(&self, kind: &str, field: &str, value: &Value) -> Lookup {
        let d = ref_digest(kind, field, value);
        if self.pending.contains(&d) {
            return Lookup::Found;
        }
        match self.logs.ref_count(self.scenario, d) {
            Ok(n) if n > 0 => Lookup::Found,
            Ok(_) => Lookup::Missing,
            // A read failure must not decide a rule either way.
            Err(_) => Lookup::Unknown,
        }
    }
}

impl Writer {
    fn run(&mut self, mut rx: mpsc::Receiver<Command>) {
        while let Some(first) = rx.blocking_recv() {
            let mut weight = first.weight();
            let mut group = vec![first];
            while weight < MAX_GROUP {
                match rx.try_recv() {
                    Ok(c) => {
                        weight += c.weight();
                        group.push(c);
                    }
                    Err(_) => break,
                }
            }
            self.commit_group(group);
        }
        tracing::info!("ingest writer stopped");
    }

    fn commit_group(&mut self, group: Vec<Command>) {
        let mut outcomes: Vec<(Reply, Result<Accepted, IngestError>)> = Vec::new();
        let mut new_sizes: HashMap<ScenarioId, u64> = HashMap::new();
        let mut new_charters: Vec<(ScenarioId, Arc<ScenarioRules>)> = Vec::new();
        let mut new_homes: Vec<(ScenarioId, PublicKey)> = Vec::new();
        let mut accepted_contracts = 0u64;
        let result: Result<(), StoreError> = self.store.write_logs(|logs| {
            for cmd in group {
                match cmd {
                    Command::Contracts {
                        scenario,
                        contracts,
                        at,
                        reply,
                    } => {
                        let contracts = contracts.0;
                        let start = *new_sizes
                            .get(&scenario)
                            .or_else(|| self.sizes.get(&scenario))
                            .unwrap_or(&0);
                        let verdict = self
                            .placed(&scenario, &new_homes, start, at)
                            .and_then(|()| self.check_contracts(&scenario, &contracts, logs));
                        let res = match verdict {
                            Err(e) => Err(e),
                            Ok(()) => {
                                let mut size = start;
                                for (c, bytes) in &contracts {
                                    logs.append(&scenario, size, bytes)?;
                                    logs.put_nonce(
                                        &scenario,
                                        &c.content.author,
                                        c.content.nonce,
                                        size,
                                    )?;
                                    let rules = &self.charters[&scenario];
                                    for d in rules.refs_of(c) {
                                        logs.add_ref(&scenario, d)?;
                                    }
                                    size += 1;
                                }
                                logs.set_size(&scenario, size)?;
                                new_sizes.insert(scenario.clone(), size);
                                accepted_contracts += contracts.len() as u64;
                                Ok(Accepted {
                                    scenario,
                                    indices: (start..size).collect(),
                                    size,
                                })
                            }
                        };
                        outcomes.push((reply, res));
                    }
                    Command::CreateScenario {
                        charter,
                        home,
                        reply,
                    } => {
                        let id = charter.content.scenario.clone();
                        let res = if self.sizes.contains_key(&id) || new_sizes.contains_key(&id) {
                            Err(IngestError::ScenarioExists(id))
                        } else if let Err(e) = charter.content.validate() {
                            Err(IngestError::BadCharter(e.to_string()))
                        } else if let Err(e) = charter.verify_signature() {
                            Err(IngestError::BadCharter(e.to_string()))
                        } else {
                            let bytes = Entry::Charter((*charter).clone()).to_bytes();
                            logs.append(&id, 0, &bytes)?;
                            logs.set_size(&id, 1)?;
                            new_sizes.insert(id.clone(), 1);
                            if let Some(home) = home {
                                logs.set_home(&id, &home)?;
                                new_homes.push((id.clone(), home));
                            }
                            new_charters.push((id.clone(), ScenarioRules::new(*charter)));
                            Ok(Accepted {
                                scenario: id,
                                indices: vec![0],
                                size: 1,
                            })
                        };
                        outcomes.push((reply, res));
                    }
                }
            }
            Ok(())
        });

        match result {
            Ok(()) => {
                self.sizes.extend(new_sizes);
                self.charters.extend(new_charters);
                self.homes.extend(new_homes);
                self.metrics.contracts_accepted.add(accepted_contracts);
                self.metrics.commits.add(1);
                if let Some(hook) = &self.on_commit
                    && outcomes.iter().any(|(_, r)| r.is_ok())
                {
                    hook();
                }
                for (reply, res) in outcomes {
                    if res.is_err() {
                        self.metrics.contracts_rejected.add(1);
                    }
                    let _ = reply.send(res);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed; nothing acknowledged");
                for (reply, res) in outcomes {
                    let _ = reply.send(res.and(Err(IngestError::Storage(e.to_string()))));
                }
            }
        }
    }

    /// Whether contracts may land at `start`: a client's (`at` none) only on a scenario homed
    /// here, a replica's only at the log's end of a scenario kept here as a replica.
    fn placed(
        &self,
        scenario: &ScenarioId,
        new_homes: &[(ScenarioId, PublicKey)],
        start: u64,
        at: Option<u64>,
    ) -> Result<(), IngestError> {
        let home = self.homes.get(scenario).or_else(|| {
            new_homes
                .iter()
                .find(|(s, _)| s == scenario)
                .map(|(_, h)| h)
        });
        match (at, home) {
            (None, Some(home)) => Err(IngestError::NotHome {
                scenario: scenario.clone(),
                home: *home,
            }),
            (Some(_), None) if self.charters.contains_key(scenario) => {
                Err(IngestError::BadCharter(format!(
                    "scenario {scenario} is homed at this relay, not replicated to it"
                )))
            }
            (Some(at), _) if at != start => Err(IngestError::NotAt {
                scenario: scenario.clone(),
                size: start,
                at,
            }),
            _ => Ok(()),
        }
    }

    fn check_contracts(
        &self,
        scenario: &ScenarioId,
        contracts: &[(Contract, Vec<u8>)],
        logs: &LogBatch<'_>,
    ) -> Result<(), IngestError> {
        let rules = self
            .charters
            .get(scenario)
            .ok_or_else(|| IngestError::UnknownScenario(scenario.clone()))?;
        let charter = &rules.charter;
        let mut seen_nonces: HashSet<(PublicKey, u64)> = HashSet::new();
        let mut pending: HashSet<[u8; 32]> = HashSet::new();
        for (item, (c, _)) in contracts.iter().enumerate() {
            let k = &c.content;
            let used = logs
                .nonce_used(scenario, &k.author, k.nonce)
                .map_err(|e| IngestError::Storage(e.to_string()))?;
            if used || !seen_nonces.insert((k.author, k.nonce)) {
                return Err(IngestError::ReplayedNonce {
                    item,
                    author: k.author,
                    nonce: k.nonce,
                });
            }
            let lookup = Refs {
                logs,
                scenario,
                pending: &pending,
            };
            let report = charter
                .admit(k, &lookup)
                .map_err(|rejection| IngestError::Rejected { item, rejection })?;
            // The relay holds the scenario's records, so it must decide every rule.
            if let Some((rule, why)) = report.unresolved.first() {
                return Err(IngestError::Storage(format!(
                    "contract {item}: rule `{rule}` could not be decided: {why}"
                )));
            }
            pending.extend(rules.refs_of(c));
        }
        Ok(())
    }
}
