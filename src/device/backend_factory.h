// Picks the backend for a --device name: "cpu" (the default) or "cuda" / "cuda:N" when trit was built
// with the CUDA backend (CMake TRIT_CUDA). The one place that knows which backends exist.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cuda/microbench.h"
#include "model/backend.h"
#include "model/model.h"

namespace trit::device {

struct BackendOptions {
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N"
  int n_threads = 0;           // CPU threads (also the CPU work of a GPU backend: none today)
  bool show_progress = true;
};

// Throws trit::Error for an unknown device name, a device this build lacks, or no usable GPU.
std::unique_ptr<model::Backend> make_backend(const model::Model& model, const BackendOptions& options);

// True when the name asks for a GPU.
bool is_gpu(const std::string& device);
// Whether this binary has the CUDA backend.
bool cuda_built();

// GPU figures for `trit bench` (throw trit::Error without the CUDA backend): the device's copy
// bandwidth in GB/s (read + written), and the ternary GEMV alone per shape (cuda/microbench.h, a plain
// header that needs no CUDA).
using GemvTiming = cuda::GemvTiming;
double gpu_bandwidth_gbps(const std::string& device);
std::vector<GemvTiming> gpu_gemv_timings(const std::string& device, const std::vector<GemvTiming>& shapes);
// Weight bytes a GPU backend reads per token (what its decode roofline divides the bandwidth by).
int64_t gpu_bytes_per_token(const model::Backend& backend);

}  // namespace trit::device
