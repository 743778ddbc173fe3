//! The node registry on chain: PoSR observation reports carried in block bodies, folded into
//! `trustchain_core::posr::PosrState`, and the epoch changes it decides (docs/network.md,
//! docs/posr.md).
//!
//! Every relay runs the same [`Registry`] over the same blocks, so every relay computes the same
//! validator set for the next epoch: the proposer of the block that closes an epoch puts that
//! set's hash in `next_validators_hash`, and the others refuse the block if theirs differs.
//!
//! **Time.** Windows are block time divided by the genesis' `window_ms`; PoSR epochs are
//! `windows_per_epoch` windows. The block whose time is one window past the end of PoSR epoch *e*
//! closes *e* (the grace window lets reports of *e*'s last window arrive); if the chain was idle
//! for longer, the empty epochs in between are closed with it (unobserved windows: no gain, no
//! loss). The chain's own epoch counter (what light clients follow) counts the changes, one at a
//! time; it is not the PoSR epoch number.

use trustchain_core::chain::ValidatorSet;
use trustchain_core::crypto::PublicKey;
use trustchain_core::posr::{
    ObservationReport, PosrError, PosrParams, PosrState, Recorded, next_validator_set,
};

use crate::genesis::Genesis;

/// Windows after the end of a PoSR epoch before a block closes it.
pub const GRACE_WINDOWS: u64 = 1;

/// Why a block's registry entries are refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A report's signature does not verify.
    #[error("report by {observer} on {subject}: bad signature")]
    Signature {
        /// The observer.
        observer: PublicKey,
        /// The subject.
        subject: PublicKey,
    },
    /// PoSR refused a report (wrong epoch, unknown node, self-report, not an observer...).
    #[error("report by {observer} on {subject}: {source}")]
    Refused {
        /// The observer.
        observer: PublicKey,
        /// The subject.
        subject: PublicKey,
        /// Why.
        source: Box<PosrError>,
    },
    /// Closing an epoch failed (never with valid parameters).
    #[error("closing PoSR epoch {epoch}: {source}")]
    Close {
        /// The PoSR epoch.
        epoch: u64,
        /// Why.
        source: Box<PosrError>,
    },
}

/// The node registry as of a block; see the module documentation.
#[derive(Clone, Debug)]
pub struct Registry {
    chain_id: String,
    params: PosrParams,
    window_ms: u64,
    state: PosrState,
}

impl Registry {
    /// The registry at genesis: every genesis node registered and confirmed; collection starts
    /// with the PoSR epoch of block 0's time.
    pub fn genesis(genesis: &Genesis) -> Self {
        let pairs: Vec<_> = genesis.nodes.iter().map(|n| (n.key, n.operator)).collect();
        let window = genesis.block.header.time_ms / genesis.window_ms;
        Registry {
            chain_id: genesis.chain_id.clone(),
            params: genesis.posr,
            window_ms: genesis.window_ms,
            state: PosrState::genesis(genesis.posr.epoch_of(window), &pairs),
        }
    }

    /// The window `time_ms` falls in.
    pub fn window_of(&self, time_ms: u64) -> u64 {
        time_ms / self.window_ms
    }

    /// The window length in milliseconds.
    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// The registered nodes.
    pub fn nodes(&self) -> Vec<PublicKey> {
        self.state.nodes().map(|(k, _)| *k).collect()
    }

    /// The PoSR state (for the API and tests).
    pub fn state(&self) -> &PosrState {
        &self.state
    }

    /// Whether `report` would be recorded now as a new report (what a pool keeps and a proposer
    /// includes): signature, epoch, known nodes, an observer of this epoch, not a duplicate.
    pub fn admits(&self, report: &ObservationReport) -> bool {
        let Ok(v) = report.verify(&self.chain_id) else {
            return false;
        };
        let mut probe = self.state.clone();
        matches!(probe.record(v, &self.params), Ok(Recorded::New))
    }

