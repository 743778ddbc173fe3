//! The home side of replication: one stream of entries in flight per replica and scenario.

use super::*;

/// A home's replication to one replica of one scenario.
pub(crate) type Slot = (
    trustchain_core::crypto::PublicKey,
    trustchain_core::encoding::value::ScenarioId,
);

/// The home side of `/trustchain/replica/1`: at most one request per replica and scenario is in
/// flight; a newer checkpoint waits (the newest only) until it is answered. (One request per
/// checkpoint, unbounded, flooded a replica's streams under load — "Dropping inbound stream
/// because we are at capacity" — and out-of-order appends only earned `Need` answers.)
#[derive(Default)]
pub(crate) struct Replicating {
    /// Requests in flight: their slot and checkpoint.
    pub(crate) sent:
        std::collections::HashMap<request_response::OutboundRequestId, (Slot, Checkpoint)>,
    /// Slots with a request in flight.
    pub(crate) busy: std::collections::HashSet<Slot>,
    /// The newest checkpoint waiting for its slot.
    pub(crate) queued: std::collections::HashMap<Slot, Checkpoint>,
    /// How many entries each replica is known to hold.
    pub(crate) sizes: std::collections::HashMap<Slot, u64>,
}

impl Replicating {
    /// Sends `cp` to the replica `key` from what it is known to hold (or asks first), unless a
    /// request for the same slot is in flight: then it waits its turn.
    pub(crate) fn send(
        &mut self,
        swarm: &mut libp2p::Swarm<Behaviour>,
        store: &Store,
        key: trustchain_core::crypto::PublicKey,
        cp: Checkpoint,
    ) {
        let Some(peer) = peer_of(&key) else { return };
        let slot = (key, cp.scenario.clone());
        if self.busy.contains(&slot) {
            if self.queued.get(&slot).is_none_or(|q| q.size < cp.size) {
                self.queued.insert(slot, cp);
            }
            return;
        }
        // Unknown: ask first (an empty request), so nothing is sent twice.
        let start = self.sizes.get(&slot).copied().unwrap_or(cp.size);
        self.send_from(swarm, store, slot, peer, cp, start);
    }

    pub(crate) fn send_from(
        &mut self,
        swarm: &mut libp2p::Swarm<Behaviour>,
        store: &Store,
        slot: Slot,
        peer: PeerId,
        cp: Checkpoint,
        start: u64,
    ) {
        match crate::net::replica::append_from(store, &cp, start) {
            Ok(req) => {
                tracing::debug!(%peer, scenario = %cp.scenario, size = cp.size, start, "replicate");
                let id = swarm.behaviour_mut().replica.send_request(&peer, req);
                self.busy.insert(slot.clone());
                self.sent.insert(id, (slot, cp));
            }
            Err(e) => tracing::error!(error = %e, "cannot read entries to replicate"),
        }
    }

    /// The slot's request is answered or failed: the waiting checkpoint, if any, goes next.
    pub(crate) fn done(&mut self, swarm: &mut libp2p::Swarm<Behaviour>, store: &Store, slot: Slot) {
        self.busy.remove(&slot);
        if let Some(next) = self.queued.remove(&slot) {
            self.send(swarm, store, slot.0, next);
        }
    }
}
