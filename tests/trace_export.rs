//! Traces leave the process: `Trace::to_chrome_json` is valid JSON in the Chrome
//! Trace Event format (one track per task, grouped by host, monotone timestamps on
//! every track, a span per poll), and `SEEDLOOP_TRACE_DIR` makes a failing sweep write
//! the failing run's trace there, as text and JSON, naming the files in its report.

mod common;

use common::overdraft;
#[path = "common/json.rs"]
mod json;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use json::Json;
use seedloop::harness::env::EnvConfig;
use seedloop::net::{Host, TcpListener, TcpStream};
use seedloop::sync::Lock;
use seedloop::time::sleep;
use seedloop::trace::{EventKind, Trace};
use seedloop::{Check, Policy, Sim, TraceFiles};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// Hosts, a TCP round trip, a contended lock, timers, a disk write and a crash.
async fn a_bit_of_everything() {
    let server = Host::new("server");
    let echo = server.spawn_named("echo", async {
        let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buffer = [0u8; 4];
        stream.read_exact(&mut buffer).await.unwrap();
        stream.write_all(&buffer).await.unwrap();
        seedloop::fs::write("served", b"1").await.unwrap();
        sleep(Duration::from_secs(60)).await;
    });
    let lock = Rc::new(Lock::new(0));
    let holders: Vec<_> = (0..2)
        .map(|_| {
            let lock = lock.clone();
            seedloop::spawn(async move {
                let mut guard = lock.lock().await;
                sleep(Duration::from_millis(3)).await;
                *guard += 1;
            })
        })
        .collect();
    sleep(Duration::from_millis(1)).await;
    let mut client = TcpStream::connect("server:80").await.unwrap();
    client.write_all(b"ping").await.unwrap();
    let mut reply = [0u8; 4];
    client.read_exact(&mut reply).await.unwrap();
    for holder in holders {
        holder.await.unwrap();
    }
    sleep(Duration::from_millis(5)).await;
    server.crash();
    assert!(echo.await.unwrap_err().is_cancelled());
}

/// The trace of one run of `a_bit_of_everything` under `seed`.
fn traced(seed: u64) -> Trace {
    let (sim, result) = common::run_twice(|| Sim::new(seed), a_bit_of_everything);
    result.unwrap();
    sim.trace().clone()
}

fn number(event: &Json, key: &str) -> f64 {
    event
        .get(key)
        .and_then(Json::as_f64)
        .unwrap_or_else(|| panic!("no number {key} in {event:?}"))
}

fn text<'a>(event: &'a Json, key: &str) -> &'a str {
    event
        .get(key)
        .and_then(Json::as_str)
        .unwrap_or_else(|| panic!("no string {key} in {event:?}"))
}

/// The track of an event: (process, thread).
fn track(event: &Json) -> (u64, u64) {
    (number(event, "pid") as u64, number(event, "tid") as u64)
}

