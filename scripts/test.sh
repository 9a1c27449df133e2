#!/usr/bin/env bash
# Runs every test: installs missing Debian packages, builds the given preset (default: release) with
# warnings as errors, and runs the whole CTest suite. Usage: scripts/test.sh [preset]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
scripts/install-deps.sh
cmake --preset "$preset" -DTRIT_WERROR=ON >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset"
