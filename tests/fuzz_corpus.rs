//! The fuzz targets' checked-in corpora, replayed in a plain `cargo test` (no nightly,
//! no cargo-fuzz): each file of `fuzz/corpus/<target>/` runs the target's program and
//! checks, so an input the fuzzer once found (copy it into the corpus) stays a
//! regression test.

mod common;

#[path = "../fuzz/programs/group.rs"]
mod group;
#[path = "../fuzz/programs/schedule.rs"]
mod schedule;
#[path = "../fuzz/programs/sync.rs"]
mod sync;

use std::path::{Path, PathBuf};

/// Every corpus file of `target`, in name order.
fn corpus(target: &str) -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    // A replay that ran nothing must not pass.
    assert!(
        files.len() >= 3,
        "{} holds too few inputs",
        directory.display()
    );
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    for file in corpus(target) {
        let bytes = std::fs::read(&file).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_default();
            panic!(
                "{target}: corpus input {} fails:\n{message}",
                file.display()
            );
        }
    }
}

#[test]
fn every_schedule_corpus_input_passes() {
    replay("schedule", schedule::check);
}

#[test]
fn every_sync_corpus_input_passes() {
    replay("sync", sync::check);
}

#[test]
fn every_group_corpus_input_passes() {
    replay("group", group::check);
}

/// The user-facing entry: empty bytes are the FIFO order, and a failure panics with
/// the report.
#[test]
fn fuzz_run_reads_the_schedule_from_the_bytes() {
    let order = |bytes: &[u8]| seedloop::fuzz::run(bytes, || common::spawn_order(&['a', 'b']));
    assert_eq!(order(&[]), "ab", "empty bytes: the FIFO order");
    assert_eq!(order(&[0, 0, 0]), "ab");
    assert!([order(&[1]), order(&[0, 1]), order(&[1, 1])].contains(&"ba".to_string()));
    let failure =
        std::panic::catch_unwind(|| seedloop::fuzz::run(&[], || async { panic!("found it") }))
            .unwrap_err();
    let report = failure.downcast_ref::<String>().unwrap();
    assert!(report.contains("found it"), "{report}");
}