#[test]
fn the_json_checker_accepts_json_and_rejects_what_is_not() {
    let value = json::parse(r#" {"a": [1, -2.5e3, true, null, "x\"\u0041"], "b": {}} "#).unwrap();
    let items = value.get("a").unwrap().as_array().unwrap();
    assert_eq!((items.len(), items[4].as_str()), (5, Some("x\"A")));
    for bad in [
        "{",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        "\"a\nb\"",
        "{\"a\":1 \"b\":2}",
        "[] x",
    ] {
        assert!(json::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_chrome_json_parses_with_one_track_per_task_grouped_by_host() {
    for seed in 0..4 {
        let trace = traced(seed);
        let document = json::parse(&trace.to_chrome_json()).expect("valid JSON");
        let events = document.get("traceEvents").unwrap().as_array().unwrap();

        // Processes: the world's track, then main, then the server.
        let processes: BTreeMap<u64, &str> = events
            .iter()
            .filter(|event| text(event, "ph") == "M" && text(event, "name") == "process_name")
            .map(|event| (track(event).0, text(event.get("args").unwrap(), "name")))
            .collect();
        assert_eq!(
            processes.into_values().collect::<Vec<_>>(),
            ["world", "host main", "host server"]
        );

        // One named track per task, in the process of its host.
        let tracks: BTreeMap<(u64, u64), &str> = events
            .iter()
            .filter(|event| text(event, "ph") == "M" && text(event, "name") == "thread_name")
            .map(|event| (track(event), text(event.get("args").unwrap(), "name")))
            .collect();
        assert_eq!(
            tracks.len(),
            trace.task_count() + 1,
            "the tasks and the world"
        );
        for (&(pid, tid), name) in &tracks {
            if tid == 0 {
                assert_eq!((pid, *name), (0, "world"));
                continue;
            }
            let task = seedloop::task::TaskId::new(tid as u32 - 1);
            let expected_pid = if trace.task_host(task) == Some("server") {
                2
            } else {
                1
            };
            assert_eq!(pid, expected_pid, "{name}");
        }
        assert!(tracks.values().any(|name| *name == "task 1 (server/echo)"));

        // Every event on a known track, timestamps monotone on each.
        let mut last: BTreeMap<(u64, u64), f64> = BTreeMap::new();
        let mut spans = 0;
        let mut categories = std::collections::BTreeSet::new();
        for event in events.iter().filter(|event| text(event, "ph") != "M") {
            assert!(tracks.contains_key(&track(event)), "{event:?}");
            let ts = number(event, "ts");
            let previous = last.insert(track(event), ts).unwrap_or(0.0);
            assert!(
                ts >= previous,
                "timestamps go back on {:?}: {event:?}",
                track(event)
            );
            match text(event, "ph") {
                "X" => {
                    spans += 1;
                    assert!(number(event, "dur") > 0.0, "{event:?}");
                    assert_eq!(text(event, "name"), "poll");
                }
                "i" => assert_eq!(text(event, "s"), "t"),
                other => panic!("unexpected phase {other}"),
            }
            categories.insert(text(event, "cat").to_string());
            let args = event.get("args").unwrap();
            assert!(number(args, "step") >= 0.0);
            assert!(!text(args, "virtual_time").is_empty());
        }
        let polls = trace
            .events()
            .iter()
            .filter(|event| event.kind() == EventKind::Poll)
            .count();
        assert_eq!(spans, polls, "a span per poll");
        for category in [
            "task", "wake", "timer", "clock", "sync", "fault", "network", "disk",
        ] {
            assert!(
                categories.contains(category),
                "no {category} events: {categories:?}"
            );
        }
    }
}

#[test]
fn the_chrome_json_keeps_virtual_time_on_its_axis() {
    let mut sim = Sim::new(0).policy(Policy::Fifo);
    sim.run(async {
        sleep(Duration::from_millis(250)).await;
        seedloop::spawn(async {}).await.unwrap();
    })
    .unwrap();
    let document = json::parse(&sim.trace().to_chrome_json()).unwrap();
    let events = document.get("traceEvents").unwrap().as_array().unwrap();
    let named = |name: &str| {
        events
            .iter()
            .find(|event| event.get("name").and_then(Json::as_str) == Some(name))
            .unwrap()
    };
    let advanced = named("clock advanced");
    assert_eq!(number(advanced, "ts"), 250_000.0, "250 ms is 250,000 µs");
    // The timer fired at the same virtual instant, laid out 1 ns after the advance.
    let fired = named("timer fired");
    assert_eq!(number(fired, "ts"), 250_000.001);
    assert_eq!(text(fired.get("args").unwrap(), "virtual_time"), "250ms");
    // No hosts: the tasks share one process.
    let processes = events
        .iter()
        .filter(|event| text(event, "name") == "process_name")
        .count();
    assert_eq!(processes, 2, "the world and the tasks");
}

#[test]
fn seedloop_trace_dir_receives_the_failing_runs_trace_as_text_and_json() {
    let directory = std::env::temp_dir().join(format!("seedloop-trace-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let env = EnvConfig::parse([("SEEDLOOP_TRACE_DIR", directory.to_str().unwrap())]).unwrap();
    for parallel in [false, true] {
        let check = Check::new()
            .seeds(0..300)
            .name("bank::overdraft")
            .env(env.clone());
        let failure = if parallel {
            check.try_run_parallel(overdraft).unwrap_err()
        } else {
            check.try_run(overdraft).unwrap_err()
        };
        let Some(TraceFiles::Written { text, json }) = failure.trace_files.clone() else {
            panic!("{failure}");
        };
        let stem = format!("bank__overdraft.seed-{}", failure.seed);
        assert_eq!(text, directory.join(format!("{stem}.trace.txt")));
        assert_eq!(json, directory.join(format!("{stem}.trace.json")));
        assert_eq!(
            std::fs::read_to_string(&text).unwrap(),
            failure.trace.to_string()
        );
        json::parse(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let report = failure.to_string();
        assert!(
            report.contains(&format!("trace written to {}", text.display())),
            "{report}"
        );
        assert!(report.contains(&json.display().to_string()), "{report}");
        assert!(
            report.lines().last().unwrap().starts_with("replay: "),
            "{report}"
        );
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_trace_dir_that_cannot_be_written_does_not_hide_the_failure() {
    // A directory below a file cannot be made.
    let file = std::env::temp_dir().join(format!("seedloop-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, b"").unwrap();
    let below = file.join("traces");
    let env = EnvConfig::parse([("SEEDLOOP_TRACE_DIR", below.to_str().unwrap())]).unwrap();
    let failure = Check::new()
        .seeds(0..300)
        .env(env)
        .try_run(overdraft)
        .unwrap_err();
    assert!(failure.is_panic());
    let Some(TraceFiles::Failed { directory, .. }) = &failure.trace_files else {
        panic!("{failure}");
    };
    assert_eq!(directory, &below);
    assert!(failure.to_string().contains("could not write the trace to"));
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn the_cancellation_explorer_writes_its_failing_trace_too() {
    let directory =
        std::env::temp_dir().join(format!("seedloop-explorer-dir-{}", std::process::id()));
    let env = EnvConfig::parse([("SEEDLOOP_TRACE_DIR", directory.to_str().unwrap())]).unwrap();
    let failure = seedloop::CancelExplorer::new("worker")
        .env(env)
        .name("explore")
        .try_run(|| async {
            let busy = Rc::new(std::cell::Cell::new(false));
            let worker = seedloop::task::Builder::new().name("worker").spawn({
                let busy = busy.clone();
                async move {
                    busy.set(true);
                    sleep(Duration::from_secs(1)).await;
                    busy.set(false);
                }
            });
            let _ = worker.await;
            assert!(!busy.get(), "left busy");
        })
        .unwrap_err();
    assert!(
        matches!(failure.trace_files, Some(TraceFiles::Written { .. })),
        "{failure}"
    );
    std::fs::remove_dir_all(&directory).unwrap();
}
