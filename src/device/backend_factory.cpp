// make_backend: the CPU Forward, or the CUDA backend where it is compiled in.
#include "device/backend_factory.h"

#include <charconv>
#include <cstdlib>

#include "model/forward.h"
#include "runtime/error.h"
#if defined(TRIT_HAVE_CUDA)
#include "cuda/cuda_backend.h"
#endif

namespace trit::device {
namespace {

// "cuda" -> 0, "cuda:3" -> 3; -1 for anything else.
int cuda_index(const std::string& device) {
  if (device == "cuda") return 0;
  if (device.rfind("cuda:", 0) != 0) return -1;
  int index = -1;
  const char* begin = device.data() + 5;
  const char* end = device.data() + device.size();
  const auto [ptr, ec] = std::from_chars(begin, end, index);
  return ec == std::errc() && ptr == end && begin != end && index >= 0 ? index : -1;
}

// The index of a GPU device name; throws for anything else.
int gpu_index(const std::string& device) {
  const int index = cuda_index(device);
  if (index < 0) trit::fail("unknown device '{}' (expected cpu, cuda or cuda:N)", device);
  return index;
}

#if defined(TRIT_HAVE_CUDA)
// True when the environment variable is set to "0" (the CUDA backend's switches for comparisons).
bool env_off(const char* name) {
  const char* value = std::getenv(name);
  return value && std::string(value) == "0";
}
#else
[[noreturn]] void no_cuda(const std::string& device) {
  trit::fail(
      "--device {}: this trit was built without the CUDA backend (rebuild with nvcc installed, or "
      "-DTRIT_CUDA=ON)",
      device);
}
#endif

}  // namespace

bool is_gpu(const std::string& device) { return device != "cpu"; }

bool cuda_built() {
#if defined(TRIT_HAVE_CUDA)
  return true;
#else
  return false;
#endif
}

std::unique_ptr<model::Backend> make_backend(const model::Model& model, const BackendOptions& options) {
  if (options.device == "cpu") return std::make_unique<model::Forward>(model, options.n_threads);
  [[maybe_unused]] const int index = gpu_index(options.device);
#if defined(TRIT_HAVE_CUDA)
  cuda::CudaOptions cuda_options;
  cuda_options.device = index;
  // TRIT_CUDA_GRAPHS=0 launches every kernel of a decode step directly (for comparisons).
  cuda_options.graphs = !env_off("TRIT_CUDA_GRAPHS");
  // TRIT_CUDA_FLASH_MIN=N: flash attention for prompts of N new tokens or more (0: never; for comparisons).
  if (const char* flash = std::getenv("TRIT_CUDA_FLASH_MIN")) cuda_options.flash_min_tokens = std::atoi(flash);
  // TRIT_CUDA_TOP_K=0: sampling takes whole logit rows to the host (for comparisons).
  cuda_options.top_k_on_device = !env_off("TRIT_CUDA_TOP_K");
  // TRIT_CUDA_PERSISTENT=1: single-sequence decode steps as one persistent kernel (decode_step.cu; off by
  // default until it has been checked on a GPU).
  if (const char* persistent = std::getenv("TRIT_CUDA_PERSISTENT"))
    cuda_options.persistent_decode = std::string(persistent) == "1";
  cuda_options.show_progress = options.show_progress;
  return std::make_unique<cuda::CudaBackend>(model, cuda_options);
#else
  no_cuda(options.device);
#endif
}

double gpu_bandwidth_gbps(const std::string& device) {
  [[maybe_unused]] const int index = gpu_index(device);
#if defined(TRIT_HAVE_CUDA)
  return cuda::measure_bandwidth_gbps(index);
#else
  no_cuda(device);
#endif
}

std::vector<GemvTiming> gpu_gemv_timings(const std::string& device, const std::vector<GemvTiming>& shapes) {
  [[maybe_unused]] const int index = gpu_index(device);
#if defined(TRIT_HAVE_CUDA)
  return cuda::time_ternary_gemv(index, shapes);
#else
  (void)shapes;
  no_cuda(device);
#endif
}

int64_t gpu_bytes_per_token(const model::Backend& backend) {
#if defined(TRIT_HAVE_CUDA)
  if (const auto* gpu = dynamic_cast<const cuda::CudaBackend*>(&backend)) return gpu->weight_bytes_per_token();
#endif
  return backend.model().weights().bytes_per_token();
}

}  // namespace trit::device
