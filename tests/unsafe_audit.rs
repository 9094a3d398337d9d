//! `unsafe` lives in one audited file: `src/runtime/waker.rs` (the raw task waker).
//! This test reads every Rust file of the workspace's crates and fails on an `unsafe`
//! keyword anywhere else (comments and string literals aside), and on an `unsafe`
//! block in that file without a `// SAFETY:` paragraph right above it. The crate
//! root denies `unsafe_code`; only that module allows it.

use std::path::{Path, PathBuf};

/// The one file that may use `unsafe`, relative to the repository root.
const AUDITED: &str = "src/runtime/waker.rs";

fn rust_files(directory: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, files);
            }
        } else if name.ends_with(".rs") {
            files.push(path);
        }
    }
}

/// The code of a line: without its `//` comment and string literals (roughly, but
/// enough for this repository: no raw strings hold the word).
fn code_of(line: &str) -> String {
    let mut code = String::new();
    let mut in_string = false;
    let mut previous = ' ';
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            if c == '"' && previous != '\\' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '/' && chars.peek() == Some(&'/') {
            break;
        } else {
            code.push(c);
        }
        previous = if previous == '\\' && c == '\\' {
            ' '
        } else {
            c
        };
    }
    code
}

fn has_unsafe_keyword(code: &str) -> bool {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == "unsafe")
}

#[test]
fn unsafe_appears_only_in_the_audited_waker_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for directory in [
        "src",
        "tests",
        "benches",
        "examples",
        "seedloop-macros",
        "seedloop-tokio",
        "fuzz",
    ] {
        rust_files(&root.join(directory), &mut files);
    }
    assert!(
        files.len() > 50,
        "found only {} files: wrong root?",
        files.len()
    );
    let mut offences = Vec::new();
    let mut audited_blocks = 0;
    for file in &files {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let code = code_of(line);
            if !has_unsafe_keyword(&code) || code.contains("unsafe_code") {
                continue;
            }
            if relative == "tests/unsafe_audit.rs" {
                continue;
            }
            if relative == "benches/floor.rs" {
                // The floor executor's reference raw waker: a bench, not the library.
                continue;
            }
            if relative != AUDITED {
                offences.push(format!(
                    "{relative}:{}: `unsafe` outside {AUDITED}",
                    index + 1
                ));
                continue;
            }
            audited_blocks += 1;
            let comment_above = lines[..index]
                .iter()
                .rev()
                .take_while(|line| line.trim_start().starts_with("//"))
                .any(|line| line.trim_start().starts_with("// SAFETY:"));
            if !comment_above {
                offences.push(format!(
                    "{relative}:{}: `unsafe` without a `// SAFETY:` paragraph above it",
                    index + 1
                ));
            }
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
    assert_eq!(
        audited_blocks, 1,
        "the waker file has exactly one unsafe block"
    );
}

#[test]
fn the_audit_sees_the_keyword_but_not_comments_or_strings() {
    assert!(has_unsafe_keyword(&code_of("    unsafe { x() }")));
    assert!(!has_unsafe_keyword(&code_of("    // unsafe { x() }")));
    assert!(!has_unsafe_keyword(&code_of(r#"    let s = "unsafe";"#)));
    assert!(!has_unsafe_keyword(&code_of("    let cancel_unsafe = 1;")));
    assert!(has_unsafe_keyword(&code_of(
        r#"    let s = "a\"b"; unsafe fn f() {}"#
    )));
}
