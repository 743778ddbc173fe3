//! The simulated world: delivering messages and timeouts to the nodes, executing their actions,
//! faults, and the checks made as decisions arrive.

use super::*;

impl Sim {
    pub(super) fn run(&mut self) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].fault != Fault::Crashed {
                let set = self.set.clone();
                let actions = self.nodes[i].core.start_height(Height(1), set);
                self.execute(i, actions);
            }
        }
        if let Some(period) = self.cfg.retransmit_ms {
            for node in 0..self.nodes.len() {
                self.push(period, Event::Retransmit { node });
            }
        }
        for c in self.cfg.crashes.clone() {
            let down_ms = c.down_ms;
            self.push(
                c.at_ms,
                Event::Crash {
                    node: c.node,
                    down_ms,
                },
            );
        }
        while !self.all_honest_done() {
            let Some(((at, _), event)) = self.queue.pop_first() else {
                break;
            };
            if at > self.cfg.max_time_ms {
                break;
            }
            self.now = at;
            match event {
                Event::Deliver { from, to, msg } => self.deliver(from, to, msg),
                Event::Timer { node, key, id } => {
                    let n = &mut self.nodes[node];
                    if let Some(&(timeout, live)) = n.timers.get(&key)
                        && live == id
                    {
                        n.timers.remove(&key);
                        self.counts.timeouts[key.0 as usize] += 1;
                        let actions = n.core.timeout_elapsed(timeout);
                        self.execute(node, actions);
                    }
                }
                Event::Crash { node, down_ms } => self.crash(node, down_ms),
                Event::Restart { node } => self.restart(node),
                Event::Retransmit { node } => self.retransmit(node),
            }
        }
    }

    pub(super) fn all_honest_done(&self) -> bool {
        self.nodes
            .iter()
            .filter(|n| n.fault == Fault::Honest)
            .all(|n| n.done)
    }

    pub(super) fn push(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    /// Executes `actions` of node `i` in order; actions of follow-up steps (a proposal, the next
    /// height) run after them, as a real caller would.
    pub(super) fn execute(&mut self, i: usize, actions: Vec<Action>) {
        self.execute_as(i, actions, false);
    }

    /// [`Self::execute`], or, with `replay`, the actions of a WAL replay: nothing is appended
    /// or sent (what is signed is still recorded), timers are armed, and requests for a value
    /// are returned to be answered once the replay is over.
    pub(super) fn execute_as(
        &mut self,
        i: usize,
        actions: Vec<Action>,
        replay: bool,
    ) -> Vec<(Height, Round)> {
        let mut deferred = Vec::new();
        let h = self.nodes[i].core.height().0;
        // (height of the step that produced it, produced by a replayed input, action)
        let mut work: VecDeque<(u64, bool, Action)> =
            actions.into_iter().map(|a| (h, replay, a)).collect();
        while let Some((height, replay, action)) = work.pop_front() {
            match action {
                Action::WalAppend(entry) => {
                    if !replay {
                        self.counts.wal += 1;
                        self.nodes[i].unflushed.push((height, entry));
                    }
                }
                Action::Publish(msg) => {
                    self.note_signed(i, &msg);
                    if !replay {
                        self.flush(i);
                        self.broadcast(i, Msg::Consensus(msg));
                    }
                }
                Action::PublishLiveness(msg) => {
                    if !replay {
                        self.flush(i);
                        self.broadcast(i, Msg::Liveness(msg));
                    }
                }
                Action::ScheduleTimeout { timeout, after_ms } => {
                    self.seq += 1;
                    let id = self.seq;
                    let key = timer_key(timeout);
                    self.nodes[i].timers.insert(key, (timeout, id));
                    self.push(self.now + after_ms, Event::Timer { node: i, key, id });
                }
                Action::CancelTimeout(t) => {
                    self.nodes[i].timers.remove(&timer_key(t));
                }
                Action::CancelAllTimeouts => self.nodes[i].timers.clear(),
                Action::RoundStarted { round, .. } => {
                    // Malachite's engine flushes here too.
                    if !replay {
                        self.flush(i);
                    }
                    self.max_round = self.max_round.max(round.as_u32().unwrap_or(0));
                }
                Action::NeedValue { height, round, .. } if replay => {
                    deferred.push((height, round));
                }
                Action::NeedValue { height, round, .. } => {
                    let next = self.propose(i, height, round);
                    let h = self.nodes[i].core.height().0;
                    work.extend(next.into_iter().map(|a| (h, false, a)));
                }
                Action::Decided(decision) => {
                    if let Some(next) = self.record(i, *decision, false) {
                        let h = self.nodes[i].core.height().0;
                        work.extend(next.into_iter().map(|a| (h, false, a)));
                    }
                }
                Action::Failed(e) => {
                    if self.nodes[i].fault == Fault::Honest {
                        self.failures
                            .push(format!("node {i} at {} ms: {e}", self.now));
                    }
                }
            }
        }
        if self.nodes[i].fault == Fault::Honest {
            let addrs = self.nodes[i].core.equivocators();
            for a in addrs {
                if let Some(p) = self.set.core().index_of(&a.0) {
                    self.equivocators_seen.insert(p as usize);
                }
            }
        }
        deferred
    }

    /// Node `i` builds its block for `(height, round)` and hands it to its core.
    pub(super) fn propose(&mut self, i: usize, height: Height, round: Round) -> Vec<Action> {
        let header = self.build(i, height.0, round.as_u32().unwrap_or(0));
        let n = &mut self.nodes[i];
        n.headers.insert(BlockId(header.hash()), header.clone());
        n.core.propose(height, round, BlockValue::new(header))
    }

    /// Makes node `i`'s appended WAL entries durable.
    pub(super) fn flush(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        n.wal.append(&mut n.unflushed);
    }

    /// Notes a message node `i`'s core signed; a different one for the same (height, round,
    /// kind) is a self-equivocation.
    pub(super) fn note_signed(&mut self, i: usize, msg: &SignedConsensusMsg<TrustchainContext>) {
        let (key, value) = signed_key(msg);
        let now = self.now;
        let n = &mut self.nodes[i];
        match n.signed.get(&key) {
            None => {
                n.signed.insert(key, value);
            }
            Some(earlier) if *earlier != value => n.self_equivocations.push(format!(
                "node {i} at {now} ms: (height, round, kind) {key:?} signed {earlier:?}, then {value:?}"
            )),
            Some(_) => {}
        }
    }

    /// Retransmission tick of node `i` (see [`SimConfig::retransmit_ms`]): re-sends its
    /// current round's votes if it made no progress since the previous tick.
    pub(super) fn retransmit(&mut self, i: usize) {
        let Some(period) = self.cfg.retransmit_ms else {
            return;
        };
        self.push(self.now + period, Event::Retransmit { node: i });
        let n = &mut self.nodes[i];
        if !n.up || n.done || n.fault == Fault::Crashed {
            n.last_tick = None;
            return;
        }
        let position = (n.core.height().0, n.core.round().as_u32());
        if n.last_tick.replace(position) != Some(position) {
            return;
        }
        let msgs = n.core.retransmission();
        if !msgs.is_empty() {
            self.counts.retransmissions += 1;
            self.flush(i);
        }
        for msg in msgs {
            self.broadcast(i, Msg::Liveness(msg));
        }
    }

    /// Node `i` crashes: it loses its timers, unflushed WAL entries and in-memory state (its
    /// core is replaced on restart); its decisions and durable WAL survive.
    pub(super) fn crash(&mut self, i: usize, down_ms: u64) {
        let n = &mut self.nodes[i];
        if !n.up || n.fault == Fault::Crashed {
            return;
        }
        n.up = false;
        self.counts.wal_lost += n.unflushed.len() as u64;
        n.unflushed.clear();
        n.timers.clear();
        n.headers.clear();
        self.push(self.now + down_ms, Event::Restart { node: i });
    }

    /// Node `i` restarts: a fresh core at the height after its last decision, which replays
    /// the durable WAL entries of that height (docs/consensus.md §2.2) unless
    /// [`SimConfig::wal_replay`] is off.
    pub(super) fn restart(&mut self, i: usize) {
        self.counts.restarts += 1;
        let n = &mut self.nodes[i];
        n.up = true;
        if n.done {
            return;
        }
        let height = n.decided.keys().next_back().map_or(1, |h| h + 1);
        self.counts.dropped.add(n.core.dropped());
        n.core = new_core(&self.cfg, &self.ctx, &n.key, &self.set, height);
        let replay = self.cfg.wal_replay;
        let entries: Vec<_> = match replay {
            true => n
                .wal
                .iter()
                .filter(|(h, _)| *h == height)
                .map(|(_, e)| e.clone())
                .collect(),
            false => Vec::new(),
        };
        let actions = n.core.start_height(Height(height), self.set.clone());
        let mut deferred = self.execute_as(i, actions, replay);
        for entry in entries {
            self.counts.replayed += 1;
            let actions = self.nodes[i].core.replay(entry);
            deferred.extend(self.execute_as(i, actions, true));
        }
        // Asked for a value during the replay: propose now if still in that round (if the
        // replay showed we proposed already, malachite ignores the new value).
        for (height, round) in deferred {
            let core = &self.nodes[i].core;
            if !self.nodes[i].done && core.height() == height && core.round() == round {
                let actions = self.propose(i, height, round);
                self.execute(i, actions);
            }
        }
    }

    /// Records node `i`'s decision (its WAL flushed first, then pruned up to the decided
    /// height) and starts its next height (returned), or stops it after the last one.
    pub(super) fn record(
        &mut self,
        i: usize,
        decision: Decision,
        synced: bool,
    ) -> Option<Vec<Action>> {
        let height = decision.header.height;
        self.flush(i);
        let node = &mut self.nodes[i];
        node.wal.retain(|(h, _)| *h > height);
        let previous = node.decided.insert(
            height,
            NodeDecision {
                decision,
                at_ms: self.now,
                synced,
            },
        );
        assert!(previous.is_none(), "node {i} decided height {height} twice");
        if height >= self.cfg.heights {
            node.done = true;
            node.timers.clear();
            return None;
        }
        Some(node.core.start_height(Height(height + 1), self.set.clone()))
    }

    /// The header node `i` proposes at `(height, round)`: on top of its own chain, stamped with
    /// the virtual clock, its anchor root naming proposer and round (so every proposal differs).
    pub(super) fn build(&self, i: usize, height: u64, round: u32) -> BlockHeader {
        let prev = match height.checked_sub(1) {
            Some(h) if h > 0 => self.nodes[i].decided[&h].decision.header.hash(),
            _ => Hash::ZERO,
        };
        let mut tag = Vec::new();
        tag.extend_from_slice(&(i as u64).to_le_bytes());
        tag.extend_from_slice(&height.to_le_bytes());
        tag.extend_from_slice(&round.to_le_bytes());
        let core = self.set.core();
        BlockHeader {
            chain_id: CHAIN.into(),
            height,
            epoch: core.epoch,
            prev,
            time_ms: GENESIS_MS + self.now,
            anchor_root: Hash(*blake3::hash(&tag).as_bytes()),
            moved: 0,
            body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
            validators_hash: core.hash(),
            next_validators_hash: core.hash(),
        }
    }

    /// Sends `msg` from `from` to every other node, through `from`'s fault.
    pub(super) fn broadcast(&mut self, from: usize, msg: Msg) {
        match self.nodes[from].fault {
            Fault::Crashed => return,
            Fault::WithholdPrecommits if is_precommit(&msg) => return,
            _ => {}
        }
        for to in 0..self.nodes.len() {
            if to == from {
                continue;
            }
            let msg = if self.nodes[from].fault == Fault::Equivocate {
                self.equivocate(from, to, &msg)
            } else {
                msg.clone()
            };
            self.send(from, to, msg);
        }
    }

    /// One message on the wire: counted, then lost or delivered after a random delay.
    pub(super) fn send(&mut self, from: usize, to: usize, msg: Msg) {
        match &msg {
            Msg::Consensus(SignedConsensusMsg::Proposal(_)) => self.counts.proposals += 1,
            Msg::Consensus(SignedConsensusMsg::Vote(_)) => self.counts.votes += 1,
            Msg::Liveness(_) => self.counts.liveness += 1,
            Msg::Decided(_) => self.counts.sync += 1,
        }
        if self.rng.range(0, 999_999) < self.cfg.loss_ppm as u64 {
            self.counts.lost += 1;
            return;
        }
        let (lo, hi) = self.cfg.delay_ms;
        let at = self.now + self.rng.range(lo, hi);
        self.push(at, Event::Deliver { from, to, msg });
    }

    /// What equivocator `from` sends `to`: its real message to even positions, the twin's to
    /// odd ones (see [`Fault::Equivocate`]).
    pub(super) fn equivocate(&mut self, from: usize, to: usize, msg: &Msg) -> Msg {
        let group = (to % 2) as u64;
        let node = &self.nodes[from];
        match msg {
            Msg::Consensus(SignedConsensusMsg::Proposal(p)) => {
                let twin = twin(p.value.header(), group);
                if twin.hash() == p.value.header().hash() {
                    return msg.clone();
                }
                let proposal = self.ctx.new_proposal(
                    p.height,
                    p.round,
                    BlockValue::new(twin),
                    p.pol_round,
                    p.proposer,
                );
                Msg::Consensus(SignedConsensusMsg::Proposal(
                    node.signer.sign_proposal(proposal),
                ))
            }
            Msg::Consensus(SignedConsensusMsg::Vote(v)) | Msg::Liveness(LivenessMsg::Vote(v)) => {
                let NilOrVal::Val(id) = v.value else {
                    return msg.clone();
                };
                let other = match node.headers.get(&id) {
                    Some(h) => BlockId(twin(h, group).hash()),
                    // A block it never saw: the real id to one group, a made-up one to the other.
                    None if group == 0 => id,
                    None => BlockId(Hash(*blake3::hash(id.0.as_bytes()).as_bytes())),
                };
                if other == id {
                    return msg.clone();
                }
                let mut vote = v.message.clone();
                vote.value = NilOrVal::Val(other);
                let signed = node.signer.sign_vote(vote);
                match msg {
                    Msg::Liveness(_) => Msg::Liveness(LivenessMsg::Vote(signed)),
                    _ => Msg::Consensus(SignedConsensusMsg::Vote(signed)),
                }
            }
            _ => msg.clone(),
        }
    }

    pub(super) fn deliver(&mut self, from: usize, to: usize, msg: Msg) {
        let node = &mut self.nodes[to];
        if node.fault == Fault::Crashed || !node.up {
            return;
        }
        self.counts.delivered += 1;
        let height = msg.height();
        let current = if node.done {
            self.cfg.heights + 1
        } else {
            node.core.height().0
        };
        if let Msg::Decided(d) = msg {
            // Catch-up: only the height in progress, only with a valid certificate.
            if height == current
                && d.certificate.height == height
                && d.certificate.verify(&d.header, self.set.core()).is_ok()
                && let Some(next) = self.record(to, *d, true)
            {
                self.execute(to, next);
            }
            return;
        }
        if height < current {
            // A republished vote of a decided height: the sender is stuck there.
            if let Msg::Liveness(LivenessMsg::Vote(_)) = msg
                && let Some(d) = node.decided.get(&height)
            {
                let answer = Msg::Decided(Box::new(d.decision.clone()));
                self.send(to, from, answer);
            }
            return;
        }
        if height > current + 1 {
            self.counts.too_far_ahead += 1;
            return;
        }
        let actions = match msg {
            Msg::Consensus(m) => {
                if let SignedConsensusMsg::Proposal(p) = &m {
                    node.headers
                        .insert(mc::Value::id(&p.value), p.value.header().clone());
                }
                node.core.receive(m)
            }
            Msg::Liveness(m) => node.core.receive_liveness(m),
            Msg::Decided(_) => unreachable!("handled above"),
        };
        self.execute(to, actions);
    }
}

pub(super) fn is_precommit(msg: &Msg) -> bool {
    match msg {
        Msg::Consensus(SignedConsensusMsg::Vote(v)) | Msg::Liveness(LivenessMsg::Vote(v)) => {
            v.kind == VoteType::Precommit
        }
        _ => false,
    }
}

/// The member of the twin pair `{header, header with time_ms's low bit flipped}` shown to peer
/// group `group` (its `time_ms` has low bit `group`).
pub(super) fn twin(header: &BlockHeader, group: u64) -> BlockHeader {
    let mut h = header.clone();
    h.time_ms = (h.time_ms & !1) | group;
    h
}
