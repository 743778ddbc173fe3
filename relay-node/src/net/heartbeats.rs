//! PoSR heartbeats: ping settings and what a window of pings measures of a peer.

use super::*;

/// How long a relay waits for a ping's answer: eight intervals, within [2 s, 20 s]. A relay
/// connection whose ping times out is closed (and redialed): it stalled, e.g. in a partition,
/// and everything sent on it meanwhile piles up in gossip's send queue, which a TCP connection
/// recovering at its retransmission backoff drains only tens of seconds after the network heals
/// (seen in the 2|2 split test: finality did not resume within 60 s).
pub fn ping_timeout(every: Duration) -> Duration {
    (every * 8).clamp(Duration::from_secs(2), Duration::from_secs(20))
}

/// How often relays ping each other: eight heartbeats per PoSR window, within [250 ms, 15 s].
pub fn ping_interval(window_ms: u64) -> Duration {
    Duration::from_millis((window_ms / 8).clamp(250, 15_000))
}

/// One window's heartbeats of one peer.
#[derive(Default)]
pub(crate) struct Heartbeats {
    pub(crate) ok: u32,
    pub(crate) failed: u32,
    pub(crate) rtts_us: Vec<u32>,
}

/// The upper median of `values` (sorted in place): the element at `len / 2`.
pub(crate) fn median(values: &mut [u32]) -> Option<u32> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

impl Heartbeats {
    /// The median RTT of the window's answered pings.
    pub(crate) fn median_rtt(&self) -> Option<Duration> {
        median(&mut self.rtts_us.clone()).map(|us| Duration::from_micros(u64::from(us)))
    }

    /// The measurements of a window in which `expected` heartbeats were due, with the peer's
    /// latest bandwidth sample (0 if none answered yet).
    pub(crate) fn measurements(
        &mut self,
        expected: u32,
        bandwidth_kbps: u32,
    ) -> trustchain_core::chain::posr::Measurements {
        use trustchain_core::chain::posr::{Measurements, PPM};
        if self.ok == 0 {
            return Measurements::DOWN;
        }
        let ppm = |n: u32, of: u32| ((n as u64 * PPM) / of.max(1) as u64).min(PPM) as u32;
        Measurements {
            heartbeat_ppm: ppm(self.ok, expected),
            reachability_ppm: ppm(self.ok, self.ok + self.failed),
            // Every answered ping pushed an RTT, and `ok > 0`.
            rtt_us: median(&mut self.rtts_us).unwrap_or(u32::MAX),
            bandwidth_kbps,
        }
    }
}
