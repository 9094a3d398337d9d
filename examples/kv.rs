//! A small replicated key-value store with a write-ahead log, and the durability bug a
//! seedloop sweep finds in it.
//!
//! `cargo run --release --example kv`
//!
//! Three hosts: the leader `kv1` and the followers `kv2` and `kv3`. A client (on
//! `main`) sends `PUT key value` to the leader; the leader appends the entry to its
//! write-ahead log, replicates it to the followers (each appends it to its own log,
//! syncs, and acknowledges), and answers `OK` once one follower has it (a majority of
//! three). A host that boots replays its log to rebuild its table. The leader answers
//! `GET key` from its table.
//!
//! The planted bug is a classic: to save an `fsync` per request, the leader *groups*
//! its syncs. A background task syncs the log every 500 ms, and requests are answered
//! before their entry is synced. When the leader loses power between the answer and
//! the next group sync, the crash may drop the entry, and an acknowledged write is gone
//! (the followers have it, but the leader's log is the authority). The fix syncs
//! before answering; if a sync fails, it rewrites the log from its table (a failed
//! `fsync` may have dropped entries for good, as on Linux, and no later sync counts
//! until a rewrite succeeds).
//!
//! Writing the fix took three tries, each caught by the sweep: the first treated a
//! failed read of the log at boot as an empty log; the second kept appending to the
//! old log after a failed rewrite, past the hole the failed sync had left.
//!
//! The test runs the cluster under a [`FaultPlan`]: hosts crash and restart,
//! partitions come and go, and disk reads, writes and syncs fail now and then. After
//! the faults, every write the client saw acknowledged must be readable.
//!
//! 1. a sweep finds a seed where an acknowledged write is lost, and prints its report;
//! 2. replaying that seed reproduces the failure, event for event;
//! 3. the fixed store passes the same seeds.
//!
//! The failing assertion panics inside the simulation; Rust's default panic hook still
//! prints a `panicked at` line for each failing run. That is expected.

use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use seedloop::fault::FaultPlan;
use seedloop::fs::{self, File, OpenOptions};
use seedloop::harness::env::EnvConfig;
use seedloop::net::{Host, TcpListener, TcpStream};
use seedloop::sync::Lock;
use seedloop::time::{sleep, timeout};
use seedloop::{Check, Failure, Summary};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::rc::Rc;
use std::time::Duration;

/// The port every node listens on.
const PORT: u16 = 7000;
/// How long the leader waits for a follower's acknowledgement.
const REPLICATION_TIMEOUT: Duration = Duration::from_millis(300);
/// How long the client waits for an answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// The planted bug's group-sync period.
const GROUP_SYNC_PERIOD: Duration = Duration::from_millis(500);
/// Writes the client makes.
const WRITES: usize = 30;

/// Which leader runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// Answers before the entry is synced (group sync every 500 ms).
    GroupSync,
    /// Syncs before answering; rewrites the log after a failed sync.
    SyncBeforeReply,
}

/// The faults the test runs under.
pub fn fault_plan() -> FaultPlan {
    FaultPlan::default()
        .mean_gap(Duration::from_millis(700))
        .downtime(Duration::from_millis(100), Duration::from_millis(800))
        .partition_time(Duration::from_millis(100), Duration::from_millis(800))
        .active(Duration::from_secs(6))
        .disk_errors(0.02)
}

/// One request per connection: a line out, a line back.
async fn request(address: &str, line: &str) -> io::Result<String> {
    let stream = TcpStream::connect(address).await?;
    let (reader, mut writer) = stream.split();
    writer.write_all(format!("{line}\n").as_bytes()).await?;
    let mut answer = String::new();
    BufReader::new(reader).read_line(&mut answer).await?;
    if answer.is_empty() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(answer.trim_end().to_string())
}

/// Serves `handle` on this host's port: one task per connection.
async fn serve<F, Fut>(handle: F)
where
    F: Fn(String) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = String> + 'static,
{
    let listener = TcpListener::bind(("0.0.0.0", PORT)).await.expect("bind");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handle = handle.clone();
        drop(seedloop::spawn(async move {
            let (reader, mut writer) = stream.split();
            let mut line = String::new();
            if BufReader::new(reader).read_line(&mut line).await.is_ok() && !line.is_empty() {
                let answer = handle(line.trim_end().to_string()).await;
                let _ = writer.write_all(format!("{answer}\n").as_bytes()).await;
            }
        }));
    }
}

