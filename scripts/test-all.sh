#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, dependency rules, the Rust test suites
# (core, runtimes, scenarios, fuzz corpus replay), the protocol conformance suites and the
# interop suites with the official npm and PyPI clients against both binaries, and the
# cluster tests (both binaries and a Node.js socket.io server on one Redis stream), and the
# dashboard's tests (its modules under node, the page in headless Chromium against both).
# Installs what it needs (npm packages, a Python venv) on first run.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n=== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
step "core docs build without warnings (the crate docs are its manual)"
RUSTDOCFLAGS="-D warnings" cargo doc -p iorelay-core --no-deps
step "dependency rules"
scripts/check-deps.sh
step "cargo build --workspace (the scenario suites run these binaries)"
cargo build --workspace
step "cargo test --workspace"
cargo test --workspace
step "micro-benchmarks build (criterion, core/benches; built as a check, not run or timed)"
cargo bench -p iorelay-core --no-run
step "release binaries"
cargo build --release -p iorelay-smol -p iorelay-std
# Where cargo put them (CARGO_TARGET_DIR may move the target directory).
release="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release"
step "link order: start-up code is where scripts/symbol-order.txt puts it (RSS at start)"
scripts/check-link-order.sh "$release/iorelay" "$release/iorelay-std"
for bin in iorelay iorelay-std; do
  step "conformance suites (Engine.IO v4, Socket.IO v5) against $bin"
  tests/conformance/run.sh "$release/$bin" serve --conformance --port 3000
done
step "interop: socket.io-client (npm) and python-socketio (PyPI) against iorelay"
tests/interop/run.sh "$release/iorelay" smol
step "interop: socket.io-client (npm) and python-socketio (PyPI) against iorelay-std"
tests/interop/run.sh "$release/iorelay-std" std
step "cluster: iorelay, iorelay-std and a Node.js socket.io server on one Redis stream"
tests/cluster/run.sh "$release/iorelay" "$release/iorelay-std"
step "dashboard: the page's pure modules (node)"
tests/browser/run.sh unit
for bin in iorelay iorelay-std; do
  step "dashboard: browser tests (Debian's headless Chromium) against $bin"
  tests/browser/run.sh "$release/$bin"
done
