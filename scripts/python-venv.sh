#!/usr/bin/env bash
# Makes DIR/.venv and installs DIR/requirements.txt into it, only when the requirements changed
# since the last install (a copy is kept in the venv); prints the venv's python. The interop
# and cluster suites share one venv this way. $PYTHON picks the interpreter (python3).
#
# usage: scripts/python-venv.sh DIR
set -euo pipefail
dir=$1
if [ ! -x "$dir/.venv/bin/python" ]; then
  echo "creating $dir/.venv" >&2
  "${PYTHON:-python3}" -m venv "$dir/.venv" >&2
fi
stamp="$dir/.venv/.iorelay-requirements.txt"
if ! cmp -s "$dir/requirements.txt" "$stamp"; then
  echo "pip install -r $dir/requirements.txt" >&2
  "$dir/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$dir/requirements.txt" >&2
  cp "$dir/requirements.txt" "$stamp"
fi
echo "$dir/.venv/bin/python"
