//! The progress line of a long sweep, on stderr, only when stderr is a terminal.
//!
//! A sweep that ends within about a second prints nothing: the line would only
//! flicker. After [`SHOW_AFTER`], a sweep whose stderr is a terminal rewrites one line
//! every [`EVERY`] (`\r`, the text, clear to the end of the line): seeds done, seeds
//! per second, and the time left (by the time budget when there is one, else by the
//! seeds left at the rate so far). When the sweep ends, a line that was shown is
//! finished with a last update and a newline. When stderr is not a terminal (CI logs,
//! a file, a pipe) nothing is ever written.
//!
//! The line is written straight to the process's stderr, not through `eprint!`, so
//! libtest's output capture does not hold it back: the point is to see a long sweep
//! moving while it runs. The decisions take the current time as an argument, so that
//! they are tested without waiting.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How long a sweep runs before its progress shows.
pub(crate) const SHOW_AFTER: Duration = Duration::from_secs(1);
/// How often the line is rewritten.
pub(crate) const EVERY: Duration = Duration::from_millis(250);

pub(crate) struct Progress {
    /// Whether anything may be written (stderr is a terminal).
    enabled: bool,
    label: String,
    start: Instant,
    /// The seeds the sweep runs at most (`None`: more than anyone would wait for).
    total: Option<u64>,
    budget: Option<Duration>,
    last_shown: Option<Instant>,
}

impl Progress {
    /// Progress for a sweep that started at `start`; `enabled` says whether stderr is
    /// a terminal ([`Progress::for_stderr`] asks).
    pub(crate) fn new(
        enabled: bool,
        label: String,
        start: Instant,
        total: Option<u64>,
        budget: Option<Duration>,
    ) -> Progress {
        Progress {
            enabled,
            label,
            start,
            total,
            budget,
            last_shown: None,
        }
    }

    /// Progress enabled when the process's stderr is a terminal.
    pub(crate) fn for_stderr(
        label: String,
        start: Instant,
        total: Option<u64>,
        budget: Option<Duration>,
    ) -> Progress {
        let enabled = std::io::stderr().is_terminal();
        Progress::new(enabled, label, start, total, budget)
    }

    /// Whether the caller needs to ask at all (it skips reading the clock if not).
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// The line to show at `now` with `done` seeds run, if one is due.
    pub(crate) fn update(&mut self, now: Instant, done: u64) -> Option<String> {
        if !self.enabled || now.duration_since(self.start) < SHOW_AFTER {
            return None;
        }
        if let Some(last) = self.last_shown {
            if now.duration_since(last) < EVERY {
                return None;
            }
        }
        self.last_shown = Some(now);
        Some(self.line(now, done))
    }

    /// The last line, when a line was shown: the sweep has ended.
    pub(crate) fn finish(&mut self, now: Instant, done: u64) -> Option<String> {
        self.last_shown?;
        let (counts, _) = self.counts(now, done);
        let elapsed = clock(now.duration_since(self.start));
        Some(format!("{counts}, done in {elapsed}"))
    }

    fn line(&self, now: Instant, done: u64) -> String {
        let (mut line, left) = self.counts(now, done);
        if let Some(left) = left {
            line.push_str(&format!(", {} left", clock(left)));
        }
        line
    }

    /// The label, seeds done and seeds per second; and the time left, if known.
    fn counts(&self, now: Instant, done: u64) -> (String, Option<Duration>) {
        let elapsed = now.duration_since(self.start);
        let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
        let mut line = format!("seedloop: {}: {} seeds", self.label, group(done));
        if let Some(total) = self.total {
            line = format!(
                "seedloop: {}: {} of {} seeds",
                self.label,
                group(done),
                group(total)
            );
        }
        line.push_str(&format!(", {} seeds/s", group(rate as u64)));
        let by_seeds = self.total.and_then(|total| {
            let left = total.saturating_sub(done) as f64;
            (rate > 0.0).then(|| Duration::from_secs_f64((left / rate).min(1e9)))
        });
        let by_budget = self.budget.map(|budget| budget.saturating_sub(elapsed));
        let left = match (by_seeds, by_budget) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (line, left)
    }
}

/// Shows `line` in place of the previous one.
pub(crate) fn show(line: &str) {
    let _ = write!(std::io::stderr(), "\r{line}\x1b[K");
}

/// Shows the last `line` and moves past it.
pub(crate) fn show_last(line: &str) {
    let _ = writeln!(std::io::stderr(), "\r{line}\x1b[K");
}

/// `1234567` as `1,234,567`.
fn group(number: u64) -> String {
    let digits = number.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A duration as a person reads a countdown: `0.4s`, `42s`, `4m 05s`, `2h 03m`.
fn clock(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..=9 => format!("{:.1}s", duration.as_secs_f64()),
        10..=59 => format!("{seconds}s"),
        60..=3599 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h {:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn begin(enabled: bool, total: Option<u64>, budget: Option<Duration>) -> (Progress, Instant) {
        let start = Instant::now();
        let progress = Progress::new(enabled, "tests::sweep".to_string(), start, total, budget);
        (progress, start)
    }

    #[test]
    fn progress_is_silent_when_stderr_is_not_a_terminal() {
        let (mut progress, start) = begin(false, Some(1000), None);
        for second in 0..100 {
            let now = start + Duration::from_secs(second);
            assert_eq!(progress.update(now, second * 10), None);
        }
        assert_eq!(
            progress.finish(start + Duration::from_secs(100), 1000),
            None
        );
    }

    #[test]
    fn a_sweep_shorter_than_a_second_shows_nothing() {
        let (mut progress, start) = begin(true, Some(1000), None);
        assert_eq!(
            progress.update(start + Duration::from_millis(900), 900),
            None
        );
        assert_eq!(
            progress.finish(start + Duration::from_millis(990), 1000),
            None
        );
    }

    #[test]
    fn the_line_shows_seeds_done_the_rate_and_the_time_left() {
        let (mut progress, start) = begin(true, Some(100_000), None);
        let line = progress
            .update(start + Duration::from_secs(2), 20_000)
            .unwrap();
        assert_eq!(
            line,
            "seedloop: tests::sweep: 20,000 of 100,000 seeds, 10,000 seeds/s, 8.0s left"
        );
        // Not again until EVERY has passed.
        assert_eq!(
            progress.update(start + Duration::from_millis(2100), 21_000),
            None
        );
        assert!(progress
            .update(start + Duration::from_millis(2250), 22_500)
            .is_some());
        let last = progress
            .finish(start + Duration::from_secs(10), 100_000)
            .unwrap();
        assert_eq!(
            last,
            "seedloop: tests::sweep: 100,000 of 100,000 seeds, 10,000 seeds/s, done in 10s"
        );
    }

    #[test]
    fn a_time_budget_counts_down_the_budget() {
        let budget = Some(Duration::from_secs(300));
        let (mut progress, start) = begin(true, None, budget);
        let line = progress
            .update(start + Duration::from_secs(55), 1_100)
            .unwrap();
        assert_eq!(
            line,
            "seedloop: tests::sweep: 1,100 seeds, 20 seeds/s, 4m 05s left"
        );
        // With a seed count too, whichever ends first.
        let (mut both, start) = begin(true, Some(1_200), budget);
        let line = both.update(start + Duration::from_secs(55), 1_100).unwrap();
        assert!(line.ends_with(", 5.0s left"), "{line}");
    }
}
