//! `tokio::runtime` as a simulation: `Runtime::block_on` runs its future as the main
//! future of a `seedloop::Sim`, on the seed `SEEDLOOP_SEED` names (0 by default).
//!
//! A failure (a panic, a deadlock, a limit) panics out of `block_on` with seedloop's
//! report and replay line. Builder options that tune tokio's threads are accepted and
//! ignored: a simulation is one thread.

use std::future::Future;
use std::io;

/// The seed a `Runtime` runs on: `SEEDLOOP_SEED`, or 0.
pub(crate) fn seed_from_environment() -> u64 {
    match std::env::var("SEEDLOOP_SEED") {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| {
            panic!(
                "SEEDLOOP_SEED={text:?} is not a seed: give a whole number, like SEEDLOOP_SEED=42"
            )
        }),
        Err(_) => 0,
    }
}

/// Runs `future` as a simulation's main future on the environment's seed; panics
/// with the failure report when the run fails.
pub(crate) fn run_on_environment_seed<F: Future>(future: F) -> F::Output {
    let seed = seed_from_environment();
    seedloop::Sim::new(seed)
        .run(future)
        .unwrap_or_else(|failure| panic!("{failure}"))
}

/// Builds a [`Runtime`] (tokio's `runtime::Builder`).
#[derive(Debug, Default)]
pub struct Builder {
    _private: (),
}

impl Builder {
    /// A builder (tokio's current-thread runtime: the simulation's only kind).
    pub fn new_current_thread() -> Builder {
        Builder::default()
    }

    /// A builder: a simulation is one thread, so this is the same runtime.
    pub fn new_multi_thread() -> Builder {
        Builder::default()
    }

    /// Accepted: the simulation always has its clock, network and disk.
    pub fn enable_all(&mut self) -> &mut Builder {
        self
    }

    /// Accepted (see [`Builder::enable_all`]).
    pub fn enable_time(&mut self) -> &mut Builder {
        self
    }

    /// Accepted (see [`Builder::enable_all`]).
    pub fn enable_io(&mut self) -> &mut Builder {
        self
    }

    /// Accepted: the clock is always virtual.
    pub fn start_paused(&mut self, _paused: bool) -> &mut Builder {
        self
    }

    /// Accepted and ignored: one thread.
    pub fn worker_threads(&mut self, _threads: usize) -> &mut Builder {
        self
    }

    /// Accepted and ignored: blocking jobs are simulated.
    pub fn max_blocking_threads(&mut self, _threads: usize) -> &mut Builder {
        self
    }

    /// Accepted and ignored: threads have no names in a simulation.
    pub fn thread_name(&mut self, _name: impl Into<String>) -> &mut Builder {
        self
    }

    /// The runtime.
    pub fn build(&mut self) -> io::Result<Runtime> {
        Ok(Runtime { _private: () })
    }
}

/// A runtime whose `block_on` runs a simulation (tokio's `Runtime`).
#[derive(Debug)]
pub struct Runtime {
    _private: (),
}

impl Runtime {
    /// A runtime.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().enable_all().build()
    }

    /// Runs `future` to completion as a simulation on the seed `SEEDLOOP_SEED` names
    /// (0 by default).
    ///
    /// # Panics
    ///
    /// When the run fails, with the failure's report; when called inside a
    /// simulation (simulations do not nest).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        run_on_environment_seed(future)
    }

    /// A handle (see [`Handle`]).
    pub fn handle(&self) -> Handle {
        Handle { _private: () }
    }
}

/// A handle to the running simulation (tokio's `Handle`).
#[derive(Clone, Debug)]
pub struct Handle {
    _private: (),
}

impl Handle {
    /// The current simulation's handle.
    ///
    /// # Panics
    ///
    /// Outside a simulation.
    #[track_caller]
    pub fn current() -> Handle {
        assert!(
            seedloop::task::try_current().is_some(),
            "Handle::current() called outside a simulation: facade code runs inside \
             #[tokio::test], #[tokio::main] or Runtime::block_on"
        );
        Handle { _private: () }
    }

    /// The current simulation's handle, if there is one.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        match seedloop::task::try_current() {
            Some(_) => Ok(Handle { _private: () }),
            None => Err(TryCurrentError(())),
        }
    }

    /// Spawns a task (see [`crate::spawn`]).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> crate::task::JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        crate::task::spawn(future)
    }

    /// Spawns a blocking job (see [`crate::task::spawn_blocking`]).
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, job: F) -> crate::task::JoinHandle<R>
    where
        F: FnOnce() -> R + 'static,
        R: 'static,
    {
        crate::task::spawn_blocking(job)
    }

    /// Not supported inside a simulation: a simulation cannot block its own thread
    /// on one of its futures. Await the future instead.
    ///
    /// # Panics
    ///
    /// Always, naming the fix.
    #[track_caller]
    pub fn block_on<F: Future>(&self, _future: F) -> F::Output {
        panic!(
            "Handle::block_on is not supported by seedloop-tokio: inside a simulation, \
             .await the future instead"
        )
    }
}

/// There is no simulation running on this thread.
#[derive(Debug)]
pub struct TryCurrentError(());

impl std::fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no simulation is running on this thread")
    }
}

impl std::error::Error for TryCurrentError {}
