//! Fault injection: `buggify` fires on some seeds and never under Fifo or outside a
//! simulation; a `FaultPlan` crashes, restarts, partitions and heals hosts at drawn
//! times, replayably, lists what it did in failure reports, and repairs everything
//! when its span ends. Every case runs its seed twice and compares traces.

mod common;

use common::{run_twice, secs};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use seedloop::fault::{buggify, FaultPlan};
use seedloop::net::{Host, TcpListener, TcpStream};
use seedloop::time::sleep;
use seedloop::{Check, Policy, Sim};
use std::time::Duration;

#[test]
fn buggify_fires_on_some_seeds_and_replays() {
    let mut fired = 0;
    for seed in 0..200 {
        let (_, result) = run_twice(
            || Sim::new(seed),
            || async { (0..8).filter(|_| buggify()).count() },
        );
        if result.unwrap() > 0 {
            fired += 1;
        }
    }
    // A site is enabled on a quarter of the seeds and fires a quarter of its calls.
    assert!((20..=90).contains(&fired), "{fired} of 200 seeds");
}

#[test]
fn buggify_never_fires_under_fifo_or_outside_a_simulation() {
    assert!(!buggify());
    for seed in 0..100 {
        let fired = Sim::new(seed)
            .policy(Policy::Fifo)
            .run(async { (0..50).any(|_| buggify()) })
            .unwrap();
        assert!(!fired, "seed {seed}");
    }
}

fn plan() -> FaultPlan {
    FaultPlan::default()
        .mean_gap(secs(2))
        .downtime(secs(1), secs(3))
        .partition_time(secs(1), secs(3))
        .active(secs(30))
}

/// Three hosts idle for a minute while the plan works on them.
async fn three_idle_hosts() {
    for name in ["a", "b", "c"] {
        Host::new(name).on_boot(|| async {
            sleep(secs(3600)).await;
        });
    }
    sleep(secs(60)).await;
    for name in ["a", "b", "c"] {
        assert!(
            Host::lookup(name).unwrap().is_up(),
            "{name} restarted by the end"
        );
    }
}

#[test]
fn a_fault_plan_crashes_restarts_partitions_and_heals_replayably() {
    let mut crashed_somewhere = false;
    for seed in 0..6 {
        let (sim, result) = run_twice(|| Sim::new(seed).faults(plan()), three_idle_hosts);
        result.unwrap();
        let trace = sim.trace().to_string();
        assert!(trace.contains("task 1 (faults)"), "{trace}");
        if trace.contains("crashed") {
            crashed_somewhere = true;
            assert!(trace.contains("restarted"), "a crashed host comes back");
            assert!(
                trace.contains("(a/boot)")
                    || trace.contains("(b/boot)")
                    || trace.contains("(c/boot)")
            );
        }
        // Every partition the plan made is healed.
        assert_eq!(
            trace.matches("partitioned").count(),
            trace.matches("healed").count()
        );
    }
    assert!(crashed_somewhere, "six seeds, no crash");
}

#[test]
fn a_fault_plan_does_nothing_under_fifo() {
    let (sim, result) = run_twice(
        || Sim::new(3).policy(Policy::Fifo).faults(plan()),
        three_idle_hosts,
    );
    result.unwrap();
    let trace = sim.trace().to_string();
    assert!(
        !trace.contains("crashed") && !trace.contains("partitioned"),
        "{trace}"
    );
}

/// A client that must get every answer from a server on `db`: a crash of `db` makes a
/// request fail.
async fn a_client_that_assumes_no_crash() {
    let db = Host::new("db");
    db.on_boot(|| async {
        let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            drop(seedloop::spawn(async move {
                let mut request = [0; 4];
                while stream.read_exact(&mut request).await.is_ok() {
                    if stream.write_all(&request).await.is_err() {
                        break;
                    }
                }
            }));
        }
    });
    sleep(Duration::from_millis(10)).await;
    let mut stream = TcpStream::connect("db:80").await.unwrap();
    for _ in 0..100 {
        stream.write_all(b"ping").await.unwrap();
        let mut reply = [0; 4];
        stream.read_exact(&mut reply).await.expect("db answers");
        sleep(secs(1)).await;
    }
}

#[test]
fn a_failure_under_a_fault_plan_lists_the_faults_and_replays() {
    let failure = Check::new()
        .seeds(0..50)
        .faults(FaultPlan::default().mean_gap(secs(5)).partitions(false))
        .try_run(a_client_that_assumes_no_crash)
        .expect_err("some seed crashes db mid-conversation");
    let report = failure.to_string();
    assert!(report.contains("faults in this run"), "{report}");
    assert!(report.contains("host db crashed at"), "{report}");
    let (replay, again) = run_twice(|| failure.sim(), a_client_that_assumes_no_crash);
    assert_eq!(again.unwrap_err().kind, failure.kind);
    assert_eq!(replay.trace().to_string(), failure.trace.to_string());
}
