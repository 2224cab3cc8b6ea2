//! The crate's shape, checked: the module stack (each layer imports only those below it), no
//! web framework below `http/`, and file sizes. See docs/architecture.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may import only modules of a lower rank.
const STACK: &[(&str, u8)] = &[
    ("aws", 0),
    ("settings", 1),
    ("config", 2),
    ("error", 2),
    ("auth", 3),
    ("bedrock", 3),
    ("transform", 3),
    ("catalog", 4),
    ("convert", 4),
    ("metrics", 4),
    ("core", 5),
    ("http", 6),
    ("app", 7),
];

fn rank(module: &str) -> Option<u8> {
    STACK.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of src/ belongs to (`src/core/pipeline.rs` → `core`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix("src").unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without comments (so doc links and prose don't count as imports).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn imports(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        found.push(name);
    }
    found
}

fn src_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    files.sort();
    files
}

#[test]
fn every_module_imports_only_modules_below_it() {
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in src_files() {
        let module = module_of(&path);
        let Some(own) = rank(&module) else {
            assert!(
                ["lib", "main"].contains(&module.as_str()),
                "{} is in no layer of the stack: add it to STACK and docs/architecture.md",
                path.display()
            );
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        for target in imports(&code(&text)) {
            if target == module {
                continue;
            }
            let ok = rank(&target).is_some_and(|r| r < own);
            if !ok {
                wrong
                    .entry(path.display().to_string())
                    .or_default()
                    .push(target);
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run up or across the stack: {wrong:#?}"
    );
}

#[test]
fn no_web_framework_below_http() {
    for path in src_files() {
        let module = module_of(&path);
        if ["http", "app", "lib", "main"].contains(&module.as_str()) {
            continue;
        }
        let code = code(&std::fs::read_to_string(&path).unwrap());
        assert!(
            !code.contains("poem"),
            "{} uses poem; only http/ (and app, lib, main) may",
            path.display()
        );
    }
}

#[test]
fn files_stay_small() {
    let mut big = Vec::new();
    for path in src_files() {
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        if lines > 450 {
            big.push(format!("{} ({lines} lines)", path.display()));
        }
    }
    let mut support = Vec::new();
    rust_files(Path::new("tests/support"), &mut support);
    rust_files(Path::new("tests/fake-bedrock"), &mut support);
    for path in support {
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        if lines > 600 {
            big.push(format!("{} ({lines} lines)", path.display()));
        }
    }
    assert!(
        big.is_empty(),
        "files over the limit (src 450, test support 600): {big:#?}"
    );
}
