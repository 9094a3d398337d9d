//! The simulated network: TCP streams arrive intact and in order or fail with the
//! error kind a real socket gives; partitions, clogs and crashes act on the links and
//! hosts; UDP loses and duplicates at the configured rates; latency is virtual; and a
//! seed replays the same deliveries. Every case runs its seed twice and compares
//! traces.

mod common;

use common::{panic_message, run_twice, secs};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use seedloop::net::{
    clog, heal, partition, partition_one_way, unclog, Host, NetConfig, TcpListener, TcpStream,
    UdpSocket,
};
use seedloop::time::{sleep, Instant};
use seedloop::{FailureKind, Policy, Sim};
use std::io::ErrorKind;
use std::time::Duration;

fn policies() -> Vec<Policy> {
    vec![Policy::Fifo, Policy::Random, Policy::Pct { depth: 2 }]
}

fn passes<Fut: std::future::Future<Output = ()>>(
    make: impl Fn() -> Sim,
    program: impl Fn() -> Fut,
) {
    let (_, result) = run_twice(make, program);
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// A server on `host` that accepts one connection and echoes it until end of stream.
fn echo_server(host: &Host, address: &'static str) -> seedloop::JoinHandle<u64> {
    host.spawn_named("echo", async move {
        let listener = TcpListener::bind(address).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let (mut reader, mut writer) = stream.split();
        futures::io::copy(&mut reader, &mut writer).await.unwrap()
    })
}

/// [`echo_server`] on port 7 of `host`, listening by the time this returns (its task
/// has run up to its accept).
async fn listening_echo(host: &Host) -> seedloop::JoinHandle<u64> {
    let server = echo_server(host, "0.0.0.0:7");
    seedloop::yield_now().await;
    server
}

/// Connects to `address`, sends `message`, closes the write half, and returns what
/// comes back until end of stream.
async fn echoed(address: &str, message: &[u8]) -> Vec<u8> {
    let mut client = TcpStream::connect(address).await.unwrap();
    client.write_all(message).await.unwrap();
    client.close().await.unwrap();
    let mut echoed = Vec::new();
    client.read_to_end(&mut echoed).await.unwrap();
    echoed
}

#[test]
fn a_byte_stream_arrives_intact_and_in_order_under_every_policy() {
    use proptest::prelude::*;
    let config = ProptestConfig::with_cases(24);
    proptest!(config, |(sizes in proptest::collection::vec(1usize..9000, 1..12), seed in 0u64..1000)| {
        for policy in policies() {
            let sizes = sizes.clone();
            passes(
                || Sim::new(seed).policy(policy.clone()),
                || {
                    let sizes = sizes.clone();
                    async move {
                        let db = Host::new("db");
                        let server = db.spawn(async {
                            let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
                            let (mut stream, _) = listener.accept().await.unwrap();
                            let mut received = Vec::new();
                            stream.read_to_end(&mut received).await.unwrap();
                            received
                        });
                        seedloop::yield_now().await;
                        let mut client = TcpStream::connect("db:80").await.unwrap();
                        let mut sent = Vec::new();
                        for (index, size) in sizes.iter().enumerate() {
                            let chunk: Vec<u8> = (0..*size).map(|byte| (byte * 7 + index) as u8).collect();
                            client.write_all(&chunk).await.unwrap();
                            sent.extend(chunk);
                        }
                        client.close().await.unwrap();
                        assert_eq!(server.await.unwrap(), sent);
                    }
                },
            );
        }
    });
}

#[test]
fn a_large_write_arrives_in_several_reads() {
    passes(
        || Sim::new(1),
        || async {
            let db = Host::new("db");
            let server = db.spawn(async {
                let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut reads = 0;
                let mut total = 0;
                let mut buffer = vec![0; 100_000];
                loop {
                    let count = stream.read(&mut buffer).await.unwrap();
                    if count == 0 {
                        return (reads, total);
                    }
                    reads += 1;
                    total += count;
                }
            });
            seedloop::yield_now().await;
            let mut client = TcpStream::connect("db:80").await.unwrap();
            client.write_all(&[7; 50_000]).await.unwrap();
            client.close().await.unwrap();
            let (reads, total) = server.await.unwrap();
            assert_eq!(total, 50_000);
            assert!(reads > 1, "one read of a 50 kB write: {reads}");
        },
    );
}

#[test]
fn a_writer_waits_for_the_receivers_window() {
    passes(
        || Sim::new(2).net(NetConfig::default().window_bytes(1000)),
        || async {
            let db = Host::new("db");
            let reader_ready = std::rc::Rc::new(seedloop::sync::Event::new());
            let server = db.spawn({
                let ready = reader_ready.clone();
                async move {
                    let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
                    let (mut stream, _) = listener.accept().await.unwrap();
                    ready.wait().await;
                    let mut received = Vec::new();
                    stream.read_to_end(&mut received).await.unwrap();
                    received.len()
                }
            });
            seedloop::yield_now().await;
            let mut client = TcpStream::connect("db:80").await.unwrap();
            // The window holds 1000 bytes: more waits until the server reads.
            let blocked = seedloop::time::timeout(secs(5), client.write_all(&[1; 3000])).await;
            assert!(blocked.is_err(), "the writer must wait for the window");
            reader_ready.set();
            client.write_all(&[1; 3000]).await.unwrap();
            client.close().await.unwrap();
            // The timed-out write_all sent its first 1000 bytes before it waited.
            assert_eq!(server.await.unwrap(), 4000);
        },
    );
}

#[test]
fn half_close_lets_the_peer_answer_after_end_of_stream() {
    for policy in policies() {
        passes(
            || Sim::new(5).policy(policy.clone()),
            || async {
                let db = Host::new("db");
                let server = listening_echo(&db).await;
                assert_eq!(echoed("db:7", b"hello").await, b"hello");
                assert_eq!(server.await.unwrap(), 5);
            },
        );
    }
}

#[test]
fn socket_errors_have_the_kinds_a_real_socket_gives() {
    passes(
        || Sim::new(3).net(NetConfig::default().connect_timeout(secs(2))),
        || async {
            let db = Host::new("db");
            // Nobody listens: refused.
            let refused = TcpStream::connect("db:80").await.unwrap_err();
            assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
            // Bound twice: in use.
            let first = TcpListener::bind("0.0.0.0:80").await.unwrap();
            let twice = TcpListener::bind("0.0.0.0:80").await.unwrap_err();
            assert_eq!(twice.kind(), ErrorKind::AddrInUse);
            drop(first);
            assert!(
                TcpListener::bind("0.0.0.0:80").await.is_ok(),
                "free again once dropped"
            );
            // Across a partition: timed out, after the connect timeout.
            let _server = db.spawn(async {
                let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
                loop {
                    drop(listener.accept().await.unwrap());
                }
            });
            seedloop::yield_now().await;
            partition("main", "db");
            let start = Instant::now();
            let timed_out = TcpStream::connect("db:80").await.unwrap_err();
            assert_eq!(timed_out.kind(), ErrorKind::TimedOut);
            assert_eq!(start.elapsed(), secs(2));
            // An unknown host.
            let unknown = TcpStream::connect("nowhere:80").await.unwrap_err();
            assert_eq!(unknown.kind(), ErrorKind::NotFound);
            assert!(unknown.to_string().contains("Host::new"), "{unknown}");
        },
    );
}

#[test]
fn a_crash_cancels_the_hosts_tasks_and_resets_their_peers_and_a_restart_serves_again() {
    for policy in policies() {
        passes(
            || Sim::new(11).policy(policy.clone()),
            || async {
                let db = Host::new("db");
                let server = listening_echo(&db).await;
                let mut client = TcpStream::connect("db:7").await.unwrap();
                client.write_all(b"before").await.unwrap();
                let mut buffer = [0; 6];
                client.read_exact(&mut buffer).await.unwrap();
                db.crash();
                assert!(server.await.unwrap_err().is_cancelled());
                // The peer learns of it: a read fails, never waits forever.
                let error = client.read(&mut buffer).await.unwrap_err();
                assert_eq!(error.kind(), ErrorKind::ConnectionReset);
                let error = client.write_all(b"after").await.unwrap_err();
                assert_eq!(error.kind(), ErrorKind::ConnectionReset);
                // Restarted, with nothing running: refused until it serves again.
                db.restart();
                assert_eq!(
                    TcpStream::connect("db:7").await.unwrap_err().kind(),
                    ErrorKind::ConnectionRefused
                );
                let again = listening_echo(&db).await;
                assert_eq!(echoed("db:7", b"again").await, b"again");
                assert_eq!(again.await.unwrap(), 5);
            },
        );
    }
}

#[test]
fn a_partition_holds_stream_data_until_it_heals() {
    passes(
        || Sim::new(7),
        || async {
            let db = Host::new("db");
            let server = listening_echo(&db).await;
            let mut client = TcpStream::connect("db:7").await.unwrap();
            partition("main", "db");
            client.write_all(b"held").await.unwrap();
            let mut buffer = [0; 4];
            let waited = seedloop::time::timeout(secs(30), client.read_exact(&mut buffer)).await;
            assert!(waited.is_err(), "nothing crosses a partition");
            heal("main", "db");
            client.read_exact(&mut buffer).await.unwrap();
            assert_eq!(&buffer, b"held");
            drop(client);
            assert_eq!(server.await.unwrap(), 4);
        },
    );
}

#[test]
fn a_one_way_partition_cuts_one_direction_only() {
    passes(
        || Sim::new(8),
        || async {
            let b = Host::new("b");
            let receiver = b.spawn(async {
                let socket = UdpSocket::bind("0.0.0.0:9").await.unwrap();
                let mut buffer = [0; 8];
                let (count, _) = socket.recv_from(&mut buffer).await.unwrap();
                buffer[..count].to_vec()
            });
            let socket = UdpSocket::bind("0.0.0.0:9").await.unwrap();
            seedloop::yield_now().await;
            partition_one_way("main", "b");
            socket.send_to(b"lost", "b:9").await.unwrap();
            sleep(secs(1)).await;
            assert!(!receiver.is_finished(), "main -> b is cut");
            // b -> main still works.
            let sender = b.spawn(async {
                let socket = UdpSocket::bind("0.0.0.0:10").await.unwrap();
                socket.send_to(b"back", "main:9").await.unwrap();
            });
            let mut buffer = [0; 8];
            let (count, from) = socket.recv_from(&mut buffer).await.unwrap();
            assert_eq!(&buffer[..count], b"back");
            assert_eq!(from.port(), 10);
            sender.await.unwrap();
            receiver.cancel();
        },
    );
}

#[test]
fn a_clog_holds_datagrams_until_unclogged() {
    passes(
        || Sim::new(9),
        || async {
            let b = Host::new("b");
            let receiver = b.spawn(async {
                let socket = UdpSocket::bind("0.0.0.0:9").await.unwrap();
                let mut buffer = [0; 8];
                let (count, _) = socket.recv_from(&mut buffer).await.unwrap();
                (buffer[..count].to_vec(), Instant::now())
            });
            seedloop::yield_now().await;
            clog("main", "b");
            let socket = UdpSocket::bind("0.0.0.0:0").await.unwrap();
            socket.send_to(b"later", "b:9").await.unwrap();
            sleep(secs(10)).await;
            assert!(!receiver.is_finished());
            unclog("main", "b");
            let (data, at) = receiver.await.unwrap();
            assert_eq!(data, b"later");
            assert!(at > Instant::EPOCH + secs(10));
        },
    );
}

/// Sends `count` datagrams from main to `b:9`; returns how many `b` received (until
/// it heard nothing for a second).
async fn datagrams_received(count: u32) -> u32 {
    let b = Host::new("b");
    let receiver = b.spawn(async {
        let socket = UdpSocket::bind("0.0.0.0:9").await.unwrap();
        let mut buffer = [0; 8];
        let mut received = 0u32;
        while seedloop::time::timeout(secs(1), socket.recv_from(&mut buffer))
            .await
            .is_ok()
        {
            received += 1;
        }
        received
    });
    seedloop::yield_now().await;
    let socket = UdpSocket::bind("0.0.0.0:0").await.unwrap();
    for index in 0..count {
        socket.send_to(&index.to_le_bytes(), "b:9").await.unwrap();
        if index % 100 == 99 {
            sleep(Duration::from_millis(10)).await; // the queue holds 1024
        }
    }
    receiver.await.unwrap()
}

#[test]
fn udp_loss_and_duplication_rates_roughly_hold() {
    let (sim, result) = run_twice(
        || Sim::new(21).net(NetConfig::default().udp_loss(0.2).udp_duplicate(0.1)),
        || datagrams_received(1000),
    );
    // 1000 sent, 80% kept, 10% of those doubled: about 880.
    let received = result.unwrap();
    assert!((820..=940).contains(&received), "received {received}");
    assert!(sim.trace().to_string().contains("lost a datagram"));
}

#[test]
fn latency_is_virtual() {
    let (sim, result) = run_twice(
        || {
            Sim::new(4).net(
                NetConfig::default().latency(Duration::from_millis(10), Duration::from_millis(10)),
            )
        },
        || async {
            let db = Host::new("db");
            let server = listening_echo(&db).await;
            let mut client = TcpStream::connect("db:7").await.unwrap();
            let start = Instant::now();
            let mut buffer = [0; 4];
            for _ in 0..1000 {
                client.write_all(b"ping").await.unwrap();
                client.read_exact(&mut buffer).await.unwrap();
            }
            let elapsed = start.elapsed();
            client.close().await.unwrap();
            server.await.unwrap();
            elapsed
        },
    );
    // 1000 round trips of 2 x 10 ms: 20 virtual seconds, exactly.
    assert_eq!(result.unwrap(), secs(20));
    assert!(sim.stats().elapsed >= secs(20));
}

#[test]
fn the_same_seed_replays_and_other_seeds_differ() {
    let program = || async {
        let db = Host::new("db");
        let web = Host::new("web");
        let server = echo_server(&db, "0.0.0.0:7");
        let client = web.spawn(async {
            let mut stream = TcpStream::connect("db:7").await.unwrap();
            for round in 0..20u8 {
                stream.write_all(&[round; 3]).await.unwrap();
                let mut buffer = [0; 3];
                stream.read_exact(&mut buffer).await.unwrap();
            }
        });
        sleep(Duration::from_millis(5)).await;
        partition("web", "db");
        sleep(Duration::from_millis(50)).await;
        heal("web", "db");
        client.await.unwrap();
        server.cancel();
    };
    let traces: Vec<String> = (0..4)
        .map(|seed| {
            let (sim, result) = run_twice(|| Sim::new(seed), program);
            result.unwrap();
            sim.trace().to_string()
        })
        .collect();
    assert!(traces
        .iter()
        .all(|trace| trace.contains("partitioned web -> db")));
    let distinct: std::collections::BTreeSet<&String> = traces.iter().collect();
    assert!(distinct.len() > 1, "different seeds, different deliveries");
}

#[test]
fn a_deadlock_report_says_what_each_task_waits_for_on_the_network() {
    let (_, result) = run_twice(
        || Sim::new(0),
        || async {
            let db = Host::new("db");
            let _server = db.spawn_named("server", async {
                let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buffer = [0; 1];
                let _ = stream.read(&mut buffer).await.unwrap();
            });
            seedloop::yield_now().await;
            let mut client = TcpStream::connect("db:80").await.unwrap();
            let mut buffer = [0; 1];
            let _ = client.read(&mut buffer).await.unwrap();
        },
    );
    let failure = result.unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else {
        panic!("expected a deadlock, got {failure}");
    };
    let report = failure.to_string();
    assert_eq!(blocked.len(), 2, "{report}");
    assert!(
        report.contains("waits on data to read on connection 0 (main:49152 -> db:80)"),
        "{report}"
    );
}

#[test]
fn nothing_opens_a_real_socket() {
    passes(
        || Sim::new(0),
        || async {
            // Port 80 needs no privilege in a simulation, and no real listener appears.
            let _listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
            let _socket = UdpSocket::bind("0.0.0.0:53").await.unwrap();
            let real = std::net::TcpStream::connect_timeout(
                &"127.0.0.1:80".parse().unwrap(),
                Duration::from_millis(200),
            );
            assert!(real.is_err(), "a real listener on port 80");
        },
    );
}

#[test]
fn networking_outside_a_run_panics_naming_the_fix() {
    let message = panic_message(|| {
        futures::executor::block_on(TcpListener::bind("0.0.0.0:80")).unwrap();
    });
    assert!(message.contains("outside a Sim"), "{message}");
    let message = panic_message(|| partition("a", "b"));
    assert!(message.contains("outside a Sim"), "{message}");
    Sim::new(0)
        .run(async {
            let message = panic_message(|| partition("main", "nowhere"));
            assert!(message.contains("no host is named `nowhere`"), "{message}");
        })
        .unwrap();
}

#[test]
fn a_stream_keeps_its_order_across_a_partition_that_heals_mid_flight() {
    for seed in 0..12 {
        passes(
            || Sim::new(seed),
            || async {
                let db = Host::new("db");
                let server = db.spawn(async {
                    let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
                    let (mut stream, _) = listener.accept().await.unwrap();
                    let mut received = Vec::new();
                    stream.read_to_end(&mut received).await.unwrap();
                    received
                });
                seedloop::yield_now().await;
                let faults = seedloop::spawn(async {
                    sleep(Duration::from_millis(20)).await;
                    partition("main", "db");
                    sleep(Duration::from_millis(40)).await;
                    heal("main", "db");
                });
                let mut client = TcpStream::connect("db:80").await.unwrap();
                let mut sent = Vec::new();
                for index in 0..200u32 {
                    let bytes = index.to_le_bytes();
                    client.write_all(&bytes).await.unwrap();
                    sent.extend(bytes);
                    sleep(Duration::from_micros(500)).await;
                }
                client.close().await.unwrap();
                faults.await.unwrap();
                assert_eq!(server.await.unwrap(), sent);
            },
        );
    }
}

#[test]
fn the_socket_limit_is_a_named_failure() {
    let (_, result) = run_twice(
        || Sim::new(0).net(NetConfig::default().max_sockets(2)),
        || async {
            let _first = UdpSocket::bind("0.0.0.0:1").await.unwrap();
            let _second = UdpSocket::bind("0.0.0.0:2").await.unwrap();
            let third = UdpSocket::bind("0.0.0.0:3").await;
            assert!(third.is_err());
            seedloop::yield_now().await;
            unreachable!("the run stops at its next step");
        },
    );
    let failure = result.unwrap_err();
    assert_eq!(
        failure.kind,
        FailureKind::LimitReached {
            what: "sockets open on the simulated network (NetConfig::max_sockets)".to_string(),
            limit: 2
        }
    );
}

#[test]
fn the_in_flight_limit_is_a_named_failure() {
    let (_, result) = run_twice(
        || Sim::new(0).net(NetConfig::default().max_in_flight(10)),
        || async {
            let b = Host::new("b");
            drop(b);
            let socket = UdpSocket::bind("0.0.0.0:0").await.unwrap();
            for _ in 0..20 {
                socket.send_to(b"flood", "b:9").await.unwrap();
            }
            seedloop::yield_now().await;
        },
    );
    let failure = result.unwrap_err();
    assert_eq!(failure.kind.name(), "limit reached");
    assert!(
        failure.to_string().contains("NetConfig::max_in_flight"),
        "{failure}"
    );
}

#[test]
fn a_write_after_close_is_a_broken_pipe() {
    passes(
        || Sim::new(6),
        || async {
            let db = Host::new("db");
            let _server = listening_echo(&db).await;
            let mut client = TcpStream::connect("db:7").await.unwrap();
            client.close().await.unwrap();
            let error = client.write_all(b"late").await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::BrokenPipe);
        },
    );
}

