//! Every `SEEDLOOP_*` environment variable, in one place.
//!
//! The sweeps ([`crate::Check`], [`crate::CancelExplorer`]) read them when they run; a
//! bare [`crate::Sim`] reads none (its failures print the Rust expression that builds
//! it instead).
//!
//! | variable | value | effect | overrides |
//! |---|---|---|---|
//! | `SEEDLOOP_SEED` | `u64` (`0` to `18446744073709551615`) | run only this seed (replay a failure) | `.seeds(..)` |
//! | `SEEDLOOP_SEEDS` | `u64` >= 1 | how many seeds a sweep runs, from its first seed (the sweep stops at seed `u64::MAX`) | `.seeds(..)`'s length |
//! | `SEEDLOOP_POLICY` | `portfolio`, `random`, `fifo`, `pct:<depth>` or `pct:<depth>,horizon=<steps>` with `1 <= depth <= 64` ([`crate::MAX_PCT_DEPTH`]) and `1 <= steps <= 1000000000` ([`crate::MAX_PCT_HORIZON`]) | the scheduling policy (a replay line names the concrete one) | `.policy(..)` |
//! | `SEEDLOOP_PCT_HORIZON` | steps, `1` to `1000000000` ([`crate::MAX_PCT_HORIZON`]) | pins the PCT horizon `k` of `pct:<depth>` (instead of fitting it) | `.pct_horizon(..)` |
//! | `SEEDLOOP_TAPE` | hexadecimal bytes (`07ff00`) | run the one execution this byte tape makes (replay a tape run) | `.tape(..)`, and the seeds: one execution |
//! | `SEEDLOOP_CHECK_DETERMINISM` | `1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off` | run every seed twice and compare traces | `Check::check_determinism(..)` |
//! | `SEEDLOOP_VERBOSE` | `1`/`0` (as above) | a passing sweep prints what it ran (seeds, policy, steps) in one line on stderr | nothing |
//! | `SEEDLOOP_DEBUG` | `1`/`0` (as above) | debug mode: slow polls and task errors never retrieved are reported ([`crate::DebugFinding`]) | `.debug(..)` |
//! | `SEEDLOOP_CANCEL_AT` | `u64` >= 1 | the cancellation explorer tries only this await point; one beyond the target's await points is an error (a stale replay line) | the point of `.cancel_at(..)` |
//! | `SEEDLOOP_JOBS` | `1` to `1024` ([`MAX_JOBS`]) | worker threads of a parallel sweep ([`crate::Check::run_parallel`]); default: the available cores | `Check::jobs(..)` |
//! | `SEEDLOOP_PARTITION` | `k/n` with `1 <= k <= n <= 1000000` ([`MAX_PARTITIONS`]) | run only the k-th of n disjoint slices of the seeds ([`Partition`]); ignored by a replayed seed or tape | nothing: it slices the seeds the rest configures |
//! | `SEEDLOOP_TIME_BUDGET` | a whole number and a unit: `500ms`, `30s`, `5m`, `2h`; at most 7 days ([`MAX_TIME_BUDGET`]) | run seeds from the first until the budget is spent (`SEEDLOOP_SEEDS`, when set, still caps them) | the count of `.seeds(..)`, and `Check::time_budget(..)` |
//! | `SEEDLOOP_TRACE_DIR` | a directory (created if missing) | a failing sweep writes the failing run's trace there, as text and as Chrome JSON; the report names the files | nothing |
//!
//! `SEEDLOOP_JOBS`, `SEEDLOOP_PARTITION` and `SEEDLOOP_TIME_BUDGET` shape a
//! [`crate::Check`] sweep; the cancellation explorer runs every seed it names, in
//! order, and ignores them. `SEEDLOOP_TRACE_DIR` applies to both.
//!
//! The environment overrides what the code configured, so a printed replay line always
//! reproduces; every other knob stays as the code set it. A bad value is an error
//! naming the variable and the accepted forms; an unknown `SEEDLOOP_*` variable (a typo)
//! is warned about on stderr.

use super::check::{MAX_JOBS, MAX_TIME_BUDGET};
use super::partition::{Partition, MAX_PARTITIONS};
use crate::choices::Tape;
use crate::scheduler::{Policy, MAX_PCT_DEPTH, MAX_PCT_HORIZON};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

// The error messages below spell the bounds out.
const _: () = assert!(MAX_PCT_DEPTH == 64 && MAX_PCT_HORIZON == 1_000_000_000);
const _: () = assert!(MAX_JOBS == 1024 && MAX_PARTITIONS == 1_000_000);
const _: () = assert!(MAX_TIME_BUDGET.as_secs() == 7 * 24 * 3600);

pub use crate::config::env_names::*;

const KNOWN: [&str; 13] = [
    SEED,
    SEEDS,
    POLICY,
    PCT_HORIZON,
    CHECK_DETERMINISM,
    CANCEL_AT,
    TAPE,
    DEBUG,
    VERBOSE,
    JOBS,
    PARTITION,
    TIME_BUDGET,
    TRACE_DIR,
];

