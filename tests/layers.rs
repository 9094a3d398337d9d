//! The layers of `src/` hold: a module imports only from its own layer or the layers
//! below it. The layer list is the one in the crate docs (`src/lib.rs`); this test
//! reads every `crate::<module>` path in `src/` (outside comments) and fails on any
//! that points up, naming the file, the line and the two layers.

use std::path::{Path, PathBuf};

/// Bottom to top. Modules of one layer may import each other.
const LAYERS: &[(&str, &[&str])] = &[
    ("leaf types", &["id", "recycle", "plural"]),
    ("choices, trace and clock", &["choices", "trace", "clock"]),
    ("scheduler", &["scheduler"]),
    ("configuration and failures", &["config", "failure"]),
    ("runtime", &["runtime"]),
    ("time and randomness", &["time", "rand"]),
    ("tasks and synchronization", &["task", "sync"]),
    ("simulated I/O and faults", &["net", "fs", "fault"]),
    ("harness", &["harness"]),
];

/// The crate root's re-exports (`pub use runtime::{Sim, Stats}` in `src/lib.rs`):
/// `crate::Sim` is an import from `runtime`.
fn root_exports(lib: &str) -> Vec<(String, String)> {
    let mut exports = Vec::new();
    for line in lib.lines() {
        let Some(path) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let path = path.trim_end_matches(';');
        let module = path.split("::").next().unwrap_or_default().to_string();
        let items = match (path.find('{'), path.rfind('}')) {
            (Some(open), Some(close)) => path[open + 1..close].to_string(),
            _ => path.rsplit("::").next().unwrap_or_default().to_string(),
        };
        for item in items.split(',') {
            let item = item.trim();
            if !item.is_empty() {
                exports.push((item.to_string(), module.clone()));
            }
        }
    }
    exports
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn rust_files(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/runtime/slab.rs` ->
/// `runtime`); `None` for `lib.rs`, which may import everything.
fn module_of(source: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(source).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let module = first.strip_suffix(".rs").unwrap_or(first);
    (module != "lib").then(|| module.to_string())
}

/// Every `crate::name` in the code of `line` (comments cut off).
fn crate_paths(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or_default();
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(index) = rest.find("crate::") {
        let after = &rest[index + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|character| character.is_alphanumeric() || *character == '_')
            .collect();
        // `$crate::` in macros and `crate::{a, b}` groups name modules too.
        if !name.is_empty() {
            found.push(name);
        } else if let Some(group) = after.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            found.extend(
                group
                    .split(',')
                    .map(|item| {
                        item.trim()
                            .split("::")
                            .next()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .filter(|item| !item.is_empty()),
            );
        }
        rest = after;
    }
    found
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&source, &mut files);
    files.sort();
    let lib = std::fs::read_to_string(source.join("lib.rs")).unwrap();
    let exports = root_exports(&lib);
    let mut violations = Vec::new();
    let mut unknown = Vec::new();
    for file in &files {
        let Some(module) = module_of(&source, file) else {
            continue;
        };
        let Some(own) = layer_of(&module) else {
            unknown.push(module);
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                continue;
            }
            for name in crate_paths(line) {
                // Items re-exported at the crate root (`crate::Sim`) belong to the
                // module they come from.
                let target = exports
                    .iter()
                    .find(|(item, _)| *item == name)
                    .map_or(name, |(_, module)| module.clone());
                let Some(layer) = layer_of(&target) else {
                    continue;
                };
                if layer > own {
                    violations.push(format!(
                        "{}:{}: `{module}` ({}) imports `crate::{target}` ({})",
                        file.strip_prefix(&source).unwrap().display(),
                        number + 1,
                        LAYERS[own].0,
                        LAYERS[layer].0,
                    ));
                }
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "modules missing from the layer list (add them to LAYERS and to the crate docs): {unknown:?}"
    );
    assert!(
        violations.is_empty(),
        "imports from a layer above:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_crate_docs_list_every_layer() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    for (_, modules) in LAYERS {
        for module in *modules {
            assert!(
                lib.contains(&format!("`{module}`")),
                "src/lib.rs does not name the module `{module}` in its layer list"
            );
        }
    }
}

#[test]
fn crate_paths_are_read_from_code_only() {
    assert_eq!(
        crate_paths("use crate::runtime::context; // crate::harness"),
        ["runtime"]
    );
    assert_eq!(
        crate_paths("use crate::{id::TaskId, trace::Trace};"),
        ["id", "trace"]
    );
    assert_eq!(crate_paths("$crate::Policy"), ["Policy"]);
}

#[test]
fn root_exports_name_their_module() {
    let exports = root_exports("pub use runtime::{Sim, Stats};\npub use task::spawn;");
    assert_eq!(
        exports,
        [
            ("Sim".to_string(), "runtime".to_string()),
            ("Stats".to_string(), "runtime".to_string()),
            ("spawn".to_string(), "task".to_string()),
        ]
    );
}
