//! Sample recording shared by the core and relay benches: every timed routine records
//! `(iterations, elapsed)` per criterion sample, and a ratio uses the median per-iteration time of
//! the measurement samples (the last `SAMPLES`; criterion's warm-up samples come first).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Samples per benchmark (criterion's `sample_size`).
pub const SAMPLES: usize = 10;

static RECORDED: Mutex<BTreeMap<&'static str, Vec<(u64, Duration)>>> = Mutex::new(BTreeMap::new());

/// Records a sample of `iters` iterations that took `d`; returns `d` (for `iter_custom`).
pub fn record(id: &'static str, iters: u64, d: Duration) -> Duration {
    RECORDED
        .lock()
        .expect("recorder lock")
        .entry(id)
        .or_default()
        .push((iters, d));
    d
}

/// Runs `f` `iters` times and records the sample under `id`.
#[allow(dead_code)]
pub fn timed(id: &'static str, iters: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    record(id, iters, start.elapsed())
}

/// Median time per iteration of the measurement samples of `id`, in nanoseconds.
pub fn ns(id: &str) -> Option<f64> {
    let rec = RECORDED.lock().expect("recorder lock");
    let s = rec.get(id)?;
    let tail = &s[s.len().saturating_sub(SAMPLES)..];
    let mut per: Vec<f64> = tail
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, d)| d.as_nanos() as f64 / *n as f64)
        .collect();
    if per.is_empty() {
        return None;
    }
    per.sort_by(f64::total_cmp);
    Some(per[per.len() / 2])
}

/// Items per second of `id`, whose one iteration handles `per_iter` items.
#[allow(dead_code)]
pub fn rate(id: &str, per_iter: u64) -> Option<f64> {
    ns(id).map(|t| per_iter as f64 * 1e9 / t)
}