    /// Whether `report` is worth keeping for a later block: signed, and of the PoSR epoch being
    /// collected or the next (reports of the next epoch become admissible once a block closes
    /// the current one).
    pub fn plausible(&self, report: &ObservationReport) -> bool {
        let e = self.params.epoch_of(report.window);
        report.verify(&self.chain_id).is_ok()
            && (e == self.state.epoch() || e == self.state.epoch() + 1)
    }

    /// Whether a block made at `now_ms` would close the PoSR epoch being collected.
    pub fn epoch_due(&self, now_ms: u64) -> bool {
        self.params
            .epoch_of(self.window_of(now_ms).saturating_sub(GRACE_WINDOWS))
            > self.state.epoch()
    }

    /// Records a block's reports and, if the block's time closes the PoSR epoch, closes it and
    /// returns the validator set of the chain epoch after `current` (the PoSR set relabelled
    /// `current.epoch + 1`; the current validators again if PoSR finds nobody with weight).
    pub fn apply(
        &mut self,
        time_ms: u64,
        reports: &[ObservationReport],
        current: &ValidatorSet,
    ) -> Result<Option<ValidatorSet>, RegistryError> {
        for r in reports {
            let v = r
                .verify(&self.chain_id)
                .map_err(|_| RegistryError::Signature {
                    observer: r.observer,
                    subject: r.subject,
                })?;
            self.state
                .record(v, &self.params)
                .map_err(|source| RegistryError::Refused {
                    observer: r.observer,
                    subject: r.subject,
                    source: Box::new(source),
                })?;
        }
        let target = self
            .params
            .epoch_of(self.window_of(time_ms).saturating_sub(GRACE_WINDOWS));
        if target <= self.state.epoch() {
            return Ok(None);
        }
        let mut closed = self.state.epoch();
        while self.state.epoch() < target {
            closed = self.state.epoch();
            let summary =
                self.state
                    .end_epoch(&self.params)
                    .map_err(|source| RegistryError::Close {
                        epoch: closed,
                        source: Box::new(source),
                    })?;
            // An observer that signed two different reports on one subject and window lost that
            // voice already; it also pays the offence penalty, once per pair, in chain order.
            for (a, _) in &summary.equivocations {
                // Unknown observers cannot have recorded reports; nothing to penalize then.
                let _ = self.state.penalize(&a.observer, &self.params);
            }
        }
        let validators = match next_validator_set(&self.state, &self.params, closed) {
            Ok(set) => set.validators,
            // Nobody has weight yet (no runtime observed): keep the current validators.
            Err(_) => current.validators.clone(),
        };
        Ok(Some(
            ValidatorSet::new(current.epoch + 1, validators).unwrap_or_else(|_| relabel(current)),
        ))
    }
}

