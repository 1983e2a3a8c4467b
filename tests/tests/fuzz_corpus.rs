//! Replays the committed fuzz corpora on the stable toolchain.
//!
//! The fuzz target bodies live in `fuzz/src/lib.rs` as plain functions; this test includes that
//! very file, so `cargo test` runs every file of `fuzz/corpus/<target>/` through the same code
//! libFuzzer runs, without nightly or libFuzzer. A panic names the target and the corpus file.

#[path = "../../fuzz/src/lib.rs"]
mod bodies;

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// A fuzz target body: one input, panics only on a broken invariant.
type Body = fn(&[u8]);

/// Every fuzz target: its name (the corpus directory and the `fuzz_targets/` file stem) and body.
const TARGETS: &[(&str, Body)] = &[
    ("engineio_packet", bodies::engineio_packet),
    ("engineio_payload", bodies::engineio_payload),
    ("socketio_packet", bodies::socketio_packet),
    ("socketio_binary", bodies::socketio_binary),
    ("http_head", bodies::http_head),
    ("http_chunked", bodies::http_chunked),
    ("http_reader", bodies::http_reader),
    ("engine", bodies::engine),
    ("relay_ingest", bodies::relay_ingest),
    ("client", bodies::client),
    ("cluster_entry", bodies::cluster_entry),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `dir`, sorted so failures are reported in a stable order.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let entries = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read corpus directory {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("corpus directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Run every file of `root/target/` through `body`; the names of the files that panicked.
fn replay(root: &Path, target: &str, body: Body) -> Vec<String> {
    let dir = root.join(target);
    let files = files_in(&dir);
    assert!(
        !files.is_empty(),
        "corpus directory {} is empty: commit seeds for {target}",
        dir.display()
    );
    let mut failures = Vec::new();
    for file in files {
        let data = fs::read(&file)
            .unwrap_or_else(|e| panic!("cannot read corpus file {}: {e}", file.display()));
        if panic::catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
            failures.push(format!("{target}: {}", file.display()));
        }
    }
    failures
}

#[test]
fn every_corpus_file_replays_without_panic() {
    let failures: Vec<String> = TARGETS
        .iter()
        .flat_map(|&(target, body)| replay(&fuzz_dir().join("corpus"), target, body))
        .collect();
    assert!(
        failures.is_empty(),
        "{} corpus file(s) panicked (see the panic messages above):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Reproducers of open bugs in `fuzz/findings/<target>/`, replayed through the same bodies.
///
/// Ignored because they fail until the bug is fixed; after fixing one, run this test with
/// `--ignored`, and when it passes move the files into `fuzz/corpus/<target>/`.
#[test]
#[ignore = "open bugs (fuzz/findings): run with --ignored after fixing them"]
fn findings_are_fixed() {
    let root = fuzz_dir().join("findings");
    let failures: Vec<String> = TARGETS
        .iter()
        .filter(|(target, _)| root.join(target).is_dir())
        .flat_map(|&(target, body)| replay(&root, target, body))
        .collect();
    assert!(
        failures.is_empty(),
        "{} finding(s) still fail (see the panic messages above):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fuzz_target_is_replayed() {
    let mut on_disk: Vec<String> = files_in(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .filter_map(|path| path.file_stem()?.to_str().map(str::to_owned))
        .collect();
    on_disk.sort();
    let mut replayed: Vec<String> = TARGETS.iter().map(|(name, _)| (*name).to_owned()).collect();
    replayed.sort();
    assert_eq!(
        on_disk, replayed,
        "fuzz/fuzz_targets/*.rs and TARGETS in this test must list the same targets"
    );
}
