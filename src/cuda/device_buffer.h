// Memory owned by one object: device memory (cudaMalloc / cudaFree) and pinned host memory
// (cudaMallocHost / cudaFreeHost), with the same move-only ownership.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "cuda/launch_check.h"

namespace trit::cuda {

template <cudaError_t (*kAllocate)(void**, size_t), cudaError_t (*kRelease)(void*)>
class OwnedMemory {
 public:
  OwnedMemory() = default;
  explicit OwnedMemory(size_t bytes) : bytes_(bytes) {
    if (bytes > 0) TRIT_CUDA_CHECK(kAllocate(&ptr_, bytes));
  }
  ~OwnedMemory() {
    if (ptr_) kRelease(ptr_);
  }
  OwnedMemory(OwnedMemory&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  OwnedMemory& operator=(OwnedMemory&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  OwnedMemory(const OwnedMemory&) = delete;
  OwnedMemory& operator=(const OwnedMemory&) = delete;

  template <typename T = void>
  T* get() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

using PinnedBuffer = OwnedMemory<::cudaMallocHost, ::cudaFreeHost>;

class DeviceBuffer : public OwnedMemory<::cudaMalloc, ::cudaFree> {
 public:
  using OwnedMemory::OwnedMemory;
  void upload(const void* src, size_t bytes, size_t offset = 0) {
    TRIT_CUDA_CHECK(cudaMemcpy(get<char>() + offset, src, bytes, cudaMemcpyHostToDevice));
  }
};

}  // namespace trit::cuda
