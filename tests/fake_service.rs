//! Fake external services: a `ServiceClient` gets the handler's answers over
//! simulated TCP; the service's latency lies in its range; failures are resets drawn
//! from the fault stream (never at rate 0, never under `Policy::Fifo`), before or
//! after the handler ran; a crash of the service's host is an error for the client,
//! never a hang; the handler's state lives across requests and clients; frames have a
//! size limit. Every case runs its seed twice and compares traces.

mod common;

use common::{panic_message, passes, run_twice};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use seedloop::net::{
    FakeService, Host, NetConfig, ServiceClient, TcpListener, TcpStream, MAX_FRAME_BYTES,
};
use seedloop::time::{sleep, timeout, Instant};
use seedloop::{FailureKind, Policy, Sim};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn echo(request: Vec<u8>) -> std::future::Ready<Vec<u8>> {
    std::future::ready(request)
}

/// [`echo`], counting the requests it handles in `handled`.
fn counted_echo(handled: &Rc<Cell<u32>>) -> impl Fn(Vec<u8>) -> std::future::Ready<Vec<u8>> {
    let handled = handled.clone();
    move |request| {
        handled.set(handled.get() + 1);
        echo(request)
    }
}

/// Every network message takes exactly 1 ms, so a call's round trip is 2 ms plus the
/// service's latency.
fn fixed_network() -> NetConfig {
    NetConfig::default()
        .latency(ms(1), ms(1))
        .connect_timeout(Duration::from_secs(1))
}

fn sims(seed: u64) -> Vec<Sim> {
    vec![
        Sim::new(seed),
        Sim::new(seed).policy(Policy::Fifo),
        Sim::new(seed).policy(Policy::Pct { depth: 2 }),
    ]
}

fn passes_everywhere<Fut: std::future::Future<Output = ()>>(
    seeds: std::ops::Range<u64>,
    program: impl Fn() -> Fut,
) {
    for seed in seeds {
        for index in 0..sims(seed).len() {
            passes(|| sims(seed).swap_remove(index), &program);
        }
    }
}

