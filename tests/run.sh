#!/usr/bin/env bash
# The project's one test command (README): installs what the tests need, then runs them.
# SIPp (Debian package `sip-tester`) drives the real binary in the integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { # have <command or absolute file path>
  case "$1" in /*) [ -e "$1" ] ;; *) command -v "$1" >/dev/null 2>&1 ;; esac
}

need_pkg() { # need_pkg <command or file> <debian package>
  have "$1" && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing $2 (for $1)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "installing $2 (for $1) with sudo"
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  fi
  have "$1" || { echo "missing: $1 — install the Debian package '$2'" >&2; exit 1; }
}

need_pkg sipp sip-tester
# GotoIfTime / STRFTIME with named zones read the system's time zone database.
need_pkg /usr/share/zoneinfo/Europe/Berlin tzdata
# The web admin's end-to-end tests drive Debian's Chromium with playwright-core (Node).
need_pkg /usr/bin/chromium chromium
need_pkg node nodejs
need_pkg npm npm
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  echo "installing the browser test driver (npm ci in tests/e2e)"
  npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
fi

echo "== layering check"
bash tests/layering.sh
echo "== rustfmt"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
cargo test "$@"