#[test]
fn a_connected_udp_socket_sends_to_and_hears_only_its_peer() {
    passes(
        || Sim::new(12),
        || async {
            let b = Host::new("b");
            let c = Host::new("c");
            let peer = b.spawn(async {
                let socket = UdpSocket::bind("0.0.0.0:9").await.unwrap();
                let mut buffer = [0; 8];
                let (count, from) = socket.recv_from(&mut buffer).await.unwrap();
                socket.send_to(&buffer[..count], from).await.unwrap();
            });
            let stranger = c.spawn(async {
                let socket = UdpSocket::bind("0.0.0.0:9").await.unwrap();
                socket.send_to(b"noise", "main:5").await.unwrap();
            });
            let socket = UdpSocket::bind("0.0.0.0:5").await.unwrap();
            socket.connect("b:9").await.unwrap();
            stranger.await.unwrap();
            sleep(secs(1)).await; // the stranger's datagram has arrived
            socket.send(b"hi").await.unwrap();
            let mut buffer = [0; 8];
            let count = socket.recv(&mut buffer).await.unwrap();
            assert_eq!(&buffer[..count], b"hi", "only the peer is heard");
            peer.await.unwrap();
            let unconnected = UdpSocket::bind("0.0.0.0:6").await.unwrap();
            let error = unconnected.send(b"x").await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::NotConnected);
        },
    );
}

