//! Write quotas at this relay (docs/network.md, "Capacity pledges"): the counters. The formula —
//! project, pledged units, region ratio, contracts per second — is core's
//! ([`trustchain_core::chain::quota`]); the region ratio is recomputed once per epoch. Genesis
//! fixes `writes_per_unit` (200 by default; the devnet raises it so local load tests are not
//! throttled).
//!
//! The quota is a token bucket per project holding [`BURST_SECS`] of quota: a batch that finds
//! too few tokens is refused whole (nothing written) with HTTP 429 and the wait after which it
//! would fit. Every relay enforces it for the scenarios homed at it; a replica takes no client
//! writes at all.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use trustchain_core::chain::placement::{BASE_UNITS, Places};
use trustchain_core::chain::quota::{self, Quota};
use trustchain_core::chain::state::ChainSnapshot;
use trustchain_core::crypto::PublicKey;
use trustchain_core::scenario::charter::Charter;

use crate::node::genesis::Genesis;
use crate::node::registry::places_of;
/// Seconds of quota a project may spend at once.
pub const BURST_SECS: f64 = 2.0;
/// Buckets kept before full (idle) ones are dropped.
const MAX_BUCKETS: usize = 10_000;

/// A batch the project's quota cannot take now.
#[derive(Clone, Debug, thiserror::Error)]
#[error(
    "project {project} may write {per_second} contracts/s at this relay (({BASE_UNITS} base + {pledged} pledged units) × {unit}/s × region ratio {ratio:.2}); \
     {why} — {advice}",
    project = quota.project,
    per_second = quota.per_second,
    pledged = quota.pledged_units,
    unit = writes_per_unit,
    ratio = f64::from(quota.ratio_milli) / 1000.0,
)]
pub struct OverQuota {
    /// The quota.
    pub quota: Quota,
    /// The network's writes per unit.
    pub writes_per_unit: u64,
    /// What was asked.
    pub batch: usize,
    /// When the batch would fit (`None`: never — larger than the burst).
    pub retry_after: Option<Duration>,
    why: String,
    advice: String,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct State {
    /// The epoch the ratio was computed for, and the ratio.
    ratio: Option<(u64, u32)>,
    buckets: HashMap<PublicKey, Bucket>,
}

/// The write quotas of the projects homed at this relay.
pub struct Quotas {
    region: String,
    places: Places,
    /// Capacity units per operator key.
    pledges: Arc<BTreeMap<PublicKey, u64>>,
    writes_per_unit: u64,
    state: Mutex<State>,
}

impl Quotas {
    /// The quotas of a relay with key `me` on the network of `genesis`.
    pub fn new(genesis: &Genesis, me: &PublicKey) -> Self {
        let pledges = quota::pledges(genesis.nodes.iter().map(|n| (n.operator, n.capacity)));
        Quotas {
            region: genesis
                .node(me)
                .map_or_else(String::new, |n| n.region.clone()),
            places: places_of(genesis),
            pledges: Arc::new(pledges),
            writes_per_unit: genesis.writes_per_unit,
            state: Mutex::new(State {
                ratio: None,
                buckets: HashMap::new(),
            }),
        }
    }

    /// The region ratio of this relay's region as of `snap` (thousandths).
    pub fn ratio_milli(&self, snap: &ChainSnapshot) -> u32 {
        quota::ratio_milli(&self.places, &self.region, snap)
    }

    /// The quota of the project owning `charter`, as of `snap` (`None` for a charter without
    /// owners, which no relay stores: `UnsignedCharter::validate` refuses it).
    pub fn quota(&self, charter: &Charter, snap: &ChainSnapshot) -> Option<Quota> {
        if charter.content.owners.is_empty() {
            return None;
        }
        let ratio_milli = {
            let epoch = snap.next_validators.epoch;
            let cached = self.state.lock().map(|s| s.ratio).unwrap_or(None);
            match cached {
                Some((e, r)) if e == epoch => r,
                _ => {
                    let r = self.ratio_milli(snap);
                    if let Ok(mut s) = self.state.lock() {
                        s.ratio = Some((epoch, r));
                    }
                    r
                }
            }
        };
        quota::quota(charter, &self.pledges, self.writes_per_unit, ratio_milli)
    }

    /// Takes `batch` contracts from the quota of `charter`'s project, or says when they fit.
    pub fn admit(
        &self,
        charter: &Charter,
        batch: usize,
        snap: &ChainSnapshot,
        now: Instant,
    ) -> Result<Option<Quota>, Box<OverQuota>> {
        let Some(quota) = self.quota(charter, snap) else {
            return Ok(None);
        };
        let rate = quota.per_second.max(1) as f64;
        let burst = rate * BURST_SECS;
        let over = |retry_after: Option<Duration>, why: String, advice: String| {
            Box::new(OverQuota {
                quota: quota.clone(),
                writes_per_unit: self.writes_per_unit,
                batch,
                retry_after,
                why,
                advice,
            })
        };
        if batch as f64 > burst {
            return Err(over(
                None,
                format!(
                    "a batch of {batch} is more than {BURST_SECS} s of it ({})",
                    burst as u64
                ),
                "send smaller batches, or pledge capacity (docs/network.md)".into(),
            ));
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.buckets.len() >= MAX_BUCKETS {
            // Forget projects whose bucket has refilled: they lose nothing.
            state.buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let b = state.buckets.entry(quota.project).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= batch as f64 {
            b.tokens -= batch as f64;
            return Ok(Some(quota));
        }
        let wait = Duration::from_secs_f64((batch as f64 - b.tokens) / rate);
        Err(over(
            Some(wait),
            format!("a batch of {batch} does not fit in what is left now"),
            format!(
                "nothing was written; retry after {} ms, or pledge capacity (docs/network.md)",
                wait.as_millis().max(1)
            ),
        ))
    }
}
