// The GPU microbenchmarks (microbench.h).
#include "cuda/microbench.h"

#include <algorithm>
#include <random>

#include "cuda/device_buffer.h"
#include "cuda/kernels.h"

namespace trit::cuda {
namespace {

class Timer {
 public:
  Timer() {
    TRIT_CUDA_CHECK(cudaEventCreate(&start_));
    TRIT_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~Timer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  void start(cudaStream_t s) { TRIT_CUDA_CHECK(cudaEventRecord(start_, s)); }
  double stop_ms(cudaStream_t s) {
    TRIT_CUDA_CHECK(cudaEventRecord(stop_, s));
    TRIT_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    TRIT_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms;
  }

 private:
  cudaEvent_t start_, stop_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

double measure_bandwidth_gbps(int device) {
  TRIT_CUDA_CHECK(cudaSetDevice(device));
  const size_t bytes = size_t{1} << 30;
  DeviceBuffer a(bytes), b(bytes);
  TRIT_CUDA_CHECK(cudaMemset(a.get(), 1, bytes));
  Timer timer;
  std::vector<double> gbps;
  for (int i = 0; i < 12; ++i) {
    timer.start(nullptr);
    copy_bytes(a.get(), b.get(), bytes, nullptr);
    const double ms = timer.stop_ms(nullptr);
    if (i >= 2) gbps.push_back(2.0 * static_cast<double>(bytes) / (ms * 1e6));
  }
  return median(gbps);
}

std::vector<GemvTiming> time_ternary_gemv(int device, const std::vector<GemvTiming>& shapes) {
  TRIT_CUDA_CHECK(cudaSetDevice(device));
  std::vector<GemvTiming> out;
  std::mt19937 rng(1);
  for (GemvTiming s : shapes) {
    const int padded = (s.cols + 127) / 128 * 128;
    const size_t matrix_bytes = static_cast<size_t>(s.rows) * padded / 4;
    // Enough copies to cover 256 MiB, well beyond L2.
    const int copies = static_cast<int>(std::max<size_t>(4, (size_t{256} << 20) / matrix_bytes + 1));
    std::vector<uint8_t> codes(matrix_bytes * copies);
    for (auto& c : codes) c = static_cast<uint8_t>(rng() & 0x55);  // codes 0/1 in every 2-bit field
    DeviceBuffer w(codes.size());
    w.upload(codes.data(), codes.size());
    std::vector<float> scales(static_cast<size_t>(2 * s.rows), 1.0f);
    DeviceBuffer sc(scales.size() * sizeof(float));
    sc.upload(scales.data(), scales.size() * sizeof(float));
    std::vector<int8_t> q(static_cast<size_t>(s.tokens) * padded);
    for (auto& v : q) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    DeviceBuffer dq(q.size()), dscale(static_cast<size_t>(s.tokens) * 4), dsum(static_cast<size_t>(s.tokens) * 4),
        dy(static_cast<size_t>(s.tokens) * s.rows * 4);
    dq.upload(q.data(), q.size());
    std::vector<float> ones(static_cast<size_t>(s.tokens), 1.0f);
    dscale.upload(ones.data(), ones.size() * 4);
    TRIT_CUDA_CHECK(cudaMemset(dsum.get(), 0, dsum.bytes()));
    const QuantizedRows x{dq.get<int8_t>(), dscale.get<float>(), dsum.get<int32_t>(), padded};
    // Launches back to back (as a forward pass issues them), 100 per timed group, each on the next copy
    // of the weights; the median group over 9.
    Timer timer;
    std::vector<double> us;
    int next = 0;
    for (int group = 0; group < 10; ++group) {
      timer.start(nullptr);
      for (int i = 0; i < 100; ++i, next = (next + 1) % copies) {
        const TernaryDevice t{w.get<uint8_t>() + next * matrix_bytes, s.rows, padded, sc.get<float>(),
                              sc.get<float>() + s.rows};
        ternary_matmul(t, x, s.tokens, dy.get<float>(), s.rows, false, nullptr);
      }
      const double ms = timer.stop_ms(nullptr);
      if (group > 0) us.push_back(ms * 1000.0 / 100);
    }
    s.median_us = median(us);
    s.gbps = static_cast<double>(matrix_bytes) / (s.median_us * 1e3);
    out.push_back(s);
  }
  return out;
}

}  // namespace trit::cuda
