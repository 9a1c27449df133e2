// The thread pool covers every index exactly once, job after job, and the kernel-level switch.
#include "runtime/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/cpu_features.h"
#include "runtime/error.h"
#include "runtime/huge_buffer.h"

namespace trit::runtime {
namespace {

TEST(ThreadPool, AChunksExceptionReachesTheCallerAfterEveryChunkRan) {
  ThreadPool pool(2);
  for (int thrower : {0, 1}) {  // the calling thread's chunk, then the worker's
    std::atomic<int> ran{0};
    EXPECT_THROW(pool.parallel_for(2,
                                   [&](int64_t b, int64_t) {
                                     std::this_thread::sleep_for(std::chrono::milliseconds(b == thrower ? 0 : 20));
                                     ran.fetch_add(1);
                                     if (b == thrower) throw std::runtime_error("chunk failed");
                                   }),
                 std::runtime_error)
        << thrower;
    EXPECT_EQ(ran.load(), 2) << thrower;
  }
  std::atomic<int64_t> sum{0};  // still usable
  pool.parallel_for(100, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum.fetch_add(i);
  });
  EXPECT_EQ(sum.load(), 4950);
}

TEST(ThreadPool, EveryIndexExactlyOnceOverManyJobs) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.n_threads(), threads);
    for (int64_t n : {0, 1, 5, 16, 17, 1000}) {
      for (int job = 0; job < 50; ++job) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        pool.parallel_for(
            n,
            [&](int64_t b, int64_t e) {
              for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
            },
            4);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "threads " << threads << " n " << n;
      }
    }
  }
}

TEST(ThreadPool, WorkersWakeAfterSleeping) {
  ThreadPool pool(2);
  std::atomic<int> sum{0};
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // long enough for the workers to sleep
    pool.parallel_for(2, [&](int64_t b, int64_t e) { sum += static_cast<int>(e - b); });
  }
  EXPECT_EQ(sum.load(), 6);
}

TEST(CpuFeatures, LevelsParseAndTheBestIsAvailable) {
  EXPECT_EQ(parse_isa("scalar"), IsaLevel::kScalar);
  EXPECT_EQ(parse_isa("avx512"), IsaLevel::kAvx512);
  EXPECT_EQ(parse_isa("avxvnni"), IsaLevel::kAvxVnni);
  EXPECT_THROW(parse_isa("sse9"), Error);
  EXPECT_NO_THROW(set_active_isa(IsaLevel::kScalar));
  EXPECT_EQ(active_isa(), IsaLevel::kScalar);
  EXPECT_NO_THROW(set_active_isa(best_isa()));
  EXPECT_NE(describe_cpu().find(isa_name(best_isa())), std::string::npos);
  EXPECT_GE(cpu_features().n_physical_cores, 1);
}

TEST(HugeBuffer, IsAlignedWritableAndMovable) {
  HugeBuffer b(3 << 20);
  ASSERT_NE(b.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % (2 << 20), 0u);
  b.data()[0] = 1;
  b.data()[b.size() - 1] = 2;
  HugeBuffer c = std::move(b);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(c.data()[c.size() - 1], 2);
}

}  // namespace
}  // namespace trit::runtime
