#!/usr/bin/env bash
# Installs Debian packages the test and benchmark scripts need, when a command they provide is
# missing: apt-get as root, or with `sudo -n` (never a password prompt). One place for it, so
# every script installs the same way on a fresh machine (CI runs as root).
#
# usage: scripts/apt-install.sh "COMMAND..." PACKAGE...
#   exits 0 at once when every COMMAND is on the PATH (or is an executable path); otherwise
#   installs PACKAGE... and exits 0 if the commands are there afterwards, 1 if not.
set -uo pipefail
commands=$1
shift
present() {
  local c
  for c in $commands; do
    if [[ $c == /* ]]; then [ -x "$c" ] || return 1; else command -v "$c" >/dev/null 2>&1 || return 1; fi
  done
}
present && exit 0
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || exit 1
  sudo="sudo -n"
fi
echo "apt-get install $*" >&2
$sudo apt-get update -qq >&2 || exit 1
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2 || exit 1
present
