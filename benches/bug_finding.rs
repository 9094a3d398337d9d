//! Bug-finding power: for programs with a known interleaving bug, the median number of
//! seeds a sweep runs before the first failing one, per policy.
//!
//! `cargo bench --bench bug_finding`
//!
//! Each policy sweeps 21 disjoint windows of seeds (window `k` starts at seed
//! `k * 1_000_000`) and stops at the first failure; the table shows the median and
//! the worst window, in seeds run. "never" means no failure within the cap.

use seedloop::{Check, Policy};
use std::future::Future;

const WINDOWS: u64 = 21;
const CAP: u64 = 20_000;

#[path = "../tests/common/bug_programs.rs"]
mod bug_programs;

use bug_programs::{lost_update, worker_preempted_mid_update};

/// Seeds run in the window starting at `start` until the first failure.
fn seeds_to_failure<Fut: Future<Output = ()>>(
    (policy, horizon): &(Policy, u64),
    start: u64,
    program: impl Fn() -> Fut,
) -> Option<u64> {
    Check::new()
        .seeds(start..start + CAP)
        .policy(policy.clone())
        .pct_horizon(*horizon)
        .env(Default::default())
        .try_run(program)
        .err()
        .map(|failure| failure.seed - start + 1)
}

fn report<Fut: Future<Output = ()>>(name: &str, program: impl Fn() -> Fut + Copy) {
    println!("{name}");
    println!(
        "  {:<12} {:>14} {:>14}",
        "policy", "median seeds", "worst window"
    );
    let default = seedloop::DEFAULT_PCT_HORIZON;
    let configurations = [
        (Policy::Fifo, default),
        (Policy::Random, default),
        (Policy::Pct { depth: 2 }, default),
        (Policy::Pct { depth: 3 }, default),
        (Policy::Pct { depth: 2 }, 10),
        (Policy::Pct { depth: 3 }, 10),
    ];
    for configuration in &configurations {
        let (policy, horizon) = configuration;
        let label = if *policy == Policy::Fifo || *policy == Policy::Random {
            policy.to_string()
        } else {
            format!("{policy} k={horizon}")
        };
        let mut found: Vec<Option<u64>> = (0..WINDOWS)
            .map(|window| seeds_to_failure(configuration, window * 1_000_000, program))
            .collect();
        found.sort_by_key(|seeds| seeds.unwrap_or(u64::MAX));
        let show =
            |seeds: Option<u64>| seeds.map_or("never".to_string(), |seeds| seeds.to_string());
        println!(
            "  {:<12} {:>14} {:>14}",
            label,
            show(found[found.len() / 2]),
            show(*found.last().unwrap())
        );
    }
}

fn main() {
    // Expected panics inside the simulations would print one message each.
    std::panic::set_hook(Box::new(|_| {}));
    println!("bug-finding power: seeds until the first failure (cap {CAP}, {WINDOWS} windows)\n");
    report(
        "depth-2 ordering bug (intermediate state, yields only)",
        || worker_preempted_mid_update(2),
    );
    println!();
    report("lost update (2 tasks x 3 read-yield-write)", lost_update);
    println!();
    report(
        "long preemption (checker runs 20 steps inside the worker's update)",
        || worker_preempted_mid_update(20),
    );
}
