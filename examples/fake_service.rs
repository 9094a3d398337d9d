//! A cache in front of a fake database: `FakeService` stands for the database the
//! program does not own, `ServiceClient` calls it, and `spawn_blocking` decodes its
//! answers off the event loop.
//!
//! The database answers after 5 to 20 ms and fails one request in ten (it resets the
//! connection, before or after it handled the request). The cache retries a failed
//! read, and keeps what it read, so a second read of a key costs no virtual time.
//! A sweep runs the program under 200 seeds: each draws other latencies, failures
//! and job durations, and replays them exactly.
//!
//! Run it with `cargo run --release --example fake_service`.

use seedloop::net::{FakeService, Host, ServiceClient};
use seedloop::task::spawn_blocking;
use seedloop::time::Instant;
use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

/// A read-through cache over the database at `db:5432`.
struct Cache {
    database: ServiceClient,
    entries: BTreeMap<String, u64>,
    verbose: bool,
}

impl Cache {
    async fn get(&mut self, key: &str) -> io::Result<u64> {
        if let Some(value) = self.entries.get(key) {
            return Ok(*value);
        }
        let mut attempts = 0;
        let answer = loop {
            attempts += 1;
            match self.database.call(key.as_bytes()).await {
                Ok(answer) => break answer,
                // A read is idempotent: retrying it after a reset is safe.
                Err(error) if attempts < 5 && self.verbose => println!("    retry {key}: {error}"),
                Err(_) if attempts < 5 => {}
                Err(error) => return Err(error),
            }
        };
        // Decoding is CPU work: a job on the simulated thread pool.
        let value = spawn_blocking(move || String::from_utf8(answer).unwrap().parse().unwrap())
            .await
            .unwrap();
        self.entries.insert(key.to_string(), value);
        Ok(value)
    }
}

async fn program(verbose: bool) {
    let db = Host::new("db");
    let _database = FakeService::new()
        .latency(Duration::from_millis(5), Duration::from_millis(20))
        .failure_rate(0.1)
        .start(&db, 5432, |key: Vec<u8>| {
            // The fake's data: a key's value is its length times 100.
            std::future::ready((key.len() * 100).to_string().into_bytes())
        })
        .unwrap();
    let database = ServiceClient::connect("db:5432").await.unwrap();
    let mut cache = Cache {
        database,
        entries: BTreeMap::new(),
        verbose,
    };
    for key in ["user:1", "user:1", "session:42", "user:1"] {
        let start = Instant::now();
        let value = cache.get(key).await.unwrap();
        assert_eq!(value, key.len() as u64 * 100);
        if verbose {
            println!(
                "  [{}] get {key} = {value} in {:?}",
                Instant::now(),
                start.elapsed()
            );
        }
    }
}

fn main() {
    println!("seed 7:");
    let mut sim = seedloop::Sim::new(7);
    sim.run(program(true)).unwrap();
    let trace = sim.trace().to_string();
    let failures = trace.matches("failed a request").count();
    println!("  the trace records {failures} injected failure(s)");

    let summary = seedloop::Check::new()
        .seeds(0..200)
        .try_run(|| program(false))
        .unwrap();
    println!("{} seeds passed", summary.seeds_run);
}
