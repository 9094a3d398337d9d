//! Paths on a simulated disk.
//!
//! A disk has one root and no working directory, so `wal`, `/wal` and `./wal` name
//! the same file. A path is normalized lexically into its components joined by `/`
//! (the root is the empty path): `.` and empty components are dropped and `..` removes
//! the component before it (`..` at the root stays at the root, as on Unix). Nothing
//! here looks at a real filesystem.

use std::io;
use std::path::Path;

/// The longest path a disk accepts, in bytes (Linux's `PATH_MAX`).
pub(crate) const MAX_PATH_BYTES: usize = 4096;

/// `path`, normalized.
pub(crate) fn normalize(path: &Path) -> io::Result<String> {
    let text = path.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{path:?} is not UTF-8: simulated disks take UTF-8 paths only"),
        )
    })?;
    if text.len() > MAX_PATH_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidFilename,
            format!(
                "a path of {} bytes is longer than {MAX_PATH_BYTES}",
                text.len()
            ),
        ));
    }
    let mut components: Vec<&str> = Vec::new();
    for component in text.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                components.pop();
            }
            name => components.push(name),
        }
    }
    Ok(components.join("/"))
}

/// The directory holding `path` (the root holds itself).
pub(crate) fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |slash| &path[..slash])
}

/// The last component of `path`.
pub(crate) fn file_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |slash| &path[slash + 1..])
}

/// Whether `path` lies inside the directory `directory` (at any depth).
pub(crate) fn is_inside(path: &str, directory: &str) -> bool {
    directory.is_empty() && !path.is_empty()
        || path.len() > directory.len()
            && path.starts_with(directory)
            && path.as_bytes()[directory.len()] == b'/'
}

/// `path` as users see it: absolute.
pub(crate) fn display(path: &str) -> String {
    format!("/{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_to_components_under_one_root() {
        let cases = [
            ("wal", "wal"),
            ("/wal", "wal"),
            ("./data//log/", "data/log"),
            ("/a/b/../c", "a/c"),
            ("/../../x", "x"),
            ("/", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(Path::new(input)).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn parents_names_and_containment() {
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("c"), "");
        assert_eq!(file_name("a/b/c"), "c");
        assert!(is_inside("a/b", "a"));
        assert!(is_inside("a", ""));
        assert!(!is_inside("ab", "a"));
        assert!(!is_inside("a", "a"));
    }
}
