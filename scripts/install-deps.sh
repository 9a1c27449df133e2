#!/usr/bin/env bash
# Installs the Debian packages trit builds with, where any is missing. Needs root or sudo.
set -euo pipefail
packages=(cmake ninja-build g++ clang libclang-rt-14-dev clang-format
          libfmt-dev libcli11-dev nlohmann-json3-dev libicu-dev
          libgtest-dev libgmock-dev googletest libbenchmark-dev
          libcpp-httplib-dev libcurl4-openssl-dev libssl-dev pkg-config chromium
          g++-aarch64-linux-gnu qemu-user python3-numpy)
# Node.js runs the server tests (tests/server/js); it may come from elsewhere (nvm, NodeSource), so only when absent.
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "trit: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
