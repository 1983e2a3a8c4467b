#!/usr/bin/env bash
# Fails when core depends on an IO crate, or runtime-std on an async crate (DESIGN §2 rule 1, §3).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
core=$(cargo tree -p iorelay-core -e normal --prefix none)
for banned in smol async-io async-std tokio tungstenite mio; do
  if grep -Eq "^${banned} v" <<<"$core"; then echo "iorelay-core depends on ${banned}" >&2; fail=1; fi
done
std=$(cargo tree -p iorelay-std -e normal --prefix none)
for banned in smol async-io async-std async-executor async-channel tokio futures futures-lite mio; do
  if grep -Eq "^${banned} v" <<<"$std"; then echo "iorelay-std depends on ${banned}" >&2; fail=1; fi
done
[ "$fail" = 0 ] && echo "dependency checks passed: core has no IO crate, runtime-std no async crate"
exit "$fail"
