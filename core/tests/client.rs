//! The light-client shell (`trustchain_core::client`) over a transport that serves the fixture's
//! proofs: the charter is verified as record 0 once per relay, records are checked against it, no
//! charter means no green, and a proof of another record than the one asked for fails.

mod common;

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use common::*;
use trustchain_core::chain::block::EpochChange;
use trustchain_core::chain::validators::ValidatorSet;
use trustchain_core::client::{CertifiedBlock, CharterJson, CharterUse, Shell, Transport};
use trustchain_core::encoding::DecodeError;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::verify::light_client::TrustedCheckpoint;
use trustchain_core::verify::proof::{RecordProof, Step};

/// Polls a future that never waits (the mock transport answers at once).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

struct Mock {
    fx: Fixture,
    /// The hand-overs the relay serves (one per answer, to walk the shell's loop).
    changes: Vec<EpochChange>,
    /// Record 0 is refused (the relay will not serve the charter).
    no_charter: bool,
    /// Every proof served is of record `n` instead.
    swap: Option<u64>,
    asked_for_charter: Cell<u32>,
}

impl Mock {
    fn new() -> Mock {
        Mock {
            fx: Fixture::new(),
            changes: vec![],
            no_charter: false,
            swap: None,
            asked_for_charter: Cell::new(0),
        }
    }
    fn shell(&self) -> Shell {
        Shell::new(TrustedCheckpoint {
            chain_id: CHAIN_ID.into(),
            height: 99,
            block: self.fx.parent.hash(),
            validators: self.fx.set.clone(),
        })
    }
}

impl Transport for Mock {
    type Error = String;
    fn name(&self) -> &str {
        "mock"
    }
    async fn trusted_checkpoint(&self) -> Result<TrustedCheckpoint, String> {
        Err("not here".into())
    }
    async fn record_proof(
        &self,
        _: &ScenarioId,
        index: u64,
    ) -> Result<Result<RecordProof, DecodeError>, String> {
        if index == 0 {
            self.asked_for_charter.set(self.asked_for_charter.get() + 1);
            if self.no_charter {
                return Err("503 try later".into());
            }
        }
        Ok(Ok(self.fx.proof(self.swap.unwrap_or(index))))
    }
    async fn block(&self, _: Option<u64>) -> Result<CertifiedBlock, String> {
        Err("not here".into())
    }
    async fn epoch_changes(&self, from: u64) -> Result<Vec<EpochChange>, String> {
        Ok(self
            .changes
            .iter()
            .filter(|c| c.next.epoch >= from)
            .take(1)
            .cloned()
            .collect())
    }
}

#[test]
fn records_are_checked_against_the_charter_verified_once_as_record_0() {
    let t = Mock::new();
    let shell = t.shell();
    let id = sid(SCENARIO);
    for _ in 0..2 {
        let c = block_on(shell.fetch_and_verify(&t, &id, 1)).unwrap();
        assert!(c.verdict.is_verified(), "{:?}", c.verdict);
        assert_eq!(c.charter, CharterUse::Verified { block: 100 });
        assert_eq!(c.rules_charter.as_ref(), Some(&t.fx.charter));
        assert_eq!(c.validators.as_ref(), Some(&t.fx.set));
    }
    assert_eq!(
        t.asked_for_charter.get(),
        1,
        "the charter is cached per relay"
    );
    // Asked afresh, it is fetched again (with the checkpoint it verified).
    let v = block_on(shell.verified_charter(&t, &id)).unwrap();
    assert_eq!((v.block, v.checkpoint), (100, t.fx.checkpoint.clone()));
    assert_eq!(t.asked_for_charter.get(), 2);
    // Record 0 itself is checked without a charter.
    let c = block_on(shell.fetch_and_verify(&t, &id, 0)).unwrap();
    assert!(c.verdict.is_verified());
    assert_eq!(c.charter, CharterUse::NotSupplied);
}

#[test]
fn no_charter_no_green() {
    let mut t = Mock::new();
    t.no_charter = true;
    let c = block_on(t.shell().fetch_and_verify(&t, &sid(SCENARIO), 1)).unwrap();
    assert_eq!(c.verdict.failed_step(), Some(Step::Rules));
    let CharterUse::Unverified(note) = &c.charter else {
        panic!("{:?}", c.charter)
    };
    assert!(note.starts_with("charter not fetched: 503"), "{note}");
    let reason = &c.verdict.outcome.as_ref().unwrap_err().reason;
    assert!(
        reason.contains("charter (record 0) was not verified"),
        "{reason}"
    );
}

#[test]
fn a_proof_of_another_record_fails_its_decode_step() {
    let mut t = Mock::new();
    t.swap = Some(2);
    let c = block_on(t.shell().fetch_and_verify(&t, &sid(SCENARIO), 1)).unwrap();
    assert_eq!(c.verdict.failed_step(), Some(Step::Decode));
    let reason = &c.verdict.outcome.as_ref().unwrap_err().reason;
    assert!(
        reason.contains(
            "asked for record 1 of demo/budget, the relay answered with a proof of record 2"
        ),
        "{reason}"
    );
    // A charter that is not record 0 of the scenario is not used.
    t.swap = Some(1);
    let v = block_on(t.shell().verified_charter(&t, &sid(SCENARIO)));
    assert_eq!(v.unwrap_err(), "record 0 is not this scenario's charter");
}

#[test]
fn a_charter_as_json_is_the_charter_or_an_answer_holding_it() {
    let charter = Fixture::new().charter;
    let bare = serde_json::to_string(&charter).unwrap();
    let wrapped = format!(r#"{{"id":"demo/budget","size":3,"charter":{bare}}}"#);
    for text in [bare, wrapped] {
        let read: CharterJson = serde_json::from_str(&text).unwrap();
        assert_eq!(read.into_charter(), charter);
    }
    assert!(serde_json::from_str::<CharterJson>("[1]").is_err());
}

#[test]
fn epochs_are_followed_hand_over_by_hand_over_and_a_forged_one_stops_the_walk() {
    let set2 = validator_set(2, &EPOCH2);
    let set3 = validator_set(3, &EPOCH1);
    let change = |height, epoch, set: &ValidatorSet, next: &ValidatorSet, signers: &[u8]| {
        let header = block(height, epoch, T0 + height * 1000, set, next);
        EpochChange {
            certificate: certify(&header, set, signers),
            header,
            next: next.clone(),
        }
    };
    let mut t = Mock::new();
    let set1 = t.fx.set.clone();
    t.changes = vec![
        change(110, 1, &set1, &set2, &[12, 13, 14]),
        change(120, 2, &set2, &set3, &[31, 32, 33]),
    ];
    let shell = t.shell();
    block_on(shell.follow_epochs(&t, 2));
    assert_eq!(
        shell.with_client(|c| c.epoch()),
        2,
        "up to the epoch asked for"
    );
    block_on(shell.follow_epochs(&t, u64::MAX));
    assert_eq!(
        shell.with_client(|c| c.epoch()),
        3,
        "as far as the relay serves"
    );

    // The second hand-over signed by too little of epoch 2's weight: the walk stops at 2.
    t.changes[1] = change(120, 2, &set2, &set3, &[31]);
    let shell = t.shell();
    block_on(shell.follow_epochs(&t, u64::MAX));
    assert_eq!(shell.with_client(|c| c.epoch()), 2);
}
