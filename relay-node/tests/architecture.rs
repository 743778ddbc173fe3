//! The house rules of `relay-node/src` (ARCHITECTURE.md), checked on every test run: rooms
//! (top-level folders and files) import each other without cycles, no source file passes 800
//! lines, only `store/` opens a table, and the clock is read only in the shells (the thread that runs the node machine, the
//! network layer, the HTTP API and the binary's own code) — the node machine, consensus, storage,
//! queries and ingestion take the time they are given.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src() -> (PathBuf, Vec<PathBuf>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    (root, files)
}

/// The room of a file: its top-level folder, or its file stem at the top.
fn room(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Code lines only: comments (and so intra-doc links) do not make a dependency.
fn code(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim_start().starts_with("//"))
}

#[test]
fn no_source_file_is_over_800_lines() {
    let (root, files) = src();
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 800).then(|| format!("{} ({n} lines)", f.strip_prefix(&root).unwrap().display()))
        })
        .collect();
    assert!(long.is_empty(), "split these: {long:?}");
}

#[test]
fn rooms_import_each_other_without_cycles() {
    let (root, files) = src();
    let rooms: BTreeSet<String> = files
        .iter()
        .map(|f| room(&root, f))
        .filter(|r| r != "lib" && r != "main")
        .collect();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let from = room(&root, f);
        let text = std::fs::read_to_string(f).unwrap();
        for line in code(&text) {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let to: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if to != from && rooms.contains(&to) {
                    deps.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    // Depth-first search for a cycle; report it as a path.
    fn visit(
        n: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut cycle = path[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for d in deps.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, deps, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for r in &rooms {
        if let Some(cycle) = visit(r, &deps, &mut Vec::new(), &mut done) {
            panic!(
                "rooms import each other in a circle: {}",
                cycle.join(" -> ")
            );
        }
    }
    // The layering ARCHITECTURE.md draws: the store and consensus stand on nothing of ours.
    assert!(
        deps.get("store")
            .is_none_or(|d| d.iter().all(|x| x == "metrics")),
        "{deps:?}"
    );
    assert!(
        deps.get("consensus").is_none_or(|d| d.is_empty()),
        "consensus: {:?}",
        deps.get("consensus")
    );
}

#[test]
fn the_clock_is_read_only_in_the_shells() {
    let (root, files) = src();
    let shells = ["node/shell.rs", "net/", "api/", "app/"];
    let mut readers = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if shells.iter().any(|s| rel.starts_with(s)) || rel.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            if ["Instant::now", "SystemTime::now", ".elapsed()"]
                .iter()
                .any(|c| line.contains(c))
            {
                readers.push(format!("{rel}:{}", n + 1));
            }
        }
    }
    assert!(
        readers.is_empty(),
        "clock reads outside the shells: {readers:?}"
    );
}

#[test]
fn only_the_store_opens_tables() {
    let (root, files) = src();
    let mut writers = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("store/") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if !line.trim_start().starts_with("//")
                && (line.contains("open_table(") || line.contains("begin_write("))
            {
                writers.push(format!("{rel}:{}", n + 1));
            }
        }
    }
    assert!(
        writers.is_empty(),
        "tables opened outside store/ (add a named Store operation instead): {writers:?}"
    );
}
