//! The node registry on chain: PoSR observation reports carried in block bodies, folded into
//! [`PosrState`], the beacon rounds, and the epoch changes they decide (docs/network.md,
//! docs/posr.md).
//!
//! Every relay runs the same [`Registry`] over the same blocks, so every relay computes the same
//! validator set for the next epoch: the proposer of the block that closes an epoch puts that
//! set's hash in `next_validators_hash`, and the others refuse the block if theirs differs.
//!
//! **Time.** Windows are block time divided by the genesis' `window_ms` ([`RegistryGenesis`]);
//! PoSR epochs are `windows_per_epoch` windows. The block whose time is one window past the end of PoSR epoch *e*
//! closes *e* (the grace window lets reports of *e*'s last window arrive); if the chain was idle
//! for longer, the empty epochs in between are closed with it (unobserved windows: no gain, no
//! loss). The chain's own epoch counter (what light clients follow) counts the changes, one at a
//! time; it is not the PoSR epoch number.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::chain::beacon::{BeaconCollector, BeaconCommit, BeaconError, BeaconReveal, BeaconRound};
use crate::chain::block::BlockBody;
use crate::chain::placement::Places;
use crate::chain::posr::{
    ObservationReport, PosrError, PosrParams, PosrState, Recorded, next_validator_set,
};
use crate::chain::validators::ValidatorSet;
use crate::crypto::PublicKey;
use crate::crypto::hash::Hash;

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
    /// A beacon commit or reveal is refused (other than a commit equivocation, which is kept as
    /// evidence).
    #[error("beacon entry by {validator}: {source}")]
    Beacon {
        /// Its validator.
        validator: PublicKey,
        /// Why.
        source: BeaconError,
    },
    /// A beacon reveal in an epoch with no round to reveal (the first epoch).
    #[error("beacon reveal by {0} while no round is open for reveals")]
    NoRevealRound(PublicKey),
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
    /// The beacon round of the current chain epoch: collecting commits.
    committing: BeaconCollector,
    /// The round of the epoch before: commits closed, collecting reveals.
    revealing: Option<BeaconCollector>,
    /// The latest beacon value (the genesis hash until the first round finishes): the leader
    /// seed of the next epoch.
    value: Hash,
    /// The registered nodes' regions and capacities (scenario placement).
    places: Places,
}

/// What the registry starts from: the genesis facts, as values (the relay reads them from its
/// genesis file).
#[derive(Clone, Debug)]
pub struct RegistryGenesis {
    /// The network's name (reports and beacon entries are signed for it).
    pub chain_id: String,
    /// The PoSR parameters.
    pub params: PosrParams,
    /// The measurement window, in milliseconds (> 0).
    pub window_ms: u64,
    /// Block 0's time: collection starts with its PoSR epoch.
    pub time_ms: u64,
    /// The genesis nodes as `(node key, operator key)`.
    pub nodes: Vec<(PublicKey, PublicKey)>,
    /// Epoch 0's validators (the first beacon round's committers).
    pub validators: ValidatorSet,
    /// The genesis block's hash: the beacon value until the first round finishes.
    pub seed: Hash,
    /// The genesis nodes' regions and capacities.
    pub places: Places,
}

/// What a block does to the registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The validators of the next chain epoch, if the block closes the current one.
    pub next: Option<ValidatorSet>,
    /// The beacon round the block must carry (`BlockBody::beacon_round`): the round of the epoch
    /// before, finished by a block that closes an epoch.
    pub round: Option<BeaconRound>,
}

impl Registry {
    /// The registry at genesis: every genesis node registered and confirmed; collection starts
    /// with the PoSR epoch of block 0's time.
    pub fn genesis(genesis: RegistryGenesis) -> Self {
        let window = genesis.time_ms / genesis.window_ms;
        Registry {
            state: PosrState::genesis(genesis.params.epoch_of(window), &genesis.nodes),
            committing: BeaconCollector::new(&genesis.chain_id, genesis.validators, genesis.seed),
            chain_id: genesis.chain_id,
            params: genesis.params,
            window_ms: genesis.window_ms,
            revealing: None,
            value: genesis.seed,
            places: genesis.places,
        }
    }

