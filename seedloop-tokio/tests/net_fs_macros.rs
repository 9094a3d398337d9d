//! `tokio::net`, `tokio::fs` and the attribute macros under the facade.

use seedloop::net::Host;
use seedloop::Policy;
use seedloop_tokio as tokio;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader};

mod common;

fn run<T, Fut: std::future::Future<Output = T>>(seed: u64, program: impl Fn() -> Fut) -> T {
    common::run_twice(seed, Policy::Random, program)
}

#[test]
fn tcp_streams_speak_tokio_io_across_hosts_and_split_into_halves() {
    for seed in 0..10 {
        run(seed, || async {
            let server = Host::new("server");
            let listening = server.spawn(async {
                let listener = tokio::net::TcpListener::bind("0.0.0.0:80").await.unwrap();
                let (stream, peer) = listener.accept().await.unwrap();
                assert_eq!(peer.ip(), Host::lookup("main").unwrap().ip());
                let (reader, mut writer) = stream.into_split();
                let mut lines = BufReader::new(reader).lines();
                while let Some(line) = lines.next_line().await.unwrap() {
                    writer
                        .write_all(format!("{}\n", line.to_uppercase()).as_bytes())
                        .await
                        .unwrap();
                }
                // Dropping the write half closes it: the client reads end of stream.
            });
            let address = tokio::net::lookup_host("server:80")
                .await
                .unwrap()
                .next()
                .unwrap();
            assert_eq!(address.ip(), server.ip());
            let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
            let (mut read_half, mut write_half) = client.split();
            write_half.write_all(b"hello\nworld\n").await.unwrap();
            write_half.shutdown().await.unwrap();
            let mut answer = String::new();
            read_half.read_to_string(&mut answer).await.unwrap();
            assert_eq!(answer, "HELLO\nWORLD\n");
            listening.await.unwrap();
        });
    }
}

#[test]
fn connection_errors_have_tokios_kinds_and_udp_works() {
    run(1, || async {
        let refused = tokio::net::TcpStream::connect("localhost:9")
            .await
            .unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        let a = tokio::net::UdpSocket::bind("0.0.0.0:5000").await.unwrap();
        let b = tokio::net::UdpSocket::bind("0.0.0.0:5001").await.unwrap();
        a.send_to(b"ping", "localhost:5001").await.unwrap();
        let mut buffer = [0u8; 8];
        let (count, from) = b.recv_from(&mut buffer).await.unwrap();
        assert_eq!(&buffer[..count], b"ping");
        assert_eq!(from.port(), 5000);
    });
}

#[test]
fn files_read_write_seek_and_list_on_the_simulated_disk() {
    run(2, || async {
        tokio::fs::create_dir_all("/data").await.unwrap();
        let mut file = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open("/data/log")
            .await
            .unwrap();
        file.write_all(b"one two").await.unwrap();
        file.sync_all().await.unwrap();
        file.seek(std::io::SeekFrom::Start(4)).await.unwrap();
        let mut rest = String::new();
        file.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "two");
        tokio::fs::write("/data/config", "x=1").await.unwrap();
        tokio::fs::rename("/data/config", "/data/config.old")
            .await
            .unwrap();
        let mut listing = tokio::fs::read_dir("/data").await.unwrap();
        let mut names = Vec::new();
        while let Some(entry) = listing.next_entry().await.unwrap() {
            names.push(entry.file_name().into_string().unwrap());
        }
        assert_eq!(names, ["config.old", "log"]);
        assert!(!tokio::fs::try_exists("/data/config").await.unwrap());
        assert_eq!(
            tokio::fs::read_to_string("/data/config.old").await.unwrap(),
            "x=1"
        );
    });
}

#[seedloop_tokio::test(crate = "seedloop_tokio", flavor = "multi_thread", worker_threads = 2)]
async fn a_tokio_test_runs_as_a_sweep_and_may_return_a_result() -> Result<(), std::io::Error> {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await?;
    let port = listener.local_addr()?.port();
    let accepted = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
    tokio::net::TcpStream::connect(("localhost", port)).await?;
    accepted.await??;
    Ok(())
}

#[test]
#[allow(unnameable_test_items)] // the inner test is called by hand, not by the harness
fn a_failing_tokio_test_reports_the_seed_and_a_replay_line() {
    #[seedloop_tokio::test(crate = "seedloop_tokio")]
    async fn racy() {
        let counter = std::rc::Rc::new(std::cell::Cell::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let seen = counter.get();
                    tokio::task::yield_now().await;
                    counter.set(seen + 1);
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        assert_eq!(counter.get(), 2, "lost update");
    }
    let panic = std::panic::catch_unwind(racy).unwrap_err();
    let report = panic.downcast_ref::<String>().unwrap();
    assert!(report.contains("lost update"), "{report}");
    assert!(report.contains("SEEDLOOP_SEED="), "{report}");
    assert!(
        report.contains("racy"),
        "the test's name is in the replay line: {report}"
    );
}

#[test]
fn main_runs_once_on_the_environments_seed() {
    #[seedloop_tokio::main(crate = "seedloop_tokio")]
    async fn main() -> u64 {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        tokio::time::Instant::now().elapsed().as_secs() + 40
    }
    assert_eq!(main(), 40);
}
