//! Heights: starting one, proposing, executing the consensus core's actions and its WAL, making
//! a block final, syncing from other relays, and the periodic work of [`Machine::handle_timeout`].

use super::*;

impl<P: Peer> Machine<P> {
    pub(super) fn on_synced(&mut self, from: P, blocks: Vec<FinalBlock>) {
        let full = blocks.len() as u32 >= MAX_SYNC_BLOCKS;
        for fb in blocks {
            let h = fb.block.header.height;
            let next = self.next_height();
            if h < next {
                continue;
            }
            if h > next || !self.apply_final(fb, false) {
                break;
            }
        }
        if full {
            let next = self.next_height();
            self.ask(from, next, true);
        } else if !self.synced {
            tracing::info!(height = self.next_height() - 1, %from, "synced with a relay; voting");
            self.synced = true;
        }
    }

    /// Makes a final block the head: checked (unless this node decided it), written with the WAL
    /// of its height removed, snapshot swapped, pool trimmed; a block we decided is gossiped.
    /// Returns whether the block was applied.
    pub(super) fn apply_final(&mut self, fb: FinalBlock, decided_here: bool) -> bool {
        let snap = self.snap();
        let checked = if decided_here {
            validate_block(
                &snap,
                Some(&self.registry),
                &fb.block.header,
                &fb.body,
                None,
                Some(&self.pool),
            )
        } else {
            validate_final(
                &snap,
                Some(&self.registry),
                &fb.block.header,
                &fb.block.certificate,
                &fb.body,
                Some(&self.pool),
            )
        };
        let checked = match checked {
            Ok(c) => c,
            Err(e) => {
                if decided_here {
                    // The state machine decided a block this relay validated as a proposal (or
                    // built); it cannot become invalid. Log loudly rather than diverge.
                    tracing::error!(error = %e, "a decided block fails validation");
                }
                self.refuse("final block", e);
                return false;
            }
        };
        let set = checked.next_validators.clone();
        let height = fb.block.header.height;
        let included: std::collections::BTreeSet<_> = fb
            .body
            .reports
            .iter()
            .map(|r| (r.observer, r.subject, r.window))
            .collect();
        // Our own WAL rows of this height must not outlive the block in a later replay.
        if let Err(e) = self.flush_wal(false) {
            tracing::error!(error = %e, "consensus WAL write failed");
        }
        let next = match commit_block(
            &self.store,
            &snap,
            fb.block.clone(),
            fb.body.clone(),
            set.clone(),
            Some(height + 1),
        ) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(height, error = %e, "cannot commit a final block");
                return false;
            }
        };
        self.snapshot.send_replace(Arc::new(next));
        self.validated.clear();
        if let Some(r) = checked.registry {
            self.registry = r;
        }
        let epoch_changed = set.epoch != self.epoch.core().epoch;
        if epoch_changed {
            // The new epoch's leaders follow the beacon value this block finished.
            match EpochSet::new(set.clone(), self.registry.seed()) {
                Ok(e) => {
                    tracing::info!(
                        epoch = set.epoch,
                        validators = set.validators.len(),
                        height,
                        "epoch change"
                    );
                    for (k, n) in self.registry.state().nodes() {
                        tracing::debug!(
                            node = %k,
                            confirmed = n.confirmed,
                            up = n.up_windows,
                            down = n.down_windows,
                            unobserved = n.unobserved_windows,
                            runtime_mw = n.runtime_mw,
                            "PoSR"
                        );
                    }
                    self.epoch = e;
                    self.publish_weights();
                }
                Err(e) => tracing::error!(error = %e, "the new validator set is unusable"),
            }
        }
        self.metrics.head_height.set(height);
        self.metrics.blocks.add(1);
        if decided_here {
            self.metrics.consensus_decided.add(1);
            self.out
                .push_back(Output::Publish(NetMessage::Block(Box::new(fb))));
        } else {
            self.metrics.blocks_synced.add(1);
            // Our state machine was still in this height: begin the next one afresh.
            self.core = ConsensusCore::new(
                self.ctx.clone(),
                self.key.clone(),
                self.epoch.clone(),
                Height(height + 1),
                self.cfg.timeouts,
            );
        }
        tracing::debug!(height, here = decided_here, "block final");
        let snap = self.snap();
        let anchored = |id: &ScenarioId| snap.checkpoints.get(id).map_or(0, |a| a.checkpoint.size);
        let registry = &self.registry;
        // At an epoch change a replica set may change: a pooled checkpoint that the new set's
        // placement refuses is dropped (its home signs a new one). Only then: checking every
        // pooled checkpoint's signatures after every block cost 1,000 busy scenarios about
        // 0.2 s of the driver per block.
        // A checkpoint whose link no longer starts at the anchored size (another checkpoint of
        // its scenario was anchored) is dropped too: its home signs a new one from there.
        self.pool.retain(|_, cp| {
            links_to(&snap, cp)
                && (!epoch_changed
                    || check_checkpoint(&snap, &snap.next_validators, Some(registry), cp, true)
                        .is_ok())
        });
        // Checkpoints that arrived a block early: those that link now are pooled (their
        // signatures were verified on arrival), the others wait a few blocks more.
        let arrived_early = std::mem::take(&mut self.early);
        for (_, (cp, at)) in arrived_early {
            if height.saturating_sub(at) > EARLY_BLOCKS {
                continue;
            }
            if links_to(&snap, &cp) {
                self.pool_insert(cp, true);
            } else {
                self.early.insert(cp.checkpoint.scenario.clone(), (cp, at));
            }
        }
        // An anchored checkpoint still goes to the replicas that did not sign it, for a while;
        // one still waiting for its majority whose link went stale is dropped (re-signed).
        let now = self.now.at;
        self.awaiting.retain(|id, a| {
            if a.cp.checkpoint.size > anchored(id) {
                links_to(&snap, &a.cp)
            } else {
                now.duration_since(a.since) < REPLICA_TRAIL
            }
        });
        let registry = &self.registry;
        self.reports
            .retain(|k, r| !included.contains(k) && registry.plausible_pooled(r));
        self.beacon_commits.retain(|_, c| registry.admits_commit(c));
        self.beacon_reveals.retain(|_, r| registry.admits_reveal(r));
        self.future_proposals.retain(|p| p.height.0 == height + 1);
        self.timers.clear();
        self.my_proposal = None;
        self.waiting = true;
        self.head_at = self.now.at;
        // Checkpoint what grew during the height at the next tick, right after this input.
        self.next_scan = self.head_at;
        true
    }

    /// Starts the next height now if it has not started (and this relay may vote).
    pub(super) fn start_if_waiting(&mut self) {
        if !self.waiting || !self.synced {
            return;
        }
        self.waiting = false;
        self.height_started = self.now.at;
        let next = self.next_height();
        let actions = self.core.start_height(Height(next), self.epoch.clone());
        self.run(actions, false);
        let proposals = std::mem::take(&mut self.future_proposals);
        for p in proposals {
            if p.height.0 == next {
                self.feed_proposal(p);
            }
        }
    }

    /// Periodic work: checkpoint local scenarios, start an idle height, retransmit.
    pub(super) fn tick(&mut self) {
        let now = self.now.at;
        if !self.synced && now.duration_since(self.started) >= self.cfg.sync_grace {
            tracing::warn!("no relay answered a sync; voting from the local chain");
            self.synced = true;
        }
        if now >= self.next_scan {
            self.next_scan = now + self.cfg.checkpoint_delay;
            // Checkpoints are signed during a height too, for scenarios with none pooled or in
            // flight: a replica's round trip then overlaps the height, and the checkpoint is
            // ready when the next one starts (see `scan_local`).
            self.scan_local();
            self.beacon_duties();
            if self.waiting
                && (!self.pool.is_empty()
                    || self.registry.epoch_due(self.now.wall_ms)
                    || self
                        .reports
                        .values()
                        .any(|r| self.registry.admits_pooled(r))
                    || now.duration_since(self.head_at) >= self.cfg.idle_block)
            {
                self.start_if_waiting();
            }
        }
        if now >= self.next_retransmit {
            self.next_retransmit = now + self.cfg.retransmit;
            self.retransmit();
        }
        if now >= self.next_regossip {
            self.next_regossip = now + Duration::from_secs(1);
            self.regossip_own();
        }
        let stalled_for = if self.waiting {
            now.duration_since(self.head_at)
                .saturating_sub(self.cfg.idle_block)
        } else {
            now.duration_since(self.height_started)
        };
        let stalled = stalled_for > STALL_POLL;
        if stalled_for > STALL_RECONNECT
            && now.duration_since(self.reconnected) >= STALL_RECONNECT
            && !self.peers.is_empty()
        {
            self.reconnected = now;
            tracing::warn!(
                height = self.next_height(),
                stalled_s = stalled_for.as_secs(),
                "no progress; dropping and redialing the relay connections"
            );
            self.metrics.reconnects.add(1);
            self.out.push_back(Output::Reconnect);
        }
        if stalled && now.duration_since(self.polled) >= STALL_POLL / 2 && !self.peers.is_empty() {
            self.polled = now;
            // Each poll asks the next relay in turn.
            self.peers.rotate_left(1);
            let (peer, next) = (self.peers[0], self.next_height());
            self.ask(peer, next, true);
        }
    }

    /// Sends again what a stalled round needs from us; while waiting, the head block (for relays
    /// that missed it) and the pool (for proposers that missed a checkpoint).
    pub(super) fn retransmit(&mut self) {
        if self.waiting {
            return;
        }
        for m in self.core.retransmission() {
            self.out.push_back(Output::Publish(NetMessage::Liveness(m)));
        }
        if let Some(p) = &self.my_proposal
            && p.height == self.core.height()
            && p.round == self.core.round()
        {
            self.out.push_back(Output::Publish(NetMessage::Consensus(
                SignedConsensusMsg::Proposal(p.clone()),
            )));
        }
        // A round that lasts: the previous block may not have reached everyone. Once a second:
        // retransmission runs every 200 ms, and a block is the largest message there is.
        // (Checkpoints, reports and beacon entries are re-gossiped by the relay that made them,
        // in `regossip_own`: re-sending the whole pool of every relay here, every 200 ms, was a
        // storm once a stall let reports pile up — 750 messages a second from one relay after
        // a 2|2 split, which filled gossip's send queues and dropped the votes that would have
        // ended the stall.)
        let now = self.now.at;
        if self.core.round().as_u32().unwrap_or(0) > 0 && now >= self.next_block_resend {
            self.next_block_resend = now + Duration::from_secs(1);
            let snap = self.snap();
            let height = snap.head.header.height;
            if height > 0
                && let Ok(body) = self.store.read().and_then(|v| v.body(height))
            {
                let fb = FinalBlock {
                    block: snap.head.clone(),
                    body: body.unwrap_or_default(),
                };
                self.out
                    .push_back(Output::Publish(NetMessage::Block(Box::new(fb))));
            }
        }
    }

    pub(super) fn fire_timers(&mut self) {
        let now = self.now.at;
        let mut due: Vec<(Instant, Timeout)> = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(t, at)| (*at, *t))
            .collect();
        // Same deadline: in round and step order, so that a run replays exactly.
        due.sort_by_key(|(at, t)| (*at, t.round.as_i64(), t.kind as u8));
        for (_, t) in due {
            if self.timers.remove(&t).is_some() {
                let actions = self.core.timeout_elapsed(t);
                self.run(actions, false);
            }
        }
    }

    /// Builds the block to propose: every pooled checkpoint that grows its scenario.
    pub(super) fn propose(
        &mut self,
        height: Height,
        round: Round,
    ) -> Vec<crate::consensus::Action> {
        let snap = self.snap();
        let checkpoints: Vec<SignedCheckpoint> = self
            .pool
            .values()
            .filter(|cp| links_to(&snap, cp))
            .take(MAX_BODY_CHECKPOINTS as usize)
            .cloned()
            .collect();
        let reports: Vec<ObservationReport> = self
            .reports
            .values()
            .filter(|r| self.registry.admits_pooled(r))
            .take(MAX_BODY_REPORTS as usize)
            .copied()
            .collect();
        let time_ms = self.now.wall_ms.max(snap.head.header.time_ms);
        let registry = &self.registry;
        let mut body = BlockBody {
            checkpoints,
            reports,
            beacon_commits: self
                .beacon_commits
                .values()
                .filter(|c| registry.admits_commit(c))
                .copied()
                .collect(),
            beacon_reveals: self
                .beacon_reveals
                .values()
                .filter(|r| registry.admits_reveal(r))
                .copied()
                .collect(),
            beacon_round: None,
        };
        if let Some(m) = self.cfg.misbehave
            && let Some(forged) = m.forge(
                &self.store,
                &snap,
                &self.key,
                height.0 + u64::from(round.as_u32().unwrap_or(0)),
            )
        {
            tracing::warn!(scenario = %forged.checkpoint.scenario, size = forged.checkpoint.size, "misbehaving: proposing a forged checkpoint");
            body.checkpoints
                .retain(|c| c.checkpoint.scenario != forged.checkpoint.scenario);
            self.out
                .push_back(Output::Publish(NetMessage::Checkpoint(Box::new(
                    forged.clone(),
                ))));
            body.checkpoints.push(forged);
            body.checkpoints
                .sort_by(|a, b| a.checkpoint.scenario.cmp(&b.checkpoint.scenario));
        }
        // A body must fit the limits it is decoded under — gossip's and the store's (1 MiB): a
        // block of 4,096 checkpoints with long consistency proofs would not, and could then be
        // neither sent nor read back. The checkpoints past the budget wait for the next block.
        let mut size = body.to_bytes().len();
        while size > MAX_BODY_BYTES
            && let Some(cp) = body.checkpoints.pop()
        {
            size -= cp.to_bytes().len();
        }
        let applied = match self
            .registry
            .clone()
            .apply(time_ms, &body, &snap.next_validators)
        {
            Ok(a) => a,
            Err(e) => {
                // Pooled entries the registry refuses together: propose without them.
                tracing::warn!(error = %e, "proposing without registry and beacon entries");
                body.reports.clear();
                body.beacon_commits.clear();
                body.beacon_reveals.clear();
                self.registry
                    .clone()
                    .apply(time_ms, &body, &snap.next_validators)
                    .unwrap_or_default()
            }
        };
        body.beacon_round = applied.round;
        let after = applied.next.unwrap_or_else(|| snap.next_validators.clone());
        let header = next_header(&snap, &body, time_ms, &after);
        self.core
            .propose(height, round, BlockValue::with_body(header, body))
    }

    /// Executes `actions` in order (see [`ConsensusCore`]'s execution rules). With `replay`,
    /// nothing is appended or sent, and requests for a value are returned instead of answered.
    pub(super) fn run(&mut self, actions: Vec<Action>, replay: bool) -> Vec<(Height, Round)> {
        let mut deferred = Vec::new();
        let mut work: VecDeque<Action> = actions.into();
        while let Some(action) = work.pop_front() {
            match action {
                Action::WalAppend(entry) => {
                    if !replay {
                        let h = self.core.height().0;
                        self.wal_pending.push((h, WalRecord(entry).to_bytes()));
                    }
                }
                Action::Publish(msg) => {
                    if replay {
                        continue;
                    }
                    if let Err(e) = self.flush_wal(true) {
                        // Never publish what the WAL does not hold.
                        tracing::error!(error = %e, "consensus WAL write failed; not publishing");
                        continue;
                    }
                    if let SignedConsensusMsg::Proposal(p) = &msg {
                        self.my_proposal = Some(p.clone());
                    }
                    self.out
                        .push_back(Output::Publish(NetMessage::Consensus(msg)));
                }
                Action::PublishLiveness(msg) => {
                    if replay {
                        continue;
                    }
                    if let Err(e) = self.flush_wal(true) {
                        tracing::error!(error = %e, "consensus WAL write failed; not publishing");
                        continue;
                    }
                    self.out
                        .push_back(Output::Publish(NetMessage::Liveness(msg)));
                }
                Action::ScheduleTimeout { timeout, after_ms } => {
                    self.timers
                        .insert(timeout, self.now.at + Duration::from_millis(after_ms));
                }
                Action::CancelTimeout(t) => {
                    self.timers.remove(&t);
                }
                Action::CancelAllTimeouts => self.timers.clear(),
                Action::RoundStarted { height, round, .. } => {
                    self.metrics
                        .consensus_round
                        .set(round.as_u32().unwrap_or(0) as u64);
                    if round.as_u32().unwrap_or(0) > 0 {
                        tracing::info!(height = height.0, round = %round, "consensus round");
                    }
                }
                Action::NeedValue { height, round, .. } => {
                    if replay {
                        deferred.push((height, round));
                    } else {
                        work.extend(self.propose(height, round));
                    }
                }
                Action::Decided(decision) => {
                    let Decision {
                        header,
                        body,
                        certificate,
                    } = *decision;
                    let fb = FinalBlock {
                        block: StoredBlock {
                            header,
                            certificate,
                        },
                        body,
                    };
                    self.apply_final(fb, true);
                }
                Action::Failed(e) => tracing::warn!(error = %e, "consensus step failed"),
            }
        }
        if !replay && let Err(e) = self.flush_wal(false) {
            tracing::error!(error = %e, "consensus WAL write failed");
        }
        deferred
    }

    /// Writes pending WAL rows; `durable` forces an `fsync` (also of earlier lazy writes).
    pub(super) fn flush_wal(&mut self, durable: bool) -> anyhow::Result<()> {
        if self.wal_pending.is_empty() && !(durable && self.wal_lazy) {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.wal_pending);
        self.wal_seq = self.store.append_wal(rows, self.wal_seq, durable)?;
        self.wal_lazy = !durable;
        Ok(())
    }

    /// Sets the weight metrics from the current set.
    pub fn publish_weights(&self) {
        let me = PublicKey::of(&self.key);
        let set = self.epoch.core();
        let weight = set
            .validators
            .iter()
            .find(|v| v.key == me)
            .map_or(0, |v| v.weight);
        self.metrics.validator_weight.set(weight);
        self.metrics
            .total_weight
            .set(u64::try_from(set.total_weight()).unwrap_or(u64::MAX));
        if self.overlay.borrow().epoch != set.epoch || self.overlay.borrow().regions.is_empty() {
            let o = Overlay::of(self.registry.places(), set, self.registry.seed());
            self.metrics.hub.set(u64::from(o.is_hub(&me)));
            tracing::info!(
                epoch = o.epoch,
                hub = o.is_hub(&me),
                hubs = ?o.regions.iter().map(|(r, g)| (r.as_str(), g.hubs.len())).collect::<Vec<_>>(),
                "P2PT overlay"
            );
            self.overlay.send_replace(Arc::new(o));
        }
    }

    /// This relay's validator key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::of(&self.key)
    }
}
