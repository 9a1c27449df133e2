// GPU figures for `trit bench --device cuda`: the device's memory bandwidth (a large device-to-device
// copy, bytes read plus written) and the ternary GEMV alone on given shapes, timed with events.
#pragma once

#include <vector>

namespace trit::cuda {

// Median GB/s of repeated 1 GiB copies (bytes read + bytes written) on `device`.
double measure_bandwidth_gbps(int device);

struct GemvTiming {
  int rows, cols, tokens;
  double median_us;
  double gbps;  // weight bytes over the median time
};
// Each shape's ternary matmul (quantised activations given): mean time per launch of 100 back-to-back
// launches (median of 9 such groups), over enough copies of the weights that they do not stay in L2.
std::vector<GemvTiming> time_ternary_gemv(int device, const std::vector<GemvTiming>& shapes);

}  // namespace trit::cuda