#[test]
fn a_client_gets_answers() {
    passes_everywhere(0..10, || async {
        let api = Host::new("api");
        let _service = FakeService::new()
            .latency(ms(1), ms(10))
            .start(&api, 80, |request: Vec<u8>| async move {
                seedloop::yield_now().await; // an async handler may await
                request.iter().rev().copied().collect()
            })
            .unwrap();
        let clients: Vec<_> = (0..3u8)
            .map(|number| {
                seedloop::spawn(async move {
                    let mut client = ServiceClient::connect("api:80").await.unwrap();
                    for call in 0..4u8 {
                        let answer = client.call(&[number, call, 9]).await.unwrap();
                        assert_eq!(answer, [9, call, number]);
                    }
                    assert_eq!(client.call(b"").await.unwrap(), b"", "empty frames too");
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
        let large = vec![7; 200_000]; // many segments each way
        let mut client = ServiceClient::connect(("api", 80)).await.unwrap();
        assert_eq!(client.call(&large).await.unwrap(), large);
    });
}

/// The service's own latency of each of `calls` calls (the round trip less the
/// network's 2 ms).
async fn service_latencies(service: FakeService, calls: usize) -> Vec<Duration> {
    let db = Host::new("db");
    let _service = service.start(&db, 5432, echo).unwrap();
    let mut client = ServiceClient::connect("db:5432").await.unwrap();
    let mut latencies = Vec::new();
    for _ in 0..calls {
        let start = Instant::now();
        client.call(b"SELECT 1").await.unwrap();
        latencies.push(start.elapsed() - ms(2));
    }
    latencies
}

#[test]
fn latency_lies_in_the_range_in_whole_microseconds() {
    let service = FakeService::new().latency(ms(5), ms(50));
    let mut seen = BTreeSet::new();
    for seed in 0..20 {
        let (_, result) = run_twice(
            || Sim::new(seed).net(fixed_network()),
            || service_latencies(service, 5),
        );
        for latency in result.unwrap() {
            assert!(
                (ms(5)..=ms(50)).contains(&latency),
                "seed {seed}: {latency:?}"
            );
            assert_eq!(latency.subsec_nanos() % 1000, 0, "whole microseconds");
            seen.insert(latency);
        }
    }
    assert!(seen.len() > 80, "latencies are drawn: {seen:?}");

    let (_, fifo) = run_twice(
        || Sim::new(3).policy(Policy::Fifo).net(fixed_network()),
        || service_latencies(service, 5),
    );
    assert_eq!(fifo.unwrap(), [ms(5); 5], "decision 0 is the minimum");

    let (_, none) = run_twice(
        || Sim::new(3).net(fixed_network()),
        || service_latencies(FakeService::new(), 3),
    );
    assert_eq!(none.unwrap(), [Duration::ZERO; 3], "no latency by default");
}

/// Makes `calls` calls to a service failing at `rate`; returns each call's error kind.
async fn outcomes(rate: f64, calls: usize) -> Vec<Option<ErrorKind>> {
    let db = Host::new("db");
    let _service = FakeService::new()
        .latency(ms(1), ms(3))
        .failure_rate(rate)
        .start(&db, 5432, echo)
        .unwrap();
    let mut client = ServiceClient::connect("db:5432").await.unwrap();
    let mut outcomes = Vec::new();
    for call in 0..calls {
        let request = format!("request {call}").into_bytes();
        match client.call(&request).await {
            Ok(answer) => {
                assert_eq!(answer, request);
                assert!(client.is_connected());
                outcomes.push(None);
            }
            Err(error) => {
                assert!(!client.is_connected(), "a failed call drops its connection");
                outcomes.push(Some(error.kind()));
            }
        }
    }
    outcomes
}

#[test]
fn a_failure_rate_of_zero_never_fails() {
    for seed in 0..20 {
        let (_, result) = run_twice(|| Sim::new(seed), || outcomes(0.0, 20));
        assert!(result.unwrap().iter().all(Option::is_none), "seed {seed}");
    }
}

#[test]
fn under_fifo_nothing_fails_whatever_the_rate() {
    for seed in 0..5 {
        for rate in [0.5, 1.0] {
            let (_, result) = run_twice(
                || Sim::new(seed).policy(Policy::Fifo),
                || outcomes(rate, 20),
            );
            assert!(result.unwrap().iter().all(Option::is_none), "seed {seed}");
        }
    }
}

#[test]
fn with_a_failure_rate_some_calls_fail_with_connection_reset_and_the_client_recovers() {
    let (mut failed_seeds, mut recovered_seeds) = (0, 0);
    let (mut failures, mut answers) = (0, 0);
    for seed in 0..30 {
        let (_, result) = run_twice(|| Sim::new(seed), || outcomes(0.2, 10));
        let outcomes = result.unwrap();
        for kind in outcomes.iter().flatten() {
            assert_eq!(*kind, ErrorKind::ConnectionReset, "seed {seed}");
        }
        let failed = outcomes.iter().filter(|kind| kind.is_some()).count();
        failures += failed;
        answers += outcomes.len() - failed;
        failed_seeds += usize::from(failed > 0);
        // A failure is not the end: the next call connects again.
        let recovered = outcomes
            .windows(2)
            .any(|pair| pair[0].is_some() && pair[1].is_none());
        recovered_seeds += usize::from(recovered);
    }
    assert!(
        failed_seeds > 15 && failed_seeds < 30,
        "{failed_seeds} of 30 seeds failed"
    );
    assert!(
        recovered_seeds > 10,
        "{recovered_seeds} seeds answered after a failure"
    );
    let rate = failures as f64 / (failures + answers) as f64;
    assert!((0.1..0.3).contains(&rate), "failure rate {rate}");
}

#[test]
fn a_failure_comes_before_or_after_the_handler_ran() {
    let (mut before, mut after) = (0, 0);
    for seed in 0..30 {
        let (sim, result) = run_twice(
            || Sim::new(seed),
            || async {
                let db = Host::new("db");
                let handled = Rc::new(Cell::new(0));
                let _service = FakeService::new()
                    .failure_rate(1.0)
                    .start(&db, 5432, counted_echo(&handled))
                    .unwrap();
                let mut client = ServiceClient::connect("db:5432").await.unwrap();
                let error = client.call(b"INSERT").await.unwrap_err();
                assert_eq!(error.kind(), ErrorKind::ConnectionReset);
                let message = error.to_string();
                assert!(
                    message.starts_with("call to the service at db:5432: connection reset"),
                    "{message}"
                );
                handled.get()
            },
        );
        let trace = sim.trace().to_string();
        match result.unwrap() {
            0 => {
                before += 1;
                assert!(
                    trace.contains("fake service db:5432 failed a request before its handler ran"),
                    "{trace}"
                );
            }
            _ => {
                after += 1;
                assert!(
                    trace.contains(
                        "fake service db:5432 failed a request after its handler answered"
                    ),
                    "{trace}"
                );
            }
        }
    }
    assert!(before > 5 && after > 5, "{before} before, {after} after");
}

#[test]
fn a_seed_replays_the_same_answers_failures_and_trace() {
    let program = || async {
        let db = Host::new("db");
        let _service = FakeService::new()
            .latency(ms(1), ms(20))
            .failure_rate(0.3)
            .start(&db, 5432, echo)
            .unwrap();
        let clients: Vec<_> = (0..3)
            .map(|_| {
                seedloop::spawn(async {
                    let mut client = ServiceClient::connect("db:5432").await.unwrap();
                    let mut outcomes = Vec::new();
                    for _ in 0..5 {
                        let outcome = client.call(b"ping").await.map_err(|error| error.kind());
                        outcomes.push((outcome, Instant::now()));
                    }
                    outcomes
                })
            })
            .collect();
        let mut all = Vec::new();
        for client in clients {
            all.push(client.await.unwrap());
        }
        all
    };
    let mut traces = BTreeSet::new();
    for seed in 0..5 {
        let (sim, result) = run_twice(|| Sim::new(seed), program);
        let again = Sim::new(seed).run(program()).unwrap();
        assert_eq!(result.unwrap(), again);
        traces.insert(sim.trace().to_string());
    }
    assert_eq!(traces.len(), 5, "seeds differ");
}

#[test]
fn a_crash_of_the_service_host_is_an_error_for_the_client_never_a_hang() {
    for crash_after in [0, 1, 2, 3, 5, 8, 13] {
        for seed in 0..5 {
            passes(
                || Sim::new(seed).net(fixed_network()),
                move || async move {
                    let db = Host::new("db");
                    let _service = FakeService::new()
                        .latency(ms(1), ms(4))
                        .start(&db, 5432, echo)
                        .unwrap();
                    let mut client = ServiceClient::connect("db:5432").await.unwrap();
                    let crasher = seedloop::spawn({
                        let db = db.clone();
                        async move {
                            sleep(ms(crash_after)).await;
                            db.crash();
                        }
                    });
                    let start = Instant::now();
                    let mut failed = false;
                    for _ in 0..6 {
                        match client.call(b"ping").await {
                            Ok(answer) => assert!(!failed && answer == b"ping"),
                            Err(error) => {
                                assert!(
                                    matches!(
                                        error.kind(),
                                        ErrorKind::ConnectionReset | ErrorKind::TimedOut
                                    ),
                                    "{error}"
                                );
                                failed = true;
                            }
                        }
                    }
                    crasher.await.unwrap();
                    assert!(failed, "every call after the crash fails");
                    // Six calls, each at most a round trip or a connect timeout.
                    assert!(start.elapsed() <= Duration::from_secs(7));
                    assert!(client.call(b"ping").await.is_err(), "still down");
                },
            );
        }
    }
}

#[test]
fn a_service_started_at_boot_comes_back_after_a_restart() {
    passes_everywhere(0..5, || async {
        let db = Host::new("db");
        let store = Rc::new(RefCell::new(Vec::new()));
        db.on_boot({
            let (db, store) = (db.clone(), store.clone());
            move || {
                let store = store.clone();
                let append = move |request: Vec<u8>| {
                    store.borrow_mut().push(request);
                    std::future::ready(store.borrow().len().to_string().into_bytes())
                };
                drop(FakeService::new().start(&db, 5432, append).unwrap());
                async {}
            }
        });
        let mut client = ServiceClient::connect("db:5432").await.unwrap();
        assert_eq!(client.call(b"a").await.unwrap(), b"1");
        db.crash();
        assert_eq!(
            client.call(b"b").await.unwrap_err().kind(),
            ErrorKind::ConnectionReset
        );
        db.restart();
        assert_eq!(client.call(b"c").await.unwrap(), b"2", "the state survived");
        assert_eq!(*store.borrow(), [b"a".to_vec(), b"c".to_vec()]);
    });
}

type Store = Rc<RefCell<BTreeMap<String, String>>>;

/// A fake key-value store: `SET key value`, `GET key`, `DEL key`.
fn key_value_store() -> (Store, impl Fn(Vec<u8>) -> std::future::Ready<Vec<u8>>) {
    let store = Rc::new(RefCell::new(BTreeMap::new()));
    let handler = {
        let store = store.clone();
        move |request: Vec<u8>| {
            let request = String::from_utf8(request).unwrap();
            let mut words = request.splitn(3, ' ');
            let mut store = store.borrow_mut();
            let answer = match (words.next(), words.next(), words.next()) {
                (Some("SET"), Some(key), Some(value)) => {
                    store.insert(key.to_string(), value.to_string());
                    "OK".to_string()
                }
                (Some("GET"), Some(key), None) => store.get(key).cloned().unwrap_or_default(),
                (Some("DEL"), Some(key), None) => {
                    store.remove(key).map_or("0", |_| "1").to_string()
                }
                _ => format!("ERR unknown command `{request}`"),
            };
            std::future::ready(answer.into_bytes())
        }
    };
    (store, handler)
}

#[test]
fn the_handlers_state_lives_across_requests_and_clients() {
    passes_everywhere(0..10, || async {
        let db = Host::new("db");
        let (store, handler) = key_value_store();
        let _service = FakeService::new()
            .latency(ms(1), ms(5))
            .start(&db, 6379, handler)
            .unwrap();
        let mut writer = ServiceClient::connect("db:6379").await.unwrap();
        let mut reader = ServiceClient::connect("db:6379").await.unwrap();
        assert_eq!(writer.call(b"SET color blue").await.unwrap(), b"OK");
        assert_eq!(reader.call(b"GET color").await.unwrap(), b"blue");
        assert_eq!(writer.call(b"SET size large").await.unwrap(), b"OK");
        assert_eq!(reader.call(b"DEL color").await.unwrap(), b"1");
        assert_eq!(writer.call(b"GET color").await.unwrap(), b"");
        assert_eq!(
            reader.call(b"PING").await.unwrap(),
            b"ERR unknown command `PING`"
        );
        let expected = BTreeMap::from([("size".to_string(), "large".to_string())]);
        assert_eq!(*store.borrow(), expected);

        // An async handler moves clones of its state into its future.
        let counter = Rc::new(Cell::new(0u32));
        let _counter_service = FakeService::new()
            .start(&db, 7000, {
                let counter = counter.clone();
                move |_request| {
                    let counter = counter.clone();
                    async move {
                        sleep(ms(1)).await;
                        counter.set(counter.get() + 1);
                        counter.get().to_string().into_bytes()
                    }
                }
            })
            .unwrap();
        let calls: Vec<_> = (0..4)
            .map(|_| {
                seedloop::spawn(async {
                    let mut client = ServiceClient::connect("db:7000").await.unwrap();
                    client.call(b"next").await.unwrap()
                })
            })
            .collect();
        let mut answers = BTreeSet::new();
        for call in calls {
            answers.insert(String::from_utf8(call.await.unwrap()).unwrap());
        }
        assert_eq!(
            answers,
            BTreeSet::from(["1", "2", "3", "4"].map(String::from))
        );
        assert_eq!(counter.get(), 4);
    });
}

#[test]
fn a_cancelled_call_drops_its_connection_and_the_next_call_reconnects() {
    let sim = passes(
        || Sim::new(0).policy(Policy::Fifo).net(fixed_network()),
        || async {
            let db = Host::new("db");
            let handled = Rc::new(Cell::new(0));
            let _service = FakeService::new()
                .latency(ms(10), ms(10))
                .start(&db, 5432, counted_echo(&handled))
                .unwrap();
            let mut client = ServiceClient::connect("db:5432").await.unwrap();
            assert!(timeout(ms(5), client.call(b"slow")).await.is_err());
            assert!(!client.is_connected());
            assert_eq!(client.call(b"again").await.unwrap(), b"again");
            assert!(client.is_connected());
            // The cancelled request reached the service: it was served, to nobody.
            assert_eq!(handled.get(), 1 + 1);
        },
    );
    let trace = sim.trace().to_string();
    assert!(trace.contains("accepted connection 1"), "{trace}");
}

#[test]
fn frames_have_a_size_limit() {
    passes(
        || Sim::new(1),
        || async {
            let db = Host::new("db");
            let _service = FakeService::new().start(&db, 5432, echo).unwrap();
            let mut client = ServiceClient::connect("db:5432").await.unwrap();
            let error = client
                .call(&vec![0; MAX_FRAME_BYTES + 1])
                .await
                .unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput);
            assert!(error.to_string().contains("MAX_FRAME_BYTES"), "{error}");
            assert!(client.is_connected(), "nothing was sent");
            assert_eq!(client.call(b"small").await.unwrap(), b"small");

            // A peer that is not a fake service announces a frame beyond the limit.
            let impostor = Host::new("impostor");
            let listener = impostor
                .spawn(TcpListener::bind("0.0.0.0:80"))
                .await
                .unwrap()
                .unwrap();
            let _server = impostor.spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = [0; 4];
                stream.read_exact(&mut request).await.unwrap();
                stream.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
                std::future::pending::<()>().await;
            });
            let mut client = ServiceClient::connect("impostor:80").await.unwrap();
            let error = client.call(b"").await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidData);
            assert!(error.to_string().contains("4294967295 bytes"), "{error}");
            assert!(!client.is_connected());
        },
    );

    let failure = Sim::new(0)
        .run(async {
            let db = Host::new("db");
            let huge = |_request: Vec<u8>| std::future::ready(vec![0; MAX_FRAME_BYTES + 1]);
            let _service = FakeService::new().start(&db, 5432, huge).unwrap();
            let mut client = ServiceClient::connect("db:5432").await.unwrap();
            drop(client.call(b"everything").await);
        })
        .unwrap_err();
    match &failure.kind {
        FailureKind::Panic { name, message, .. } => {
            assert_eq!(name.as_deref(), Some("db/service:5432/connection"));
            assert!(message.contains("MAX_FRAME_BYTES"), "{message}");
        }
        other => panic!("expected the service's panic, got {other:?}"),
    }
}

