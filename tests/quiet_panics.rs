//! A panic inside a simulation is reported once, by the failure report (which names
//! where it happened), not also through the panic hook: a sweep or property test that
//! runs many failing executions prints one report, not a message (or, with
//! `RUST_BACKTRACE=1`, a backtrace) per execution. Panics outside a simulation reach
//! the hook as usual. One test in its own binary: the panic hook is process-wide.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[test]
fn panics_caught_by_the_executor_do_not_reach_the_panic_hook() {
    let hook_calls = Arc::new(AtomicUsize::new(0));
    let counted = hook_calls.clone();
    std::panic::set_hook(Box::new(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
    }));

    let program = || async {
        let worker = seedloop::spawn(async {
            seedloop::yield_now().await;
            panic!("overdrawn");
        });
        let _ = worker.await;
    };
    let failure = seedloop::Check::new()
        .seeds(0..50)
        .try_run(program)
        .unwrap_err();
    // A caught child panic in a task group, many times over.
    for seed in 0..20 {
        seedloop::Sim::new(seed)
            .run(async {
                let result = seedloop::task::TaskGroup::<()>::scope(|group| async move {
                    group.spawn(async { panic!("child") as Result<(), ()> });
                    Ok(())
                })
                .await;
                assert!(result.is_err());
            })
            .unwrap();
    }
    assert_eq!(hook_calls.load(Ordering::SeqCst), 0);

    let seedloop::FailureKind::Panic {
        message, location, ..
    } = &failure.kind
    else {
        panic!("expected a panic failure");
    };
    assert_eq!(message, "overdrawn");
    let location = location.as_deref().expect("the report says where");
    assert!(location.starts_with("tests/quiet_panics.rs:"), "{location}");
    assert!(failure
        .to_string()
        .contains("panicked: overdrawn (at tests/quiet_panics.rs:"));

    // Outside a simulation the hook still sees panics.
    let outside = std::panic::catch_unwind(|| panic!("plain"));
    assert!(outside.is_err());
    assert_eq!(hook_calls.load(Ordering::SeqCst), 1);
    let _ = std::panic::take_hook();
}
