// std::vector whose storage starts on a cache line (64 bytes), for buffers the SIMD kernels read with
// 64-byte loads: from a buffer malloc left 16-byte aligned every such load straddles two lines. (Decode of
// the 2B shape, one thread: 37 or 30 tok/s from one process to the next as malloc placed the activations.)
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace trit::runtime {

template <typename T, size_t kAlign = 64>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U, kAlign>&) {}  // NOLINT: allocators convert implicitly
  template <typename U>
  struct rebind {
    using other = AlignedAllocator<U, kAlign>;
  };
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kAlign})); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t{kAlign}); }
  friend bool operator==(const AlignedAllocator&, const AlignedAllocator&) { return true; }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace trit::runtime