/// The overrides read from the environment.
///
/// # Examples
///
/// ```
/// use seedloop::harness::env::EnvConfig;
/// let env = EnvConfig::parse([("SEEDLOOP_SEEDS", "5"), ("SEEDLOOP_SEDE", "1")]).unwrap();
/// assert_eq!(env.seeds, Some(5));
/// assert_eq!(env.unknown, ["SEEDLOOP_SEDE"], "a typo is kept, to be warned about");
/// // A sweep given it uses it instead of the process environment.
/// let summary = seedloop::Check::new().env(env).run(|| async {});
/// assert_eq!(summary.seeds_run, 5);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct EnvConfig {
    /// `SEEDLOOP_SEED`.
    pub seed: Option<u64>,
    /// `SEEDLOOP_SEEDS`.
    pub seeds: Option<u64>,
    /// `SEEDLOOP_POLICY`.
    pub policy: Option<Policy>,
    /// `SEEDLOOP_PCT_HORIZON`.
    pub pct_horizon: Option<u64>,
    /// `SEEDLOOP_CHECK_DETERMINISM`.
    pub check_determinism: Option<bool>,
    /// `SEEDLOOP_DEBUG`.
    pub debug: Option<bool>,
    /// `SEEDLOOP_VERBOSE`.
    pub verbose: Option<bool>,
    /// `SEEDLOOP_CANCEL_AT`.
    pub cancel_at: Option<u64>,
    /// `SEEDLOOP_TAPE`, decoded.
    pub tape: Option<Vec<u8>>,
    /// `SEEDLOOP_JOBS`.
    pub jobs: Option<usize>,
    /// `SEEDLOOP_PARTITION`.
    pub partition: Option<Partition>,
    /// `SEEDLOOP_TIME_BUDGET`.
    pub time_budget: Option<Duration>,
    /// `SEEDLOOP_TRACE_DIR`.
    pub trace_dir: Option<PathBuf>,
    /// `SEEDLOOP_*` names that mean nothing (typos).
    pub unknown: Vec<String>,
}

/// A `SEEDLOOP_*` variable with a value it cannot take.
///
/// # Examples
///
/// ```
/// use seedloop::harness::env::EnvConfig;
/// let error = EnvConfig::parse([("SEEDLOOP_SEED", "forty-two")]).unwrap_err();
/// assert_eq!(error.variable(), "SEEDLOOP_SEED");
/// assert!(error.to_string().contains("forty-two"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvError {
    variable: &'static str,
    value: String,
    expected: &'static str,
}

impl EnvError {
    /// The variable's name.
    pub fn variable(&self) -> &str {
        self.variable
    }
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?} is invalid: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for EnvError {}

fn invalid(variable: &'static str, value: &str, expected: &'static str) -> EnvError {
    EnvError {
        variable,
        value: value.to_string(),
        expected,
    }
}

/// An unsigned integer within `range`.
fn parse_in(
    variable: &'static str,
    value: &str,
    expected: &'static str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, EnvError> {
    match value.trim().parse() {
        Ok(number) if range.contains(&number) => Ok(number),
        _ => Err(invalid(variable, value, expected)),
    }
}

/// A duration as `SEEDLOOP_TIME_BUDGET` takes it: a whole number and a unit (`ms`,
/// `s`, `m`, `h`), from 1 ms to [`MAX_TIME_BUDGET`].
fn parse_budget(value: &str) -> Option<Duration> {
    let text = value.trim();
    let split = text.find(|character: char| !character.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis_per_unit = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    let budget = Duration::from_millis(number.checked_mul(millis_per_unit)?);
    (!budget.is_zero() && budget <= MAX_TIME_BUDGET).then_some(budget)
}

/// An on/off variable's forms.
fn parse_switch(name: &'static str, value: &str) -> Result<bool, EnvError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(invalid(
            name,
            value,
            "1 or 0 (also true/false, yes/no, on/off)",
        )),
    }
}

