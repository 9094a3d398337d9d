//! W5 TCP echo, seedloop beside turmoil: [`W5_CLIENTS`] clients each send
//! [`W5_ROUNDS`] messages of [`W5_MESSAGE_BYTES`] bytes to an echo server over simulated
//! TCP and read each echo back before sending the next.
//!
//! Both tools get the same setup: a host `server` whose accept loop on port 7 spawns one
//! echo task per connection (`read_exact` 64 bytes, then `write_all` them), and each
//! client on its own host (`client0` .. `client9`; every `sim.client` is a host in
//! turmoil), connecting to `server:7`. Each client checks every echo against what it
//! sent and adds up the bytes it read back; the total is checked at the end.
//!
//! One iteration is one whole simulation: `Sim::new(seed)` for seedloop (a main future
//! that makes the hosts and awaits the clients), `turmoil::Builder::new()` with
//! `rng_seed(seed)`, then `build()` and `run()` (until every client is done) for turmoil;
//! seeds 1, 2, 3, ... for both. Each tool keeps its own default network: seedloop draws
//! a latency of 0.5 to 2 ms per message and jumps its clock from event to event;
//! turmoil draws 0 to 100 ms (Exp(5), mean about 20 ms) and advances in 1 ms ticks,
//! polling every host at each tick. The row "turmoil, latency 1..2 ms" sets turmoil's
//! latency to about seedloop's (turmoil counts whole milliseconds), to show how much of
//! the gap comes from the number of ticks.
//!
//! Columns: `µs/rtt` is the sample time per round trip (1000 per iteration), median;
//! `ns/step` and `steps/iter` are seedloop's (turmoil's polls are not counted);
//! `spread` is (max - min) / median of the sample times per iteration.

use super::{goal, info, measure, median, row, seeded_row, seedloop_row, Config, Row};
use seedloop::Policy;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// Clients, each on its own host.
const W5_CLIENTS: usize = 10;
/// Round trips per client.
const W5_ROUNDS: usize = 100;
/// Bytes per message.
const W5_MESSAGE_BYTES: usize = 64;
/// Round trips per iteration.
const W5_ROUND_TRIPS: u64 = (W5_CLIENTS * W5_ROUNDS) as u64;

const SEEDLOOP_RANDOM: &str = "seedloop Random";
const TURMOIL: &str = "turmoil";
const TURMOIL_MATCHED: &str = "turmoil, latency 1..2 ms";

/// The message client `client` sends in round `round`: distinct per client and round,
/// so that an echo from the wrong connection or of the wrong round is caught.
fn message(client: usize, round: usize) -> [u8; W5_MESSAGE_BYTES] {
    std::array::from_fn(|index| (client * 131 + round * 7 + index) as u8)
}

fn byte_sum(bytes: &[u8]) -> u64 {
    bytes.iter().map(|&byte| u64::from(byte)).sum()
}

/// The sum of every byte echoed in one iteration.
fn expected_sum() -> u64 {
    (0..W5_CLIENTS)
        .flat_map(|client| (0..W5_ROUNDS).map(move |round| byte_sum(&message(client, round))))
        .sum()
}

/// One seedloop iteration's main future.
async fn seedloop_echo(expected: u64) {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    use seedloop::net::{Host, TcpListener, TcpStream};

    let server = Host::new("server");
    // The accept loop and the echo tasks never end by themselves: the run drops them
    // when the main future returns.
    drop(server.spawn(async {
        let listener = TcpListener::bind("0.0.0.0:7").await.expect("bind");
        loop {
            let (mut stream, _) = listener.accept().await.expect("accept");
            drop(seedloop::spawn(async move {
                let mut buffer = [0u8; W5_MESSAGE_BYTES];
                while stream.read_exact(&mut buffer).await.is_ok() {
                    stream.write_all(&buffer).await.expect("echo");
                }
            }));
        }
    }));
    let clients: Vec<_> = (0..W5_CLIENTS)
        .map(|client| {
            Host::new(format!("client{client}")).spawn(async move {
                let mut stream = TcpStream::connect("server:7").await.expect("connect");
                let mut echo = [0u8; W5_MESSAGE_BYTES];
                let mut sum = 0;
                for round in 0..W5_ROUNDS {
                    let sent = message(client, round);
                    stream.write_all(&sent).await.expect("write");
                    stream.read_exact(&mut echo).await.expect("read");
                    assert_eq!(echo, sent, "client {client}, round {round}");
                    sum += byte_sum(&echo);
                }
                sum
            })
        })
        .collect();
    let mut sum = 0;
    for client in clients {
        sum += client.await.expect("client");
    }
    assert_eq!(sum, expected);
}

