// Anonymous memory in 2 MiB-aligned transparent huge pages (where the kernel allows them), for model
// weights: the kernels stream gigabytes per token, and with 4 KiB pages the CPU's prefetchers stall at
// every page boundary (about half the read bandwidth on the machines measured; bench/README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace trit::runtime {

class HugeBuffer {
 public:
  HugeBuffer() = default;
  // Throws trit::Error (out of memory) when the mapping fails.
  explicit HugeBuffer(size_t n_bytes);
  HugeBuffer(HugeBuffer&& other) noexcept;
  HugeBuffer& operator=(HugeBuffer&& other) noexcept;
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;
  ~HugeBuffer();

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
};

}  // namespace trit::runtime
