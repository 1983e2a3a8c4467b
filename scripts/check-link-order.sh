#!/usr/bin/env bash
# Checks that scripts/symbol-order.txt still describes the code a relay runs to start: starts
# each release binary, asks it GET /health, and counts the pages of its code resident outside
# the block the list orders (and the last 64 KiB of the code, where the C runtime's few
# functions sit). The list names functions by their mangled names, so a change to start-up
# code (a function renamed, or no longer inlined) silently drops functions out of the block
# and start-up touches code all over the binary again: RSS at start grew by 0.45 MB that way
# (docs/benchmarks.md). When this fails, run scripts/symbol-order.sh and commit the list.
#
#   scripts/check-link-order.sh [BINARY...]   # default: both release binaries
#
# Measured with both binaries: with a list made for their code, 0-64 KiB outside the block;
# with a stale one, 400-550 KiB. The bound sits between.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT_KIB=256
# The list is linked in only there (scripts/symbol-order.rs).
if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ] || [ "${IORELAY_SYMBOL_ORDER:-}" = off ]; then
  echo "check-link-order: skipped (the link order applies to x86_64 Linux release builds)"
  exit 0
fi
release="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release"
[ "$#" -gt 0 ] || set -- "$release/iorelay" "$release/iorelay-std"
scripts/apt-install.sh "nm python3 curl" binutils python3 curl ||
  { echo "check-link-order: needs nm (binutils), python3 and curl" >&2; exit 1; }

work="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

failed=0
for bin in "$@"; do
  "$bin" serve --port 0 --data-dir "$work/data" --state-dir "$work/state" --log warn \
    >"$work/out" 2>&1 &
  pid=$!
  url=""
  for _ in $(seq 100); do
    url="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/out" | head -1)"
    [ -n "$url" ] && curl -fsS -o /dev/null "$url/health" 2>/dev/null && break
    url=""
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "check-link-order: $bin did not answer /health within 10 s:" >&2
    cat "$work/out" >&2
    exit 1
  fi
  sleep 0.3
  nm --defined-only "$bin" >"$work/nm"
  outside="$(python3 - "$pid" "$bin" "$work/nm" scripts/symbol-order.txt <<'PY'
import struct, sys
pid, binary, nm_path, order_path = sys.argv[1:]
listed = {line.strip() for line in open(order_path) if line.strip() and not line.startswith('#')}
# The ordered block ends where the last listed function present in the binary ends; nm gives
# start addresses only, so the next symbol's address bounds it.
addresses = sorted(
    (int(parts[0], 16), parts[2])
    for parts in (line.split() for line in open(nm_path))
    if len(parts) == 3 and parts[1] in 'tTwW')
block_end = 0
for i, (address, name) in enumerate(addresses):
    if name in listed:
        block_end = max(block_end, addresses[i + 1][0] if i + 1 < len(addresses) else address)
base = None
outside = 0
with open(f'/proc/{pid}/maps') as maps, open(f'/proc/{pid}/pagemap', 'rb') as pagemap:
    for line in maps:
        fields = line.split()
        if len(fields) < 6 or fields[5] != binary:
            continue
        low, high = (int(x, 16) for x in fields[0].split('-'))
        offset = int(fields[2], 16)
        if base is None:
            base = low - offset
        if 'x' not in fields[1]:
            continue
        pages = (high - low) // 4096
        pagemap.seek(low // 4096 * 8)
        entries = pagemap.read(pages * 8)
        tail = high - 64 * 1024
        for page in range(pages):
            present = struct.unpack_from('Q', entries, page * 8)[0] >> 63
            address = low + page * 4096
            if present and address - base >= block_end and address < tail:
                outside += 4
print(outside)
PY
)"
  kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  pid=""
  if [ "$outside" -gt "$LIMIT_KIB" ]; then
    echo "check-link-order: $(basename "$bin"): $outside KiB of code resident at start outside the" \
      "ordered block (bound $LIMIT_KIB): run scripts/symbol-order.sh and commit the list" >&2
    failed=1
  else
    echo "check-link-order: $(basename "$bin"): $outside KiB of code resident at start outside the ordered block"
  fi
done
exit "$failed"
