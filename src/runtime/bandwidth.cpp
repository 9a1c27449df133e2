// Read bandwidth: each thread streams its contiguous slice of a huge-page buffer with the widest loads
// the CPU has, once with the hardware prefetchers alone and once with software prefetches ahead of the
// loads (as the decode kernels issue them: on some machines the hardware prefetchers alone reach only
// half the bandwidth). The best pass of either is the limit.
#include "runtime/bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

#include "runtime/cpu_features.h"
#include "runtime/huge_buffer.h"
#include "runtime/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace trit::runtime {
namespace {

std::atomic<uint64_t> g_sink{0};

// Bytes ahead of the loads that the software-prefetching passes request.
constexpr uint64_t kPrefetchAhead = 2048;

#if defined(__x86_64__)
template <bool kPrefetch>
__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, uint64_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (uint64_t i = 0; i + 128 <= n; i += 128) {
    if constexpr (kPrefetch) {
      _mm_prefetch(reinterpret_cast<const char*>(p + i + kPrefetchAhead), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(p + i + kPrefetchAhead + 64), _MM_HINT_T0);
    }
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  a0 = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  uint64_t out[4];
  std::memcpy(out, &a0, sizeof out);
  return out[0] ^ out[1] ^ out[2] ^ out[3];
}
#endif

template <bool kPrefetch>
uint64_t read_scalar(const uint8_t* p, uint64_t n) {
  uint64_t a = 0, b = 0;
  for (uint64_t i = 0; i + 16 <= n; i += 16) {
    if constexpr (kPrefetch)
      if (i % 64 == 0) __builtin_prefetch(p + i + kPrefetchAhead);
    uint64_t x, y;
    std::memcpy(&x, p + i, 8);
    std::memcpy(&y, p + i + 8, 8);
    a ^= x;
    b ^= y;
  }
  return a ^ b;
}

template <bool kPrefetch>
uint64_t read_slice(const uint8_t* p, uint64_t n, [[maybe_unused]] bool avx2) {
#if defined(__x86_64__)
  if (avx2) return read_avx2<kPrefetch>(p, n);
#endif
  return read_scalar<kPrefetch>(p, n);
}

}  // namespace

double measure_read_bandwidth(int n_threads, uint64_t n_bytes, int repetitions) {
  HugeBuffer buffer(n_bytes);
  for (uint64_t i = 0; i < n_bytes; i += 4096) buffer.data()[i] = static_cast<uint8_t>(i >> 12);  // fault in
  std::memset(buffer.data(), 1, n_bytes);
  ThreadPool pool(n_threads);
  const bool avx2 = best_isa() != IsaLevel::kScalar && cpu_features().avx2;
  // One contiguous slice per thread, each a whole number of 128-byte steps; the prefetches past a slice's
  // end stay inside the buffer except for the last thread's, which are harmless.
  const uint64_t slice = n_bytes / static_cast<uint64_t>(n_threads) / 128 * 128;
  double best = 0;
  for (int r = 0; r < 2 * repetitions; ++r) {
    const bool prefetch = r % 2 == 1;
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(n_threads, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const uint8_t* p = buffer.data() + static_cast<uint64_t>(i) * slice;
        const uint64_t acc = prefetch ? read_slice<true>(p, slice, avx2) : read_slice<false>(p, slice, avx2);
        g_sink.fetch_xor(acc, std::memory_order_relaxed);
      }
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(slice * static_cast<uint64_t>(n_threads)) / s * 1e-9);
  }
  return best;
}

}  // namespace trit::runtime
