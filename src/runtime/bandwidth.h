// Streaming read bandwidth of this machine, for `trit bench --roofline`: decode reads every weight
// once per token, so bandwidth / bytes per token is the fastest decode can go.
#pragma once

#include <cstdint>

namespace trit::runtime {

// GB/s (1e9 bytes) reading a buffer of n_bytes (in huge pages, as the weights are) with n_threads: the
// best of `repetitions` passes without and `repetitions` passes with software prefetch.
double measure_read_bandwidth(int n_threads, uint64_t n_bytes = uint64_t{1} << 30, int repetitions = 7);

}  // namespace trit::runtime
