#!/usr/bin/env bash
# Installs a test suite's npm packages from its lockfile, only when the lockfile changed since
# the last install (a copy of it is kept in node_modules): one way for every suite, so a
# fresh clone installs exactly what is pinned and a warm one costs nothing.
#
# usage: scripts/npm-ci.sh DIR      (DIR holds package.json and package-lock.json)
set -euo pipefail
dir=$1
stamp="$dir/node_modules/.iorelay-package-lock.json"
cmp -s "$dir/package-lock.json" "$stamp" && exit 0
echo "npm ci in $dir" >&2
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
cp "$dir/package-lock.json" "$stamp"
