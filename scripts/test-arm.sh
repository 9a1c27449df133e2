#!/usr/bin/env bash
# Cross-compiles the runtime..kernels layers and their tests for AArch64 (Debian's g++-aarch64-linux-gnu,
# TRIT_KERNELS_ONLY, static) and runs them under qemu-user, so that the NEON kernels are executed and
# checked against the scalar reference: on qemu's "max" CPU (dot product: the NEON level), forced to
# scalar, and on a Cortex-A53 (no dot product: scalar). Emulated: correctness only, no timings.
# Usage: scripts/test-arm.sh [build dir, default build/arm64]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/arm64}
root=$PWD
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "test-arm: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
toolchain=$root/cmake/aarch64-linux-gnu.cmake
deps=$root/$build/deps
mkdir -p "$deps/include"

# fmt header-only from the host's headers (architecture-independent), through a directory of its own so
# that the cross compiler never sees the rest of /usr/include.
ln -sfn /usr/include/fmt "$deps/include/fmt"

# GoogleTest from Debian's sources, built once with the cross compiler.
if [ ! -f "$deps/lib/cmake/GTest/GTestConfig.cmake" ]; then
  cmake -S /usr/src/googletest -B "$build/googletest" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$deps" -DBUILD_GMOCK=OFF -DINSTALL_GTEST=ON >/dev/null
  ninja -C "$build/googletest" -j2 install >/dev/null
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
  -DTRIT_KERNELS_ONLY=ON -DTRIT_BENCH=OFF -DTRIT_WERROR=ON -DTRIT_FMT_INCLUDE="$deps/include" \
  -DGTest_DIR="$deps/lib/cmake/GTest" >/dev/null
targets=(test_runtime test_gguf test_tensor test_kernels)
ninja -C "$build" -j2 "${targets[@]}"

# Death tests re-execute the binary, which needs qemu registered with binfmt_misc (absent in containers).
gtest=(--gtest_brief=1 --gtest_filter=-*DeathTest*)
for t in "${targets[@]}"; do
  echo "== $t (qemu-aarch64 -cpu max: NEON with dot product)"
  TRIT_EXPECT_ISA=neon qemu-aarch64 -cpu max "$build/tests/$t" "${gtest[@]}"
done
echo "== test_kernels (TRIT_ISA=scalar)"
TRIT_EXPECT_ISA=neon TRIT_ISA=scalar qemu-aarch64 -cpu max "$build/tests/test_kernels" "${gtest[@]}"
echo "== test_kernels (qemu-aarch64 -cpu cortex-a53: no dot product, scalar kernels)"
TRIT_EXPECT_ISA=scalar qemu-aarch64 -cpu cortex-a53 "$build/tests/test_kernels" "${gtest[@]}"
