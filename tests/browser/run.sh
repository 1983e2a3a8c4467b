#!/usr/bin/env bash
# Browser tests of the built-in dashboard.
#
#   tests/browser/run.sh unit                  # the page's pure modules, under node (no browser)
#   tests/browser/run.sh BINARY_PATH [LABEL]   # the page served by an iorelay binary, in
#                                              # Debian's headless Chromium; LABEL smol|std
#
# Installs what is missing: Debian's chromium (apt-get) and playwright-core (npm ci; it never
# downloads a browser: the tests launch /usr/bin/chromium). Screenshots go to output/. Ends
# with the line `N passed, M failed`; exits non-zero on any failure.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 unit | BINARY_PATH [smol|std]" >&2; exit 2; }

install_node() { "$ROOT/scripts/npm-ci.sh" "$HERE"; }

install_chromium() { "$ROOT/scripts/apt-install.sh" "${IORELAY_CHROMIUM:-/usr/bin/chromium}" chromium; }

# run_node FILES...: node --test over FILES; prints and checks the runner's summary.
run_node() {
  local out
  out="$(mktemp "${TMPDIR:-/tmp}/iorelay-browser.XXXXXX")"
  (cd "$HERE" && node --test --test-concurrency=1 --test-force-exit --test-timeout=300000 \
    --test-reporter=spec "$@") 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  local pass fail cancelled
  pass="$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$out" | tail -n 1)"
  fail="$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$out" | tail -n 1)"
  cancelled="$(sed -n 's/^ℹ cancelled \([0-9]*\)$/\1/p' "$out" | tail -n 1)"
  rm -f "$out"
  pass="${pass:-0}"
  fail=$((${fail:-0} + ${cancelled:-0}))
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
  if [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}

install_node || { echo "error: npm ci failed"; echo "0 passed, 1 failed"; exit 1; }

if [ "$1" = unit ]; then
  shopt -s nullglob
  files=("$HERE"/unit/*.test.mjs)
  [ ${#files[@]} -gt 0 ] || { echo "error: no unit tests in $HERE/unit"; echo "0 passed, 1 failed"; exit 1; }
  run_node "${files[@]}"
  exit $?
fi

target="$1"
[ -f "$target" ] && [ -x "$target" ] || { echo "error: $target is not an executable file" >&2; exit 2; }
IORELAY_BINARY="$(cd "$(dirname "$target")" && pwd)/$(basename "$target")"
label="${2:-}"
if [ -z "$label" ]; then
  case "$(basename "$target")" in *std*) label=std ;; *) label=smol ;; esac
fi
export IORELAY_BINARY IORELAY_LABEL="$label"

install_chromium || { echo "error: could not install chromium"; echo "0 passed, 1 failed"; exit 1; }
run_node "$HERE"/*.test.mjs