/// A log entry's line. Keys and values are alphanumeric, so a torn or zeroed line
/// never parses.
fn entry(key: &str, value: &str) -> String {
    format!("{key}={value}\n")
}

/// Rebuilds a table from a log, stopping at the first line that does not parse. A
/// failed read is retried: taking it for an empty log would serve a table that lost
/// every acknowledged write.
async fn replay(path: &str) -> BTreeMap<String, String> {
    let mut table = BTreeMap::new();
    let text = loop {
        match fs::read(path).await {
            Ok(text) => break text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return table,
            Err(_) => sleep(Duration::from_millis(10)).await,
        }
    };
    for line in String::from_utf8_lossy(&text).lines() {
        let Some((key, value)) = line.split_once('=') else {
            break;
        };
        let valid = |part: &str| !part.is_empty() && part.chars().all(char::is_alphanumeric);
        if !valid(key) || !valid(value) {
            break;
        }
        table.insert(key.to_string(), value.to_string());
    }
    table
}

/// The open log, and whether it must be rewritten before it can be trusted again.
struct Log {
    file: Option<File>,
    // A sync failed: it may have dropped entries for good (as on Linux), leaving a hole
    // that would end a replay early. Until a rewrite succeeds, no sync counts.
    needs_rewrite: bool,
}

/// The log and the table, shared by a node's tasks; the lock orders appends and syncs.
struct Node {
    log: Lock<Log>,
    table: RefCell<BTreeMap<String, String>>,
}

async fn open_log() -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .open("wal")
        .await
}

impl Node {
    async fn boot() -> Rc<Node> {
        let table = replay("wal").await;
        Rc::new(Node {
            log: Lock::new(Log {
                file: open_log().await.ok(),
                needs_rewrite: false,
            }),
            table: RefCell::new(table),
        })
    }

