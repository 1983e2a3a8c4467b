#!/bin/sh
# Whole-process time of `iorelay emit` against a fresh Python interpreter doing
# `requests.post` (the hook path it replaces), one interleaved run of each N times.
# Usage: bench/emit.sh [RUNS]   (PYTHON=/path/to/python3 to choose the interpreter)
set -eu
cd "$(dirname "$0")/.."
runs=${1:-40}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p iorelay-smol -p iorelay-bench --bin iorelay --bin emit-bench
python=${PYTHON:-python3}
if ! "$python" -c 'import requests' 2>/dev/null; then
    [ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
    bench/.venv/bin/pip install -q requests
    python=bench/.venv/bin/python
fi
echo "python: $("$python" --version 2>&1), requests $("$python" -c 'import requests; print(requests.__version__)')"
"$target/release/emit-bench" --iorelay "$target/release/iorelay" --python "$python" --runs "$runs"
