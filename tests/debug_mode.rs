//! Debug mode: slow polls and task errors never retrieved are reported, and turning
//! it on never changes an execution.

use seedloop::harness::env::EnvConfig;
use seedloop::task::Builder;
use seedloop::{Check, DebugFinding, Sim};
use std::time::Duration;

/// A worker that blocks the loop for `blocking` of real time, then waits.
async fn blocking_worker(blocking: Duration) {
    let worker = Builder::new().name("parser").spawn(async move {
        std::thread::sleep(blocking); // a synchronous call in async code
        seedloop::time::sleep(Duration::from_millis(1)).await;
    });
    worker.await.unwrap();
}

#[test]
fn a_blocking_call_is_reported_as_a_slow_poll_naming_the_task_and_its_await_point() {
    let mut sim = Sim::new(0).debug(true).slow_poll(Duration::from_millis(20));
    sim.run(blocking_worker(Duration::from_millis(40))).unwrap();
    let slow: Vec<&DebugFinding> = sim.debug_findings().iter().collect();
    assert_eq!(slow.len(), 1, "{slow:?}");
    let DebugFinding::SlowPoll {
        name,
        real_time,
        site,
        ..
    } = slow[0]
    else {
        panic!("{slow:?}");
    };
    assert_eq!(name.as_deref(), Some("parser"));
    assert!(*real_time >= Duration::from_millis(40));
    assert!(
        site.is_some_and(|site| site.file().ends_with("debug_mode.rs")),
        "{site:?}"
    );
    assert!(
        slow[0].to_string().contains("task 1 (parser)"),
        "{}",
        slow[0]
    );
}

#[test]
fn debug_mode_changes_nothing_in_the_execution() {
    let mut on = Sim::new(3).debug(true).slow_poll(Duration::from_millis(5));
    on.run(blocking_worker(Duration::from_millis(10))).unwrap();
    let mut off = Sim::new(3);
    off.run(blocking_worker(Duration::from_millis(10))).unwrap();
    assert_eq!(on.trace().to_string(), off.trace().to_string());
    assert!(off.debug_findings().is_empty(), "off by default");
    assert!(!on.debug_findings().is_empty());
}

#[test]
fn a_caught_panic_nobody_awaited_is_an_error_never_retrieved() {
    let mut sim = Sim::new(0).debug(true);
    sim.run(async {
        let dropped = Builder::new()
            .name("forgotten")
            .catch_panics(true)
            .spawn(async { panic!("lost error") });
        drop(dropped);
        let awaited = Builder::new()
            .catch_panics(true)
            .spawn(async { panic!("seen") });
        assert!(awaited.await.unwrap_err().is_panic());
        seedloop::time::sleep(Duration::from_millis(1)).await;
    })
    .unwrap();
    let findings = sim.debug_findings();
    assert_eq!(
        findings.len(),
        1,
        "only the error nobody took: {findings:?}"
    );
    let text = findings[0].to_string();
    assert!(text.contains("task error was never retrieved"), "{text}");
    assert!(
        text.contains("forgotten") && text.contains("lost error"),
        "{text}"
    );
}

#[test]
fn seedloop_debug_turns_it_on_for_sweeps() {
    let env = EnvConfig::parse([("SEEDLOOP_DEBUG", "1")]).unwrap();
    assert_eq!(env.debug, Some(true));
    let failure = Check::new()
        .seeds(0..1)
        .env(env)
        .try_run(|| async { panic!("to see the configuration") })
        .unwrap_err();
    assert!(failure.config.debug);
    let error = EnvConfig::parse([("SEEDLOOP_DEBUG", "maybe")]).unwrap_err();
    assert!(error.to_string().contains("SEEDLOOP_DEBUG"), "{error}");
}
