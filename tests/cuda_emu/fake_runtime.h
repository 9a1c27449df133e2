// A CUDA runtime on the CPU for tests (fake_runtime.cpp): "device" memory is host memory, every call runs
// at once on the calling thread, and a stream that is capturing records what is enqueued on it into the
// graph that cudaStreamEndCapture returns (cudaGraphLaunch replays it). With the launchers of
// emulated_kernels.cpp it lets the real CudaBackend (cuda_backend.cpp, device_weights.cpp) run without a
// GPU, so that its host-side orchestration is tested in CI.
#pragma once

#include <cuda_runtime.h>

#include <functional>

namespace trit::cuda::fake {

// Runs op now, or records it when `stream` is capturing.
void enqueue(cudaStream_t stream, std::function<void()> op);

// Calls made so far to cudaGraphLaunch (graph replays).
long graph_launches();

}  // namespace trit::cuda::fake
