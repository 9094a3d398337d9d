//! `SEEDLOOP_TRACE_DIR`: a failing sweep writes the failing run's trace to files.
//!
//! Two files per failure, named after the test and the run: `<test>.seed-<seed>`
//! (`<test>.tape-<hash>` for a run from a tape), then `.trace.txt` for the text trace
//! and `.trace.json` for [`Trace::to_chrome_json`](crate::trace::Trace::to_chrome_json).
//! The test name is the one the replay line re-runs, with every character other than
//! letters, digits, `-` and `_` replaced by `_` (`tests::bank::overdraft` becomes
//! `tests__bank__overdraft`), so the names are valid on every file system and a CI job
//! can upload the directory as it is. A second failure of the same test and seed
//! overwrites the first: it is the same execution. A directory that cannot be made or
//! written does not hide the failure: the report says what went wrong instead.

use crate::failure::{Failure, TraceFiles};
use std::path::Path;

/// Writes `failure`'s trace into `directory` (made if missing); what was written.
pub(crate) fn write(directory: &Path, failure: &Failure) -> TraceFiles {
    let stem = file_stem(failure);
    let text = directory.join(format!("{stem}.trace.txt"));
    let json = directory.join(format!("{stem}.trace.json"));
    let written = std::fs::create_dir_all(directory)
        .and_then(|()| std::fs::write(&text, failure.trace.to_string()))
        .and_then(|()| std::fs::write(&json, failure.trace.to_chrome_json()));
    match written {
        Ok(()) => TraceFiles::Written { text, json },
        Err(error) => TraceFiles::Failed {
            directory: directory.to_path_buf(),
            error: error.to_string(),
        },
    }
}

/// `<test>.seed-<seed>`, or `<test>.tape-<hash>` for a run from a tape.
fn file_stem(failure: &Failure) -> String {
    let test = failure
        .config
        .name
        .as_deref()
        .or(failure.thread_name.as_deref())
        .unwrap_or("seedloop");
    let test: String = test
        .chars()
        .map(|character| match character {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => character,
            _ => '_',
        })
        .collect();
    match &failure.config.tape {
        Some(_) => format!("{test}.tape-{:016x}", failure.trace.hash()),
        None => format!("{test}.seed-{}", failure.seed),
    }
}