/// One turmoil iteration; returns its virtual time.
fn turmoil_echo(seed: u64, matched_latency: bool, expected: u64) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use turmoil::net::{TcpListener, TcpStream};

    let mut builder = turmoil::Builder::new();
    builder.rng_seed(seed);
    if matched_latency {
        builder
            .min_message_latency(Duration::from_millis(1))
            .max_message_latency(Duration::from_millis(2));
    }
    let mut sim = builder.build();
    sim.host("server", || async {
        let listener = TcpListener::bind("0.0.0.0:7").await?;
        loop {
            let (mut stream, _) = listener.accept().await?;
            tokio::spawn(async move {
                let mut buffer = [0u8; W5_MESSAGE_BYTES];
                while stream.read_exact(&mut buffer).await.is_ok() {
                    stream.write_all(&buffer).await.expect("echo");
                }
            });
        }
    });
    let total = Rc::new(Cell::new(0));
    for client in 0..W5_CLIENTS {
        let total = Rc::clone(&total);
        sim.client(format!("client{client}"), async move {
            let mut stream = TcpStream::connect("server:7").await?;
            let mut echo = [0u8; W5_MESSAGE_BYTES];
            let mut sum = 0;
            for round in 0..W5_ROUNDS {
                let sent = message(client, round);
                stream.write_all(&sent).await?;
                stream.read_exact(&mut echo).await?;
                assert_eq!(echo, sent, "client {client}, round {round}");
                sum += byte_sum(&echo);
            }
            total.set(total.get() + sum);
            Ok(())
        });
    }
    sim.run().expect("turmoil: the workload failed");
    assert_eq!(total.get(), expected);
    sim.elapsed()
}

fn turmoil_row(name: &str, matched_latency: bool, expected: u64) -> Row {
    seeded_row(name, move |seed| {
        turmoil_echo(seed, matched_latency, expected);
        0
    })
}

/// The virtual time of one seedloop iteration (seed 1, Random).
fn seedloop_virtual_time(expected: u64) -> Duration {
    let mut sim = seedloop::Sim::new(1);
    sim.run(seedloop_echo(expected))
        .unwrap_or_else(|failure| panic!("W5: the workload failed:\n{failure}"));
    sim.stats().elapsed
}

impl Row {
    fn micros_per_round_trip(&self) -> f64 {
        self.ns_per_iteration() / W5_ROUND_TRIPS as f64 / 1000.0
    }

    fn iteration_spread(&self) -> f64 {
        let times = || {
            self.samples
                .iter()
                .map(|(time, _)| time.as_nanos() as f64 / self.iterations as f64)
        };
        let max = times().fold(f64::MIN, f64::max);
        let min = times().fold(f64::MAX, f64::min);
        (max - min) / median(times())
    }
}

fn print_table(rows: &[Row], seedloop_rows: usize) {
    println!();
    println!(
        "W5 TCP echo: {W5_CLIENTS} clients x {W5_ROUNDS} round trips of {W5_MESSAGE_BYTES} bytes"
    );
    let width = rows.iter().map(|row| row.name.len()).fold(32, usize::max);
    println!(
        "  {:<width$} {:>12} {:>10} {:>10} {:>12} {:>8} {:>16}",
        "runtime/policy", "iter/s", "µs/rtt", "ns/step", "steps/iter", "spread", "samples x iters"
    );
    for (index, row) in rows.iter().enumerate() {
        let (per_step, steps) = if index < seedloop_rows {
            (
                format!("{:.1}", row.ns_per_step()),
                format!("{:.0}", row.steps_per_iteration()),
            )
        } else {
            ("-".to_string(), "-".to_string())
        };
        println!(
            "  {:<width$} {:>12.1} {:>10.3} {:>10} {:>12} {:>7.0}% {:>16}",
            row.name,
            row.iter_per_sec(),
            row.micros_per_round_trip(),
            per_step,
            steps,
            row.iteration_spread() * 100.0,
            format!("{} x {}", row.samples.len(), row.iterations),
        );
    }
}

/// Measures W5 and adds its goal and information lines.
pub(super) fn section(config: &Config, goals: &mut Vec<String>, infos: &mut Vec<String>) {
    let expected = expected_sum();
    let make = move || seedloop_echo(expected);
    let mut rows = vec![
        seedloop_row(SEEDLOOP_RANDOM, Policy::Random, true, make),
        seedloop_row("seedloop Fifo", Policy::Fifo, true, make),
        seedloop_row("seedloop Random, trace off", Policy::Random, false, make),
    ];
    let seedloop_rows = rows.len();
    rows.push(turmoil_row(TURMOIL, false, expected));
    rows.push(turmoil_row(TURMOIL_MATCHED, true, expected));
    measure(config, &mut rows);
    print_table(&rows, seedloop_rows);
    let millis = |time: Duration| time.as_secs_f64() * 1000.0;
    println!(
        "  virtual time of one iteration (seed 1): seedloop {:.1} ms, turmoil {:.1} ms, turmoil with latency 1..2 ms {:.1} ms",
        millis(seedloop_virtual_time(expected)),
        millis(turmoil_echo(1, false, expected)),
        millis(turmoil_echo(1, true, expected)),
    );

    let random = row(&rows, SEEDLOOP_RANDOM).micros_per_round_trip();
    goals.push(goal("W5 seedloop Random µs per round trip", random, 0.6));
    goals.push(at_least(
        "W5 turmoil / seedloop Random, per round trip",
        row(&rows, TURMOIL).micros_per_round_trip() / random,
        50.0,
    ));
    infos.push(info(
        "W5 turmoil, latency 1..2 ms / seedloop Random, per round trip",
        row(&rows, TURMOIL_MATCHED).micros_per_round_trip() / random,
    ));
    infos.push(info(
        "W5 seedloop Random, trace on / trace off, per round trip",
        random / row(&rows, "seedloop Random, trace off").micros_per_round_trip(),
    ));
}

/// A goal line for a ratio that should be at least `at_least`.
fn at_least(label: &str, ratio: f64, at_least: f64) -> String {
    let verdict = if ratio >= at_least { "met" } else { "MISSED" };
    format!("  {label:<66} {ratio:>6.2}   goal >= {at_least:<4} {verdict}")
}
