#!/usr/bin/env bash
# Sets up trit and runs it: installs missing Debian packages, builds, makes the demo model if absent
# (a small model with RANDOM ternary weights: its text is gibberish by design), generates text.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release trit
model=models/demo-125M-i2_s.gguf
if [ ! -f "$model" ]; then
  mkdir -p models
  build/release/trit gen-dummy --shape 125M --type i2_s -o "$model"
fi
build/release/trit run -m "$model" -p "${1:-Once upon a time}" -n "${2:-32}" --seed 42
