// ThreadPool: a job is published by bumping an atomic generation; workers spin on it (yielding now and
// then) for about a millisecond, then sleep on a condition variable (Dekker-style: sequentially consistent atomics on
// both sides, so a wake-up is never lost).
#include "runtime/thread_pool.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "runtime/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRIT_CPU_RELAX() _mm_pause()
#else
#define TRIT_CPU_RELAX() std::this_thread::yield()
#endif

namespace trit::runtime {
namespace {
constexpr int kSpinIterations = 1 << 15;
// After this many pauses a waiting thread also yields its core: when there are more runnable threads
// than cores (a server's HTTP threads, other processes), the thread it waits for may be the one
// waiting for a core, and pure spinning would burn a whole scheduler time slice.
constexpr int kPureSpins = 1 << 10;

void relax(int spins) {
  if (spins < kPureSpins || spins % 16 != 0)
    TRIT_CPU_RELAX();
  else
    std::this_thread::yield();
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = cpu_features().n_physical_cores;
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t n_grains = (n + grain - 1) / grain;
  const int64_t n_used = std::min<int64_t>(n_threads(), n_grains);
  if (n_used <= 1) {
    fn(0, n);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  job_chunk_ = (n_grains + n_used - 1) / n_used * grain;
  pending_.store(static_cast<int>(workers_.size()));
  generation_.fetch_add(1);  // publishes the job (seq_cst)
  if (sleepers_.load() > 0) {
    std::lock_guard lock(mutex_);
    wake_.notify_all();
  }
  std::exception_ptr error;
  try {
    fn(0, std::min(job_chunk_, n));
  } catch (...) {
    error = std::current_exception();
  }
  // The workers run until their chunks are done even when this one threw: fn and what it refers to
  // must outlive them.
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) relax(spins);
  job_ = nullptr;
  std::exception_ptr worker_error = std::exchange(worker_error_, nullptr);
  if (!error) error = worker_error;
  if (error) std::rethrow_exception(error);
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen && !stopping_.load(std::memory_order_relaxed)) {
      if (++spins < kSpinIterations) {
        relax(spins);
        continue;
      }
      std::unique_lock lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return generation_.load() != seen || stopping_.load(); });
      sleepers_.fetch_sub(1);
      break;
    }
    if (stopping_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    const int64_t begin = std::min(job_n_, job_chunk_ * index);
    const int64_t end = std::min(job_n_, begin + job_chunk_);
    if (begin < end) {
      try {
        (*job_)(begin, end);
      } catch (...) {
        // Handed to the calling thread, which rethrows it once every chunk is done.
        std::lock_guard lock(error_mutex_);
        if (!worker_error_) worker_error_ = std::current_exception();
      }
    }
    pending_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace trit::runtime
