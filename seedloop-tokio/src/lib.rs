//! # seedloop-tokio: tokio's API inside a seedloop simulation
//!
//! Code written for tokio runs unchanged under [seedloop]'s deterministic
//! simulation when the test build names this crate `tokio`: `tokio::spawn` spawns a
//! simulation task, `tokio::time` reads the virtual clock, `tokio::net` talks over the
//! simulated network between simulated hosts, `tokio::fs` writes to the simulated disk,
//! and `#[tokio::test]` runs the test body as a sweep of seeds whose failures print a
//! replay line. tokio's runtime-independent parts (`tokio::io`, `tokio::sync`,
//! `task_local!`, `pin!`) are tokio's own, re-exported.
//!
//! ```
//! use seedloop_tokio as tokio; // what the Cargo switch below does for a whole crate
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! tokio::runtime::Runtime::new().unwrap().block_on(async {
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:7").await.unwrap();
//!     let server = tokio::spawn(async move {
//!         let (mut stream, _) = listener.accept().await.unwrap();
//!         let mut buffer = [0u8; 5];
//!         stream.read_exact(&mut buffer).await.unwrap();
//!         stream.write_all(&buffer).await.unwrap();
//!     });
//!     let mut client = tokio::net::TcpStream::connect("localhost:7").await.unwrap();
//!     client.write_all(b"hello").await.unwrap();
//!     let mut echo = [0u8; 5];
//!     client.read_exact(&mut echo).await.unwrap();
//!     assert_eq!(&echo, b"hello");
//!     server.await.unwrap();
//! });
//! ```
//!
//! ## Switching a crate's tests over
//!
//! As madsim does, with a `cfg` that a test build sets:
//!
//! ```toml
//! [target.'cfg(not(seedloop))'.dependencies]
//! tokio = { version = "1", features = ["full"] }
//! [target.'cfg(seedloop)'.dependencies]
//! tokio = { package = "seedloop-tokio", version = "0.1" }
//! ```
//!
//! and `RUSTFLAGS="--cfg seedloop" cargo test`. The crate's own code and tests are
//! unchanged. A lighter way with no `RUSTFLAGS` (and no rebuild of every dependency):
//! a test-only crate whose `tokio` dependency is this crate, which includes the
//! service's modules by path (`#[path = "../service/src/lib.rs"] mod service;`).
//!
//! Anything of tokio's that this crate does not provide is a compile error (the item
//! does not exist) or, where a type exists but the call cannot work in a simulation
//! (`Handle::block_on`), a panic that names it. Nothing ever runs on a real runtime.
//! A misspelt macro argument is a compile error that names the accepted ones:
//!
//! ```compile_fail
//! #[seedloop_tokio::test(crate = "seedloop_tokio", flavour = "current_thread")]
//! async fn misspelt() {}
//! ```

mod io_adapter;

pub mod fs;
pub mod net;
pub mod runtime;
pub mod signal;
pub mod task;
pub mod time;

/// tokio's io traits and helpers (`AsyncReadExt`, `BufReader`, `copy`, `split`, ...):
/// they need no runtime.
pub use tokio::io;
/// tokio's synchronization primitives (`Mutex`, `mpsc`, `oneshot`, `broadcast`,
/// `watch`, `Notify`, `Semaphore`, ...): they need no runtime, and their wakers are
/// the simulation's.
pub use tokio::sync;
pub use tokio::{pin, task_local};

pub use task::spawn;

/// `#[tokio::main]`: runs `main`'s body as a simulation, on the seed `SEEDLOOP_SEED`
/// names (0 by default). tokio's arguments are accepted and ignored;
/// `crate = "seedloop_tokio"` names this crate when it is not imported as `tokio`.
pub use seedloop_macros::tokio_main as main;

/// `#[tokio::test]`: runs the test's body as a sweep of seeds (`SEEDLOOP_SEEDS`,
/// `SEEDLOOP_SEED`, `SEEDLOOP_POLICY`, ... apply); a failing seed panics with
/// seedloop's report and replay line. A body may return a `Result`. tokio's arguments
/// (`flavor`, `worker_threads`, `start_paused`) are accepted and ignored.
pub use seedloop_macros::tokio_test as test;

/// tokio's `join!`: awaits several futures concurrently, returning all outputs.
pub use futures::join;
/// tokio's `try_join!`: as `join!`, stopping at the first `Err`.
pub use futures::try_join;

/// tokio's `select!`, with the branch polled first drawn from the simulation's seed
/// (tokio draws it from a thread-local generator a simulation cannot replay). The
/// syntax and rules are tokio's: `pattern = future (, if condition)? => handler`,
/// `else => handler`, `biased;`.
///
/// ```
/// use seedloop_tokio as tokio;
/// use std::time::Duration;
/// tokio::runtime::Runtime::new().unwrap().block_on(async {
///     let (sender, mut receiver) = tokio::sync::mpsc::channel::<u32>(1);
///     sender.send(7).await.unwrap();
///     let got = tokio::select! {
///         Some(value) = receiver.recv() => value,
///         _ = tokio::time::sleep(Duration::from_secs(1)) => 0,
///     };
///     assert_eq!(got, 7);
/// });
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__seedloop::tokio_select!($crate; $($tokens)*)
    };
}

/// What the macros expand to. Not a public API.
#[doc(hidden)]
pub mod __seedloop {
    use std::future::Future;

    pub use seedloop_macros::tokio_select;

    /// The branch a `select!` polls first.
    pub fn select_start(branches: usize, biased: bool) -> usize {
        if biased {
            0
        } else {
            seedloop::task::select_start(branches)
        }
    }

    pub use seedloop::__private::TestOutput;

    /// `#[tokio::test]`: the body as a sweep named for the test (what
    /// `#[seedloop::test]` runs, with the default sweep).
    #[track_caller]
    pub fn run_test<F, Fut>(path: &str, make: F)
    where
        F: Fn() -> Fut,
        Fut: Future,
        Fut::Output: TestOutput,
    {
        seedloop::__private::run_test(path, seedloop::Check::new(), make)
    }

    /// `#[tokio::main]`: the body once, on the environment's seed.
    #[track_caller]
    pub fn run_main<F, Fut>(make: F) -> Fut::Output
    where
        F: FnOnce() -> Fut,
        Fut: Future,
    {
        crate::runtime::Runtime::new()
            .expect("a simulation runtime")
            .block_on(make())
    }
}
