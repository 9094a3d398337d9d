//! A replicated write path whose bug needs a partition and a crash to meet, found by a
//! seed sweep with a fault plan, reported, and replayed.
//!
//! Three hosts: `primary` takes writes from clients and replicates each to `backup-1`
//! and `backup-2`, which keep what they receive on their disks (state that survives a
//! crash). The primary acknowledges a write once a backup has stored it. The bug: when
//! no backup answers in time (both cut off by partitions, or down), the primary
//! acknowledges anyway, keeping the write only in its memory "until they come back".
//! A crash of the primary before that loses an acknowledged write. Neither a partition
//! nor a crash alone shows it: they have to meet, in that order, which is what a
//! `FaultPlan` sweep explores.
//!
//! Run with `cargo run --release --example leader`.

use futures::io::{AsyncReadExt, AsyncWriteExt};
use seedloop::fault::FaultPlan;
use seedloop::net::{Host, TcpListener, TcpStream};
use seedloop::time::{sleep, timeout, Instant};
use seedloop::{Check, Policy};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

type Disk = Rc<RefCell<BTreeSet<u64>>>;

/// A backup: stores every write it receives on its disk, then acknowledges it.
async fn backup(disk: Disk) {
    let listener = TcpListener::bind("0.0.0.0:7").await.unwrap();
    loop {
        let (mut stream, _) = listener.accept().await.unwrap();
        let disk = disk.clone();
        drop(seedloop::spawn(async move {
            let mut key = [0; 8];
            if stream.read_exact(&mut key).await.is_ok() {
                disk.borrow_mut().insert(u64::from_le_bytes(key));
                let _ = stream.write_all(&[1]).await;
            }
        }));
    }
}

/// Sends `key` to `backup` and waits for its acknowledgement, for 200 ms at most.
async fn replicate(backup: &str, key: u64) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(format!("{backup}:7")).await.ok()?;
        stream.write_all(&key.to_le_bytes()).await.ok()?;
        let mut ack = [0; 1];
        stream.read_exact(&mut ack).await.ok()
    };
    matches!(
        timeout(Duration::from_millis(200), attempt).await,
        Ok(Some(()))
    )
}

/// The primary: replicates each write; `buggy` acknowledges it even when no backup
/// stored it. `memory` is what it holds that no backup has (lost in a crash).
async fn primary(buggy: bool, memory: Rc<RefCell<BTreeSet<u64>>>) {
    memory.borrow_mut().clear(); // a fresh boot remembers nothing
    let listener = TcpListener::bind("0.0.0.0:7").await.unwrap();
    loop {
        let (mut client, _) = listener.accept().await.unwrap();
        let memory = memory.clone();
        drop(seedloop::spawn(async move {
            let mut key = [0; 8];
            if client.read_exact(&mut key).await.is_err() {
                return;
            }
            let key = u64::from_le_bytes(key);
            let (first, second) =
                futures::join!(replicate("backup-1", key), replicate("backup-2", key));
            let stored = first || second;
            if !stored {
                if !buggy {
                    return; // refuse: the client learns the write did not happen
                }
                memory.borrow_mut().insert(key); // "until the backups come back"
            }
            let _ = client.write_all(&[1]).await;
        }));
    }
}

/// Writes keys for 30 virtual seconds, then checks that every acknowledged write is on
/// a backup's disk or still in the primary's memory.
async fn scenario(buggy: bool) {
    let disks: Vec<Disk> = vec![Disk::default(), Disk::default()];
    let memory = Rc::new(RefCell::new(BTreeSet::new()));
    for (name, disk) in ["backup-1", "backup-2"].into_iter().zip(&disks) {
        let disk = disk.clone();
        Host::new(name).on_boot(move || backup(disk.clone()));
    }
    let boot_memory = memory.clone();
    Host::new("primary").on_boot(move || primary(buggy, boot_memory.clone()));
    sleep(Duration::from_millis(10)).await;

    let mut acknowledged = Vec::new();
    for key in 0..150u64 {
        let write = async {
            let mut stream = TcpStream::connect("primary:7").await.ok()?;
            stream.write_all(&key.to_le_bytes()).await.ok()?;
            let mut ack = [0; 1];
            stream.read_exact(&mut ack).await.ok()
        };
        if let Ok(Some(())) = timeout(Duration::from_secs(1), write).await {
            acknowledged.push(key);
        }
        sleep(Duration::from_millis(200)).await;
    }
    sleep(Duration::from_secs(60)).await; // the fault plan repairs everything
    for key in acknowledged {
        let durable = disks.iter().any(|disk| disk.borrow().contains(&key));
        assert!(
            durable || memory.borrow().contains(&key),
            "acknowledged write {key} was lost (at {})",
            Instant::now()
        );
    }
}

fn faults() -> FaultPlan {
    FaultPlan::default()
        .mean_gap(Duration::from_secs(1))
        .downtime(Duration::from_secs(1), Duration::from_secs(4))
        .partition_time(Duration::from_secs(1), Duration::from_secs(6))
        .active(Duration::from_secs(30))
}

fn main() {
    println!("== 1. The production order (Policy::Fifo): no faults are drawn, the test passes ==");
    let summary = Check::new()
        .seeds(0..20)
        .policy(Policy::Fifo)
        .faults(faults())
        .run(|| scenario(true));
    println!("    {} seeds passed", summary.seeds_run);

    println!("\n== 2. A sweep with a fault plan finds the lost write ==");
    let failure = Check::new()
        .seeds(0..2000)
        .faults(faults())
        .replay_command("cargo run --release --example leader")
        .try_run(|| scenario(true))
        .expect_err("a sweep of 2000 seeds finds the bug");
    println!("    seed {} failed:\n", failure.seed);
    println!("{failure}");

    println!("\n== 3. Replaying the failing seed ==");
    let mut replay = failure.sim();
    let again = replay
        .run(scenario(true))
        .expect_err("the replay fails the same way");
    println!("    failed again: {}", again.kind);
    println!(
        "    identical trace: {} ({} events, hash {:016x})",
        again.trace.to_string() == failure.trace.to_string(),
        again.trace.len(),
        again.trace.hash()
    );

    println!("\n== 4. The fix (refuse a write no backup stored) passes the same seeds ==");
    let summary = Check::new()
        .seeds(0..300)
        .faults(faults())
        .run(|| scenario(false));
    println!("    {} seeds passed", summary.seeds_run);
}
