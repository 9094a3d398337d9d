//! The chat server's planted race under seedloop: a broadcast to a member that left
//! mid-send stops the broadcast, so a member still connected misses the message.

use seedloop::harness::env::EnvConfig;
use seedloop::net::NetConfig;
use seedloop::Check;
use std::time::Duration;
use tokio_chat_sim::chat::{scenario, Delivery};

/// A LAN: every message takes exactly 1 ms, so a client's two messages sent at one
/// instant (carol's goodbye, alice's "hi") arrive at one instant too, and the
/// schedule decides which the server handles first.
fn lan() -> NetConfig {
    NetConfig::default().latency(Duration::from_millis(1), Duration::from_millis(1))
}

fn sweep(delivery: Delivery) -> Result<seedloop::Summary, seedloop::Failure> {
    Check::new()
        .seeds(0..300)
        .env(EnvConfig::default())
        .net(lan())
        .name(format!("chat::{delivery:?}"))
        .try_run(move || scenario(delivery))
}

#[test]
fn a_sweep_finds_the_member_who_missed_a_message_and_the_seed_replays() {
    let failure = sweep(Delivery::StopAtFirstGone).expect_err("the sweep finds the race");
    let report = failure.to_string();
    assert!(report.contains("missed alice's message"), "{report}");
    let replayed = failure
        .sim()
        .run(scenario(Delivery::StopAtFirstGone))
        .expect_err("the replay fails the same way");
    assert_eq!(replayed.trace.to_string(), failure.trace.to_string());
}

#[test]
fn skipping_members_that_left_delivers_to_everyone_on_every_seed() {
    let summary = sweep(Delivery::SkipGone).unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(summary.seeds_run, 300);
}
