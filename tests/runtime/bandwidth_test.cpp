// The roofline's bandwidth measurement: a finite, positive rate for any thread count, also when the buffer
// does not divide evenly between the threads.
#include "runtime/bandwidth.h"

#include <gtest/gtest.h>

#include <cmath>

namespace trit::runtime {
namespace {

TEST(Bandwidth, PositiveAndFiniteForEveryThreadCount) {
  for (int threads : {1, 2, 3}) {
    const double gbps = measure_read_bandwidth(threads, (uint64_t{32} << 20) + 4096 + 64, 2);
    EXPECT_TRUE(std::isfinite(gbps)) << threads;
    EXPECT_GT(gbps, 0.0) << threads;
  }
}

}  // namespace
}  // namespace trit::runtime
