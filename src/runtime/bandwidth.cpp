// Read bandwidth: each thread XORs its slice of a huge-page buffer with the widest loads the CPU has.
#include "runtime/bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

#include "runtime/cpu_features.h"
#include "runtime/huge_buffer.h"
#include "runtime/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace trit::runtime {
namespace {

std::atomic<uint64_t> g_sink{0};

#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, uint64_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (uint64_t i = 0; i + 128 <= n; i += 128) {
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

uint64_t read_scalar(const uint8_t* p, uint64_t n) {
  uint64_t a = 0, b = 0;
  for (uint64_t i = 0; i + 16 <= n; i += 16) {
    uint64_t x, y;
    std::memcpy(&x, p + i, 8);
    std::memcpy(&y, p + i + 8, 8);
    a ^= x;
    b ^= y;
  }
  return a ^ b;
}

}  // namespace

double measure_read_bandwidth(int n_threads, uint64_t n_bytes, int repetitions) {
  HugeBuffer buffer(n_bytes);
  for (uint64_t i = 0; i < n_bytes; i += 4096) buffer.data()[i] = static_cast<uint8_t>(i >> 12);  // fault in
  std::memset(buffer.data(), 1, n_bytes);
  ThreadPool pool(n_threads);
  [[maybe_unused]] const bool avx2 = best_isa() != IsaLevel::kScalar;
  const uint64_t n_chunks = 256;
  const uint64_t chunk = n_bytes / n_chunks / 128 * 128;
  std::vector<double> gbps;
  for (int r = 0; r < repetitions; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(static_cast<int64_t>(n_chunks), [&](int64_t c0, int64_t c1) {
      uint64_t acc = 0;
      const uint8_t* p = buffer.data() + c0 * chunk;
      const uint64_t n = static_cast<uint64_t>(c1 - c0) * chunk;
#if defined(__x86_64__)
      acc = avx2 ? read_avx2(p, n) : read_scalar(p, n);
#else
      acc = read_scalar(p, n);
#endif
      g_sink.fetch_xor(acc, std::memory_order_relaxed);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    gbps.push_back(static_cast<double>(chunk * n_chunks) / s * 1e-9);
  }
  std::sort(gbps.begin(), gbps.end());
  return gbps[gbps.size() / 2];
}

}  // namespace trit::runtime
