#![no_main]
//! Decode and verify any receipt against a fixed trusted set (and the scenario's charter):
//! never a panic, and the verdict always reports every step with exactly one outcome.

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use trustchain_core::chain::validators::ValidatorSet;
use trustchain_core::scenario::charter::Charter;
use trustchain_core::verify::proof::{Step, StepStatus, Verdict};
use trustchain_core::verify::receipt;
use trustchain_core_fuzz::CHAIN_ID;

static SET: LazyLock<ValidatorSet> = LazyLock::new(trustchain_core_fuzz::validator_set);
static CHARTER: LazyLock<Charter> = LazyLock::new(trustchain_core_fuzz::charter);

fn check(v: &Verdict) {
    assert_eq!(v.steps.len(), Step::ALL.len(), "every step is reported");
    for (r, s) in v.steps.iter().zip(Step::ALL) {
        assert_eq!(r.step, s, "steps in order");
    }
    let failed = v
        .steps
        .iter()
        .filter(|r| r.status == StepStatus::Failed)
        .count();
    match &v.outcome {
        Ok(_) => assert_eq!(failed, 0),
        Err(f) => {
            assert_eq!(failed, 1);
            let pos = v.steps.iter().position(|r| r.step == f.step).unwrap();
            assert_eq!(v.steps[pos].status, StepStatus::Failed);
            assert!(
                v.steps[pos + 1..]
                    .iter()
                    .all(|r| r.status == StepStatus::Skipped)
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match receipt::from_bytes(data) {
        Ok(p) => {
            check(&p.verify(&SET, CHAIN_ID, None));
            check(&p.verify(&SET, CHAIN_ID, Some(&CHARTER)));
        }
        Err(e) => check(&Verdict::undecodable(&e)),
    }
});
