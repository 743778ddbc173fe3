//! The pool: checkpoints, reports and beacon entries waiting for a block, and the checkpoints of
//! scenarios homed here on their way to their replicas.

use super::*;

impl<P: Peer> Machine<P> {
    /// Pools a checkpoint larger than the one pooled or anchored, once checked (its signatures
    /// too, unless `signed_here`: ours and replica signatures the network layer verified).
    /// Returns whether it was pooled.
    pub(super) fn pool_insert(&mut self, cp: SignedCheckpoint, signed_here: bool) -> bool {
        let c = &cp.checkpoint;
        let snap = self.snap();
        let anchored = snap
            .checkpoints
            .get(&c.scenario)
            .map_or(0, |a| a.checkpoint.size);
        let pooled = self.pool.get(&c.scenario).map_or(0, |p| p.checkpoint.size);
        if c.size <= anchored.max(pooled) {
            return false;
        }
        let set = &snap.next_validators;
        let checked = check_checkpoint(&snap, set, Some(&self.registry), &cp, !signed_here);
        if let Err(e) = checked {
            // Signed validly (the signatures are checked first), but linked to a block this
            // relay has not committed yet: kept, and tried again after the next blocks.
            if early(&snap, &e) {
                if self.early.len() < MAX_POOL || self.early.contains_key(&c.scenario) {
                    let height = snap.head.header.height;
                    self.early.insert(c.scenario.clone(), (cp, height));
                }
                return false;
            }
            self.refuse("checkpoint", e);
            return false;
        }
        if self.pool.len() >= MAX_POOL && !self.pool.contains_key(&c.scenario) {
            self.refuse("checkpoint", "pool full");
            return false;
        }
        self.pool.insert(c.scenario.clone(), cp);
        true
    }

    pub(super) fn report_insert(&mut self, r: ObservationReport) {
        let key = (r.observer, r.subject, r.window);
        if self.reports.contains_key(&key) || self.reports.len() >= MAX_POOL {
            return;
        }
        if !self.registry.plausible(&r) {
            self.refuse("report", "badly signed, or of another PoSR epoch");
            return;
        }
        self.reports.insert(key, r);
    }

    /// Signs a report on every other registered node for `window`, pools and gossips them.
    pub(super) fn observe(&mut self, window: u64, measured: Vec<(PublicKey, Measurements)>) {
        let me = PublicKey::of(&self.key);
        let chain_id = self.ctx.chain_id().to_string();
        for (subject, m) in measured {
            if subject == me {
                continue;
            }
            tracing::trace!(%subject, window, heartbeat = m.heartbeat_ppm, rtt_us = m.rtt_us, "measured");
            let r = ObservationReport::sign(&chain_id, &self.key, subject, window, m);
            if self.registry.plausible(&r) {
                self.reports.insert((r.observer, r.subject, r.window), r);
                self.out
                    .push_back(Output::Publish(NetMessage::Report(Box::new(r))));
            }
        }
    }

