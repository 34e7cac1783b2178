//! A small timing harness for `escrow-lab bench`: medians of many timed samples, measured in
//! the same process and the same run for this project and the peer it is compared with.
//!
//! Each sample times a batch of iterations large enough to dwarf the clock's resolution
//! (≥ 20 µs), after a warm-up; the reported figure is the median per-iteration time over
//! the samples collected within the time budget (at least `MIN_SAMPLES`, for slow operations
//! possibly a single one). This is not criterion — criterion's benches (`cargo bench`) remain
//! the reference — but it gives one table, one process, one command.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Fewest samples taken, whatever the budget.
const MIN_SAMPLES: usize = 5;
/// Shortest batch, so that clock resolution does not matter.
const MIN_BATCH: Duration = Duration::from_micros(20);

/// A measured median.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Median time per iteration, seconds.
    pub seconds: f64,
    /// Iterations run in all.
    pub iterations: u64,
}

/// Times `f`, returning the median time per call.
pub fn time(budget: Duration, mut f: impl FnMut()) -> Sample {
    // Warm-up, and an estimate of one call.
    let start = Instant::now();
    let mut warm = 0u64;
    while warm == 0 || (start.elapsed() < budget / 10 && warm < 1000) {
        f();
        warm += 1;
    }
    let one = start.elapsed().as_secs_f64() / warm as f64;
    let batch = ((MIN_BATCH.as_secs_f64() / one.max(1e-9)).ceil() as u64).max(1);
    let mut per = Vec::new();
    let mut iterations = warm;
    let t0 = Instant::now();
    while per.len() < MIN_SAMPLES || (t0.elapsed() < budget && per.len() < 10_000) {
        let s = Instant::now();
        for _ in 0..batch {
            f();
        }
        per.push(s.elapsed().as_secs_f64() / batch as f64);
        iterations += batch;
        if one > budget.as_secs_f64() {
            break; // one call exceeds the budget: a single sample is all we can afford
        }
    }
    Sample {
        seconds: median(&mut per),
        iterations,
    }
}

/// Times `routine` on a fresh input from `setup` each call; only `routine` is timed (its
/// output is dropped outside the timing).
pub fn time_with_setup<I, O>(
    budget: Duration,
    mut setup: impl FnMut() -> I,
    mut routine: impl FnMut(I) -> O,
) -> Sample {
    let mut per = Vec::new();
    let t0 = Instant::now();
    let mut iterations = 0u64;
    while per.len() < MIN_SAMPLES || (t0.elapsed() < budget && per.len() < 100_000) {
        let input = setup();
        let s = Instant::now();
        let out = routine(input);
        per.push(s.elapsed().as_secs_f64());
        drop(black_box(out));
        iterations += 1;
    }
    // The first samples warm caches: drop the first tenth.
    let skip = per.len() / 10;
    let mut kept = per.split_off(skip);
    Sample {
        seconds: median(&mut kept),
        iterations,
    }
}

/// Times two variants of one operation in alternating rounds (A, B, A, B, …), so that drift
/// in the machine's speed (another process, frequency changes) falls on both alike; returns
/// the median of each over all its rounds' samples.
pub fn time_pair<IA, OA, IB, OB>(
    budget: Duration,
    mut setup_a: impl FnMut() -> IA,
    mut a: impl FnMut(IA) -> OA,
    mut setup_b: impl FnMut() -> IB,
    mut b: impl FnMut(IB) -> OB,
) -> (Sample, Sample) {
    const ROUNDS: u32 = 8;
    let mut sa = Vec::new();
    let mut sb = Vec::new();
    for _ in 0..ROUNDS {
        let round = budget / ROUNDS;
        for (samples, run) in [(&mut sa, 0), (&mut sb, 1)] {
            let t0 = Instant::now();
            let mut n = 0;
            while n < 3 || t0.elapsed() < round {
                let took = if run == 0 {
                    let input = setup_a();
                    let s = Instant::now();
                    let out = a(input);
                    let e = s.elapsed();
                    drop(black_box(out));
                    e
                } else {
                    let input = setup_b();
                    let s = Instant::now();
                    let out = b(input);
                    let e = s.elapsed();
                    drop(black_box(out));
                    e
                };
                samples.push(took.as_secs_f64());
                n += 1;
            }
        }
    }
    let (na, nb) = (sa.len() as u64, sb.len() as u64);
    (
        Sample {
            seconds: median(&mut sa),
            iterations: na,
        },
        Sample {
            seconds: median(&mut sb),
            iterations: nb,
        },
    )
}

/// Times one run of `f` (for operations of seconds, measured `runs` times).
pub fn time_runs(runs: usize, mut f: impl FnMut()) -> Sample {
    let mut per: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    Sample {
        seconds: median(&mut per),
        iterations: runs.max(1) as u64,
    }
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn counts_every_call() {
        let mut calls = 0u64;
        let s = time(Duration::from_millis(5), || calls += 1);
        assert_eq!(s.iterations, calls);
        assert!(s.seconds >= 0.0);
    }
}