impl EnvConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<EnvConfig, EnvError> {
        EnvConfig::parse(std::env::vars_os().filter_map(|(key, value)| {
            let key = key.into_string().ok()?;
            key.starts_with("SEEDLOOP_")
                .then(|| (key, value.to_string_lossy().into_owned()))
        }))
    }

    /// Parses `(name, value)` pairs; names without the `SEEDLOOP_` prefix are ignored.
    ///
    /// ```
    /// use seedloop::harness::env::EnvConfig;
    /// use seedloop::Policy;
    /// let config = EnvConfig::parse([("SEEDLOOP_POLICY", "pct:2"), ("SEEDLOOP_SEED", "17")]).unwrap();
    /// assert_eq!(config.policy, Some(Policy::Pct { depth: 2 }));
    /// assert_eq!(config.seed, Some(17));
    /// let error = EnvConfig::parse([("SEEDLOOP_POLICY", "lifo")]).unwrap_err();
    /// assert!(error.to_string().contains("SEEDLOOP_POLICY"));
    /// assert!(error.to_string().contains("pct:<depth>"));
    ///
    /// let scale = EnvConfig::parse([
    ///     ("SEEDLOOP_JOBS", "4"),
    ///     ("SEEDLOOP_PARTITION", "2/8"),
    ///     ("SEEDLOOP_TIME_BUDGET", "5m"),
    ///     ("SEEDLOOP_TRACE_DIR", "target/seedloop-traces"),
    /// ])
    /// .unwrap();
    /// assert_eq!(scale.jobs, Some(4));
    /// assert_eq!(scale.partition.unwrap().to_string(), "2/8");
    /// assert_eq!(scale.time_budget, Some(std::time::Duration::from_secs(300)));
    /// assert_eq!(scale.trace_dir.unwrap(), std::path::Path::new("target/seedloop-traces"));
    /// ```
    pub fn parse<I, K, V>(vars: I) -> Result<EnvConfig, EnvError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut config = EnvConfig::default();
        for (key, value) in vars {
            let (key, value) = (key.as_ref(), value.as_ref());
            match key {
                SEED => {
                    let expected = "a seed, an unsigned 64-bit integer such as 42";
                    config.seed = Some(parse_in(SEED, value, expected, 0..=u64::MAX)?);
                }
                SEEDS => {
                    let expected = "a number of seeds such as 1000; it must be at least 1: a sweep of no seeds would pass without testing anything";
                    config.seeds = Some(parse_in(SEEDS, value, expected, 1..=u64::MAX)?);
                }
                POLICY => {
                    config.policy = Some(value.parse().map_err(|_| {
                        invalid(POLICY, value, "`portfolio`, `random`, `fifo`, `pct:<depth>` or `pct:<depth>,horizon=<steps>` with 1 <= depth <= 64 (MAX_PCT_DEPTH) and 1 <= steps <= 1000000000 (MAX_PCT_HORIZON); e.g. `pct:3` or `pct:3,horizon=40`")
                    })?)
                }
                PCT_HORIZON => {
                    let expected =
                        "a number of steps from 1 to 1000000000 (MAX_PCT_HORIZON) such as 100";
                    let range = 1..=MAX_PCT_HORIZON;
                    config.pct_horizon = Some(parse_in(PCT_HORIZON, value, expected, range)?);
                }
                CANCEL_AT => {
                    let expected = "an await point >= 1 such as 2 (as a failure report prints it)";
                    config.cancel_at = Some(parse_in(CANCEL_AT, value, expected, 1..=u64::MAX)?);
                }
                TAPE => {
                    let tape = Tape::from_hex(value).map_err(|_| {
                        invalid(TAPE, value, "a tape in hexadecimal, two digits a byte (e.g. 07ff00), as a failure report prints it")
                    })?;
                    config.tape = Some(tape.into());
                }
                CHECK_DETERMINISM => {
                    config.check_determinism = Some(parse_switch(CHECK_DETERMINISM, value)?)
                }
                DEBUG => config.debug = Some(parse_switch(DEBUG, value)?),
                VERBOSE => config.verbose = Some(parse_switch(VERBOSE, value)?),
                JOBS => {
                    let expected = "a number of worker threads from 1 to 1024 (MAX_JOBS) such as 4";
                    let jobs = parse_in(JOBS, value, expected, 1..=MAX_JOBS as u64)?;
                    config.jobs = Some(jobs as usize);
                }
                PARTITION => {
                    config.partition = Some(value.parse().map_err(|_| {
                        invalid(PARTITION, value, "k/n with 1 <= k <= n <= 1000000 (MAX_PARTITIONS), such as 2/4 for the second of four slices")
                    })?)
                }
                TIME_BUDGET => {
                    config.time_budget = Some(parse_budget(value).ok_or_else(|| {
                        invalid(TIME_BUDGET, value, "a whole number and a unit (ms, s, m or h) such as 30s or 5m, from 1ms to 7 days (MAX_TIME_BUDGET)")
                    })?)
                }
                TRACE_DIR => {
                    if value.trim().is_empty() {
                        return Err(invalid(TRACE_DIR, value, "a directory to write failing runs' traces into (created if missing)"));
                    }
                    config.trace_dir = Some(PathBuf::from(value));
                }
                _ if key.starts_with("SEEDLOOP_") => config.unknown.push(key.to_string()),
                _ => {}
            }
        }
        config.unknown.sort();
        Ok(config)
    }

    /// Warns on stderr about unknown `SEEDLOOP_*` variables.
    pub(crate) fn warn_unknown(&self) {
        for name in &self.unknown {
            eprintln!(
                "seedloop: warning: unknown environment variable {name} (known: {})",
                KNOWN.join(", ")
            );
        }
    }
}
