//! A tiny measuring loop shared by the core benches: runs a closure until enough time has
//! passed, prints ns per iteration and throughput. No framework: the numbers are printed, and
//! ratios within one run are what count on a shared, noisy machine.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs `f` repeatedly for about `budget` and prints `name`, ns/op and MB/s for `bytes` per op.
#[allow(clippy::disallowed_methods)] // a bench measures wall time; core logic never does
pub fn measure<T>(name: &str, bytes: usize, budget: Duration, mut f: impl FnMut() -> T) -> f64 {
    for _ in 0..100 {
        black_box(f());
    }
    let start = Instant::now();
    let mut iterations: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..64 {
            black_box(f());
        }
        iterations += 64;
    }
    let ns = start.elapsed().as_nanos() as f64 / iterations as f64;
    let mbps = if bytes > 0 {
        bytes as f64 / ns * 1e3
    } else {
        0.0
    };
    println!("{name:<44} {ns:>12.1} ns/op {mbps:>10.1} MB/s");
    ns
}

/// The time budget per measurement: short in `--quick` runs (`IORELAY_BENCH_QUICK`).
#[must_use]
pub fn budget() -> Duration {
    if std::env::args().any(|a| a == "--quick") {
        Duration::from_millis(50)
    } else {
        Duration::from_millis(400)
    }
}
