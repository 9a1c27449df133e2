// The block loop of the AVX2 and NEON element-wise kernels: whole blocks in place, the tail through
// padded copies. Plain C++ (no intrinsics), in an unnamed namespace so that each SIMD file compiles its
// own copy with its own flags (no shared instance for the linker to pick; see i2_gemm_args.h).
#pragma once

#include <cstdint>
#include <cstring>

namespace trit::kernels {
namespace {

// Runs body(in, out) on blocks of kBlock floats of each array in `in` (and `out`); the tail through
// copies padded with `pad`.
template <int64_t kBlock, int kIn, typename Body>
void for_blocks(int64_t n, const float* const (&in)[kIn], float* out, float pad, Body body) {
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    const float* p[kIn];
    for (int k = 0; k < kIn; ++k) p[k] = in[k] + i;
    body(p, out ? out + i : nullptr);
  }
  if (i == n) return;
  const int64_t rest = n - i;
  float buf[kIn][kBlock], res[kBlock];
  const float* p[kIn];
  for (int k = 0; k < kIn; ++k) {
    for (int64_t j = 0; j < kBlock; ++j) buf[k][j] = pad;
    std::memcpy(buf[k], in[k] + i, static_cast<size_t>(rest) * sizeof(float));
    p[k] = buf[k];
  }
  body(p, res);
  if (out) std::memcpy(out + i, res, static_cast<size_t>(rest) * sizeof(float));
}

}  // namespace
}  // namespace trit::kernels