    /// The registered nodes' regions and capacities.
    pub fn places(&self) -> &Places {
        &self.places
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
        // The state's rules first: they cost a few look-ups, the signature ~50 µs, and most
        // reports a pool holds that are not admitted (of the next epoch, recorded already) fail
        // them. Both must pass; the order changes nothing else.
        matches!(self.state.precheck(report, &self.params), Ok(Recorded::New))
            && report.verify(&self.chain_id).is_ok()
    }

    /// [`Registry::admits`] for a report of the driver's pool, whose signature was verified when
    /// it was pooled ([`Registry::plausible`]; the chain id never changes): the state's rules
    /// only, a few look-ups — the pool is scanned every tick.
    pub fn admits_pooled(&self, report: &ObservationReport) -> bool {
        matches!(self.state.precheck(report, &self.params), Ok(Recorded::New))
    }

    /// [`Registry::plausible`] for a pooled report (signature verified already): its epoch only.
    pub fn plausible_pooled(&self, report: &ObservationReport) -> bool {
        let e = self.params.epoch_of(report.window);
        e == self.state.epoch() || e == self.state.epoch() + 1
    }

    /// Whether `report` is worth keeping for a later block: signed, and of the PoSR epoch being
    /// collected or the next (reports of the next epoch become admissible once a block closes
    /// the current one).
    pub fn plausible(&self, report: &ObservationReport) -> bool {
        let e = self.params.epoch_of(report.window);
        report.verify(&self.chain_id).is_ok()
            && (e == self.state.epoch() || e == self.state.epoch() + 1)
    }

    /// The latest beacon value: the leader seed of the epoch that follows it.
    pub fn seed(&self) -> Hash {
        self.value
    }

    /// The chain epoch whose beacon commits are being collected.
    pub fn beacon_epoch(&self) -> u64 {
        self.committing.epoch()
    }

    /// Whether `key` is a validator of the current epoch that has not committed yet.
    pub fn needs_commit(&self, key: &PublicKey) -> bool {
        // `committing` is never closed (it moves to `revealing` first): membership alone decides.
        self.committing.is_member(key) && !self.committing.has_commit(key)
    }

    /// The epoch whose secret `key` must reveal now, if it committed and has not revealed.
    pub fn reveal_due(&self, key: &PublicKey) -> Option<u64> {
        let rv = self.revealing.as_ref()?;
        (rv.has_commit(key) && !rv.has_reveal(key)).then_some(rv.epoch())
    }

    /// Whether a block may record `c` now, as a new commit.
    pub fn admits_commit(&self, c: &BeaconCommit) -> bool {
        !self.committing.has_commit(&c.validator) && self.committing.check_commit(c).is_ok()
    }