    /// This relay's beacon duties (docs/beacon.md): as a validator of the current epoch, commit to
    /// a secret (kept durably first, so a restart can still reveal it); in the next epoch,
    /// reveal it. Commit and reveal wait in the pool (and are re-sent) until a block has them.
    pub(super) fn beacon_duties(&mut self) {
        let me = PublicKey::of(&self.key);
        let chain_id = self.ctx.chain_id().to_string();
        let epoch = self.registry.beacon_epoch();
        if self.registry.needs_commit(&me) && !self.beacon_commits.contains_key(&(epoch, me)) {
            match self.beacon_secret(epoch) {
                Ok(secret) => {
                    let (c, _) = BeaconCommit::new(&chain_id, &self.key, epoch, secret);
                    self.beacon_commits.insert((epoch, me), c);
                    self.out
                        .push_back(Output::Publish(NetMessage::BeaconCommit(Box::new(c))));
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot keep a beacon secret; not committing")
                }
            }
        }
        if let Some(e) = self.registry.reveal_due(&me)
            && !self.beacon_reveals.contains_key(&(e, me))
        {
            match self
                .store
                .read()
                .map_err(anyhow::Error::from)
                .and_then(|v| Ok(v.beacon_secret(e)?))
            {
                Ok(Some(secret)) => {
                    let (_, r) = BeaconCommit::new(&chain_id, &self.key, e, BeaconSecret(secret));
                    self.beacon_reveals.insert((e, me), r);
                    self.out
                        .push_back(Output::Publish(NetMessage::BeaconReveal(Box::new(r))));
                }
                // Lost with a wiped database: the reveal is withheld (and penalized).
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "cannot read a beacon secret"),
            }
        }
    }

    /// The secret of `epoch`: the stored one, or a fresh one stored durably.
    pub(super) fn beacon_secret(&self, epoch: u64) -> anyhow::Result<BeaconSecret> {
        if let Some(s) = self.store.read()?.beacon_secret(epoch)? {
            return Ok(BeaconSecret(s));
        }
        let mut secret = [0u8; 32];
        match &self.entropy_seed {
            // Deterministic tests only (`with_entropy_seed`): predictable to whoever knows it.
            Some(seed) => {
                let mut h = blake3::Hasher::new();
                h.update(b"trustchain/test-beacon-secret");
                h.update(seed);
                h.update(&epoch.to_be_bytes());
                secret = *h.finalize().as_bytes();
            }
            None => {
                getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?
            }
        }
        self.store.put_beacon_secret(epoch, secret)?;
        Ok(BeaconSecret(secret))
    }

    /// Re-gossips what this relay made itself and no block holds yet: its checkpoints, beacon
    /// entries and observation reports (a message published before any relay was connected is lost, and only blocks
    /// proposed elsewhere would take it).
    pub(super) fn regossip_own(&mut self) {
        let now = self.now.at;
        let stale: Vec<SignedCheckpoint> = self
            .awaiting
            .values()
            .filter(|a| now.duration_since(a.sent) >= REPLICA_RESEND)
            .filter(|a| now.duration_since(a.since) < REPLICA_TRAIL)
            .map(|a| a.cp.clone())
            .collect();
        self.awaiting
            .retain(|_, a| now.duration_since(a.since) < REPLICA_TRAIL);
        for cp in stale {
            self.replicate(cp);
        }
        let me = PublicKey::of(&self.key);
        let own: Vec<NetMessage> = self
            .pool
            .values()
            .filter(|cp| cp.signatures.iter().any(|s| s.key == me))
            .map(|cp| NetMessage::Checkpoint(Box::new(cp.clone())))
            .chain(
                self.beacon_commits
                    .values()
                    .filter(|c| c.validator == me)
                    .map(|c| NetMessage::BeaconCommit(Box::new(*c))),
            )
            .chain(
                self.beacon_reveals
                    .values()
                    .filter(|r| r.validator == me)
                    .map(|r| NetMessage::BeaconReveal(Box::new(*r))),
            )
            .chain(
                self.reports
                    .values()
                    .filter(|r| r.observer == me)
                    .map(|r| NetMessage::Report(Box::new(*r))),
            )
            .collect();
        for m in own {
            self.out.push_back(Output::Publish(m));
        }
    }

    /// Asks `peer` for blocks from `from` (at most once a second per peer unless `force`).
    pub(super) fn ask(&mut self, peer: P, from: u64, force: bool) {
        let now = self.now.at;
        if !force
            && self
                .asked
                .get(&peer)
                .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(1))
        {
            return;
        }
        self.asked.insert(peer, now);
        self.out.push_back(Output::Sync { peer, from });
    }

    /// Signs checkpoints of this relay's scenarios that grew, pools and gossips them.
    pub(super) fn scan_local(&mut self) {
        let snap = self.snap();
        let (pool, awaiting) = (&self.pool, &self.awaiting);
        let now = self.now.at;
        let during = !self.waiting;
        let signed = match sign_moved(&self.store, &snap, &self.key, self.now.wall_ms, |id| {
            // During a height, only scenarios with nothing pooled or in flight: one checkpoint
            // each, replicated while the height runs, ready for the next. (Re-signing every
            // grown scenario at every scan made 1,000 busy scenarios cost the driver 0.5 ms of
            // CPU per contract, and no block was final in the bench's 8 s window.)
            if during && (pool.contains_key(id) || awaiting.contains_key(id)) {
                return u64::MAX;
            }
            // A checkpoint still waiting for its majority is not replaced by a newer one (of a
            // grown log) until its resend is due: replacing it at every new record would start
            // a replication that the next record abandons, and none would ever finish.
            let waiting = awaiting
                .get(id)
                .filter(|a| !a.majority && now.duration_since(a.sent) < REPLICA_RESEND)
                .map_or(0, |_| u64::MAX);
            pool.get(id).map_or(0, |p| p.checkpoint.size).max(waiting)
        }) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot read scenarios to checkpoint");
                return;
            }
        };
        for cp in signed {
            self.replicate(cp);
        }
        if self.waiting && !self.pool.is_empty() {
            self.start_if_waiting();
        }
    }

    /// Sends a checkpoint of a scenario homed here to its replicas, or pools and gossips it at
    /// once when it needs no other signature (a network smaller than a replica set's quorum).
    pub(super) fn replicate(&mut self, mut cp: SignedCheckpoint) {
        let snap = self.snap();
        let me = PublicKey::of(&self.key);
        let replicas = replicas_of(
            self.registry.places(),
            &snap.next_validators,
            &cp.checkpoint.scenario,
            &me,
        );
        // The replica set may have changed since the last send (an epoch change).
        cp.signatures
            .retain(|s| s.key == me || replicas.contains(&s.key));
        let missing: Vec<PublicKey> = replicas
            .iter()
            .filter(|r| !cp.signatures.iter().any(|s| s.key == **r))
            .copied()
            .collect();
        if !missing.is_empty() {
            self.out.push_back(Output::Replicate {
                checkpoint: cp.checkpoint.clone(),
                replicas: missing.clone(),
            });
        }
        let majority = cp.signatures.len() >= needed(replicas.len());
        if majority {
            self.pool_signed(&cp);
        }
        let id = cp.checkpoint.scenario.clone();
        if missing.is_empty() {
            self.awaiting.remove(&id);
            return;
        }
        let now = self.now.at;
        let since = match self.awaiting.get(&id) {
            Some(a) if a.cp.checkpoint == cp.checkpoint => a.since,
            _ => now,
        };
        self.awaiting.insert(
            id,
            Awaiting {
                cp,
                replicas,
                sent: now,
                since,
                majority,
            },
        );
    }

    /// Pools and gossips a checkpoint of ours that has its majority, unless a checkpoint as
    /// large is pooled or anchored.
    pub(super) fn pool_signed(&mut self, cp: &SignedCheckpoint) {
        if self.pool_insert(cp.clone(), true) {
            self.out
                .push_back(Output::Publish(NetMessage::Checkpoint(Box::new(
                    cp.clone(),
                ))));
        }
    }

    /// A replica's signature on a checkpoint waiting here: added; with enough, the checkpoint
    /// is pooled and gossiped.
    pub(super) fn replica_signed(&mut self, checkpoint: Checkpoint, signature: ReplicaSignature) {
        let Some(a) = self.awaiting.get_mut(&checkpoint.scenario) else {
            return;
        };
        if a.cp.checkpoint != checkpoint || !a.replicas.contains(&signature.key) {
            return;
        }
        let sigs = &mut a.cp.signatures;
        if let Err(i) = sigs.binary_search_by_key(&signature.key, |s| s.key) {
            sigs.insert(i, signature);
        }
        let (enough, all) = (
            sigs.len() >= needed(a.replicas.len()),
            sigs.len() > a.replicas.len(),
        );
        a.majority |= enough;
        let cp = a.cp.clone();
        if all {
            self.awaiting.remove(&checkpoint.scenario);
        }
        if enough {
            self.pool_signed(&cp);
            if self.waiting && !self.pool.is_empty() {
                self.start_if_waiting();
            }
        }
    }
}
