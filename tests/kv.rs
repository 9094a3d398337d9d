//! The replicated key-value store of `examples/kv.rs` under crashes, partitions and
//! disk faults: the planted durability bug is found and replays, the fix passes.

#[path = "../examples/kv.rs"]
#[allow(dead_code)]
mod kv;

use kv::{fault_plan, scenario, sweep, Version};
use seedloop::{Policy, Sim};

#[test]
fn answering_before_the_log_is_synced_loses_an_acknowledged_write_that_the_seed_replays() {
    let failure = sweep(Version::GroupSync, 0..200).expect_err("the sweep finds the bug");
    let report = failure.to_string();
    assert!(report.contains("was lost"), "{report}");
    assert!(
        failure.trace.to_string().contains("kv1 lost power"),
        "the leader's crash is in the trace:\n{report}"
    );
    let replayed = failure
        .sim()
        .run(scenario(Version::GroupSync))
        .expect_err("the replay fails the same way");
    assert_eq!(replayed.trace.hash(), failure.trace.hash());
    assert_eq!(replayed.trace.to_string(), failure.trace.to_string());
}

#[test]
fn syncing_before_answering_keeps_every_acknowledged_write() {
    let summary =
        sweep(Version::SyncBeforeReply, 0..300).unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(summary.seeds_run, 300);
}

#[test]
fn the_production_order_injects_no_fault_and_hides_the_bug() {
    Sim::new(7)
        .policy(Policy::Fifo)
        .faults(fault_plan())
        .run(scenario(Version::GroupSync))
        .unwrap_or_else(|failure| panic!("{failure}"));
}
