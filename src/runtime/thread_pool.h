// A persistent pool of worker threads for data-parallel loops: parallel_for splits [0, n) into one
// contiguous chunk per thread and returns when all are done. Between jobs the workers spin briefly
// (a forward pass issues hundreds of jobs per token, microseconds apart) and then sleep.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace trit::runtime {

class ThreadPool {
 public:
  // n_threads <= 0: one per physical core.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n), the calling thread taking the first.
  // Chunks are multiples of `grain` (except the last). Not reentrant. When chunks throw, every chunk
  // still runs to its end and then the first exception (the calling thread's own, else a worker's) is
  // rethrown here.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_chunk_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::mutex error_mutex_;
  std::exception_ptr worker_error_;  // the first exception a worker's chunk threw in the current job
};

}  // namespace trit::runtime