#[test]
fn a_raw_tcp_client_speaks_the_framing() {
    passes(
        || Sim::new(2),
        || async {
            let db = Host::new("db");
            let _service = FakeService::new().start(&db, 5432, echo).unwrap();
            let mut stream = TcpStream::connect("db:5432").await.unwrap();
            stream.write_all(&[0, 0, 0, 2, b'h', b'i']).await.unwrap();
            let mut answer = [0; 6];
            stream.read_exact(&mut answer).await.unwrap();
            assert_eq!(answer, [0, 0, 0, 2, b'h', b'i']);
        },
    );
}

#[test]
fn misuse_is_refused_with_a_message() {
    let message = panic_message(|| FakeService::new().failure_rate(1.5));
    assert!(
        message.contains("between 0.0 and 1.0, not 1.5"),
        "{message}"
    );
    let message = panic_message(|| FakeService::new().latency(ms(2), ms(1)));
    assert!(
        message.contains("minimum (2ms) is above the maximum (1ms)"),
        "{message}"
    );

    Sim::new(0)
        .run(async {
            let db = Host::new("db");
            let _service = FakeService::new().start(&db, 80, echo).unwrap();
            let taken = FakeService::new().start(&db, 80, echo).unwrap_err();
            assert_eq!(taken.kind(), ErrorKind::AddrInUse);
        })
        .unwrap();

    let failure = Sim::new(0)
        .run(async {
            let db = Host::new("db");
            db.crash();
            drop(FakeService::new().start(&db, 80, echo));
        })
        .unwrap_err();
    assert!(
        failure
            .kind
            .to_string()
            .contains("cannot start a service on host `db`: it is down"),
        "{}",
        failure.kind
    );
}
