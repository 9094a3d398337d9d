//! The replay line of a failure, derived from the run's [`Config`].
//!
//! A run of a sweep (or one given a replay command) is replayed by re-running the
//! program with the `SEEDLOOP_*` variables the sweep reads; a bare `Sim` reads none,
//! so its line is the Rust expression that builds it. For a libtest test the line
//! names exactly that test (`-- --exact`) and passes on the flag that ran ignored
//! tests.

use super::{env_names as env, Config};
use crate::choices::to_hex;
use crate::scheduler::Policy;

use std::time::Duration;

impl Config {
    /// The line that replays a failure of a run with this configuration.
    ///
    /// A run of a sweep, or one given a [`Config::replay_command`], is replayed by
    /// re-running the program with the `SEEDLOOP_*` variables the sweep reads. A bare
    /// `Sim` reads none, so its line is the Rust expression that builds it; so is the
    /// line of a recorded schedule, which no variable can carry.
    ///
    /// The test re-run is [`Config::name`], as given (exactly, when it is a
    /// [`Config::test_path`]), or else `thread_name`, the name
    /// of the thread the run failed on: libtest names it after the test's full path,
    /// so the line asks for exactly that test (`-- --exact`). `ignored_flag` is the
    /// libtest flag that ran ignored tests in this process ([`libtest_ignored_flag`]):
    /// an `#[ignore]` test runs only with it.
    pub(crate) fn replay_line(
        &self,
        thread_name: Option<&str>,
        ignored_flag: Option<&str>,
    ) -> String {
        if let Policy::Replay(_) = self.policy {
            return format!(
                "{} (a recorded schedule is no SEEDLOOP_POLICY value; failure.sim() builds it)",
                self.rust_expression()
            );
        }
        if self.deviations.is_some() && self.tape.is_none() {
            return format!(
                "{} (a proptest schedule is no SEEDLOOP_* value; failure.sim() builds it)",
                self.rust_expression()
            );
        }
        if !self.from_sweep && self.replay_command.is_none() {
            return format!(
                "{} (a bare Sim reads no SEEDLOOP_* variables; failure.sim() builds it)",
                self.rust_expression()
            );
        }
        // A tape makes every decision: the seed plays no part.
        let mut line = match &self.tape {
            Some(tape) => format!("{}={}", env::TAPE, to_hex(tape)),
            None => format!("{}={}", env::SEED, self.seed),
        };
        // The policy is the run's concrete one: a PCT horizon is part of it.
        line.push_str(&format!(" {}={}", env::POLICY, self.policy));
        if let Some(target) = &self.cancel_at {
            if target.await_point > 0 {
                line.push_str(&format!(" {}={}", env::CANCEL_AT, target.await_point));
            }
        }
        if let Some(custom) = &self.replay_command {
            line.push_str(&format!(" {custom}"));
            return line;
        }
        line.push_str(" cargo test");
        let mut test_args = Vec::new();
        match (&self.name, thread_name) {
            (Some(name), _) => {
                line.push_str(&format!(" {name}"));
                if self.name_is_test_path {
                    test_args.push("--exact");
                }
            }
            (None, Some(path)) => {
                line.push_str(&format!(" {path}"));
                test_args.push("--exact");
            }
            (None, None) => {}
        }
        test_args.extend(ignored_flag);
        if !test_args.is_empty() {
            line.push_str(&format!(" -- {}", test_args.join(" ")));
        }
        line
    }

