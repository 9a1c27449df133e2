#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, builds the given preset (default: release) with
# warnings as errors, and runs the whole CTest suite. Usage: scripts/test.sh [preset]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
scripts/install-deps.sh
# The JavaScript server tests' packages (tests/server/js/package-lock.json); CTest registers them when present.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  if ! npm ci --prefix tests/server/js --no-audit --no-fund; then
    echo "trit: npm ci failed (offline?): the JavaScript server tests are skipped" >&2
    rm -rf tests/server/js/node_modules
  fi
fi
cmake --preset "$preset" -DTRIT_WERROR=ON >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset"
