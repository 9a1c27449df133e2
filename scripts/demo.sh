#!/usr/bin/env bash
# Sets up trit and runs it: installs missing Debian packages, builds, and generates text with the
# embedded default model, a 5M-parameter ternary BitNet b1.58 model that `trit train` trained on Tiny
# Shakespeare (docs/default-model.md). Usage: scripts/demo.sh [prompt] [tokens]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release trit
build/release/trit run -m models/default/shakespeare-i2_s.gguf -p "${1:-ROMEO:}" -n "${2:-96}" --seed 42