/// `current` as the next epoch's set.
fn relabel(current: &ValidatorSet) -> ValidatorSet {
    ValidatorSet {
        epoch: current.epoch + 1,
        validators: current.validators.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use trustchain_core::posr::Measurements;

    const UP: Measurements = Measurements {
        heartbeat_ppm: 1_000_000,
        reachability_ppm: 1_000_000,
        rtt_us: 500,
        bandwidth_kbps: 0,
    };

    fn keys() -> Vec<SigningKey> {
        (1..=4u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]))
            .collect()
    }

    /// A 4-node genesis at window 1000 of 1 s windows, 5 windows per epoch (devnet parameters).
    fn setup() -> (Genesis, Vec<SigningKey>) {
        let keys = keys();
        let members: Vec<_> = keys
            .iter()
            .map(|k| (k.clone(), PublicKey::of(k), "default".to_string()))
            .collect();
        let g = Genesis::create("trustchain-registry-test", 1_000_000, &members)
            .unwrap()
            .with_posr(1_000, crate::devnet::devnet_posr())
            .unwrap();
        (g, keys)
    }

    /// Every node reports every other node up in `window`.
    fn all_up(g: &Genesis, keys: &[SigningKey], window: u64) -> Vec<ObservationReport> {
        let mut out = Vec::new();
        for o in keys {
            for s in keys {
                if o != s {
                    out.push(ObservationReport::sign(
                        &g.chain_id,
                        o,
                        PublicKey::of(s),
                        window,
                        UP,
                    ));
                }
            }
        }
        out
    }

    #[test]
    fn an_epoch_closes_one_window_after_its_end_and_names_weights_from_uptime() {
        let (g, keys) = setup();
        let mut r = Registry::genesis(&g);
        let set0 = g.validators.clone();
        // Windows 1000..1004 are PoSR epoch 200; a block in window 1005 is the grace window.
        for w in 1000..1005 {
            assert_eq!(
                r.apply(w * 1_000 + 500, &all_up(&g, &keys, w), &set0)
                    .unwrap(),
                None
            );
        }
        assert!(!r.epoch_due(1_005_500));
        assert_eq!(r.apply(1_005_500, &[], &set0).unwrap(), None);
        assert!(r.epoch_due(1_006_000));
        let set1 = r
            .apply(1_006_000, &[], &set0)
            .unwrap()
            .expect("epoch closes");
        assert_eq!(
            set1.epoch, 1,
            "the chain epoch counts changes, not PoSR epochs"
        );
        assert_eq!(set1.validators.len(), 4);
        assert!(set1.validators.iter().all(|v| v.weight > 0));
        assert_ne!(
            set1.hash(),
            set0.hash(),
            "PoSR weights replace the genesis weights"
        );
        // Reports of the closed epoch are refused now; of the next, admitted.
        assert!(!r.admits(&all_up(&g, &keys, 1004)[0]));
        assert!(r.admits(&all_up(&g, &keys, 1005)[0]));
    }

    #[test]
    fn nobody_with_weight_keeps_the_current_set_and_an_idle_gap_closes_every_epoch_once() {
        let (g, _) = setup();
        let mut r = Registry::genesis(&g);
        let set0 = g.validators.clone();
        // No reports at all, then a block 3 epochs later: one change, same validators.
        let next = r.apply(1_020_000, &[], &set0).unwrap().expect("closes");
        assert_eq!(next.epoch, 1);
        assert_eq!(next.validators, set0.validators);
        assert_eq!(r.apply(1_020_500, &[], &next).unwrap(), None);
    }

    #[test]
    fn bad_reports_are_refused_and_a_report_of_the_next_epoch_waits() {
        let (g, keys) = setup();
        let mut r = Registry::genesis(&g);
        let set0 = g.validators.clone();
        let mut forged = all_up(&g, &keys, 1000)[0];
        forged.measurements.rtt_us += 1;
        assert!(!r.plausible(&forged));
        assert!(matches!(
            r.clone().apply(1_000_500, &[forged], &set0),
            Err(RegistryError::Signature { .. })
        ));
        let early = all_up(&g, &keys, 1005)[0];
        assert!(r.plausible(&early) && !r.admits(&early));
        assert!(matches!(
            r.apply(1_000_500, &[early], &set0),
            Err(RegistryError::Refused { .. })
        ));
    }

    #[test]
    fn an_equivocating_observer_is_penalized_when_the_epoch_closes() {
        let (g, keys) = setup();
        let mut honest = Registry::genesis(&g);
        let mut with_lie = Registry::genesis(&g);
        let set0 = g.validators.clone();
        for w in 1000..1005 {
            let reports = all_up(&g, &keys, w);
            honest.apply(w * 1_000, &reports, &set0).unwrap();
            with_lie.apply(w * 1_000, &reports, &set0).unwrap();
        }
        // Node 0 also signed a second, different report on node 1 for window 1004.
        let lie = ObservationReport::sign(
            &g.chain_id,
            &keys[0],
            PublicKey::of(&keys[1]),
            1004,
            Measurements::DOWN,
        );
        with_lie.apply(1_005_000, &[lie], &set0).unwrap();
        honest.apply(1_005_000, &[], &set0).unwrap();
        honest.apply(1_006_000, &[], &set0).unwrap();
        with_lie.apply(1_006_000, &[], &set0).unwrap();
        let liar = PublicKey::of(&keys[0]);
        let runtime = |r: &Registry| r.state().node(&liar).unwrap().runtime_mw;
        assert!(
            runtime(&with_lie) < runtime(&honest),
            "penalized: {} < {}",
            runtime(&with_lie),
            runtime(&honest)
        );
    }
}