    /// The Rust expression that builds a `Sim` running like this configuration: its
    /// seed and every knob away from its default that changes the execution (not the
    /// trace limits or the names the report prints).
    fn rust_expression(&self) -> String {
        let defaults = Config::new(self.seed);
        let mut expression = format!("Sim::new({})", self.seed);
        let mut knob = |name: &str, value: String| {
            expression.push_str(&format!(".{name}({value})"));
        };
        match &self.policy {
            Policy::Random => {}
            Policy::Fifo => knob("policy", "Policy::Fifo".to_string()),
            Policy::Pct { depth } => knob("policy", format!("Policy::Pct {{ depth: {depth} }}")),
            Policy::PctWithHorizon { depth, horizon } => knob(
                "policy",
                format!("Policy::PctWithHorizon {{ depth: {depth}, horizon: {horizon} }}"),
            ),
            Policy::Portfolio => knob("policy", "Policy::Portfolio".to_string()),
            Policy::Replay(_) => knob(
                "policy",
                "Policy::Replay(failure.schedule.clone())".to_string(),
            ),
        }
        if let Some(tape) = &self.tape {
            knob(
                "tape",
                format!("Tape::from_hex(\"{}\").unwrap()", to_hex(tape)),
            );
        }
        if let Some(deviations) = &self.deviations {
            knob("deviations", format!("vec!{deviations:?}"));
        }
        if self.max_steps != defaults.max_steps {
            knob("max_steps", self.max_steps.to_string());
        }
        if self.max_time != defaults.max_time {
            knob("max_time", rust_duration(self.max_time));
        }
        if self.max_tasks != defaults.max_tasks {
            knob("max_tasks", self.max_tasks.to_string());
        }
        // A run's concrete policy names its PCT horizon: `pct_horizon` is not needed.
        if self.continue_on_panic != defaults.continue_on_panic {
            knob("continue_on_panic", self.continue_on_panic.to_string());
        }
        if let Some(target) = &self.cancel_at {
            knob(
                "cancel_at",
                format!("{:?}, {}", target.task, target.await_point),
            );
        }
        if let Some(limit) = self.max_wait {
            knob("max_wait", rust_duration(limit));
        }
        if let Some(limit) = self.max_wait_steps {
            knob("max_wait_steps", limit.to_string());
        }
        if self.debug != defaults.debug {
            knob("debug", self.debug.to_string());
        }
        if self.slow_poll != defaults.slow_poll {
            knob("slow_poll", rust_duration(self.slow_poll));
        }
        if self.detect_wait_cycles != defaults.detect_wait_cycles {
            knob("detect_wait_cycles", self.detect_wait_cycles.to_string());
        }
        if self.faults.is_some() {
            knob(
                "faults",
                "failure.config.faults.clone().unwrap()".to_string(),
            );
        }
        if self.net != defaults.net {
            // Too many fields to print usefully: the failure's config has them.
            knob("net", "failure.config.net.clone()".to_string());
        }
        if self.disk != defaults.disk {
            knob("disk", "failure.config.disk.clone()".to_string());
        }
        expression
    }
}

/// `duration` as the shortest `Duration` constructor call that states it exactly.
fn rust_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    let (unit, scale) = [
        ("secs", 1_000_000_000),
        ("millis", 1_000_000),
        ("micros", 1_000),
    ]
    .into_iter()
    .find(|(_, scale)| nanos.is_multiple_of(*scale))
    .unwrap_or(("nanos", 1));
    format!("Duration::from_{unit}({})", nanos / scale)
}

/// The libtest flag among `args` (a test binary's arguments) that runs ignored tests:
/// `--ignored` (only them) or `--include-ignored` (them too). A replay line passes it
/// on, so that it re-runs an `#[ignore]` test that failed.
pub(crate) fn libtest_ignored_flag<I, S>(args: I) -> Option<&'static str>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut flag = None;
    for arg in args {
        match arg.as_ref() {
            "--ignored" => flag = Some("--ignored"),
            "--include-ignored" => return Some("--include-ignored"),
            _ => {}
        }
    }
    flag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ignored_flag_is_found_among_a_test_binarys_arguments() {
        assert_eq!(libtest_ignored_flag(["target/debug/deps/t-1a2b"]), None);
        assert_eq!(libtest_ignored_flag(["t", "some::test", "--exact"]), None);
        assert_eq!(
            libtest_ignored_flag(["t", "--ignored", "slow"]),
            Some("--ignored")
        );
        // --include-ignored runs ignored and other tests: passing it on re-runs the
        // failing test whether or not it is ignored.
        assert_eq!(
            libtest_ignored_flag(["t", "--include-ignored"]),
            Some("--include-ignored")
        );
        assert_eq!(
            libtest_ignored_flag(["t", "--ignored", "--include-ignored"]),
            Some("--include-ignored")
        );
    }

    #[test]
    fn a_sweeps_replay_line_runs_exactly_the_failing_test() {
        let mut config = Config::new(3);
        config.from_sweep = true;
        let line = |config: &Config, ignored| config.replay_line(Some("a::b"), ignored);
        assert_eq!(
            line(&config, None),
            "SEEDLOOP_SEED=3 SEEDLOOP_POLICY=random cargo test a::b -- --exact"
        );
        assert_eq!(
            line(&config, Some("--ignored")),
            "SEEDLOOP_SEED=3 SEEDLOOP_POLICY=random cargo test a::b -- --exact --ignored"
        );
        // A given name is used as given: it may not be a full path.
        let named = config.clone().name("b");
        assert_eq!(
            line(&named, Some("--ignored")),
            "SEEDLOOP_SEED=3 SEEDLOOP_POLICY=random cargo test b -- --ignored"
        );
        assert_eq!(
            line(&named, None),
            "SEEDLOOP_SEED=3 SEEDLOOP_POLICY=random cargo test b"
        );
        assert_eq!(
            config.replay_line(None, Some("--ignored")),
            "SEEDLOOP_SEED=3 SEEDLOOP_POLICY=random cargo test -- --ignored"
        );
        // A replay command is the whole command.
        let custom = config.replay_command("cargo run --example x");
        assert_eq!(
            line(&custom, Some("--ignored")),
            "SEEDLOOP_SEED=3 SEEDLOOP_POLICY=random cargo run --example x"
        );
    }
}
