//! The simulated disk's cost: a write-ahead log of 1000 appends of 128 bytes with a
//! `sync_data` every 10 appends, on one host, in virtual time.
//!
//! `cargo bench --bench disk`
//!
//! Printed: the real time per iteration and per operation (an append or a sync), the
//! virtual time one iteration takes (the syncs' drawn latency, 50 to 500 µs each by
//! default), and the real cost of one simulated `fsync`, measured as the difference
//! between a log that syncs after every append and one that never syncs, per sync.
//! A simulated sync touches no real disk, so it costs what a few memory copies cost.

use futures::io::AsyncWriteExt;
use seedloop::fs::File;
use seedloop::net::Host;
use std::time::{Duration, Instant};

const APPENDS: usize = 1000;
const ENTRY_BYTES: usize = 128;
const SAMPLES: usize = 7;
const ITERATIONS_PER_SAMPLE: u64 = 50;

/// One iteration: the log on host `db`, syncing every `sync_every` appends (0: never).
async fn write_ahead_log(sync_every: usize) {
    let db = Host::new("db");
    db.spawn(async move {
        let mut log = File::create("wal").await.expect("create");
        let entry = [7u8; ENTRY_BYTES];
        for append in 1..=APPENDS {
            log.write_all(&entry).await.expect("append");
            if sync_every > 0 && append % sync_every == 0 {
                log.sync_data().await.expect("sync");
            }
        }
    })
    .await
    .expect("the log task");
}

/// The median real time of one iteration, and the virtual time of one.
fn measure(sync_every: usize) -> (Duration, Duration) {
    let mut samples = Vec::new();
    let mut seed = 0;
    for _ in 0..SAMPLES {
        let start = Instant::now();
        for _ in 0..ITERATIONS_PER_SAMPLE {
            seed += 1;
            seedloop::Sim::new(seed)
                .run(write_ahead_log(sync_every))
                .expect("the workload failed");
        }
        samples.push(start.elapsed() / ITERATIONS_PER_SAMPLE as u32);
    }
    samples.sort();
    let mut sim = seedloop::Sim::new(1);
    sim.run(write_ahead_log(sync_every))
        .expect("the workload failed");
    (samples[SAMPLES / 2], sim.stats().elapsed)
}

fn main() {
    // `cargo test --benches` runs this too: one quick pass is enough there.
    if std::env::args().any(|argument| argument == "--test") {
        seedloop::Sim::new(0).run(write_ahead_log(10)).unwrap();
        return;
    }
    let (every_10, virtual_10) = measure(10);
    let (every_1, _) = measure(1);
    let (never, _) = measure(0);
    let operations = (APPENDS + APPENDS / 10) as f64;
    println!("WAL: {APPENDS} appends of {ENTRY_BYTES} bytes, sync_data every 10 (medians of {SAMPLES} samples)");
    println!(
        "  real time per iteration            {:>10.1} µs",
        every_10.as_nanos() as f64 / 1e3
    );
    println!(
        "  real time per operation            {:>10.0} ns   (append or sync)",
        every_10.as_nanos() as f64 / operations
    );
    println!(
        "  virtual time of an iteration       {:>10.1} ms",
        virtual_10.as_secs_f64() * 1e3
    );
    let per_sync = (every_1.as_nanos() as f64 - never.as_nanos() as f64) / APPENDS as f64;
    println!("  real cost of one simulated fsync   {per_sync:>10.0} ns   (sync after every append, minus never)");
}