    /// Whether a block may record `r` now, as a new reveal.
    pub fn admits_reveal(&self, r: &BeaconReveal) -> bool {
        let Some(rv) = &self.revealing else {
            return false;
        };
        !rv.has_reveal(&r.validator) && rv.check_reveal(r).is_ok()
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
        body: &BlockBody,
        current: &ValidatorSet,
    ) -> Result<Applied, RegistryError> {
        for c in &body.beacon_commits {
            match self.committing.add_commit(*c) {
                // An equivocation is kept as evidence (and penalized when the round finishes).
                Ok(()) | Err(BeaconError::Equivocation(_)) => {}
                Err(source) => {
                    return Err(RegistryError::Beacon {
                        validator: c.validator,
                        source,
                    });
                }
            }
        }
        for r in &body.beacon_reveals {
            let rv = self
                .revealing
                .as_mut()
                .ok_or(RegistryError::NoRevealRound(r.validator))?;
            rv.add_reveal(*r).map_err(|source| RegistryError::Beacon {
                validator: r.validator,
                source,
            })?;
        }
        for r in &body.reports {
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
            return Ok(Applied::default());
        }
        // The epoch closes. First the beacon round of the epoch before: its value seeds the
        // next epoch's leaders; who committed and did not reveal, or committed twice, pays.
        let round = self.revealing.take().map(|rv| {
            let (round, out) = rv.finish();
            let offenders: Vec<PublicKey> = out
                .withheld
                .iter()
                .copied()
                .chain(rv.equivocations().iter().map(|(a, _)| a.validator))
                .collect();
            for k in offenders {
                let _ = self.state.penalize(&k, &self.params);
            }
            self.value = out.value;
            round
        });
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
        let next =
            ValidatorSet::new(current.epoch + 1, validators).unwrap_or_else(|_| relabel(current));
        let mut finished = core::mem::replace(
            &mut self.committing,
            BeaconCollector::new(&self.chain_id, next.clone(), self.value),
        );
        finished.close_commits();
        self.revealing = Some(finished);
        Ok(Applied {
            next: Some(next),
            round,
        })
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
    use crate::chain::posr::Measurements;
    use crate::chain::validators::Validator;
    use alloc::vec;
    use ed25519_dalek::SigningKey;

    const UP: Measurements = Measurements {
        heartbeat_ppm: 1_000_000,
        reachability_ppm: 1_000_000,
        rtt_us: 500,
        bandwidth_kbps: 0,
    };

    fn with_reports(reports: Vec<ObservationReport>) -> BlockBody {
        BlockBody {
            reports,
            ..Default::default()
        }
    }

    fn keys() -> Vec<SigningKey> {
        (1..=4u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]))
            .collect()
    }

    /// The genesis facts the registry starts from, as the relay's genesis file gives them.
    struct Genesis {
        chain_id: String,
        validators: ValidatorSet,
        start: RegistryGenesis,
    }

    impl Genesis {
        fn hash(&self) -> Hash {
            self.start.seed
        }
        fn start(&self) -> RegistryGenesis {
            self.start.clone()
        }
    }

    /// A 4-node genesis at window 1000 of 1 s windows, 5 windows per epoch (the relay's devnet
    /// parameters), every node its own operator in region "default" with weight 1,000 (the
    /// relay's `GENESIS_WEIGHT`).
    fn setup() -> (Genesis, Vec<SigningKey>) {
        let keys = keys();
        let mut nodes: Vec<(PublicKey, PublicKey)> = keys
            .iter()
            .map(|k| (PublicKey::of(k), PublicKey::of(k)))
            .collect();
        nodes.sort();
        let validators = ValidatorSet::new(
            0,
            nodes
                .iter()
                .map(|(key, _)| Validator {
                    key: *key,
                    weight: 1_000,
                })
                .collect(),
        )
        .unwrap();
        let chain_id = String::from("trustchain-registry-test");
        let places = Places::from_list(
            nodes
                .iter()
                .map(|(k, _)| (*k, String::from("default"), 1))
                .collect(),
        );
        let start = RegistryGenesis {
            chain_id: chain_id.clone(),
            params: PosrParams::devnet(),
            window_ms: 1_000,
            time_ms: 1_000_000,
            nodes,
            validators: validators.clone(),
            seed: Hash([42; 32]),
            places,
        };
        (
            Genesis {
                chain_id,
                validators,
                start,
            },
            keys,
        )
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
        let mut r = Registry::genesis(g.start());
        let set0 = g.validators.clone();
        // Windows 1000..1004 are PoSR epoch 200; a block in window 1005 is the grace window.
        for w in 1000..1005 {
            assert_eq!(
                r.apply(w * 1_000 + 500, &with_reports(all_up(&g, &keys, w)), &set0)
                    .unwrap()
                    .next,
                None
            );
        }
        assert!(!r.epoch_due(1_005_500));
        assert_eq!(
            r.apply(1_005_500, &BlockBody::default(), &set0)
                .unwrap()
                .next,
            None
        );
        assert!(r.epoch_due(1_006_000));
        let set1 = r
            .apply(1_006_000, &BlockBody::default(), &set0)
            .unwrap()
            .next
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
        let mut r = Registry::genesis(g.start());
        let set0 = g.validators.clone();
        // No reports at all, then a block 3 epochs later: one change, same validators.
        let next = r
            .apply(1_020_000, &BlockBody::default(), &set0)
            .unwrap()
            .next
            .expect("closes");
        assert_eq!(next.epoch, 1);
        assert_eq!(next.validators, set0.validators);
        assert_eq!(
            r.apply(1_020_500, &BlockBody::default(), &next)
                .unwrap()
                .next,
            None
        );
    }

    #[test]
    fn bad_reports_are_refused_and_a_report_of_the_next_epoch_waits() {
        let (g, keys) = setup();
        let mut r = Registry::genesis(g.start());
        let set0 = g.validators.clone();
        let mut forged = all_up(&g, &keys, 1000)[0];
        forged.measurements.rtt_us += 1;
        assert!(!r.plausible(&forged));
        assert!(matches!(
            r.clone()
                .apply(1_000_500, &with_reports(vec![forged]), &set0),
            Err(RegistryError::Signature { .. })
        ));
        let early = all_up(&g, &keys, 1005)[0];
        assert!(r.plausible(&early) && !r.admits(&early));
        assert!(matches!(
            r.apply(1_000_500, &with_reports(vec![early]), &set0),
            Err(RegistryError::Refused { .. })
        ));
    }

    #[test]
    fn an_equivocating_observer_is_penalized_when_the_epoch_closes() {
        let (g, keys) = setup();
        let mut honest = Registry::genesis(g.start());
        let mut with_lie = Registry::genesis(g.start());
        let set0 = g.validators.clone();
        for w in 1000..1005 {
            let reports = all_up(&g, &keys, w);
            honest
                .apply(w * 1_000, &with_reports(reports.clone()), &set0)
                .unwrap();
            with_lie
                .apply(w * 1_000, &with_reports(reports), &set0)
                .unwrap();
        }
        // Node 0 also signed a second, different report on node 1 for window 1004.
        let lie = ObservationReport::sign(
            &g.chain_id,
            &keys[0],
            PublicKey::of(&keys[1]),
            1004,
            Measurements::DOWN,
        );
        with_lie
            .apply(1_005_000, &with_reports(vec![lie]), &set0)
            .unwrap();
        honest
            .apply(1_005_000, &BlockBody::default(), &set0)
            .unwrap();
        honest
            .apply(1_006_000, &BlockBody::default(), &set0)
            .unwrap();
        with_lie
            .apply(1_006_000, &BlockBody::default(), &set0)
            .unwrap();
        let liar = PublicKey::of(&keys[0]);
        let runtime = |r: &Registry| r.state().node(&liar).unwrap().runtime_mw;
        assert!(
            runtime(&with_lie) < runtime(&honest),
            "penalized: {} < {}",
            runtime(&with_lie),
            runtime(&honest)
        );
    }

    #[test]
    fn the_beacon_round_of_an_epoch_is_finished_by_the_next_change_and_seeds_the_leaders() {
        use crate::chain::beacon::{BeaconCommit, BeaconSecret};
        let (g, keys) = setup();
        let mut r = Registry::genesis(g.start());
        let set0 = g.validators.clone();
        assert_eq!(
            r.seed(),
            g.hash(),
            "the genesis hash seeds the first epochs"
        );
        let drawn: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| BeaconCommit::new(&g.chain_id, k, 0, BeaconSecret([i as u8 + 7; 32])))
            .collect();
        let me = PublicKey::of(&keys[0]);
        assert!(r.needs_commit(&me));
        let commits = BlockBody {
            beacon_commits: drawn.iter().map(|(c, _)| *c).collect(),
            ..Default::default()
        };
        assert!(r.admits_commit(&drawn[0].0));
        r.apply(1_000_500, &commits, &set0).unwrap();
        assert!(!r.needs_commit(&me) && !r.admits_commit(&drawn[0].0));
        assert_eq!(
            r.reveal_due(&me),
            None,
            "reveals open only in the next epoch"
        );
        // The first change finishes no round (none was revealing) and opens epoch 0's reveals.
        let set1 = {
            for w in 1000..1005 {
                r.apply(w * 1_000 + 600, &with_reports(all_up(&g, &keys, w)), &set0)
                    .unwrap();
            }
            let a = r.apply(1_006_000, &BlockBody::default(), &set0).unwrap();
            assert_eq!(a.round, None);
            a.next.expect("epoch 1")
        };
        assert_eq!(r.reveal_due(&me), Some(0));
        // Three of four reveal; the fourth withholds.
        let reveals = BlockBody {
            beacon_reveals: drawn[..3].iter().map(|(_, rv)| *rv).collect(),
            ..Default::default()
        };
        r.apply(1_006_500, &reveals, &set1).unwrap();
        let withholder = PublicKey::of(&keys[3]);
        let before = r.state().node(&withholder).unwrap().runtime_mw;
        let a = r.apply(1_012_000, &BlockBody::default(), &set1).unwrap();
        let round = a
            .round
            .expect("epoch 0's round is finished by the second change");
        assert_eq!(
            (round.epoch, round.commits.len(), round.reveals.len()),
            (0, 4, 3)
        );
        // Anyone holding epoch 0's set recomputes the value the leaders now follow.
        let out = round
            .verify(&g.chain_id, &set0)
            .expect("the round verifies");
        assert_eq!(out.value, r.seed());
        assert_ne!(r.seed(), g.hash());
        assert_eq!(out.withheld, vec![withholder]);
        let after = r.state().node(&withholder).unwrap().runtime_mw;
        assert!(
            after < before,
            "the withholder is penalized: {after} < {before}"
        );
    }

    /// The queries as they were first written — probing clones and finished rounds — to check
    /// the cheap versions against.
    mod probes {
        use super::*;
        use crate::crypto::Signature;

        pub fn admits(r: &Registry, report: &ObservationReport) -> bool {
            let Ok(v) = report.verify(&r.chain_id) else {
                return false;
            };
            matches!(r.state.clone().record(v, &r.params), Ok(Recorded::New))
        }

        pub fn beacon_epoch(r: &Registry) -> u64 {
            r.committing.finish().0.epoch
        }

        pub fn needs_commit(r: &Registry, key: &PublicKey) -> bool {
            let probe = BeaconCommit {
                epoch: beacon_epoch(r),
                validator: *key,
                commitment: Hash::ZERO,
                signature: Signature([0; 64]),
            };
            let member = !matches!(
                r.committing.clone().add_commit(probe),
                Err(BeaconError::NotValidator(_))
            );
            member
                && !r
                    .committing
                    .finish()
                    .0
                    .commits
                    .iter()
                    .any(|c| c.validator == *key)
        }

        pub fn reveal_due(r: &Registry, key: &PublicKey) -> Option<u64> {
            let (round, _) = r.revealing.as_ref()?.finish();
            (round.commits.iter().any(|c| c.validator == *key)
                && !round.reveals.iter().any(|x| x.validator == *key))
            .then_some(round.epoch)
        }

        pub fn admits_commit(r: &Registry, c: &BeaconCommit) -> bool {
            let (round, _) = r.committing.finish();
            !round.commits.iter().any(|k| k.validator == c.validator)
                && r.committing.clone().add_commit(*c).is_ok()
        }

        pub fn admits_reveal(r: &Registry, x: &BeaconReveal) -> bool {
            let Some(rv) = &r.revealing else {
                return false;
            };
            !rv.finish()
                .0
                .reveals
                .iter()
                .any(|k| k.validator == x.validator)
                && rv.clone().add_reveal(*x).is_ok()
        }
    }

    /// Through two epoch changes, commits, reveals, a withholder, an equivocating committer and
    /// reports of three epochs, the registry's queries answer what the clone-and-finish probes
    /// they replace answered.
    #[test]
    fn queries_agree_with_the_clone_and_finish_probes() {
        use crate::chain::beacon::{BeaconCommit, BeaconSecret};
        let (g, keys) = setup();
        let mut r = Registry::genesis(g.start());
        let outsider = SigningKey::from_bytes(&[99; 32]);
        let everyone: Vec<&SigningKey> = keys.iter().chain([&outsider]).collect();
        // Per chain epoch, a commit and reveal per key, a second (equivocating) commit and a
        // forged one.
        let drawn = |e: u64, salt: u8| -> Vec<(BeaconCommit, BeaconReveal)> {
            everyone
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    BeaconCommit::new(&g.chain_id, k, e, BeaconSecret([i as u8 + salt; 32]))
                })
                .collect()
        };
        let mut reports: Vec<ObservationReport> =
            (998..1012).flat_map(|w| all_up(&g, &keys, w)).collect();
        let mut lie = ObservationReport::sign(
            &g.chain_id,
            &keys[0],
            PublicKey::of(&keys[1]),
            1001,
            Measurements::DOWN,
        );
        reports.push(lie);
        lie.measurements.rtt_us = 7;
        reports.push(lie); // badly signed now
        // Per query (needs_commit, reveal_due, admits_commit, admits_reveal, admits): whether
        // it answered no, yes.
        let seen = std::cell::RefCell::new([[false; 2]; 5]);
        let saw = |q: usize, yes: bool| seen.borrow_mut()[q][yes as usize] = true;
        let check = |r: &Registry| {
            assert_eq!(r.beacon_epoch(), probes::beacon_epoch(r));
            for k in &everyone {
                let k = PublicKey::of(k);
                assert_eq!(r.needs_commit(&k), probes::needs_commit(r, &k));
                assert_eq!(r.reveal_due(&k), probes::reveal_due(r, &k));
                saw(0, r.needs_commit(&k));
                saw(1, r.reveal_due(&k).is_some());
            }
            for e in 0..3 {
                for salt in [7, 50] {
                    for (c, x) in drawn(e, salt) {
                        let mut forged = c;
                        forged.signature.0[5] ^= 1;
                        for c in [c, forged] {
                            assert_eq!(r.admits_commit(&c), probes::admits_commit(r, &c));
                            saw(2, r.admits_commit(&c));
                        }
                        assert_eq!(r.admits_reveal(&x), probes::admits_reveal(r, &x));
                        saw(3, r.admits_reveal(&x));
                    }
                }
            }
            for rep in &reports {
                assert_eq!(r.admits(rep), probes::admits(r, rep), "{rep:?}");
                saw(4, r.admits(rep));
            }
        };
        let set0 = g.validators.clone();
        let mut admitted = 0;
        check(&r);
        let first = drawn(0, 7);
        let commits = BlockBody {
            // Keys 0..3 commit; key 2 then equivocates.
            beacon_commits: first[..4].iter().map(|(c, _)| *c).collect(),
            ..Default::default()
        };
        r.apply(1_000_500, &commits, &set0).unwrap();
        check(&r);
        let twice = BlockBody {
            beacon_commits: vec![drawn(0, 50)[2].0],
            ..Default::default()
        };
        r.apply(1_000_600, &twice, &set0).unwrap();
        check(&r);
        for w in 1000..1005 {
            let body = with_reports(all_up(&g, &keys, w));
            admitted += body.reports.iter().filter(|x| r.admits(x)).count();
            r.apply(w * 1_000 + 700, &body, &set0).unwrap();
            check(&r);
        }
        let set1 = r
            .apply(1_006_000, &BlockBody::default(), &set0)
            .unwrap()
            .next
            .expect("epoch 1");
        check(&r);
        // Keys 0 and 1 reveal; 3 withholds, 2 has no commit left.
        let reveals = BlockBody {
            beacon_reveals: first[..2].iter().map(|(_, x)| *x).collect(),
            beacon_commits: drawn(1, 7)[1..3].iter().map(|(c, _)| *c).collect(),
            ..Default::default()
        };
        r.apply(1_006_500, &reveals, &set1).unwrap();
        check(&r);
        r.apply(1_012_000, &BlockBody::default(), &set1).unwrap();
        check(&r);
        assert!(admitted > 0);
        assert_eq!(
            *seen.borrow(),
            [[true; 2]; 5],
            "every query answered both ways"
        );
    }
}
