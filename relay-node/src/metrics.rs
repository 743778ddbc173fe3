//! Prometheus metrics in the text exposition format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing count.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Default, Debug)]
pub struct Gauge(AtomicU64);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The relay's metrics.
#[derive(Default, Debug)]
pub struct Metrics {
    /// Contracts durably accepted.
    pub contracts_accepted: Counter,
    /// Submissions refused.
    pub contracts_rejected: Counter,
    /// Contracts refused because their project's write quota was spent.
    pub contracts_over_quota: Counter,
    /// Entries appended here as a scenario replica.
    pub replicated_entries: Counter,
    /// Group commits.
    pub commits: Counter,
    /// Blocks produced.
    pub blocks: Counter,
    /// Height of the head block.
    pub head_height: Gauge,
    /// HTTP requests served.
    pub http_requests: Counter,
    /// Consensus: the round in progress at the current height.
    pub consensus_round: Gauge,
    /// Consensus: heights this node decided itself (others were learnt final).
    pub consensus_decided: Counter,
    /// Consensus: final blocks learnt from other relays (gossip or sync).
    pub blocks_synced: Counter,
    /// Consensus: messages refused (undecodable, invalid blocks, acceptance filter).
    pub consensus_refused: Counter,
    /// Relays connected over the relay transports.
    pub peers: Gauge,
    /// This relay's voting weight in the current validator set (0: not a validator).
    pub validator_weight: Gauge,
    /// The current validator set's total weight.
    pub total_weight: Gauge,
    /// Times this relay dropped and redialed its relay connections after a stall.
    pub reconnects: Counter,
    /// 1 if this relay is a P2PT hub of its region this epoch.
    pub hub: Gauge,
    /// Overlay links (hubs this relay keeps) connected now.
    pub hub_links: Gauge,
    /// Inputs the network layer dropped because the consensus driver's lane was full.
    pub driver_dropped: Counter,
    /// PoSR bandwidth samples this relay took of other relays.
    pub bandwidth_samples: Counter,
    /// HTTP connections refused at a bound (503 relay full, 429 client holds too many).
    pub http_refused: Counter,
    /// The median of the latest bandwidth samples of the relays measured, kbit/s.
    pub bandwidth_kbps: Gauge,
}

impl Metrics {
    /// The text exposition.
    pub fn render(&self, scenarios: usize, uptime_s: u64) -> String {
        let mut s = String::new();
        let mut line = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        line(
            "trustchain_http_refused_total",
            "counter",
            "HTTP connections refused at a bound (503: relay full; 429: one client holds too many).",
            self.http_refused.get(),
        );
        line(
            "trustchain_contracts_accepted_total",
            "counter",
            "Contracts durably accepted.",
            self.contracts_accepted.get(),
        );
        line(
            "trustchain_submissions_rejected_total",
            "counter",
            "Submissions refused with an error.",
            self.contracts_rejected.get(),
        );
        line(
            "trustchain_contracts_over_quota_total",
            "counter",
            "Contracts refused (HTTP 429) because their project's write quota was spent.",
            self.contracts_over_quota.get(),
        );
        line(
            "trustchain_replicated_entries_total",
            "counter",
            "Entries appended here as a replica of scenarios homed at other relays.",
            self.replicated_entries.get(),
        );
        line(
            "trustchain_stall_reconnects_total",
            "counter",
            "Times this relay dropped and redialed its relay connections after no height was final for 8 s.",
            self.reconnects.get(),
        );
        line(
            "trustchain_hub",
            "gauge",
            "1 if this relay is a P2PT hub of its region this epoch.",
            self.hub.get(),
        );
        line(
            "trustchain_hub_links",
            "gauge",
            "Overlay links (the hubs this relay keeps) connected now.",
            self.hub_links.get(),
        );
        line(
            "trustchain_driver_dropped_total",
            "counter",
            "Gossip and replica inputs dropped because the consensus driver was busy (its bulk lane full); consensus messages have a lane of their own.",
            self.driver_dropped.get(),
        );
        line(
            "trustchain_bandwidth_samples_total",
            "counter",
            "PoSR bandwidth samples (128 KiB over /trustchain/bw/1) this relay took of other relays.",
            self.bandwidth_samples.get(),
        );
        line(
            "trustchain_bandwidth_kbps",
            "gauge",
            "Median of the latest bandwidth sample of each relay measured, kbit/s (what its PoSR reports carry).",
            self.bandwidth_kbps.get(),
        );
        line(
            "trustchain_group_commits_total",
            "counter",
            "Durable group commits of the ingest writer.",
            self.commits.get(),
        );
        line(
            "trustchain_blocks_total",
            "counter",
            "Main blocks produced since start.",
            self.blocks.get(),
        );
        line(
            "trustchain_head_height",
            "gauge",
            "Height of the head main block.",
            self.head_height.get(),
        );
        line(
            "trustchain_http_requests_total",
            "counter",
            "HTTP requests served.",
            self.http_requests.get(),
        );
        line(
            "trustchain_consensus_round",
            "gauge",
            "Consensus round in progress at the current height.",
            self.consensus_round.get(),
        );
        line(
            "trustchain_consensus_decided_total",
            "counter",
            "Heights this relay decided in consensus.",
            self.consensus_decided.get(),
        );
        line(
            "trustchain_blocks_synced_total",
            "counter",
            "Final blocks learnt from other relays.",
            self.blocks_synced.get(),
        );
        line(
            "trustchain_consensus_refused_total",
            "counter",
            "Consensus messages and blocks refused.",
            self.consensus_refused.get(),
        );
        line(
            "trustchain_peers",
            "gauge",
            "Relays connected.",
            self.peers.get(),
        );
        line(
            "trustchain_validator_weight",
            "gauge",
            "This relay's PoSR voting weight in the current validator set (0: not a validator).",
            self.validator_weight.get(),
        );
        line(
            "trustchain_validators_total_weight",
            "gauge",
            "Total voting weight of the current validator set.",
            self.total_weight.get(),
        );
        line(
            "trustchain_scenarios",
            "gauge",
            "Scenarios held by this relay.",
            scenarios as u64,
        );
        line(
            "trustchain_uptime_seconds",
            "gauge",
            "Seconds since the relay started.",
            uptime_s,
        );
        s
    }
}
