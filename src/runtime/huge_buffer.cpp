// HugeBuffer: mmap(MAP_ANONYMOUS) rounded to 2 MiB plus madvise(MADV_HUGEPAGE).
#include "runtime/huge_buffer.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "runtime/error.h"

namespace trit::runtime {
namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}

HugeBuffer::HugeBuffer(size_t n_bytes) : size_(n_bytes) {
  if (n_bytes == 0) return;
  // Over-allocate by one huge page so the start can be aligned to it.
  mapped_ = (n_bytes + kHugePage - 1) / kHugePage * kHugePage + kHugePage;
  void* p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) trit::fail("cannot allocate {} MiB for the weights: {}", n_bytes >> 20, std::strerror(errno));
  const uintptr_t base = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (base + kHugePage - 1) / kHugePage * kHugePage;
  // Return the unaligned head and the unused tail to the system.
  if (aligned > base) munmap(p, aligned - base);
  const size_t body = (n_bytes + kHugePage - 1) / kHugePage * kHugePage;
  const uintptr_t end = base + mapped_;
  if (end > aligned + body) munmap(reinterpret_cast<void*>(aligned + body), end - (aligned + body));
  mapped_ = body;
  data_ = reinterpret_cast<uint8_t*>(aligned);
  madvise(data_, mapped_, MADV_HUGEPAGE);  // advisory: fine if the kernel declines
}

HugeBuffer::HugeBuffer(HugeBuffer&& other) noexcept { *this = std::move(other); }

HugeBuffer& HugeBuffer::operator=(HugeBuffer&& other) noexcept {
  if (this != &other) {
    if (data_) munmap(data_, mapped_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

HugeBuffer::~HugeBuffer() {
  if (data_) munmap(data_, mapped_);
}

}  // namespace trit::runtime