    /// Appends an entry to the log (page cache only).
    async fn append(&self, key: &str, value: &str) -> io::Result<()> {
        let mut log = self.log.lock().await;
        if log.file.is_none() {
            log.file = Some(open_log().await?);
        }
        let file = log.file.as_mut().expect("opened above");
        file.write_all(entry(key, value).as_bytes()).await?;
        self.table
            .borrow_mut()
            .insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// Makes every appended entry durable: a sync, or after a failed sync a rewrite of
    /// the whole log from the table.
    async fn sync(&self) -> io::Result<()> {
        let mut log = self.log.lock().await;
        if !log.needs_rewrite {
            let file = log
                .file
                .as_mut()
                .ok_or_else(|| io::Error::other("no log open"))?;
            if file.sync_data().await.is_ok() {
                return Ok(());
            }
            log.needs_rewrite = true;
        }
        let contents: String = self
            .table
            .borrow()
            .iter()
            .map(|(key, value)| entry(key, value))
            .collect();
        let mut fresh = File::create("wal.new").await?;
        fresh.write_all(contents.as_bytes()).await?;
        fresh.sync_all().await?;
        // From the rename on, the old handle writes to a file with no name: drop it
        // first (the next append reopens the log), whatever fails next.
        log.file = None;
        fs::rename("wal.new", "wal").await?;
        fs::sync_dir("/").await?;
        log.file = Some(open_log().await?);
        log.needs_rewrite = false;
        Ok(())
    }
}

/// A follower: appends, syncs, then acknowledges.
async fn follower() {
    let node = Node::boot().await;
    serve(move |line| {
        let node = node.clone();
        async move {
            let mut words = line.split(' ');
            let (Some("APPEND"), Some(key), Some(value)) =
                (words.next(), words.next(), words.next())
            else {
                return "ERR bad request".to_string();
            };
            match node.append(key, value).await {
                Ok(()) if node.sync().await.is_ok() => "ACK".to_string(),
                _ => "ERR disk".to_string(),
            }
        }
    })
    .await;
}

/// Sends the entry to both followers; true once one acknowledged it.
async fn replicate(key: &str, value: &str) -> bool {
    let line = format!("APPEND {key} {value}");
    let acks = ["kv2", "kv3"].map(|follower| {
        let line = line.clone();
        seedloop::spawn(async move {
            let address = format!("{follower}:{PORT}");
            matches!(
                timeout(REPLICATION_TIMEOUT, request(&address, &line)).await,
                Ok(Ok(answer)) if answer == "ACK"
            )
        })
    });
    let mut acknowledged = false;
    for ack in acks {
        acknowledged |= ack.await.unwrap_or(false);
    }
    acknowledged
}

/// The leader.
async fn leader(version: Version) {
    let node = Node::boot().await;
    if version == Version::GroupSync {
        let syncer = node.clone();
        drop(seedloop::spawn(async move {
            loop {
                sleep(GROUP_SYNC_PERIOD).await;
                let _ = syncer.sync().await;
            }
        }));
    }
    serve(move |line| {
        let node = node.clone();
        async move {
            let mut words = line.split(' ');
            match (words.next(), words.next(), words.next()) {
                (Some("GET"), Some(key), None) => match node.table.borrow().get(key) {
                    Some(value) => format!("VALUE {value}"),
                    None => "NONE".to_string(),
                },
                (Some("PUT"), Some(key), Some(value)) => {
                    if node.append(key, value).await.is_err() {
                        return "ERR disk".to_string();
                    }
                    if version == Version::SyncBeforeReply && node.sync().await.is_err() {
                        return "ERR disk".to_string();
                    }
                    if !replicate(key, value).await {
                        return "ERR unavailable".to_string();
                    }
                    "OK".to_string()
                }
                _ => "ERR bad request".to_string(),
            }
        }
    })
    .await;
}

/// The test: writes under faults, then every acknowledged write must be readable.
pub async fn scenario(version: Version) {
    let leader_host = Host::new("kv1");
    leader_host.on_boot(move || leader(version));
    for name in ["kv2", "kv3"] {
        Host::new(name).on_boot(follower);
    }
    let mut acknowledged = Vec::new();
    for index in 0..WRITES {
        let (key, value) = (format!("key{index}"), format!("value{index}"));
        let put = format!("PUT {key} {value}");
        if let Ok(Ok(answer)) = timeout(REQUEST_TIMEOUT, request("kv1:7000", &put)).await {
            if answer == "OK" {
                acknowledged.push((key, value));
            }
        }
        sleep(Duration::from_millis(150)).await;
    }
    // The fault plan heals and restarts everything when its active span ends.
    sleep(Duration::from_secs(7)).await;
    for (key, value) in acknowledged {
        let mut answer = Err(io::Error::other("never asked"));
        for _ in 0..20 {
            answer = request("kv1:7000", &format!("GET {key}")).await;
            if answer.is_ok() {
                break;
            }
            sleep(Duration::from_millis(100)).await;
        }
        let answer = answer.expect("the leader answers once the faults are over");
        assert_eq!(
            answer,
            format!("VALUE {value}"),
            "the acknowledged write {key}={value} was lost"
        );
    }
}

/// A sweep of `seeds` over `version` under the fault plan.
pub fn sweep(version: Version, seeds: std::ops::Range<u64>) -> Result<Summary, Failure> {
    Check::new()
        .seeds(seeds)
        .env(EnvConfig::default())
        .faults(fault_plan())
        .name(format!("kv::{version:?}"))
        .try_run(move || scenario(version))
}

#[allow(dead_code)]
fn main() {
    println!("1. Sweeping seeds 0..500 over the leader that groups its syncs...");
    let failure = sweep(Version::GroupSync, 0..500).expect_err("the sweep finds the lost write");
    println!("\n{failure}\n");

    println!("2. Replaying seed {}...", failure.seed);
    let replayed = failure
        .sim()
        .run(scenario(Version::GroupSync))
        .expect_err("the replay fails too");
    assert_eq!(replayed.trace.hash(), failure.trace.hash());
    println!(
        "   same failure, same trace ({} events, hash {:016x})\n",
        replayed.trace.len(),
        replayed.trace.hash()
    );

    println!("3. Sweeping the same seeds over the leader that syncs before it answers...");
    match sweep(Version::SyncBeforeReply, 0..500) {
        Ok(summary) => println!(
            "   passed: {} seeds, no acknowledged write lost",
            summary.seeds_run
        ),
        Err(failure) => panic!("the fixed store failed:\n{failure}"),
    }
}