#[test]
fn a_connect_that_timed_out_is_not_accepted_after_the_heal() {
    let (sim, result) = run_twice(
        || Sim::new(2).net(NetConfig::default().connect_timeout(secs(1))),
        || async {
            let db = Host::new("db");
            let accepted = db.spawn(async {
                let listener = TcpListener::bind("0.0.0.0:80").await.unwrap();
                seedloop::time::timeout(secs(60), listener.accept())
                    .await
                    .is_ok()
            });
            seedloop::yield_now().await;
            partition("main", "db");
            let error = TcpStream::connect("db:80").await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::TimedOut);
            heal("main", "db");
            assert!(
                !accepted.await.unwrap(),
                "the abandoned request was accepted"
            );
        },
    );
    result.unwrap();
    let trace = sim.trace().to_string();
    assert!(trace.contains("connect timed out: connection 0"), "{trace}");
}

#[test]
fn refusals_and_resets_are_trace_events_with_their_direction() {
    let (sim, result) = run_twice(
        || Sim::new(1),
        || async {
            let db = Host::new("db");
            assert!(TcpStream::connect("db:80").await.is_err());
            let server = listening_echo(&db).await;
            let mut client = TcpStream::connect("db:7").await.unwrap();
            client.write_all(b"x").await.unwrap();
            let mut buffer = [0; 1];
            client.read_exact(&mut buffer).await.unwrap();
            db.crash();
            assert!(server.await.is_err());
            assert!(client.read(&mut buffer).await.is_err());
        },
    );
    result.unwrap();
    let trace = sim.trace().to_string();
    assert!(
        trace.contains("connection 0 (main:49152 -> db:80) refused"),
        "{trace}"
    );
    assert!(
        trace.contains("sent on connection 1 main:49153 -> db:7"),
        "{trace}"
    );
    assert!(
        trace.contains("sent on connection 1 db:7 -> main:49153"),
        "{trace}"
    );
    assert!(
        trace.contains("connection 1 db:7 -> main:49153 reset"),
        "{trace}"
    );
}

#[test]
fn a_new_run_starts_with_every_link_whole() {
    let mut sim = Sim::new(0);
    sim.run(async {
        Host::new("db");
        partition("main", "db");
    })
    .unwrap();
    sim.run(async {
        let db = Host::lookup("db").unwrap();
        let server = listening_echo(&db).await;
        let mut client = TcpStream::connect("db:7").await.unwrap();
        client.write_all(b"ok").await.unwrap();
        client.close().await.unwrap();
        assert_eq!(server.await.unwrap(), 2);
    })
    .unwrap();
}

#[test]
fn the_production_order_loses_no_datagram_even_at_a_loss_rate_of_one() {
    // Decision 0 is never a fault: at a rate of 1 a draw of 0 used to lose anyway.
    let (_, result) = run_twice(
        || {
            Sim::new(21)
                .policy(Policy::Fifo)
                .net(NetConfig::default().udp_loss(1.0).udp_duplicate(1.0))
        },
        || datagrams_received(10),
    );
    assert_eq!(result.unwrap(), 10, "each datagram arrives once");
}
