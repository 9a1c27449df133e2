// pool_embedding (pooling.h): the CPU's RMSNorm and the reductions in double.
#include "model/pooling.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/norm.h"

namespace trit::model {

void pool_embedding(const HParams& h, std::span<const float> output_norm, const float* rows, int64_t n_tokens,
                    bool normalize, float* out) {
  const int64_t d = h.n_embd;
  const Pooling pooling = h.pooling == Pooling::kNone ? Pooling::kLast : h.pooling;
  if (pooling == Pooling::kMean) {
    std::vector<float> row(static_cast<size_t>(d));
    std::vector<double> sum(static_cast<size_t>(d), 0.0);
    for (int64_t t = 0; t < n_tokens; ++t) {
      kernels::rms_norm(rows + t * d, output_norm.data(), row.data(), d, h.rms_eps);
      for (int64_t i = 0; i < d; ++i) sum[i] += row[i];
    }
    for (int64_t i = 0; i < d; ++i) out[i] = static_cast<float>(sum[i] / static_cast<double>(n_tokens));
  } else {
    const int64_t r = pooling == Pooling::kCls ? 0 : n_tokens - 1;
    kernels::rms_norm(rows + r * d, output_norm.data(), out, d, h.rms_eps);
  }
  if (normalize) {
    double ss = 0.0;
    for (int64_t i = 0; i < d; ++i) ss += static_cast<double>(out[i]) * out[i];
    const double norm = std::sqrt(ss);
    const float inv = norm > 0.0 ? static_cast<float>(1.0 / norm) : 0.0f;
    for (int64_t i = 0; i < d; ++i) out[i] *= inv;
  }
}

std::vector<std::span<const float>> pool_embeddings(const HParams& h, std::span<const float> output_norm,
                                                    const float* rows, std::span<const SequenceInput> batch,
                                                    bool normalize, std::vector<float>& storage) {
  const int64_t d = h.n_embd;
  storage.assign(batch.size() * static_cast<size_t>(d), 0.0f);
  std::vector<std::span<const float>> result;
  int64_t first_row = 0;
  for (size_t s = 0; s < batch.size(); ++s) {
    const int64_t len = static_cast<int64_t>(batch[s].tokens.size());
    float* out = storage.data() + s * d;
    pool_embedding(h, output_norm, rows + first_row * d, len, normalize, out);
    result.emplace_back(out, static_cast<size_t>(d));
    first_row += len;
  }
  return result;
}

}  // namespace trit::model
