// The CUDA runtime calls the CUDA backend makes, on the CPU (fake_runtime.h). Linked instead of libcudart.
#include "fake_runtime.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

struct CUstream_st {
  bool capturing = false;
  std::vector<std::function<void()>> recorded;
};
struct CUgraph_st {
  std::vector<std::function<void()>> ops;
};
struct CUgraphExec_st {
  std::vector<std::function<void()>> ops;
};

namespace trit::cuda::fake {
namespace {
long launches = 0;
cudaError_t last_error = cudaSuccess;
}  // namespace

void enqueue(cudaStream_t stream, std::function<void()> op) {
  if (stream && stream->capturing)
    stream->recorded.push_back(std::move(op));
  else
    op();
}

long graph_launches() { return launches; }

}  // namespace trit::cuda::fake

using trit::cuda::fake::enqueue;

extern "C" {

cudaError_t cudaGetLastError(void) { return std::exchange(trit::cuda::fake::last_error, cudaSuccess); }
const char* cudaGetErrorName(cudaError_t error) { return error == cudaSuccess ? "cudaSuccess" : "cudaErrorFake"; }
const char* cudaGetErrorString(cudaError_t error) { return error == cudaSuccess ? "no error" : "fake runtime error"; }

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidDevice; }
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return cudaErrorInvalidDevice;
  *prop = cudaDeviceProp{};
  std::strcpy(prop->name, "CPU emulation");
  prop->totalGlobalMem = size_t{16} << 30;
  prop->major = 9;
  prop->minor = 0;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t size) {
  *ptr = std::aligned_alloc(256, (size + 255) / 256 * 256);
  if (!*ptr) return cudaErrorMemoryAllocation;
  std::memset(*ptr, 0xff, size);  // garbage, as fresh device memory: what is read before written shows
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** ptr, size_t size) { return cudaMalloc(ptr, size); }
cudaError_t cudaFreeHost(void* ptr) { return cudaFree(ptr); }

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind) {
  std::memcpy(dst, src, count);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind, cudaStream_t stream) {
  enqueue(stream, [=] { std::memcpy(dst, src, count); });
  return cudaSuccess;
}
cudaError_t cudaMemset(void* dst, int value, size_t count) {
  std::memset(dst, value, count);
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int) {
  *stream = new CUstream_st;
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  return stream && stream->capturing ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  if (!stream || stream->capturing) return cudaErrorIllegalState;
  stream->capturing = true;
  stream->recorded.clear();
  return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (!stream || !stream->capturing) return cudaErrorIllegalState;
  stream->capturing = false;
  *graph = new CUgraph_st{std::move(stream->recorded)};
  stream->recorded.clear();
  return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  *exec = new CUgraphExec_st{graph->ops};
  return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  ++trit::cuda::fake::launches;
  for (const auto& op : exec->ops) enqueue(stream, op);
  return cudaSuccess;
}

}  // extern "C"
